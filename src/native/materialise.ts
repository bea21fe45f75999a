/**
 * Puts an embedded shared object where dlopen can load it: a file named by
 * its content hash in a root-only runtime directory, written once and
 * verified at every use, so that another process (or a user) cannot swap
 * in code of its own.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ensureTrustedDir } from "../store/trusted_file.ts";
import { errorMessage } from "../error_message.ts";

/** Where embedded libraries go: root-only, not world-writable. */
export const RUNTIME_DIRS = ["/run/bpfink", "/var/run/bpfink"];

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes `bytes` as `<dir>/<name>-<hash>.so` (0500 in a 0700 dir) unless a
 * verified copy is there, in the first of `dirs` that works; returns its path.
 *
 * @throws {Error} naming each directory tried and why it failed.
 */
export function materialiseLibrary(
  name: string,
  bytes: Uint8Array,
  dirs: readonly string[] = RUNTIME_DIRS,
): string {
  const hash = sha256(bytes);
  const errors: string[] = [];
  for (const dir of dirs) {
    const path = `${dir}/${name}-${hash.slice(0, 16)}.so`;
    try {
      ensureTrustedDir(dir, "runtime directory");
      try {
        if (sha256(Deno.readFileSync(path)) === hash) return path;
        Deno.removeSync(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      const tmp = `${path}.${Deno.pid}.tmp`;
      Deno.writeFileSync(tmp, bytes, { mode: 0o500 });
      Deno.renameSync(tmp, path);
      if (sha256(Deno.readFileSync(path)) !== hash) {
        throw new Error(`${path} does not verify after writing`);
      }
      return path;
    } catch (e) {
      errors.push(`${dir}: ${errorMessage(e)}`);
    }
  }
  throw new Error(`cannot write the embedded ${name}: ${errors.join("; ")}`);
}
