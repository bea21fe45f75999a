/**
 * The guest kernels bpfink is proven on (under qemu, see test/kernels/), and
 * what each family offers. Each is pinned to a Debian meta-package, so a new
 * ABI is picked up and an old one dropping out of the index does not break
 * the run.
 *
 * @module
 */
import type { StrategyName } from "./strategies.ts";

/** The guest kernel families. */
export type KernelId = "5.10" | "6.1" | "6.12";

/** A kernel feature the agent or its tests depend on. */
export type Feature =
  | "tracepoint"
  | "kprobe"
  | "fentry"
  | "lsm"
  | "ringbuf"
  | "btf"
  | "kprobeMulti";

/** Whether a family has a feature, and the one-line reason. */
export interface Support {
  /** `boot-param`: built in, but only active with a kernel command line option (see `reason`). */
  has: "yes" | "no" | "boot-param";
  /** The config option, version or default that decides it. */
  reason: string;
}

/** One guest kernel family. */
export interface GuestKernel {
  id: KernelId;
  /** Debian suites (main component) that carry the meta-package; `*-security` is on the security mirror. */
  suites: readonly string[];
  /** The meta-package that depends on the current image of this family. */
  metaPackage: string;
  /** What `uname -r` looks like for this family's images. */
  release: RegExp;
  /** What the family offers; test/kernels/guests_test.ts checks it against each image's config. */
  supports: Readonly<Record<Feature, Support>>;
  /** The strategy `bpfink` should pick automatically there. */
  expectedChoice: StrategyName;
  notes: string;
}

/** The Debian archive and its security archive (both reachable from here and from CI). */
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";
/** The security archive, which carries the `*-security` suites. */
export const DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security";
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

const BASE: Pick<Record<Feature, Support>, "tracepoint" | "kprobe" | "fentry" | "ringbuf" | "btf"> =
  {
    tracepoint: {
      has: "yes",
      reason: "CONFIG_FTRACE_SYSCALLS=y: syscalls:sys_enter_*/sys_exit_* exist",
    },
    kprobe: {
      has: "yes",
      reason: "CONFIG_KPROBE_EVENTS=y: the kprobe PMU is in /sys/bus/event_source/devices",
    },
    fentry: {
      has: "yes",
      reason: "x86-64 BPF trampolines (5.5+) with CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y",
    },
    ringbuf: { has: "yes", reason: "BPF_MAP_TYPE_RINGBUF arrived in 5.8" },
    btf: {
      has: "yes",
      reason: "CONFIG_DEBUG_INFO_BTF=y: /sys/kernel/btf/vmlinux, so CO-RE relocates",
    },
  };

/** The guest kernels, oldest first. */
export const GUEST_KERNELS: readonly GuestKernel[] = [
  {
    id: "5.10",
    suites: ["bullseye", "bullseye-security"],
    metaPackage: "linux-image-cloud-amd64",
    release: /^5\.10\.0-\d+-cloud-amd64$/,
    supports: {
      ...BASE,
      lsm: {
        has: "boot-param",
        reason:
          "CONFIG_BPF_LSM=y but bpf is not in the default CONFIG_LSM list: boot with lsm=...,bpf",
      },
      kprobeMulti: { has: "no", reason: "kprobe.multi (fprobe) arrived in 5.18" },
    },
    expectedChoice: "fentry",
    notes:
      "Debian 11: BTF, kprobes, trampolines; no bpf_rdonly_cast, so the tracepoint object loads its raw_tp twin",
  },
  {
    id: "6.1",
    suites: ["bookworm", "bookworm-security"],
    metaPackage: "linux-image-cloud-amd64",
    release: /^6\.1\.0-\d+-cloud-amd64$/,
    supports: {
      ...BASE,
      lsm: { has: "yes", reason: "CONFIG_BPF_LSM=y and bpf is in the default CONFIG_LSM list" },
      kprobeMulti: { has: "no", reason: "Debian 6.1 builds without CONFIG_FPROBE" },
    },
    expectedChoice: "fentry",
    notes: "Debian 12's default kernel; bpf_rdonly_cast arrived in 6.2",
  },
  {
    id: "6.12",
    suites: ["bookworm", "bookworm-security"],
    metaPackage: "linux-image-6.12-cloud-amd64",
    release: /^6\.12\.\d+\+deb12-cloud-amd64$/,
    supports: {
      ...BASE,
      lsm: { has: "yes", reason: "CONFIG_BPF_LSM=y and bpf is in the default CONFIG_LSM list" },
      kprobeMulti: { has: "yes", reason: "CONFIG_FPROBE=y (kprobe.multi since 5.18)" },
    },
    expectedChoice: "fentry",
    notes: "Debian 12 backport (bookworm-security): everything, including the tp_btf fast path",
  },
];

/** The family with this id; throws with the known ids otherwise. */
export function guestKernel(id: string): GuestKernel {
  const k = GUEST_KERNELS.find((g) => g.id === id);
  if (!k) {
    throw new Error(
      `unknown guest kernel ${id} (known: ${GUEST_KERNELS.map((g) => g.id).join(", ")})`,
    );
  }
  return k;
}

/** One-line apt sources (`deb [signed-by=…] uri suite main`) for `k`'s suites. */
export function aptSourceLines(k: GuestKernel): string[] {
  return k.suites.map((s) =>
    `deb [signed-by=${KEYRING}] ${
      s.endsWith("-security") ? DEBIAN_SECURITY_MIRROR : DEBIAN_MIRROR
    } ${s} main`
  );
}
