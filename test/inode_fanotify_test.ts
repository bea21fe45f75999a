/**
 * Changes the syscall hooks of the tracepoint object cannot see, caught by
 * the fanotify marks beside it (src/watch/fanotify_source.ts), live (the
 * agent runs with no reconcile) and with the process's pid:
 * - chmod 4777 and truncate(2) through a symlink, through a second hard link
 *   outside the watched directory, and through /proc/self/fd/N;
 * - an io_uring write with IOSQE_CQE_SKIP_SUCCESS (no completion, so no
 *   io_uring_complete tracepoint) and an io_uring renameat over a watched
 *   file (test/inode/uring_ops.c, raw syscalls);
 * - `chattr +i` (no fsnotify event exists for it: the BPF object hooks the
 *   ioctl instead).
 * Controls: a chmod through the watched path itself is reported by the BPF
 * object (reason "live"); the same aliases with fanotify off are not
 * reported live; and a plain write is reported exactly once, attributed by
 * the BPF object, with no second event from fanotify.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { buildProgram, missedLive } from "./inode/fixtures.ts";

/** The alias cases: [label, python3 statements (path in `p`), action]. */
const ALIASES: [string, string, string, string][] = [
  ["chmod through a symlink", "os.chmod(p, 0o4777)", "link", "attributes_changed"],
  ["truncate(2) through a symlink", "os.truncate(p, 1)", "link", "modified"],
  ["chmod through a hard link outside", "os.chmod(p, 0o4777)", "hard", "attributes_changed"],
  ["truncate(2) through a hard link outside", "os.truncate(p, 1)", "hard", "modified"],
  [
    "chmod through /proc/self/fd/N",
    "fd = os.open(p, os.O_RDONLY); os.chmod(f'/proc/self/fd/{fd}', 0o4777)",
    "direct",
    "attributes_changed",
  ],
  [
    "truncate(2) through /proc/self/fd/N",
    "fd = os.open(p, os.O_RDONLY); os.truncate(f'/proc/self/fd/{fd}', 1)",
    "direct",
    "modified",
  ],
];

/** Makes w/aN.conf for each alias case, with its symlink or hard link outside w/. */
async function aliasFiles(dir: string): Promise<string[]> {
  await Deno.mkdir(`${dir}/w`);
  const files: string[] = [];
  for (const [i, [, , via]] of ALIASES.entries()) {
    const f = `${dir}/w/a${i}.conf`;
    await Deno.writeTextFile(f, "original content\n");
    await Deno.chmod(f, 0o644);
    if (via === "link") await Deno.symlink(f, `${dir}/link${i}`);
    if (via === "hard") await Deno.link(f, `${dir}/hard${i}`);
    files.push(f);
  }
  return files;
}

/** Runs alias case `i` on `files[i]`; returns the pid that made the change. */
async function runAlias(dir: string, files: string[], i: number): Promise<number> {
  const [, code, via] = ALIASES[i];
  const p = via === "link" ? `${dir}/link${i}` : via === "hard" ? `${dir}/hard${i}` : files[i];
  const r = await run(["python3", "-c", `import os, sys\np = sys.argv[1]\n${code}`, p]);
  assert(r.code === 0, `${ALIASES[i][0]}: ${r.stderr}`);
  return r.pid;
}

Deno.test("chmod and truncate through a symlink, a hard link outside and /proc/self/fd/N are reported live with their pid", async () => {
  await using dir = await tempDir();
  const files = await aliasFiles(dir.path);
  const control = `${dir.path}/w/control.conf`;
  await Deno.writeTextFile(control, "control\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([`${dir.path}/w`], true),
    outputs: [out],
  });
  const problems: string[] = [];
  try {
    const c = await run(["chmod", "4777", control]);
    const missed = await missedLive(out, control, c.pid, "attributes_changed");
    if (missed !== undefined) problems.push(`control (chmod of the path itself): ${missed}`);
    else {
      const e = out.changes(control).find((e) => e.process?.pid === c.pid)!;
      assertEquals(e.event.reason, "live", "the control is the BPF object's, fully attributed");
    }
    for (const i of ALIASES.keys()) {
      const pid = await runAlias(dir.path, files, i);
      const got = await missedLive(out, files[i], pid, ALIASES[i][3]);
      if (got !== undefined) problems.push(`${ALIASES[i][0]}: ${got}`);
    }
  } finally {
    await agent.stop();
  }
  assert(problems.length === 0, `not reported live:\n  ${problems.join("\n  ")}`);
});

Deno.test("control: with fanotify off, the same aliases wait for the reconcile (what fanotify adds)", async () => {
  await using dir = await tempDir();
  const files = await aliasFiles(dir.path);
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([`${dir.path}/w`], true),
    outputs: [out],
    fanotify: false,
  });
  const seen: string[] = [];
  try {
    for (const i of ALIASES.keys()) {
      const pid = await runAlias(dir.path, files, i);
      // As long as the other test waits for the same case (missedLive: 3 s).
      if (await missedLive(out, files[i], pid, ALIASES[i][3]) === undefined) {
        seen.push(ALIASES[i][0]);
      }
    }
  } finally {
    await agent.stop();
  }
  // If the syscall hooks learn these, this control no longer shows what fanotify adds: update it.
  assertEquals(seen, [], "the BPF object alone reported these live");
});

