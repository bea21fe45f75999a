/**
 * The kernel objects bpfink embeds, one per attach strategy, and what each
 * needs from a kernel. This is the only place (with bpf/) that knows about
 * kernel features; the agent's choice logic reads it.
 *
 * @module
 */

/** Attach strategies, best first. */
export type StrategyName = "fentry" | "kprobe" | "tracepoint";

/** One embedded object and what it needs. */
export interface StrategySpec {
  name: StrategyName;
  /** Object file name under kernels/build/. */
  object: string;
  /** BPF C source under bpf/. */
  source: string;
  /** Why this object exists. */
  why: string;
  /** Kernel requirements, for people. */
  needs: string;
  /** Oldest kernel family it is meant for. */
  minKernel: string;
  /**
   * Programs whose attach failure only loses coverage (reported), keyed by
   * program name → what is lost. Any other program must attach.
   */
  optional: Record<string, string>;
  /**
   * Optional programs that call a BPF helper some kernels lack (by program
   * name): left out up front where the kernel does not have it, instead of
   * costing a refused load and a reload.
   */
  helpers?: Record<string, BpfHelper>;
  /**
   * Programs not loaded by default: when the kernel refuses a primary program
   * that has one, the whole object is loaded again with every alternate in
   * place of the program it replaces.
   */
  alternates?: Record<string, { replaces: string; why: string }>;
  /** What the alternates are, for people ("raw_tp twin"). */
  alternatesAre?: string;
  /**
   * Optional program → the programs (in `?` sections, not loaded by default)
   * that take its place when the kernel refuses it. A fallback listed in
   * `optional` may fail too; the coverage counts as lost only when the
   * program and all its fallbacks are not attached.
   */
  fallbacks?: Record<string, string[]>;
}

/**
 * Syscalls whose programs may fail to load or attach on some kernel (absent
 * syscall, odd BTF for its entry point, as 5.10 has for copy_file_range)
 * without failing the strategy: only that coverage is lost, and reported.
 * write, pwrite64, writev, pwritev, rename*, unlink*, open* are required.
 */
const OPTIONAL_SYSCALLS: Record<string, string> = {
  pwritev2: "pwritev2() writes (syscall absent before 4.6)",
  openat2: "openat2(O_TRUNC|O_CREAT) (syscall absent before 5.6)",
  creat: "creat()",
  truncate: "truncate(path)",
  ftruncate: "ftruncate()",
  rmdir: "rmdir() of a watched directory",
  fallocate: "fallocate()",
  ioctl: "ioctl(FICLONE, FICLONERANGE): a reflink into a watched file",
  io_submit: "io_submit() writes (Linux native AIO, no write syscall)",
  mprotect: "mprotect(PROT_WRITE) of a shared mapping of a watched file (bpf_find_vma: 5.17+)",
  pkey_mprotect:
    "pkey_mprotect(PROT_WRITE) of a shared mapping of a watched file (bpf_find_vma: 5.17+)",
  sendfile64: "sendfile() into a watched file",
  splice: "splice() into a watched file",
  copy_file_range: "copy_file_range() into a watched file",
  fchmod: "fchmod()",
  fchown: "fchown()",
  fsetxattr: "fsetxattr()",
  fremovexattr: "fremovexattr()",
  utimensat: "utimensat()/futimens()",
  chmod: "chmod()",
  chown: "chown()",
  lchown: "lchown()",
  utime: "utime()",
  utimes: "utimes()",
  setxattr: "setxattr()",
  lsetxattr: "lsetxattr()",
  removexattr: "removexattr()",
  lremovexattr: "lremovexattr()",
  fchmodat: "fchmodat()",
  fchmodat2: "fchmodat2() (syscall absent before 6.6)",
  fchownat: "fchownat()",
  futimesat: "futimesat()",
  mkdir: "mkdir() in a watched directory (seen on the next listing otherwise)",
  mkdirat: "mkdirat() in a watched directory (seen on the next listing otherwise)",
  symlink: "symlink() in a watched directory (seen on the next listing otherwise)",
  symlinkat: "symlinkat() in a watched directory (seen on the next listing otherwise)",
  mknod: "mknod() in a watched directory (seen on the next listing otherwise)",
  mknodat: "mknodat() in a watched directory (seen on the next listing otherwise)",
  mount: "mount() over a watched path (re-resolved on the next reconcile otherwise)",
  umount: "umount2() under a watched path (re-resolved on the next reconcile otherwise)",
  move_mount: "move_mount() over a watched path (syscall absent before 5.2)",
  link: "link()",
  linkat: "linkat()",
  mmap: "mmap(MAP_SHARED, PROT_WRITE) of a watched file",
};

