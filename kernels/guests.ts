/**
 * The guest kernels bpfink is proven on (under qemu, see test/kernels/), and
 * what each family offers. Pinned to Debian's meta-packages, so a new ABI is
 * picked up and an old one dropping out of the index does not break the run.
 *
 * @module
 */

/** One guest kernel family. */
export interface GuestKernel {
  id: string;
  /** Debian apt source lines (deb822 one-liners) that carry the meta-package. */
  sources: string[];
  /** The meta-package that depends on the current image of this family. */
  metaPackage: string;
  /** What the family supports, for people; the harness checks it in the guest. */
  supports: { tracepoint: boolean; kprobe: boolean; fentry: boolean; tpBtfFastPath: boolean };
  /** The strategy `bpfink` should pick automatically there. */
  expectedChoice: "fentry" | "kprobe" | "tracepoint";
  notes: string;
}

const MIRROR = "http://deb.debian.org/debian";
const SECURITY = "http://deb.debian.org/debian-security";

/** The guest kernels, oldest first. */
export const GUEST_KERNELS: readonly GuestKernel[] = [
  {
    id: "5.10",
    sources: [`deb ${MIRROR} bullseye main`, `deb ${SECURITY} bullseye-security main`],
    metaPackage: "linux-image-cloud-amd64",
    supports: { tracepoint: true, kprobe: true, fentry: true, tpBtfFastPath: false },
    expectedChoice: "fentry",
    notes:
      "Debian 11: BTF, kprobes, trampolines; no bpf_rdonly_cast, so the tracepoint object loads its raw_tp twin",
  },
  {
    id: "6.1",
    sources: [`deb ${MIRROR} bookworm main`, `deb ${SECURITY} bookworm-security main`],
    metaPackage: "linux-image-cloud-amd64",
    supports: { tracepoint: true, kprobe: true, fentry: true, tpBtfFastPath: false },
    expectedChoice: "fentry",
    notes: "Debian 12's default kernel; bpf_rdonly_cast arrived in 6.2",
  },
  {
    id: "6.12",
    sources: [`deb ${MIRROR} bookworm main`, `deb ${SECURITY} bookworm-security main`],
    metaPackage: "linux-image-6.12-cloud-amd64",
    supports: { tracepoint: true, kprobe: true, fentry: true, tpBtfFastPath: true },
    expectedChoice: "fentry",
    notes: "Debian 12 backport (bookworm-security): everything, including the tp_btf fast path",
  },
];
