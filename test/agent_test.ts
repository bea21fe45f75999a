/**
 * End-to-end tests of the agent on this machine's kernel: real BPF, real
 * files, real writer processes. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { createHash } from "node:crypto";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { bpfObjectsLeft, bpfObjectsOf, CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { sha256File } from "../src/watch/file_state.ts";

async function withAgent(
  paths: string[],
  fn: (agent: Agent, out: CaptureOutput) => Promise<void>,
  opts: { settleMs?: number; fanotify?: boolean } = {},
): Promise<void> {
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths(paths),
    outputs: [out],
    settleMs: opts.settleMs,
    fanotify: opts.fanotify,
  });
  try {
    await fn(agent, out);
  } finally {
    await agent.stop();
  }
}

Deno.test("a writer's close ends the settle: with a 60 s settle, a file written twice a second apart is read at its close, once and whole", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/shadow-like`;
  await Deno.writeTextFile(watched, "a\n");
  await withAgent([watched], async (agent, out) => {
    const held = await run([
      "sh",
      "-c",
      'exec 3>>"$1"; printf "b1\\n" >&3; sleep 1; printf "b2\\n" >&3; exec 3>&-; sleep 0.5',
      "sh",
      watched,
    ]);
    assertEquals(held.code, 0);
    const whole = (await sha256File(watched)).sha256;
    assert(
      await waitFor(() => out.changes().length > 0, 10_000),
      "the closed file waited out the 60 s settle",
    );
    await agent.idle();
    const changes = out.changes();
    assertEquals(changes.length, 1, JSON.stringify(changes));
    assertEquals(changes[0].file?.hash?.sha256, whole, "read before the writer closed");
    assertEquals(changes[0].process?.pid, held.pid);
  }, { settleMs: 60_000 });
});

Deno.test("a write to a watched file gives one modified event naming the writer; an unwatched write gives none", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/passwd`;
  const other = `${dir.path}/other`;
  await Deno.writeTextFile(watched, "root:x:0:0::/root:/bin/sh\n");
  await Deno.writeTextFile(other, "x\n");
  await withAgent([watched], async (agent, out) => {
    const start = out.events[0];
    assertEquals(start.event.action, "started");
    assertEquals(start.bpfink?.watched_files, 1);
    const w = await run([
      "sh",
      "-c",
      'printf "alice:x:0:0::/home/alice:/bin/sh\\n" >> "$1"',
      "sh",
      watched,
    ]);
    assertEquals(w.code, 0);
    const u = await run(["sh", "-c", 'printf "noise\\n" >> "$1"', "sh", other]);
    assertEquals(u.code, 0);
    assert(await waitFor(() => out.changes().length >= 1), "no event for the watched write");
    await new Promise((r) => setTimeout(r, 200));
    await agent.idle();
    const changes = out.changes().filter((e) => e.event.dataset === "bpfink.file");
    assertEquals(changes.length, 1, JSON.stringify(changes));
    // The file is called passwd, so the users consumer says what the line means, too.
    // ECS places: the account acted upon in user.target, the actor in user.
    const added = out.changes().find((e) => e.event.action === "user_added");
    assertEquals(added?.user?.target, { name: "alice", id: "0" });
    assertEquals([added?.user?.id, added?.user?.name], ["0", "root"]);
    assertEquals(added?.related?.user, ["root", "0", "alice"]);
    assertEquals([added?.event.severity, added?.bpfink?.severity], [99, "critical"]);
    const e = changes[0];
    assertEquals(e.event.action, "modified");
    assertEquals(e.file?.path, watched);
    assertEquals(e.process?.pid, w.pid);
    assertEquals(e.process?.name, "sh");
    const sh = Deno.realPathSync("/bin/sh");
    // A full path while the writer still ran when the event arrived; else the kernel's
    // file name, under bpfink.process with the reason (ECS wants a full path there).
    const extra = e.bpfink?.process as Record<string, unknown> | undefined;
    assert(
      e.process?.executable === sh ||
        (e.process?.executable === undefined &&
          extra?.executable_name === sh.split("/").at(-1) && !!extra?.executable_unknown),
      JSON.stringify([e.process, extra]),
    );
    assertEquals(typeof (extra?.cgroup as { id?: unknown })?.id, "string");
    assertEquals([e.user?.id, e.user?.name], ["0", "root"]);
    const st = await Deno.stat(watched);
    assertEquals(e.file?.name, "passwd");
    assertEquals(e.file?.directory, dir.path);
    assertEquals(e.file?.type, "file");
    assertEquals([e.file?.uid, e.file?.gid, e.file?.owner, e.file?.group], [
      "0",
      "0",
      "root",
      "root",
    ]);
    assertEquals(e.file?.mtime, st.mtime?.toISOString());
    assertEquals(e.ecs?.version, "9.4.0");
    assertEquals([e.host?.os?.type, e.agent?.type, e.event.outcome], [
      "linux",
      "bpfink",
      "success",
    ]);
    assertEquals(e.host?.id, Deno.readTextFileSync("/etc/machine-id").trim());
    assertEquals(start.event.category, ["host"]);
    assertEquals(start.agent?.ephemeral_id, e.agent?.ephemeral_id);
    assertEquals(e.file?.hash?.sha256, (await sha256File(watched)).sha256);
  });
});

Deno.test("a writer that execve()s another program right after its write is not reported as that program", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/app.conf`;
  await Deno.writeTextFile(watched, "a\n");
  // A shell named sleep writes, then becomes /usr/bin/sleep: same pid, same start time, and
  // the same executable name, so only the executable's inode tells the two apart.
  const own = `${dir.path}/sleep`;
  await Deno.copyFile("/usr/bin/dash", own);
  await Deno.chmod(own, 0o755);
  await withAgent([watched], async (agent, out) => {
    const w = new Deno.Command(own, {
      args: ["-c", 'printf "b\\n" >> "$1"; exec /usr/bin/sleep 3', "sleep", watched],
    }).spawn();
    try {
      assert(await waitFor(() => out.changes().length > 0, 10_000), "no event for the write");
      await agent.idle();
      const [e] = out.changes();
      assertEquals([e.event.action, e.process?.pid], ["modified", w.pid]);
      const extra = e.bpfink?.process as Record<string, unknown> | undefined;
      // Looked up before the exec: the writer's own path; after it: no path, and why.
      assert(
        e.process?.executable === own ||
          (e.process?.executable === undefined && extra?.executable_name === "sleep" &&
            String(extra?.executable_unknown).includes("execve")),
        JSON.stringify([e.process, extra]),
      );
    } finally {
      w.kill("SIGKILL");
      await w.status;
    }
  });
});

Deno.test("a rename over a watched file is reported as replaced and re-arms the watch; unlink is reported", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/shadow`;
  await Deno.writeTextFile(watched, "one\n");
  await withAgent([watched], async (agent, out) => {
    // sed -i writes a temp file and renames it over the original.
    assertEquals((await run(["sed", "-i", "s/one/two/", watched])).code, 0);
    assert(
      await waitFor(() => out.changes().some((e) => e.event.action === "replaced")),
      "rename-over missed",
    );
    await agent.idle();
    const replaced = out.changes().find((e) => e.event.action === "replaced")!;
    assertEquals(replaced.process?.name, "sed");
    const newInode = String((await Deno.stat(watched)).ino);
    assertEquals(replaced.file?.inode, newInode);

    const w = await run(["sh", "-c", 'printf "three\\n" >> "$1"', "sh", watched]);
    assert(
      await waitFor(() => out.changes().some((e) => e.event.action === "modified")),
      "write after rename-over missed",
    );
    const modified = out.changes().find((e) => e.event.action === "modified")!;
    assertEquals(modified.process?.pid, w.pid);
    assertEquals(modified.file?.inode, newInode);

    const rm = await run(["rm", watched]);
    assert(
      await waitFor(() => out.changes().some((e) => e.event.action === "deleted")),
      "unlink missed",
    );
    const deleted = out.changes().find((e) => e.event.action === "deleted")!;
    assertEquals(deleted.process?.pid, rm.pid);
    assertEquals(deleted.process?.name, "rm");
  });
});

Deno.test("100,000 back-to-back writes: the writer is never blocked and the last report matches the file", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/flood`;
  await Deno.writeTextFile(watched, "");
  await withAgent([watched], async (agent, out) => {
    // A child does 100k separate write() calls; each changes the content.
    const py = "import os,sys\nfd=os.open(sys.argv[1], os.O_WRONLY|os.O_APPEND)\n" +
      "for i in range(100000): os.write(fd, b'%d\\n' % i)\nos.close(fd)\n";
    const w = await run(["python3", "-c", py, watched]);
    assertEquals(w.code, 0, w.stderr);
    const finalHash = createHash("sha256").update(await Deno.readFile(watched)).digest("hex");
    const settled = await waitFor(() => {
      const last = out.changes().at(-1);
      return last?.file?.hash?.sha256 === finalHash;
    }, 10_000);
    await agent.idle();
    const counters = agent.kernel.counters();
    assert(
      settled,
      `last report ${out.changes().at(-1)?.file?.hash?.sha256} != final ${finalHash}`,
    );
    // In-kernel coalescing folds the flood into far fewer events than writes.
    assert(counters.events < 100_000n, `events ${counters.events}`);
    assert(counters.coalesced > 0n, "nothing was coalesced");
    if (counters.drops > 0n) assert(agent.rescans > 0, "drops without a rescan");
  });
});

for (const sig of ["SIGINT", "SIGHUP"] as const) {
  Deno.test(`${sig} detaches every link, removes the temporary database and exits 0`, async () => {
    await using dir = await tempDir();
    const watched = `${dir.path}/f`;
    await Deno.writeTextFile(watched, "x\n");
    // Its own TMPDIR: the temporary database it makes there must be gone after.
    const tmp = `${dir.path}/tmp`;
    await Deno.mkdir(tmp);
    const child = new Deno.Command("./bpfink", {
      args: ["--paths", watched, "--json"],
      env: { TMPDIR: tmp },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
    }
    const start = JSON.parse(buf.split("\n")[0]);
    assertEquals(start.event.action, "started");
    assert([...Deno.readDirSync(tmp)].some((e) => e.name.startsWith("bpfink-db-")), "no temp db");
    // Only this child's own links and programs: other BPF agents may attach meanwhile.
    const own = bpfObjectsOf(child.pid);
    assert(own.links.size > 0, "no link held while running");
    // SIGHUP: the terminal it runs in closed.
    child.kill(sig);
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    assertEquals(status.code, 0);
    assertEquals(await bpfObjectsLeft(own), { links: [], progs: [] }, "BPF objects left behind");
    assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), [], "temporary files left behind");
  });
}

Deno.test("a path list where nothing exists exits 2 with an error; a missing path among others is a warning", async () => {
  await using dir = await tempDir();
  const r = await run(["./bpfink", "--paths", `${dir.path}/nope1,${dir.path}/nope2`]);
  assertEquals(r.code, 2, r.stderr);
  assert(r.stderr.includes("none of the paths exist"), r.stderr);
  const ok = `${dir.path}/ok`;
  await Deno.writeTextFile(ok, "x");
  await withAgent([ok, `${dir.path}/later`], async (_agent, out) => {
    assertEquals(out.events[0].bpfink?.watched_files, 1);
    await Deno.writeTextFile(`${dir.path}/later`, "now\n");
    assert(
      await waitFor(() => out.changes().some((e) => e.event.action === "created")),
      "creation missed",
    );
  });
});

Deno.test("a full kernel watch map is a warning, not a crash, and reconcile still sees every path", async () => {
  await using dir = await tempDir();
  for (let i = 0; i < 40; i++) await Deno.writeTextFile(`${dir.path}/f${i}`, "x\n");
  const out = new CaptureOutput();
  // 16 entries for 41 inodes (40 files and the directory).
  const agent = await Agent.start({
    watches: watchesForPaths([dir.path]),
    outputs: [out],
    maxWatches: 16,
  });
  try {
    assert(agent.watch.notInKernel > 0, "nothing overflowed");
    const live = agent.watch.entries().find((e) => e.kind === "file" && e.state)!;
    await run(["sh", "-c", 'echo y >> "$1"', "sh", live.path]);
    // Paths that did not fit in the map are re-read by the reconcile.
    await agent.reconcile();
    assert(
      out.changes(live.path).some((e) => e.event.action === "modified"),
      "no event for the changed file",
    );
  } finally {
    await agent.stop();
  }
});

Deno.test("past the directory-path map's size, a file moved into new directories of a tree is still reported with its process", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/tree`;
  await Deno.mkdir(tree);
  const out = new CaptureOutput();
  // Room for the keys that place the tree and every directory above it, and for nothing made
  // later.
  const keys = (p: string) => p.split("/").filter((c) => c).length + 1;
  let room = 0;
  for (let p = tree; p !== "/"; p = p.slice(0, p.lastIndexOf("/")) || "/") room += keys(p);
  const agent = await Agent.start({
    watches: watchesForPaths([tree], true),
    outputs: [out],
    dirPathEntries: room + keys("/"),
    fanotify: false,
  });
  try {
    const made = `${tree}/a/b/c/made`;
    await Deno.mkdir(`${tree}/a/b/c`, { recursive: true });
    // Listed by now, and left out of the full map: a rename into it is placed by the tree.
    assert(await waitFor(() => agent.watch.notInKernel > 0), "the directory-path map never filled");
    await Deno.writeTextFile(`${dir.path}/src`, "x\n");
    const mv = new Deno.Command("mv", { args: [`${dir.path}/src`, made] }).spawn();
    assert((await mv.status).success);
    assert(
      await waitFor(() => out.changes(made).some((e) => e.event.action === "created")),
      "the file moved in was not reported",
    );
    const created = out.changes(made).find((e) => e.event.action === "created")!;
    assertEquals(created.process?.pid, mv.pid, JSON.stringify(created.process));
  } finally {
    await agent.stop();
  }
});

Deno.test("a file moved into a watched directory through a path the kernel cannot place is found by reconcile (fanotify off)", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/watched`;
  await Deno.mkdir(`${watched}/sub`, { recursive: true });
  await Deno.writeTextFile(`${dir.path}/planted`, "x\n");
  await withAgent([watched], async (agent, out) => {
    // "sub/.." names the watched directory without its basename: no live event from the
    // syscall hooks (fanotify's directory mark would see it: the next test).
    const r = await run(["mv", `${dir.path}/planted`, `${watched}/sub/../moved`]);
    assertEquals(r.code, 0, r.stderr);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(out.changes(`${watched}/moved`), [], "seen live: the test proves nothing");
    await agent.reconcile();
    const e = out.changes(`${watched}/moved`);
    assertEquals(e.map((x) => [x.event.action, x.event.reason]), [["created", "reconcile"]]);
  }, { fanotify: false });
});

Deno.test("a file moved into a watched directory through a path the kernel cannot place is seen live by fanotify, naming mv", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/watched`;
  await Deno.mkdir(`${watched}/sub`, { recursive: true });
  await Deno.writeTextFile(`${dir.path}/planted`, "x\n");
  await withAgent([watched], async (_agent, out) => {
    const r = await run(["mv", `${dir.path}/planted`, `${watched}/sub/../moved`]);
    assertEquals(r.code, 0, r.stderr);
    assert(
      await waitFor(() => out.changes(`${watched}/moved`).length > 0),
      "not seen live",
    );
    const e = out.changes(`${watched}/moved`);
    assertEquals(e.map((x) => [x.event.action, x.process?.pid, x.process?.name]), [[
      "created",
      r.pid,
      "mv",
    ]]);
    assert(e[0].event.reason?.startsWith("live: seen by fanotify"), e[0].event.reason);
  });
});
