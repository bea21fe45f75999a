/**
 * access.conf by meaning, where pam_access's reading counts bytes: a line
 * longer than its 8191-byte chunk is skipped but for its last chunk, which
 * pam_access reads as a rule of its own.
 */
import { assert } from "./assert.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("a rule pam_access reads past 8191 bytes of a line is seen, a hash-like word before it or not", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/security`);
  await Deno.writeTextFile(`${x}/security/access.conf`, "+ : root : LOCAL\n");
  const config = await daemonConfig(x, [`- path: ${x}/security/access.conf`]);
  const d = new Daemon(config);
  try {
    await d.started();
    // pam_access skips the line's first 8191 bytes and reads `+ : ALL : ALL` as a rule. Handed
    // the file with the hash-like word redacted (shorter), bpfink read one line: no such rule.
    const head = "- : nobody : x$6$abcdefgh$" + "A".repeat(86) + " ";
    const line = head + " ".repeat(8191 - head.length) + "+ : ALL : ALL\n";
    await Deno.writeTextFile(`${x}/security/access.conf`, "+ : root : LOCAL\n" + line);
    const granted = (e: { event: { action?: string }; message?: string }) =>
      e.event.action === "access_rule_added" && /\+ : ALL : ALL/.test(e.message ?? "") &&
      !/nobody/.test(e.message ?? "");
    assert(
      await waitFor(() => d.changes().some(granted), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
    assert(!JSON.stringify(d.changes()).includes("$6$abcdefgh$"), "the hash-like word is reported");
  } finally {
    await d.stop();
  }
});
