/**
 * /etc/ld.so.preload as the dynamic loader reads it: every program started
 * loads each object it names first, so an entry is code in every process.
 * Read byte for byte as glibc's `rtld.c` does, quirks included, since an
 * entry bpfink skipped would be one the loader loads unseen:
 *
 * - Comments: each `#` found is blanked up to the end of its line, but the
 *   search always restarts at the start of the file with a count that
 *   shrinks by the comment's offset, so only the first comments are
 *   blanked, and a later `#` can be an entry or part of one.
 * - Entries are separated by blanks, tabs, newlines and `:`; a NUL byte
 *   ends the list, except for a last entry with no separator after it,
 *   which is read on its own.
 *
 * `ld_so_preload_differential_test.ts` holds it against the loader.
 *
 * @module
 */

const SEPARATORS = new Set([0x20, 0x09, 0x0a, 0x3a]); // ' ', '\t', '\n', ':'
const HASH = 0x23;
const NUL = 0;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/** A C string's bytes from `b` (up to the first NUL), decoded for display (UTF-8). */
function cString(b: Uint8Array): string {
  const nul = b.indexOf(NUL);
  const bytes = nul >= 0 ? b.subarray(0, nul) : b;
  return /[\x80-\xff]/.test(latin1.decode(bytes)) ? utf8.decode(bytes) : latin1.decode(bytes);
}

/** The objects the loader preloads from a file holding `content`, in order. */
export function preloadEntries(content: Uint8Array): string[] {
  const size = content.length;
  if (size === 0) return [];
  const file = new Uint8Array(content);
  // Eliminate comments, as rtld.c does (its search pointer never moves).
  let rest = size;
  while (rest > 0) {
    const comment = file.subarray(0, rest).indexOf(HASH);
    if (comment < 0) break;
    rest -= comment;
    let i = comment;
    do file[i] = 0x20; while (--rest > 0 && file[++i] !== 0x0a);
  }
  // A last entry with no separator after it is read on its own.
  let problem: number | undefined;
  let end = size; // the C string strsep walks ends at the first NUL before `end`
  if (!SEPARATORS.has(file[size - 1])) {
    problem = size;
    while (problem > 0 && !SEPARATORS.has(file[problem - 1])) problem--;
    if (problem > 0) end = problem - 1;
  } else {
    end = size - 1;
  }
  const out: string[] = [];
  if (problem !== 0) {
    const nul = file.subarray(0, end).indexOf(NUL);
    const list = file.subarray(0, nul >= 0 ? nul : end);
    let start = 0;
    for (let i = 0; i <= list.length; i++) {
      if (i === list.length || SEPARATORS.has(list[i])) {
        if (i > start) out.push(cString(list.subarray(start, i)));
        start = i + 1;
      }
    }
  }
  if (problem !== undefined) {
    const last = cString(file.subarray(problem));
    if (last !== "") out.push(last);
  }
  return out;
}
