/**
 * Checks, before touching BPF, that this process and kernel can run bpfink,
 * and says in one sentence what is missing and what to do.
 *
 * @module
 */
import { MIN_KERNEL } from "../../kernels/strategies.ts";
import type { KernelFacts } from "../kernel/kernel_facts.ts";
import { AgentError } from "./agent_error.ts";

/** Throws an AgentError when bpfink cannot work here. */
export function preflight(facts: KernelFacts, btfGiven?: string): void {
  const [major, minor] = facts.version;
  if (major < MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
    throw new AgentError(
      `this kernel (${facts.release}) is older than Linux ${
        MIN_KERNEL.join(".")
      }, whose BPF ring ` +
        `buffer every bpfink object sends its events through: run bpfink on ${
          MIN_KERNEL.join(".")
        } or later.`,
    );
  }
  if (!facts.canBpf) {
    throw new AgentError(
      `bpfink needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load its BPF programs, ` +
        `and this process (uid ${facts.euid}) has neither: run it with sudo.`,
    );
  }
  if (!facts.btf) {
    throw new AgentError(
      btfGiven
        ? `the BTF file ${btfGiven} does not exist: pass --btf with this kernel's vmlinux BTF.`
        : `this kernel (${facts.release}) exposes no BTF (/sys/kernel/btf/vmlinux is missing), which ` +
          `bpfink's CO-RE objects need: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y, or pass ` +
          `--btf FILE with this kernel's BTF.`,
    );
  }
}
