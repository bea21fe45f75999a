/**
 * Ignore rules, tags and severity per watch, with real writers: a package
 * manager's executable and a churning path are not reported (but counted,
 * and the baseline moves); everything else carries the watch's tags and
 * severity.
 */
import { assert, assertEquals } from "./assert.ts";
import { CaptureOutput, run, tempDir, waitFor } from "./helpers.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { parseConfig } from "../src/config/load_config.ts";

Deno.test("watch policy: ignored executable and path glob are counted, not reported; tags and severity on the rest", async () => {
  await using dir = await tempDir();
  const tree = `${dir.path}/etc`;
  await Deno.mkdir(tree);
  for (const f of ["app.conf", "cache.tmp", "other.conf"]) {
    await Deno.writeTextFile(`${tree}/${f}`, "v=0\n");
  }
  const python = Deno.realPathSync("/usr/bin/python3");
  const out = new CaptureOutput();
  const [w] = watchesForPaths([tree]);
  const agent = await Agent.start({
    watches: [{
      ...w,
      ignore: { executable: [python], comm: [], paths: ["*.tmp"] },
      tags: ["pci", "config"],
      severity: "high",
    }],
    outputs: [out],
  });
  try {
    // The "package manager": python3, alive while the agent reads /proc/PID/exe.
    const py = "import sys,time\nopen(sys.argv[1],'a').write('pkg\\n')\ntime.sleep(1.5)\n";
    const pkg = run([python, "-c", py, `${tree}/app.conf`]);
    await run(["sh", "-c", 'echo churn >> "$1"', "sh", `${tree}/cache.tmp`]);
    await pkg;
    await new Promise((r) => setTimeout(r, 300));
    await agent.idle();
    assertEquals(
      out.changes().map((e) => [e.file?.path, e.process?.executable, e.bpfink?.process]),
      [],
      "ignored changes were reported",
    );
    const text = agent.metrics.prometheusText();
    assert(text.includes('bpfink_events_ignored_total{reason="executable"} 1'), text);
    assert(text.includes('bpfink_events_ignored_total{reason="path"} 1'), text);

    // Anyone else: reported, with the watch's tags and severity.
    const w2 = await run(["sh", "-c", 'echo evil >> "$1"', "sh", `${tree}/other.conf`]);
    assertEquals(w2.code, 0);
    assert(await waitFor(() => out.changes().length > 0, 5000), "change not reported");
    const e = out.changes()[0];
    assertEquals([e.file?.name, e.event.action], ["other.conf", "modified"]);
    assertEquals(e.tags, ["pci", "config"]);
    assertEquals([e.event.severity, e.bpfink?.severity], [73, "high"]);
    // The ignored change moved the baseline: a re-read finds nothing new in app.conf.
    await agent.reconcile();
    assertEquals(out.changes().filter((x) => x.file?.name === "app.conf"), []);
  } finally {
    await agent.stop();
  }
});

Deno.test("watch policy: config keys, types and a relative executable are checked", () => {
  const ok = parseConfig(
    "watches:\n  - path: /etc\n    tags: [pci]\n    severity: critical\n    ignore:\n" +
      "      executable: [/usr/bin/dpkg]\n      comm: [apt]\n      paths: ['*.dpkg-new']\n",
  );
  assertEquals(ok.errors, []);
  const w = ok.config!.watches[0];
  assertEquals([w.tags, w.severity, w.ignore], [["pci"], "critical", {
    comm: ["apt"],
    executable: ["/usr/bin/dpkg"],
    paths: ["*.dpkg-new"],
  }]);
  const bad = parseConfig(
    "watches:\n  - path: /etc\n    severity: loud\n    ignore:\n      executable: [dpkg]\n      user: [x]\n",
  );
  const msgs = bad.errors.map((p) => p.message).join("; ");
  assert(msgs.includes("severity"), msgs);
  assert(msgs.includes("executable must be a full path"), msgs);
  assert(msgs.includes("user"), msgs);
});