/** A BPF helper by number (enum bpf_func_id in include/uapi/linux/bpf.h) and name. */
export interface BpfHelper {
  id: number;
  name: string;
}

/** bpf_find_vma (5.17+): mprotect walks the mappings of its range with it. */
const FIND_VMA: BpfHelper = { id: 180, name: "bpf_find_vma" };
const MPROTECT_HELPERS: Record<string, BpfHelper> = {
  exit_mprotect: FIND_VMA,
  exit_pkey_mprotect: FIND_VMA,
};

const optionalSyscalls = (prefix: string): Record<string, string> =>
  Object.fromEntries(Object.entries(OPTIONAL_SYSCALLS).map(([k, v]) => [`${prefix}${k}`, v]));

/**
 * Every object catches io_uring requests on the io_uring_complete raw
 * tracepoint, which carries the request from 5.19 on (older kernels refuse
 * the program: its CO-RE read of the result cannot be relocated).
 */
const IO_URING: Record<string, string> = {
  fim_io_uring_complete:
    "io_uring fallocate, splice, ftruncate, fsetxattr (and writes, for the tracepoint object): " +
    "the io_uring_complete tracepoint carries the request only from 5.19 on",
};

/**
 * Every object remembers processes as they exit (the sched_process_exit raw
 * tracepoint), to name a fanotify event's pid once it has left /proc.
 */
const EXITS: Record<string, string> = {
  fim_process_exit: "the name of a process that exited before its fanotify event was read",
};

/**
 * The fentry object catches content writes where the VFS hands over the
 * struct file (plain typed loads, no fd table walk): program → what it
 * catches, and the syscall-exit programs (`?` sections, probe-read fd walk)
 * that take its place where the kernel refuses it. A fallback that is not
 * itself optional must load, or the object fails (write and writev are
 * required coverage).
 */
const VFS_WRITES: { func: string; lost: string; syscalls: string[] }[] = [
  {
    func: "vfs_write",
    lost: "write(), pwrite64() through vfs_write()",
    syscalls: ["write", "pwrite64"],
  },
  {
    func: "vfs_writev",
    lost: "writev(), pwritev(), pwritev2() through vfs_writev()",
    syscalls: ["writev", "pwritev", "pwritev2"],
  },
  {
    func: "do_splice",
    lost: "splice() and io_uring splice into a watched file, through do_splice()",
    syscalls: ["splice"],
  },
  {
    func: "do_splice_direct",
    lost: "sendfile() into a watched file, through do_splice_direct()",
    syscalls: ["sendfile64"],
  },
];

/** VFS write program name → its fallbacks, for the given program names of a function and a syscall. */
function vfsWrites(
  programs: (func: string) => string[],
  syscallPrograms: (syscall: string) => string[],
): { optional: Record<string, string>; fallbacks: Record<string, string[]> } {
  const optional: Record<string, string> = {};
  const fallbacks: Record<string, string[]> = {};
  for (const v of VFS_WRITES) {
    for (const p of programs(v.func)) {
      optional[p] = v.lost;
      fallbacks[p] = v.syscalls.flatMap(syscallPrograms);
    }
  }
  return { optional, fallbacks };
}

const FENTRY_VFS = vfsWrites((f) => [`fim_${f}`], (n) => [`exit_${n}`]);
const KPROBE_VFS = vfsWrites(
  (f) => [`enter_${f}`, `exit_${f}`],
  (n) => [`enter_${n}`, `exit_${n}`],
);

/**
 * The fentry and kprobe objects also hook notify_change(), where every
 * attribute change lands whatever path, alias or ABI named the file.
 */
