/**
 * Fetches a guest kernel with apt into a cache, without touching the host's
 * apt state, and extracts the uncompressed ELF vmlinux that qemu boots.
 *
 * @module
 */
import type { GuestKernel } from "../../kernels/guests.ts";

/** A fetched kernel, or why it could not be fetched. */
export type Fetched =
  | { ok: true; vmlinux: string; version: string; pkg: string }
  | { ok: false; reason: string };

const ROOT = new URL("../..", import.meta.url).pathname;
/** Where kernels are cached (gitignored). */
export const CACHE = Deno.env.get("BPFINK_KERNEL_CACHE") ?? `${ROOT}.cache/kernels`;

async function sh(
  cmd: string[],
  opts: { cwd?: string } = {},
): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const d = new TextDecoder();
  return { ok: r.success, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Finds the compressed kernel inside a bzImage and decompresses it to an ELF. */
export async function extractVmlinux(vmlinuz: string, out: string): Promise<boolean> {
  const bytes = await Deno.readFile(vmlinuz);
  const formats: [number[], string[]][] = [
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], ["xz", "-dc"]],
    [[0x28, 0xb5, 0x2f, 0xfd], ["zstd", "-dc"]],
    [[0x1f, 0x8b, 0x08], ["gzip", "-dc"]],
    [[0x02, 0x21, 0x4c, 0x18], ["lz4", "-dc"]],
  ];
  for (const [magic, tool] of formats) {
    for (let i = 0; i + magic.length < bytes.length; i++) {
      if (!magic.every((b, j) => bytes[i + j] === b)) continue;
      const p = new Deno.Command(tool[0], {
        args: tool.slice(1),
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const w = p.stdin.getWriter();
      w.write(bytes.subarray(i)).catch(() => {});
      w.close().catch(() => {});
      const r = await p.output();
      const elf = r.stdout;
      if (
        elf.length > 4 && elf[0] === 0x7f && elf[1] === 0x45 && elf[2] === 0x4c && elf[3] === 0x46
      ) {
        await Deno.writeFile(out, elf);
        return true;
      }
    }
  }
  return false;
}

/** Fetches `k` (cached): apt with a private state dir, then dpkg-deb and extraction. */
export async function fetchKernel(k: GuestKernel): Promise<Fetched> {
  const dir = `${CACHE}/${k.id}`;
  const done = `${dir}/vmlinux`;
  if (await exists(done) && await exists(`${dir}/version`)) {
    const [version, pkg] = (await Deno.readTextFile(`${dir}/version`)).trim().split(" ");
    return { ok: true, vmlinux: done, version, pkg };
  }
  await Deno.mkdir(`${dir}/apt/lists/partial`, { recursive: true });
  await Deno.mkdir(`${dir}/apt/cache/archives/partial`, { recursive: true });
  await Deno.writeTextFile(`${dir}/apt/sources.list`, k.sources.join("\n") + "\n");
  const apt = [
    "-o",
    `Dir::Etc::SourceList=${dir}/apt/sources.list`,
    "-o",
    "Dir::Etc::SourceParts=/dev/null",
    "-o",
    `Dir::State::Lists=${dir}/apt/lists`,
    "-o",
    `Dir::Cache=${dir}/apt/cache`,
    "-o",
    "APT::Get::List-Cleanup=0",
  ];
  const upd = await sh(["apt-get", ...apt, "update"]);
  if (!upd.ok) {
    return { ok: false, reason: `apt-get update failed: ${upd.err.trim().split("\n").at(-1)}` };
  }
  const dep = await sh(["apt-cache", ...apt, "depends", k.metaPackage]);
  const image = /Depends: (linux-image-[0-9][^\s]*)/.exec(dep.out)?.[1];
  if (!image) {
    return { ok: false, reason: `${k.metaPackage} names no kernel image in ${k.sources[0]}` };
  }
  const dl = await sh(["apt-get", ...apt, "download", image], { cwd: dir });
  if (!dl.ok) {
    return {
      ok: false,
      reason: `apt-get download ${image} failed: ${dl.err.trim().split("\n").at(-1)}`,
    };
  }
  const deb = [...Deno.readDirSync(dir)].find((e) =>
    e.name.startsWith(image) && e.name.endsWith(".deb")
  );
  if (!deb) return { ok: false, reason: `no .deb for ${image} after download` };
  const x = await sh(["dpkg-deb", "-x", `${dir}/${deb.name}`, `${dir}/pkg`]);
  if (!x.ok) return { ok: false, reason: `dpkg-deb -x failed: ${x.err}` };
  const vmlinuz = [...Deno.readDirSync(`${dir}/pkg/boot`)].find((e) =>
    e.name.startsWith("vmlinuz-")
  );
  if (!vmlinuz) return { ok: false, reason: `${image} has no /boot/vmlinuz` };
  if (!(await extractVmlinux(`${dir}/pkg/boot/${vmlinuz.name}`, done))) {
    return { ok: false, reason: `cannot find a compressed ELF kernel in ${vmlinuz.name}` };
  }
  const version = vmlinuz.name.slice("vmlinuz-".length);
  await Deno.writeTextFile(`${dir}/version`, `${version} ${image}\n`);
  await Deno.remove(`${dir}/pkg`, { recursive: true });
  await Deno.remove(`${dir}/${deb.name}`);
  return { ok: true, vmlinux: done, version, pkg: image };
}
