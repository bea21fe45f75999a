/**
 * Differential test: bpfink's model of a PAM auth stack against libpam
 * itself. Each seeded random stack (controls, jumps, resets, includes,
 * substacks over modules with known results) is written to /etc/pam.d in a
 * private mount namespace (an overlay over /etc: the host's /etc is never
 * written), and `pamtester` authenticates `nobody`, as `nobody`, with a
 * wrong password. Whether it got in must be what
 * `authPassesWithoutPassword` says.
 *
 * A second run holds bpfink's reading of the lines against libpam's:
 * fixed cases for each way they differed, then LEX_CASES stacks with
 * lexical mutations (NUL, `\r`, continuations, blank and comment lines,
 * `#`, runs that cross libpam's 1024-byte buffer, invalid UTF-8, bad
 * types, brackets, `\]`, tabs), in the service file and in the file it
 * includes. There, a module that does not exist is unknown to libpam, as
 * it is (`authPassesWithoutPassword`'s `exists`). A stack bpfink finds too
 * large to work out (`authStackVerdict`'s `too_large`, taken as open) is not
 * compared, since libpam may not answer within pamtester's time; at most
 * one case in 50 may be one.
 *
 * CASES and LEX_CASES stacks per run; the seed is printed on failure and
 * BPFINK_FUZZ_SEED replays it.
 */
import { joinBytes, spliceBytes } from "../../../test/splice_bytes.ts";
import { assert, assertEquals } from "../../../test/assert.ts";
import { parsePamConf } from "./pam_conf.ts";
import { authPassesWithoutPassword, authStackVerdict, type ModuleExists } from "./pam_stack.ts";
import { rng } from "../../../test/rng.ts";
import { cannotRun, inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 150);
const LEX_CASES = Number(Deno.env.get("BPFINK_DIFF_LEX_CASES") ?? 150);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = cannotRun("/usr/bin/pamtester");

const MODULES = [
  "pam_unix.so nodelay",
  "pam_deny.so",
  "pam_permit.so",
  "pam_warn.so",
  "pam_env.so",
  "pam_rootok.so",
  "pam_motd.so",
  "pam_faildelay.so delay=0",
];
const CONTROLS = [
  "required",
  "requisite",
  "sufficient",
  "optional",
  "[success=1 default=ignore]",
  "[success=2 default=ignore]",
  "[success=done default=ignore]",
  "[default=die]",
  "[success=ok default=bad]",
  "[success=ok ignore=ignore default=bad]",
  "[auth_err=ok default=bad]",
  "[default=reset]",
  "[ignore=done default=bad]",
  "[default=3]",
  "[success=done perm_denied=ok default=ignore]",
];

function stack(r: () => number, includes: boolean, modules = MODULES): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    if (includes && r() < 0.2) {
      lines.push(pick(["@include bpfinkinc", "auth include bpfinkinc", "auth substack bpfinkinc"]));
    } else {
      lines.push(`${pick(["auth", "auth", "AUTH", "-auth"])}\t${pick(CONTROLS)} ${pick(modules)}`);
    }
  }
  return lines.join("\n") + "\n";
}

type File = string | Uint8Array;

/**
 * Whether pamtester got `nobody` in with a wrong password, for each
 * (service, included) pair. A pamtester that has not answered in 3 s hung
 * (libpam loops for ever on some lines): it did not get in.
 */
async function pamtester(cases: [File, File][]): Promise<boolean[]> {
  const outs = await inPrivateNamespace({
    cases,
    setup: OVERLAY_ETC,
    each: 'cp "$IN0" /etc/pam.d/bpfinkt; cp "$IN1" /etc/pam.d/bpfinkinc; ' +
      "if echo wrong | timeout 3 setpriv --reuid nobody --regid nogroup --clear-groups " +
      'pamtester bpfinkt nobody authenticate >/dev/null 2>&1; then echo 1; else echo 0; fi >"$OUT"',
  });
  return outs.map((o) => o.trim() === "1");
}

