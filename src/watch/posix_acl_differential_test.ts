/**
 * Differential test: bpfink's reading of the raw ACL xattrs (posix_acl.ts,
 * through extra_attrs.ts) against getfacl's, on seeded random ACLs that
 * setfacl sets: access and default ACLs of directories, named users and
 * groups with ids from 0 to 2^32-2, any permissions, with and without a
 * mask. Every entry must read as getfacl prints it with numeric ids, and
 * what each entry allows in effect (the mask applied) as getfacl's
 * `#effective:`. CASES directories a run, one setfacl and one getfacl for
 * all; the seed is printed on failure and BPFINK_FUZZ_SEED replays it.
 */
import { assert, assertEquals } from "../../test/assert.ts";
import { rng } from "../../test/rng.ts";
import { tempDir } from "../../test/helpers.ts";
import { extraAttrs } from "./extra_attrs.ts";
import { effectivePerms, parseAclText, permText } from "./posix_acl.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 300);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const IDS = [0, 1, 2, 100, 1000, 65534, 65535, 65536, 2 ** 31, 2 ** 32 - 2];

/** A random ACL in setfacl's text, one entry a line, `prefix` before each (`default:`). */
function randomAcl(r: () => number, prefix: string): string[] {
  const perm = () => permText(Math.floor(r() * 8));
  const lines = [`user::${perm()}`, `group::${perm()}`, `other::${perm()}`];
  const named = Math.floor(r() * 5);
  const used = new Set<string>();
  for (let i = 0; i < named; i++) {
    const tag = r() < 0.5 ? "user" : "group";
    const id = IDS[Math.floor(r() * IDS.length)];
    if (used.has(`${tag}:${id}`)) continue;
    used.add(`${tag}:${id}`);
    lines.push(`${tag}:${id}:${perm()}`);
  }
  // A named entry needs a mask; a minimal ACL may have one too (then it is kept).
  if (used.size > 0 || r() < 0.3) lines.push(`mask::${perm()}`);
  return lines.map((l) => prefix + l);
}

/** getfacl -pne's blocks: per file, its entries and each one's effective permissions. */
function parseGetfacl(
  text: string,
): Map<string, { access: string[]; def: string[]; eff: Map<string, string> }> {
  const out = new Map<string, { access: string[]; def: string[]; eff: Map<string, string> }>();
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter(Boolean);
    const file = lines.find((l) => l.startsWith("# file: "))?.slice(8);
    if (!file) continue;
    const access: string[] = [];
    const def: string[] = [];
    const eff = new Map<string, string>();
    for (const l of lines) {
      if (l.startsWith("#")) continue;
      const [entry, comment] = l.split(/\s+#effective:/);
      if (entry.startsWith("default:")) def.push(entry.slice(8));
      else {
        access.push(entry);
        const [tag, id, perm] = entry.split(":");
        if (tag !== "mask" && !(tag === "user" && id === "")) {
          eff.set(`${tag}:${id}`, comment ?? perm);
        }
      }
    }
    out.set(file, { access, def, eff });
  }
  return out;
}

Deno.test({
  name: "ACLs read from the raw xattrs are what getfacl prints, entry by entry and in effect",
  ignore: Deno.uid() !== 0,
  async fn() {
    const r = rng(SEED);
    await using d = await tempDir();
    let restore = "";
    const dirs: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const dir = `${d.path}/c${i}`;
      await Deno.mkdir(dir);
      dirs.push(dir);
      const lines = randomAcl(r, "");
      if (r() < 0.6) lines.push(...randomAcl(r, "default:"));
      restore += `# file: ${dir}\n${lines.join("\n")}\n\n`;
    }
    const set = await new Deno.Command("setfacl", {
      args: ["--restore=-"],
      stdin: "piped",
      stderr: "piped",
    })
      .spawn();
    const w = set.stdin.getWriter();
    await w.write(new TextEncoder().encode(restore));
    await w.close();
    const setOut = await set.output();
    assertEquals(setOut.code, 0, new TextDecoder().decode(setOut.stderr));
    const got = await new Deno.Command("getfacl", { args: ["-pne", ...dirs] }).output();
    assertEquals(got.code, 0, new TextDecoder().decode(got.stderr));
    const facl = parseGetfacl(new TextDecoder().decode(got.stdout));
    let compared = 0;
    let defaults = 0;
    for (const dir of dirs) {
      const want = facl.get(dir)!;
      const attrs = extraAttrs(dir, 0) ?? "";
      const line = (key: string) =>
        attrs.split("\n").find((l) => l.startsWith(key + " "))?.slice(key.length + 1);
      const access = line("acl");
      const why = `${dir} (BPFINK_FUZZ_SEED=${SEED}): ${attrs}`;
      if (access === undefined) {
        // A minimal ACL is the mode: the kernel keeps no xattr.
        assertEquals(want.access.length, 3, why);
      } else {
        compared++;
        assertEquals(access.split(","), want.access, why);
        const eff = effectivePerms(parseAclText(access));
        assertEquals(
          new Map([...eff].map(([k, v]) => [k, permText(v)])),
          want.eff,
          why,
        );
      }
      assertEquals(line("default")?.split(",") ?? [], want.def, why);
      if (want.def.length) defaults++;
    }
    // Not vacuous: most cases have an ACL xattr, many a default one.
    assert(compared > CASES / 2 && defaults > CASES / 4, `${compared} ACLs, ${defaults} defaults`);
  },
});
