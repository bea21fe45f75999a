/**
 * The change methods bpfink must catch, one real tool or syscall per row.
 * Shared by test/coverage_test.ts (bpfink alone, must pass) and
 * bench/coverage/compare.ts (bpfink beside inotifywait, auditd and aide).
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

/** The command line of `row` for watched file `file` (`F` and `{F}` replaced). */
export function commandFor(row: Row, file: string): string[] {
  return row.cmd.map((a) => a === "F" ? file : a.replace("{F}", file));
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
