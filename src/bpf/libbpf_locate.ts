/**
 * Decides which libbpf to dlopen: an explicit path (flag or BPFINK_LIBBPF),
 * else the self-contained copy embedded in bpfink (written once to a
 * root-only runtime directory under its content hash, and verified), else
 * the host's libbpf.so.1.
 *
 * @module
 */
import { materialiseLibrary } from "../native/materialise.ts";

/** The libbpf paths to try, in order. */
export function libbpfCandidates(opts: { explicit?: string; embedded?: Uint8Array }): string[] {
  const explicit = opts.explicit ?? Deno.env.get("BPFINK_LIBBPF");
  if (explicit) return [explicit];
  const out: string[] = [];
  if (opts.embedded) {
    try {
      out.push(materialiseLibrary("libbpf", opts.embedded));
    } catch {
      // Fall through to the host's libbpf; the error shows if that fails too.
    }
  }
  out.push("libbpf.so.1");
  return out;
}
