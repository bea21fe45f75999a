/**
 * Room in the watch set for the entries that appear in watched directories
 * after the start, charged to the user who could make them. Anyone who can
 * write in a watched tree (a user's own home, a group-writable spool) can make
 * entries without end, and each costs memory and a slot in the kernel's watch
 * map, which is sized at the start and shared by every watch: unbounded, one
 * user's files would crowd out the inode of a file that root replaces later
 * (`mv` over `/etc/passwd`), whose writes would then go unseen. So each user
 * other than root gets a share, and all of them together a quarter of the map:
 * past it their new entries are refused (counted and warned about), never the
 * ones of root or of another user.
 *
 * @module
 */
import type { FileState } from "./file_state.ts";
import { lstat } from "./native_fs.ts";

/** Entries charged per owner, and to all owners together. */
export class OwnerBudget {
  readonly #held = new Map<number, number>();
  #total = 0;
  /** Owners refused an entry at least once (each is warned about once). */
  readonly #refusedOwners = new Set<number>();

  /** `perOwner` entries for each uid other than 0, `allOwners` for all of them together. */
  constructor(readonly perOwner: number, readonly allOwners: number) {}

  /**
   * A share of the kernel map of `capacity` inodes: a quarter for all users
   * other than root, an eighth for each. The start fills at most half of it
   * (the map holds the watch set twice over), so root keeps a quarter.
   */
  static forCapacity(capacity: number): OwnerBudget {
    return new OwnerBudget(Math.floor(capacity / 8), Math.floor(capacity / 4));
  }

  /** Told of the first entry refused to each owner. */
  onFirstRefusal?: (owner: number, path: string) => void;

  /**
   * Charges entry `path` to `owner`; false (nothing charged) when the owner
   * is over its share. Root is never charged.
   */
  charge(owner: number, path: string): boolean {
    if (owner === 0) return true;
    const held = this.#held.get(owner) ?? 0;
    if (held >= this.perOwner || this.#total >= this.allOwners) {
      if (!this.#refusedOwners.has(owner)) {
        this.#refusedOwners.add(owner);
        this.onFirstRefusal?.(owner, path);
      }
      return false;
    }
    this.#held.set(owner, held + 1);
    this.#total++;
    return true;
  }

  /** Gives back one entry charged to `owner`. */
  release(owner: number): void {
    const held = this.#held.get(owner);
    if (!held) return;
    if (held === 1) this.#held.delete(owner);
    else this.#held.set(owner, held - 1);
    this.#total--;
  }

  /** The one-sentence warning for the first entry `path` refused to `owner`. */
  refusal(owner: number, path: string): string {
    const whose = this.held(owner) >= this.perOwner
      ? `its share of the kernel's watch map (${this.perOwner})`
      : `with other users, their share of the kernel's watch map (${this.allOwners})`;
    return `uid ${owner} has made ${this.held(owner)} new entries in watched directories, ` +
      `${whose}: its further ones (first ${path}) are not watched, so that they cannot crowd ` +
      `out root's (bpfink_watch_refused_entries; max_watches sizes the map)`;
  }

  /** Entries charged to `owner` now. */
  held(owner: number): number {
    return this.#held.get(owner) ?? 0;
  }

  /** Entries charged to all owners now. */
  get total(): number {
    return this.#total;
  }
}

/**
 * Who is charged for new entry `path` in the directory whose state is `dir`:
 * the directory's owner, who alone (with root) can make entries in it; in a
 * directory its group or everyone may write, the entry's own owner.
 */
export function chargedOwner(
  dir: Pick<FileState, "mode" | "uid"> | undefined,
  path: string,
): number {
  if (!dir) return 0;
  if ((dir.mode & 0o022) === 0) return dir.uid;
  try {
    return lstat(path)?.uid ?? dir.uid;
  } catch {
    return dir.uid;
  }
}
