/**
 * bpfink's kernel side from user space: the event layout shared with
 * bpf/fim_event.h, the loaded kernel object (FimKernel), what this kernel
 * offers (facts, symbols, identities), and the strategy choice proven by a
 * canary.
 *
 * @module
 */
export { decodeFimEvent, type FimEvent, FimOp, FimWatch } from "./fim_event.ts";
export { FimKernel, type LostCoverage } from "./fim_kernel.ts";
export { type KernelFacts, readKernelFacts } from "./kernel_facts.ts";
export { kernelIdentity } from "./kernel_identity.ts";
export { chooseStrategy, type Trial } from "./strategy_choice.ts";
export { runCanary } from "./canary.ts";
