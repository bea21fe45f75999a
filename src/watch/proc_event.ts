/**
 * A kernel event made from what /proc shows about a process, for a change
 * whose process the BPF object did not report: a fanotify event's pid, or a
 * process that holds a watched file mapped (it writes with no syscall).
 *
 * @module
 */
import type { FimOp } from "../kernel/fim_event.ts";
import type { AttributedEvent } from "./attribution.ts";
import type { InodeId } from "./inode_key.ts";
import { processDetails, startTicksOf } from "./process_details.ts";

/** What /proc shows about process `pid` right now (best effort; empty fields once it exited). */
function procFacts(pid: number) {
  const facts = {
    comm: "",
    ppid: 0,
    uid: 0,
    euid: 0,
    auid: undefined as number | undefined,
    startNs: 0n,
  };
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    facts.comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    facts.ppid = Number(rest[1]) || 0;
    const ticks = startTicksOf(stat);
    if (ticks !== undefined) facts.startNs = ticks * 10_000_000n;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (uids) [facts.uid, facts.euid] = [Number(uids[1]), Number(uids[2])];
    const login = Number(Deno.readTextFileSync(`/proc/${pid}/loginuid`).trim());
    if (Number.isInteger(login) && login !== 0xffffffff) facts.auid = login;
  } catch {
    // exited already: the pid is all there is
  }
  return facts;
}

/**
 * The event for `op` by process `pid` on inode `id` (or on entry `name` in
 * directory `id`), with what /proc shows about the process now: it may have
 * exited, and then the pid is all the event names.
 */
export function eventFromProc(
  pid: number,
  id: InodeId,
  op: FimOp,
  opts: { name?: string; via?: "fanotify" } = {},
): AttributedEvent {
  const f = procFacts(pid);
  const details = processDetails(pid, "", f.startNs);
  const exe = details.executable?.slice(details.executable.lastIndexOf("/") + 1) ?? "";
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
