/**
 * Differential test: bpfink's reading of access.conf against pam_access
 * itself. Each file (fixed cases for each way they differed, then CASES
 * seeded random files with lexical hazards: NUL, `\r`, `\v`, `\f`, `#`,
 * leading blanks and separators, lines around pam_access's 8191-byte chunk
 * with a rule in their last chunk, a missing final newline, invalid UTF-8,
 * hash-like words) is written to /etc/security in a private mount
 * namespace (an overlay over /etc: the host's /etc is never written), and
 * `pamtester ... acct_mgmt` asks pam_access whether each probe (a user, a
 * remote host or a tty) gets in. bpfink's rules, as its access consumer
 * reads the file, must give the same decision for every probe, under
 * pam_access's first-match semantics (`decide` below).
 *
 * The namespace adds a group `bpfinkg` holding `nobody`, and the host name
 * `probe.example.com` for 10.1.2.3, so that group and host tokens have
 * something to match. The seed is printed on failure and BPFINK_FUZZ_SEED
 * replays it; BPFINK_DIFF_CASES bounds the number of random files.
 */
import { joinBytes, spliceBytes } from "../../../test/splice_bytes.ts";
import { assert, assertEquals } from "../../../test/assert.ts";
import { accessConsumer } from "./access_consumer.ts";
import type { AccessRule } from "./access_conf.ts";
import { consumerContext } from "../consumer_context.ts";
import { rng } from "../../../test/rng.ts";
import { cannotRun, inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 120);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = cannotRun("/usr/bin/pamtester");

const HOST_IP = "10.1.2.3";
const HOST_NAME = "probe.example.com";
const USERS = ["nobody", "root", "daemon"];
/** pamtester's `-I` item, the origin pam_access sees, and whether it is remote. */
const ORIGINS: [item: string, from: string, remote: boolean][] = [
  [`rhost=${HOST_IP}`, HOST_IP, true],
  ["rhost=192.168.7.9", "192.168.7.9", true],
  [`rhost=${HOST_NAME}`, HOST_NAME, true],
  ["tty=tty1", "tty1", false],
];
const PROBES = USERS.flatMap((u) => ORIGINS.map((o) => [u, ...o] as const));

/** Each user's groups, primary and supplementary, as the namespace's /etc holds them. */
function groupsOf(): Map<string, Set<string>> {
  const gid = new Map<string, string>();
  const out = new Map(USERS.map((u) => [u, new Set<string>()]));
  const groups = Deno.readTextFileSync("/etc/group").split("\n").map((l) => l.split(":"));
  groups.push(["bpfinkg", "x", "5555", "nobody"]);
  for (const [name, , id, members] of groups) {
    if (id === undefined) continue;
    gid.set(id, name);
    for (const m of (members ?? "").split(",")) out.get(m)?.add(name);
  }
  for (const l of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const [name, , , g] = l.split(":");
    const primary = gid.get(g);
    if (primary !== undefined) out.get(name)?.add(primary);
  }
  return out;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
/** Where a host name or address resolves, as the namespace's /etc/hosts says. */
const addressOf = (from: string) => same(from, HOST_NAME) ? HOST_IP : from;

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) return undefined;
  return m.slice(1).reduce((n, x) => n * 256 + Number(x), 0);
}

/**
 * A prefix length as pam_access reads it: C's `strtol(s, &end, 0)`, which
 * skips leading white space (` \t\n\v\f\r`), takes a sign and a `0x`, `0`
 * or decimal number, and must end the token; otherwise no match (undefined).
 */
function strtolBase0(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const digits = m[2];
  const n = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : parseInt(digits, digits.startsWith("0") ? 8 : 10);
  return m[1] === "-" ? -n : n;
}

/** pam_access's list_match: the first item that matches, unless an EXCEPT list after it matches. */
function listMatch(items: string[], match: (tok: string) => boolean): boolean {
  const except = items.findIndex((t) => same(t, "EXCEPT"));
  const head = except < 0 ? items : items.slice(0, except);
  if (!head.some(match)) return false;
  return except < 0 || !listMatch(items.slice(except + 1), match);
}

/**
 * pam_access's decision for `user` from `from` over bpfink's rules: the
 * first rule whose users and origins match decides; none matching lets in.
 * Only the token forms the generated files use.
 */
