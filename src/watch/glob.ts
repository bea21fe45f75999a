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