const NOTIFY_CHANGE =
  "attribute changes (chmod, chown, utimes, truncate) through a symlink, another hard link, " +
  "/proc/self/fd, an AT_EMPTY_PATH fd or a 32-bit syscall";

/** The fentry and kprobe objects also hook io_write(), for io_uring writes on any kernel. */
const IO_WRITE = "io_uring writes through io_write() (absent or inlined in this kernel)";

/**
 * The oldest kernel any object runs on: every object sends its events through
 * the BPF ring buffer (BPF_MAP_TYPE_RINGBUF), which Linux 5.8 added. The
 * attach points are older (fexit 5.5, raw tracepoints 4.17, kprobes), so the
 * ring buffer sets the floor for every strategy.
 */
export const MIN_KERNEL: readonly [number, number] = [5, 8];

/** Every embedded strategy, best (cheapest per write) first. */
export const STRATEGIES: readonly StrategySpec[] = [
  {
    name: "fentry",
    object: "fim-fentry.bpf.o",
    source: "fim_fentry.bpf.c",
    why:
      "BPF trampolines on the VFS write functions and the syscall entry points: only hooked calls pay, and no tracing slow path",
    needs:
      "BTF, BPF trampolines (CONFIG_DEBUG_INFO_BTF, x86_64), the BPF ring buffer (5.8+); refused by some hypervisor kernels (EPERM)",
    minKernel: "5.8",
    helpers: MPROTECT_HELPERS,
    optional: {
      ...optionalSyscalls("exit_"),
      ...IO_URING,
      ...EXITS,
      fim_io_write: IO_WRITE,
      fim_notify_change: NOTIFY_CHANGE,
      fim_vfs_copy_file_range: OPTIONAL_SYSCALLS.copy_file_range,
      ...FENTRY_VFS.optional,
    },
    fallbacks: {
      ...FENTRY_VFS.fallbacks,
      // 5.10's BTF for __x64_sys_copy_file_range cannot be traced: hook the VFS function instead.
      exit_copy_file_range: ["fim_vfs_copy_file_range"],
    },
  },
  {
    name: "kprobe",
    object: "fim-kprobe.bpf.o",
    source: "fim_kprobe.bpf.c",
    why:
      "kprobe/kretprobe pairs on the VFS write functions and the syscall entry points: for kernels without trampolines",
    needs: "kprobes (CONFIG_KPROBES, the kprobe PMU), BTF for CO-RE, the BPF ring buffer (5.8+)",
    minKernel: "5.8",
    helpers: MPROTECT_HELPERS,
    optional: {
      ...optionalSyscalls("enter_"),
      ...optionalSyscalls("exit_"),
      ...IO_URING,
      ...EXITS,
      enter_io_write: IO_WRITE,
      exit_io_write: IO_WRITE,
      enter_notify_change: NOTIFY_CHANGE,
      exit_notify_change: NOTIFY_CHANGE,
      ...KPROBE_VFS.optional,
    },
    fallbacks: KPROBE_VFS.fallbacks,
  },
  {
    name: "tracepoint",
    object: "fim-tracepoint.bpf.o",
    source: "fim_tracepoint.bpf.c",
    why:
      "one program on the raw syscall-exit tracepoint: works where kprobes and trampolines are missing",
    needs:
      "raw tracepoints, BTF for CO-RE, the BPF ring buffer (5.8+); costs every syscall a trip through the tracing slow path",
    minKernel: "5.8",
    optional: { ...IO_URING, ...EXITS },
    alternates: {
      fim_sys_exit_raw: {
        replaces: "fim_sys_exit",
        why: "raw_tp twin, for kernels that refuse tp_btf programs",
      },
    },
    alternatesAre: "raw_tp twin",
  },
];

/** The spec of strategy `name`. */
export function strategy(name: StrategyName): StrategySpec {
  const s = STRATEGIES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown strategy ${name}`);
  return s;
}

/** Whether `s` names an embedded strategy. */
export function isStrategyName(s: string): s is StrategyName {
  return STRATEGIES.some((x) => x.name === s);
}
