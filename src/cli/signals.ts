/**
 * SIGINT and SIGTERM (and, for the watch command, SIGHUP) are caught from the first line of `main`, before
 * anything is attached: a signal during startup aborts the start at the
 * next step (the step in progress finishes and cleans up after itself), so
 * bpfink exits 0 and leaves no link, temp file or lock behind. A second
 * signal exits at once.
 *
 * @module
 */

const controller = new AbortController();
let received: Deno.Signal | undefined;
let installed = false;

/**
 * Installs the SIGINT/SIGTERM handlers (once) and returns the signal that
 * aborts when one arrives.
 */
export function catchTermination(): AbortSignal {
  if (installed) return controller.signal;
  installed = true;
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, () => terminated(s));
  return controller.signal;
}

function terminated(s: Deno.Signal): void {
  if (received) Deno.exit(0);
  received = s;
  controller.abort(new DOMException(`stopped by ${s}`, "AbortError"));
}

/**
 * Makes `s` stop bpfink as SIGINT does: for the watch command, SIGHUP (its
 * terminal closed), which would otherwise end the process with no cleanup
 * (its temporary database left in /tmp). The daemon keeps SIGHUP for
 * reopening its files.
 */
export function terminateOn(s: Deno.Signal): void {
  catchTermination();
  Deno.addSignalListener(s, () => terminated(s));
}

/** The termination signal received so far, if any. */
export function terminationSignal(): Deno.Signal | undefined {
  return received;
}

/** Resolves with the first termination signal (at once if one came already). */
export function waitForTermination(): Promise<Deno.Signal> {
  const signal = catchTermination();
  if (received) return Promise.resolve(received);
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(received!), { once: true })
  );
}

/**
 * Runs a start that takes the termination signal; returns undefined when a
 * SIGINT/SIGTERM came before or during it (the start cleaned up), so the
 * command can exit 0.
 */
export async function unlessTerminated<T>(
  start: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  const signal = catchTermination();
  if (signal.aborted) return undefined;
  try {
    return await start(signal);
  } catch (e) {
    if (signal.aborted) return undefined;
    throw e;
  }
}
