/**
 * Decides which names made and gone before any read are reported one by one,
 * and folds the rest into a count. Each is a real name the kernel reported,
 * so none is dropped; but a user who can write a watched directory (their
 * `~/.ssh`, a shared directory) can create and unlink names as fast as they
 * can loop, and one report (two events) a name would turn their churn into
 * a flood of events. So per directory and per user who made the names, the
 * first ITEMIZED_PER_WINDOW in a window of WINDOW_MS are itemized, and the
 * others are counted into one summary at the window's end. One user's churn
 * never uses another user's share (root's drop-in in a directory where a
 * user churns is itemized).
 *
 * Which names are itemized is not the churner's to choose by their order: a
 * name a program reads by its meaning (`authorized_keys`, a cron.d file cron
 * runs; the caller says which, FileMonitorOptions.matters) is itemized
 * whatever came before it, once per window and name, up to
 * MATTERING_PER_WINDOW distinct such names; decoys made first use up only the
 * share of names that matter to no program. A summary counts every name and
 * how many distinct ones, quotes each name that matters among them (up to
 * SAMPLE_MATTERING, then drawn at random from them), and quotes SAMPLE_NAMES
 * of the others drawn at random from all of them (not the first ones, which
 * the churner orders).
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";

/** Names made and gone before any read reported one by one, per directory and user, per window. */
export const ITEMIZED_PER_WINDOW = 8;
/**
 * Distinct names that matter (a program reads them by name) itemized per
 * directory and user, per window, beside ITEMIZED_PER_WINDOW: each once.
 */
export const MATTERING_PER_WINDOW = 64;
/** The window (ms) over which ITEMIZED_PER_WINDOW holds. */
export const WINDOW_MS = 5000;
/** Names that matter a summary quotes (each once). */
export const SAMPLE_MATTERING = 64;
/** Other names a summary quotes, drawn at random from its distinct names. */
export const SAMPLE_NAMES = 8;
/** Distinct names a summary tells apart; past it, each further name counts as a new one. */
export const DISTINCT_MAX = 4096;
/** Processes a summary names. */
export const SAMPLE_MAKERS = 4;

/** The names folded for one directory and user over one window. */
export interface ChurnSummary {
  /** The watched directory. */
  dir: string;
  /** The effective uid of the processes that made them (-1: no process known). */
  uid: number;
  /** Names folded (not itemized). */
  names: number;
  /** Distinct names among them (names past DISTINCT_MAX distinct ones count each). */
  distinct: number;
  /**
   * The names among them that a program reads by name, each once (at most
   * SAMPLE_MATTERING, drawn at random from them past it).
   */
  readByName: string[];
  /** Others of them, drawn at random from the distinct ones (at most SAMPLE_NAMES). */
  sample: string[];
  /** The processes that made them (one event each, at most SAMPLE_MAKERS). */
  makers: FimEvent[];
}

interface Window {
  /** The directory and user it counts for (the #windows key). */
  key: string;
  startedAt: number;
  itemized: number;
  /** The names that matter itemized in it. */
  mattering: Set<string>;
  folded?: ChurnSummary;
  /** The makers already in `folded` (pid and start time). */
  makerKeys?: Set<string>;
  /** The distinct names in `folded` (at most DISTINCT_MAX). */
  seen?: Set<string>;
  /** The distinct names in `folded` that matter to no program, and those that matter (reservoirs' counts). */
  others: number;
  read: number;
  /** Names found existing while its user was past the share: settled at its end (TransientFold.defer). */
  deferred: { name: string; maker: FimEvent | undefined; settle: () => boolean }[];
}

/** Per directory and user, itemize the first names of each window and those that matter, count the rest. */
export class TransientFold {
  readonly #windows = new Map<string, Window>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #now: () => number;
  readonly #random: () => number;
  #stopped = false;
  /** Names itemized, and names folded into summaries. */
  itemizedTotal = 0;
  foldedTotal = 0;

  /** `emit` hears each summary once its window ends. */
  constructor(
    readonly emit: (s: ChurnSummary) => void,
    opts: { now?: () => number; random?: () => number } = {},
  ) {
    this.#now = opts.now ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
  }

