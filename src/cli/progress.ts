/**
 * A one-line progress bar on stderr for the first hashing of a large tree,
 * shown only on a terminal and only when the work is big enough to wait for.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Returns a progress callback, or undefined when stderr is not a terminal. */
export function progressBar(
  minFiles = 200,
): ((done: number, total: number, bytes: number) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  let last = 0;
  return (done, total, bytes) => {
    if (total < minFiles) return;
    const now = Date.now();
    const finished = done >= total;
    if (!finished && now - last < 100) return;
    last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const mb = (bytes / 1048576).toFixed(1);
    const line = `\r  hashing [${"#".repeat(filled)}${
      " ".repeat(width - filled)
    }] ${done}/${total} files, ${mb} MiB`;
    try {
      Deno.stderr.writeSync(encoder.encode(finished ? `${line}\n` : line));
    } catch { /* stderr is gone: the first baseline goes on without its bar */ }
  };
}
