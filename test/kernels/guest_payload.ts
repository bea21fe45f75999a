/**
 * What a guest needs to run bpfink from source (the coverage and bench guests; the
 * kernel matrix runs the single file instead, dist_scenario.ts): the Deno binary, the agent's
 * sources and embedded kernel objects, the npm packages it imports (from the
 * Deno cache), and nothing else: libbpf comes from the agent's embedded
 * self-contained copy. This is the smallest equivalent of the single binary
 * where `deno compile` cannot run (no denort here).
 *
 * @module
 */
import type { PayloadEntry } from "./initramfs.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The name of every npm package deno.lock lists (scoped ones as `@scope/name`). */
function lockedNpmPackages(): string[] {
  const lock = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.lock`)) as {
    npm?: Record<string, unknown>;
  };
  return [...new Set(Object.keys(lock.npm ?? {}).map((id) => id.slice(0, id.lastIndexOf("@"))))];
}

/**
 * The payload; the guest runs `/bpfink/deno run ... /bpfink/<script>`. `extra` adds host → guest
 * files (dynamic ELFs among them bring their libraries, as Deno does).
 */
export function guestPayload(extra: [string, string][] = []): PayloadEntry[] {
  const deno = Deno.realPathSync(Deno.execPath());
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  const npm = `${denoDir}/npm/registry.npmjs.org`;
  for (const [file, step] of [["libbpf-bundle.so", "libbpf"], ["bpfink-native.so", "native"]]) {
    try {
      Deno.statSync(`${ROOT}/kernels/build/${file}`);
    } catch {
      throw new Error(`kernels/build/${file} is missing: run deno run -A build.ts ${step}`);
    }
  }
  const files: [string, string][] = [
    [deno, "/bpfink/deno"],
    [`${ROOT}/deno.json`, "/bpfink/deno.json"],
    [`${ROOT}/deno.lock`, "/bpfink/deno.lock"],
    [`${ROOT}/src`, "/bpfink/src"],
    [`${ROOT}/kernels/strategies.ts`, "/bpfink/kernels/strategies.ts"],
    [`${ROOT}/kernels/guests.ts`, "/bpfink/kernels/guests.ts"],
    [`${ROOT}/kernels/build/embedded.ts`, "/bpfink/kernels/build/embedded.ts"],
    [`${ROOT}/kernels/build/libbpf-bundle.so`, "/bpfink/kernels/build/libbpf-bundle.so"],
    [`${ROOT}/kernels/build/bpfink-native.so`, "/bpfink/kernels/build/bpfink-native.so"],
    ...["fentry", "kprobe", "tracepoint"].map((s) =>
      [`${ROOT}/kernels/build/fim-${s}.bpf.o`, `/bpfink/kernels/build/fim-${s}.bpf.o`] as [
        string,
        string,
      ]
    ),
    // Every npm package of the lock file: with --cached-only, Deno resolves the whole
    // config's npm imports at start, used by the script or not.
    ...lockedNpmPackages().map((p) =>
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

/**
 * What `script` (a project path such as `bench/guest_overhead.ts`) imports,
 * directly or not, that `payload` does not carry where the guest's
 * `/bpfink/...` import would find it: local modules, JSON and bytes imports
 * by host path, npm packages by name. Empty when the guest can resolve every
 * import. Asks `deno info --json`, the resolver the guest itself runs.
 */
export async function missingFromPayload(
  script: string,
  payload: readonly PayloadEntry[],
): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}/${script}`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${script}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; error?: string; npmPackage?: string }[];
    npmPackages?: Record<string, { dependencies?: string[] }>;
  };
  const carried = (guest: string, host: string) =>
    payload.some((e) =>
      (e.guest === guest && e.host === host) ||
      (guest.startsWith(`${e.guest}/`) && host === `${e.host}${guest.slice(e.guest.length)}`)
    );
  const missing: string[] = [];
  for (const m of info.modules) {
    if (m.error) missing.push(`${m.specifier} (${m.error})`);
    if (!m.specifier.startsWith("file://")) continue;
    const host = decodeURIComponent(new URL(m.specifier).pathname);
    if (!host.startsWith(`${ROOT}/`)) {
      missing.push(`${host} (outside the project)`);
      continue;
    }
    const rel = host.slice(ROOT.length + 1);
    if (!carried(`/bpfink/${rel}`, host)) missing.push(rel);
  }
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  // The npm packages the script's graph reaches, with their dependencies (the
  // lock file lists every package of the project, used here or not).
  const needed = new Set<string>();
  const reach = (id: string) => {
    if (needed.has(id)) return;
    needed.add(id);
    for (const d of info.npmPackages?.[id]?.dependencies ?? []) reach(d);
  };
  for (const m of info.modules) if (m.npmPackage) reach(m.npmPackage);
  for (const id of needed) {
    const at = id.lastIndexOf("@");
    const [name, version] = [id.slice(0, at), id.slice(at + 1).split("_")[0]];
    const dir = `/npm/registry.npmjs.org/${name}/${version}`;
    if (!carried(`/denodir${dir}`, `${denoDir}${dir}`)) missing.push(`npm:${name}@${version}`);
  }
  return missing;
}
