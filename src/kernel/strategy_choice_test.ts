import { assert, assertEquals } from "../../test/assert.ts";
import { knownToFail } from "./strategy_choice.ts";
import { readKernelFacts } from "./kernel_facts.ts";

Deno.test("knownToFail: kprobe is not loaded when neither the PMU nor tracefs kprobes exist", () => {
  const facts = { ...readKernelFacts(), kprobePmu: false, kprobeEvents: false };
  assert(/^no kprobe PMU on this kernel/.test(knownToFail("kprobe", facts) ?? ""));
  assertEquals(knownToFail("kprobe", { ...facts, kprobePmu: true }), undefined);
  assertEquals(knownToFail("kprobe", { ...facts, kprobeEvents: true }), undefined);
  for (const s of ["fentry", "tracepoint"] as const) assertEquals(knownToFail(s, facts), undefined);
});
