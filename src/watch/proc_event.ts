/**
 * A kernel event made from what /proc shows about a process, for a change
 * whose process the BPF object did not report: a fanotify event's pid, or a
 * process that holds a watched file mapped (it writes with no syscall).
 *
 * @module
 */
import { type ExitedProcess, FimOp, type PendingWriter } from "../kernel/fim_event.ts";
import type { AttributedEvent } from "./attribution.ts";
import type { InodeId } from "./inode_key.ts";
import { NS_PER_TICK, processDetails, sameProcess, startTicksOf } from "./process_details.ts";

/** What the kernel kept of a process that exited (FimKernel.exited), by pid. */
export type ExitedLookup = (pid: number) => ExitedProcess | undefined;

/** What /proc showed of one process. */
export interface ProcFacts {
  comm: string;
  ppid: number;
  uid: number;
  euid: number;
  auid: number | undefined;
  startNs: bigint;
}

/**
 * /proc's facts by pid, read once for a batch of events read together (a
 * fanotify read): one process writing many files is read once, not three
 * files of /proc per event. Keep one only as long as the batch: a pid is
 * not reused that fast.
 */
export type ProcFactsCache = Map<number, ProcFacts>;

/**
 * What /proc shows about process `pid` right now (best effort); once it has
 * exited, what `exited` kept of it, else empty fields.
 */
function procFacts(pid: number, exited?: ExitedLookup): ProcFacts {
  const facts: ProcFacts = {
    comm: "",
    ppid: 0,
    uid: 0,
    euid: 0,
    auid: undefined,
    startNs: 0n,
  };
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    facts.comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    facts.ppid = Number(rest[1]) || 0;
    const ticks = startTicksOf(stat);
    if (ticks !== undefined) facts.startNs = ticks * NS_PER_TICK;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (uids) [facts.uid, facts.euid] = [Number(uids[1]), Number(uids[2])];
    const login = Number(Deno.readTextFileSync(`/proc/${pid}/loginuid`).trim());
    if (Number.isInteger(login) && login !== 0xffffffff) facts.auid = login;
  } catch {
    // Exited already: what the kernel kept of it, if anything; else the pid is all there is.
    // A read that failed half-way (the process went meanwhile) is refilled whole.
    const x = exited?.(pid);
    if (x) Object.assign(facts, x);
  }
  return facts;
}

/**
 * The event for `op` by process `pid` on inode `id` (or on entry `name` in
 * directory `id`), with what /proc shows about the process now: once it has
 * exited, with what `opts.exited` kept of it (no executable), else the pid alone.
 */
export function eventFromProc(
  pid: number,
  id: InodeId,
  op: FimOp,
  opts: { name?: string; via?: "fanotify"; exited?: ExitedLookup; cache?: ProcFactsCache } = {},
): AttributedEvent {
  let f = opts.cache?.get(pid);
  if (!f) {
    f = procFacts(pid, opts.exited);
    opts.cache?.set(pid, f);
  }
  return eventFromFacts(pid, id, op, f, opts);
}

/**
 * The event for a writer the kernel kept in a pending entry whose event
 * found the ring buffer full (FimKernel.heldWriters): named from /proc while
 * it shows that very process (pid and start time), else from what the
 * kernel kept of it at its exit; undefined once neither is that process.
 */
export function eventFromHeldWriter(
  w: PendingWriter,
  id: InodeId,
  exited?: ExitedLookup,
): AttributedEvent | undefined {
  const op = w.ops[0] ?? FimOp.Write;
  if (sameProcess(w.tgid, w.startNs) === true) {
    return { ...eventFromFacts(w.tgid, id, op, procFacts(w.tgid)), startNs: w.startNs };
  }
  const x = exited?.(w.tgid);
  if (!x || x.startNs !== w.startNs) return undefined;
  return eventFromFacts(w.tgid, id, op, { ...x, auid: x.auid });
}

function eventFromFacts(
  pid: number,
  id: InodeId,
  op: FimOp,
  f: ProcFacts,
  opts: { name?: string; via?: "fanotify" } = {},
): AttributedEvent {
  const details = processDetails(pid, "", f.startNs);
  const path = details.executable ?? details.executableUnverified?.replace(/ \(deleted\)$/, "");
  const exe = path?.slice(path.lastIndexOf("/") + 1) ?? "";
  const name = opts.name;
  return {
    tsNs: 0n,
    ino: name === undefined ? id.ino : 0n,
    dirIno: name === undefined ? 0n : id.ino,
    cgroupId: 0n,
    dev: id.dev,
    op,
    pid,
    tgid: pid,
    ppid: f.ppid,
    uid: f.uid,
    euid: f.euid,
    auid: f.auid,
    syscallNr: -1,
    comm: f.comm,
    name: name ?? "",
    exe,
    startNs: f.startNs,
    details,
    ...(opts.via ? { via: opts.via } : {}),
  };
}
