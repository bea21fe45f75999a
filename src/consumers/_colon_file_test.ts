import { assert, assertEquals } from "../../test/assert.ts";
import { databaseLines, ECHOED_PASSWORD, FieldCursor } from "./_colon_file.ts";
import { parseGroup } from "./groups/group.ts";
import { parseGshadow } from "./groups/gshadow.ts";
import { hmacFingerprint } from "./users/shadow.ts";

const fp = hmacFingerprint(new TextEncoder().encode("k"));

Deno.test("colon file: a repeated tail is located exactly (text[i] copies text[i - shift])", () => {
  const [l] = [...databaseLines("    g:secret:", [])];
  assertEquals(l.text, "g:secret:ret:");
  assertEquals(l.echo, { from: 9, shift: 4 });
  for (let i = l.echo!.from; i < l.text.length; i++) {
    assertEquals(l.text[i], l.text[i - l.echo!.shift]);
  }
  // With a newline nothing is repeated.
  assertEquals([...databaseLines("    g:secret:\n", [])][0].echo, undefined);
});

Deno.test("colon file: a field after the password never shows what the C library copied from it", () => {
  const [l] = [...databaseLines("          g:abcdefgh:x", [])];
  const f = new FieldCursor(l.text, l.echo);
  assertEquals(f.text(), "g");
  assertEquals(f.secret(), "abcdefgh");
  assertEquals(f.text(), "x" + ECHOED_PASSWORD);
  assertEquals(f.rest(), "x");
  assert(f.echoedSecret);
});

Deno.test("colon file: group and gshadow members hide a hash glibc reads again, with a warning", () => {
  const group = parseGroup("g:x:1:\n              w:$1$abcdefgh:5:a");
  assert(!JSON.stringify(group).includes("abcdefgh"), JSON.stringify(group));
  assertEquals(group.entries[1].members, [`a${ECHOED_PASSWORD}:5:a`]);
  assert(group.errors.some((e) => e.line === 2 && e.message.includes(ECHOED_PASSWORD)));
  const gs = parseGshadow("            s:$6$s$abcdefgh:", fp);
  assert(!JSON.stringify(gs).includes("abcdefgh"), JSON.stringify(gs));
  assertEquals(gs.entries[0].admins, [ECHOED_PASSWORD]);
});
