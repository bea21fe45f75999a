/**
 * One loaded and attached bpfink kernel object: open → load → attach → poll,
 * and the reverse on close. Owns the object, its links and its ring buffer.
 *
 * @module
 */
import { strategy, type StrategyName, type StrategySpec } from "../../kernels/strategies.ts";
import { BpfError } from "../bpf/bpf_error.ts";
import { errorMessage } from "../error_message.ts";
import {
  type BpfLink,
  type BpfMap,
  BpfObject,
  type BpfProgram,
  type OpenOptions,
  UpdateFlag,
} from "../bpf/bpf_object.ts";
import {
  decodeExited,
  decodeFimEvent,
  decodeHeldWriters,
  type ExitedProcess,
  FIM_DEV_MOUNT,
  FIM_DEV_UNPLACED,
  FIM_EVENT_HEAD_SIZE,
  FIM_EVENT_LAYOUT,
  FIM_EXITED_LAYOUT,
  FIM_FOLD_CACHE_LAYOUT,
  FIM_FOLD_GEN,
  FIM_PENDING_LAYOUT,
  type FimEvent,
  type PendingWriter,
} from "./fim_event.ts";
import { kernelFunctionsPresent, sectionTarget } from "./kernel_symbols.ts";
import type { Libbpf } from "../bpf/libbpf.ts";
import { type ProgramStats, programStats } from "../bpf/prog_stats.ts";
import { type RecordMatch, RingBuffer } from "../bpf/ring_buffer.ts";
import {
  decodeInodeKey,
  encodeInodeKey,
  type InodeId,
  inodeKeyString,
} from "../watch/inode_key.ts";
import { MarkGate } from "./mark_gate.ts";
import { Errno } from "../errno.ts";
import { inInitialUserNamespace } from "./user_namespace.ts";
import { readMountNamespaces } from "./mount_namespace.ts";

/** Indexes of the stats map (enum fim_stat). */
export const FimStat = { drops: 0, events: 1, coalesced: 2, unheld: 3 } as const;

/** The program that counts every thread's exit (fim_fold_exit), which the fold cache needs. */
const EXIT_PROGRAM = "fim_process_exit";

/** Counters the kernel side keeps. */
export interface FimCounters {
  drops: bigint;
  events: bigint;
  coalesced: bigint;
  /** Drops that left no pending entry held (bpf/fim_common.bpf.h's fim_lose): counted before `drops`. */
  unheld: bigint;
}

/** A program that did not attach and the coverage that costs. */
export interface LostCoverage {
  program: string;
  lost: string;
  error: string;
}

/** Options for loading a strategy. */
export interface LoadOptions extends OpenOptions {
  /** Receives every decoded event. */
  onEvent: (e: FimEvent) => void;
  /** Load the strategy's alternate programs instead of the primary ones. */
  alternate?: boolean;
  /** Entries of the watched, watched_entries, watched_basenames and pending maps (default 65536). */
  maxWatches?: number;
  /** Entries of the pending map alone (tests: a full map must count drops, not folds). */
  pendingEntries?: number;
  /** Entries of the dir_paths map (default: four times maxWatches). */
  dirPaths?: number;
  /** Ring buffer bytes (a power of two, at least 1 MiB; default 1 MiB). */
  ringBytes?: number;
  /**
   * Bytes of the queue a native pump empties the ring into off the main
   * thread (src/bpf/ring_pump.ts); 0 or unset: the ring alone, read on the
   * main thread.
   */
  ringQueueBytes?: number;
}

