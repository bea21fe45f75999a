/**
 * Differential test: bpfink's model of a PAM auth stack against libpam
 * itself. Each seeded random stack (controls, jumps, resets, includes,
 * substacks over modules with known results) is written to /etc/pam.d in a
 * private mount namespace (an overlay over /etc: the host's /etc is never
 * written), and `pamtester` authenticates `nobody`, as `nobody`, with a
 * wrong password. Whether it got in must be what
 * `authPassesWithoutPassword` says.
 *
 * CASES stacks per run; the seed is printed on failure and BPFINK_FUZZ_SEED
 * replays it.
 */
import { assert, assertEquals } from "../../../test/assert.ts";
import { parsePamConf } from "./pam_conf.ts";
import { authPassesWithoutPassword } from "./pam_stack.ts";
import { rng } from "../../../test/rng.ts";
import { inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 150);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = Deno.uid() !== 0 || (() => {
  try {
    return !Deno.statSync("/usr/bin/pamtester").isFile;
  } catch {
    return true;
  }
})();

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

function stack(r: () => number, includes: boolean): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    if (includes && r() < 0.2) {
      lines.push(pick(["@include bpfinkinc", "auth include bpfinkinc", "auth substack bpfinkinc"]));
    } else {
      lines.push(`${pick(["auth", "auth", "AUTH", "-auth"])}\t${pick(CONTROLS)} ${pick(MODULES)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Whether pamtester got `nobody` in with a wrong password, for each (service, included) pair. */
async function pamtester(cases: [string, string][]): Promise<boolean[]> {
  const outs = await inPrivateNamespace({
    cases,
    setup: OVERLAY_ETC,
    each: 'cp "$IN0" /etc/pam.d/bpfinkt; cp "$IN1" /etc/pam.d/bpfinkinc; ' +
      "if echo wrong | setpriv --reuid nobody --regid nogroup --clear-groups " +
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
