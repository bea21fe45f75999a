import { assert, assertEquals } from "../../test/assert.ts";
import { databaseLines, decodeBytes, ECHOED_PASSWORD, FieldCursor } from "./_colon_file.ts";
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

Deno.test("colon file: fields show bytes that are not UTF-8 as \\xNN and a backslash doubled, as paths are", () => {
  assertEquals(decodeBytes("a\xffb"), "a\\xffb");
  assertEquals(decodeBytes("a\xfeb"), "a\\xfeb");
  assertEquals(decodeBytes("a\\xffb"), "a\\\\xffb");
  assertEquals(decodeBytes("\xc3\xa9t\xc3"), "ét\\xc3");
  assertEquals(decodeBytes("plain"), "plain");
  // Every name reaching an event is read so: group members and gshadow lists too.
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const g = parseGroup(bytes("s\xff:x:27:a\xff,a\xfe,a\\xff\n")).entries[0];
  assertEquals([g.name, g.members], ["s\\xff", ["a\\xff", "a\\xfe", "a\\\\xff"]]);
  const gs = parseGshadow(bytes("s\xff:!:a\xff:a\xfe\n"), fp).entries[0];
  assertEquals([gs.name, gs.admins, gs.members], ["s\\xff", ["a\\xff"], ["a\\xfe"]]);
});
