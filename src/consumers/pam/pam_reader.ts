/**
 * The lines and words of a PAM service file as libpam 1.5.2 reads them
 * (`_pam_assemble_line` and `_pam_StrTok` in libpam/pam_handlers.c and
 * pam_misc.c), on the file's bytes. Measured against libpam with
 * `pamtester` (pam_stack_differential_test.ts):
 *
 * - libpam reads with `fgets` into one 1024-byte buffer: a physical line
 *   longer than 1023 bytes is cut there, and the rest is read as a line of
 *   its own (bytes, not characters: `é` counts twice);
 * - a line is a C string: it ends at its first NUL, and what follows the
 *   NUL up to the newline is lost;
 * - leading ` `, `\t`, `\n` are skipped; a chunk that is then empty or
 *   starts with `#` is nothing, and a continued line goes on past it;
 *   otherwise the line ends at its first `#`;
 * - else, when the last character before trailing ` `, `\t`, `\n` is `\`,
 *   it becomes a space and the next chunk is read after it: a continued
 *   line fills the same buffer. When a continuation leaves one byte of the
 *   buffer, `fgets` reads nothing and libpam loops for ever: the service
 *   hangs. A continuation still open at the end of the file makes libpam
 *   give up on the file;
 * - words are split at ` `, `\t`, `\n` only (not `\r`); a word that
 *   starts with `[` runs to the first `]` (`\]` stands for `]`, and the
 *   brackets are dropped), or to the end of the line.
 *
 * @module
 */

/** libpam's line buffer, in bytes. */
export const PAM_BUF_SIZE = 1024;

const NL = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** One line as libpam assembles it. */
export interface AssembledLine {
  /** 1-based physical line its first part starts on. */
  line: number;
  /** Its bytes, up to (not including) the NUL that ends it. */
  bytes: Uint8Array;
}

/** Where and why libpam stops reading a file. */
export interface ReadStop {
  line: number;
  /** `hang`: libpam never returns (the service is unusable); `abort`: it gives up on the file. */
  how: "hang" | "abort";
  why: string;
}

/** What reading a whole file gives. */
export interface ReadResult {
  lines: AssembledLine[];
  /** Physical lines cut at the buffer's size, their rest read as another line. */
  cut: number[];
  stop?: ReadStop;
}

const isBlank = (b: number) => b === SP || b === TAB || b === NL;

/** The lines of `file` as libpam's reader gives them, and where it stops, if it does. */
export function readPamLines(file: Uint8Array): ReadResult {
  const buf = new Uint8Array(PAM_BUF_SIZE);
  const lines: AssembledLine[] = [];
  const cut: number[] = [];
  let pos = 0;
  // The physical line `pos` is on.
  let physical = 1;

  /** `fgets(buf + p, n)`: false at the end of the file. */
  const fgets = (p: number, n: number): boolean => {
    if (n === 1) {
      buf[p] = 0;
      return true;
    }
    if (pos >= file.length) return false;
    let i = 0;
    while (i < n - 1 && pos < file.length) {
      const b = file[pos++];
      buf[p + i++] = b;
      if (b === NL) {
        physical++;
        break;
      }
    }
    buf[p + i] = 0;
    if (buf[p + i - 1] !== NL && pos < file.length && i === n - 1) cut.push(physical);
    return true;
  };
  const strlen = (from: number) => {
    let e = from;
    while (buf[e] !== 0) e++;
    return e - from;
  };

  for (;;) {
    let p = 0;
    let used = 0;
    let first = 0;
    let done = false;
    while (!done) {
      // p < PAM_BUF_SIZE always (libpam's overflow check never fires): p is at most the
      // buffer's last byte, where fgets reads nothing.
      const n = PAM_BUF_SIZE - p;
      const at = physical;
      if (n === 1) {
        return {
          lines,
          cut,
          stop: {
            line: first || at,
            how: "hang",
            why: "a continued line fills libpam's 1024-byte buffer: libpam reads it for ever",
          },
        };
      }
      if (!fgets(p, n)) {
        if (used > 0) {
          return {
            lines,
            cut,
            stop: {
              line: first,
              how: "abort",
              why:
                "a `\\` continues the last line past the end of the file: libpam gives up on the file",
            },
          };
        }
        return { lines, cut };
      }
      let s = p;
      while (buf[s] !== 0 && isBlank(buf[s])) s++;
      if (buf[s] === 0 || buf[s] === HASH) continue; // nothing in this chunk: p stays
      if (first === 0) first = at;
      const os = s;
      while (buf[s] !== 0 && buf[s] !== HASH) s++;
      if (buf[s] === HASH) {
        buf[s] = 0;
        used += s - os;
        done = true;
        continue;
      }
      s = os + strlen(os);
      do s--; while (s > os && isBlank(buf[s]));
      if (buf[s] === BACKSLASH) {
        buf[s++] = SP;
        buf[s] = 0;
        used += s - os;
        p = s;
      } else {
        used += strlen(os);
        done = true;
      }
    }
    lines.push({ line: first, bytes: buf.slice(0, strlen(0)) });
  }
}

/**
 * libpam's `_pam_StrTok` over one line, with ` `, `\t`, `\n` as blanks:
 * call `next()` for each word (`undefined` once there is none).
 */
export class PamWords {
  #b: Uint8Array;
  #next: number | undefined;
  /** Whether the word `next()` gave last was written in brackets. */
  bracketed = false;

  constructor(line: Uint8Array) {
    this.#b = new Uint8Array(line.length + 1);
    this.#b.set(line);
    this.#next = 0;
  }

  /** The next word's bytes. */
  next(): Uint8Array | undefined {
    const b = this.#b;
    if (this.#next === undefined) return undefined;
    let from = this.#next;
    while (b[from] !== 0 && isBlank(b[from])) from++;
    let end: number;
    this.bracketed = b[from] === OPEN;
    if (b[from] === OPEN) {
      let to = ++from;
      end = from;
      for (; b[end] !== 0 && b[end] !== CLOSE; to++, end++) {
        if (b[end] === BACKSLASH && b[end + 1] === CLOSE) end++;
        if (to !== end) b[to] = b[end];
      }
      if (to !== end) b[to] = 0;
    } else if (b[from] !== 0) {
      for (end = from; b[end] !== 0 && !isBlank(b[end]); end++);
    } else {
      this.#next = undefined;
      return undefined;
    }
    if (b[end] !== 0) b[end++] = 0;
    this.#next = b[end] !== 0 ? end : undefined;
    let e = from;
    while (b[e] !== 0) e++;
    return b.slice(from, e);
  }
}
