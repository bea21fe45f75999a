/**
 * A watched file removed and made again under its name between two reads:
 * on ext4 the new file most often gets the freed inode number back, and the
 * inode number alone took it for the same file (reported `attributes_changed`
 * or `modified`, or nothing when the content was the same). Its birth time
 * tells them apart: it is reported `replaced`. Real programs
 * (test/inode/name_ops.c unlinks and creates back to back), the real agent.
 * Needs root.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, tempDir, waitFor } from "./helpers.ts";
import { buildProgram } from "./inode/fixtures.ts";

const summary = (out: CaptureOutput) =>
  JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path, e.process?.name]));

/** Runs name_ops with `args`; returns its pid. */
async function nameOps(bin: string, ...args: string[]): Promise<number> {
  const child = new Deno.Command(bin, { args, stderr: "piped" }).spawn();
  const r = await child.output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  return child.pid;
}

Deno.test("inode reuse: a watched file removed and made again between two reads is reported replaced, not modified", async () => {
  await using d = await tempDir();
  const bin = await buildProgram(d.path, "name_ops");
  const dir = `${d.path}/etc`;
  await Deno.mkdir(dir);
  const f = `${dir}/hosts`;
  await Deno.writeTextFile(f, "127.0.0.1 localhost\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    for (let i = 0; i < 5; i++) {
      const before = (await Deno.lstat(f)).ino;
      // The same content, back at once: on ext4 the freed inode number is most often given to
      // the new file.
      const pid = await nameOps(bin, "unlink", f, "create", f, "127.0.0.1 localhost\n");
      assert(
        await waitFor(() =>
          out.changes(f).filter((e) =>
            e.event.action === "replaced" ||
            (e.event.action === "created" && e.process?.pid === pid)
          ).length > i
        ),
        `round ${i} (inode ${before} -> ${(await Deno.lstat(f)).ino}): ${summary(out)}`,
      );
      await agent.idle();
    }
    const wrong = out.changes(f).filter((e) =>
      e.event.action === "modified" || e.event.action === "attributes_changed"
    );
    assertEquals(wrong.length, 0, summary(out));
  } finally {
    await agent.stop();
  }
});

Deno.test("inode reuse: a watched directory removed and another made at once at its inode number is reported deleted and created, not moved", async () => {
  await using d = await tempDir();
  const bin = await buildProgram(d.path, "name_ops");
  const tree = `${d.path}/tree`;
  await Deno.mkdir(tree);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([tree], true), outputs: [out] });
  try {
    // As `rsync --delete` does: the old directory's file and the directory go, a new one is
    // made; ext4 most often gives the new directory the freed number. Rounds until it did (up
    // to 50: beside the other tests of a full run, which make directories on the same file
    // system, 10 rounds once found none).
    let reused = 0;
    for (let i = 0; i < 50 && reused < 2; i++) {
      const [old, made] = [`${tree}/old${i}`, `${tree}/new${i}`];
      await Deno.mkdir(old);
      await Deno.writeTextFile(`${old}/gone`, "x\n");
      assert(await waitFor(() => out.changes(`${old}/gone`).length > 0), summary(out));
      await agent.idle();
      const ino = (await Deno.lstat(old)).ino;
      const pid = await nameOps(
        bin,
        ...["unlink", `${old}/gone`, "rmdir", old, "mkdir", made, "create", `${made}/n`, "n\n"],
      );
      if ((await Deno.lstat(made)).ino !== ino) continue;
      reused++;
      const by = (path: string, action: string) =>
        out.changes(path).some((e) => e.event.action === action && e.process?.pid === pid);
      assert(
        await waitFor(() =>
          by(old, "deleted") && by(made, "created") && by(`${made}/n`, "created") &&
          by(`${old}/gone`, "deleted")
        ),
        summary(out),
      );
      await agent.idle();
      assertEquals(out.changes().filter((e) => e.event.action === "moved").length, 0, summary(out));
    }
    assert(reused > 0, "ext4 never gave the new directory the old one's number");
  } finally {
    await agent.stop();
  }
});
