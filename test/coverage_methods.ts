/**
 * The change methods bpfink must catch, one real tool or syscall per row.
 * Shared by test/coverage_test.ts (bpfink alone, must pass),
 * bench/coverage/compare.ts (bpfink beside inotifywait, auditd and aide) and
 * the guests' matrix (test/kernels/guest_coverage.ts, which also runs
 * RESOLVED_ROWS and PROGRAM_ROWS).
 *
 * @module
 */

/** One change method. */
export interface Row {
  name: string;
  /** Command; an argument `F` (or `{F}` inside one) is replaced by the watched file. */
  cmd: string[];
  action: string;
  /** Process name (comm) expected on the event. */
  comm: string;
  /** Path the event is about, relative to D (default the row's file). */
  target?: string;
  /** Also require an event carrying the file's final content hash (the last write was seen). */
  finalHash?: boolean;
  /**
   * The command prints a `writer PID [EXECUTABLE]` line for each process that
   * changes the file: each must be named (by pid, and executable when given)
   * on an event of `action`, as its process or among the writers folded into
   * it; `comm` is then not checked.
   */
  writers?: boolean;
  /** The kernel feature the command needs, said when it fails (e.g. on an older kernel). */
  needs?: string;
}

/** Shell: makes a file `$o` beside the watched directory (not watched, same file system). */
const OUTSIDE = 'o="${1%/*}.outside.$$" && echo planted > "$o"';

/** A python3 one-liner run against the file. */
export const py = (code: string): string[] => ["python3", "-c", code, "F"];

