/**
 * Details about the process behind an event that the kernel event does not
 * carry in full: the executable's path and the cgroup (with a container id
 * when the cgroup path names one). Read from /proc right away, best effort:
 * a process that already exited keeps what the kernel sent (the exe basename).
 * The kernel event names the process by pid and start time: /proc is trusted
 * only while its stat shows that start time, and the cache is keyed by both.
 * The path /proc/PID/exe shows is the executable only while that path, looked
 * up here, is the very file the process runs (executableOf).
 *
 * @module
 */

/** What /proc told us about a process. */
export interface ProcessDetails {
  /** The executable's path: the file at this path here is the one the process runs. */
  executable?: string;
  /**
   * What /proc/PID/exe showed when that path, looked up here, is not the file
   * the process runs: deleted or replaced since (`… (deleted)`), a memfd, or a
   * path in another mount namespace (a bind mount over `/usr/bin/dpkg` made
   * in `unshare -m`, a container's own tree). Never trusted as the executable.
   */
  executableUnverified?: string;
  /**
   * The process runs another program than when the kernel saw it (it called
   * execve since: same pid, same start time): what /proc shows of its
   * executable is not the writer's, and is not kept.
   */
  ranAnother?: true;
  cgroup?: string;
  containerId?: string;
}

/** Container runtimes' cgroup names: docker, containerd/CRI, CRI-O, podman. */
const CONTAINER_ID =
  /(?:docker|cri-containerd|crio|libpod)[-/]([0-9a-f]{64})(?:\.scope)?|\/docker\/([0-9a-f]{64})/;

/** The container id in a cgroup path, if any. */
export function containerIdOf(cgroupPath: string): string | undefined {
  const m = CONTAINER_ID.exec(cgroupPath);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The unified (v2) cgroup path from /proc/PID/cgroup text, or the first one. */
export function cgroupPathOf(text: string): string | undefined {
  const lines = text.split("\n").filter((l) => l);
  const v2 = lines.find((l) => l.startsWith("0::"));
  const line = v2 ?? lines[0];
  return line ? line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1) : undefined;
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux ABI bpfink runs on). */
const USER_HZ = 100n;
/** Nanoseconds per clock tick of /proc/PID/stat. */
export const NS_PER_TICK = 1_000_000_000n / USER_HZ;

/** The start time (field 22, clock ticks since boot) in /proc/PID/stat text. */
export function startTicksOf(statText: string): bigint | undefined {
  // The name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const rest = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
  const v = rest[22 - 3];
  return v && /^\d+$/.test(v) ? BigInt(v) : undefined;
}

/**
 * Whether /proc/`tgid` is still the process that started at `startNs` (boot-time
 * ns, as the kernel event carries it). Undefined when it cannot tell.
 */
export function sameProcess(tgid: number, startNs: bigint): boolean | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${tgid}/stat`);
  } catch {
    return false; // exited: whatever holds the pid later is another process
  }
  const ticks = startTicksOf(text);
  return ticks === undefined ? undefined : ticks === startNs / NS_PER_TICK;
}

/** What d_path adds to the name of a file that was unlinked. */
const DELETED = / \(deleted\)$/;

/**
 * What /proc/`tgid`/exe shows, and whether that path, looked up in the
 * agent's own mount namespace, is the very file (device and inode) the process
 * runs. Undefined when the process is gone or has no executable (a kernel
 * thread). A path is only text: a binary deleted or replaced after its start,
 * a memfd, or a bind mount over `/usr/bin/dpkg` in another mount namespace
 * (any user's `unshare -Urm`) all show a path that names another file here,
 * or none.
 */
export function executableOf(
  tgid: number,
): { shown: string; verified: boolean; ino: bigint } | undefined {
  let shown: string;
  let running: Deno.FileInfo;
  try {
    shown = Deno.readLinkSync(`/proc/${tgid}/exe`);
    running = Deno.statSync(`/proc/${tgid}/exe`); // the file itself, even unlinked
  } catch {
    return undefined; // exited, or a kernel thread
  }
  const ino = BigInt(running.ino ?? 0);
  try {
    const here = Deno.statSync(shown);
    return { shown, verified: here.dev === running.dev && here.ino === running.ino, ino };
  } catch {
    return { shown, verified: false, ino }; // the path names nothing here
  }
}

const cache = new Map<
  string,
  { at: number; exeBase: string; exeIno?: bigint; details: ProcessDetails }
>();
const CACHE_MS = 2000;

/**
 * Whether details cached for a process serve a caller whose executable is
 * to end in `want`: no check wanted, the same check, or an executable read
 * unchecked that passes it.
 */
function serves(hit: { exeBase: string; details: ProcessDetails }, want: string): boolean {
  return want === "" || hit.exeBase === want ||
    (hit.exeBase === "" && !!hit.details.executable?.endsWith(`/${want}`));
}

/**
 * Reads details for process `tgid` that started at `startNs` (0n: unknown),
 * trusting /proc only while it shows that very process. The cache is keyed by
 * (pid, start time), so a reused pid never inherits another process's details.
 * `exeIno`, the inode of the executable the kernel saw the process run (0n or
 * undefined: unknown), keeps a program it execve()d since from passing for it.
 * The start is keyed in clock ticks, the unit /proc tells it in (and checks
 * it in): a process that the syscall hook names (its start in ns) and
 * fanotify names (its start read from /proc) is one entry, read once.
 */
export function processDetails(
  tgid: number,
  exeBase: string,
  startNs = 0n,
  exeIno?: bigint,
): ProcessDetails {
  const now = Date.now();
  const key = `${tgid}:${startNs / NS_PER_TICK}`;
  const hit = cache.get(key);
  // A lookup that knows the executable's inode (the kernel's event) uses only an entry that
  // checked that inode; fanotify's (no inode) may use one that found /proc still showing it.
  if (
    hit && now - hit.at < CACHE_MS && serves(hit, exeBase) &&
    (hit.exeIno === exeIno || (exeIno === undefined && !hit.details.ranAnother))
  ) {
    return hit.details;
  }
  const details: ProcessDetails = {};
  // The pid may already belong to another process: then /proc says nothing about ours.
  if (startNs !== 0n && sameProcess(tgid, startNs) === false) return details;
  const exe = executableOf(tgid);
  if (exe && exeIno && exe.ino !== exeIno) {
    // Written by one program, then execve() of another (`/tmp/x/sleep` writes and becomes
    // /usr/bin/sleep): /proc shows the second.
    details.ranAnother = true;
  } else if (exe && (!exeBase || exe.shown.replace(DELETED, "").endsWith(`/${exeBase}`))) {
    // The pid may already belong to another program: trust /proc only when the names agree.
    if (exe.verified) details.executable = exe.shown;
    else details.executableUnverified = exe.shown;
  }
  try {
    const cg = cgroupPathOf(Deno.readTextFileSync(`/proc/${tgid}/cgroup`));
    if (cg) {
      details.cgroup = cg;
      const id = containerIdOf(cg);
      if (id) details.containerId = id;
    }
  } catch {
    // exited
  }
  // Read between two checks: a pid reused while /proc was read is caught too.
  if (startNs !== 0n && sameProcess(tgid, startNs) === false) return {};
  if (cache.size > 4096) cache.clear();
  cache.set(key, { at: now, exeBase, exeIno, details });
  return details;
}
