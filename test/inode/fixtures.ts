/**
 * What the inode tests share: building their C programs, a btrfs file
 * system on a loop device and a ramfs (undone by the caller), and the check that a
 * change was reported live by the process that made it.
 *
 * @module
 */
import { assert } from "../assert.ts";
import { type CaptureOutput, run, waitFor } from "../helpers.ts";

/** Runs `cmd`, which must succeed; returns its trimmed stdout. */
export async function must(cmd: string[]): Promise<string> {
  const r = await run(cmd);
  assert(r.code === 0, `${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Builds test/inode/NAME.c into `dir`; returns the program's path. */
export async function buildProgram(dir: string, name: string): Promise<string> {
  const bin = `${dir}/${name}`;
  await must(["gcc", "-O1", "-o", bin, new URL(`./${name}.c`, import.meta.url).pathname]);
  return bin;
}

/**
 * Mounts a fresh btrfs image at `${dir}/bt`; the commands that undo it are
 * put first in `undo` (run them in order, also when the test fails).
 */
export async function mountBtrfs(dir: string, undo: string[][]): Promise<string> {
  await must(["truncate", "-s", "160M", `${dir}/btrfs.img`]);
  await must(["mkfs.btrfs", "-q", `${dir}/btrfs.img`]);
  const loop = await must(["losetup", "-f", "--show", `${dir}/btrfs.img`]);
  undo.unshift(["losetup", "-d", loop]);
  await Deno.mkdir(`${dir}/bt`);
  await must(["mount", loop, `${dir}/bt`]);
  undo.unshift(["umount", `${dir}/bt`]);
  return `${dir}/bt`;
}

/**
 * Mounts a fresh ext4 image at `${dir}/e4` (its own inode numbers, which
 * nothing else on the machine takes); the commands that undo it are put
 * first in `undo`.
 */
export async function mountExt4(dir: string, undo: string[][]): Promise<string> {
  await must(["truncate", "-s", "32M", `${dir}/ext4.img`]);
  await must(["mkfs.ext4", "-q", "-F", `${dir}/ext4.img`]);
  const loop = await must(["losetup", "-f", "--show", `${dir}/ext4.img`]);
  undo.unshift(["losetup", "-d", loop]);
  await Deno.mkdir(`${dir}/e4`);
  await must(["mount", loop, `${dir}/e4`]);
  undo.unshift(["umount", `${dir}/e4`]);
  return `${dir}/e4`;
}

/**
 * Mounts a fresh ramfs at `${dir}/ram` (no export operations: no file
 * handles); the command that undoes it is put first in `undo`.
 */
export async function mountRamfs(dir: string, undo: string[][]): Promise<string> {
  await Deno.mkdir(`${dir}/ram`);
  await must(["mount", "-t", "ramfs", "bpfink-test", `${dir}/ram`]);
  // Lazy: a test that fails with a file still open there (an fd leak) leaves no mount behind.
  undo.unshift(["umount", "--lazy", `${dir}/ram`]);
  return `${dir}/ram`;
}

/**
 * Waits up to 3 s for a live `action` event on `path` made by process
 * `pid`; undefined when it came, else what was reported on `path` instead
 * (action, reason, process name and pid of each event), with `pid` first.
 */
export async function missedLive(
  out: CaptureOutput,
  path: string,
  pid: number,
  action = "modified",
): Promise<string | undefined> {
  const ok = await waitFor(
    () =>
      out.changes(path).some((e) =>
        e.event.action === action && e.process?.pid === pid && !!e.event.reason?.startsWith("live")
      ),
    3000,
  );
  if (ok) return undefined;
  return `wanted pid ${pid}, got ` + JSON.stringify(
    out.changes(path).map((e) => [e.event.action, e.event.reason, e.process?.name, e.process?.pid]),
  );
}
