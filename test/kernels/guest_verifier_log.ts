/**
 * Runs inside a guest: loads each strategy's object (and its alternate
 * programs) and prints why the kernel refused it, with the verifier's last
 * lines, one `BPFINK-LOAD {json}` line per attempt. For diagnosing a guest
 * where an object stopped loading (`test/kernels/run.ts`).
 *
 * @module
 */
import { EMBEDDED_OBJECTS } from "../../kernels/build/embedded.ts";
import type { StrategyName } from "../../kernels/strategies.ts";
import { loadLibbpf } from "../../src/agent/open_kernel.ts";
import { BpfError } from "../../src/bpf/bpf_error.ts";
import { FimKernel } from "../../src/kernel/fim_kernel.ts";

const lib = loadLibbpf();
for (const strategy of ["fentry", "kprobe", "tracepoint"] as StrategyName[]) {
  for (const alternate of [false, true]) {
    let result: Record<string, unknown>;
    try {
      const k = FimKernel.load(lib, strategy, EMBEDDED_OBJECTS[strategy], {
        onEvent: () => {},
        alternate,
      });
      result = { ok: true, lost: k.lost.map((l) => `${l.program}: ${l.error}`) };
      await k.close();
    } catch (e) {
      result = e instanceof BpfError
        ? { ok: false, target: e.target, errno: e.errnoText, log: e.log.slice(-25) }
        : { ok: false, error: String(e) };
    }
    console.log(`BPFINK-LOAD ${JSON.stringify({ strategy, alternate, ...result })}`);
  }
}