/** A strategy's object, loaded, attached and polled. */
export class FimKernel {
  readonly spec: StrategySpec;
  readonly lost: LostCoverage[] = [];
  readonly loadMs: number;
  readonly attachMs: number;
  #obj: BpfObject;
  #links: BpfLink[] = [];
  #detached?: BpfProgram[];
  #watched: BpfMap;
  #entries: BpfMap;
  #dirPaths: BpfMap;
  #basenames: BpfMap;
  #pending: BpfMap;
  #stats: BpfMap;
  #exited: BpfMap;
  #foldGen: BpfMap;
  #foldCache: BpfMap;
  /** Flags watchInodesEarly() wrote, by inode key, until watchInode() or unwatchInode() comes. */
  readonly #early = new Map<string, number>();
  /** Whether the kernel takes map updates in batches (5.6+; assumed until it refuses). */
  #batches = true;
  /** Entry keys watchEntry() holds back (holdEntries), back to back. */
  #heldEntries?: { keys: Uint8Array<ArrayBuffer>; n: number };
  /** Held entries the map refused, for holdEntries' caller. */
  #heldRefused: { failed: number; error?: unknown } = { failed: 0 };
  /** The re-arm generation last written to `fold_gen`, and the buffer that carries it. */
  #gen = 0n;
  readonly #genValue = new Uint8Array(8);
  /** When the kernel may skip the watched-map lookup for an inode with no fsnotify mark. */
  readonly gate: MarkGate;
  #rb?: RingBuffer;
  onEvent: (e: FimEvent) => void;
  /**
   * Runs after each turn that read records from the ring buffer, events or
   * drop notices (FIM_DROP_NOTICE): what to check when the kernel has spoken,
   * without a timer that wakes an idle agent. `polled`: the ring's poll loop
   * read them, not a drain the agent's own code asked for.
   */
  onRecords?: (polled: boolean) => void;
  /** Waits of behind(): each ends once the records read reach its target, or at its timeout. */
  readonly #behindWaits = new Set<{ target: bigint; done: () => void }>();

