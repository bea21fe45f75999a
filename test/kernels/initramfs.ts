/**
 * Builds an uncompressed newc initramfs: static busybox, an /init that mounts
 * the pseudo file systems BPF needs and runs one command, and a payload of
 * host files with every shared library they need (from ldd).
 *
 * @module
 */
import { dirname } from "node:path";

/** Marker the guest prints with the command's exit status. */
export const MARKER = "BPFINK-GUEST-EXIT";

async function out(cmd: string[], cwd?: string): Promise<string> {
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

/** Shared libraries (and the ELF loader) an executable or library needs. */
export async function libsOf(path: string): Promise<string[]> {
  const text = await out(["ldd", path]).catch(() => "");
  const libs = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs];
}

/** What goes into the image: host path → guest path (directories copied whole). */
export interface Payload {
  files: [string, string][];
  /** Host shared objects or executables whose libraries must come along. */
  needLibs: string[];
}

/** Builds the image at `out`; returns its size in bytes. `command` runs as /bin/sh -c in the guest. */
export async function buildInitramfs(
  payload: Payload,
  command: string,
  outPath: string,
): Promise<number> {
  const root = await Deno.makeTempDir({ prefix: "bpfink-initramfs-" });
  try {
    for (
      const d of [
        "bin",
        "sbin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "run",
        "etc",
        "lib64",
        "usr/lib/x86_64-linux-gnu",
        "root",
      ]
    ) {
      await Deno.mkdir(`${root}/${d}`, { recursive: true });
    }
    await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
    await out(["chroot", root, "/bin/busybox", "--install", "-s"]).catch(async () => {
      for (
        const a of [
          "sh",
          "mount",
          "mkdir",
          "poweroff",
          "echo",
          "cat",
          "mv",
          "rm",
          "ln",
          "sleep",
          "ls",
          "dd",
        ]
      ) {
        await Deno.symlink("busybox", `${root}/bin/${a}`);
      }
    });
    await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    await Deno.writeTextFile(`${root}/etc/hostname`, "guest\n");
    for (const [src, dst] of payload.files) {
      await Deno.mkdir(`${root}${dirname(dst)}`, { recursive: true });
      await out(["cp", "-a", src, `${root}${dst}`]);
    }
    const libs = new Set<string>();
    for (const bin of payload.needLibs) {
      libs.add(bin);
      for (const l of await libsOf(bin)) libs.add(l);
    }
    for (const l of libs) {
      const real = await Deno.realPath(l);
      await Deno.mkdir(`${root}${dirname(l)}`, { recursive: true });
      await out(["cp", "-L", "--remove-destination", real, `${root}${l}`]);
    }
    const init = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
hostname guest
cd /root
/bin/sh -c '${command.replace(/'/g, "'\\''")}'
echo "${MARKER} $?"
poweroff -f
`;
    await Deno.writeTextFile(`${root}/init`, init, { mode: 0o755 });
    const list = await out(["sh", "-c", "find . | LC_ALL=C sort"], root);
    const cpio = new Deno.Command("cpio", {
      args: ["-o", "-H", "newc", "--quiet"],
      cwd: root,
      stdin: "piped",
      stdout: "piped",
    })
      .spawn();
    // Read cpio's output while feeding it the list: a long list would fill both pipes.
    const done = cpio.output();
    const w = cpio.stdin.getWriter();
    await w.write(new TextEncoder().encode(list));
    await w.close();
    const r = await done;
    await Deno.writeFile(outPath, r.stdout);
    return r.stdout.length;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
