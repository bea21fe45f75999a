import { assertEquals } from "../../test/assert.ts";
import { rng } from "../../test/rng.ts";
import { globDirMatcher, globMatcher, globToRegExp } from "./glob.ts";

Deno.test("globs: * stays in one directory, ** crosses them, ? and classes", () => {
  assertEquals(globToRegExp("*.bak").test("x.bak"), true);
  assertEquals(globToRegExp("*.bak").test("a/x.bak"), false);
  assertEquals(globToRegExp("**/*.bak").test("a/b/x.bak"), true);
  assertEquals(globToRegExp("**/*.bak").test("x.bak"), true);
  assertEquals(globToRegExp("file?.conf").test("file1.conf"), true);
  assertEquals(globToRegExp("[!a]*").test("abc"), false);
  assertEquals(globToRegExp("[a-c]x").test("bx"), true);
  assertEquals(globToRegExp("a.b").test("axb"), false);
});

Deno.test("a glob without a slash matches basenames at any depth", () => {
  const m = globMatcher(["*.swp", "cache/**"]);
  assertEquals(m("deep/dir/.x.swp"), true);
  assertEquals(m("cache/a/b"), true);
  assertEquals(m("src/cache.c"), false);
});

Deno.test("only directories an include glob can reach below are walked", () => {
  const keys = globDirMatcher(["*/.ssh/authorized_keys", "*/.ssh/authorized_keys2"]);
  assertEquals(
    ["", "alice", "alice/.ssh", "alice/node_modules", "alice/.ssh/x", "a/b/c"].map(keys),
    [true, true, true, false, false, false],
  );
  const deep = globDirMatcher(["etc/**/*.conf"]);
  assertEquals(["etc", "etc/a/b/c", "usr"].map(deep), [true, true, false]);
  const classes = globDirMatcher(["h[o]me/[!.]*/x"]);
  assertEquals(["home", "home/a", "home/.a", "hame"].map(classes), [true, true, false, false]);
  // A glob without a slash matches basenames anywhere; a class with a slash is not split.
  assertEquals(globDirMatcher(["*.conf"])("any/depth"), true);
  assertEquals(globDirMatcher(["a[/]b/c"])("x"), true);
});

Deno.test("fuzz: a directory the walk skips holds no path that an include glob matches", () => {
  const seg = ["a", "b", ".ssh", "x.conf", "keys"];
  const globSeg = ["a", "*", "?", "[ab]", "[!a]*", "**", ".ssh", "*.conf", "keys"];
  const r = rng(7);
  let matched = 0;
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < 3000; i++) {
    const glob = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(globSeg)).join("/");
    const path = Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(seg));
    const walks = globDirMatcher([glob]);
    if (!globMatcher([glob])(path.join("/"))) continue;
    matched++;
    // Every directory above a matching path must be walked.
    for (let d = 1; d < path.length; d++) {
      assertEquals(walks(path.slice(0, d).join("/")), true, `${glob} matches ${path.join("/")}`);
    }
  }
  assertEquals(matched > 200, true, `only ${matched} matching paths drawn`);
});
