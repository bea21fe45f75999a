/**
 * The live tree: a recursive watch follows the tree as real tools change it
 * (mkdir, mv, rm -rf, git checkout and stash, rsync, tar), reporting each
 * change live with the process that made it.
 */
import { assert, assertEquals } from "../assert.ts";
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { CaptureOutput, run, tempDir, waitFor } from "../helpers.ts";

async function withAgent(
  dir: string,
  fn: (agent: Agent, out: CaptureOutput) => Promise<void>,
): Promise<void> {
  const out = new CaptureOutput();
  const watches = watchesForPaths([dir]).map((w) => ({ ...w, recursive: true }));
  const agent = await Agent.start({ watches, outputs: [out] });
  try {
    await fn(agent, out);
  } finally {
    await agent.stop();
  }
}

async function sh(script: string, ...args: string[]) {
  const r = await run(["sh", "-c", script, "sh", ...args]);
  assertEquals(r.code, 0, r.stderr);
  return r;
}

const actions = (out: CaptureOutput, path: string) =>
  out.changes(path).filter((e) => e.event.dataset === "bpfink.file").map((e) => e.event.action);

function has(out: CaptureOutput, path: string, action: string, by?: string): boolean {
  return out.changes(path).some((e: ChangeEvent) =>
    e.event.action === action && (by === undefined || e.process?.name === by)
  );
}

/**
 * Made inside a directory that was itself just made: named with its process
 * when the kernel saw it, otherwise without one and saying which process made
 * the directory (the file was there before the directory's watch).
 */
function madeBy(out: CaptureOutput, path: string, by: string): boolean {
  return out.changes(path).some((e: ChangeEvent) =>
    e.event.action === "created" &&
    (e.process?.name === by || (!e.process && (e.event.reason ?? "").includes(by)))
  );
}

Deno.test("tree: mkdir, then 100 ms later create, write and remove a file in it: three events", async () => {
  await using d = await tempDir();
  await withAgent(d.path, async (agent, out) => {
    await sh('mkdir "$1/dir1"', d.path);
    await new Promise((r) => setTimeout(r, 100));
    const f = `${d.path}/dir1/sample_file.txt`;
    await sh('touch "$1"', f);
    assert(await waitFor(() => has(out, f, "created", "touch")), `created: ${actions(out, f)}`);
    await sh('echo data >> "$1"', f);
    assert(await waitFor(() => has(out, f, "modified", "sh")), `modified: ${actions(out, f)}`);
    await sh('rm "$1"', f);
    assert(await waitFor(() => has(out, f, "deleted", "rm")), `deleted: ${actions(out, f)}`);
    await agent.idle();
    assertEquals(actions(out, f), ["created", "modified", "deleted"]);
    assert(has(out, `${d.path}/dir1`, "created", "mkdir"), "the directory itself");
  });
});

Deno.test("tree: files made at once with a new subtree (mkdir -p; tar -x) are all found", async () => {
  await using d = await tempDir();
  await using src = await tempDir("bpfink-src-");
  await sh('mkdir -p "$1/a/b/c" && for i in 1 2 3; do echo $i > "$1/a/b/c/f$i"; done', src.path);
  await sh('tar -C "$1" -cf "$1.tar" a', src.path);
  try {
    await withAgent(d.path, async (agent, out) => {
      await sh('mkdir -p "$1/x/y" && echo z > "$1/x/y/z"', d.path);
      await sh('tar -C "$1" -xf "$2.tar"', d.path, src.path);
      for (const p of ["x/y/z", "a/b/c/f1", "a/b/c/f2", "a/b/c/f3"]) {
        assert(await waitFor(() => has(out, `${d.path}/${p}`, "created")), `missed ${p}`);
      }
      await agent.idle();
      // And later changes there are live, with the process.
      await sh('echo more >> "$1/a/b/c/f2"', d.path);
      assert(await waitFor(() => has(out, `${d.path}/a/b/c/f2`, "modified", "sh")));
    });
  } finally {
    await Deno.remove(`${src.path}.tar`);
  }
});

