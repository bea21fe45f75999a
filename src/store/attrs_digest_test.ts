import { assertEquals } from "../../test/assert.ts";
import { rekeyedText } from "../watch/extra_attrs.ts";

Deno.test("an older text's digests are taken from the text now by name; the rest still compares", () => {
  const old = [
    "acl invalid 0000000000000001",
    "flags immutable",
    "xattr user.a 0000000000000002",
    "xattr user.gone 0000000000000003",
  ].join("\n");
  const now = [
    "acl invalid aaaaaaaaaaaaaaaa",
    "flags append",
    "xattr user.a bbbbbbbbbbbbbbbb",
    "xattr user.new cccccccccccccccc",
  ].join("\n");
  assertEquals(
    rekeyedText(old, now),
    [
      "acl invalid aaaaaaaaaaaaaaaa",
      "flags immutable",
      "xattr user.a bbbbbbbbbbbbbbbb",
      "xattr user.gone 0000000000000003",
    ].join("\n"),
  );
  assertEquals(rekeyedText("", now), "");
  assertEquals(rekeyedText(now, ""), now);
});
