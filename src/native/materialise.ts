/**
 * Puts an embedded shared object where dlopen can load it: a file named by
 * its content hash in a root-only runtime directory, written once and
 * verified at every use, so that another process (or a user) cannot swap
 * in code of its own.
 *
 * Each process holds the file it uses open under a shared flock(2) until it
 * exits, and a start removes the copies of the same library that no process
 * holds or maps: an upgrade leaves no old copy behind in /run, and a copy in
 * use is never taken from under its process.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ensureTrustedDir } from "../store/trusted_file.ts";
import { errorMessage } from "../error_message.ts";

/** Where embedded libraries go: root-only, not world-writable. */
export const RUNTIME_DIRS = ["/run/bpfink", "/var/run/bpfink"];

/** Tries at writing and holding a copy that a concurrent start removed as we wrote it. */
const ATTEMPTS = 3;

/** The copies this process uses, each open under a shared lock for as long as it runs. */
const held = new Map<string, Deno.FsFile>();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes `bytes` as `<dir>/<name>-<hash>.so` (0500 in a 0700 dir) unless a
 * verified copy is there, in the first of `dirs` that works; returns its path.
 * The copy is held (shared lock) until the process exits, and the other
 * copies of `name` there that nothing holds or maps are removed
 * (removeStaleCopies).
 *
 * @throws {Error} naming each directory tried and why it failed.
 */
export function materialiseLibrary(
  name: string,
  bytes: Uint8Array,
  dirs: readonly string[] = RUNTIME_DIRS,
): string {
  const hash = sha256(bytes);
  const errors: string[] = [];
  for (const dir of dirs) {
    const path = `${dir}/${name}-${hash.slice(0, 16)}.so`;
    try {
      ensureTrustedDir(dir, "runtime directory");
      for (let attempt = 1;; attempt++) {
        writeVerified(path, bytes, hash);
        if (hold(path)) break;
        if (attempt === ATTEMPTS) throw new Error(`${path} kept being removed as it was written`);
      }
      removeStaleCopies(dir, name, path);
      return path;
    } catch (e) {
      errors.push(`${dir}: ${errorMessage(e)}`);
    }
  }
  throw new Error(`cannot write the embedded ${name}: ${errors.join("; ")}`);
}

/** Leaves a copy of `bytes` (of sha256 `hash`) at `path`, written unless one verifies there. */
function writeVerified(path: string, bytes: Uint8Array, hash: string): void {
  try {
    if (sha256(Deno.readFileSync(path)) === hash) return;
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeFileSync(tmp, bytes, { mode: 0o500 });
  Deno.renameSync(tmp, path);
  if (sha256(Deno.readFileSync(path)) !== hash) {
    throw new Error(`${path} does not verify after writing`);
  }
}

/**
 * Takes a shared lock on `path` for the life of the process; false when
 * another start removed the file before the lock was taken (the path then
 * names another file, or none).
 */
function hold(path: string): boolean {
  if (held.has(path)) return true;
  const file = Deno.openSync(path, { read: true });
  try {
    file.lockSync(false);
    if (Deno.lstatSync(path).ino === file.statSync().ino) {
      held.set(path, file);
      return true;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      file.close();
      throw e;
    }
  }
  file.close();
  return false;
}

const COPY = /^(.+)-[0-9a-f]{16}\.so$/;
const TEMPORARY = /^(.+)-[0-9a-f]{16}\.so\.(\d+)\.tmp$/;

/**
 * Removes from `dir` the copies of library `name` other than `keep` that no
 * process holds (an exclusive flock is granted) or maps (/proc/PID/maps, for
 * versions that held no lock), and the temporary files of writers that are
 * gone. Best effort: a copy that cannot be checked is left. Returns the
 * paths removed.
 */
export function removeStaleCopies(dir: string, name: string, keep: string): string[] {
  const removed: string[] = [];
  // Each copy nobody holds stays locked by us until it is removed or left, so that no start
  // takes it up in between.
  const unheld: { path: string; ino: number; file: Deno.FsFile }[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return removed;
  }
  try {
    for (const e of entries) {
      const path = `${dir}/${e.name}`;
      if (!e.isFile || path === keep) continue;
      const tmp = TEMPORARY.exec(e.name);
      if (tmp) {
        if (tmp[1] === name && !alive(Number(tmp[2])) && tryRemove(path)) removed.push(path);
        continue;
      }
      if (COPY.exec(e.name)?.[1] !== name) continue;
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(path, { read: true });
      } catch {
        continue;
      }
      try {
        const ino = file.tryLockSync(true) ? file.statSync().ino : null;
        if (ino) {
          unheld.push({ path, ino, file });
          continue;
        }
      } catch {
        // Left for a later start.
      }
      file.close();
    }
    if (unheld.length === 0) return removed;
    const mapped = mappedAmong(new Set(unheld.map((c) => c.ino)));
    for (const c of unheld) {
      if (!mapped.has(c.ino) && tryRemove(c.path)) removed.push(c.path);
    }
    return removed;
  } finally {
    for (const c of unheld) c.file.close();
  }
}

function tryRemove(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Which of `inodes` some process maps (a file system's device is not compared: a match keeps a copy). */
function mappedAmong(inodes: Set<number>): Set<number> {
  const found = new Set<number>();
  for (const p of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(p.name)) continue;
    let maps: string;
    try {
      maps = Deno.readTextFileSync(`/proc/${p.name}/maps`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const line of maps.split("\n")) {
      // address perms offset dev inode path
      const inode = Number(line.split(" ", 5)[4]);
      if (inodes.has(inode)) found.add(inode);
    }
  }
  return found;
}
