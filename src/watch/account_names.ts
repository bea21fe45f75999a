/**
 * Names of local users and groups by id (`/etc/passwd`, `/etc/group`), for
 * `file.owner`, `file.group` and `user.name`. Re-read when the file changes;
 * an id with no local entry (or a file that cannot be read) has no name.
 *
 * @module
 */

/** Longest account file read for names. */
const MAX_BYTES = 16 << 20;

/** Names by numeric id from colon-separated `name:x:id:...` text; the first entry of an id wins. */
export function namesById(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    const f = line.split(":");
    if (f.length < 3 || !f[0] || !/^\d{1,10}$/.test(f[2])) continue;
    const id = Number(f[2]);
    if (id <= 0xffffffff && !out.has(id)) out.set(id, f[0]);
  }
  return out;
}

/** One account file's id → name map, re-read when its mtime, size or inode moves. */
class NameFile {
  #stamp = "";
  #names = new Map<number, string>();
  constructor(readonly path: string) {}

  get(id: number): string | undefined {
    try {
      const st = Deno.statSync(this.path);
      const stamp = `${st.ino}:${st.size}:${st.mtime?.getTime()}`;
      if (stamp !== this.#stamp) {
        this.#names = st.size <= MAX_BYTES
          ? namesById(Deno.readTextFileSync(this.path))
          : new Map();
        this.#stamp = stamp;
      }
    } catch {
      this.#names = new Map();
      this.#stamp = "";
    }
    return this.#names.get(id);
  }
}

const users = new NameFile("/etc/passwd");
const groups = new NameFile("/etc/group");

/** The local user name of `uid`, if any. */
export function userName(uid: number | string): string | undefined {
  return users.get(Number(uid));
}

/** The local group name of `gid`, if any. */
export function groupName(gid: number | string): string | undefined {
  return groups.get(Number(gid));
}
