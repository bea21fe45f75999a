/**
 * Byte-array editing for the differential tests' mutations.
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