Deno.test({
  name: "pam: bpfink's auth stack lets in whom libpam lets in, with a wrong password",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const fixed: [string, string][] = [
      // Debian's common-auth, then the classic backdoor on top of it.
      [
        "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n" +
        "auth required pam_permit.so\n",
        "",
      ],
      ["auth sufficient pam_permit.so\n@include bpfinkinc\n", "auth required pam_unix.so\n"],
    ];
    const cases = [
      ...fixed,
      ...Array.from({ length: CASES }, (): [string, string] => [stack(r, true), stack(r, false)]),
    ];
    const want = await pamtester(cases);
    assertEquals(want.slice(0, 2), [false, true], "the fixed cases");
    let passed = 0;
    for (const [i, [svc, inc]] of cases.entries()) {
      const read = (p: string) => p === "/etc/pam.d/bpfinkinc" ? inc : undefined;
      const got = authPassesWithoutPassword(parsePamConf(svc).entries, read);
      assertEquals(got, want[i], `seed ${SEED}, case ${i}: ${JSON.stringify([svc, inc])}`);
      if (want[i]) passed++;
    }
    assert(passed > 0 && passed < cases.length, `no variety: ${passed} of ${cases.length} let in`);
  },
});

/** Where libpam looks for a module given by a relative path (Debian's multiarch directory). */
const MODULE_DIR = "/usr/lib/x86_64-linux-gnu/security/";
const exists: ModuleExists = (m) => {
  try {
    return Deno.statSync(m.startsWith("/") ? m : MODULE_DIR + m).isFile;
  } catch {
    return false;
  }
};

const enc = new TextEncoder();
const bytes = joinBytes;

const P = "auth sufficient pam_permit.so";
const D = "auth required pam_deny.so\n";
const env = (n: number) => "auth optional pam_env.so " + "x".repeat(n);

/**
 * Each way bpfink's reading of a service file differed from libpam's, and
 * what libpam does (1: it lets `nobody` in), as pamtester measured it.
 */