  private constructor(
    spec: StrategySpec,
    obj: BpfObject,
    onEvent: (e: FimEvent) => void,
    loadMs: number,
    attachMs: number,
  ) {
    this.spec = spec;
    this.#obj = obj;
    this.onEvent = onEvent;
    this.loadMs = loadMs;
    this.attachMs = attachMs;
    this.#watched = obj.map("watched");
    this.#entries = obj.map("watched_entries");
    this.#dirPaths = obj.map("dir_paths");
    this.#basenames = obj.map("watched_basenames");
    this.#pending = obj.map("pending");
    this.#stats = obj.map("stats");
    this.#exited = obj.map("exited");
    this.#foldGen = obj.map("fold_gen");
    this.#foldCache = obj.map("fold_cache");
    // Mounts in a namespace a less privileged user namespace owns cannot reach the
    // agent's paths: the kernel leaves them out when the agent is in the initial one.
    obj.map("mounts_from_init_userns_only").update(u32(0), u32(inInitialUserNamespace() ? 1 : 0));
    // Mounts where the agent reads the table are each told (never folded): a mount made and
    // undone there is found by its own event (FileMonitor's mounted_briefly).
    const readNs = obj.map("mount_ns_read");
    for (const [i, ns] of [...readMountNamespaces()].slice(0, 2).entries()) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigUint64(0, ns, true);
      readNs.update(u32(i), v);
    }
    const gateMap = obj.map("mark_gate");
    this.gate = new MarkGate(
      (on) => gateMap.update(u32(0), u32(on ? 1 : 0)),
      () => (gateMap.lookup(u32(0), 4)?.[0] ?? 0) !== 0,
    );
  }

  /**
   * Opens, loads and attaches strategy `name` from `bytes`, then starts polling.
   * An optional program that the kernel lacks, refuses or cannot attach only
   * loses its coverage (listed in `lost`); any other failure fails the load.
   */
  static load(lib: Libbpf, name: StrategyName, bytes: Uint8Array, opts: LoadOptions): FimKernel {
    const spec = strategy(name);
    const lost: LostCoverage[] = [];
    const dropped = new Set<string>();
    // libbpf cannot load part of an object: on a refused optional program, reopen without it.
    for (let attempt = 0;; attempt++) {
      const obj = BpfObject.open(lib, `fim-${name}`, bytes, opts);
      try {
        const t0 = performance.now();
        chooseVariant(obj, spec, opts.alternate ?? false);
        if (opts.maxWatches) {
          for (const m of ["watched", "watched_entries", "watched_basenames", "pending"]) {
            obj.setMaxEntries(m, opts.maxWatches);
          }
          // One key per ancestor of each directory holding watched names.
          obj.setMaxEntries("dir_paths", opts.dirPaths ?? opts.maxWatches * 4);
        }
        if (opts.pendingEntries) obj.setMaxEntries("pending", opts.pendingEntries);
        if (opts.ringBytes) obj.setMaxEntries("events", opts.ringBytes);
        // Optional programs aimed at a function this kernel lacks would fail the whole
        // load (fentry resolves its target at load time): leave them out up front.
        const funcs = kernelFunctionsPresent(
          obj.programs().filter((p) => p.name in spec.optional).map((p) => sectionTarget(p.section))
            .filter((t) => t !== undefined),
        );
        // A dropped program's fallback (a `?`-section program, off by default) loads in its place.
        const fallbacks = spec.fallbacks ?? {};
        for (const [primary, list] of Object.entries(fallbacks)) {
          if (!dropped.has(primary)) continue;
          for (const f of list) if (!dropped.has(f)) obj.program(f).setAutoload(true);
        }
        for (const p of obj.programs()) {
          const target = sectionTarget(p.section);
          const helper = spec.helpers?.[p.name];
          if (!(p.name in spec.optional)) continue;
          if (dropped.has(p.name)) p.setAutoload(false);
          else if (!p.autoload) continue;
          else if (helper && !helperPresent(lib, helper.id)) {
            p.setAutoload(false);
            dropped.add(p.name);
            lost.push({
              program: p.name,
              lost: spec.optional[p.name],
              error: `${helper.name}() is not in this kernel`,
            });
          } else if (target && funcs && !funcs.has(target)) {
            p.setAutoload(false);
            dropped.add(p.name);
            lost.push({
              program: p.name,
              lost: spec.optional[p.name],
              error: `${target} is not in this kernel`,
            });
          }
        }
        try {
          obj.load();
        } catch (e) {
          const prog = e instanceof BpfError ? e.program : undefined;
          // A refused program that has an alternate is not dropped: the caller loads the
          // object again with the alternates (strategy_choice.ts).
          const replaced = Object.values(spec.alternates ?? {}).some((a) => a.replaces === prog);
          if (
            !prog || !(prog in spec.optional) || dropped.has(prog) || attempt > 64 ||
            (replaced && !opts.alternate)
          ) throw e;
          dropped.add(prog);
          lost.push({
            program: prog,
            lost: spec.optional[prog],
            error: (e as BpfError).message.split("\n")[0],
          });
          obj.close();
          continue;
        }
        const t1 = performance.now();
        const links: BpfLink[] = [];
        for (const p of obj.programs()) {
          if (!p.autoload) continue;
          try {
            links.push(p.attach());
          } catch (e) {
            if (!(e instanceof BpfError) || !(p.name in spec.optional)) throw e;
            lost.push({ program: p.name, lost: spec.optional[p.name], error: e.message });
          }
        }
        const k = new FimKernel(spec, obj, opts.onEvent, t1 - t0, performance.now() - t1);
        k.#links = links;
        const covered = (l: LostCoverage) => {
          const list = fallbacks[l.program];
          return list !== undefined &&
            list.every((f) => links.some((x) => x.program.name === f));
        };
        k.lost.push(...lost.filter((l) => !covered(l)));
        // The fold cache names a thread by its task, safe only while every exit is counted.
        if (links.some((l) => l.program.name === EXIT_PROGRAM)) {
          k.#foldGen.update(u32(FIM_FOLD_GEN.on), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
        }
        k.#rb = new RingBuffer(
          obj.map("events"),
          (sample) => {
            const e = decodeFimEvent(sample);
            if (e) k.onEvent(e);
          },
          (polled) => {
            k.#endBehindWaits();
            k.onRecords?.(polled);
          },
          { queueBytes: opts.ringQueueBytes, usersPaused: obj.map("users_paused") },
        );
        k.#rb.start();
        return k;
      } catch (e) {
        obj.close();
        throw e;
      }
    }
  }

  /**
   * Hands the events the ring buffer holds now to `onEvent`, at once (see
   * RingBuffer.drain): what the kernel sent before this call is then known.
   */
  drain(): void {
    this.#rb?.drain();
  }

  /** The ring buffer's size in bytes. */
  get ringBytes(): number {
    return this.#rb?.bytes ?? 0;
  }

  /**
   * The ring's pump queue: its most bytes, bytes queued now, the most it held, the times users'
   * events were kept out for passing their share (0s: no pump).
   */
  get ringQueue(): RingBuffer["queue"] {
    return this.#rb?.queue ?? { bytes: 0, queued: 0, peak: 0, usersPaused: 0 };
  }

  /**
   * Undefined when every event the kernel sent so far has been handed to
   * `onEvent` (after a drain), or, given `about`, when none of those still
   * unread names one of those inode numbers (as its inode or its directory;
   * looked for in the ring's mapping, or in the pump's queue);
   * else a promise that resolves once those have been handed over, by the
   * poll loop, or after `maxMs`: a ring far behind (a flood) is read in
   * turns, and a report that waits for it names the writers whose events
   * were queued behind the flood. Under a user's flood the wait took a
   * report of root's file 15-180 ms, though nothing in the ring was about it.
   */
  behind(about?: readonly bigint[], maxMs = 1000): Promise<void> | undefined {
    const rb = this.#rb;
    if (!rb) return undefined;
    const target = rb.produced;
    rb.drain();
    if (rb.consumed >= target) return undefined;
    if (about?.length && !rb.unreadMatching(aboutInodes(about))) return undefined;
    return new Promise((resolve) => {
      const w = {
        target,
        done: () => {
          clearTimeout(timer);
          this.#behindWaits.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(w.done, maxMs);
      this.#behindWaits.add(w);
    });
  }

  /**
   * Ends the waits of behind() that the records read so far have caught up
   * with: checked as each turn of the ring's reading ends, not on a timer of
   * their own, which a flood kept waiting 50-300 ms past the turn that
   * caught up (bench/user_flood.ts). All of them once the ring is closed.
   */
  #endBehindWaits(): void {
    const consumed = this.#rb?.consumed;
    for (const w of this.#behindWaits) {
      if (consumed === undefined || consumed >= w.target) w.done();
    }
  }

  /** Bytes of ring buffer records read so far (each event's record and header). */
  get ringBytesRead(): bigint {
    return this.#rb?.consumed ?? 0n;
  }

  /** Run count and run time of each program attached (counted while stats are enabled). */
  programStats(): ProgramStats[] {
    return this.#links.filter((l) => l.attached).map((l) =>
      programStats(this.#obj.lib, l.program.fd)
    );
  }

  /** Names of the programs attached. */
  get attached(): string[] {
    return this.#links.filter((l) => l.attached).map((l) => l.program.name);
  }

  /**
   * Puts an inode in the watched map. `marked`: an fsnotify mark was placed
   * on it just now, before this call (the mark gate, mark_gate.ts); an
   * inode with none turns the gate off first.
   */
  watchInode(id: InodeId, flags: number, marked = false): void {
    const k = inodeKeyString(id);
    const early = this.#early.get(k);
    if (early !== undefined) {
      this.#early.delete(k);
      if (early === flags) {
        // The map holds just this already (watchInodesEarly): only the vouch is new.
        this.gate.entered(k, marked);
        return;
      }
    }
    if (!marked) this.gate.entered(k, false);
    this.#watched.update(encodeInodeKey(id, INODE_KEY), u32(flags));
    if (marked) this.gate.entered(k, true);
  }

  /**
   * Puts inodes in the watched map ahead of their paths' first read
   * (EarlyWatch), in one system call where the kernel takes batches, else one
   * by one. An item `marked` just now (an fsnotify mark placed before this
   * call) is vouched for; the others are not, so the gate turns off first. A
   * later watchInode() of one with the same flags writes nothing again.
   * Returns which went in (a full map refuses the rest).
   */
  watchInodesEarly(
    items: readonly { id: InodeId; key: string; flags: number; marked?: boolean }[],
  ): boolean[] {
    const n = items.length;
    if (n === 0) return [];
    for (const it of items) if (!it.marked) this.gate.entered(it.key, false);
    const keys = new Uint8Array(16 * n);
    const values = new Uint8Array(4 * n);
    const v = new DataView(values.buffer);
    items.forEach((it, i) => {
      encodeInodeKey(it.id, keys.subarray(16 * i, 16 * i + 16));
      v.setUint32(4 * i, it.flags, true);
    });
    const { written } = this.#writeMany(this.#watched, keys, 16, values, 4, n);
    items.forEach((it, i) => {
      // A full map: the watch set says so when it records the path. Not in the map, it
      // needs no vouch.
      if (written[i]) {
        this.#early.set(it.key, it.flags);
        if (it.marked) this.gate.entered(it.key, true);
      } else if (!it.marked) this.gate.left(it.key);
    });
    return written;
  }

  /**
   * Writes `n` entries, keys and values each back to back, into `map`: in
   * batches of BATCH_MAX where the kernel takes batches, else (and past an
   * entry refused) one by one. Returns which went in, and the first refusal.
   */
  #writeMany(
    map: BpfMap,
    keys: Uint8Array<ArrayBuffer>,
    keySize: number,
    values: Uint8Array<ArrayBuffer>,
    valueSize: number,
    n: number,
  ): { written: boolean[]; error?: unknown } {
    const written = new Array<boolean>(n).fill(false);
    let error: unknown;
    for (let at = 0; at < n; at += BATCH_MAX) {
      const end = Math.min(n, at + BATCH_MAX);
      let from = at;
      if (this.#batches) {
        const { done, rc } = map.updateBatch(
          keys.subarray(at * keySize, end * keySize),
          values.subarray(at * valueSize, end * valueSize),
          end - at,
        );
        from = at + done;
        // EINVAL: a kernel without batches (before 5.6); ENOTSUPP (524): a map type without them.
        if (done === 0 && (rc === -Errno.EINVAL || rc === -524)) this.#batches = false;
      }
      for (let i = at; i < end; i++) {
        if (i >= from) {
          try {
            map.update(
              keys.subarray(i * keySize, (i + 1) * keySize),
              values.subarray(i * valueSize, (i + 1) * valueSize),
            );
          } catch (e) {
            error ??= e;
            continue;
          }
        }
        written[i] = true;
      }
    }
    return { written, error };
  }

  /**
   * Process `pid` as the kernel saw it exit, if it exited lately (the last
   * 4,096 processes; undefined also when the exit program is not attached).
   */
  exited(pid: number): ExitedProcess | undefined {
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0xffffffff) return undefined;
    const v = this.#exited.lookup(u32(pid), FIM_EXITED_LAYOUT.size);
    return v && decodeExited(v);
  }

  /** Whether an inode is in the watched map (the self-test checks nobody took it out). */
  isWatched(id: InodeId): boolean {
    return this.#watched.lookup(encodeInodeKey(id), 4) !== undefined;
  }

  /**
   * Attaches every attached program again (after a self-test found the live
   * path broken): each gets a new link before its old one is destroyed, so a
   * program the kernel will not attach a second time (5.10 attaches a
   * trampoline program once per load; a newer kernel refuses the same
   * program twice on one trampoline) keeps the link it has, never none.
   * Returns the programs attached again and those that kept their old link.
   */
  reattach(): { again: string[]; kept: string[] } {
    const again: string[] = [];
    const kept: string[] = [];
    this.#links = this.#links.filter((l) => l.attached).map((old) => {
      try {
        const fresh = old.program.attach();
        old.destroy();
        again.push(old.program.name);
        return fresh;
      } catch (e) {
        kept.push(`${old.program.name} (${errorMessage(e).split("\n")[0]})`);
        return old;
      }
    });
    return { again, kept };
  }

  /**
   * Detaches every attached program, which stays loaded with its maps
   * (`attachAgain` puts them back); returns their names. The write-overhead
   * bench measures "off" and the object in turns this way.
   */
  detach(): string[] {
    const programs = this.#links.filter((l) => l.attached).map((l) => l.program);
    for (const l of this.#links) l.destroy();
    this.#links = [];
    this.#detached = programs;
    return programs.map((p) => p.name);
  }

  /**
   * Attaches again the programs that `detach` detached. Throws, with none of
   * them attached, where the kernel refuses (5.10 attaches a trampoline
   * program once per load).
   */
  attachAgain(): void {
    const links: BpfLink[] = [];
    try {
      for (const p of this.#detached ?? []) links.push(p.attach());
    } catch (e) {
      for (const l of links) l.destroy();
      throw e;
    }
    this.#links = links;
    this.#detached = undefined;
  }

  /** Takes an inode out of the watched and pending maps. */
  unwatchInode(id: InodeId): void {
    this.#early.delete(inodeKeyString(id));
    const key = encodeInodeKey(id, INODE_KEY);
    this.#watched.delete(key);
    this.#pending.delete(key);
    this.#nextFoldGen();
    this.gate.left(inodeKeyString(id));
  }

  /**
   * Ends the kernel's fold cache generation (bpf/fim_pending.bpf.h): after a
   * pending entry is deleted, no write folds by what the cache noted before.
   */
  #nextFoldGen(): void {
    new DataView(this.#genValue.buffer).setBigUint64(0, ++this.#gen, true);
    this.#foldGen.update(u32(FIM_FOLD_GEN.rearms), this.#genValue);
  }

  /** Watches name hash `nameHash` in directory `dir` (struct fim_entry_key). */
  watchEntry(dir: InodeId, nameHash: bigint): void {
    const held = this.#heldEntries;
    if (!held) {
      this.#entries.update(encodeEntryKey(dir, nameHash), u32(0));
      return;
    }
    if ((held.n + 1) * ENTRY_KEY.length > held.keys.length) {
      const more = new Uint8Array(held.keys.length * 2);
      more.set(held.keys);
      held.keys = more;
    }
    held.keys.set(encodeEntryKey(dir, nameHash), held.n++ * ENTRY_KEY.length);
  }

  /** Stops watching a name in a directory. */
  unwatchEntry(dir: InodeId, nameHash: bigint): void {
    // After what is held: a name held and then let go is not in the map.
    if (this.#heldEntries) this.#writeHeldEntries();
    this.#entries.delete(encodeEntryKey(dir, nameHash));
  }

  /**
   * Holds the names watchEntry() is given back from the kernel until the
   * returned function runs, which writes them all in batches (a watch set's
   * first 100,000 names were 100,000 system calls) and returns how many the
   * map refused (a full map) and the first refusal.
   */
  holdEntries(): () => { failed: number; error?: unknown } {
    this.#heldEntries ??= { keys: new Uint8Array(ENTRY_KEY.length * 1024), n: 0 };
    return () => {
      this.#writeHeldEntries();
      const r = this.#heldRefused;
      this.#heldRefused = { failed: 0 };
      return r;
    };
  }

  #writeHeldEntries(): void {
    const held = this.#heldEntries;
    this.#heldEntries = undefined;
    if (!held?.n) return;
    const { written, error } = this.#writeMany(
      this.#entries,
      held.keys,
      ENTRY_KEY.length,
      new Uint8Array(4 * held.n),
      4,
      held.n,
    );
    const failed = written.filter((w) => !w).length;
    if (failed) {
      this.#heldRefused.failed += failed;
      this.#heldRefused.error ??= error;
    }
  }

  /** Places directory `dir` at path hash `pathHash` from directory `base` (struct fim_dirpath_key). */
  watchDirPath(base: InodeId, pathHash: bigint, dir: InodeId): void {
    this.#dirPaths.update(encodeEntryKey(base, pathHash), encodeInodeKey(dir));
  }

  /** Forgets a directory path. */
  unwatchDirPath(base: InodeId, pathHash: bigint): void {
    this.#dirPaths.delete(encodeEntryKey(base, pathHash));
  }

  /** Adds a basename hash for paths the kernel cannot place. */
  watchBasename(nameHash: bigint): void {
    this.#basenames.update(encodeHash(nameHash), u32(0));
  }

  /** Removes a basename hash. */
  unwatchBasename(nameHash: bigint): void {
    this.#basenames.delete(encodeHash(nameHash));
  }

  /** Re-arms an inode: its next change sends a new event. Call before re-reading the file. */
  rearm(id: InodeId): void {
    this.#pending.delete(encodeInodeKey(id, INODE_KEY));
    this.#nextFoldGen();
  }

  /**
   * The inodes whose event found the ring buffer full (for an entry event: its
   * directory), with the writers the kernel kept for them
   * (bpf/fim_pending.bpf.h), none when it kept none: read before they are
   * re-armed (`rearm` each, or `rearmAll()`). An entry held between this read
   * and `rearmAll()` loses its writers (the rescan still re-reads its file).
   */
  heldWriters(): { id: InodeId; writers: PendingWriter[] }[] {
    const held: { id: InodeId; writers: PendingWriter[] }[] = [];
    for (const [k, id] of this.#pendingInodes()) {
      const value = this.#pending.lookup(k, FIM_PENDING_LAYOUT.size);
      const writers = value && decodeHeldWriters(value);
      if (writers) held.push({ id, writers });
    }
    return held;
  }

  /**
   * Deletes the pending entries of inodes the watched map no longer holds. A
   * BPF program that found an inode watched and noted it in `pending` while
   * user space took the inode out (unwatchInode) leaves an entry that nothing
   * re-arms; enough of them fill the map, whose refusals are drops. The
   * periodic reconcile sweeps them. A deletion only re-arms: it can cost an
   * extra event, never a missing one.
   */
  sweepPending(): void {
    let swept = false;
    for (const [k] of this.#pendingInodes()) {
      if (this.#watched.lookup(k, 4) === undefined && this.#pending.delete(k)) swept = true;
    }
    if (swept) this.#nextFoldGen();
  }

  /**
   * The pending map's keys that name an inode (not an unplaced basename, not a mount), with
   * the inode; read whole first, so the caller may delete as it goes.
   */
  *#pendingInodes(): Generator<[Uint8Array<ArrayBuffer>, InodeId]> {
    for (const k of this.#pending.keys(16)) {
      const id = decodeInodeKey(k);
      if (id.dev !== FIM_DEV_UNPLACED && id.dev !== FIM_DEV_MOUNT) yield [k, id];
    }
  }

  /** Re-arms every inode (after a drop). */
  rearmAll(): void {
    for (const k of this.#pending.keys(16)) this.#pending.delete(k);
    this.#nextFoldGen();
  }

  /** Events the kernel lost so far (a full ring buffer or pending map, too many AIO requests). */
  drops(): bigint {
    return this.counter("drops");
  }

  /**
   * Of `drops()`, those that left no pending entry held; each counted before it, after what it
   * held (nothing) was settled. Drops read with this unmoved after them each left an entry held.
   */
  unheldDrops(): bigint {
    return this.counter("unheld");
  }

  /** One kernel counter (one map lookup, where counters() makes four). */
  counter(which: keyof FimCounters): bigint {
    return this.#stat(FimStat[which]);
  }

  /** Reads the kernel counters. */
  counters(): FimCounters {
    return {
      drops: this.counter("drops"),
      events: this.counter("events"),
      coalesced: this.counter("coalesced"),
      unheld: this.counter("unheld"),
    };
  }

  #stat(i: number): bigint {
    const v = this.#stats.lookup(u32(i), 8);
    const n = v ? new DataView(v.buffer).getBigUint64(0, true) : 0n;
    return i === FimStat.coalesced ? n + this.cachedFolds() : n;
  }

  /**
   * The writes the fold cache folded (part of `coalesced`), each counted on
   * its own CPU (struct fim_fold_cache).
   */
  cachedFolds(): bigint {
    const cpus = this.#obj.lib.sym.libbpf_num_possible_cpus();
    if (cpus <= 0) return 0n;
    const v = this.#foldCache.lookup(u32(0), FIM_FOLD_CACHE_LAYOUT.size * cpus);
    if (!v) return 0n;
    const view = new DataView(v.buffer);
    let n = 0n;
    for (let c = 0; c < cpus; c++) {
      n += view.getBigUint64(c * FIM_FOLD_CACHE_LAYOUT.size + FIM_FOLD_CACHE_LAYOUT.folded, true);
    }
    return n;
  }

  /** Resolves when polling stops; rejects when it fails. */
  get done(): Promise<void> {
    return this.#rb?.done ?? Promise.resolve();
  }

  /** Stops polling, detaches every program and frees the object. */
  async close(): Promise<void> {
    await this.#rb?.close();
    this.#rb = undefined;
    this.#endBehindWaits();
    for (const l of this.#links) l.destroy();
    this.#links = [];
    this.#obj.close();
  }
}

/** struct fim_entry_key / fim_dirpath_key: (ino u64, dev u32, pad u32, hash u64), in ENTRY_KEY. */
function encodeEntryKey(dir: InodeId, hash: bigint): Uint8Array<ArrayBuffer> {
  encodeInodeKey(dir, ENTRY_KEY);
  ENTRY_KEY_VIEW.setBigUint64(16, hash, true);
  return ENTRY_KEY;
}

function encodeHash(hash: bigint): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, hash, true);
  return b;
}

