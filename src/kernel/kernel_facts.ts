/**
 * What the running kernel offers, read from sysfs and procfs without loading
 * anything. Cached: the answers do not change while the agent runs.
 *
 * @module
 */

/** Facts about the running kernel. */
export interface KernelFacts {
  release: string;
  /** Parsed `major.minor`, e.g. [6, 1]. */
  version: [number, number];
  /** Path of the BTF used for CO-RE, or undefined when there is none. */
  btf?: string;
  /** /sys/bus/event_source/devices/kprobe exists (perf kprobe PMU). */
  kprobePmu: boolean;
  /** The legacy tracefs kprobe interface exists. */
  kprobeEvents: boolean;
  /** kernel.unprivileged_bpf_disabled, when readable. */
  unprivilegedBpfDisabled?: number;
  /** Effective user id. */
  euid: number;
  /** The process holds CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN. */
  canBpf: boolean;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Parses CapEff from /proc/self/status into a bigint mask. */
export function effectiveCaps(status: string | undefined): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status ?? "");
  return m ? BigInt("0x" + m[1]) : 0n;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Whether a capability mask allows loading tracing BPF programs. */
export function capsAllowBpf(caps: bigint): boolean {
  const has = (c: bigint) => (caps >> c) & 1n;
  return has(CAP_SYS_ADMIN) === 1n || (has(CAP_BPF) === 1n && has(CAP_PERFMON) === 1n);
}

/** Reads the facts. `btfPath` overrides /sys/kernel/btf/vmlinux. */
export function readKernelFacts(btfPath?: string): KernelFacts {
  const release = Deno.osRelease();
  const m = /^(\d+)\.(\d+)/.exec(release);
  const btf = btfPath ?? "/sys/kernel/btf/vmlinux";
  const upd = readText("/proc/sys/kernel/unprivileged_bpf_disabled");
  const tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
  return {
    release,
    version: m ? [Number(m[1]), Number(m[2])] : [0, 0],
    btf: exists(btf) ? btf : undefined,
    kprobePmu: exists("/sys/bus/event_source/devices/kprobe"),
    kprobeEvents: tracefs.some((t) => exists(`${t}/kprobe_events`)),
    unprivilegedBpfDisabled: upd === undefined ? undefined : Number(upd.trim()),
    euid: Deno.uid() ?? -1,
    canBpf: capsAllowBpf(effectiveCaps(readText("/proc/self/status"))),
  };
}