const LEXICAL: [name: string, svc: File, inc: File, libpam: 0 | 1][] = [
  // Lines libpam reads that bpfink did not.
  ["a line past 1023 bytes: its rest is a line", `${env(998)} ${P}\n${D}`, "", 1],
  ["the buffer counts bytes, not characters", `${env(0)}${"é".repeat(499)} ${P}\n${D}`, "", 1],
  ["invalid UTF-8 counts its bytes", bytes(env(0), Array(998).fill(0xff), ` ${P}\n${D}`), "", 1],
  [
    "a continuation goes on past a blank line",
    `auth sufficient \\\n\n  pam_permit.so\n${D}`,
    "",
    1,
  ],
  [
    "a continuation goes on past a comment line",
    `auth sufficient \\\n# c\n  pam_permit.so\n${D}`,
    "",
    1,
  ],
  ["a `\\` before blanks continues", `auth sufficient \\  \npam_permit.so\n${D}`, "", 1],
  ["a line ends at a NUL", bytes(P, [0], `x\n${D}`), "", 1],
  [
    "a `\\` before a NUL continues",
    bytes("auth sufficient \\", [0], `junk\npam_permit.so\n${D}`),
    "",
    1,
  ],
  ["an unknown type fails under its control", `xauth [default=1] pam_deny.so\n${D}${P}\n`, "", 1],
  [
    "a vertical tab is not a blank: a bad type",
    `\vauth [default=1] pam_deny.so\n${D}${P}\n`,
    "",
    1,
  ],
  ["an empty type in brackets is a bad type", `[] [default=1] pam_deny.so\n${D}${P}\n`, "", 1],
  ["a rule without a module fails under its control", `auth [default=1]\n${D}${P}\n`, "", 1],
  [
    "a bad type in an included file",
    `auth include bpfinkinc\n${D}${P}\n`,
    "xauth [default=1] pam_deny.so\n",
    1,
  ],
  ["a bad type's include still includes", "xauth include bpfinkinc\n", `${P}\n`, 1],
  ["a control list needs no brackets", `auth success=done pam_permit.so\n${D}`, "", 1],
  ["the first `default` wins", `auth [default=done default=bad] pam_permit.so\n${D}`, "", 1],
  [
    "`\\r` is a blank in a control list",
    `auth [success=done\rdefault=bad] pam_permit.so\n${D}`,
    "",
    1,
  ],
  ["pairs need no blank between them", `auth [default=badsuccess=done] pam_permit.so\n${D}`, "", 1],
  ["a jump wraps as a C int", `auth [default=4294967297] pam_deny.so\n${D}${P}\n`, "", 1],
  ["a type in brackets", `[auth] sufficient pam_permit.so\n${D}`, "", 1],
  ["a module in brackets", `auth sufficient [pam_permit.so]\n${D}`, "", 1],
  ["`\\]` in a bracketed word", `[x\\]] [default=1] pam_deny.so\n${D}${P}\n`, "", 1],
  ["@include in any case", "@INCLUDE bpfinkinc\n", `${P}\n`, 1],
  [
    "a missing module is unknown",
    `auth [module_unknown=1 default=ignore] pam_nosuch.so\n${D}${P}\n`,
    "",
    1,
  ],
  [
    "a module without auth is unknown",
    `auth [module_unknown=1 default=ignore] pam_motd.so\n${D}${P}\n`,
    "",
    1,
  ],
  ["a directory includes nothing", `auth include /etc\n${P}\n`, "", 1],
  [
    "an included file's rules before a `\\` at its end stay",
    `auth include bpfinkinc\n${D}`,
    `${P}\n${D}\\`,
    1,
  ],
  [
    "an included file's rules before a `?` module stay",
    `auth include bpfinkinc\n${D}`,
    `${P}\nauth optional ?\n`,
    1,
  ],
  [
    "a failed @include in an included file fails under no control",
    "auth include bpfinkinc\n",
    `auth [default=1] pam_deny.so\n@include nosuch\n${P}\n`,
    1,
  ],
  // Lines bpfink read that libpam does not.
  ["`\\r` is not a blank (CRLF)", `${P}\r\n${D}`, "", 0],
  ["`\\r` inside a line", `auth\rsufficient pam_permit.so\n${D}`, "", 0],
  ["a NUL cuts a word", bytes("auth sufficient pam_", [0], `permit.so\n${D}`), "", 0],
  ["a `\\` at the end of the file: libpam gives up", `${P}\n${D}\\`, "", 0],
  ["a `\\` then a comment at the end of the file", `${P} \\\n#c\n`, "", 0],
  [
    "an assembled line cut at the buffer",
    `auth sufficient \\\n${"y".repeat(1100)}\n${P}\n${D}`,
    "",
    0,
  ],
  ["a continuation that fills the buffer hangs libpam", `${env(997)}\\\n${P}\n${D}`, "", 0],
  ["a hang in an included file", `auth include bpfinkinc\n${P}\n`, `${env(997)}\\\n${P}\n`, 0],
  ["an unknown control word is `bad`", `auth [success=ok foo] pam_permit.so\n`, "", 0],
  ["control values are case-sensitive", `auth [SUCCESS=done] pam_permit.so\n${D}`, "", 0],
  ["a jump of 0 is an error", `auth [default=0] pam_deny.so\n${P}\n`, "", 0],
  ["an action matched by prefix then junk", `auth [success=okay] pam_permit.so\n`, "", 0],
  ["`\\]` in a control", `auth [success=done\\] default=ignore] pam_permit.so\n${D}`, "", 0],
  ["an unclosed `[` runs to the end of the line", `auth [success=done pam_permit.so\n${D}`, "", 0],
  ["`requisite` without a module dies", `auth requisite\n${P}\n`, "", 0],
  ["a module named `.so`: libpam gives up", `${P}\nauth optional .so\n`, "", 0],
  ["a module named `?` of another type", `${P}\naccount optional ?\n`, "", 0],
  ["a substack named `?`", `${P}\nauth substack ?\n`, "", 0],
  [
    "a failed @include in the service file",
    `auth [default=1] pam_deny.so\n@include nosuch\n${P}\n`,
    "",
    0,
  ],
  ["@include without a file crashes libpam", `${P}\n@include\n`, "", 0],
  ["an include without a file crashes libpam", `${P}\nauth include\n`, "", 0],
  ["a missing module fails `required`, `-` or not", `-auth required pam_nosuch.so\n${P}\n`, "", 0],
  // The files a service file includes, as libpam follows them.
  [
    "a file that includes itself crashes libpam",
    `auth [default=1] pam_deny.so\nauth include bpfinkt\n${P}\n`,
    "",
    0,
  ],
  [
    "an include cycle crashes libpam",
    `${P}\nauth include bpfinkinc\n`,
    "auth include bpfinkt\n",
    0,
  ],
  [
    "substacks are bounded: no crash",
    `auth [default=1] pam_deny.so\nauth substack bpfinkt\n${P}\n`,
    "",
    1,
  ],
];

