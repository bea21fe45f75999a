/**
 * Builds an uncompressed newc initramfs for one guest run: static busybox
 * with its applet links, the `/init` from guest_init.ts, the caller's command
 * as `/job.sh`, a payload of host files, and the ELF loader and `ldd`
 * libraries of every dynamic ELF in that payload (found automatically).
 *
 * @module
 */
import { dirname } from "node:path";
import { readElf } from "./elf.ts";
import { initScript, JOB_PATH, newMarker } from "./guest_init.ts";
import { librariesOf, type Needed } from "./libraries.ts";

/** One host file or directory to copy into the image. */
export interface PayloadEntry {
  /** Host path; symlinks are resolved at the top, kept inside directories. */
  host: string;
  /** Absolute guest path of the copy (a directory's contents merge into it). */
  guest: string;
}

/** What to build. */
export interface InitramfsSpec {
  /** Shell script text run by busybox `sh` in `/root`; its exit status is reported. */
  command: string;
  payload?: readonly PayloadEntry[];
}

/** A built image. */
export interface Initramfs {
  path: string;
  /** Size of the cpio archive. */
  bytes: number;
  /** The marker its init prints (see guest_init.ts). */
  marker: string;
  /** Guest RAM that satisfies {@link memoryForImage} for this image. */
  memoryMiB: number;
  /** Host libraries that were added for the payload's dynamic ELFs. */
  libraries: string[];
  /** Libraries that could not be resolved on the host (the guest may fail to run something). */
  warnings: string[];
}

/** Where static busybox lives (Debian's busybox-static). */
export const BUSYBOX = "/bin/busybox";
/** Guest RAM never goes below this: the command needs room besides the unpacked image. */
export const MIN_GUEST_MIB = 512;
const MIB = 1024 * 1024;

/**
 * Guest RAM for an image of `bytes`: 3 × image + 256 MiB, at least
 * {@link MIN_GUEST_MIB}. The image unpacks into a tmpfs capped at half the RAM;
 * with less, the kernel prints "Initramfs unpacking failed: write error" and
 * truncates files silently.
 */
export function memoryForImage(bytes: number): number {
  return Math.max(MIN_GUEST_MIB, Math.ceil((3 * bytes) / MIB) + 256);
}

async function run(cmd: string[]): Promise<string> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  if (!r.success) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
  return new TextDecoder().decode(r.stdout);
}

/** The root skeleton: usr-merge symlinks as on the host, busybox and its applets, /dev/console. */
async function skeleton(root: string): Promise<void> {
  for (const d of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
    const target = await Deno.readLink(`/${d}`).catch(() => undefined);
    if (target) {
      await Deno.mkdir(`${root}/${target.replace(/^\//, "")}`, { recursive: true });
      await Deno.symlink(target, `${root}/${d}`);
    }
  }
  for (
    const d of [
      "bin",
      "sbin",
      "usr/bin",
      "usr/sbin",
      "proc",
      "sys",
      "dev",
      "tmp",
      "run",
      "etc",
      "root",
    ]
  ) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  const bb = await readElf(BUSYBOX).catch(() => undefined);
  if (!bb || bb.interpreter) {
    throw new Error(
      `${BUSYBOX} is missing or dynamic: install busybox-static (./setup.sh --test)`,
    );
  }
  await Deno.copyFile(BUSYBOX, `${root}/bin/busybox`);
  for (const applet of (await run([BUSYBOX, "--list-full"])).split("\n").filter(Boolean)) {
    await Deno.mkdir(`${root}/${dirname(applet)}`, { recursive: true });
    await Deno.symlink("/bin/busybox", `${root}/${applet}`).catch(() => {}); // first one wins
  }
  // The kernel opens /dev/console for the init's stdio before anything is mounted.
  await run(["mknod", `${root}/dev/console`, "c", "5", "1"]).catch(() => {});
  await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
  await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\n");
  await Deno.writeTextFile(`${root}/etc/hostname`, "guest\n"); // a small file tests may copy from
}

async function copyEntry(root: string, e: PayloadEntry): Promise<void> {
  if (!e.guest.startsWith("/")) throw new Error(`payload guest path must be absolute: ${e.guest}`);
  const host = await Deno.realPath(e.host).catch(() => {
    throw new Error(`payload ${e.host} does not exist`);
  });
  const dest = `${root}${e.guest}`;
  if ((await Deno.stat(host)).isDirectory) {
    await Deno.mkdir(dest, { recursive: true });
    await run(["cp", "-a", `${host}/.`, dest]);
  } else {
    await Deno.mkdir(dirname(dest), { recursive: true });
    await run(["cp", "-a", "--remove-destination", host, dest]);
  }
}

async function* regularFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* regularFiles(p);
    else if (e.isFile) yield p;
  }
}

/** Adds the loader and libraries of every dynamic ELF under the payload's guest paths. */
async function addLibraries(root: string, payload: readonly PayloadEntry[]): Promise<Needed> {
  const libs = new Set<string>();
  const warnings: string[] = [];
  for (const e of payload) {
    const at = `${root}${e.guest}`;
    const files = (await Deno.stat(at)).isDirectory ? regularFiles(at) : [at];
    for await (const f of files) {
      const n = await librariesOf(f);
      n.libraries.filter((l) => !l.startsWith(root)).forEach((l) => libs.add(l));
      warnings.push(...n.missing.map((m) => `${f.slice(root.length)}: ${m}`));
    }
  }
  const added: string[] = [];
  for (const lib of libs) {
    const dest = `${root}${lib}`;
    if (await Deno.lstat(dest).then(() => true, () => false)) continue;
    await Deno.mkdir(dirname(dest), { recursive: true });
    await Deno.copyFile(await Deno.realPath(lib), dest);
    added.push(lib);
  }
  return { libraries: added.sort(), missing: warnings };
}

/** Builds the image at `outPath` (overwritten). The staging directory is always removed. */
export async function buildInitramfs(spec: InitramfsSpec, outPath: string): Promise<Initramfs> {
  const root = await Deno.makeTempDir({ prefix: "bpfink-initramfs-" });
  try {
    await skeleton(root);
    const payload = spec.payload ?? [];
    for (const e of payload) await copyEntry(root, e);
    const needed = await addLibraries(root, payload);
    const marker = newMarker();
    await Deno.writeTextFile(`${root}/init`, initScript(marker), { mode: 0o755 });
    await Deno.writeTextFile(`${root}${JOB_PATH}`, `#!/bin/sh\n${spec.command}\n`, { mode: 0o755 });
    await run([
      "sh",
      "-c",
      'cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet > "$2"',
      "sh",
      root,
      outPath,
    ]);
    const bytes = (await Deno.stat(outPath)).size;
    return {
      path: outPath,
      bytes,
      marker,
      memoryMiB: memoryForImage(bytes),
      libraries: needed.libraries,
      warnings: needed.missing,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
