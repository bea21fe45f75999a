/**
 * Exact matching under attack: an unprivileged user renaming files called
 * `passwd` in a tight loop must neither cause events, re-reads or
 * attributions for the watched passwd, nor cost the agent more than a
 * fraction of a core; root's real change (useradd) is reported with useradd
 * as the process.
 */
import { assert, assertEquals } from "../assert.ts";
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "../helpers.ts";

/** User + system CPU seconds of this process (the agent runs in it). */
/**
 * CPU seconds of this thread: the agent's JavaScript runs on it. Not the process's: with
 * `deno test --parallel` every test file runs in one process (a worker thread each), and
 * the process's CPU then counts the other files' agents too.
 */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/thread-self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux x86_64)
}

/** Starts an unprivileged (nobody) python loop renaming `passwd` files in `dir` until killed. */
function flooder(dir: string, mode: "absolute" | "relative" | "dotdot"): Deno.ChildProcess {
  const code = `
import os, sys
d = sys.argv[1]; mode = sys.argv[2]
os.chdir(d)
os.makedirs("sub", exist_ok=True)
open("passwd", "w").write("flood\\n")
a = {"absolute": d + "/passwd", "relative": "passwd", "dotdot": "sub/../passwd"}[mode]
b = {"absolute": d + "/passwd.x", "relative": "passwd.x", "dotdot": "sub/../passwd.x"}[mode]
while True:
    os.rename(a, b)
    os.rename(b, a)
`;
  return new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "/usr/bin/python3",
      "-c",
      code,
      dir,
      mode,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function setupEtc(root: string): Promise<string> {
  await Deno.mkdir(`${root}/etc`);
  for (const f of ["passwd", "shadow", "group", "gshadow"]) {
    await Deno.copyFile(`/etc/${f}`, `${root}/etc/${f}`);
  }
  return `${root}/etc/passwd`;
}

for (const mode of ["absolute", "relative", "dotdot"] as const) {
  Deno.test(`exact matching: a ${mode}-path passwd flood by nobody is not attributed, and useradd is`, async () => {
    await using root = await tempDir();
    await using flood = await tempDir("bpfink-flood-");
    await Deno.chmod(flood.path, 0o777);
    const passwd = await setupEtc(root.path);
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths([passwd]),
      outputs: [out],
    });
    const child = flooder(flood.path, mode);
    try {
      // Let the flood run, and measure the agent's CPU while it does.
      await new Promise((r) => setTimeout(r, 1000));
      const c0 = cpuSeconds();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 4000));
      const cpu = (cpuSeconds() - c0) / ((performance.now() - t0) / 1000);
      assertEquals(out.changes().length, 0, "the flood alone caused events");
      const u = await run(["useradd", "--prefix", root.path, "-u", "4242", "bpfinkflood"]);
      assertEquals(u.code, 0, u.stderr);
      assert(
        await waitFor(
          () =>
            out.changes(passwd).some((e) =>
              e.event.action === "user_added" && e.process?.name === "useradd"
            ),
          5000,
        ),
        JSON.stringify(out.changes().map((e) => [e.event.action, e.process?.name])),
      );
      await agent.idle();
      for (const e of out.changes()) {
        assert(e.process?.name !== "python3", `attributed to the flooder: ${e.event.action}`);
      }
      const st = await run(["cat", `/proc/${child.pid}/status`]);
      assert(st.stdout.includes("State:"), "the flooder must still be running");
      console.log(`agent CPU during the ${mode} flood: ${(cpu * 100).toFixed(1)}% of a core`);
      assert(cpu < 0.2, `agent used ${(cpu * 100).toFixed(1)}% of a core during the flood`);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stderr.cancel();
      await agent.stop();
    }
  });
}

for (const fanotify of [false, true]) {
  const what = fanotify
    ? "is named by fanotify's inode mark (the old passwd's link count), saying so"
    : "is reported without a process, saying why (fanotify off)";
  Deno.test(`exact matching: a change through a path the kernel cannot place ${what}`, async () => {
    await using root = await tempDir();
    const passwd = await setupEtc(root.path);
    await Deno.mkdir(`${root.path}/etc/sub`);
    const out = new CaptureOutput();
    const agent = await Agent.start({
      watches: watchesForPaths([passwd]),
      outputs: [out],
      fanotify,
    });
    try {
      const r = await run([
        "sh",
        "-c",
        'cp "$1/passwd" "$1/new" && echo "evil:x:0:0::/:/bin/sh" >> "$1/new" && exec mv "$1/sub/../new" "$1/sub/../passwd"',
        "sh",
        `${root.path}/etc`,
      ]);
      assertEquals(r.code, 0, r.stderr);
      assert(
        await waitFor(() => out.changes(passwd).some((e) => e.event.action === "user_added"), 5000),
        JSON.stringify(out.changes()),
      );
      const e = out.changes(passwd).find((e) => e.event.dataset === "bpfink.file")!;
      if (fanotify) {
        // exec: mv runs as the shell's pid, the one run() reports.
        // The pid is the kernel's; the name is read from /proc when the event is read, and a
        // loaded machine (CI) can let mv exit first: then no name, never another one.
        const why = JSON.stringify([e.process, e.event.reason, e.bpfink?.other_writers]);
        assertEquals(e.process?.pid, r.pid, why);
        assert(["mv", ""].includes(e.process?.name ?? ""), why);
        assert(e.event.reason?.includes("fanotify"), e.event.reason);
      } else {
        assertEquals(e.process, undefined);
        assert(e.event.reason?.includes("could not place"), e.event.reason);
      }
    } finally {
      await agent.stop();
    }
  });
}