Deno.test("io_uring: a write with IOSQE_CQE_SKIP_SUCCESS and a renameat over a watched file are reported live with their pid", async () => {
  await using dir = await tempDir();
  const bin = await buildProgram(dir.path, "uring_ops");
  await Deno.mkdir(`${dir.path}/w`);
  await Deno.mkdir(`${dir.path}/solo`);
  const skipped = `${dir.path}/w/skipped.conf`;
  const target = `${dir.path}/w/target.conf`;
  const solo = `${dir.path}/solo/solo.conf`;
  for (const f of [skipped, target, solo]) await Deno.writeTextFile(f, "original content\n");
  // The replacements are made before the agent starts: only uring_ops acts on watched paths after.
  const made = [`${dir.path}/new1`, `${dir.path}/new2`];
  for (const f of made) await Deno.writeTextFile(f, "replacement\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: [...watchesForPaths([`${dir.path}/w`], true), ...watchesForPaths([solo])],
    outputs: [out],
  });
  const problems: string[] = [];
  try {
    let r = await run([bin, "write", skipped]);
    assert(r.code === 0, r.stderr);
    let got = await missedLive(out, skipped, r.pid);
    if (got !== undefined) problems.push(`skipped-CQE write: ${got}`);
    // Over a file of a watched directory, and over a file watched alone (its directory is not).
    for (const [over, from] of [[target, made[0]], [solo, made[1]]]) {
      r = await run([bin, "rename", from, over]);
      assert(r.code === 0, r.stderr);
      got = await missedLive(out, over, r.pid, "replaced");
      if (got !== undefined) problems.push(`renameat over ${over}: ${got}`);
    }
  } finally {
    await agent.stop();
  }
  assert(problems.length === 0, `not reported live:\n  ${problems.join("\n  ")}`);
});

Deno.test("chattr +i on a watched file is reported live with chattr's pid", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/imm.conf`;
  await Deno.writeTextFile(f, "content\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  let got: string | undefined;
  try {
    const r = await run(["chattr", "+i", f]);
    assert(r.code === 0, r.stderr);
    got = await missedLive(out, f, r.pid, "attributes_changed");
  } finally {
    await agent.stop();
    await run(["chattr", "-i", f]);
  }
  assert(got === undefined, `chattr +i not reported live: ${got}`);
});

Deno.test("a plain write is reported once, attributed by the BPF object: fanotify adds no second event", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/plain.conf`;
  await Deno.writeTextFile(f, "content\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    for (let round = 0; round < 3; round++) {
      const before = out.changes(f).length;
      const r = await run(["sh", "-c", `printf 'line ${round}\\n' >> "$1"`, "sh", f]);
      assert(r.code === 0, r.stderr);
      assert(await waitFor(() => out.changes(f).length > before), `round ${round}: nothing`);
      // Past fanotify's grace (100 ms) with room to spare: anything it would add is out by now.
      await new Promise((res) => setTimeout(res, 600));
      await agent.idle();
      const got = out.changes(f).slice(before);
      assertEquals(
        got.map((e) => [e.event.action, e.process?.pid, e.event.reason]),
        [["modified", r.pid, "live"]],
        `round ${round}`,
      );
    }
  } finally {
    await agent.stop();
  }
});

Deno.test("without CAP_SYS_ADMIN (as the systemd unit runs it) a chmod through a symlink is still reported live, without a process, saying why", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/w`);
  for (let k = 0; k < 3; k++) {
    await Deno.writeTextFile(`${dir.path}/w/r${k}.conf`, "original content\n");
    await Deno.chmod(`${dir.path}/w/r${k}.conf`, 0o644);
    await Deno.symlink(`${dir.path}/w/r${k}.conf`, `${dir.path}/rlink${k}`);
  }
  const script = `${dir.path}/agent.ts`;
  const agentUrl = new URL("../src/agent/agent.ts", import.meta.url).href;
  const helpersUrl = new URL("./helpers.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { Agent, watchesForPaths } from "${agentUrl}";
import { CaptureOutput, run, waitFor } from "${helpersUrl}";
const [dir] = Deno.args;
const out = new CaptureOutput();
const agent = await Agent.start({ watches: watchesForPaths([dir + "/w"], true), outputs: [out] });
try {
  // A mount anywhere (another test's) re-resolves every watched path, and a re-read it makes
  // may find the change first: then the chmod is made again on another file, up to 3 times.
  for (let k = 0; k < 3; k++) {
    const file = dir + "/w/r" + k + ".conf";
    const r = await run(["python3", "-c", "import os, sys; os.chmod(sys.argv[1], 0o4777)", dir + "/rlink" + k]);
    if (r.code !== 0) throw new Error(r.stderr);
    await waitFor(() => out.changes(file).length > 0, 3000);
    const got = out.changes(file).map((e) => [e.event.action, e.event.reason, e.process?.pid ?? null]);
    console.log(JSON.stringify(got));
    if (!String(got[0]?.[1]).includes("a mount changed what the path resolves to")) break;
  }
} finally {
  await agent.stop();
}
`,
  );
  const config = new URL("../deno.json", import.meta.url).pathname;
  const out = await new Deno.Command("setpriv", {
    args: [
      "--bounding-set=-sys_admin",
      Deno.execPath(),
      "run",
      "-A",
      "--config",
      config,
      script,
      dir.path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const tries = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  // Each try is reported, live, with no process; the last one by fanotify.
  for (const got of tries) {
    assertEquals(got.length, 1, JSON.stringify(tries));
    const [action, reason, pid] = got[0];
    assertEquals([action, pid], ["attributes_changed", null]);
    assert(reason.startsWith("live: no process named"), reason);
  }
  // Reported by fanotify, or, when the syscall's own event came first (a loaded machine), by the
  // re-read that its path, which the kernel could not place, started: each says so.
  const reason = tries.at(-1)[0][1];
  assert(
    reason.startsWith("live: no process named, seen by fanotify only") ||
      reason.startsWith("live: no process named, the kernel could not place the path"),
    reason,
  );
});
