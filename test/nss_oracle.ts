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

/**
 * Runs `reader(i, dir)` (a shell command) with each of `inputs` (raw bytes)
 * bind-mounted over `/etc/<db>` in one private mount namespace, the
 * nsswitch `files` only; `setup(dir)` writes what the readers need into
 * `dir` first. Returns each input's `out<i>` and `err<i>` from `dir`.
 */
async function eachInput(
  db: NssDatabase,
  inputs: Uint8Array[],
  reader: (dir: string) => string,
  setup: (dir: string) => Promise<void> = async () => {},
): Promise<{ out: string; err: string }[]> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-nss-" });
  try {
    await Deno.writeTextFile(`${dir}/nsswitch.conf`, `${db}: files\n`);
    await setup(dir);
    for (const [i, b] of inputs.entries()) await Deno.writeFile(`${dir}/in${i}`, b);
    const script = `set -e
mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf
i=0
while [ $i -lt ${inputs.length} ]; do
  mount --bind ${dir}/in$i /etc/${db}
  { ${reader(dir)}; } >${dir}/out$i 2>${dir}/err$i || true
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
    const results: { out: string; err: string }[] = [];
    for (let i = 0; i < inputs.length; i++) {
      results.push({
        out: dec.decode(await Deno.readFile(`${dir}/out${i}`)),
        err: dec.decode(await Deno.readFile(`${dir}/err${i}`)),
      });
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads each of `inputs` (raw bytes) as the C library does. */
export async function nssRead(db: NssDatabase, inputs: Uint8Array[]): Promise<NssResult[]> {
  const got = await eachInput(
    db,
    inputs,
    (dir) => db === "passwd" ? `perl ${dir}/passwd.pl` : `getent ${db}`,
    (dir) => Deno.writeTextFile(`${dir}/passwd.pl`, PERL_PASSWD),
  );
  return got.map(({ out, err }) => {
    const lines = out.split("\n").filter((l) => l !== "");
    const entries = db === "passwd"
      ? lines.map((l) => l.split(":").map(hexText))
      : lines.map((l) => l.split(":"));
    return { entries, unprintable: (err.match(/error writing/g) ?? []).length };
  });
}

/** What the C library makes of one group file for some users and gids. */
export interface GidsResult {
  /** Each user's supplementary gids (`getgrouplist`, as `getent initgroups` prints them). */
  holders: Map<string, number[]>;
  /** The name `getgrgid` returns for each gid asked, or undefined when it finds none. */
  names: Map<number, string | undefined>;
}

const PERL_GRGID = `for (@ARGV) {
  my $n = getgrgid($_);
  print "$_:", (defined $n ? unpack("H*", $n) : "-"), "\\n";
}`;

/**
 * For each group file of `inputs` (raw bytes): the supplementary gids of
 * `users` (names without blanks) and the names of `gids`.
 */
export async function nssGids(
  inputs: Uint8Array[],
  users: string[],
  gids: number[],
): Promise<GidsResult[]> {
  const got = await eachInput(
    "group",
    inputs,
    (dir) => `getent initgroups ${users.join(" ")}; perl ${dir}/grgid.pl ${gids.join(" ")}`,
    (dir) => Deno.writeTextFile(`${dir}/grgid.pl`, PERL_GRGID),
  );
  return got.map(({ out }) => {
    const holders = new Map<string, number[]>();
    const names = new Map<number, string | undefined>();
    for (const line of out.split("\n")) {
      const name = /^(\d+):(-|[0-9a-f]*)$/.exec(line);
      if (name) names.set(Number(name[1]), name[2] === "-" ? undefined : hexText(name[2]));
      else if (line.trim()) {
        const [user, ...list] = line.trim().split(/\s+/);
        holders.set(user, list.map(Number));
      }
    }
    return { holders, names };
  });
}
