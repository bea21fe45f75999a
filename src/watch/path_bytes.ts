/**
 * File names are bytes, not text. bpfink keeps every path as a JS string that
 * maps back to its exact bytes: valid UTF-8 decodes as usual, and each byte
 * that is not part of valid UTF-8 becomes the lone surrogate U+DC00 + byte
 * (Python's "surrogateescape"). No valid UTF-8 text decodes to a lone
 * surrogate, so the mapping is lossless both ways. Such strings must only
 * reach the file system through {@link pathBytes} (src/watch/native_fs.ts),
 * never through Deno's string-path APIs, which would replace the bytes.
 *
 * @module
 */

/** Decodes raw name or path bytes into a lossless string. */
export function decodePathBytes(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const cp = utf8At(b, i);
    if (cp === undefined) {
      out += String.fromCharCode(0xdc00 + c);
      i++;
    } else {
      out += String.fromCodePoint(cp.cp);
      i += cp.len;
    }
  }
  return out;
}

/** The valid UTF-8 sequence at b[i] (not ASCII), if any. */
function utf8At(b: Uint8Array, i: number): { cp: number; len: number } | undefined {
  const c = b[i];
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf && cont(1)) {
    return { cp: ((c & 0x1f) << 6) | (b[i + 1] & 0x3f), len: 2 };
  }
  if (c >= 0xe0 && c <= 0xef && cont(1) && cont(2)) {
    const cp = ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
    if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    return { cp, len: 3 };
  }
  if (c >= 0xf0 && c <= 0xf4 && cont(1) && cont(2) && cont(3)) {
    const cp = ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) |
      (b[i + 3] & 0x3f);
    if (cp < 0x10000 || cp > 0x10ffff) return undefined;
    return { cp, len: 4 };
  }
  return undefined;
}

const encoder = new TextEncoder();

/** The exact bytes of a path string made by {@link decodePathBytes} (or any plain string). */
export function pathBytes(s: string): Uint8Array<ArrayBuffer> {
  if (!hasEscapes(s)) return encoder.encode(s);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff) {
      out.push(u - 0xdc00);
      continue;
    }
    let cp = u;
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    out.push(...encoder.encode(String.fromCodePoint(cp)));
  }
  return new Uint8Array(out);
}

/**
 * A NUL-terminated path for a synchronous C call, written into a buffer this
 * keeps. A typed array made for each call costs more than a short system call
 * (V8 moves it off its heap, and a malloc backs it until the GC frees it):
 * statx(2) of a path took 3.4 µs through fresh buffers here, 1.0 µs through
 * kept ones. Each call of `of()` overwrites the last one's path, so each use
 * site keeps its own, and never hands it to a nonblocking call.
 */
export class CPathBuffer {
  /** PATH_MAX with its NUL; a longer path gets bytes of its own (and ENAMETOOLONG). */
  readonly #buf = new Uint8Array(4096);

  /** `s` NUL-terminated, valid until the next `of()`. */
  of(s: string): Uint8Array<ArrayBuffer> {
    if (hasEscapes(s)) return cPath(s);
    const { read, written } = encoder.encodeInto(s, this.#buf);
    if (read < s.length || written >= this.#buf.length) return cPath(s);
    this.#buf[written] = 0;
    return this.#buf;
  }
}

/** `pathBytes(s)` NUL-terminated, for C calls. */
export function cPath(s: string): Uint8Array<ArrayBuffer> {
  const b = pathBytes(s);
  const c = new Uint8Array(b.length + 1);
  c.set(b);
  return c;
}

/** Whether `s` holds bytes that are not valid UTF-8 (escaped as lone surrogates). */
export function hasEscapes(s: string): boolean {
  return /[\udc80-\udcff]/u.test(s);
}

/**
 * `s` for people and text outputs: each byte that is not UTF-8 as `\xNN`,
 * and a backslash doubled, so that a name holding the four characters `\xff`
 * never reads as one holding the byte 0xff.
 */
export function displayPath(s: string): string {
  if (!hasEscapes(s) && !s.includes("\\")) return s;
  return s.replace(/[\\\udc80-\udcff]/gu, (ch) => {
    if (ch === "\\") return "\\\\";
    const b = ch.charCodeAt(0) - 0xdc00;
    return `\\x${b.toString(16).padStart(2, "0")}`;
  });
}

/** The raw bytes of `s`, base64 (for `bpfink.path_bytes`). */
export function pathBytesBase64(s: string): string {
  let bin = "";
  for (const b of pathBytes(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}
