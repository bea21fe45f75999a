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
import { decodePathBytes, displayPath } from "../src/watch/path_bytes.ts";

/** The databases the oracle reads. */
export type NssDatabase = "passwd" | "group" | "shadow" | "gshadow";

/** What the C library returned for one input. */
export interface NssResult {
  /**
   * Entries in file order, each as the fields the reader printed, as byte
   * strings (one character per byte, not decoded: see {@link shownBytes}).
   */
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
/**
 * Bytes as a byte string: one character per byte (not TextDecoder's
 * "latin1", which is windows-1252: 0x85 would read as `…`).
 */
function byteText(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    out += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return out;
}
const hexText = (h: string) =>
  byteText(Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16)));

/** A byte string's bytes. */
export function stringBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/**
 * A byte string the C library returned, as bpfink shows such bytes (file
 * paths and account fields alike): UTF-8, each byte that is not valid
 * UTF-8 as `\xNN`, a backslash doubled.
 */
export function shownBytes(s: string): string {
  return displayPath(decodePathBytes(stringBytes(s)));
}

/**
 * Runs `reader(i, dir)` (a shell command) with each of `inputs` (raw bytes,
 * one file per database of `dbs`) bind-mounted over `/etc/<db>` in one
 * private mount namespace, the nsswitch `files` only; `setup(dir)` writes
 * what the readers need into `dir` first. Returns each input's `out<i>`
 * and `err<i>` from `dir`.
 */
async function eachInput(
  dbs: NssDatabase[],
  inputs: Uint8Array[][],
  reader: (dir: string) => string,
  setup: (dir: string) => Promise<void> = async () => {},
): Promise<{ out: string; err: string }[]> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-nss-" });
  try {
    await Deno.writeTextFile(`${dir}/nsswitch.conf`, dbs.map((db) => `${db}: files\n`).join(""));
    await setup(dir);
    for (const [i, files] of inputs.entries()) {
      for (const [k, b] of files.entries()) await Deno.writeFile(`${dir}/in${i}.${dbs[k]}`, b);
    }
    const mount = dbs.map((db) => `mount --bind ${dir}/in$i.${db} /etc/${db}`).join("; ");
    const umount = dbs.map((db) => `umount /etc/${db}`).join("; ");
    const script = `set -e
mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf
i=0
while [ $i -lt ${inputs.length} ]; do
  ${mount}
  { ${reader(dir)}; } >${dir}/out$i 2>${dir}/err$i || true
  ${umount}
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
        out: byteText(await Deno.readFile(`${dir}/out${i}`)),
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
    [db],
    inputs.map((b) => [b]),
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
  /** The name `getgrgid` returns for each gid asked (as {@link shownBytes}), or undefined when it finds none. */
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
    ["group"],
    inputs.map((b) => [b]),
    (dir) => `getent initgroups ${users.join(" ")}; perl ${dir}/grgid.pl ${gids.join(" ")}`,
    (dir) => Deno.writeTextFile(`${dir}/grgid.pl`, PERL_GRGID),
  );
  return got.map(({ out }) => {
    const holders = new Map<string, number[]>();
    const names = new Map<number, string | undefined>();
    for (const line of out.split("\n")) {
      const name = /^(\d+):(-|[0-9a-f]*)$/.exec(line);
      if (name) {
        names.set(Number(name[1]), name[2] === "-" ? undefined : shownBytes(hexText(name[2])));
      } else if (line.trim()) {
        const [user, ...list] = line.trim().split(/\s+/);
        holders.set(user, list.map(Number));
      }
    }
    return { holders, names };
  });
}

const PY_LOGIN_GIDS = `import os, pwd, sys
for u in sys.argv[1:]:
    try:
        p = pwd.getpwnam(u)
    except KeyError:
        print(u + ":none")
        continue
    print(u + ":" + " ".join(str(g) for g in os.getgrouplist(p.pw_name, p.pw_gid)))`;

/** True when python3 is there for {@link nssIds}' `getgrouplist` reader. */
export function loginGidsAvailable(): boolean {
  try {
    Deno.statSync("/usr/bin/python3");
    return true;
  } catch {
    return false;
  }
}

/**
 * For each pair of passwd and group files (raw bytes): the gids each of
 * `users` (names without blanks) holds, or undefined for a user
 * `getpwnam` does not find. `reader`:
 * - `login`: `getgrouplist(name, pw_gid)` with the passwd entry of
 *   `getpwnam`, what login, su and sshd hand to `initgroups` (python3's
 *   `os.getgrouplist`);
 * - `id`: `id -G`, which takes the primary gid of the group list from
 *   `getpwuid` of the user's uid: the same unless another line has that
 *   uid first (then `id` shows that line's gid, which login does not give).
 */
export async function nssIds(
  inputs: { passwd: Uint8Array; group: Uint8Array }[],
  users: string[],
  reader: "login" | "id" = "login",
): Promise<Map<string, number[] | undefined>[]> {
  const got = await eachInput(
    ["passwd", "group"],
    inputs.map((p) => [p.passwd, p.group]),
    (dir) =>
      reader === "login"
        ? `/usr/bin/python3 ${dir}/login_gids.py ${users.join(" ")}`
        : users.map((u) => `echo "${u}:$(id -G ${u} 2>/dev/null || echo none)"`).join("; "),
    (dir) => Deno.writeTextFile(`${dir}/login_gids.py`, PY_LOGIN_GIDS),
  );
  return got.map(({ out }) => {
    const ids = new Map<string, number[] | undefined>();
    for (const line of out.split("\n")) {
      const m = /^([^:]+):(.*)$/.exec(line);
      if (!m) continue;
      // python prints a gid_t as signed: -1 is 4294967295.
      const gids = m[2].trim().split(/\s+/).map((g) => Number(g) >>> 0);
      ids.set(m[1], m[2] === "none" ? undefined : gids);
    }
    return ids;
  });
}
