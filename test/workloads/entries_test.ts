/**
 * Every entry type and every name: symlinks (made, retargeted with ln -sfn,
 * replacing a file), FIFOs and devices (reported, never opened), names that
 * are not UTF-8 or 255 bytes long, in a watched sudoers.d, live.
 */
import { assert, assertEquals } from "../assert.ts";
import { Agent, watchesForPaths } from "../../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "../helpers.ts";

async function sh(script: string, ...args: string[]) {
  const r = await run(["sh", "-c", script, "sh", ...args]);
  assertEquals(r.code, 0, r.stderr);
  return r;
}

async function withAgent(
  paths: string[],
  fn: (agent: Agent, out: CaptureOutput) => Promise<void>,
): Promise<void> {
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths(paths), outputs: [out] });
  try {
    await fn(agent, out);
  } finally {
    await agent.stop();
  }
}

const summary = (out: CaptureOutput) =>
  JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path, e.process?.name]));

Deno.test("entries: symlinks are reported with their targets, never hashed through", async () => {
  await using d = await tempDir();
  await sh('echo conf > "$1/conf" && ln -s /etc/hostname "$1/link"', d.path);
  await withAgent([d.path], async (agent, out) => {
    // Retargeted (ln -sfn renames a new link over the old one).
    await sh('ln -sfn /etc/shadow "$1/link"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/link`).some((e) =>
          e.event.action === "replaced" && e.file?.type === "symlink" &&
          e.file?.target_path === "/etc/shadow" &&
          (e.bpfink?.before as { target_path?: string })?.target_path === "/etc/hostname" &&
          e.process?.name === "ln" && e.file?.hash === undefined
        )
      ),
      summary(out),
    );
    // A new symlink.
    await sh('ln -s ../x "$1/new"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/new`).some((e) =>
          e.event.action === "created" && e.file?.target_path === "../x" && e.process?.name === "ln"
        )
      ),
      summary(out),
    );
    // A file replaced by a symlink: the link is reported, not its target's content.
    await sh('ln -sf /etc/passwd "$1/conf"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/conf`).some((e) =>
          e.event.action === "replaced" && e.file?.type === "symlink" && !e.file?.hash
        )
      ),
      summary(out),
    );
    await sh('rm "$1/link"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/link`).some((e) =>
          e.event.action === "deleted" && e.process?.name === "rm"
        )
      ),
      summary(out),
    );
    await agent.idle();
  });
});

Deno.test("entries: a FIFO swapped in for a watched file is reported and never opened; monitoring goes on", async () => {
  await using d = await tempDir();
  await sh('echo a > "$1/a" && echo b > "$1/b"', d.path);
  await withAgent([d.path], async (agent, out) => {
    // Swapped in and back out, 3 times: each FIFO is reported before the file comes back
    // (a swap undone within the same moment would leave only the file to see).
    const aEvents = () => out.changes(`${d.path}/a`);
    for (let i = 0; i < 3; i++) {
      const seen = aEvents().length;
      await sh(`mkfifo "$1/f${i}" && mv "$1/f${i}" "$1/a"`, d.path);
      assert(
        await waitFor(() => aEvents().slice(seen).some((e) => e.file?.type === "fifo")),
        summary(out),
      );
      const back = aEvents().length;
      await sh(`echo ${i} > "$1/a.tmp" && mv "$1/a.tmp" "$1/a"`, d.path);
      assert(
        await waitFor(() => aEvents().slice(back).some((e) => e.file?.type === "file")),
        summary(out),
      );
    }
    await sh('mkfifo "$1/pipe"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/pipe`).some((e) =>
          e.event.action === "created" && e.file?.type === "fifo" && e.process?.name === "mkfifo"
        )
      ),
      summary(out),
    );
    // The agent is not stuck on a FIFO: another file's change is still reported.
    await sh('echo more >> "$1/b"', d.path);
    assert(
      await waitFor(() => out.changes(`${d.path}/b`).some((e) => e.event.action === "modified")),
      summary(out),
    );
    await agent.idle();
  });
});

Deno.test("entries: /proc files swapped in are described, not read", async () => {
  await using d = await tempDir();
  await sh('echo a > "$1/a"', d.path);
  await withAgent([`${d.path}/a`], async (agent, out) => {
    await sh('ln -sf /proc/self/pagemap "$1/a"', d.path);
    assert(
      await waitFor(() =>
        out.changes(`${d.path}/a`).some((e) => e.file?.target_path === "/proc/self/pagemap")
      ),
      summary(out),
    );
    await agent.idle();
  });
});

Deno.test("entries: sudoers.d drop-ins with non-UTF-8, 255-byte and symlinked names are reported live", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/sudoers.d`;
  await Deno.mkdir(dir);
  await sh('echo "# base" > "$1/base"', dir);
  await withAgent([dir], async (agent, out) => {
    await sh('printf "evil ALL=(ALL) NOPASSWD: ALL\\n" > "$1/$(printf "ev\\377il")"', dir);
    assert(
      await waitFor(() =>
        out.changes().some((e) =>
          e.event.action === "created" && e.file?.path === `${dir}/ev\\xffil` &&
          e.bpfink?.path_bytes === btoa(`${dir}/ev\xffil`) && e.process?.name === "sh"
        )
      ),
      summary(out),
    );
    const long = "L".repeat(255);
    await sh(`echo "x ALL=(ALL) ALL" > "$1/${long}"`, dir);
    assert(
      await waitFor(() =>
        out.changes(`${dir}/${long}`).some((e) =>
          e.event.action === "created" && e.process?.name === "sh"
        )
      ),
      summary(out),
    );
    await sh('echo "y ALL=(ALL) ALL" >> "$1/' + long + '"', dir);
    assert(
      await waitFor(() =>
        out.changes(`${dir}/${long}`).some((e) =>
          e.event.action === "modified" && e.process?.name === "sh"
        )
      ),
      summary(out),
    );
    await sh('ln -s /tmp/elsewhere "$1/linked"', dir);
    assert(
      await waitFor(() =>
        out.changes(`${dir}/linked`).some((e) =>
          e.event.action === "created" && e.file?.type === "symlink"
        )
      ),
      summary(out),
    );
    await sh('mkdir "$1/subdir"', dir);
    assert(
      await waitFor(() => out.changes(`${dir}/subdir`).some((e) => e.event.action === "created")),
      summary(out),
    );
    await agent.idle();
  });
});

Deno.test("entries: files named after Object's own members are recorded and reported like any other", async () => {
  await using d = await tempDir();
  const names = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
  for (const n of names) await Deno.writeTextFile(`${d.path}/${n}`, "a\n");
  await withAgent([d.path], async (agent, out) => {
    // Their baseline was written: a name once made the whole batch unwritable (its consumer
    // name came out of an object literal as Object's own function).
    const behind = () =>
      /^bpfink_baseline_behind_paths (\d+)/m.exec(agent.metrics.prometheusText());
    assertEquals(behind()?.[1], "0");
    for (const n of names) await sh('echo b >> "$1"', `${d.path}/${n}`);
    assert(
      await waitFor(() =>
        names.every((n) =>
          out.changes(`${d.path}/${n}`).some((e) =>
            e.event.action === "modified" &&
            (e.bpfink?.diff as { added?: string[] })?.added?.[0] === "b"
          )
        )
      ),
      summary(out),
    );
    assertEquals(behind()?.[1], "0");
  });
});
