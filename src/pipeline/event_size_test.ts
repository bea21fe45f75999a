import { assert, assertEquals } from "../../test/assert.ts";
import { testEvent } from "../../test/services/events.ts";
import { checkEvent } from "../../test/ecs_validate.ts";
import { bareEvent, boundEvent, cutText, fitEvent, MAX_EVENT_BYTES } from "./event_size.ts";
import { rng } from "../../test/rng.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

Deno.test("boundEvent() keeps an event that fits as it is", () => {
  const e = testEvent(1);
  assert(boundEvent(e) === e);
});

Deno.test("boundEvent() shrinks a line diff of megabytes (control characters, escaped 6 to 1) to valid JSON under the bound", () => {
  // 200,000 control characters a side: 1.2 MB of JSON each, as a text file any user writes gives.
  const e = testEvent(2, "modified", {
    bpfink: {
      consumer: "generic",
      diff: { added: ["\x02".repeat(200_000)], removed: ["\x01".repeat(200_000)] },
    },
  } as never);
  const b = boundEvent(e);
  const json = JSON.stringify(b);
  assert(bytes(json) <= MAX_EVENT_BYTES, `${bytes(json)} bytes`);
  assertEquals(b.bpfink?.truncated, true);
  checkEvent(b, "the bounded event");
  assertEquals(b.event.id, e.event.id);
  assertEquals(b.file?.path, e.file?.path);
  const diff = b.bpfink?.diff as { added: string[] };
  assert(diff.added[0].startsWith("\x02\x02"), "the diff's line is cut, not dropped");
  assert(diff.added[0].endsWith(" more)"), diff.added[0].slice(-30));
  // The event given is left as it was.
  assertEquals((e.bpfink?.diff as { added: string[] }).added[0].length, 200_000);
});

Deno.test("fitEvent() counts UTF-8 bytes, cuts arrays, and gives up only when the bare event does not fit", () => {
  const e = testEvent(3, "modified", {
    message: "é".repeat(3000),
    tags: Array.from({ length: 500 }, (_, i) => `tag-${i}`),
  });
  const f = fitEvent(e, 4096)!;
  assert(bytes(f.json) <= 4096, `${bytes(f.json)} bytes`);
  assertEquals(JSON.parse(f.json), JSON.parse(JSON.stringify(f.event)));
  assert((f.event.tags?.length ?? 0) < 500);
  assertEquals(f.event.tags?.at(-1)?.endsWith(" more)"), true);
  // The event's own fields are never cut, at any step (its id names it to every sink).
  const small = fitEvent(e, 2048)!;
  assertEquals(small.event.event, e.event);
  assertEquals(small.event["@timestamp"], e["@timestamp"]);
  assertEquals(small.event.file?.path, e.file?.path);
  // What always stays: the event's id and action.
  const bare = fitEvent(e, 900);
  assert(bare === undefined || bare.event.event.id === e.event.id);
  assertEquals(fitEvent(e, 10), undefined);
});

Deno.test("cutText() says what it left out and never splits a surrogate pair", () => {
  assertEquals(cutText("abc", 3), "abc");
  assertEquals(cutText("abcdef", 3), "abc…(3 more)");
  // "a😀b": the emoji is two UTF-16 units; a cut between them keeps neither half.
  assertEquals(cutText("a\u{1f600}b", 2), "a…(3 more)");
  assertEquals(cutText("a\u{1f600}b", 3), "a\u{1f600}…(1 more)");
});

Deno.test("fitEvent() fuzzed: random text, arrays and nesting fit their bound as valid JSON, or nothing does", () => {
  const seed = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? Date.now() % 0x7fffffff);
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  // Characters that escape long in JSON, that take 2 to 4 bytes in UTF-8, and halves of pairs.
  const alphabet = ["a", "\x01", '"', "\\", "é", "\u2028", "\u{1f600}", "\ud800", "\udc00", "/"];
  const text = () =>
    Array.from({ length: Math.floor(r() ** 3 * 3000) }, () => pick(alphabet)).join("");
  const value = (depth: number): unknown => {
    const k = r();
    if (depth > 2 || k < 0.5) return text();
    if (k < 0.75) return Array.from({ length: Math.floor(r() ** 2 * 60) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(r() * 6) }, (_, i) => [`k${i}`, value(depth + 1)]),
    );
  };
  for (let i = 0; i < 100; i++) {
    const e = testEvent(i);
    Object.assign(e, { message: text(), tags: value(1) });
    e.bpfink = { ...e.bpfink, diff: value(0) };
    const max = Math.floor(r() * 200_000) + 200;
    const f = fitEvent(e, max);
    const where = `seed ${seed}, event ${i}, bound ${max}`;
    if (f === undefined) {
      assert(
        bytes(JSON.stringify(bareEvent(e))) > max,
        `${where}: gave up though the bare event fits`,
      );
      continue;
    }
    assert(bytes(f.json) <= max, `${where}: ${bytes(f.json)} bytes`);
    assertEquals(JSON.stringify(JSON.parse(f.json)), f.json, where);
    assertEquals(f.event.event, e.event, where);
    if (f.event !== e) assertEquals(f.event.bpfink?.truncated, true, where);
  }
});
