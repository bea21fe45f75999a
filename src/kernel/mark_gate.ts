/**
 * The mark gate: when the kernel object may skip its watched-map lookup for
 * an inode with no fsnotify mark (bpf/fim_common.bpf.h, `mark_gate`).
 *
 * The skip is sound only while every inode in the watched map carries a
 * mark placed before it entered the map. So the gate is on only while both
 * hold: the marks' owner (the fanotify source) allows it, and no inode in
 * the map is unvouched. An inode is vouched for by the call that put it in
 * the map, and only when a mark was placed on it in that same call; any
 * other entry (a failed mark, the self-test's canary, an early watch before
 * the first read) turns the gate off until it leaves the map or is vouched
 * for. A missing vouch costs speed, never an event.
 *
 * @module
 */

/** Whether the kernel's watched-map lookup may be skipped for unmarked inodes. */
export class MarkGate {
  /** Keys in the watched map that no mark vouches for. */
  readonly #unvouched = new Set<string>();
  #allowed = false;
  #on = false;
  /** Times the gate turned off. */
  closings = 0;

  /**
   * `write` sets the kernel's switch; it is called only when the gate
   * changes. `read` tells what the kernel's switch says now (the self-test
   * compares it, since anyone with root can write the map).
   */
  constructor(readonly write: (on: boolean) => void, readonly read?: () => boolean) {}

  /**
   * Whether the kernel's switch still says what this gate wrote; if not
   * (someone wrote the map), writes it again and returns false.
   */
  keptInKernel(): boolean {
    if (!this.read || this.read() === this.#on) return true;
    this.write(this.#on);
    return false;
  }

  /** The kernel's switch now. */
  get on(): boolean {
    return this.#on;
  }

  /** Inodes in the watched map with no mark vouched for. */
  get unvouched(): number {
    return this.#unvouched.size;
  }

  /**
   * Whether the marks' owner stands behind its marks: allowed once it marks
   * every watched inode, withdrawn before its marks go (the group closes) or
   * when it can no longer say (it stopped reading).
   */
  allow(allowed: boolean): void {
    this.#allowed = allowed;
    this.#sync();
  }

  /** `key` entered (or stays in) the watched map; `marked`: a mark was just placed on it. */
  entered(key: string, marked: boolean): void {
    if (marked) this.#unvouched.delete(key);
    else this.#unvouched.add(key);
    this.#sync();
  }

  /** `key` left the watched map. */
  left(key: string): void {
    if (this.#unvouched.delete(key)) this.#sync();
  }

  #sync(): void {
    const on = this.#allowed && this.#unvouched.size === 0;
    if (on === this.#on) return;
    // Off is written before anything else changes; a failed write leaves the gate as it was.
    this.write(on);
    this.#on = on;
    if (!on) this.closings++;
  }
}
