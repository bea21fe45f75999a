/**
 * Races against a syscall held in the kernel: what the file descriptor or the
 * path argument names changes after the kernel has resolved the file, and the
 * change must still be reported on the file the kernel changed.
 * - test/inode/fd_race.c holds a splice (blocked on an empty pipe) or a write
 *   (its buffer on a userfaultfd page) into watched W, then dup2()s watched X
 *   or unwatched U onto W's fd number, or closes it: W is reported, X never.
 * - test/inode/path_stall.c holds truncate, chmod or rename-over on a watched
 *   path whose NUL sits on a userfaultfd page, after the kernel copied the
 *   rest, and rewrites the copied bytes to name another file.
 * - After such a hidden rename-over, a benign process makes a file that gets
 *   the old file's inode number (ext4 hands out the lowest free one) and
 *   writes it: its BPF event is for a watched inode number, but it never takes
 *   the blame for the replacement.
 * Each beside its control: the same program holding the same syscall without
 * the swap. With fanotify (the default) each race is reported live, naming
 * its process; without it, the tracepoint object misses them live and the
 * reconcile finds them.
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { buildProgram, missedLive, mountExt4 } from "./inode/fixtures.ts";

/**
 * Where each race must be reported: with fanotify, live and by its process;
 * without it (BPFINK_FANOTIFY=0, or a kernel without it), the tracepoint
 * object looks the fd or the path up again at syscall exit, so a race may be
 * missed live, and then the reconcile must find it. Controls are live always.
 */
async function checkReported(
  agent: Agent,
  out: CaptureOutput,
  fanotify: boolean,
  ran: { label: string; path: string; pid: number; action: string; control: boolean }[],
): Promise<string[]> {
  const problems: string[] = [];
  const late: typeof ran = [];
  for (const r of ran) {
    if (!fanotify && !r.control) {
      late.push(r);
      continue;
    }
    const got = await missedLive(out, r.path, r.pid, r.action);
    if (got !== undefined) problems.push(`${r.label}: not reported live as ${r.action}: ${got}`);
  }
  if (late.length === 0) return problems;
  await new Promise((res) => setTimeout(res, 500)); // the live path's last word
  const liveBy = (r: (typeof ran)[0]) =>
    out.changes(r.path).some((e) => e.event.action === r.action && e.process?.pid === r.pid);
  const missed = late.filter((r) => !liveBy(r));
  await agent.reconcile();
  for (const r of missed) {
    // Live without a process is fine too (a new file that got the old inode number
    // made the live path look), a live event naming another process never is.
    const seen = out.changes(r.path).filter((e) => e.event.action === r.action);
    const wrong = seen.filter((e) => e.process && e.process.pid !== r.pid);
    if (wrong.length) problems.push(`${r.label}: blamed on ${wrong[0].process?.name}`);
    else if (!seen.length) problems.push(`${r.label}: missed live and not found by the reconcile`);
  }
  return problems;
}

