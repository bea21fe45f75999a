/**
 * The C library as an oracle: what glibc's files backend reads from a
 * passwd, group, shadow or gshadow file. Each input is bind-mounted over
 * the real file inside a private mount namespace (`unshare -m`, with an
 * nsswitch.conf that says `files` only), and the real readers enumerate
 * it: `getent group|shadow|gshadow`, and for passwd perl's `getpwent`
 * (the same glibc call as `getent passwd`, but it also returns shells
 * holding a colon and the uid of `+name` lines, which getent cannot
 * print). One namespace serves a whole batch of inputs; nothing outlives
 * it.
 *
 * @module
 */

/** The databases the oracle reads. */
export type NssDatabase = "passwd" | "group" | "shadow" | "gshadow";

/** What the C library returned for one input. */
export interface NssResult {
  /** Entries in file order, each as the fields the reader printed (decoded as UTF-8). */
  entries: string[][];
  /** Entries getent read but could not print (a field holding `:`). */
  unprintable: number;
}

/** True when this process may create mount namespaces and the tools are present. */
export function oracleAvailable(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    for (const t of ["/usr/bin/unshare", "/usr/bin/getent", "/usr/bin/perl"]) Deno.statSync(t);
    return true;
  } catch {
    return false;
  }
}

const PERL_PASSWD = `while (my @p = getpwent) {
  print join(":", map { defined $_ ? unpack("H*", $_) : "" } @p[0, 2, 3, 6, 7, 8]), "\\n";
}`;

const dec = new TextDecoder();
const hexText = (h: string) =>
  dec.decode(Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16)));

/** Reads each of `inputs` (raw bytes) as the C library does. */
export async function nssRead(db: NssDatabase, inputs: Uint8Array[]): Promise<NssResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-nss-" });
  try {
    await Deno.writeTextFile(`${dir}/nsswitch.conf`, `${db}: files\n`);
    await Deno.writeTextFile(`${dir}/passwd.pl`, PERL_PASSWD);
    for (const [i, b] of inputs.entries()) await Deno.writeFile(`${dir}/in${i}`, b);
    const reader = db === "passwd" ? `perl ${dir}/passwd.pl` : `getent ${db}`;
    const script = `set -e
mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf
i=0
while [ $i -lt ${inputs.length} ]; do
  mount --bind ${dir}/in$i /etc/${db}
  ${reader} >${dir}/out$i 2>${dir}/err$i || true
  umount /etc/${db}
  i=$((i+1))
done`;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "sh", "-c", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`unshare/getent failed: ${dec.decode(out.stderr).trim()}`);
    }
    const results: NssResult[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const text = dec.decode(await Deno.readFile(`${dir}/out${i}`));
      const err = dec.decode(await Deno.readFile(`${dir}/err${i}`));
      const lines = text.split("\n").filter((l) => l !== "");
      const entries = db === "passwd"
        ? lines.map((l) => l.split(":").map(hexText))
        : lines.map((l) => l.split(":"));
      results.push({ entries, unprintable: (err.match(/error writing/g) ?? []).length });
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
