/**
 * Nothing silent: what the kernel reports is reported, timestamps compare in
 * nanoseconds, the first baseline never says "created" for files that
 * existed, a mount over a watched file is seen live, and every watched file
 * changing at once costs no dropped event.
 */
import { assert, assertEquals } from "../assert.ts";
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "../helpers.ts";

async function sh(script: string, ...args: string[]) {
  const r = await run(["sh", "-c", script, "sh", ...args]);
  assertEquals(r.code, 0, r.stderr);
  return r;
}

const summary = (out: CaptureOutput) =>
  JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path, e.process?.name]));

Deno.test("silent: a uid-0 line appended, truncated away and the mtime restored is still reported", async () => {
  await using d = await tempDir();
  const f = `${d.path}/passwd`;
  await Deno.copyFile("/etc/passwd", f);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  try {
    for (let i = 0; i < 5; i++) {
      await sh(
        's=$(stat -c %s "$1"); m=$(stat -c %Y "$1"); echo "evil:x:0:0::/:/bin/sh" >> "$1"; ' +
          'truncate -s "$s" "$1"; touch -d "@$m" "$1"',
        f,
      );
      assert(
        await waitFor(() => out.changes(f).length > i),
        `round ${i}: ${summary(out)}`,
      );
      await agent.idle();
    }
    // Every round's writes are told: as new content (a read between the append and the
    // truncate), or as "written, as before" (the kernel saw them, the read found the old content),
    // never only as a low attribute change (the touch after them may be one of its own).
    const written = out.changes(f).filter((e) => {
      const changes = (e.bpfink?.changes ?? []) as { field: string; to?: unknown }[];
      return e.event.action === "modified" ||
        (e.event.action === "attributes_changed" && e.bpfink?.severity === "medium" &&
          changes.some((c) => c.field === "content" && c.to === "written, as before"));
    });
    assert(written.length >= 5, `rounds whose writes were not told: ${summary(out)}`);
  } finally {
    await agent.stop();
  }
});

Deno.test("silent: renames over a watched file during the first baseline never report it as created", async () => {
  await using d = await tempDir();
  await sh(
    'for i in $(seq 1 3000); do echo $i > "$1/f$i"; done; cp /etc/passwd "$1/passwd"',
    d.path,
  );
  // Swap identical copies of passwd in while the agent reads its first baseline.
  const swapper = new Deno.Command("sh", {
    args: [
      "-c",
      'while :; do cp "$1/passwd" "$1/.p" && mv "$1/.p" "$1/passwd"; done',
      "sh",
      d.path,
    ],
  }).spawn();
  const out = new CaptureOutput();
  let agent: Agent | undefined;
  try {
    agent = await Agent.start({ watches: watchesForPaths([d.path]), outputs: [out] });
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
  }
  try {
    await agent.idle();
    const created = out.changes(`${d.path}/passwd`).filter((e) => e.event.action === "created");
    assertEquals(created.length, 0, summary(out));
    // Nor any other file that was there before the start (the swapper's .p may be new).
    const existed = out.changes().filter((e) =>
      e.event.action === "created" && /\/(f\d+|passwd)$/.test(e.file?.path ?? "")
    );
    assertEquals(existed.length, 0, summary(out));
    assertEquals(out.changes().filter((e) => e.event.action === "user_added").length, 0);
  } finally {
    await agent.stop();
  }
});

Deno.test("silent: a bind mount over a watched file is seen live", async () => {
  await using d = await tempDir();
  const f = `${d.path}/conf`;
  await Deno.writeTextFile(f, "real\n");
  await Deno.writeTextFile(`${d.path}/evil`, "evil\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([f]), outputs: [out] });
  let mounted = false;
  try {
    const m = await run(["mount", "--bind", `${d.path}/evil`, f]);
    assertEquals(m.code, 0, m.stderr);
    mounted = true;
    assert(
      await waitFor(() =>
        out.changes(f).some((e) =>
          e.event.action === "replaced" && (e.event.reason ?? "").includes("mount")
        )
      ),
      summary(out),
    );
    await run(["umount", f]);
    mounted = false;
    assert(
      await waitFor(() => out.changes(f).filter((e) => e.event.action === "replaced").length >= 2),
      summary(out),
    );
  } finally {
    if (mounted) await run(["umount", f]);
    await agent.stop();
  }
});

Deno.test("silent: 3000 watched files written at once: no event dropped, every file reported", async () => {
  await using d = await tempDir();
  await sh('for i in $(seq 1 3000); do echo $i > "$1/f$i"; done', d.path);
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([d.path]), outputs: [out] });
  try {
    const before = agent.kernel.counters().drops;
    await sh('for i in $(seq 1 3000); do echo more >> "$1/f$i"; done', d.path);
    assert(
      await waitFor(
        () => out.changes().filter((e) => e.event.action === "modified").length >= 3000,
        30000,
      ),
      `${out.changes().filter((e) => e.event.action === "modified").length} of 3000 reported`,
    );
    const drops = agent.kernel.counters().drops - before;
    console.log(`3000 files written at once: ${drops} ring buffer drops`);
    assertEquals(drops, 0n);
    assertEquals(agent.rescans, 0);
  } finally {
    await agent.stop();
  }
});
