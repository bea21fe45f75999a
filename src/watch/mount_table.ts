/**
 * The agent's own mount table (/proc/self/mountinfo): what watched paths
 * resolve through. The kernel reports every mount, umount and move_mount
 * that may reach the agent, in any mount namespace; only one that changed
 * this table can have changed what a watched path names. Mounts in a
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

/** Tells whether the agent's mount table changed since it last looked. */
export class MountTable {
  #last: string | undefined;
  readonly #read: () => string | undefined;

  /** Takes the first look now. */
  constructor(read: () => string | undefined = readMountInfo) {
    this.#read = read;
    this.#last = read();
  }

  /** True when the table differs from the last look, or cannot be read (then anything may have moved). */
  changed(): boolean {
    const now = this.#read();
    if (now !== undefined && now === this.#last) return false;
    this.#last = now;
    return true;
  }
}
