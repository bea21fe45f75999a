/**
 * sudo's include rules: the path of an include directive (quotes, escapes,
 * `%h`), and which names an `@includedir` reads.
 *
 * @module
 */
import { isBlank } from "./_scanner.ts";

/** The path of an include directive: quoted (`"a b"`) or with `\` escapes. */
export function includePath(rest: string, hostname: string | undefined): string | undefined {
  let out = "";
  let i = 0;
  const s = rest.trim();
  if (s.startsWith('"')) {
    for (i = 1; i < s.length && s[i] !== '"'; i++) {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      out += s[i];
    }
    if (s[i] !== '"') return undefined;
  } else {
    for (; i < s.length && !isBlank(s[i]); i++) {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      out += s[i];
    }
  }
  if (out === "" || out.includes("\0")) return undefined;
  // %h is the short host name, %% a percent sign; unknown host: left as written.
  return out.replace(/%[h%]/g, (m) => m === "%%" ? "%" : hostname ?? m);
}

/**
 * True for a file name sudo's `@includedir` skips: one ending in `~` or
 * holding a `.` (editor backups, `.dpkg-old`, `README.md`). An explicit
 * `@include` of such a file is still read.
 */
export function sudoSkipsInDir(name: string): boolean {
  return name.endsWith("~") || name.includes(".");
}
