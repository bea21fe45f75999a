/**
 * What the agent holds stays bounded over time (bench/soak.ts runs it for
 * 10 minutes): files made and removed faster than it reads them leave
 * nothing behind in the watched tree (nor in the kernel's name map that
 * mirrors it), and threads a burst of work started end once it is over.
 * Real BPF, real files, a real shell. Needs root.
 */
import { assert, assertEquals } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";

Deno.test("files created and removed before the agent reads them leave no watch entry behind", async () => {
  await using dir = await tempDir();
  for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${dir.path}/f${i}.conf`, "v=0\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({
    watches: watchesForPaths([dir.path], true),
    outputs: [out],
  });
  try {
    const before = agent.watch.entries().map((e) => e.path).sort();
    const eventsBefore = agent.kernel.counters().events;
    // Each file lives about as long as it takes to start rm: the agent lists the directory
    // while some exist and reads them after they are gone.
    const churn = await run([
      "sh",
      "-c",
      'for i in $(seq 400); do echo x > "$1/churn-$i.tmp"; rm "$1/churn-$i.tmp"; done',
      "sh",
      dir.path,
    ]);
    assertEquals(churn.code, 0, churn.stderr);
    // Settle: nothing left to read, twice in a row (a listing may queue more reads).
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await agent.idle();
    }
    // The kernel sent the churn's name events, so the agent listed the directory under it
    // (whether a listing still found a file depends on timing).
    const sent = Number(agent.kernel.counters().events - eventsBefore);
    assert(
      sent >= 400,
      `the kernel sent ${sent} events for 800 creates and removals: the test proves nothing`,
    );
    assertEquals(agent.watch.entries().map((e) => e.path).sort(), before);
  } finally {
    await agent.stop();
  }
});

const threads = () =>
  Number(/Threads:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]);

Deno.test("threads that a burst of blocking work started end once the agent is idle, and events still flow", async () => {
  // Not in /tmp: the agent hears of the directories other processes make there (it marks the
  // directories above its watched paths), and each event would wake the thread pool.
  await using dir = await tempDir("bpfink-test-", "/var/tmp");
  const watched = `${dir.path}/f`;
  await Deno.writeTextFile(watched, "x\n");
  const out = new CaptureOutput();
  const agent = await Agent.start({ watches: watchesForPaths([watched]), outputs: [out] });
  const libc = Deno.dlopen("libc.so.6", {
    usleep: { parameters: ["u32"], result: "i32", nonblocking: true },
  });
  try {
    await new Promise((r) => setTimeout(r, 11_000)); // the start's own threads end
    const idle = threads();
    // Blocking work in Deno's thread pool (what file reads do), 24 at once.
    await Promise.all(Array.from({ length: 24 }, () => libc.symbols.usleep(300_000)));
    const busy = threads();
    assert(busy >= idle + 16, `the burst started no threads (${idle} -> ${busy}): proves nothing`);
    // The pool ends a thread idle for 10 s, unless something wakes the pool meanwhile.
    let now = busy;
    for (let i = 0; i < 40 && now > idle + 2; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      now = threads();
    }
    assert(now <= idle + 2, `threads: ${idle} idle, ${busy} in the burst, ${now} 40 s after it`);
    await run(["sh", "-c", 'echo y >> "$1"', "sh", watched]);
    assert(
      await waitFor(() => out.changes(watched).some((e) => e.event.action === "modified")),
      "no event after the idle time",
    );
  } finally {
    libc.close();
    await agent.stop();
  }
});
