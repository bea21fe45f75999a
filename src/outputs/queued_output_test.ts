import { assert, assertEquals } from "../../test/assert.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { testEvent } from "../../test/services/events.ts";
import { boundEvent } from "../pipeline/event_size.ts";
import {
  type BatchResult,
  PermanentError,
  QueuedOutput,
  type QueueOptions,
} from "./queued_output.ts";

/** A sink whose every `send` answers with the next step of a script (then succeeds). */
class ScriptedOutput extends QueuedOutput {
  readonly name = "scripted";
  readonly batches: string[][] = [];
  readonly settled: [string, boolean][] = [];
  #steps: ((batch: ChangeEvent[], signal: AbortSignal) => Promise<BatchResult | void>)[];

  constructor(
    opts: Partial<QueueOptions>,
    steps: ((batch: ChangeEvent[], signal: AbortSignal) => Promise<BatchResult | void>)[] = [],
  ) {
    super({ capacity: 100, backoffBaseMs: 1, backoffMaxMs: 2, ...opts });
    this.#steps = steps;
    this.onSettled((events, ok) => events.forEach((e) => this.settled.push([e.event.id, ok])));
  }

  protected send(batch: ChangeEvent[], signal: AbortSignal): Promise<BatchResult | void> {
    this.batches.push(batch.map((e) => e.event.id));
    return this.#steps.shift()?.(batch, signal) ?? Promise.resolve();
  }
}

const fail = (m = "sink down") => () => Promise.reject(new Error(m));
const events = (n: number) => Array.from({ length: n }, (_, i) => testEvent(i));

/** Every event written is sent, dropped or still queued. */
function balanced(o: ScriptedOutput, written: number): void {
  const c = o.counters;
  assertEquals(c.sent + c.dropped + c.queued, written, JSON.stringify(c));
}

Deno.test("write() returns at once and the sender sends batches of at most batchSize", async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const o = new ScriptedOutput({ batchSize: 2 }, [() => gate]);
  for (const e of events(5)) o.write(e);
  assertEquals(o.counters.queued, 5, "nothing is sent before write returns");
  open();
  await o.flush();
  // The first write starts the sender at once; what came meanwhile goes in full batches.
  assertEquals(o.batches, [["ev-0"], ["ev-1", "ev-2"], ["ev-3", "ev-4"]]);
  assertEquals(o.counters.sent, 5);
  assertEquals(o.settled.every(([, ok]) => ok), true);
  balanced(o, 5);
  await o.close();
});

Deno.test("write() counts events beyond capacity as dropped and settles them as not delivered", async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const o = new ScriptedOutput({ capacity: 2 }, [() => gate]);
  for (const e of events(4)) o.write(e);
  assertEquals(o.counters.dropped, 2);
  assertEquals(o.settled, [["ev-2", false], ["ev-3", false]]);
  open();
  await o.flush();
  assertEquals(o.counters.sent, 2);
  balanced(o, 4);
  await o.close();
});

Deno.test("write() counts events beyond maxBytes as dropped, and takes more once the sink took some", async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  // Events of ~20.6 KB each, a bound of 110 KB: 5 fit, whatever the count capacity.
  const big = Array.from(
    { length: 8 },
    (_, i) => boundEvent(testEvent(i, "modified", { tags: ["x".repeat(20_000)] })),
  );
  const o = new ScriptedOutput({ capacity: 10_000, maxBytes: 110_000, batchSize: 10 }, [
    () => gate,
  ]);
  for (const e of big) o.write(e);
  assertEquals(o.counters.queued, 5);
  assertEquals(o.counters.dropped, 3);
  assertEquals(o.settled, [["ev-5", false], ["ev-6", false], ["ev-7", false]]);
  open();
  await o.flush();
  o.write(big[5]);
  assertEquals(o.counters.queued, 1, "the sink took the first five: room again");
  await o.flush();
  assertEquals(o.counters.sent, 6);
  balanced(o, 9);
  await o.close();
});

Deno.test("send() failures are retried, and after maxRetries the batch is dropped", async () => {
  const o = new ScriptedOutput({ maxRetries: 2 }, [fail(), fail(), fail()]);
  o.write(testEvent(1));
  await o.flush();
  assertEquals(o.batches.length, 3, "one attempt and two retries");
  assertEquals([o.counters.errors, o.counters.dropped, o.counters.sent], [3, 1, 0]);
  assertEquals(o.settled, [["ev-1", false]]);
  assert(o.lastError?.includes("sink down"), o.lastError);
  balanced(o, 1);
  await o.close();
});

Deno.test("send() failing once is retried and the event is delivered", async () => {
  const o = new ScriptedOutput({ maxRetries: 2 }, [fail()]);
  o.write(testEvent(1));
  await o.flush();
  assertEquals([o.counters.errors, o.counters.sent, o.counters.dropped], [1, 1, 0]);
  assertEquals(o.settled, [["ev-1", true]]);
  await o.close();
});

Deno.test("send() throwing PermanentError drops the batch without retrying", async () => {
  const o = new ScriptedOutput({ maxRetries: 5 }, [
    () => Promise.reject(new PermanentError("401")),
  ]);
  o.write(testEvent(1));
  await o.flush();
  assertEquals(o.batches.length, 1);
  assertEquals(o.counters.dropped, 1);
  await o.close();
});

Deno.test("send() taking part of a batch: the rest is retried or dropped as the sink said", async () => {
  // A linger gathers the three events in one batch (it ends as soon as the batch is full).
  const o = new ScriptedOutput({ batchSize: 3, lingerMs: 5000 }, [
    (batch) => Promise.resolve({ retry: [batch[1]], rejected: [batch[2]] }),
  ]);
  for (const e of events(3)) o.write(e);
  await o.flush();
  assertEquals(o.batches, [["ev-0", "ev-1", "ev-2"], ["ev-1"]]);
  assertEquals([o.counters.sent, o.counters.dropped], [2, 1]);
  assertEquals(o.settled.sort(), [["ev-0", true], ["ev-1", true], ["ev-2", false]]);
  await o.close();
});

Deno.test("close() drops what the sink has not taken by the deadline, and later writes", async () => {
  const stuck = (_: ChangeEvent[], signal: AbortSignal) =>
    new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  const o = new ScriptedOutput({}, [stuck]);
  for (const e of events(3)) o.write(e);
  await o.close(10);
  assertEquals([o.counters.sent, o.counters.dropped, o.counters.queued], [0, 3, 0]);
  o.write(testEvent(9));
  assertEquals(o.counters.dropped, 4, "a write after close is dropped, not lost");
  balanced(o, 4);
});
