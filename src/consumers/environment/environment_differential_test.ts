/**
 * Differential test: bpfink's reading of /etc/environment against pam_env
 * itself. Each seeded random file (names good and bad, `export`, quotes
 * of both kinds balanced or not, `#` anywhere, blanks, names set twice)
 * is put in place of /etc/environment in a private mount namespace (an
 * overlay over /etc: the host's is never written), and `su` (whose PAM
 * service runs pam_env) starts `env` as root: what it prints is what
 * pam_env set. Only names starting with BPF are compared (su sets others).
 * BPFINK_FUZZ_SEED replays a run.
 */
import { assertEquals } from "../../../test/assert.ts";
import { rng } from "../../../test/rng.ts";
import { cannotRun, inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";
import { parseEnvironment } from "./environment_file.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 100);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = cannotRun("/bin/su");

Deno.test({
  name: "environment parity: bpfink reads /etc/environment as pam_env sets it",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const line = () =>
      pick(["", "  ", "export ", "export  ", "export\t", "#", "\t"]) +
      pick(["BPF_A", "BPF_B", "BPF1", "1BPF", "BPF-X", "BPF_A", "BPF b"]) +
      pick(["=", "=", " =", "=="]) +
      pick(["", '"', "'"]) +
      pick(["v", "two words", "x#y", " sp ", "/tmp/x.so", "", "a'b", 'a"b']) +
      pick(["", '"', "'", "  ", " # c", "\r"]);
    const files = Array.from(
      { length: CASES },
      () => Array.from({ length: 1 + Math.floor(r() * 5) }, line).join("\n") + "\n",
    );
    const outs = await inPrivateNamespace({
      cases: files.map((f) => [f]),
      setup: OVERLAY_ETC,
      each: 'cp "$IN0" /etc/environment; env -i /bin/su -s /usr/bin/env root >"$OUT" 2>/dev/null',
    });
    const wrong: string[] = [];
    for (const [i, f] of files.entries()) {
      const want = outs[i].split("\n").filter((l) => /^[0-9]*BPF/.test(l)).sort();
      const got = parseEnvironment(f, (s) => s).map((v) => `${v.name}=${v.value}`).sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        wrong.push(
          `${JSON.stringify(f)}: pam_env ${JSON.stringify(want)}, bpfink ${JSON.stringify(got)}`,
        );
      }
    }
    assertEquals(wrong, [], `BPFINK_FUZZ_SEED=${SEED}`);
  },
});
