import { assert, assertEquals } from "../../test/assert.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { Output, OutputCounters, SettledListener } from "../outputs/output.ts";
import { testEvent } from "../../test/services/events.ts";
import { Delivery } from "./delivery.ts";
import { NOT_IN_OUTBOX } from "../store/baseline_store.ts";

/** An output that delivers in `write` (like stdout). */
class InstantOutput implements Output {
  readonly written: ChangeEvent[] = [];
  /** Called after each write. */
  onWrite?: (e: ChangeEvent) => void;
  constructor(readonly name: string, readonly fail = false) {}
  write(e: ChangeEvent): void {
    if (this.fail) throw new Error(`${this.name} is broken`);
    this.written.push(e);
    this.onWrite?.(e);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An output that settles when the test says so (like a queued sink). */
class LaterOutput extends InstantOutput {
  #listener?: SettledListener;
  readonly counters: OutputCounters = { sent: 3, dropped: 1, errors: 2, queued: 0 };
  onSettled(listener: SettledListener): void {
    this.#listener = listener;
  }
  settle(events: ChangeEvent[], delivered: boolean, refused = false): void {
    this.#listener?.(events, delivered, refused);
  }
}

/** An outbox: the rows acknowledged, in order, and those not yet (what commit() put there). */
function outbox() {
  const acked: number[] = [];
  const rows = new Map<number, ChangeEvent>();
  const reads: number[] = [];
  return {
    acked,
    rows,
    /** How many rows each read back returned. */
    reads,
    ack(ids: number[]): void {
      acked.push(...ids);
      for (const id of ids) rows.delete(id);
    },
    outboxAfter(after: number, limit: number) {
      const page = [...rows].filter(([id]) => id > after).sort((a, b) => a[0] - b[0])
        .slice(0, limit).map(([id, event]) => ({ id, event }));
      reads.push(page.length);
      return page;
    },
  };
}

/** Commits `events` as rows `ids` into `box`, then hands them to `d`, as the pipeline does. */
function commit(d: Delivery, box: ReturnType<typeof outbox>, events: ChangeEvent[], ids: number[]) {
  events.forEach((e, i) => box.rows.set(ids[i], e));
  d.deliver(events, ids);
}

/** Events 1..n, each about `size` bytes of JSON. */
function events(from: number, n: number, size = 1000): ChangeEvent[] {
  return Array.from(
    { length: n },
    (_, i) => testEvent(from + i, "modified", { tags: ["x".repeat(size)] }),
  );
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert(cond(), what);
}

Deno.test("deliver() acknowledges at once when every output delivers in write", () => {
  const out = new InstantOutput("stdout");
  const box = outbox();
  const d = new Delivery([out], box);
  d.deliver([testEvent(1), testEvent(2)], [11, 12]);
  assertEquals(out.written.map((e) => e.event.id), ["ev-1", "ev-2"]);
  assertEquals(box.acked, [11, 12]);
  assertEquals(d.backlog, 0);
  d.stopRetrying();
});

Deno.test("deliver() acknowledges a row only once every output that settles later took it", () => {
  const [a, b] = [new LaterOutput("a"), new LaterOutput("b")];
  const box = outbox();
  const d = new Delivery([a, b, new InstantOutput("stdout")], box);
  const [e1, e2] = [testEvent(1), testEvent(2)];
  d.deliver([e1, e2], [21, 22]);
  assertEquals(d.backlog, 2);
  a.settle([e1, e2], true);
  assertEquals(box.acked, [], "b has not delivered yet");
  b.settle([e2], true);
  assertEquals(box.acked, [22]);
  b.settle([e1], true);
  assertEquals(box.acked, [22, 21]);
  assertEquals(d.backlog, 0);
  d.stopRetrying();
});

Deno.test("deliver() tries a dropped event again on the output that dropped it only, flagged redelivered", async () => {
  const [a, b] = [new LaterOutput("a"), new LaterOutput("b")];
  const box = outbox();
  const d = new Delivery([a, b], box, { firstDelayMs: 1 });
  const e = testEvent(1);
  d.deliver([e], [31]);
  a.settle([e], false);
  b.settle([e], true);
  assertEquals(box.acked, [], "a dropped it: the row stays");
  assertEquals(d.redelivering, 1);
  await until(() => a.written.length === 2, "a got the event again");
  assertEquals(b.written.length, 1, "b delivered it: not sent twice");
  const again = a.written[1];
  assertEquals(again.event.id, e.event.id);
  assertEquals(again.bpfink?.redelivered, true);
  a.settle([again], true);
  assertEquals(box.acked, [31]);
  d.stopRetrying();
});

Deno.test("after a drop, later events wait behind it: the output gets them again in commit order", async () => {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box, { firstDelayMs: 1 });
  const [e1, e2, e3] = [testEvent(1), testEvent(2), testEvent(3)];
  d.deliver([e1], [71]);
  a.settle([e1], false);
  d.deliver([e2, e3], [72, 73]);
  assertEquals(a.written.map((e) => e.event.id), ["ev-1"], "e2, e3 wait behind e1");
  assertEquals(d.redelivering, 3);
  await until(() => a.written.length === 4, "a got them again");
  assertEquals(a.written.slice(1).map((e) => e.event.id), ["ev-1", "ev-2", "ev-3"]);
  assertEquals(a.written.slice(1).map((e) => e.bpfink?.redelivered), [true, undefined, undefined]);
  a.settle(a.written.slice(1), true);
  assertEquals(box.acked, [71, 72, 73]);
  assertEquals(d.redelivering, 0);
  d.stopRetrying();
});

Deno.test("an event the sink refused for good is tried again but the events after it do not wait", async () => {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box, { firstDelayMs: 20 });
  const [e1, e2] = [testEvent(1), testEvent(2)];
  d.deliver([e1], [81]);
  a.settle([e1], false, true);
  d.deliver([e2], [82]);
  assertEquals(a.written.map((e) => e.event.id), ["ev-1", "ev-2"], "e2 did not wait");
  a.settle([a.written[1]], true);
  assertEquals(box.acked, [82]);
  await until(() => a.written.length === 3, "a got e1 again");
  assertEquals(a.written[2].bpfink?.redelivered, true);
  d.stopRetrying();
});