function decide(
  rules: AccessRule[],
  groups: Map<string, Set<string>>,
  user: string,
  from: string,
  remote: boolean,
): boolean {
  const userMatch = (tok: string) => {
    if (tok.startsWith("@")) return false; // no such netgroup
    if (tok.startsWith("(") && tok.endsWith(")") && tok.length > 1) {
      return groups.get(user)!.has(tok.slice(1, -1));
    }
    return same(tok, "ALL") || same(tok, user) || groups.get(user)!.has(tok);
  };
  const fromMatch = (tok: string) => {
    if (tok.startsWith("@")) return false;
    if (same(tok, "ALL") || same(tok, from)) return true;
    if (tok.startsWith(".")) {
      return from.length > tok.length && same(tok, from.slice(from.length - tok.length));
    }
    if (!remote) return same(tok, "LOCAL");
    const addr = ipv4(addressOf(from))!;
    if (tok.endsWith(".")) return `${addressOf(from)}.`.startsWith(tok);
    const [net, bits] = tok.split("/");
    const n = ipv4(net);
    if (n === undefined) return false;
    const mask = bits === undefined ? 32 : strtolBase0(bits);
    if (mask === undefined || mask < 0 || mask >= 128) return false;
    if (mask > 32) throw new Error(`an IPv4 prefix of ${mask} bits is not modelled`);
    const m = mask === 0 ? 0 : (~0 << (32 - mask)) >>> 0;
    return ((n & m) >>> 0) === ((addr & m) >>> 0);
  };
  for (const r of rules) {
    if (
      listMatch(r.users.split(" "), userMatch) && listMatch(r.origins.split(" "), fromMatch)
    ) {
      return r.permission === "+";
    }
  }
  return true;
}

/** For each file, pamtester's answer for each probe: `1` when pam_access lets it in. */
async function pamAccess(files: Uint8Array[]): Promise<string[]> {
  const probes = PROBES.map(([u, item]) =>
    `if timeout 3 pamtester -I ${item} bpfinkacc ${u} acct_mgmt >/dev/null 2>&1; ` +
    `then printf 1; else printf 0; fi`
  ).join("; ");
  const outs = await inPrivateNamespace({
    cases: files.map((f) => [f]),
    setup: `${OVERLAY_ETC} && ` +
      "echo 'account required pam_access.so accessfile=/etc/security/bpfink_access.conf' " +
      ">/etc/pam.d/bpfinkacc && echo 'bpfinkg:x:5555:nobody' >>/etc/group && " +
      `echo '${HOST_IP} ${HOST_NAME}' >>/etc/hosts`,
    each: `cp "$IN0" /etc/security/bpfink_access.conf; { ${probes}; } >"$OUT"`,
  });
  return outs;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = joinBytes;

/** A file's bytes, readable: runs collapsed, bytes outside printable ASCII escaped. */
function show(f: Uint8Array): string {
  let out = "";
  for (let i = 0; i < f.length;) {
    let j = i;
    while (j < f.length && f[j] === f[i]) j++;
    const c = f[i] >= 0x20 && f[i] < 0x7f && f[i] !== 0x5c
      ? String.fromCharCode(f[i])
      : `\\x${f[i].toString(16).padStart(2, "0")}`;
    out += j - i > 8 ? `<${c}*${j - i}>` : c.repeat(j - i);
    i = j;
  }
  return out;
}

/** bpfink's rules for a file, as its access consumer reads it from the pipeline. */
function bpfinkRules(file: Uint8Array): AccessRule[] {
  const ctx = consumerContext(new Uint8Array(32), () => {});
  return accessConsumer.snapshot(
    "/etc/security/access.conf",
    dec.decode(file),
    ctx,
    file,
  ) as AccessRule[];
}

const DENY_ALL = "- : ALL : ALL\n";
/** A word the pipeline redacts as a password hash, after parsing for this consumer. */
const HASH = "$6$abcdefgh$" + "A".repeat(86);

/**
 * Each way bpfink's reading differed from pam_access's, and pam_access's
 * answer for each probe (nobody, root, daemon, each from 10.1.2.3,
 * 192.168.7.9, probe.example.com and tty1), as pamtester measured it.
 */
const FIXED: [name: string, file: Uint8Array, pamAccess: string][] = [
  [
    "(the oracle) a prefix length led by white space or written in hex is read by strtol",
    bytes(
      `- : root : ${HOST_IP}/\r32\n- : daemon : ${HOST_IP}/\v0x20\n- : nobody : ${HOST_IP}/32\r LOCAL\n`,
    ),
    "111001010101",
  ],
  [
    "a `+` after a field separator denies: pam_access grants only on a line starting with `+`",
    bytes(`:+ : root : ALL\n+ : ALL : ALL\n`),
    "111100001111",
  ],
  [
    "`::+` too, whatever follows",
    bytes(`::+:ALL:ALL\n+ : ALL : ALL\n`),
    "000000000000",
  ],
  [
    "invalid UTF-8 counts its bytes: a grant in the last 8191-byte chunk",
    bytes(Array(100).fill(0xff), "x".repeat(8091), `+ : ALL : ALL\n${DENY_ALL}`),
    "111111111111",
  ],
  [
    "invalid UTF-8 counts its bytes: one chunk, no rule",
    bytes(Array(2730).fill(0xff), "x", `+ : ALL : ALL\n${DENY_ALL}`),
    "000000000000",
  ],
];

const USER_TOKENS = [
  "ALL",
  "all",
  "root",
  "ROOT",
  "nobody",
  "daemon",
  "(bpfinkg)",
  "(nogroup)",
  "(root)",
  "(nosuchgrp)",
  "bpfinkg",
  "nogroup",
  "@nosuchng",
];
const ORIGIN_TOKENS = [
  "ALL",
  "LOCAL",
  "local",
  HOST_IP,
  "10.0.0.0/8",
  "10.1.0.0/16",
  "192.168.0.0/16",
  "192.168.7.0/24",
  `${HOST_IP}/32`,
  "172.16.0.0/12",
  "10.1.",
  "192.168.",
  ".example.com",
  HOST_NAME,
  HOST_NAME.toUpperCase(),
  "tty1",
  "@nosuchng",
];

/** A random access.conf from the vocabulary, with spacing and separators varied. */
function file(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const list = (tokens: string[]) => {
    const sep = () => pick([" ", ",", "\t", ", ", "  "]);
    const items = (n: number) => Array.from({ length: n }, () => pick(tokens));
    let s = items(1 + Math.floor(r() * 3)).join(sep());
    if (r() < 0.3) {
      s += `${sep()}${pick(["EXCEPT", "except"])}${sep()}` +
        items(1 + Math.floor(r() * 2)).join(sep());
    }
    return s;
  };
  const fs = () => pick([":", " : ", "\t:\t", "  :", ": "]);
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    if (r() < 0.1) lines.push(pick(["# comment", "", "  "]));
    lines.push(`${pick(["+", "-"])}${fs()}${list(USER_TOKENS)}${fs()}${list(ORIGIN_TOKENS)}`);
  }
  if (r() < 0.5) lines.push(pick(["- : ALL : ALL", "+ : ALL : ALL"]));
  return lines.join("\n") + "\n";
}

