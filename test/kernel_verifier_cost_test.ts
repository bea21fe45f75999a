/**
 * The verifier's work on the tracepoint object's syscall-exit programs (the
 * object this host and every kernel without kprobes or trampolines loads at
 * each start) stays bounded: the instructions it processes, a count that is
 * the same on every load of one object on one kernel. Checked only where the
 * kernel loads the program and reports the count. Needs root.
 */
import { assert } from "./assert.ts";
import { loadLibbpf } from "../src/agent/open_kernel.ts";
import { BpfError } from "../src/bpf/bpf_error.ts";
import { verifyProgram } from "../src/bpf/verifier_stats.ts";
import { EMBEDDED_OBJECTS } from "../kernels/build/embedded.ts";

/** At most this many processed instructions per program (90,867 and 71,691 when the program
 * inlined every call site of its event, path and fd code; about 20,000 since on 6.18 and 6.12, 19,876 for the raw_tp twin on 5.10 and 6.1). */
const MAX_PROCESSED = 40_000;

Deno.test("the tracepoint object's syscall-exit programs cost the verifier at most 40,000 instructions", () => {
  const lib = loadLibbpf();
  const measured: string[] = [];
  for (const program of ["fim_sys_exit", "fim_sys_exit_raw"]) {
    let processed: number;
    try {
      processed = verifyProgram(lib, "fim-tracepoint", EMBEDDED_OBJECTS.tracepoint, program)
        .processed;
    } catch (e) {
      if (e instanceof BpfError) continue; // refused by this kernel: nothing to count
      throw e;
    }
    measured.push(`${program}: ${processed}`);
    assert(
      processed <= MAX_PROCESSED,
      `${program}: the verifier processed ${processed} instructions, more than ${MAX_PROCESSED}`,
    );
  }
  console.log(`processed instructions: ${measured.join(", ") || "no program loads here"}`);
});
