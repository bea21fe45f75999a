/**
 * A pid handed out again: the process cache is keyed by pid and start time,
 * so a write by a new process that got an earlier writer's pid, seconds
 * later, names the new process's executable, never the old one's. The two
 * writers are copies of one program (test/inode/append_on_input.c) under one
 * name in two directories, so only the executable's path tells them apart.
 * The pid is forced with /proc/sys/kernel/ns_last_pid in the initial pid
 * namespace, the one whose pids the kernel events carry (a new namespace
 * would repeat only its own inner pids).
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, tempDir, waitFor } from "./helpers.ts";
import { buildProgram } from "./inode/fixtures.ts";

/** A writer started and waiting for its go (one byte on stdin). */
function startWriter(exe: string, path: string): Deno.ChildProcess {
  return new Deno.Command(exe, { args: [path], stdin: "piped", stdout: "null", stderr: "piped" })
    .spawn();
}

/** Lets `child` write, then waits for it to exit 0. */
async function letWrite(child: Deno.ChildProcess): Promise<void> {
  const w = child.stdin.getWriter();
  await w.write(new Uint8Array([1]));
  await w.close();
  const s = await child.output();
  assertEquals(s.code, 0, new TextDecoder().decode(s.stderr));
}

Deno.test("a write by a process that reuses an earlier writer's pid names the new process's executable", async () => {
  await using dir = await tempDir();
  const built = await buildProgram(dir.path, "append_on_input");
  for (const d of ["a", "b"]) {
    await Deno.mkdir(`${dir.path}/${d}`);
    await Deno.copyFile(built, `${dir.path}/${d}/writer`);
    await Deno.chmod(`${dir.path}/${d}/writer`, 0o755);
  }
  const [oldExe, newExe] = [`${dir.path}/a/writer`, `${dir.path}/b/writer`];
  const f = `${dir.path}/watched.conf`;
  await Deno.writeTextFile(f, "original\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  const by = (pid: number) =>
    out.changes(f).filter((e) => e.event.action === "modified" && e.process?.pid === pid);
  try {
    // The control: the first writer is named by its own executable.
    const first = startWriter(oldExe, f);
    const pid = first.pid;
    await letWrite(first);
    assert(await waitFor(() => by(pid).length > 0), `the first write was not reported`);
    assertEquals(by(pid).map((e) => e.process?.executable), [oldExe]);
    // Hand its pid to a copy elsewhere (other processes may take it first: retry).
    let second: Deno.ChildProcess | undefined;
    for (let i = 0; i < 200 && !second; i++) {
      Deno.writeTextFileSync("/proc/sys/kernel/ns_last_pid", String(pid - 1));
      const c = startWriter(newExe, f);
      if (c.pid === pid) second = c;
      else {
        await c.stdin.close(); // EOF: it exits without writing
        await c.output();
      }
    }
    assert(second, `pid ${pid} was never handed out again`);
    await letWrite(second);
    assert(await waitFor(() => by(pid).length > 1), `the second write was not reported`);
    assertEquals(by(pid).map((e) => e.process?.executable), [oldExe, newExe]);
  } finally {
    await agent.stop();
  }
});