Deno.test("stopRetrying() leaves a dropped event in the outbox for the next start", async () => {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box, { firstDelayMs: 1 });
  const e = testEvent(1);
  d.deliver([e], [41]);
  a.settle([e], false);
  d.stopRetrying();
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(a.written.length, 1);
  assertEquals(box.acked, []);
  assertEquals(d.backlog, 1);
});

Deno.test("stopAcking() keeps late settlements from touching a closed outbox", () => {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box);
  const e = testEvent(1);
  d.deliver([e], [51]);
  d.stopRetrying();
  d.stopAcking();
  a.settle([e], true);
  assertEquals(box.acked, []);
});

Deno.test("deliver() gives the event to every other output when one throws", () => {
  const [broken, ok] = [new InstantOutput("broken", true), new InstantOutput("ok")];
  const box = outbox();
  const d = new Delivery([broken, ok], box);
  d.deliver([testEvent(1)], [61]);
  assertEquals(ok.written.length, 1);
  assertEquals(box.acked, [61]);
  d.stopRetrying();
});

Deno.test("register() exposes events by action and each output's counters", () => {
  const m = new MetricsRegistry();
  const d = new Delivery([new LaterOutput("http:x"), new InstantOutput("stdout")], outbox());
  d.register(m);
  d.deliver([testEvent(1, "created"), testEvent(2, "created"), testEvent(3)], [1, 2, 3]);
  const text = m.prometheusText();
  assert(text.includes('bpfink_events_total{action="created"} 2'), text);
  assert(text.includes('bpfink_events_total{action="modified"} 1'), text);
  assert(text.includes('bpfink_sink_sent_total{output="http:x"} 3'), text);
  assert(text.includes('bpfink_sink_errors_total{output="http:x"} 2'), text);
  assert(!text.includes('output="stdout"'), "an output without counters has no sink metrics");
  assert(/^bpfink_outbox_backlog 3$/m.test(text), text);
  d.stopRetrying();
});

/**
 * Output `a` dropped event 1 of `n` (its receiver down) and events 2 to
 * `committed` came behind it, with at most 20 KB held in memory.
 */
function outage(n: number, committed = n) {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box, { firstDelayMs: 1, maxHeldBytes: 20_000 });
  const all = events(1, n);
  commit(d, box, all.slice(0, 1), [1]);
  a.settle([a.written[0]], false);
  const rest = all.slice(1, committed);
  commit(d, box, rest, rest.map((_, i) => i + 2));
  return { a, box, d, all };
}

