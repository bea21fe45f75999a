/**
 * The environment variables that bpfink rates as dangerous to let through
 * sudo, against sudo itself: the list must be the one `sudo -V` prints as
 * removed by default, and a real sudo, reading a sudoers file bind-mounted
 * over /etc/sudoers in a private mount namespace, must strip each of them
 * by default and pass each one that a `Defaults env_keep +=` names — the
 * change bpfink calls critical.
 */
import { assert, assertEquals } from "../../../test/assert.ts";
import { DANGEROUS_VARIABLES } from "./_weakens.ts";
import { parseSudoers } from "./sudoers.ts";
import { diffSudoers } from "./sudoers_diff.ts";
import { changeSeverity } from "../semantic_change.ts";

const dec = new TextDecoder();
const ignore = Deno.uid() !== 0 || !["/usr/bin/sudo", "/usr/bin/unshare"].every((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** `sudo -V`'s list of variables removed by default (root sees it). */
async function sudoRemoveList(): Promise<string[]> {
  const out = await new Deno.Command("sudo", { args: ["-V"], stdout: "piped" }).output();
  const lines = dec.decode(out.stdout).split("\n");
  const start = lines.indexOf("Environment variables to remove:");
  assert(start >= 0, "sudo -V lists no variables to remove");
  const list: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("\t")) break;
    list.push(l.trim());
  }
  return list;
}

Deno.test({
  name: "the dangerous variables are the ones sudo removes by default",
  ignore,
  fn: async () => {
    // `*=()*` is a value pattern (an exported bash function), not a name.
    const sudo = (await sudoRemoveList()).filter((v) => !v.includes("="));
    assertEquals([...DANGEROUS_VARIABLES].sort(), sudo.sort());
  },
});

/** The names sudo let through to `env` run as nobody, with `sudoers` as /etc/sudoers. */
async function passedThrough(sudoers: string, vars: string[]): Promise<Set<string>> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-sudo-env-" });
  try {
    await Deno.writeTextFile(`${dir}/sudoers`, sudoers, { mode: 0o440 });
    await Deno.chmod(`${dir}/sudoers`, 0o440);
    const script = `set -e
mount --bind ${dir}/sudoers /etc/sudoers
sudo -n -u nobody /usr/bin/env`;
    const env: Record<string, string> = {};
    for (const v of vars) env[v] = "/tmp/x";
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "sh", "-c", script],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, `sudo failed: ${dec.decode(out.stderr).trim()}`);
    const names = dec.decode(out.stdout).split("\n").map((l) => l.replace(/=.*$/s, ""));
    return new Set(names.filter((n) => vars.includes(n)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "sudo passes each dangerous variable that env_keep names, and bpfink rates it critical",
  ignore,
  fn: async () => {
    const vars = DANGEROUS_VARIABLES.map((v) => v.replace(/\*$/, "X"));
    const base = "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n";
    assertEquals([...await passedThrough(base, vars)], [], "sudo's default strips them all");
    for (const [v, name] of vars.map((v, i) => [v, DANGEROUS_VARIABLES[i]])) {
      const line = `Defaults env_keep += "${name}"\n`;
      assertEquals([...await passedThrough(base + line, [v])], [v], line);
      const out = diffSudoers(
        parseSudoers(base, "/etc/sudoers").entries,
        parseSudoers(base + line, "/etc/sudoers").entries,
      );
      assertEquals(out[0].changes, [{ field: "weakens", to: [`env_keep ${name}`] }], line);
      assertEquals(changeSeverity(out[0]), "critical", line);
    }
  },
});
