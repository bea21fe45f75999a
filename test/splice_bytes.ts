/**
 * Byte arrays for the differential tests: their files and their mutations.
 *
 * @module
 */

/** `b` with `x` inserted at `at`. */
export function spliceBytes(
  b: Uint8Array,
  at: number,
  x: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(b.length + x.length);
  out.set(b.subarray(0, at));
  out.set(x, at);
  out.set(b.subarray(at), at + x.length);
  return out;
}

/** The bytes of `parts` one after the other: a string as UTF-8, a number list as those bytes. */
export function joinBytes(...parts: (string | number[])[]): Uint8Array<ArrayBuffer> {
  const bs = parts.map((p) =>
    typeof p === "string" ? new TextEncoder().encode(p) : Uint8Array.from(p)
  );
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bs) out.set(b, at), at += b.length;
  return out;
}
