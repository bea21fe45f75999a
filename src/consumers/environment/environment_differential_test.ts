/**
 * Differential tests: bpfink's reading of /etc/environment and of
 * /etc/security/pam_env.conf against pam_env itself. Each seeded random
 * file is put in place of the real one in a private mount namespace (an
 * overlay over /etc: the host's is never written), and `su` (whose PAM
 * service runs pam_env) starts `env` as root: what it prints is what
 * pam_env set. Only names starting with BPF are compared (su sets others).
 * BPFINK_FUZZ_SEED replays a run.
 */
import { assertEquals } from "../../../test/assert.ts";
import { rng } from "../../../test/rng.ts";
import { cannotRun, inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";
import { parseEnvironment } from "./environment_file.ts";
import { parsePamEnvConf } from "./pam_env_conf.ts";
import type { EnvVariable } from "./env_variable.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 100);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = cannotRun("/bin/su");

type Pick = <T>(xs: T[]) => T;

/** Random files of `line`s in place of `target`: what pam_env sets agrees with `parse`. */
async function parity(
  target: string,
  line: (pick: Pick) => string,
  parse: (text: string, fingerprint: (s: string) => string) => EnvVariable[],
): Promise<void> {
  const r = rng(SEED);
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)];
  const files = Array.from(
    { length: CASES },
    () => Array.from({ length: 1 + Math.floor(r() * 5) }, () => line(pick)).join("\n") + "\n",
  );
  const outs = await inPrivateNamespace({
    cases: files.map((f) => [f]),
    setup: OVERLAY_ETC,
    each: `cp "$IN0" ${target}; env -i /bin/su -s /usr/bin/env root >"$OUT" 2>/dev/null`,
  });
  const wrong: string[] = [];
  for (const [i, f] of files.entries()) {
    const want = outs[i].split("\n").filter((l) => /^[0-9]*BPF/.test(l)).sort();
    const got = parse(f, (s) => s).map((v) => `${v.name}=${v.value}`).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      wrong.push(
        `${JSON.stringify(f)}: pam_env ${JSON.stringify(want)}, bpfink ${JSON.stringify(got)}`,
      );
    }
  }
  assertEquals(wrong, [], `BPFINK_FUZZ_SEED=${SEED}`);
}

Deno.test({
  name: "environment parity: bpfink reads /etc/environment as pam_env sets it",
  ignore,
  // Names good and bad, `export`, quotes of both kinds balanced or not, `#` anywhere, blanks,
  // names set twice.
  fn: () =>
    parity(
      "/etc/environment",
      (pick) =>
        pick(["", "  ", "export ", "export  ", "export\t", "#", "\t"]) +
        pick(["BPF_A", "BPF_B", "BPF1", "1BPF", "BPF-X", "BPF_A", "BPF b"]) +
        pick(["=", "=", " =", "=="]) +
        pick(["", '"', "'"]) +
        pick(["v", "two words", "x#y", " sp ", "/tmp/x.so", "", "a'b", 'a"b']) +
        pick(["", '"', "'", "  ", " # c", "\r"]),
      parseEnvironment,
    ),
});

Deno.test({
  name: "pam_env.conf parity: bpfink reads /etc/security/pam_env.conf as pam_env sets it",
  ignore,
  // Names good and bad (one holding `=`), DEFAULT and OVERRIDE in any order and number, values
  // bare, quoted, empty and broken, other words, `#` anywhere, blanks, `\` continuations, names
  // set twice or unset.
  fn: () => {
    const option = (pick: Pick) =>
      pick([" ", " ", "  ", "\t"]) +
      pick(["DEFAULT=", "DEFAULT=", "OVERRIDE=", "OVERRIDE=", "OTHER=", "default="]) +
      pick(["v", '"two words"', '""', "", '"x"y', '"open', "/tmp/x.so", "a'b", "w#z"]);
    return parity(
      "/etc/security/pam_env.conf",
      (pick) =>
        pick(["", "", "", "  ", "#", "\t"]) +
        pick(["BPF_A", "BPF_B", "BPF1", "BPF-X", "BPF=Y", "BPF_A"]) +
        Array.from({ length: pick([0, 1, 2]) }, () => option(pick)).join("") +
        pick(["", "", "", " ", " # c", "#c", " \\", "\\"]),
      parsePamEnvConf,
    );
  },
});
