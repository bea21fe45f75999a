import { assert, assertEquals } from "../../../test/assert.ts";
import { parseAccessConf } from "./access_conf.ts";

const canon = (t: string, sep?: string) => parseAccessConf(t, sep).entries.map((e) => e.canonical);

Deno.test("access.conf: rules with normalised spacing and lists", () => {
  const r = parseAccessConf("+ : root : LOCAL\n-:ALL EXCEPT  root,(wheel):ALL\n");
  assertEquals(r.errors, []);
  assertEquals(r.entries, [
    { permission: "+", users: "root", origins: "LOCAL", canonical: "+ : root : LOCAL", line: 1 },
    {
      permission: "-",
      users: "ALL EXCEPT root (wheel)",
      origins: "ALL",
      canonical: "- : ALL EXCEPT root (wheel) : ALL",
      line: 2,
    },
  ]);
});

Deno.test("access.conf: the origins field keeps the separator (IPv6)", () => {
  assertEquals(canon("+ : root : ::1 fe80::/64\n"), ["+ : root : ::1 fe80::/64"]);
});

Deno.test("access.conf: only a # in the first column is a comment", () => {
  const r = parseAccessConf("# comment\n  # not : a : comment\n+:a:ALL\n");
  assertEquals(r.entries.map((e) => e.line), [3]);
  assertEquals(r.errors, [{ line: 2, message: "bad first field: the permission must be + or -" }]);
});

Deno.test("access.conf: bad permission and field count are reported", () => {
  const r = parseAccessConf("* : x : y\n+ : root\n+\n:::\n- : a : b\n");
  assertEquals(r.entries.map((e) => e.canonical), ["- : a : b"]);
  assertEquals(r.errors.map((e) => e.line), [1, 2, 3, 4]);
});

Deno.test("access.conf: a configured field separator", () => {
  assertEquals(canon("+|root|LOCAL\n", "|"), ["+ | root | LOCAL"]);
  assertEquals(canon("+ : root : LOCAL\n", "|"), []);
});

Deno.test("access.conf: pam_access skips a last line without a newline, and so do we (loudly)", () => {
  const r = parseAccessConf("+ : a : ALL\n+ : b : ALL");
  assertEquals(r.entries.map((e) => e.users), ["a"]);
  assertEquals(r.errors.map((e) => e.line), [2]);
});

Deno.test("access.conf: a long line's last 8191-byte chunk is a rule, as pam_access reads it", () => {
  // 8191 bytes of padding (4095 two-byte characters and one byte), then a rule.
  const pad = "é".repeat(4095) + "x";
  const r = parseAccessConf(`${pad}+ : evil : ALL\n`);
  assertEquals(r.entries.map((e) => e.canonical), ["+ : evil : ALL"]);
  assert(r.errors[0].message.includes("pam_access skips its first 8191 bytes"));
  // Shorter padding: one chunk, which does not start with + or -.
  assertEquals(canon("x".repeat(8000) + "+ : evil : ALL\n"), []);
});

Deno.test("access.conf: NUL bytes make pam_access skip the line", () => {
  const r = parseAccessConf("+ : a\0b : ALL\n");
  assertEquals(r.entries, []);
  assertEquals(r.errors.length, 1);
});

Deno.test("access.conf: a `+` after a field separator denies: pam_access grants on a line starting with `+`", () => {
  const r = parseAccessConf(":+ : root : ALL\n::+:ALL:ALL\n+ : a : ALL\n");
  assertEquals(r.entries.map((e) => e.canonical), [
    "- : root : ALL",
    "- : ALL : ALL",
    "+ : a : ALL",
  ]);
  assertEquals(r.errors.map((e) => e.line), [1, 2]);
  // With `+` a field separator, a line starting with it and a `-` field grants.
  assertEquals(canon("+-|root|LOCAL\n", "+|"), ["+ | root | LOCAL"]);
});

Deno.test("access.conf: invalid UTF-8 counts its bytes in pam_access's 8191-byte chunks", () => {
  const file = (ff: number, xs: number) => {
    const rule = new TextEncoder().encode("+ : evil : ALL\n");
    const b = new Uint8Array(ff + xs + rule.length).fill(0xff, 0, ff).fill(0x78, ff, ff + xs);
    b.set(rule, ff + xs);
    return b;
  };
  // 8191 bytes, then the rule in the line's last chunk.
  assertEquals(parseAccessConf(file(100, 8091)).entries.map((e) => e.canonical), [
    "+ : evil : ALL",
  ]);
  // One chunk that does not start with + or -: no rule.
  assertEquals(parseAccessConf(file(2730, 1)).entries, []);
});
