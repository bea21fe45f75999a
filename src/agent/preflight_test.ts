import { assert, assertEquals } from "../../test/assert.ts";
import { MIN_KERNEL } from "../../kernels/strategies.ts";
import { readKernelFacts } from "../kernel/kernel_facts.ts";
import { AgentError } from "./agent_error.ts";
import { preflight } from "./preflight.ts";

Deno.test("a kernel older than the BPF ring buffer (5.8) is refused in one sentence", () => {
  const facts = readKernelFacts();
  // The control: this kernel passes.
  preflight(facts);
  for (const version of [[5, 7], [4, 18]] as [number, number][]) {
    let err: unknown;
    try {
      preflight({ ...facts, version, release: `${version.join(".")}.0-old` });
    } catch (e) {
      err = e;
    }
    assert(err instanceof AgentError, `${version} was accepted`);
    assert(/older than Linux 5\.8.*ring buffer/.test(err.message), err.message);
  }
  preflight({ ...facts, version: [5, 8] });
  assertEquals(MIN_KERNEL, [5, 8]);
});
