/**
 * Mounts against the agent's own mount table: only a mount that changed it
 * can move what a watched path names, and only at or below its mount point,
 * so only such a mount makes the agent look watched paths up again, and only
 * those. One in a mount namespace of its own (a container's, a systemd
 * unit's) leaves the table alone.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import {
  CaptureOutput,
  changesShown,
  metricValue,
  run,
  tempDir,
  waitFor,
  whileHeld,
} from "./helpers.ts";

Deno.test("mounts: one in a private mount namespace looks nothing up; one in the agent's looks up what is under it", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/conf`, "x\n");
  await Deno.mkdir(`${dir.path}/m`);
  const agent = await Agent.start({
    watches: watchesForPaths([`${dir.path}/conf`]),
    outputs: [new CaptureOutput()],
  });
  const mounted: string[] = [];
  try {
    const elsewhere = () => metricValue(agent, "bpfink_mounts_elsewhere_total");
    const rechecks = () => metricValue(agent, "bpfink_mount_rechecks_total");
    // Root in a mount namespace of its own, made private: nothing it mounts reaches the host.
    // Another test's mount on the host at the same moment changes the agent's table too, so
    // the private mount is tried until one is told apart (at most 5 times).
    let toldApart = false;
    for (let i = 0; i < 5 && !toldApart; i++) {
      const before = elsewhere();
      const r = await run([
        "unshare",
        "-m",
        "--propagation",
        "private",
        "mount",
        "-t",
        "tmpfs",
        "none",
        `${dir.path}/m`,
      ]);
      assert(r.code === 0, r.stderr);
      toldApart = await waitFor(() => elsewhere() > before, 1000);
      // The kernel folds mount events for 200 ms: let the next one through.
      await new Promise((r) => setTimeout(r, 300));
    }
    assert(toldApart, `a private namespace's mount made the agent look up every path`);
    // A mount in the agent's own namespace changes its table: only what is under it is looked up.
    const before = rechecks();
    const lookups = metricValue(agent, "bpfink_mount_lookups_total");
    const m = await run(["mount", "-t", "tmpfs", "none", `${dir.path}/m`]);
    assert(m.code === 0, m.stderr);
    mounted.unshift(`${dir.path}/m`);
    assert(
      await waitFor(() => rechecks() > before),
      "a mount in the agent's namespace was not looked into",
    );
    assertEquals(
      metricValue(agent, "bpfink_mount_lookups_total"),
      lookups,
      "a mount beside the watched file made the agent look it up",
    );
    // A mount over the watched file's directory: the file is looked up.
    const over = await run(["mount", "--bind", dir.path, dir.path]);
    assert(over.code === 0, over.stderr);
    mounted.unshift(dir.path);
    assert(
      await waitFor(() => metricValue(agent, "bpfink_mount_lookups_total") > lookups),
      "a mount over the watched file's directory did not look the file up",
    );
  } finally {
    for (const m of mounted) await run(["umount", m]);
    await agent.stop();
  }
});

Deno.test("mounts: a bind mount over a watched file, and the umount that uncovers it again, name the process that did each", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/conf`;
  await Deno.writeTextFile(f, "real\n");
  await Deno.writeTextFile(`${dir.path}/evil`, "evil\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  let mounted = false;
  const replaced = () => out.changes(f).filter((e) => e.event.action === "replaced");
  const shown = () =>
    JSON.stringify(
      out.changes(f).map((e) => [e.event.action, e.process?.name, e.process?.pid, e.event.reason]),
    );
  try {
    const m = await run(["mount", "--bind", `${dir.path}/evil`, f]);
    assertEquals(m.code, 0, m.stderr);
    mounted = true;
    assert(await waitFor(() => replaced().length === 1), `the mount not reported: ${shown()}`);
    await agent.idle();
    const u = await run(["umount", f]);
    assertEquals(u.code, 0, u.stderr);
    mounted = false;
    assert(await waitFor(() => replaced().length === 2), `the umount not reported: ${shown()}`);
    await agent.idle();
    assertEquals(
      replaced().map((e) => [e.process?.name, e.process?.pid]),
      [["mount", m.pid], ["umount", u.pid]],
      shown(),
    );
    for (const e of replaced()) assert(e.event.reason?.includes("mount"), shown());
  } finally {
    if (mounted) await run(["umount", f]);
    await agent.stop();
  }
});

Deno.test("mounts: two processes mount at once (the agent held): the watched file is credited to the one whose mount point it is", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/conf`;
  await Deno.writeTextFile(f, "real\n");
  await Deno.writeTextFile(`${dir.path}/evil`, "evil\n");
  await Deno.mkdir(`${dir.path}/m`);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  const mounted: string[] = [];
  const shown = () =>
    JSON.stringify(out.changes(f).map((e) => [e.event.action, e.process?.name, e.process?.pid]));
  try {
    await agent.idle();
    // A tmpfs beside the file first, then the bind mount over it: one look at the mount table
    // finds both, and the first event to come is the other mount's.
    await whileHeld(
      "mount -t tmpfs none m && sh -c 'echo $$ > over.pid; exec mount --bind evil conf'",
      dir.path,
    ).finally(() => mounted.push(`${dir.path}/m`, f));
    const over = Number(await Deno.readTextFile(`${dir.path}/over.pid`));
    const replaced = () => out.changes(f).filter((e) => e.event.action === "replaced");
    assert(await waitFor(() => replaced().length === 1), `the mount not reported: ${shown()}`);
    await agent.idle();
    assertEquals(
      replaced().map((e) => [e.process?.name, e.process?.pid]),
      [["mount", over]],
      shown(),
    );
  } finally {
    for (const m of mounted.reverse()) await run(["umount", m]);
    await agent.stop();
  }
});

Deno.test("mounts: a change a mount's look finds that the mount did not make (a chmod the kernel could not place) is not credited to the mounter", async () => {
  await using dir = await tempDir();
  const d = `${dir.path}/d`;
  await Deno.mkdir(`${d}/sub`, { recursive: true });
  const f = `${d}/conf`;
  await Deno.writeTextFile(f, "x\n");
  await Deno.chmod(f, 0o644);
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([f]),
    outputs: [out],
    fanotify: false,
  });
  let mounted = false;
  const shown = () =>
    JSON.stringify(out.changes(f).map((e) => [e.event.action, e.process?.name, e.event.reason]));
  try {
    await agent.idle();
    // The chmod through `..` names no process the kernel can place; the bind mount of the
    // directory over itself leaves the file where it was, and makes the agent look at it.
    await whileHeld("chmod 4755 d/sub/../conf && mount --bind d d", dir.path).finally(() =>
      mounted = true
    );
    const changed = () => out.changes(f).filter((e) => e.event.action === "attributes_changed");
    assert(await waitFor(() => changed().length === 1), `the chmod not reported: ${shown()}`);
    await agent.idle();
    const e = changed()[0];
    assertEquals(e.process, undefined, `credited to a process that did not make it: ${shown()}`);
    assert(e.event.reason?.startsWith("live: no process named"), shown());
    assertEquals(out.changes(f).length, 1, shown());
  } finally {
    if (mounted) await run(["umount", d]);
    await agent.stop();
  }
});

Deno.test("mounts: a bind mount over a watched file made and undone before the agent looked is reported, by its process; one in a private namespace is not", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/ld.so.preload`;
  await Deno.writeTextFile(f, "\n");
  await Deno.writeTextFile(`${dir.path}/evil`, "/tmp/evil.so\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  const brief = () => out.changes(f).filter((e) => e.event.action === "mounted_briefly");
  try {
    // In a namespace of its own, gone with it: no program outside it read the file there.
    await whileHeld(`unshare -m --propagation private mount --bind evil ${f}`, dir.path);
    await agent.idle();
    // The kernel folds mount events for 200 ms: let the next one through.
    await new Promise((r) => setTimeout(r, 300));
    assert(await waitFor(() => metricValue(agent, "bpfink_mounts_elsewhere_total") > 0));
    assertEquals(brief().length, 0, changesShown(out));
    // In the agent's own, a program reads the file under it, and it is gone again before the
    // agent looks (held, as a loaded machine holds it).
    await whileHeld(`mount --bind evil ${f} && cat ${f} >/dev/null && umount ${f}`, dir.path);
    assert(await waitFor(() => brief().length > 0), changesShown(out));
    await agent.idle();
    const [e] = brief();
    assertEquals([brief().length, e.process?.name, e.event.severity], [1, "mount", 99]);
    assert(String(e.bpfink?.not_read).includes(f), JSON.stringify(e.bpfink));
    assertEquals(out.changes(f).filter((x) => x.event.action === "replaced").length, 0);
    assertEquals(metricValue(agent, "bpfink_mounts_brief_total"), 1);
  } finally {
    await agent.stop();
  }
});

Deno.test("mounts: a bind mount over a watched file made and undone behind a decoy mount of the same process is still reported", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/ld.so.preload`;
  await Deno.writeTextFile(f, "\n");
  await Deno.writeTextFile(`${dir.path}/evil`, "/tmp/evil.so\n");
  await Deno.mkdir(`${dir.path}/decoy`);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  const brief = () => out.changes(f).filter((e) => e.event.action === "mounted_briefly");
  try {
    // One process, its system calls back to back: a mount elsewhere first, whose event the
    // kernel sends; then the one over the watched file, undone at once.
    const script = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
d, f = sys.argv[1], sys.argv[2]
def ok(r):
    if r != 0: raise OSError(ctypes.get_errno(), "mount")
ok(libc.mount(b"none", (d + "/decoy").encode(), b"tmpfs", 0, None))
ok(libc.mount((d + "/evil").encode(), f.encode(), None, 4096, None))  # MS_BIND
open(f).read()
ok(libc.umount2(f.encode(), 0))
ok(libc.umount2((d + "/decoy").encode(), 0))
`;
    await Deno.writeTextFile(`${dir.path}/mounts.py`, script);
    await whileHeld(`python3 mounts.py "$PWD" ${f}`, dir.path);
    assert(await waitFor(() => brief().length > 0), changesShown(out));
    await agent.idle();
    assertEquals([brief().length, brief()[0].process?.name], [1, "python3"], changesShown(out));
  } finally {
    await run(["umount", f]).catch(() => {});
    await run(["umount", `${dir.path}/decoy`]).catch(() => {});
    await agent.stop();
  }
});