/** A file's bytes with lexical hazards inserted. */
function mutated(r: () => number, text: string): Uint8Array {
  let b = enc.encode(text);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const lineStarts = () => [0, ...[...b.keys()].filter((i) => b[i - 1] === 0x0a)];
  const insert = (at: number, x: Uint8Array) => {
    b = spliceBytes(b, at, x);
  };
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const m = r();
    if (m < 0.35) {
      insert(
        Math.floor(r() * (b.length + 1)),
        bytes(pick(["\0", "\r", "\v", "\f", "#", " ", "\t", ":", "\n", "\r\n", ",", "+", "-"])),
      );
    } else if (m < 0.55) {
      // At the start of a line: what pam_access looks at first.
      insert(pick(lineStarts()), bytes(pick(["#", " ", "\t", ":", "::", "\0", "\v", "+", "-"])));
    } else if (m < 0.8) {
      // A run that brings a rule near or past the end of pam_access's 8191-byte chunk.
      const len = 8191 - 40 + Math.floor(r() * 80);
      const at = pick(lineStarts());
      insert(
        at,
        pick([
          () => bytes("x".repeat(len)),
          () => bytes(" ".repeat(len)),
          () => bytes("é".repeat(len >> 1)),
          () => bytes(Array(len).fill(0xff)),
          () => bytes("# " + "y".repeat(len - 2)),
          () => bytes(HASH + " ".repeat(len - HASH.length)),
          () => bytes("- : ALL : " + "z".repeat(len - 10)),
        ])(),
      );
    } else if (m < 0.9) {
      insert(
        Math.floor(r() * (b.length + 1)),
        bytes(pick([[0xff], [0xc3], [0xe2, 0x82], HASH, ` ${HASH} `])),
      );
    } else if (b.at(-1) === 0x0a) {
      b = b.subarray(0, b.length - 1); // no newline at the end
    }
  }
  return b;
}

Deno.test({
  name: "access: bpfink's access.conf rules decide as pam_access does, lexical hazards and all",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const cases: [string, Uint8Array][] = [
      ...FIXED.map(([name, f]): [string, Uint8Array] => [name, f]),
      ...Array.from({ length: CASES }, (_, i): [string, Uint8Array] => {
        const t = file(r);
        return [`seed ${SEED}, case ${i}`, r() < 0.8 ? mutated(r, t) : enc.encode(t)];
      }),
    ];
    const want = await pamAccess(cases.map(([, f]) => f));
    const groups = groupsOf();
    const wrong: string[] = [];
    let granted = 0;
    for (const [i, [what, f]] of cases.entries()) {
      const rules = bpfinkRules(f);
      const got = PROBES.map(([u, , from, remote]) =>
        decide(rules, groups, u, from, remote) ? "1" : "0"
      )
        .join("");
      if (i < FIXED.length && want[i] !== FIXED[i][2]) {
        wrong.push(`${what}: pam_access itself changed: ${want[i]}, not ${FIXED[i][2]}`);
      }
      if (got !== want[i]) {
        wrong.push(`${what}: pam_access ${want[i]}, bpfink ${got}: ${show(f)}`);
      }
      granted += [...want[i]].filter((c) => c === "1").length;
    }
    assertEquals(
      wrong,
      [],
      `BPFINK_FUZZ_SEED=${SEED} (probes ${PROBES.map((p) => `${p[0]}@${p[2]}`).join(" ")})`,
    );
    const all = cases.length * PROBES.length;
    assert(granted > all / 10 && granted < all * 0.9, `no variety: ${granted} of ${all} let in`);
  },
});