  /**
   * Whether name `name` of watched directory `dir`, made by `maker` (when
   * known), is to be reported by itself; when not, it is counted for the
   * summary of its window. `matters`: a program reads the name by its meaning.
   */
  itemize(dir: string, name: string, maker: FimEvent | undefined, matters = false): boolean {
    if (this.#stopped) return false;
    const w = this.#window(dir, maker);
    if (matters && !w.mattering.has(name) && w.mattering.size < MATTERING_PER_WINDOW) {
      w.mattering.add(name);
      this.itemizedTotal++;
      return true;
    }
    if (!matters && w.itemized < ITEMIZED_PER_WINDOW && !w.folded) {
      w.itemized++;
      this.itemizedTotal++;
      return true;
    }
    this.#fold(w, dir, maker, { name, matters }, 1);
    return false;
  }

  /**
   * Whether name `name` of `dir`, made by `maker` and found still there (a
   * listing found it, a read read it), waits for the end of its window
   * before it is reported: its maker's user is past the share in the window
   * (names of theirs were folded already) and no program reads it by name.
   * A churn's names a listing catches before they go would otherwise be one
   * report each. At the window's end `settle` says whether it is still there
   * (and is reported by the caller, late by at most WINDOW_MS) or gone, and
   * then counted in the summary like a name no read found.
   */
  defer(
    dir: string,
    name: string,
    maker: FimEvent | undefined,
    matters: boolean,
    settle: () => boolean,
  ): boolean {
    if (this.#stopped || matters) return false;
    const w = this.#window(dir, maker);
    if (!w.folded) return false;
    w.deferred.push({ name, maker, settle });
    return true;
  }

  /**
   * Counts `n` names of `dir` that are known by number only (events past
   * what a listing keeps by name, NameHistories.overflow) into the summary.
   */
  countUnnamed(dir: string, n: number): void {
    if (this.#stopped || n <= 0) return;
    this.#fold(this.#window(dir, undefined), dir, undefined, undefined, n);
  }

  /** The window of `dir` and `maker`'s user now, a new one when the last is over. */
  #window(dir: string, maker: FimEvent | undefined): Window {
    const uid = maker ? maker.euid : -1;
    const key = `${uid}\0${dir}`;
    const now = this.#now();
    let w = this.#windows.get(key);
    if (w && now - w.startedAt >= WINDOW_MS && !w.folded) {
      this.#windows.delete(key);
      w = undefined;
    }
    if (!w) {
      w = {
        key,
        startedAt: now,
        itemized: 0,
        mattering: new Set(),
        others: 0,
        read: 0,
        deferred: [],
      };
      this.#windows.set(key, w);
    }
    return w;
  }

  /** Counts `n` names (`named`, when known) made by `maker` into `w`'s summary. */
  #fold(
    w: Window,
    dir: string,
    maker: FimEvent | undefined,
    named: { name: string; matters: boolean } | undefined,
    n: number,
  ): void {
    const { key } = w;
    const now = this.#now();
    const uid = maker ? maker.euid : -1;
    this.foldedTotal += n;
    if (!w.folded) {
      w.folded = { dir, uid, names: 0, distinct: 0, readByName: [], sample: [], makers: [] };
      w.makerKeys = new Set();
      w.seen = new Set();
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#close(key);
      }, Math.max(0, WINDOW_MS - (now - w.startedAt)));
      this.#timers.add(t);
    }
    const s = w.folded;
    s.names += n;
    if (named === undefined) s.distinct += n;
    else if (!w.seen!.has(named.name)) {
      if (w.seen!.size < DISTINCT_MAX) w.seen!.add(named.name);
      s.distinct++;
      if (named.matters) this.#draw(s.readByName, SAMPLE_MATTERING, named.name, ++w.read);
      else this.#draw(s.sample, SAMPLE_NAMES, named.name, ++w.others);
    }
    if (maker && s.makers.length < SAMPLE_MAKERS) {
      const k = `${maker.tgid}:${maker.startNs}`;
      if (!w.makerKeys!.has(k)) {
        w.makerKeys!.add(k);
        s.makers.push(maker);
      }
    }
  }

  /**
   * Keeps `name`, the `seen`-th distinct name of its kind, in `quoted` (at
   * most `max`) with the chance every such name has (a reservoir): which
   * names are quoted does not follow the order they were made in.
   */
  #draw(quoted: string[], max: number, name: string, seen: number): void {
    if (quoted.length < max) quoted.push(name);
    else {
      const i = Math.floor(this.#random() * seen);
      if (i < max) quoted[i] = name;
    }
  }

  /**
   * Ends `key`'s window: the names it deferred that are gone are counted,
   * its summary goes out, and the next name starts a new window.
   */
  #close(key: string): void {
    const w = this.#windows.get(key);
    if (!w) return;
    for (const d of w.deferred.splice(0)) {
      if (!d.settle()) this.#fold(w, w.folded!.dir, d.maker, { name: d.name, matters: false }, 1);
    }
    this.#windows.delete(key);
    if (w.folded && !this.#stopped) this.emit(w.folded);
  }

  /** Sends every summary open now (on stop), then takes no more names. */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const key of [...this.#windows.keys()]) this.#close(key);
    this.#stopped = true;
  }
}
