/**
 * Fetches a guest kernel from Debian into a cache directory, without touching
 * the host's apt setup: a private sources list, lists and archive cache are
 * passed to apt with `-o`. The meta-package from {@link GuestKernel} is
 * resolved to the concrete image package, which is downloaded, unpacked with
 * `dpkg-deb -x`, and reduced to the uncompressed ELF `vmlinux` and the build
 * `config`. Modules are not kept: the guests need none.
 *
 * Layout of `<cacheDir>/<id>/`: `vmlinux`, `config`, `kernel.json` (written
 * last; its presence with a matching vmlinux makes the cache valid), `apt/`.
 *
 * @module
 */
import { aptSourceLines, type GuestKernel } from "../../kernels/guests.ts";
import { EM_X86_64, readElf } from "./elf.ts";
import { extractVmlinux } from "./vmlinux.ts";

/** The default cache: `.cache/kernels/` at the project root (gitignored). */
export const DEFAULT_CACHE_DIR: string = new URL("../../.cache/kernels", import.meta.url).pathname;

/** How to fetch. */
export interface FetchOptions {
  /** Parent of the per-kernel directories; default {@link DEFAULT_CACHE_DIR}. */
  cacheDir?: string;
  /** Resolve the meta-package again even when the cache is valid. */
  refresh?: boolean;
  /** Seconds allowed for each apt command; default 300. */
  aptTimeoutSeconds?: number;
}

/** What the cache records about a fetched kernel (`kernel.json`). */
export interface KernelManifest {
  id: string;
  suites: string[];
  metaPackage: string;
  imagePackage: string;
  imageVersion: string;
  /** `uname -r` of the kernel, from its `/boot/vmlinuz-<release>`. */
  release: string;
  codec: string;
  vmlinuxBytes: number;
}

/** A kernel ready to boot, or why it could not be fetched. */
export type FetchResult =
  | {
    status: "ready";
    kernel: string;
    vmlinux: string;
    config: string;
    manifest: KernelManifest;
    /** True when nothing was downloaded. */
    cached: boolean;
    seconds: number;
  }
  | { status: "skipped"; kernel: string; reason: string; seconds: number };

interface Run {
  ok: boolean;
  out: string;
  err: string;
}

async function run(cmd: string[], cwd?: string): Promise<Run> {
  try {
    const r = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const d = new TextDecoder();
    return { ok: r.success, out: d.decode(r.stdout), err: d.decode(r.stderr) };
  } catch (e) {
    return { ok: false, out: "", err: `${cmd[0]}: ${(e as Error).message}` };
  }
}

function lastLine(r: Run): string {
  const lines = (r.err || r.out).trim().split("\n").filter((l) => l.trim());
  return lines.at(-1) ?? "no output";
}

/** The apt options that make every state path private to `aptDir`. */
export function privateAptOptions(aptDir: string): string[] {
  const opts: Record<string, string> = {
    "Dir::Etc::SourceList": `${aptDir}/sources.list`,
    "Dir::Etc::SourceParts": "/dev/null",
    "Dir::Etc::Preferences": "/dev/null",
    "Dir::Etc::PreferencesParts": "/dev/null",
    "Dir::State::Lists": `${aptDir}/lists`,
    "Dir::State::status": "/dev/null",
    "Dir::Cache": `${aptDir}/cache`,
  };
  return Object.entries(opts).flatMap(([k, v]) => ["-o", `${k}=${v}`]);
}

