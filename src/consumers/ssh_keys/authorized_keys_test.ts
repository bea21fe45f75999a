import { assertEquals } from "../../../test/assert.ts";
import { optionNames, parseAuthorizedKeys } from "./authorized_keys.ts";

/** Public keys made by ssh-keygen, and the fingerprints `ssh-keygen -l` gives them. */
const ED = "AAAAC3NzaC1lZDI1NTE5AAAAICBsmtYkGqkfc41Jqq2xg8XSP5fQuFp9XCtzdbQGMwN4";
const ED_FP = "SHA256:ox2kajwUGb0vsbm/Fz33+9X22GFgAQ4iJWGvtvBW4VA";
const EC =
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBE+C0UWCsTh6WAAtduUbX/sYwWKVVyXyLw1hbWZnI68kRYxD6F2buTP/KT7XMa6bektv6a4KU+B/Ab/Uwon3zoQ=";

const keys = (text: string) =>
  parseAuthorizedKeys(text).entries.map((k) => [k.line, k.type, k.options, k.comment]);

Deno.test("authorized_keys: keys with and without options, blanks, comments and line ends", () => {
  const text = [
    `ssh-ed25519 ${ED} alice@x`,
    `  \tssh-ed25519 ${ED}`,
    `# ssh-ed25519 ${ED} commented out`,
    `command="echo a b",no-pty ssh-ed25519 ${ED} opts`,
    `from="10.0.0.1",command="x\\" y" ssh-ed25519\t${ED}\tescaped quote`,
    `garbage ssh-ed25519 ${ED} sshd rejects the option, ssh-keygen reads the key`,
    `ssh-ed25519 ${ED} crlf\r`,
    `ssh-ed25519 ${ED} before a nul\0ssh-ed25519 ${ED} after it`,
    `\0ssh-ed25519 ${ED} a nul first`,
    `ecdsa-sha2-nistp256 ${EC} ec`,
  ].join("\n");
  assertEquals(keys(text), [
    [1, "ssh-ed25519", "", "alice@x"],
    [2, "ssh-ed25519", "", ""],
    [4, "ssh-ed25519", 'command="echo a b",no-pty', "opts"],
    [5, "ssh-ed25519", 'from="10.0.0.1",command="x\\" y"', "escaped quote"],
    [6, "ssh-ed25519", "garbage", "sshd rejects the option, ssh-keygen reads the key"],
    [7, "ssh-ed25519", "", "crlf"],
    [8, "ssh-ed25519", "", "before a nul"],
    [10, "ecdsa-sha2-nistp256", "", "ec"],
  ]);
  assertEquals(parseAuthorizedKeys(text).entries[0].fingerprint, ED_FP);
});

Deno.test("authorized_keys: what sshd does not read as a key is not one", () => {
  const text = [
    `ED25519 ${ED} a short name`,
    `ssh-rsa ${ED} the blob is another type`,
    `ecdsa-sha2-nistp384 ${EC} another curve`,
    `ssh-ed25519 ${ED}x bad base64`,
    `ecdsa-sha2-nistp256 ${EC.slice(0, -2)}R= pad bits not zero`,
    `x="unclosed ssh-ed25519 ${ED} unclosed quote`,
    `ssh-ed25519`,
    `ssh-ed25519 ${ED.slice(0, 20)} short`,
  ].join("\n");
  assertEquals(keys(text), []);
  // Wire strings: a 512-bit RSA modulus, a 2048-bit one (read under a signature name, as sshd
  // does), an Ed25519 key of 31 bytes, and one with a byte after it.
  const wire = (...parts: Uint8Array[]) => {
    const out: number[] = [];
    for (const p of parts) out.push(0, 0, p.length >> 8, p.length & 255, ...p);
    return btoa(String.fromCharCode(...out));
  };
  const t = (s: string) => new TextEncoder().encode(s);
  const n = (bytes: number) => new Uint8Array([0, ...new Array(bytes).fill(0xc1)]);
  const e = new Uint8Array([1, 0, 1]);
  assertEquals(keys(`ssh-rsa ${wire(t("ssh-rsa"), e, n(64))} rsa512`), []);
  assertEquals(keys(`rsa-sha2-512 ${wire(t("ssh-rsa"), e, n(256))} rsa2048`), [
    [1, "rsa-sha2-512", "", "rsa2048"],
  ]);
  assertEquals(keys(`ssh-ed25519 ${wire(t("ssh-ed25519"), new Uint8Array(31))} short`), []);
  const trailing = btoa(atob(ED) + "\0");
  assertEquals(keys(`ssh-ed25519 ${trailing} trailing`), []);
});

Deno.test("authorized_keys: option names, lower-cased, commas inside quotes kept", () => {
  assertEquals(optionNames('command="a,b",No-Pty,from="x,y",restrict'), [
    "command",
    "no-pty",
    "from",
    "restrict",
  ]);
  assertEquals(optionNames(""), []);
  assertEquals(optionNames('environment="A=\\"1,2\\"",pty'), ["environment", "pty"]);
});
