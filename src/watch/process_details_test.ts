import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import {
  cgroupPathOf,
  containerIdOf,
  processDetails,
  sameProcess,
  startTicksOf,
} from "./process_details.ts";

const ID = "4f1c9c7b3e2a1d0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f";

Deno.test("container ids are found in docker, containerd, CRI-O and podman cgroup paths", () => {
  assertEquals(containerIdOf(`/system.slice/docker-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/kubepods/besteffort/pod1/cri-containerd-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/machine.slice/libpod-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/kubepods.slice/crio-${ID}.scope`), ID);
  assertEquals(containerIdOf(`/docker/${ID}`), ID);
  assertEquals(containerIdOf("/user.slice/user-1000.slice/session-2.scope"), undefined);
});

Deno.test("the cgroup v2 line wins; v1 files fall back to their first line", () => {
  assertEquals(cgroupPathOf("0::/system.slice/sshd.service\n"), "/system.slice/sshd.service");
  assertEquals(cgroupPathOf("12:pids:/docker/abc\n11:cpu:/docker/abc\n"), "/docker/abc");
  assertEquals(cgroupPathOf(""), undefined);
});

Deno.test("the start time is field 22 of /proc/PID/stat, whatever the process name holds", () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)).join(" ");
  assertEquals(startTicksOf(`77 (a) b) (c) ${fields}`), 22n);
  assertEquals(startTicksOf("77 (x) R"), undefined);
});

Deno.test("details of this very process: its executable and cgroup", () => {
  const d = processDetails(Deno.pid, Deno.execPath().split("/").at(-1)!);
  assertEquals(d.executable, Deno.realPathSync(Deno.execPath()));
  assertEquals(typeof d.cgroup, "string");
});

/** Start time of live process `pid` in ns, as the kernel event carries it (clock ticks × 10 ms). */
function startNsOf(pid: number): bigint {
  return startTicksOf(Deno.readTextFileSync(`/proc/${pid}/stat`))! * 10_000_000n;
}

Deno.test("a reused pid never inherits the details of the process that had it before", async () => {
  await using dir = await tempDir();
  // Two programs with one basename, in two places: only the path tells them apart.
  for (const d of ["a", "b"]) {
    await Deno.mkdir(`${dir.path}/${d}`);
    await Deno.copyFile("/bin/sleep", `${dir.path}/${d}/sleep`);
    await Deno.chmod(`${dir.path}/${d}/sleep`, 0o755);
  }
  const spawn = (d: string) =>
    new Deno.Command(`${dir.path}/${d}/sleep`, { args: ["30"], stdout: "null" }).spawn();
  const first = spawn("a");
  const pid = first.pid;
  const firstStart = startNsOf(pid);
  assertEquals(processDetails(pid, "sleep", firstStart).executable, `${dir.path}/a/sleep`);
  first.kill("SIGKILL");
  await first.status;
  // /proc/PID/stat counts in 10 ms ticks: let the second start in a later one.
  await new Promise((r) => setTimeout(r, 30));
  // Hand the same pid to another process (other processes may take it first: retry).
  let second: Deno.ChildProcess | undefined;
  for (let i = 0; i < 200 && !second; i++) {
    Deno.writeTextFileSync("/proc/sys/kernel/ns_last_pid", String(pid - 1));
    const c = spawn("b");
    if (c.pid === pid) second = c;
    else {
      c.kill("SIGKILL");
      await c.status;
    }
  }
  assert(second, `pid ${pid} was never handed out again`);
  try {
    const secondStart = startNsOf(pid);
    assert(secondStart !== firstStart, "both processes started in the same clock tick");
    // The control: the first process's own (cached) details stay its own.
    assertEquals(processDetails(pid, "sleep", firstStart).executable, `${dir.path}/a/sleep`);
    assertEquals(processDetails(pid, "sleep", secondStart).executable, `${dir.path}/b/sleep`);
    // An event of a process with this pid never looked up in time (one that started a tick
    // before the first): /proc now shows another process.
    assertEquals(sameProcess(pid, firstStart), false);
    assertEquals(processDetails(pid, "", firstStart - 10_000_000n), {});
  } finally {
    second.kill("SIGKILL");
    await second.status;
  }
});

/** Waits until /proc shows `pid` running an executable at `path` (its exec is done). */
async function execDone(pid: number, path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/exe`) === path) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} never ran ${path}`);
}

