/**
 * Differential test: bpfink's authorized_keys parser against OpenSSH's own,
 * through `ssh-keygen -l -f` (the key reader sshd uses, fingerprinting every
 * line it reads as a key), on seeded mutations of a file of real keys made
 * by ssh-keygen (Ed25519, RSA, ECDSA, a certificate). Every key ssh-keygen
 * reads must be read by bpfink, in the same order, with the same
 * fingerprint; bpfink may read more only where it is knowingly lenient (an
 * ECDSA point, a DSA key or a certificate's body, which it does not check;
 * options followed by several blanks, which sshd skips and ssh-keygen not).
 *
 * CASES mutations per run; the seed is printed on failure and
 * BPFINK_FUZZ_SEED replays it.
 */
import { assert, assertEquals } from "../../../test/assert.ts";
import { type AuthorizedKey, parseAuthorizedKeys } from "./authorized_keys.ts";
import { rng } from "../../../test/rng.ts";

const CASES = Number(Deno.env.get("BPFINK_DIFF_CASES") ?? 150);
const SEED = Number(Deno.env.get("BPFINK_FUZZ_SEED") ?? (Date.now() % 0x7fffffff));
const ignore = (() => {
  try {
    return !Deno.statSync("/usr/bin/ssh-keygen").isFile;
  } catch {
    return true;
  }
})();
const dec = new TextDecoder();

async function sh(cmd: string[]): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert(out.success, `${cmd.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** Real public keys and a certificate, one line each. */
async function realKeys(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const [t, bits] of [["ed25519"], ["rsa", "2048"], ["ecdsa", "256"], ["ecdsa", "384"]]) {
    const f = `${dir}/${t}${bits ?? ""}`;
    await sh([
      "ssh-keygen",
      "-q",
      "-t",
      t,
      ...(bits ? ["-b", bits] : []),
      "-N",
      "",
      "-C",
      `${t} key`,
      "-f",
      f,
    ]);
    lines.push((await Deno.readTextFile(`${f}.pub`)).trim());
  }
  await sh([
    "ssh-keygen",
    "-q",
    "-s",
    `${dir}/ed25519`,
    "-I",
    "id",
    "-n",
    "alice",
    `${dir}/rsa2048.pub`,
  ]);
  lines.push((await Deno.readTextFile(`${dir}/rsa2048-cert.pub`)).trim());
  return lines;
}

const PIECES = [
  " ",
  "\t",
  '"',
  '\\"',
  "\\",
  "#",
  ",",
  "=",
  "no-pty",
  'command="a b"',
  "from=",
  "restrict,",
  "ssh-ed25519 ",
  "ssh-rsa ",
  "rsa-sha2-256 ",
  "ecdsa-sha2-nistp256 ",
  "\r",
  "\0",
  "\v",
  "\f",
  "\n",
  "A",
  "+",
  "/",
  "é",
];

function mutated(r: () => number, keys: string[]): string {
  const lines = [...keys, "# a comment", "", 'no-pty,command="echo hi" ' + keys[0] + " opts"];
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    let s = lines[i];
    // Edits near the start (type, options) more often than in the long blob.
    const at = r() < 0.6
      ? Math.floor(r() * Math.min(s.length + 1, 40))
      : Math.floor(r() * (s.length + 1));
    if (r() < 0.3) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 3));
    else s = s.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + s.slice(at);
    lines[i] = s;
  }
  return lines.join("\n") + "\n";
}

/** The fingerprints `ssh-keygen -l` prints for `text`, in order (none when it reads no key). */
async function keygenFingerprints(dir: string, text: string): Promise<string[]> {
  const f = `${dir}/authorized_keys`;
  await Deno.writeTextFile(f, text);
  const out = await new Deno.Command("ssh-keygen", {
    args: ["-l", "-f", f],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return dec.decode(out.stdout).split("\n").filter((l) => l !== "").map((l) => l.split(" ")[1]);
}

/**
 * Where bpfink may read a line ssh-keygen refuses: a key type whose body it
 * does not check, or options followed by more than one blank, which sshd
 * skips (its `skip_space`) and ssh-keygen does not.
 */
function lenient(k: AuthorizedKey, text: string): boolean {
  if (k.type.startsWith("ecdsa-") || k.type.includes("-cert-") || k.type === "ssh-dss") return true;
  const line = text.split("\n")[k.line - 1];
  const after = line.slice(line.indexOf(k.options) + k.options.length);
  return k.options !== "" && /^[ \t]{2}/.test(after);
}

Deno.test({
  name: "authorized_keys: every key ssh-keygen reads, bpfink reads, with its fingerprint",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpfink-sshkeys-" });
    try {
      const keys = await realKeys(dir);
      // The unmutated file: the same keys exactly.
      const plain = keys.join("\n") + "\n";
      assertEquals(
        parseAuthorizedKeys(plain).entries.map((k) => k.fingerprint),
        await keygenFingerprints(dir, plain),
      );
      const r = rng(SEED);
      let compared = 0;
      for (let c = 0; c < CASES; c++) {
        const text = mutated(r, keys);
        const want = await keygenFingerprints(dir, text);
        const got = parseAuthorizedKeys(text).entries;
        // ssh-keygen's keys, in order, within bpfink's; the rest only of lenient types.
        let j = 0;
        const extra: AuthorizedKey[] = [];
        for (const k of got) {
          if (j < want.length && k.fingerprint === want[j]) j++;
          else extra.push(k);
        }
        const why = `seed ${SEED}, case ${c}: ${JSON.stringify(text)}`;
        assertEquals(j, want.length, `a key ssh-keygen reads is missing (${why})`);
        const refused = extra.filter((k) => !lenient(k, text)).map((k) => k.line);
        assertEquals(refused, [], `bpfink read lines ssh-keygen refuses (${why})`);
        compared += want.length;
      }
      assert(compared > CASES, `too few keys compared (${compared})`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