for (const fanotify of [true, false]) {
  const how = fanotify ? "live with fanotify" : "by the reconcile without fanotify";
  Deno.test(`a write held in the kernel while its fd is dup2()ed over or closed is reported on its file (${how}), never on the other`, async () => {
    await using dir = await tempDir();
    const bin = await buildProgram(dir.path, "fd_race");
    const x = `${dir.path}/x.conf`;
    await Deno.mkdir(`${dir.path}/unwatched`);
    const u = `${dir.path}/unwatched/u.conf`;
    const cases: { op: string; mode: string; other: string; w: string }[] = [];
    for (const op of ["splice", "write"]) {
      for (const [mode, other] of [["none", u], ["dup2", x], ["dup2", u], ["close", u]]) {
        const tag = mode === "dup2" ? `dup2-${other === x ? "x" : "u"}` : mode;
        cases.push({ op, mode, other, w: `${dir.path}/${op}-${tag}.conf` });
      }
    }
    for (const f of [x, u, ...cases.map((c) => c.w)]) await Deno.writeTextFile(f, "original\n");
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths([x, ...cases.map((c) => c.w)]),
      outputs: [out],
      fanotify,
    });
    let problems: string[];
    try {
      const ran = [];
      for (const c of cases) {
        const r = await run([bin, c.op, c.mode, c.w, c.other]);
        assert(r.code === 0, `${c.op} ${c.mode}: ${r.stderr}`);
        const label = c.w.slice(dir.path.length + 1);
        ran.push({ label, path: c.w, pid: r.pid, action: "modified", control: c.mode === "none" });
      }
      problems = await checkReported(agent, out, fanotify, ran);
      const onX = out.changes(x).map((e) => [e.event.action, e.event.reason, e.process?.name]);
      if (onX.length) problems.push(`x.conf, never written, was reported: ${JSON.stringify(onX)}`);
    } finally {
      await agent.stop();
    }
    assert(problems.length === 0, problems.join("\n  "));
  });

  Deno.test(`truncate, chmod and rename-over on a path swapped after the kernel copied it are reported on the file changed (${how})`, async () => {
    await using dir = await tempDir();
    const bin = await buildProgram(dir.path, "path_stall");
    const ops = { truncate: "modified", chmod: "attributes_changed", rename: "replaced" };
    const cases: { op: string; action: string; swap: boolean; path: string }[] = [];
    for (const [op, action] of Object.entries(ops)) {
      for (const swap of [false, true]) {
        // One length for every name, so the swapped path is as long as the real one.
        cases.push({ op, action, swap, path: `${dir.path}/${op}-${swap ? "swap" : "ctrl"}.conf` });
      }
    }
    for (const c of cases) await Deno.writeTextFile(c.path, "original\n");
    // The files renamed over the watched ones, made before the agent starts.
    await Deno.mkdir(`${dir.path}/src`);
    const srcOf = (swap: boolean) => `${dir.path}/src/new-${swap}`;
    for (const swap of [false, true]) await Deno.writeTextFile(srcOf(swap), "replacement\n");
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths(cases.map((c) => c.path)),
      outputs: [out],
      fanotify,
    });
    let problems: string[];
    try {
      const ran = [];
      for (const c of cases) {
        // The swapped path names a file that is not watched, in the same directory.
        const other = c.path.replace(/\/[^/]*$/, (b) => b.replace(/[a-z]/, "z"));
        const r = await run([bin, c.op, c.path, c.swap ? other : "-", srcOf(c.swap)]);
        assert(r.code === 0, `${c.op}: ${r.stderr}`);
        const label = `${c.op} ${c.swap ? "with the path swapped" : "(control)"}`;
        ran.push({ label, path: c.path, pid: r.pid, action: c.action, control: !c.swap });
      }
      problems = await checkReported(agent, out, fanotify, ran);
    } finally {
      await agent.stop();
    }
    assert(problems.length === 0, problems.join("\n  "));
  });
}

Deno.test("a file that gets the inode number of a watched file replaced unseen is never blamed for the replacement", async () => {
  await using dir = await tempDir();
  const bin = await buildProgram(dir.path, "path_stall");
  const undo: string[][] = [];
  const problems: string[] = [];
  try {
    const fs = await mountExt4(dir.path, undo);
    // With fanotify the renamer is named; without, the replacement is reported with no process.
    for (const fanotify of [true, false]) {
      const names = ["ctrl", "swap"].map((how) => ({
        how,
        w: `${fs}/${how}-${fanotify}.conf`,
        src: `${fs}/new-${how}-${fanotify}`,
        benign: `${fs}/benign-${how}-${fanotify}`,
      }));
      for (const n of names) {
        await Deno.writeTextFile(n.w, "original\n");
        await Deno.writeTextFile(n.src, "replacement\n");
      }
      const out = new CaptureOutput();
      const agent = await Agent.start({
        watches: watchesForPaths(names.map((n) => n.w)),
        outputs: [out],
        fanotify,
      });
      try {
        for (const n of names) {
          const label = `${n.how}, fanotify ${fanotify ? "on" : "off"}`;
          const oldIno = (await Deno.stat(n.w)).ino;
          const swap = n.how === "swap" ? n.w.replace(/\/([a-z])([^/]*)$/, "/z$2") : "-";
          const r = await run([bin, "rename", n.w, swap, n.src]);
          assert(r.code === 0, `${label}: ${r.stderr}`);
          const b = await run([
            "sh",
            "-c",
            'echo a > "$1" && echo b >> "$1" && sleep 0.2',
            "sh",
            n.benign,
          ]);
          assert(b.code === 0, b.stderr);
          assert(
            (await Deno.stat(n.benign)).ino === oldIno,
            `${label}: the inode number was not reused`,
          );
          const named = fanotify || n.how === "ctrl";
          if (named) {
            const got = await missedLive(out, n.w, r.pid, "replaced");
            if (got !== undefined) problems.push(`${label}: not reported live as replaced: ${got}`);
          } else {
            const seen = await waitFor(() =>
              out.changes(n.w).some((e) => e.event.action === "replaced" && !e.process)
            );
            if (!seen) problems.push(`${label}: no replaced without a process`);
          }
          await new Promise((res) => setTimeout(res, 300)); // anything late about the benign write
          const blamed = out.changes(n.w).filter((e) => e.process?.pid === b.pid);
          if (blamed.length) {
            problems.push(
              `${label}: the benign writer was blamed: ${
                JSON.stringify(blamed.map((e) => [e.event.action, e.event.reason]))
              }`,
            );
          }
        }
      } finally {
        await agent.stop();
      }
    }
  } finally {
    for (const cmd of undo) await run(cmd);
  }
  assert(problems.length === 0, problems.join("\n  "));
});
