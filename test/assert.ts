/**
 * Assertions for the tests (JSR's @std/assert is not reachable here):
 * thin, typed wrappers over node:assert.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Fails with `msg` unless `cond` holds. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Fails unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Fails unless `text` contains `part`. */
export function assertIncludes(text: string, part: string, msg?: string): void {
  nodeAssert.ok(
    text.includes(part),
    msg ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Fails unless `fn` throws an error whose message matches `re`. */
export function assertThrows(fn: () => unknown, re: RegExp = /.*/): void {
  nodeAssert.throws(fn, re);
}