/** Sets autoload so that either the primary programs or their alternates load. */
function chooseVariant(obj: BpfObject, spec: StrategySpec, alternate: boolean): void {
  for (const [alt, { replaces }] of Object.entries(spec.alternates ?? {})) {
    obj.program(alt).setAutoload(alternate);
    obj.program(replaces).setAutoload(!alternate);
  }
}

export { UpdateFlag };

/** BPF_PROG_TYPE_KPROBE: the tracing program type whose helpers fentry and kprobe programs share. */
const PROG_TYPE_KPROBE = 2;

/**
 * Whether the kernel offers BPF helper `id` to tracing programs (libbpf's
 * probe loads a tiny program). Assumed present when the probe cannot say.
 */
function helperPresent(lib: Libbpf, id: number): boolean {
  let present = helpersProbed.get(id);
  if (present === undefined) {
    present = lib.sym.libbpf_probe_bpf_helper(PROG_TYPE_KPROBE, id, null) !== 0;
    helpersProbed.set(id, present);
  }
  return present;
}

/** Probe results by helper id: the kernel does not change under a running process. */
const helpersProbed = new Map<number, boolean>();

/**
 * A kept key buffer for the per-inode map calls (watch, re-arm on every
 * event, unwatch), each synchronous: a fresh typed array per call costs more
 * than the call (see CPathBuffer).
 */
