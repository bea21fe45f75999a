/**
 * Decides which libbpf to dlopen: an explicit path (flag or BPFINK_LIBBPF),
 * else the self-contained copy embedded in bpfink (written once to a
 * root-only runtime directory under its content hash, and verified), else
 * the host's libbpf.so.1.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ensureTrustedDir } from "../store/trusted_file.ts";
import { errorMessage } from "../error_message.ts";

/** Where to put the embedded libbpf: root-only, not world-writable. */
const RUNTIME_DIRS = ["/run/bpfink", "/var/run/bpfink"];

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes `bytes` as `<dir>/libbpf-<hash>.so` (0500 in a 0700 dir) unless a verified copy exists. */
export function materialiseLibbpf(bytes: Uint8Array, dirs = RUNTIME_DIRS): string {
  const hash = sha256(bytes);
  const errors: string[] = [];
  for (const dir of dirs) {
    const path = `${dir}/libbpf-${hash.slice(0, 16)}.so`;
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
  throw new Error(`cannot write the embedded libbpf: ${errors.join("; ")}`);
}

/** The libbpf paths to try, in order. */
export function libbpfCandidates(opts: { explicit?: string; embedded?: Uint8Array }): string[] {
  const explicit = opts.explicit ?? Deno.env.get("BPFINK_LIBBPF");
  if (explicit) return [explicit];
  const out: string[] = [];
  if (opts.embedded) {
    try {
      out.push(materialiseLibbpf(opts.embedded));
    } catch {
      // Fall through to the host's libbpf; the error shows if that fails too.
    }
  }
  out.push("libbpf.so.1");
  return out;
}
