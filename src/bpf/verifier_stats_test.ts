import { assertEquals } from "../../test/assert.ts";
import { parseVerifierStats } from "./verifier_stats.ts";

Deno.test("parseVerifierStats reads the kernel's statistics lines, and only those", () => {
  const log = "func#0 @0\nverification time 182558 usec\nstack depth 224+112\n" +
    "processed 90867 insns (limit 1000000) max_states_per_insn 13 total_states 6371 " +
    "peak_states 4176 mark_read 0\n";
  assertEquals(parseVerifierStats(log), {
    processed: 90867,
    timeUs: 182558,
    totalStates: 6371,
    peakStates: 4176,
  });
  // Older kernels print no time; a log without the count has no statistics.
  assertEquals(parseVerifierStats("processed 12 insns (limit 1000000)")?.timeUs, undefined);
  assertEquals(parseVerifierStats("0: (b7) r0 = 0\n1: (95) exit\n"), undefined);
});
