/**
 * Differential test: the plugin bpfink says a sudo.conf makes sudo load,
 * against sudo itself. Each seeded random file (a `Plugin sudoers_policy`
 * line naming a library that does not exist, absolute or relative, a
 * `Path plugin_dir` before or after it, directives in other cases, comment
 * lines, blanks and tabs) is put in place of /etc/sudo.conf in a private
 * mount namespace (an overlay over /etc: the host's is never written), and
 * `sudo -V` names the
 * file it cannot load. BPFINK_FUZZ_SEED replays a run.
 */
import { assertEquals } from "../../../test/assert.ts";
import { rng } from "../../../test/rng.ts";
import { cannotRun, inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";
import { parseSudoConf, pluginFiles } from "./sudo_conf.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 80);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = cannotRun("/usr/bin/sudo");

Deno.test({
  name: "sudo.conf parity: bpfink names the policy plugin sudo loads",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const files = Array.from({ length: CASES }, (_, i) => {
      const blank = () => pick([" ", "\t", "  ", " \t"]);
      const plugin = pick(["Plugin", "plugin", "PLUGIN"]) + blank() + "sudoers_policy" + blank() +
        pick([`/nonexistent/bpfink-${i}.so`, `bpfink-rel-${i}.so`]) + pick(["", " arg=1", " # c"]);
      const dir = pick(["Path", "path"]) + blank() + pick(["plugin_dir", "PLUGIN_DIR"]) + blank() +
        pick(["/opt/pd", "/opt/pd/", "/nonexistent/d"]);
      const lines = [
        pick(["", "  "]) + plugin,
        ...(r() < 0.5 ? [pick(["", "#", "# "]) + dir] : []),
        ...(r() < 0.3 ? [`#Plugin sudoers_policy /nonexistent/commented-${i}.so`] : []),
        ...(r() < 0.3 ? ["Set disable_coredump false", "Debug sudo /dev/null all@warn"] : []),
      ];
      return lines.sort(() => r() - 0.5).join("\n") + "\n";
    });
    const outs = await inPrivateNamespace({
      cases: files.map((f) => [f]),
      setup: OVERLAY_ETC,
      each: 'cp "$IN0" /etc/sudo.conf; sudo -V >/dev/null 2>"$OUT"',
    });
    const wrong: string[] = [];
    for (const [i, f] of files.entries()) {
      const want = /unable to load (\/[^:]*):/.exec(outs[i])?.[1];
      const got = pluginFiles(parseSudoConf(f)).get("sudoers_policy");
      if (got !== want) {
        wrong.push(`${JSON.stringify(f)}: sudo ${want}, bpfink ${got}`);
      }
    }
    assertEquals(wrong, [], `BPFINK_FUZZ_SEED=${SEED}`);
  },
});
