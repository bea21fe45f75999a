import { assertEquals } from "../../test/assert.ts";
import { basename, dirname } from "node:path";
import { lastName, parentName, parentPath } from "./path_names.ts";

Deno.test("lastName, parentName and parentPath agree with node:path on ordinary, odd and hostile paths", () => {
  const paths = [
    "/etc/passwd",
    "/etc/sudoers.d/90-cloud",
    "/",
    "",
    "a",
    "a/b",
    "/a",
    "//a//",
    "///",
    "/etc//sudoers.d//x//",
    "/x/y/",
    "./a",
    "../sudoers.d/z",
    "/a b/\n/\u00e9-",
    "relative/dir/",
  ];
  // And random ones over a small alphabet, slashes included.
  const alphabet = ["/", "/", "a", "b", ".", "-", " "];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 5000; i++) {
    let p = "";
    for (let n = Math.floor(rnd() * 9); n > 0; n--) {
      p += alphabet[Math.floor(rnd() * alphabet.length)];
    }
    paths.push(p);
  }
  for (const p of paths) {
    assertEquals(lastName(p), basename(p), `lastName(${JSON.stringify(p)})`);
    assertEquals(parentName(p), basename(dirname(p)), `parentName(${JSON.stringify(p)})`);
    assertEquals(parentPath(p), dirname(p), `parentPath(${JSON.stringify(p)})`);
  }
});
