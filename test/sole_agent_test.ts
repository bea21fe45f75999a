/**
 * A process's only agent lets go of the embedded objects' bytes, the chosen
 * one's too, once it is loaded (src/agent/open_kernel.ts releaseEmbeddedAssets) and its start's code pages
 * (src/bpf/page_out_code.ts), and keeps working. Run in
 * a process of its own: the release detaches module-level buffers.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir } from "./helpers.ts";

Deno.test("a sole agent lets go of every object's bytes, the chosen one's too, of libbpf's bytes and of its start's code, and still reports", async () => {
  await using dir = await tempDir();
  const agentUrl = new URL("../src/agent/agent.ts", import.meta.url).href;
  const embeddedUrl = new URL("../kernels/build/embedded.ts", import.meta.url).href;
  const helpersUrl = new URL("./helpers.ts", import.meta.url).href;
  const script = `${dir.path}/sole.ts`;
  await Deno.writeTextFile(`${dir.path}/conf`, "a\n");
  await Deno.writeTextFile(
    script,
    `import { Agent, watchesForPaths } from "${agentUrl}";
import { EMBEDDED_LIBBPF, EMBEDDED_OBJECTS } from "${embeddedUrl}";
import { CaptureOutput, metricValue, waitFor } from "${helpersUrl}";
const file = Deno.args[0];
const before = Object.fromEntries(Object.entries(EMBEDDED_OBJECTS).map(([k, v]) => [k, v.length]));
const out = new CaptureOutput();
const agent = await Agent.start({ watches: watchesForPaths([file]), outputs: [out], soleAgent: true });
try {
  const after = Object.fromEntries(Object.entries(EMBEDDED_OBJECTS).map(([k, v]) => [k, v.length]));
  await Deno.writeTextFile(file, "b\\n", { append: true });
  const reported = await waitFor(() => out.changes(file).length > 0, 5000);
  console.log(JSON.stringify({
    chosen: agent.kernel.spec.name, before, after, libbpf: EMBEDDED_LIBBPF?.length ?? null, reported,
    pagedOut: metricValue(agent, "bpfink_start_code_paged_out_bytes"),
  }));
} finally {
  await agent.stop();
}
`,
  );
  const config = new URL("../deno.json", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", config, script, `${dir.path}/conf`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assertEquals(r.code, 0, err);
  const got = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!);
  const want = Object.fromEntries(
    Object.keys(got.before as Record<string, number>).map((k) => [k, 0]),
  );
  assert(
    Object.values(got.before as Record<string, number>).every((n) => n > 0),
    "nothing to let go",
  );
  assertEquals(got.after, want, "an object's bytes were kept");
  assertEquals(got.libbpf === null || got.libbpf === 0, true, `libbpf's bytes kept: ${got.libbpf}`);
  assertEquals(got.reported, true, "the agent stopped reporting after the release");
  // Its start's code went back (page_out_code_test.ts shows the pages leave): at least
  // Deno's own binary, tens of MB of address space, was advised.
  assertEquals(got.pagedOut > 16 * 2 ** 20, true, `code advised out: ${got.pagedOut} bytes`);
});
