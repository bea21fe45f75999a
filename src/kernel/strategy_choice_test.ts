import { assert, assertEquals } from "../../test/assert.ts";
import { knownToFail, refusedByProbe } from "./strategy_choice.ts";
import { readKernelFacts } from "./kernel_facts.ts";
import { FimKernel } from "./fim_kernel.ts";
import { BpfError } from "../bpf/bpf_error.ts";
import { Errno } from "../errno.ts";
import { loadLibbpf } from "../agent/open_kernel.ts";
import { EMBEDDED_OBJECTS } from "../../kernels/build/embedded.ts";

Deno.test("knownToFail: kprobe is not loaded when neither the PMU nor tracefs kprobes exist", () => {
  const facts = { ...readKernelFacts(), kprobePmu: false, kprobeEvents: false };
  assert(/^no kprobe PMU on this kernel/.test(knownToFail("kprobe", facts) ?? ""));
  assertEquals(knownToFail("kprobe", { ...facts, kprobePmu: true }), undefined);
  assertEquals(knownToFail("kprobe", { ...facts, kprobeEvents: true }), undefined);
  for (const s of ["fentry", "tracepoint"] as const) assertEquals(knownToFail(s, facts), undefined);
});

Deno.test("refusedByProbe: fentry's probe says refused exactly where loading the object is refused (EPERM)", async () => {
  const lib = loadLibbpf();
  const probe = refusedByProbe(lib, "fentry");
  let refused = false;
  try {
    const k = FimKernel.load(lib, "fentry", EMBEDDED_OBJECTS.fentry, { onEvent: () => {} });
    await k.close();
  } catch (e) {
    if (!(e instanceof BpfError) || e.errno !== Errno.EPERM) throw e;
    refused = true;
  }
  assertEquals(probe !== undefined, refused, `probe: ${probe}; object refused: ${refused}`);
  for (const s of ["kprobe", "tracepoint"] as const) {
    assertEquals(refusedByProbe(lib, s), undefined);
  }
});