async function readManifest(dir: string): Promise<KernelManifest | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/kernel.json`)) as KernelManifest;
  } catch {
    return undefined;
  }
}

/** True when `dir` holds a complete fetch of `k` (same meta-package and suites, intact vmlinux). */
async function cacheValid(k: GuestKernel, dir: string, m: KernelManifest): Promise<boolean> {
  if (m.metaPackage !== k.metaPackage || m.suites.join() !== k.suites.join()) return false;
  try {
    if ((await Deno.stat(`${dir}/vmlinux`)).size !== m.vmlinuxBytes) return false;
    await Deno.stat(`${dir}/config`);
  } catch {
    return false;
  }
  const elf = await readElf(`${dir}/vmlinux`).catch(() => undefined);
  return elf?.machine === EM_X86_64;
}

/** `Depends:` of the candidate version of `meta`, as the first concrete linux-image package. */
function imageFromShow(show: string): string | undefined {
  const depends = /^Depends: (.*)$/m.exec(show)?.[1] ?? "";
  return depends.split(/[,|]/).map((d) => d.trim().split(" ")[0])
    .find((d) => /^linux-image-\d/.test(d));
}

async function download(
  k: GuestKernel,
  dir: string,
  timeout: number,
): Promise<KernelManifest | string> {
  const aptDir = `${dir}/apt`;
  await Deno.mkdir(`${aptDir}/lists/partial`, { recursive: true });
  await Deno.mkdir(`${aptDir}/cache/archives/partial`, { recursive: true });
  await Deno.writeTextFile(`${aptDir}/sources.list`, aptSourceLines(k).join("\n") + "\n");
  const apt = privateAptOptions(aptDir);
  const t = ["timeout", String(timeout)];
  const update = await run([...t, "apt-get", "-q", ...apt, "update"]);
  if (!update.ok) return `apt-get update (${k.suites.join(", ")}) failed: ${lastLine(update)}`;
  const show = await run(["apt-cache", ...apt, "show", "--no-all-versions", k.metaPackage]);
  if (!show.ok) return `${k.metaPackage} is not in ${k.suites.join(", ")}: ${lastLine(show)}`;
  const image = imageFromShow(show.out);
  if (!image) return `${k.metaPackage} depends on no linux-image-<version> package`;

  const work = `${dir}/.work`;
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await Deno.mkdir(work, { recursive: true });
  try {
    const dl = await run([...t, "apt-get", "-q", ...apt, "download", image], work);
    if (!dl.ok) return `apt-get download ${image} failed: ${lastLine(dl)}`;
    const deb = [...Deno.readDirSync(work)].find((e) => e.name.endsWith(".deb"))?.name;
    if (!deb) return `apt-get download ${image} left no .deb`;
    const version = (await run(["dpkg-deb", "-f", `${work}/${deb}`, "Version"])).out.trim();
    const x = await run(["dpkg-deb", "-x", `${work}/${deb}`, `${work}/root`]);
    if (!x.ok) return `dpkg-deb -x ${deb} failed: ${lastLine(x)}`;
    const boot = `${work}/root/boot`;
    const vmlinuz = [...Deno.readDirSync(boot)].find((e) => e.name.startsWith("vmlinuz-"))?.name;
    if (!vmlinuz) return `${deb} has no /boot/vmlinuz-*`;
    const release = vmlinuz.slice("vmlinuz-".length);
    const extracted = await extractVmlinux(`${boot}/${vmlinuz}`, `${work}/vmlinux`);
    if (!extracted.ok) return extracted.reason;
    await Deno.remove(`${dir}/kernel.json`).catch(() => {}); // the old cache is invalid from here
    await Deno.copyFile(`${boot}/config-${release}`, `${dir}/config`);
    await Deno.rename(`${work}/vmlinux`, `${dir}/vmlinux`);
    return {
      id: k.id,
      suites: [...k.suites],
      metaPackage: k.metaPackage,
      imagePackage: image,
      imageVersion: version,
      release,
      codec: extracted.codec,
      vmlinuxBytes: extracted.bytes,
    };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * Set to 1 to skip every guest kernel (a fast local run): each guest test is then
 * reported as ignored with this reason, never as passed.
 */
export const SKIP_GUESTS_ENV = "BPFINK_SKIP_GUESTS";

/**
 * Makes `k` ready to boot: from the cache when valid (and not `refresh`),
 * else from the mirror. Never throws for a mirror problem: the result is
 * `skipped` with the reason. Concurrent calls for one kernel are serialised
 * by a lock file in its directory.
 */
export async function fetchKernel(k: GuestKernel, opts: FetchOptions = {}): Promise<FetchResult> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (Deno.env.get(SKIP_GUESTS_ENV) === "1") {
    return { status: "skipped", kernel: k.id, reason: `${SKIP_GUESTS_ENV}=1`, seconds: 0 };
  }
  const dir = `${opts.cacheDir ?? DEFAULT_CACHE_DIR}/${k.id}`;
  await Deno.mkdir(dir, { recursive: true });
  using lock = await Deno.open(`${dir}/.lock`, { write: true, create: true });
  await lock.lock(true);
  const ready = (manifest: KernelManifest, cached: boolean): FetchResult => ({
    status: "ready",
    kernel: k.id,
    vmlinux: `${dir}/vmlinux`,
    config: `${dir}/config`,
    manifest,
    cached,
    seconds: seconds(),
  });
  const old = await readManifest(dir);
  if (old && !opts.refresh && await cacheValid(k, dir, old)) return ready(old, true);
  const got = await download(k, dir, opts.aptTimeoutSeconds ?? 300);
  if (typeof got === "string") {
    return { status: "skipped", kernel: k.id, reason: got, seconds: seconds() };
  }
  await Deno.writeTextFile(`${dir}/kernel.json`, JSON.stringify(got, null, 2) + "\n");
  await Deno.remove(`${dir}/version`).catch(() => {}); // left by an earlier cache layout
  return ready(got, false);
}
