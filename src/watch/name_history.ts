/**
 * What the kernel said about each name of a watched directory between two
 * listings of it: the first event that put an inode at the name, the latest
 * that took one away, and how many there were. A listing sees only the end
 * of that story; this keeps its beginning, so that a name made and gone
 * before any read (a drop-in created, used and removed within a
 * millisecond) is still reported, naming the process that made it.
 *
 * @module
 */
import { type FimEvent, FimOp } from "../kernel/fim_event.ts";

/** Name operations that put an inode at a name (a rename: either side of it). */
const MAKES = new Set([FimOp.NewEntry, FimOp.Create, FimOp.Rename, FimOp.Link]);
/** Name operations that take an inode away from a name. */
const REMOVES = new Set([FimOp.Unlink, FimOp.Rename]);

/** One name's events between two listings of its directory. */
export interface NameHistory {
  /** The first event that may have put an inode at the name. */
  made?: FimEvent;
  /** The latest event that may have taken one away. */
  removed?: FimEvent;
  /** The latest event about the name. */
  latest: FimEvent;
  /** Events about the name. */
  events: number;
  /**
   * The events that named it, for crediting: the latest of each kind of
   * operation from each process, in order, at most NAME_CAUSES (a maker
   * stays while another can go). Only the latest was kept once: a `chmod`
   * of a file made a millisecond before took the creation's credit, and the
   * maker was named nowhere.
   */
  causes: FimEvent[];
}

/** Events kept per name (NameHistory.causes). */
export const NAME_CAUSES = 4;

/** Most names one directory's histories keep between two listings; past it, events are counted only. */
export const MAX_NAMES = 4096;

/**
 * Names that matter (NameHistories' `matters`) kept past MAX_NAMES: a churn
 * of decoys that fills MAX_NAMES does not turn the name a program reads
 * (`authorized_keys`) made after them into a count.
 */
export const MAX_MATTERING_BEYOND = 256;

/** The histories of one directory's names, between two listings of it. */
export class NameHistories {
  readonly #byName = new Map<string, NameHistory>();
  /** Events about names not kept (over MAX_NAMES). */
  overflow = 0;

  /** Names kept past MAX_NAMES because they matter. */
  #beyond = 0;

  /**
   * `writerOf` names the process of an event (one process's events of a kind
   * are one cause); `matters` says which names a program reads by name (kept
   * past MAX_NAMES, up to MAX_MATTERING_BEYOND more).
   */
  constructor(
    readonly writerOf: (e: FimEvent) => string,
    readonly matters: (name: string) => boolean = () => false,
  ) {}

  /** Notes event `e` about entry `e.name`. */
  note(e: FimEvent): void {
    const name = e.name;
    if (!name) return;
    let h = this.#byName.get(name);
    if (!h) {
      if (this.#byName.size >= MAX_NAMES) {
        if (this.#beyond >= MAX_MATTERING_BEYOND || !this.matters(name)) {
          this.overflow++;
          return;
        }
        this.#beyond++;
      }
      h = { latest: e, events: 0, causes: [] };
      this.#byName.set(name, h);
    }
    h.latest = e;
    h.events++;
    if (!h.made && MAKES.has(e.op)) h.made = e;
    if (REMOVES.has(e.op)) h.removed = e;
    const same = h.causes.findIndex((c) => c.op === e.op && this.writerOf(c) === this.writerOf(e));
    if (same >= 0) h.causes.splice(same, 1);
    h.causes.push(e);
    if (h.causes.length > NAME_CAUSES) {
      const drop = h.causes.findIndex((c) => !MAKES.has(c.op));
      h.causes.splice(drop >= 0 ? drop : 0, 1);
    }
  }

  /** Takes in what `other` kept (a listing that failed, due again beside a newer one). */
  merge(other: NameHistories): void {
    for (const [, h] of other.entries()) {
      for (const e of h.causes) this.note(e);
    }
    this.overflow += other.overflow;
  }

  /** The latest event about `name`, if any. */
  latest(name: string): FimEvent | undefined {
    return this.#byName.get(name)?.latest;
  }

  /** The history of `name`, if any. */
  get(name: string): NameHistory | undefined {
    return this.#byName.get(name);
  }

  /** Every name with its history. */
  entries(): IterableIterator<[string, NameHistory]> {
    return this.#byName.entries();
  }

  get size(): number {
    return this.#byName.size;
  }
}

/**
 * The inode a Create event says the open put at its name (the BPF object
 * fills it), or undefined when the event does not say (fanotify's, a
 * dropped event's, another operation).
 */
export function madeInode(e: FimEvent | undefined): bigint | undefined {
  return e?.op === FimOp.Create && e.via !== "fanotify" && e.ino !== 0n ? e.ino : undefined;
}