/** Every method, in the order they run. */
export const ROWS: Row[] = [
  {
    name: "write (shell append)",
    cmd: ["sh", "-c", 'echo x >> "$1"', "sh", "F"],
    action: "modified",
    comm: "sh",
  },
  {
    name: "pwrite64",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.pwrite(fd,b'zz',1)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "writev",
    cmd: py(
      "import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY|os.O_APPEND);os.writev(fd,[b'a',b'b'])",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "pwritev",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.pwritev(fd,[b'q'],0)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "pwritev2 (RWF_SYNC)",
    cmd: py(
      "import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.pwritev(fd,[b'w'],0,os.RWF_SYNC)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "truncate(path)",
    cmd: py("import os,sys;os.truncate(sys.argv[1],1)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "ftruncate",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_WRONLY);os.ftruncate(fd,2)"),
    action: "modified",
    comm: "python3",
  },
  {
    name: "open O_TRUNC (shell >)",
    cmd: ["sh", "-c", ': > "$1"', "sh", "F"],
    action: "modified",
    comm: "sh",
  },
  {
    name: "fallocate (grow)",
    cmd: ["fallocate", "-l", "65536", "F"],
    action: "modified",
    comm: "fallocate",
  },
  {
    name: "fallocate punch-hole",
    cmd: ["fallocate", "-p", "-o", "0", "-l", "4096", "F"],
    action: "modified",
    comm: "fallocate",
  },
  {
    name: "sendfile",
    cmd: py(
      "import os,sys;s=os.open('/etc/hostname',os.O_RDONLY);d=os.open(sys.argv[1],os.O_WRONLY);os.lseek(d,0,2);os.sendfile(d,s,0,2)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "splice",
    cmd: py(
      "import os,sys;r,w=os.pipe();os.write(w,b'spl');d=os.open(sys.argv[1],os.O_WRONLY);os.lseek(d,0,2);os.splice(r,d,3)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    name: "copy_file_range",
    cmd: py(
      // The source sits beside the file: copy_file_range across file systems fails on older kernels.
      "import os,sys;p=sys.argv[1]+'.src';open(p,'w').write('cfr');s=os.open(p,os.O_RDONLY);" +
        "d=os.open(sys.argv[1],os.O_WRONLY);os.lseek(d,0,2);os.copy_file_range(s,d,2)",
    ),
    action: "modified",
    comm: "python3",
  },
  {
    // Spaced writes (thinktime) so only io_uring completions, not the open, can show the last one.
    name: "io_uring writes (fio), no write syscall at all",
    cmd: [
      "fio",
      "--name=cov",
      "--filename={F}",
      "--ioengine=io_uring",
      "--rw=write",
      "--bs=4k",
      "--size=16k",
      "--fallocate=none",
      "--thread",
      "--thinktime=150000",
      "--output=/dev/null",
    ],
    action: "modified",
    comm: "fio",
    finalHash: true,
  },
  {
    name: "dd conv=notrunc",
    cmd: ["dd", "if=/etc/hostname", "of={F}", "bs=1", "count=2", "conv=notrunc", "status=none"],
    action: "modified",
    comm: "dd",
  },
  { name: "cp over the file", cmd: ["cp", "/etc/hostname", "F"], action: "modified", comm: "cp" },
  { name: "chmod", cmd: ["chmod", "600", "F"], action: "attributes_changed", comm: "chmod" },
  { name: "chown", cmd: ["chown", "1:1", "F"], action: "attributes_changed", comm: "chown" },
  {
    name: "fchmod",
    cmd: py("import os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);os.fchmod(fd,0o640)"),
    action: "attributes_changed",
    comm: "python3",
  },
  {
    name: "setxattr",
    cmd: py("import os,sys;os.setxattr(sys.argv[1],'trusted.bpfink',b'1')"),
    action: "attributes_changed",
    comm: "python3",
  },
  {
    name: "fsetxattr",
    cmd: py(
      "import os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);os.setxattr(fd,'trusted.bpfink',b'2')",
    ),
    action: "attributes_changed",
    comm: "python3",
  },
  {
    name: "utimes: faked timestamp (touch -d)",
    cmd: ["touch", "-d", "2001-01-01 00:00:00", "F"],
    action: "attributes_changed",
    comm: "touch",
  },
  {
    name: "hardlink, written through the new name",
    cmd: ["sh", "-c", 'ln "$1" "$1.lnk" && echo y >> "$1.lnk"', "sh", "F"],
    action: "modified",
    comm: "sh",
  },
  {
    name: "rename over (mv)",
    cmd: ["sh", "-c", 'echo new > "$1.tmp" && mv "$1.tmp" "$1"', "sh", "F"],
    action: "replaced",
    comm: "mv",
  },
  { name: "sed -i", cmd: ["sed", "-i", "s/^/#/", "F"], action: "replaced", comm: "sed" },
  { name: "unlink", cmd: ["rm", "F"], action: "deleted", comm: "rm" },
  {
    name: "create in a watched directory",
    cmd: ["sh", "-c", 'echo new > "$1.created"', "sh", "F"],
    action: "created",
    comm: "sh",
    target: "F.created",
  },
  {
    // The source sits beside the watched directory (same file system, so mv renames).
    name: "move in under a new name (mv, absolute path)",
    cmd: ["sh", "-c", `${OUTSIDE} && mv "$o" "$1.moved"`, "sh", "F"],
    action: "created",
    comm: "mv",
    target: "F.moved",
  },
  {
    name: "move in under a new name (mv, relative to the cwd)",
    cmd: ["sh", "-c", `${OUTSIDE} && cd "\${1%/*}" && mv "$o" "\${1##*/}.here"`, "sh", "F"],
    action: "created",
    comm: "mv",
    target: "F.here",
  },
  {
    name: "hardlink into the directory under a new name",
    cmd: ["sh", "-c", `${OUTSIDE} && ln "$o" "$1.linked" && rm "$o"`, "sh", "F"],
    action: "created",
    comm: "ln",
    target: "F.linked",
  },
];

/**
 * The command line of `row` for watched file `file` (`F` and `{F}`
 * replaced), with `{BIN}` naming `bin`, the directory of the built
 * {@link PROGRAMS}.
 */
export function commandFor(row: Row, file: string, bin = "{BIN}"): string[] {
  return row.cmd.map((a) => a === "F" ? file : a.replaceAll("{F}", file).replaceAll("{BIN}", bin));
}

/** One process a `writers` row's command says it changed the file with. */
export interface Writer {
  pid: number;
  executable?: string;
}

/** The `writer PID [EXECUTABLE]` lines of a `writers` row's output, in order. */
export function writersIn(stdout: string): Writer[] {
  const out: Writer[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^writer (\d+)(?: (\/.*))?$/.exec(line.trim());
    if (m) out.push(m[2] ? { pid: Number(m[1]), executable: m[2] } : { pid: Number(m[1]) });
  }
  return out;
}

/** The path the row's event is about. */
export function targetOf(row: Row, file: string): string {
  return row.target ? row.target.replace("F", file) : file;
}

/** Shell: `$o`, a path beside the watched directory (not watched, same file system). */
const BESIDE = 'o="${1%/*}.outside.$$"';

/**
 * Methods that name the file by another path (a symlink, another hard link,
 * /proc/self/fd/N): caught where the kernel has resolved the file
 * (notify_change(), fentry and kprobe objects). The tracepoint object sees
 * only the syscall's own path, whose basename is not watched; the periodic
 * reconcile catches these there. Run in the guests beside ROWS.
 */
export const RESOLVED_ROWS: Row[] = [
  {
    name: "chmod through a symlink elsewhere",
    cmd: ["sh", "-c", `${BESIDE} && ln -s "$1" "$o" && chmod 604 "$o"; rm -f "$o"`, "sh", "F"],
    action: "attributes_changed",
    comm: "chmod",
  },
  {
    name: "chmod through a hard link elsewhere",
    cmd: ["sh", "-c", `${BESIDE} && ln "$1" "$o" && chmod 606 "$o"; rm -f "$o"`, "sh", "F"],
    action: "attributes_changed",
    comm: "chmod",
  },
  {
    name: "truncate through /proc/self/fd/N",
    cmd: py(
      "import os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);os.truncate(f'/proc/self/fd/{fd}',5)",
    ),
    action: "modified",
    comm: "python3",
  },
];

/**
 * The C programs of test/inode/ that {@link PROGRAM_ROWS} run, by file name
 * (`NAME.c`). The caller builds them into one directory, passed to
 * {@link commandFor} as `bin` (statically for the guests, which have no
 * compiler).
 */
export const PROGRAMS = [
  "abi_ops",
  "aio_write",
  "append_on_input",
  "fd_race",
  "mprotect_write",
  "path_stall",
  "uring_ops",
] as const;

/** Where the guests carry the built {@link PROGRAMS}. */
export const GUEST_PROGRAM_DIR = "/bpfink/prebuilt";

/** Shell: runs `cmd` with `$o`, an unwatched file beside the watched directory; removes it after. */
const withPlanted = (cmd: string) =>
  `${BESIDE} && echo other > "$o" && { ${cmd}; }; r=$?; rm -f "$o"; exit $r`;
/** Shell: `$s`, the file's path with its basename's first letter made `z` (as long, not watched). */
const SWAPPED = 'b="${1##*/}" && s="${1%/*}/z${b#?}"';
/** Shell: a child `sh` that prints its pid, then appends `$2` to `$1`. */
const WRITER = `sh -c 'echo writer $$; echo "$2" >> "$1"' sh`;

/** Python: a forked child writes through the mapping its parent made, after the parent exited. */
const FORKED_MAP_WRITE = "import os,sys,mmap,time\n" +
  "fd=os.open(sys.argv[1],os.O_RDWR)\n" +
  "m=mmap.mmap(fd,0,mmap.MAP_SHARED,mmap.PROT_READ|mmap.PROT_WRITE)\n" +
  "if os.fork(): os._exit(0)\n" +
  "print('writer',os.getpid(),flush=True); os.close(1); os.close(2)\n" +
  "time.sleep(0.7); m[0:7]=b'CHANGED'; time.sleep(1.5)\n";

/**
 * Python: two copies of append_on_input in two directories write the file,
 * the second under the first's pid (forced through ns_last_pid, in the
 * initial pid namespace: the pids the kernel events carry). Each stays 1.5 s
 * after its write, so /proc shows its executable however slow the machine.
 */
const PID_REUSE = "import os,sys,shutil,subprocess\n" +
  "f,b=sys.argv[1],sys.argv[2]\n" +
  "d=os.path.dirname(f)+'.reuse'; exes=[]\n" +
  "for s in 'ab':\n" +
  " os.makedirs(d+'/'+s,exist_ok=True); exes.append(shutil.copy(b,d+'/'+s+'/writer'))\n" +
  "def go(p,exe):\n" +
  " p.stdin.write(b'x'); p.stdin.close()\n" +
  " if p.wait(): sys.exit(exe+' failed')\n" +
  " print('writer',p.pid,exe,flush=True)\n" +
  "first=subprocess.Popen([exes[0],f,'1500'],stdin=subprocess.PIPE); pid=first.pid\n" +
  "go(first,exes[0])\n" +
  "for i in range(200):\n" +
  " open('/proc/sys/kernel/ns_last_pid','w').write(str(pid-1))\n" +
  " c=subprocess.Popen([exes[1],f,'1500'],stdin=subprocess.PIPE)\n" +
  " if c.pid==pid: go(c,exes[1]); break\n" +
  " c.stdin.close(); c.wait()\n" +
  "else: sys.exit('pid %d was never handed out again' % pid)\n" +
  "shutil.rmtree(d)\n";

/**
 * Methods that need a small C program of test/inode/ ({@link PROGRAMS}),
 * each the case its inode test runs against a control there: other ABIs,
 * `AT_EMPTY_PATH`, native AIO, a syscall held in the kernel while its fd or
 * path argument changes, io_uring without a completion, an `mprotect`
 * upgrade, and attribution across folding, `fork` and pid reuse. Run in the
 * guests beside ROWS.
 */
export const PROGRAM_ROWS: Row[] = [
  {
    name: "32-bit write (int $0x80)",
    cmd: ["{BIN}/abi_ops", "int80-write", "F"],
    action: "modified",
    comm: "abi_ops",
  },
  {
    name: 'fchownat(fd, "", AT_EMPTY_PATH)',
    cmd: ["{BIN}/abi_ops", "fchownat-empty", "F"],
    action: "attributes_changed",
    comm: "abi_ops",
  },
  {
    name: 'utimensat(fd, "", AT_EMPTY_PATH)',
    cmd: ["{BIN}/abi_ops", "utimensat-empty", "F"],
    action: "attributes_changed",
    comm: "abi_ops",
  },
  {
    name: "io_submit write (native AIO)",
    cmd: ["{BIN}/aio_write", "F", "1"],
    action: "modified",
    comm: "aio_write",
  },
  {
    name: "splice held in the kernel (control: fd untouched)",
    cmd: ["sh", "-c", withPlanted('{BIN}/fd_race splice none "$1" "$o"'), "sh", "F"],
    action: "modified",
    comm: "fd_race",
  },
  {
    name: "splice held, its fd dup2()ed over meanwhile",
    cmd: ["sh", "-c", withPlanted('{BIN}/fd_race splice dup2 "$1" "$o"'), "sh", "F"],
    action: "modified",
    comm: "fd_race",
  },
  {
    name: "splice held, its fd closed meanwhile",
    cmd: ["sh", "-c", withPlanted('{BIN}/fd_race splice close "$1" "$o"'), "sh", "F"],
    action: "modified",
    comm: "fd_race",
  },
  {
    name: "truncate, path on a userfaultfd page (control: not swapped)",
    cmd: ["{BIN}/path_stall", "truncate", "F", "-"],
    action: "modified",
    comm: "path_stall",
    needs: "userfaultfd",
  },
  {
    name: "truncate, path swapped in memory after the kernel copied it",
    cmd: ["sh", "-c", `${SWAPPED} && {BIN}/path_stall truncate "$1" "$s"`, "sh", "F"],
    action: "modified",
    comm: "path_stall",
    needs: "userfaultfd",
  },
  {
    name: "chmod, path swapped in memory after the kernel copied it",
    cmd: ["sh", "-c", `${SWAPPED} && {BIN}/path_stall chmod "$1" "$s"`, "sh", "F"],
    action: "attributes_changed",
    comm: "path_stall",
    needs: "userfaultfd",
  },
  {
    name: "rename over, path swapped in memory after the kernel copied it",
    cmd: [
      "sh",
      "-c",
      withPlanted(`${SWAPPED} && {BIN}/path_stall rename "$1" "$s" "$o"`),
      "sh",
      "F",
    ],
    action: "replaced",
    comm: "path_stall",
    needs: "userfaultfd",
  },
  {
    name: "io_uring write with IOSQE_CQE_SKIP_SUCCESS (no completion)",
    cmd: ["{BIN}/uring_ops", "write", "F"],
    action: "modified",
    comm: "uring_ops",
    needs: "IOSQE_CQE_SKIP_SUCCESS (5.17+)",
  },
  {
    name: "mprotect(PROT_WRITE) of a shared mapping, then a memory write",
    cmd: ["{BIN}/mprotect_write", "F", "single"],
    action: "modified",
    comm: "mprotect_write",
  },
  {
    name: "two writers at once (both named)",
    cmd: ["sh", "-c", `${WRITER} "$1" benign & ${WRITER} "$1" attacker & wait`, "sh", "F"],
    action: "modified",
    comm: "sh",
    writers: true,
  },
  {
    name: "fork after mmap: the child writes (its pid named)",
    cmd: py(FORKED_MAP_WRITE),
    action: "modified",
    comm: "python3",
    writers: true,
  },
  {
    name: "pid reuse: a new executable under an earlier writer's pid",
    cmd: [...py(PID_REUSE), "{BIN}/append_on_input"],
    action: "modified",
    comm: "writer",
    writers: true,
    needs: "/proc/sys/kernel/ns_last_pid",
  },
];