Deno.test("a binary deleted after its start is no executable: the path /proc shows stays unverified", async () => {
  await using dir = await tempDir();
  const bin = `${dir.path}/useradd`;
  await Deno.copyFile("/usr/bin/sleep", bin);
  await Deno.chmod(bin, 0o755);
  const p = new Deno.Command(bin, { args: ["30"], stdout: "null" }).spawn();
  try {
    await execDone(p.pid, bin);
    // The control: the file at the path is the one it runs.
    assertEquals(processDetails(p.pid, "useradd", startNsOf(p.pid)).executable, bin);
    await Deno.remove(bin);
    // Looked up with no start time: another cache entry than the control's.
    const d = processDetails(p.pid, "useradd");
    assertEquals(d.executable, undefined);
    assertEquals(d.executableUnverified, `${bin} (deleted)`);
  } finally {
    p.kill("SIGKILL");
    await p.status;
  }
});

Deno.test("a bind mount over /usr/bin/sleep in another mount namespace does not pass for /usr/bin/sleep", async () => {
  await using dir = await tempDir();
  // Any program named sleep: what an unprivileged `unshare -Urm` can mount over a system path too.
  const own = `${dir.path}/sleep`;
  await Deno.copyFile("/usr/bin/sleep", own);
  await Deno.chmod(own, 0o755);
  const spawn = (args: string[]) =>
    new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "null" }).spawn();
  const real = spawn(["/usr/bin/sleep", "30"]);
  // The mount dies with its private namespace: nothing is left on the host.
  const fake = spawn([
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    `mount --bind '${own}' /usr/bin/sleep && exec /usr/bin/sleep 30`,
  ]);
  try {
    await execDone(real.pid, "/usr/bin/sleep");
    await execDone(fake.pid, "/usr/bin/sleep");
    assertEquals(
      processDetails(real.pid, "sleep", startNsOf(real.pid)).executable,
      "/usr/bin/sleep",
    );
    const d = processDetails(fake.pid, "sleep", startNsOf(fake.pid));
    assertEquals(d.executable, undefined, "another file shown under /usr/bin/sleep's path");
    assertEquals(d.executableUnverified, "/usr/bin/sleep");
  } finally {
    for (const p of [real, fake]) {
      p.kill("SIGKILL");
      await p.status;
    }
  }
});

Deno.test("a process that execve()d another program after the kernel saw it does not pass for that program", async () => {
  await using dir = await tempDir();
  // A shell named sleep (what the kernel saw write), which then becomes /usr/bin/sleep.
  const own = `${dir.path}/sleep`;
  await Deno.copyFile("/usr/bin/dash", own);
  await Deno.chmod(own, 0o755);
  const seen = BigInt(Deno.statSync(own).ino!);
  const p = new Deno.Command(own, {
    args: ["-c", "read _ ; exec /usr/bin/sleep 30"],
    stdin: "piped",
    stdout: "null",
  }).spawn();
  try {
    await execDone(p.pid, own);
    // The control: still the program the kernel saw.
    assertEquals(processDetails(p.pid, "sleep", startNsOf(p.pid), seen).executable, own);
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode("\n"));
    await w.close();
    await execDone(p.pid, "/usr/bin/sleep");
    const d = processDetails(p.pid, "sleep", 0n, seen);
    assertEquals([d.executable, d.executableUnverified, d.ranAnother], [
      undefined,
      undefined,
      true,
    ]);
    // Without the kernel's inode, /proc's program is all there is (fanotify's events).
    assertEquals(processDetails(p.pid, "sleep", 0n).executable, "/usr/bin/sleep");
  } finally {
    p.kill("SIGKILL");
    await p.status;
  }
});

Deno.test("a process named by the syscall hook and then by fanotify is looked up in /proc once: the second finds it even after it exited", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
  const ticks = startTicksOf(Deno.readTextFileSync(`/proc/${child.pid}/stat`))!;
  // The kernel event's start, in ns (within its clock tick), and the process's name.
  const d = processDetails(child.pid, "sleep", ticks * 10_000_000n + 3_456_789n);
  assert(d.executable?.endsWith("/sleep"), JSON.stringify(d));
  child.kill("SIGKILL");
  await child.status;
  // fanotify's event of the same process, read from /proc (ticks) with no name to check.
  assertEquals(processDetails(child.pid, "", ticks * 10_000_000n), d);
});
