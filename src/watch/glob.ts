/**
 * Glob patterns for include/exclude rules: `*` (not `/`), `**` (any depth),
 * `?`, and `[...]` classes. Compiled to anchored regular expressions without
 * backtracking traps (each token becomes a simple class or `.*`).
 *
 * @module
 */

/** Compiles `glob` to a RegExp matching a whole relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*") {
      if (glob[i + 1] === "*") {
        const slash = glob[i + 2] === "/";
        re += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else re += "[^/]*";
    } else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** A matcher for any of `globs`; a glob without `/` also matches the basename anywhere. */
export function globMatcher(globs: string[]): (relPath: string) => boolean {
  const res = globs.map((g) => ({ re: globToRegExp(g), base: !g.includes("/") }));
  return (rel) => {
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    return res.some(({ re, base: b }) => re.test(rel) || (b && re.test(base)));
  };
}

/**
 * Whether a path below directory `relDir` could match any of `globs`: a
 * directory no include glob can reach below is not walked or watched (what a
 * user makes in `~/node_modules` is no business of `* /.ssh/authorized_keys`).
 * A glob without `/` matches basenames anywhere, and `**` any depth: with
 * either, every directory may hold a match.
 */
export function globDirMatcher(globs: string[]): (relDir: string) => boolean {
  const parts: (RegExp | "any")[][] = [];
  for (const g of globs) {
    // A class holding "/" cannot be split by segment: walk everything.
    if (!g.includes("/") || /\[[^\]]*\/[^\]]*\]/.test(g)) return () => true;
    parts.push(g.split("/").map((seg) => seg.includes("**") ? "any" : globToRegExp(seg)));
  }
  const reaches = (segs: string[], glob: (RegExp | "any")[]): boolean => {
    for (let i = 0; i < segs.length; i++) {
      const p = glob[i];
      if (p === "any") return true;
      // The glob ends at or above this directory: nothing below it matches.
      if (p === undefined || i === glob.length - 1 || !p.test(segs[i])) return false;
    }
    return true;
  };
  return (relDir) => {
    if (relDir === "" || relDir === ".") return true;
    const segs = relDir.split("/");
    return parts.some((g) => reaches(segs, g));
  };
}

/** A watch's include/exclude globs, compiled once, over paths relative to the watched directory. */
export interface PathFilter {
  /** Whether the include globs take `rel`: a file that matches, a directory that one can reach below. */
  includes(rel: string, isDir: boolean): boolean;
  /** Whether an exclude glob matches `rel`. */
  excludes(rel: string): boolean;
}

/** Compiles `include` (none: everything) and `exclude` (none: nothing) globs. */
export function pathFilter(include?: string[], exclude?: string[]): PathFilter {
  const file = include?.length ? globMatcher(include) : () => true;
  const dir = include?.length ? globDirMatcher(include) : () => true;
  const excludes = exclude?.length ? globMatcher(exclude) : () => false;
  return { includes: (rel, isDir) => isDir ? dir(rel) : file(rel), excludes };
}
