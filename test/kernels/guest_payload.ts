/**
 * What a guest needs to run bpfink from source: the Deno binary, the agent's
 * sources and embedded kernel objects, the npm packages it imports (from the
 * Deno cache), and nothing else: libbpf comes from the agent's embedded
 * self-contained copy. This is the smallest equivalent of the single binary
 * where `deno compile` cannot run (no denort here).
 *
 * @module
 */
import type { PayloadEntry } from "./initramfs.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The payload; the guest runs `/bpfink/deno run ... /bpfink/<script>`. `extra` adds host → guest
 * files (dynamic ELFs among them bring their libraries, as Deno does).
 */
export function guestPayload(extra: [string, string][] = []): PayloadEntry[] {
  const deno = Deno.realPathSync(Deno.execPath());
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  const npm = `${denoDir}/npm/registry.npmjs.org`;
  try {
    Deno.statSync(`${ROOT}/kernels/build/libbpf-bundle.so`);
  } catch {
    throw new Error("kernels/build/libbpf-bundle.so is missing: run deno run -A build.ts libbpf");
  }
  const files: [string, string][] = [
    [deno, "/bpfink/deno"],
    [`${ROOT}/deno.json`, "/bpfink/deno.json"],
    [`${ROOT}/deno.lock`, "/bpfink/deno.lock"],
    [`${ROOT}/src`, "/bpfink/src"],
    [`${ROOT}/kernels/strategies.ts`, "/bpfink/kernels/strategies.ts"],
    [`${ROOT}/kernels/guests.ts`, "/bpfink/kernels/guests.ts"],
    [`${ROOT}/test/kernels/guest_scenario.ts`, "/bpfink/test/kernels/guest_scenario.ts"],
    [`${ROOT}/kernels/build/embedded.ts`, "/bpfink/kernels/build/embedded.ts"],
    [`${ROOT}/kernels/build/libbpf-bundle.so`, "/bpfink/kernels/build/libbpf-bundle.so"],
    ...["fentry", "kprobe", "tracepoint"].map((s) =>
      [`${ROOT}/kernels/build/fim-${s}.bpf.o`, `/bpfink/kernels/build/fim-${s}.bpf.o`] as [
        string,
        string,
      ]
    ),
    ...["commander", "@logtape", "yaml"].map((p) =>
      [`${npm}/${p}`, `/denodir/npm/registry.npmjs.org/${p}`] as [string, string]
    ),
  ];
  // No libbpf, libelf or zlib from the host: the agent must use the libbpf it embeds (whose
  // only dependency is libc, which Deno brings anyway).
  return [...files, ...extra].map(([host, guest]) => ({ host, guest }));
}

/** The guest command for a script under the project. */
export function guestCommand(script: string): string {
  return `DENO_DIR=/denodir HOME=/root NO_COLOR=1 /bpfink/deno run -A --no-check --cached-only /bpfink/${script}`;
}
