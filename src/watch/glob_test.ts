import { assertEquals } from "../../test/assert.ts";
import { globMatcher, globToRegExp } from "./glob.ts";

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