Deno.test("past the memory bound, held events wait in the outbox and are delivered from it in commit order, without a restart", async () => {
  const { a, box, d, all } = outage(100);
  assert(d.heldBytes <= 20_000, `${d.heldBytes} bytes held`);
  assert(d.spilled > 70, `${d.spilled} let go to the outbox`);
  assertEquals(d.redelivering, 100, "each still owed");
  assertEquals(d.backlog, 100);
  await until(() => a.written.length === 101, `a got all 100 again (${a.written.length - 1})`);
  assertEquals(
    a.written.slice(1).map((e) => e.event.id),
    all.map((e) => e.event.id),
    "commit order",
  );
  assert(box.reads.every((n) => n <= 128), "read back a page at a time");
  a.settle(a.written.slice(1), true);
  assertEquals(box.acked.toSorted((x, y) => x - y), all.map((_, i) => i + 1));
  assertEquals(d.backlog, 0);
  assertEquals(d.redelivering, 0);
  d.stopRetrying();
});

Deno.test("an event made while the outbox is read back waits behind what waits there", async () => {
  const { a, box, d, all } = outage(101, 100);
  assert(d.spilled > 0);
  // Made between the redelivery of what was held and the read back of the rest.
  a.onWrite = (e) => {
    if (e.event.id !== "ev-1" || a.written.length !== 2) return;
    queueMicrotask(() => commit(d, box, all.slice(100), [101]));
  };
  await until(() => a.written.length === 102, `a got all 101 (${a.written.length - 1})`);
  assertEquals(
    a.written.slice(1).map((e) => e.event.id),
    all.map((e) => e.event.id),
    "commit order",
  );
  d.stopRetrying();
});

Deno.test("an output that keeps delivering gets new events live while another's wait in the outbox", async () => {
  const [a, b] = [new LaterOutput("a"), new LaterOutput("b")];
  const box = outbox();
  const d = new Delivery([a, b], box, { firstDelayMs: 30, maxHeldBytes: 5_000 });
  const all = events(1, 20);
  commit(d, box, all.slice(0, 1), [1]);
  a.settle([a.written[0]], false);
  b.settle([b.written[0]], true);
  commit(d, box, all.slice(1, 19), all.slice(1, 19).map((_, i) => i + 2));
  b.settle(b.written.slice(1), true);
  assert(d.spilled > 0, "some wait in the outbox");
  commit(d, box, all.slice(19), [20]);
  assertEquals(b.written.at(-1)?.event.id, "ev-20", "b got the newest at once");
  assertEquals(a.written.length, 1, "a gets nothing before its backoff");
  await until(() => a.written.length === 21, `a got all 20 again (${a.written.length - 1})`);
  assertEquals(
    a.written.slice(1).map((e) => e.event.id),
    all.map((e) => e.event.id),
    "a: commit order",
  );
  a.settle(a.written.slice(1), true);
  // b may get what waited in the outbox again: same id, flagged.
  for (const e of b.written.slice(20)) assertEquals(e.bpfink?.redelivered, true);
  b.settle(b.written.slice(20), true);
  assertEquals(new Set(box.acked).size, 20);
  assertEquals(d.backlog, 0);
  d.stopRetrying();
});

Deno.test("an event with no outbox row past the memory bound is counted as lost, not kept", () => {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box, { firstDelayMs: 60_000, maxHeldBytes: 20_000 });
  const all = events(1, 50);
  d.deliver(all.slice(0, 1), [NOT_IN_OUTBOX]);
  a.settle([a.written[0]], false);
  d.deliver(all.slice(1), all.slice(1).map(() => NOT_IN_OUTBOX));
  assert(d.heldBytes <= 20_000, `${d.heldBytes} bytes held`);
  assert(d.lost > 30, `${d.lost} counted as lost`);
  assertEquals(d.redelivering + d.lost, 50, "each held or counted");
  assertEquals(d.spilled, 0, "no row to wait in");
  d.stopRetrying();
});

Deno.test("events a sink refused for good past the memory bound wait for the next start, not read back at once", async () => {
  const a = new LaterOutput("a");
  const box = outbox();
  const d = new Delivery([a], box, { firstDelayMs: 60_000, maxHeldBytes: 5_000 });
  const all = events(1, 10);
  commit(d, box, all, all.map((_, i) => i + 1));
  a.settle(a.written.slice(), false, true);
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(a.written.length, 10, "none sent again before the output's backoff");
  assert(d.deferred > 0, "past the bound: left in the outbox");
  assertEquals(d.spilled, 0);
  assert(d.heldBytes <= 5_000, `${d.heldBytes}`);
  assertEquals(d.backlog, 10, "every row still owed");
  d.stopRetrying();
});
