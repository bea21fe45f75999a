/**
 * Differential test: bpfink's reading of nsswitch.conf against glibc's.
 * Each seeded random file (databases named and named again, colons and
 * blanks, comment lines, `#` inside a line, criteria glibc reads and ones
 * it cannot, NULs, names with `/`) is put in place of /etc/nsswitch.conf
 * in a private mount namespace (an overlay over /etc: the host's is never
 * written), and `getent passwd` looks up a user who does not exist with
 * `LD_DEBUG=libs`, which shows each NSS library glibc looks for. The
 * libraries must be those of the services bpfink finds for `passwd`.
 * BPFINK_FUZZ_SEED replays a run.
 */
import { assertEquals } from "../../../test/assert.ts";
import { rng } from "../../../test/rng.ts";
import { cannotRun, inPrivateNamespace, OVERLAY_ETC } from "../../../test/private_namespace.ts";
import { parseNsswitch, servicesFor } from "./nsswitch.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 120);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = cannotRun("/usr/bin/getent");

/** The NSS libraries glibc looked for, per case, by service name. */
async function glibcLoads(files: string[]): Promise<string[][]> {
  const outs = await inPrivateNamespace({
    cases: files.map((f) => [f]),
    setup: OVERLAY_ETC,
    each: 'cp "$IN0" /etc/nsswitch.conf; LD_DEBUG=libs getent passwd no-such-user-bpfink 2>&1 | ' +
      "grep -o 'find library=libnss_.*\\.so\\.2 ' >\"$OUT\"",
  });
  return outs.map((o) =>
    [
      ...new Set(
        o.split("\n").filter((l) => l).map((l) =>
          l.slice("find library=libnss_".length, -" .so.2".length)
        ),
      ),
    ]
      .sort()
  );
}

Deno.test({
  name: "nss parity: bpfink finds the services whose libraries glibc loads for passwd",
  ignore,
  fn: async () => {
    const r = rng(SEED);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const service = () =>
      pick(["files", "systemd", "evil", "x-y.z", "#", "ev/il", "EVIL", "compat"]);
    // Criteria that never stop a lookup of a user no service knows (NOTFOUND, UNAVAIL go on).
    const criterion = () =>
      pick([
        " [SUCCESS=return]",
        "[tryagain=continue]",
        " [ !SUCCESS = continue ]",
        " [NOTFOUND=continue UNAVAIL=continue]",
        " [x]",
        " [NOTFOUND=bogus]",
        " [SUCCESS=return",
        "",
        "",
        "",
      ]);
    const line = () => {
      const name = pick([
        "passwd",
        "passwd",
        "PASSWD",
        "group",
        "sudoers",
        "#passwd",
        "  passwd",
        "passwd_compat",
      ]);
      const sep = pick([":", ": ", ":\t", " ", "::", " : "]);
      const n = 1 + Math.floor(r() * 4);
      const services = Array.from({ length: n }, () => service() + criterion()).join(
        pick([" ", "\t", "  "]),
      );
      return name + sep + services + pick(["", "", " # comment", "\0 nul-cut", "\r"]);
    };
    const files = Array.from(
      { length: CASES },
      () => Array.from({ length: 1 + Math.floor(r() * 4) }, line).join("\n") + "\n",
    );
    const want = await glibcLoads(files);
    const wrong: string[] = [];
    for (const [i, f] of files.entries()) {
      const passwd = servicesFor(parseNsswitch(f).databases, "passwd");
      const got = [
        ...new Set(passwd.filter((s) => !["files", "dns"].includes(s) && !s.includes("/"))),
      ].sort();
      if (JSON.stringify(got) !== JSON.stringify(want[i])) {
        wrong.push(
          `case ${i} ${JSON.stringify(f)}: glibc ${JSON.stringify(want[i])}, bpfink ${
            JSON.stringify(got)
          }`,
        );
      }
    }
    assertEquals(wrong, [], `BPFINK_FUZZ_SEED=${SEED}`);
  },
});
