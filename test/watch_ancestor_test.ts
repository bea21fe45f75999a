/**
 * A watched path's meaning depends on every directory above it: swapping the
 * parent of watched files (`mv etc etc.old; mkdir etc; cp …`) is seen live,
 * the paths are looked up again at once, and what is done to the new files
 * afterwards is reported live too (real agent, real mv, mkdir, cp, rm, echo).
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import {
  CaptureOutput,
  changesShown,
  metricValue,
  run,
  shIn,
  tempDir,
  waitFor,
} from "./helpers.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { buildProgram } from "./inode/fixtures.ts";

const sh = shIn;
const shown = changesShown;

const added = (e: ChangeEvent, name: string) =>
  e.event.action === "user_added" && e.user?.target?.name === name;

for (const fanotify of [true, false]) {
  Deno.test(`the parent directory of watched files swapped: reported live, and the new files watched at once (fanotify ${fanotify ? "on" : "off"})`, async () => {
    await using dir = await tempDir();
    const etc = `${dir.path}/etc`;
    await Deno.mkdir(etc);
    await Deno.writeTextFile(`${etc}/passwd`, "root:x:0:0::/root:/bin/sh\n");
    await Deno.writeTextFile(`${etc}/shadow`, "root:*:1::::::\n");
    const passwd = `${etc}/passwd`;
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths([passwd, `${etc}/shadow`]),
      outputs: [out],
      fanotify,
    });
    try {
      await sh("mv etc etc.old", dir.path);
      assert(
        await waitFor(() => out.changes(passwd).some((e) => e.event.action === "deleted"), 3000),
        `the rename of etc not reported live: ${shown(out)}`,
      );
      assertEquals(out.changes(passwd)[0].process?.name, "mv");
      assert(metricValue(agent, "bpfink_ancestor_rechecks_total") >= 1);
      await sh("mkdir etc && cp etc.old/* etc/", dir.path);
      assert(
        await waitFor(() => out.changes(passwd).some((e) => e.event.action === "created"), 3000),
        `the copy into the new etc not reported live: ${shown(out)}`,
      );
      const pid = await sh("echo 'd:x:0:0::/:/bin/sh' >> etc/passwd", dir.path);
      assert(
        await waitFor(() => out.changes().some((e) => added(e, "d")), 3000),
        `the uid-0 user added to the new passwd not reported live: ${shown(out)}`,
      );
      const user = out.changes().find((e) => added(e, "d"))!;
      assertEquals(user.process?.pid, pid);
      // The new directory is watched by name too.
      await sh("rm etc/passwd", dir.path);
      assert(
        await waitFor(
          () => out.changes(passwd).filter((e) => e.event.action === "deleted").length === 2,
          3000,
        ),
        `rm of the new passwd not reported live: ${shown(out)}`,
      );
      const pid2 = await sh(
        "printf 'root:x:0:0::/root:/bin/sh\\ne:x:0:0::/:/bin/sh\\n' > etc/passwd",
        dir.path,
      );
      assert(
        await waitFor(
          () =>
            out.changes().some((e) => e.event.action === "user_added" && e.process?.pid === pid2),
          3000,
        ),
        `the re-created passwd with a new uid-0 user not reported live: ${shown(out)}`,
      );
      // The old directory is not watched under the old names any more.
      await agent.idle();
      const n = out.changes().length;
      await sh("echo x >> etc.old/passwd", dir.path);
      await new Promise((r) => setTimeout(r, 400));
      await agent.idle();
      await agent.reconcile();
      assertEquals(out.changes().slice(n), [], "a write to the old directory's file was reported");
    } finally {
      await agent.stop();
    }
  });
}

Deno.test("the parent of a recursive watch swapped: the tree is re-read at once and what is made in the new one is reported live", async () => {
  await using dir = await tempDir();
  const app = `${dir.path}/srv/app`;
  await Deno.mkdir(`${app}/conf.d`, { recursive: true });
  await Deno.writeTextFile(`${app}/conf.d/a.conf`, "a\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([app], true), outputs: [out] });
  try {
    await sh(
      "mv srv srv.old && mkdir -p srv/app/conf.d && echo b > srv/app/conf.d/b.conf",
      dir.path,
    );
    const b = `${app}/conf.d/b.conf`;
    assert(
      await waitFor(() => out.changes(b).some((e) => e.event.action === "created"), 3000),
      `b.conf in the new tree not reported live: ${shown(out)}`,
    );
    assert(
      await waitFor(
        () => out.changes(`${app}/conf.d/a.conf`).some((e) => e.event.action === "deleted"),
        3000,
      ),
      `a.conf, gone from the path, not reported live: ${shown(out)}`,
    );
    await agent.idle();
    const pid = await sh("echo more >> srv/app/conf.d/b.conf", dir.path);
    assert(
      await waitFor(() => out.changes(b).some((e) => e.event.action === "modified"), 3000),
      `a write to b.conf not reported live: ${shown(out)}`,
    );
    assertEquals(out.changes(b).find((e) => e.event.action === "modified")?.process?.pid, pid);
    await agent.idle();
    const n = out.changes().length;
    await sh("echo x >> srv.old/app/conf.d/a.conf", dir.path);
    await new Promise((r) => setTimeout(r, 400));
    await agent.idle();
    await agent.reconcile();
    assertEquals(
      out.changes().slice(n),
      [],
      "the old tree is still watched, or a reconcile found more",
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("a prepared directory renamed over the watched files' parent (mv etc.new etc): reported live", async () => {
  await using dir = await tempDir();
  const etc = `${dir.path}/etc`;
  await Deno.mkdir(etc);
  await Deno.writeTextFile(`${etc}/passwd`, "root:x:0:0::/root:/bin/sh\n");
  await Deno.mkdir(`${dir.path}/etc.new`);
  await Deno.writeTextFile(
    `${dir.path}/etc.new/passwd`,
    "root:x:0:0::/root:/bin/sh\nf:x:0:0::/:/bin/sh\n",
  );
  const passwd = `${etc}/passwd`;
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([passwd]), outputs: [out] });
  try {
    // exchange-free swap: the old etc moved away, the prepared one renamed into its place
    await sh("mv etc etc.old && mv etc.new etc", dir.path);
    assert(
      await waitFor(() => out.changes().some((e) => added(e, "f")), 3000),
      `the swapped-in passwd's uid-0 user not reported live: ${shown(out)}`,
    );
    assertEquals(out.changes().find((e) => added(e, "f"))?.process?.name, "mv");
    await agent.idle();
    const pid = await sh("echo 'g:x:0:0::/:/bin/sh' >> etc/passwd", dir.path);
    assert(
      await waitFor(() => out.changes().some((e) => added(e, "g") && e.process?.pid === pid), 3000),
      `a write to the swapped-in passwd not reported live: ${shown(out)}`,
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("an ancestor swapped where the syscall hooks cannot see it (io_uring renameat): reported live, with no reconcile, naming the process, and the next rename is live too", async () => {
  await using dir = await tempDir();
  const bin = await buildProgram(dir.path, "uring_ops");
  await Deno.mkdir(`${dir.path}/a/etc`, { recursive: true });
  await Deno.mkdir(`${dir.path}/a.new/etc`, { recursive: true });
  const passwd = `${dir.path}/a/etc/passwd`;
  await Deno.writeTextFile(passwd, "root:x:0:0::/root:/bin/sh\n");
  await Deno.writeTextFile(
    `${dir.path}/a.new/etc/passwd`,
    "root:x:0:0::/root:/bin/sh\nh:x:0:0::/:/bin/sh\n",
  );
  const out = new CaptureOutput();
  // A reconcile an hour away: only the live path can find the swap within the test.
  const agent = await Agent.start({
    watches: watchesForPaths([passwd]),
    outputs: [out],
    reconcileIntervalMs: 3_600_000,
  });
  try {
    // io_uring path operations carry no file for the syscall hooks: fanotify's marks on the
    // directories above the watched file (here dir.path, which holds "a") see the renames.
    const before = metricValue(agent, "bpfink_ancestor_rechecks_total");
    const pids: number[] = [];
    for (const [from, to] of [["a", "a.old"], ["a.new", "a"]]) {
      const r = await run([bin, "rename", `${dir.path}/${from}`, `${dir.path}/${to}`]);
      assertEquals(r.code, 0, r.stderr);
      pids.push(r.pid);
    }
    assert(
      await waitFor(() => out.changes().some((e) => added(e, "h")), 3000),
      `the io_uring swap of an ancestor not reported live: ${shown(out)}`,
    );
    assert(metricValue(agent, "bpfink_ancestor_rechecks_total") > before);
    const by = out.changes().find((e) => added(e, "h"))?.process;
    assert(pids.includes(by?.pid ?? 0), `not credited to a renaming process: ${shown(out)}`);
    assertEquals(by?.name, "uring_ops");
    await agent.idle();
    const n = out.changes(passwd).length;
    // A bare name in the new `a` (the working directory): matched by (a's inode, "etc").
    await sh("cd a && mv etc etc2", dir.path);
    assert(
      await waitFor(
        () => out.changes(passwd).slice(n).some((e) => e.event.action === "deleted"),
        3000,
      ),
      `mv of the new a/etc not reported live: ${shown(out)}`,
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("an ancestor moved away, then a symlink renamed into its name, both through io_uring: each reported live", async () => {
  await using dir = await tempDir();
  const bin = await buildProgram(dir.path, "uring_ops");
  await Deno.mkdir(`${dir.path}/a/etc`, { recursive: true });
  await Deno.mkdir(`${dir.path}/evil/etc`, { recursive: true });
  const passwd = `${dir.path}/a/etc/passwd`;
  await Deno.writeTextFile(passwd, "root:x:0:0::/root:/bin/sh\n");
  await Deno.writeTextFile(
    `${dir.path}/evil/etc/passwd`,
    "root:x:0:0::/root:/bin/sh\nk:x:0:0::/:/bin/sh\n",
  );
  await Deno.symlink(`${dir.path}/evil`, `${dir.path}/link`);
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([passwd]),
    outputs: [out],
    reconcileIntervalMs: 3_600_000,
  });
  try {
    const uring = async (from: string, to: string) => {
      const r = await run([bin, "rename", `${dir.path}/${from}`, `${dir.path}/${to}`]);
      assertEquals(r.code, 0, r.stderr);
    };
    await uring("a", "a.old");
    assert(
      await waitFor(() => out.changes(passwd).some((e) => e.event.action === "deleted"), 3000),
      `the io_uring rename of an ancestor away not reported live: ${shown(out)}`,
    );
    await agent.idle();
    // A symlink is no directory: its rename into the empty name must still be read.
    await uring("link", "a");
    assert(
      await waitFor(() => out.changes().some((e) => added(e, "k")), 3000),
      `the symlink renamed into the ancestor's name not reported live: ${shown(out)}`,
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("other names renamed, made and removed in a directory above watched files (sed -i of a neighbour): no report and no look-up of the watched paths", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/a/etc`, { recursive: true });
  const passwd = `${dir.path}/a/etc/passwd`;
  await Deno.writeTextFile(passwd, "root:x:0:0::/root:/bin/sh\n");
  await Deno.writeTextFile(`${dir.path}/a/other.conf`, "x=1\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([passwd]),
    outputs: [out],
    reconcileIntervalMs: 3_600_000,
  });
  try {
    await agent.idle();
    const rechecks = metricValue(agent, "bpfink_ancestor_rechecks_total");
    const others = metricValue(agent, "bpfink_fanotify_ancestor_other_names_total");
    // `a` holds "etc", above the watched file: each sed -i makes a temporary file beside
    // other.conf and renames it over (not even read from 6.0: only directories' entries are);
    // a neighbouring directory made, renamed and removed.
    for (let i = 0; i < 20; i++) await sh(`sed -i s/=.*/=${i}/ a/other.conf`, dir.path);
    await sh("mkdir a/sub && mv a/sub a/sub2 && rmdir a/sub2", dir.path);
    await new Promise((r) => setTimeout(r, 300));
    await agent.idle();
    // Read and dropped by name.
    const seen = metricValue(agent, "bpfink_fanotify_ancestor_other_names_total") - others;
    assert(seen >= 2, `fanotify's events about other names in a/ not read: ${seen}`);
    assertEquals(metricValue(agent, "bpfink_ancestor_rechecks_total"), rechecks);
    assertEquals(out.changes(), [], "a change of another name in a/ was reported");
  } finally {
    await agent.stop();
  }
});