Deno.test("tree: a renamed directory re-paths everything below it", async () => {
  await using d = await tempDir();
  await sh('mkdir -p "$1/sub/deep" && echo a > "$1/sub/deep/f"', d.path);
  await withAgent(d.path, async (agent, out) => {
    await sh('mv "$1/sub" "$1/sub2"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/sub2`).some((e) =>
          e.event.action === "moved" && e.bpfink?.from_path === `${d.path}/sub` &&
          e.process?.name === "mv"
        )
      ),
      JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path])),
    );
    await agent.idle();
    await sh('echo b >> "$1/sub2/deep/f"', d.path);
    assert(await waitFor(() => has(out, `${d.path}/sub2/deep/f`, "modified", "sh")));
    await agent.idle();
    assertEquals(actions(out, `${d.path}/sub/deep/f`), [], "nothing under the old path");
  });
});

Deno.test("tree: rm -rf, mkdir and new files at once: every new file is reported (10 rounds)", async () => {
  await using d = await tempDir();
  await sh('mkdir "$1/sub" && echo old > "$1/sub/a"', d.path);
  await withAgent(d.path, async (agent, out) => {
    for (let i = 0; i < 10; i++) {
      await sh(`rm -rf "$1/sub" && mkdir "$1/sub" && echo new${i} > "$1/sub/a${i}"`, d.path);
      const f = `${d.path}/sub/a${i}`;
      assert(await waitFor(() => has(out, f, "created")), `round ${i}: ${actions(out, f)}`);
      await agent.idle();
    }
  });
});

Deno.test("tree: git checkout and git stash of a branch with a new directory", async () => {
  await using d = await tempDir();
  const git = (...a: string[]) =>
    sh('cd "$1" && shift && git -c user.email=t@t -c user.name=t "$@"', d.path, ...a);
  await git("init", "-q", "-b", "main");
  await sh('echo base > "$1/base"', d.path);
  await git("add", ".");
  await git("commit", "-qm", "base");
  await git("checkout", "-qb", "feature");
  await sh('mkdir -p "$1/newdir/inner" && echo f > "$1/newdir/inner/file"', d.path);
  await git("add", ".");
  await git("commit", "-qm", "feature");
  await git("checkout", "-q", "main");
  await withAgent(d.path, async (agent, out) => {
    await git("checkout", "-q", "feature");
    const f = `${d.path}/newdir/inner/file`;
    assert(await waitFor(() => madeBy(out, f, "git")), `checkout: ${actions(out, f)}`);
    await agent.idle();
    await sh('echo changed >> "$1/newdir/inner/file"', d.path);
    assert(await waitFor(() => has(out, f, "modified", "sh")), `echo: ${actions(out, f)}`);
    await agent.idle();
    const seen = out.changes(f).length;
    await git("stash", "-q");
    // git writes the file anew: "modified" only when the new file happens to get the
    // old inode number back, "replaced" otherwise; either way named git.
    assert(
      await waitFor(() =>
        out.changes(f).slice(seen).some((e) =>
          ["modified", "replaced"].includes(e.event.action) && e.process?.name === "git"
        )
      ),
      `stash: ${actions(out, f)}`,
    );
  });
});

Deno.test("tree: git's object pattern (mkdir, temp file, link into the new directory) 60 times: every object named by ln", async () => {
  await using d = await tempDir();
  await withAgent(d.path, async (agent, out) => {
    // Relative paths through a directory made a moment before, as git writes
    // .git/objects/xx/...: the link is a path syscall placed through that directory.
    await sh(
      'cd "$1" && for i in $(seq 60); do mkdir o$i && echo $i > o$i/tmp && ln o$i/tmp o$i/obj && rm o$i/tmp; done',
      d.path,
    );
    const objs = Array.from({ length: 60 }, (_, i) => `${d.path}/o${i + 1}/obj`);
    await waitFor(() => objs.every((f) => has(out, f, "created")), 10_000);
    await agent.idle();
    const bad = objs.filter((f) => !has(out, f, "created", "ln"));
    assertEquals(bad.map((f) => `${f}: ${actions(out, f)}`), []);
  });
});

Deno.test("tree: rsync of a tree into the watched directory", async () => {
  await using d = await tempDir();
  await using src = await tempDir("bpfink-src-");
  await sh('mkdir -p "$1/etc/ssh" && echo cfg > "$1/etc/ssh/sshd_config"', src.path);
  await withAgent(d.path, async (_agent, out) => {
    await sh('rsync -a "$1/" "$2/"', src.path, d.path);
    const f = `${d.path}/etc/ssh/sshd_config`;
    assert(await waitFor(() => madeBy(out, f, "rsync")), `rsync: ${actions(out, f)}`);
  });
});
