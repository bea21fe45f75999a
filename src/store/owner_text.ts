/**
 * How much text the baseline keeps for the line diffs of each user's files.
 * A generic text file's bytes are kept (up to `diff_max_bytes` each) so that
 * its next change can be shown line by line; the copy is root's, in
 * bpfink's database. Whoever can write in a watched tree (a service's web
 * root, a user's home, a group-writable spool) chooses how many such files
 * there are and what is in them: unbounded, a user with a quota of their own
 * makes bpfink keep as much again on /var, up to 256 KiB for each entry the
 * watch set gives them. So the text kept for files of each owner other than
 * root is bounded (`user_text_max_bytes`); past it, their files are still
 * hashed and every change reported, without a line diff, until some of
 * their text goes. Root's files always keep theirs.
 *
 * @module
 */
import { log } from "../log.ts";
import { mib } from "../byte_size.ts";

/** The text kept per owner, and by which path. */
export class OwnerText {
  readonly #byPath = new Map<string, { uid: number; bytes: number }>();
  readonly #byOwner = new Map<number, number>();
  readonly #warned = new Set<number>();
  /** Files whose text was not kept because their owner was at the budget. */
  refused = 0;

  /** `maxBytes` of text per owner other than root. */
  constructor(readonly maxBytes: number) {}

  /** Text kept for the files of `uid`. */
  held(uid: number): number {
    return this.#byOwner.get(uid) ?? 0;
  }

  /**
   * Whether `path`, owned by `uid`, may keep `bytes` of text (what it keeps
   * now given back first); when it may, they are charged at once, so that the
   * files of one batch cannot pass the budget together before they are written.
   */
  take(uid: number, path: string, bytes: number): boolean {
    if (uid === 0) return true;
    const had = this.#byPath.get(path);
    const held = this.held(uid) - (had?.uid === uid ? had.bytes : 0);
    if (held + bytes <= this.maxBytes) {
      this.kept(path, uid, bytes);
      return true;
    }
    this.refused++;
    if (!this.#warned.has(uid)) {
      this.#warned.add(uid);
      log("store").warn(
        `files of uid ${uid} hold ${mib(held)} of text kept for line diffs ` +
          `(user_text_max_bytes is ${mib(this.maxBytes)}): ` +
          `their changes are reported without a line diff until some of it goes (first ${path}; ` +
          `said once per uid)`,
      );
    }
    return false;
  }

  /** `path` keeps `bytes` of text for `uid` now (root's, or none: nothing charged). */
  kept(path: string, uid: number, bytes: number): void {
    const had = this.#byPath.get(path);
    if (had) {
      const left = this.held(had.uid) - had.bytes;
      if (left > 0) this.#byOwner.set(had.uid, left);
      else this.#byOwner.delete(had.uid);
      this.#byPath.delete(path);
    }
    if (uid === 0 || bytes === 0) return;
    this.#byPath.set(path, { uid, bytes });
    this.#byOwner.set(uid, this.held(uid) + bytes);
  }
}
