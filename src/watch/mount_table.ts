/**
 * The agent's own mount table (/proc/self/mountinfo): what watched paths
 * resolve through. The kernel reports every mount, umount and move_mount
 * that may reach the agent, in any mount namespace; only one that changed
 * this table can have changed what a watched path names, and only for the
 * paths at or below the mount points whose lines changed. Mounts in a
 * container's private namespace, or a systemd unit's, leave it as it was.
 *
 * @module
 */

/** Reads /proc/self/mountinfo; undefined when it cannot be read. */
export function readMountInfo(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return undefined;
  }
}

/**
 * A mountinfo line's mount point (its fifth field, octal escapes such as
 * `\040` decoded); undefined when malformed, or when it holds U+FFFD: bytes
 * that were not UTF-8 become that when read as text, and cannot be matched
 * to a watched path's own bytes (every path is looked up then).
 */
export function mountPointOf(line: string): string | undefined {
  const field = line.split(" ")[4];
  if (!field?.startsWith("/") || field.includes("\uFFFD")) return undefined;
  return field.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** What changed in the mount table: the mount points whose lines came or went, or "all". */
export type MountChanges = readonly string[] | "all";

/** Tells whether, and where, the agent's mount table changed since it last looked. */
export class MountTable {
  #last: string | undefined;
  readonly #read: () => string | undefined;

  /** Takes the first look now. */
  constructor(read: () => string | undefined = readMountInfo) {
    this.#read = read;
    this.#last = read();
  }

  /**
   * undefined when the table is as it was; else the mount points of the
   * lines that appeared or went (a mount, an unmount, a move, a remount),
   * or "all" when the table cannot be read or a changed line not parsed.
   */
  changes(): MountChanges | undefined {
    const now = this.#read();
    if (now !== undefined && now === this.#last) return undefined;
    const before = this.#last;
    this.#last = now;
    if (now === undefined || before === undefined) return "all";
    const was = new Set(before.split("\n"));
    const is = new Set(now.split("\n"));
    const points = new Set<string>();
    for (const [a, b] of [[is, was], [was, is]]) {
      for (const line of a) {
        if (line === "" || b.has(line)) continue;
        const p = mountPointOf(line);
        if (p === undefined) return "all";
        points.add(p);
      }
    }
    return [...points];
  }
}

/** Whether `path` is at or below one of `changes`' mount points. */
export function underMountChanges(changes: MountChanges, path: string): boolean {
  if (changes === "all") return true;
  return changes.some((m) => m === "/" || path === m || path.startsWith(`${m}/`));
}

/**
 * The host's mount table, when the agent runs in another mount namespace (a
 * systemd unit's `ProtectSystem`, `PrivateTmp`; a container): the table of
 * `hostPid` (PID 1, whose namespace is the host's; `BPFINK_HOST_PID` names
 * another). Such a namespace gets the host's later mounts only while their
 * propagation lasts: once root on the host runs `mount --make-private` on a
 * mount above a watched path, a file system mounted over the path there is
 * what the host's programs read, and the agent's own table never shows it.
 * Undefined when the agent shares the host's namespace (or cannot tell: the
 * tables read alike), or the host's table cannot be read.
 */
export function hostMountTable(
  hostPid = Number(Deno.env.get("BPFINK_HOST_PID") ?? 1),
): MountTable | undefined {
  const path = `/proc/${hostPid}/mountinfo`;
  const read = () => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  };
  const ns = (pid: string) => {
    try {
      return Deno.readLinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
      return undefined;
    }
  };
  const [own, host] = [ns("self"), ns(String(hostPid))];
  if (own !== undefined && own === host) return undefined;
  const first = read();
  if (first === undefined || (host === undefined && first === readMountInfo())) return undefined;
  return new MountTable(read);
}
