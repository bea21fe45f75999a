import { assert, assertEquals } from "../../test/assert.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { Output, OutputCounters, SettledListener } from "../outputs/output.ts";
import { testEvent } from "../../test/services/events.ts";
import { Delivery } from "./delivery.ts";

/** An output that delivers in `write` (like stdout). */
class InstantOutput implements Output {
  readonly written: ChangeEvent[] = [];
  constructor(readonly name: string, readonly fail = false) {}
  write(e: ChangeEvent): void {
    if (this.fail) throw new Error(`${this.name} is broken`);
    this.written.push(e);
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

/** The outbox rows acknowledged, in order. */
function outbox(): { acked: number[]; ack(ids: number[]): void } {
  const acked: number[] = [];
  return { acked, ack: (ids) => acked.push(...ids) };
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