const INODE_KEY = new Uint8Array(16);
/** The same for the name maps' keys (one per watched path). */
const ENTRY_KEY = new Uint8Array(24);
/** Entries written per BPF_MAP_UPDATE_BATCH call. */
const BATCH_MAX = 4096;
const ENTRY_KEY_VIEW = new DataView(ENTRY_KEY.buffer);

/** Small values (flags, indexes), made once: the kernel only reads them. */
const U32 = new Map<number, Uint8Array<ArrayBuffer>>();

/** A little-endian u32, as a map value (or key: never written by the kernel). */
function u32(v: number): Uint8Array<ArrayBuffer> {
  let b = U32.get(v);
  if (!b) {
    b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    if (v >= 0 && v < 64) U32.set(v, b);
  }
  return b;
}

/**
 * The ring records that may be about one of the inode numbers `about`: an
 * event that names one as its inode or its directory, or one placed on no
 * inode (an unplaced name, a mount), which may be about anything. A record
 * shorter than an event's head (a drop notice) is about none.
 */
function aboutInodes(about: readonly bigint[]): RecordMatch {
  return {
    minLen: FIM_EVENT_HEAD_SIZE,
    u64At: [FIM_EVENT_LAYOUT.ino, FIM_EVENT_LAYOUT.dir_ino],
    u64In: about,
    u32At: FIM_EVENT_LAYOUT.dev,
    u32In: [FIM_DEV_UNPLACED, FIM_DEV_MOUNT],
  };
}