/** A stack's bytes with lexical mutations: what shifts lines and words for libpam. */
function mutated(r: () => number, text: string): Uint8Array {
  let b = enc.encode(text);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const insert = (at: number, x: Uint8Array) => {
    b = spliceBytes(b, at, x);
  };
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (b.length + 1));
    const m = r();
    if (m < 0.5) {
      insert(
        at,
        bytes(
          pick([
            "\0",
            "\r",
            "\\\n",
            "\n\n",
            "#",
            "\\",
            "\t",
            "\v",
            "[",
            "]",
            "\\]",
            "-",
            "\n",
            "\\\0",
            "\n# c\n",
            " \\\n\n",
            "\r\n",
          ]),
        ),
      );
    } else if (m < 0.7) {
      // A run around the buffer's size, so that lines are cut near a word.
      const len = 950 + Math.floor(r() * 100);
      insert(
        at,
        pick([
          () => bytes(" ".repeat(len)),
          () => bytes("x".repeat(len)),
          () => bytes("é".repeat(len >> 1)),
          () => bytes(Array(len).fill(0xff)),
        ])(),
      );
    } else if (m < 0.85) {
      insert(
        at,
        bytes(
          pick([
            "xauth [default=1] pam_deny.so\n",
            "[auth] ",
            "@include bpfinkinc\n",
            "auth include bpfinkt\n",
            "auth [default=1]\n",
            "auth\tsufficient\tpam_permit.so\n",
            "auth success=done pam_permit.so\n",
            "Auth ",
            "-",
          ]),
        ),
      );
    } else {
      // Drop a span.
      const end = Math.min(b.length, at + 1 + Math.floor(r() * 12));
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(end)]);
    }
  }
  return b;
}

/** Modules for the mutated stacks: none with a fail delay (pam_unix, pam_faildelay), which a mutation could turn on. */
const LEX_MODULES = MODULES.filter((m) => !/^pam_(unix|faildelay)\.so/.test(m));

Deno.test({
  name:
    "pam: bpfink reads a service file's lines and words as libpam does, lexical mutations and all",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const cases: [File, File][] = [
      ...LEXICAL.map(([, svc, inc]): [File, File] => [svc, inc]),
      ...Array.from({ length: LEX_CASES }, (): [File, File] => {
        const svc = stack(r, true, LEX_MODULES);
        const inc = stack(r, false, LEX_MODULES);
        return r() < 0.75 ? [mutated(r, svc), inc] : [svc, mutated(r, inc)];
      }),
    ];
    const want = await pamtester(cases);
    const wrong: string[] = [];
    let tooLarge = 0;
    for (const [i, [svc, inc]] of cases.entries()) {
      // The service file may include itself; a directory reads as no bytes.
      const files: Record<string, File> = {
        "/etc/pam.d/bpfinkt": svc,
        "/etc/pam.d/bpfinkinc": inc,
        "/etc": "",
      };
      const read = (p: string) => Object.hasOwn(files, p) ? files[p] : undefined;
      let got: boolean | string;
      try {
        const verdict = authStackVerdict(parsePamConf(svc).entries, read, exists);
        // Too large to work out counts as open whatever libpam makes of it (it may take longer
        // than pamtester is given): such stacks are counted, and must stay rare.
        if (verdict === "too_large") tooLarge++;
        got = verdict === "too_large" ? want[i] : verdict === "open";
      } catch (e) {
        got = `threw ${e}`;
      }
      const what = i < LEXICAL.length ? LEXICAL[i][0] : `seed ${SEED}, case ${i - LEXICAL.length}`;
      if (i < LEXICAL.length && Number(want[i]) !== LEXICAL[i][3]) {
        wrong.push(`${what}: libpam itself changed`);
      }
      if (got !== want[i]) {
        const show = (f: File) => JSON.stringify(typeof f === "string" ? f : [...f]);
        wrong.push(
          `${what}: libpam ${want[i] ? "lets in" : "does not"}, bpfink ${got}: [${show(svc)}, ${
            show(inc)
          }]`,
        );
      }
    }
    assertEquals(wrong, [], `BPFINK_FUZZ_SEED=${SEED}`);
    assert(tooLarge <= cases.length / 50, `${tooLarge} stacks too large to compare`);
    const mutants = want.slice(LEXICAL.length);
    const passed = mutants.filter((w) => w).length;
    assert(
      passed > 0 && passed < mutants.length,
      `no variety: ${passed} of ${mutants.length} let in`,
    );
  },
});
