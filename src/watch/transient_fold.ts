/**
 * Decides which names made and gone before any read are reported one by one,
 * and folds the rest into a count. Each is a real name the kernel reported,
 * so none is dropped; but a user who can write a watched directory (their
 * `~/.ssh`, a shared directory) can create and unlink names as fast as they
 * can loop, and one report (two events) a name would turn their churn into
 * a flood of events. So per directory and per user who made the names, the
 * first ITEMIZED_PER_WINDOW in a window of WINDOW_MS are itemized, and the
 * others are counted into one summary at the window's end: how many, a
 * few of their names and the processes that made them. One user's churn
 * never uses another user's share (root's drop-in in a directory where a
 * user churns is itemized).
 *
 * @module
 */
import type { FimEvent } from "../kernel/fim_event.ts";

/** Names made and gone before any read reported one by one, per directory and user, per window. */
export const ITEMIZED_PER_WINDOW = 8;
/** The window (ms) over which ITEMIZED_PER_WINDOW holds. */
export const WINDOW_MS = 5000;
/** Names a summary quotes. */
export const SAMPLE_NAMES = 8;
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
  /** The first of them (at most SAMPLE_NAMES). */
  sample: string[];
  /** The processes that made them (one event each, at most SAMPLE_MAKERS). */
  makers: FimEvent[];
}

interface Window {
  /** The directory and user it counts for (the #windows key). */
  key: string;
  startedAt: number;
  itemized: number;
  folded?: ChurnSummary;
  /** The makers already in `folded` (pid and start time). */
  makerKeys?: Set<string>;
}

/** Per directory and user, itemize the first names of each window, count the rest. */
export class TransientFold {
  readonly #windows = new Map<string, Window>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #now: () => number;
  #stopped = false;
  /** Names itemized, and names folded into summaries. */
  itemizedTotal = 0;
  foldedTotal = 0;

  /** `emit` hears each summary once its window ends. */
  constructor(
    readonly emit: (s: ChurnSummary) => void,
    opts: { now?: () => number } = {},
  ) {
    this.#now = opts.now ?? (() => performance.now());
  }

  /**
   * Whether name `name` of watched directory `dir`, made by `maker` (when
   * known), is to be reported by itself; when not, it is counted for the
   * summary of its window.
   */
  itemize(dir: string, name: string, maker: FimEvent | undefined): boolean {
    if (this.#stopped) return false;
    const w = this.#window(dir, maker);
    if (w.itemized < ITEMIZED_PER_WINDOW && !w.folded) {
      w.itemized++;
      this.itemizedTotal++;
      return true;
    }
    this.#fold(w, dir, maker, name, 1);
    return false;
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
      w = { key, startedAt: now, itemized: 0 };
      this.#windows.set(key, w);
    }
    return w;
  }

  /** Counts `n` names (`name`, when known) made by `maker` into `w`'s summary. */
  #fold(
    w: Window,
    dir: string,
    maker: FimEvent | undefined,
    name: string | undefined,
    n: number,
  ): void {
    const { key } = w;
    const now = this.#now();
    const uid = maker ? maker.euid : -1;
    this.foldedTotal += n;
    if (!w.folded) {
      w.folded = { dir, uid, names: 0, sample: [], makers: [] };
      w.makerKeys = new Set();
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#close(key);
      }, Math.max(0, WINDOW_MS - (now - w.startedAt)));
      this.#timers.add(t);
    }
    const s = w.folded;
    s.names += n;
    if (name !== undefined && s.sample.length < SAMPLE_NAMES) s.sample.push(name);
    if (maker && s.makers.length < SAMPLE_MAKERS) {
      const k = `${maker.tgid}:${maker.startNs}`;
      if (!w.makerKeys!.has(k)) {
        w.makerKeys!.add(k);
        s.makers.push(maker);
      }
    }
  }

  /** Ends `key`'s window: its summary goes out, and the next name starts a new window. */
  #close(key: string): void {
    const w = this.#windows.get(key);
    this.#windows.delete(key);
    if (w?.folded && !this.#stopped) this.emit(w.folded);
  }

  /** Sends every summary open now (on stop), then takes no more names. */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const key of [...this.#windows.keys()]) this.#close(key);
    this.#stopped = true;
  }
}
