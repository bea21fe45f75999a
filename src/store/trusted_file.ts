/**
 * Files bpfink trusts as root (the database and its WAL, the host key, log
 * files, the runtime directory) must be beyond the reach of other users, or
 * a local user could plant a symlink (root would then chmod or write its
 * target) or a file of their own (a key they chose). The rule is sshd's
 * StrictModes rule:
 *
 * - the file is not a symbolic link (opened with O_NOFOLLOW), is owned by
 *   root and is not writable by group or others (a secret, such as the key,
 *   not readable by them either);
 * - every directory above it is owned by root and not writable by group or
 *   others; a sticky directory such as /tmp is allowed above the file's own
 *   directory (others cannot rename what root owns in it), never as that
 *   directory itself (others could plant the name first).
 *
 * Like sshd, the owner may also be the user bpfink runs as: the same rule as
 * root (bpfink's only real mode), and what lets the store's tests run
 * without root.
 *
 * @module
 */
import fs from "node:fs";
import { dirname, isAbsolute, join, normalize } from "node:path";
import { AgentError } from "../agent/agent_error.ts";

/** Whether `uid` may own what bpfink trusts: root, or the user bpfink runs as. */
function trustedOwner(uid: number | null): boolean {
  return uid === 0 || uid === Deno.uid();
}

/** How a wrong owner is described. */
const NOT_TRUSTED = Deno.uid() === 0 ? "not root" : `not root or uid ${Deno.uid()}`;
import { errorMessage } from "../error_message.ts";

/** A trusted file or directory failed the rule: the message names every problem. */
export class UntrustedFileError extends AgentError {
  constructor(readonly problems: string[]) {
    super(problems.join("; "), 1);
    this.name = "UntrustedFileError";
  }
}

/** What is checked about a path. */
export interface TrustOptions {
  /** What the file is, for messages ("database", "key file"...). */
  what: string;
  /** The path is a directory (the runtime directory). */
  dir?: boolean;
  /** Not readable by group or others either (the key). */
  secret?: boolean;
}

const mode8 = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");

/** The nearest existing ancestor of `path` (itself when it exists), resolved. */
function existingRealAncestor(path: string): string {
  let p = path;
  for (;;) {
    try {
      return Deno.realPathSync(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || p === "/") throw e;
      p = dirname(p);
    }
  }
}

/**
 * Problems with the directories from `/` down to `dir`, which may not exist
 * yet (missing parts are made 0700 by `ensureTrustedDir`). Symbolic links on
 * the way must be root's; the directories they lead to are checked too.
 */
function directoryProblems(dir: string, what: string): string[] {
  const problems = new Set<string>();
  const lexical = dir.split("/").filter(Boolean);
  for (let i = 1; i <= lexical.length; i++) {
    const p = "/" + lexical.slice(0, i).join("/");
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(p);
    } catch {
      break;
    }
    if (info.isSymlink && !trustedOwner(info.uid)) {
      problems.add(`${what}: ${p} is a symbolic link owned by uid ${info.uid}, ${NOT_TRUSTED}`);
    }
  }
  const real = existingRealAncestor(dir);
  // The directory the file lives in, when it exists; else entries are made 0700 and re-checked.
  const ownExists = exists(dir);
  const parts = real.split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const d = "/" + parts.slice(0, i).join("/");
    const info = Deno.lstatSync(d);
    const m = info.mode ?? 0;
    if (!trustedOwner(info.uid)) {
      problems.add(`${what}: directory ${d} is owned by uid ${info.uid}, ${NOT_TRUSTED}`);
    }
    const own = i === parts.length && ownExists;
    if ((m & 0o022) !== 0 && (own || (m & 0o1000) === 0)) {
      problems.add(
        `${what}: directory ${d} is writable by ${m & 0o002 ? "others" : "its group"} ` +
          `(mode ${mode8(m)}): anyone there could plant files in it`,
      );
    }
  }
  return [...problems];
}

/** Problems with one existing file or directory's own status (lstat), [] when fine. */
function statusProblems(path: string, info: Deno.FileInfo, opts: TrustOptions): string[] {
  const problems: string[] = [];
  const m = info.mode ?? 0;
  if (info.isSymlink) return [`${opts.what} ${path} is a symbolic link: refusing to follow it`];
  if (opts.dir ? !info.isDirectory : !info.isFile) {
    return [`${opts.what} ${path} is not a ${opts.dir ? "directory" : "regular file"}`];
  }
  if (opts.dir) return problems; // owner and mode: checked with the directories above
  if (!trustedOwner(info.uid)) {
    problems.push(`${opts.what} ${path} is owned by uid ${info.uid}, ${NOT_TRUSTED}`);
  }
  if ((m & 0o022) !== 0) {
    problems.push(`${opts.what} ${path} is writable by group or others (mode ${mode8(m)})`);
  } else if (opts.secret && (m & 0o077) !== 0) {
    problems.push(
      `${opts.what} ${path} is readable by group or others (mode ${mode8(m)}): chmod 600 it`,
    );
  }
  return problems;
}

/**
 * Everything that makes `path` unsafe for root to open, create or write,
 * one sentence each; `[]` when it is safe. A path that does not exist yet is
 * judged by the directories it would be created in.
 */
export function trustProblems(path: string, opts: TrustOptions): string[] {
  if (!isAbsolute(path)) return [`${opts.what} ${path} must be an absolute path`];
  path = normalize(path);
  try {
    const problems = directoryProblems(opts.dir ? path : dirname(path), opts.what);
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (info) problems.push(...statusProblems(path, info, opts));
    return problems;
  } catch (e) {
    return [`${opts.what} ${path}: ${errorMessage(e)}`];
  }
}

/** Throws `UntrustedFileError` unless `path` passes `trustProblems`. */
export function assertTrusted(path: string, opts: TrustOptions): void {
  const problems = trustProblems(path, opts);
  if (problems.length) throw new UntrustedFileError(problems);
}

/**
 * Makes `dir` (0700, and any missing parents 0700) after checking the
 * directories above it, then checks it. Returns `dir`.
 */
export function ensureTrustedDir(dir: string, what: string): string {
  assertTrusted(dir, { what, dir: true });
  const missing: string[] = [];
  for (let d = dir; !exists(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      Deno.mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new AgentError(`cannot create the ${what} directory ${d}: ${errText(e)}`);
      }
    }
  }
  assertTrusted(dir, { what, dir: true });
  return dir;
}

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The message of a file-system error, with the errno name node:fs gives. */
export function errText(e: unknown): string {
  const msg = errorMessage(e);
  if ((e as { code?: string })?.code === "EROFS" || /read-only file system/i.test(msg)) {
    return "the file system is read-only";
  }
  return msg.split("\n")[0];
}

/**
 * Reads a trusted file through an O_NOFOLLOW descriptor, re-checking owner
 * and mode on that descriptor (what was opened is what was checked).
 * Undefined when it does not exist. At most `maxBytes`.
 */
export function readTrustedFile(
  path: string,
  opts: TrustOptions,
  maxBytes = 1 << 20,
): Uint8Array | undefined {
  assertTrusted(path, opts);
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    if ((e as { code?: string }).code === "ELOOP") {
      throw new UntrustedFileError([
        `${opts.what} ${path} is a symbolic link: refusing to follow it`,
      ]);
    }
    throw new AgentError(`cannot open the ${opts.what} ${path}: ${errText(e)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    const problems = statusProblems(path, {
      isFile: st.isFile(),
      isDirectory: st.isDirectory(),
      isSymlink: false,
      uid: st.uid,
      mode: st.mode,
    } as Deno.FileInfo, opts);
    if (problems.length) throw new UntrustedFileError(problems);
    const size = Math.min(st.size, maxBytes);
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `path` (O_CREAT|O_EXCL|O_NOFOLLOW, `mode`) in a trusted
 * directory, made if missing, with `bytes` in it. Fails if anything is
 * already there.
 */
export function createTrustedFile(
  path: string,
  bytes: Uint8Array,
  opts: TrustOptions & { mode: number },
): void {
  ensureTrustedDir(dirname(path), opts.what);
  let fd: number;
  try {
    fd = fs.openSync(
      path,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL |
        fs.constants.O_NOFOLLOW,
      opts.mode,
    );
  } catch (e) {
    throw new AgentError(`cannot create the ${opts.what} ${path}: ${errText(e)}`);
  }
  try {
    fs.fchmodSync(fd, opts.mode);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** `path` joined under `dir` (for sibling files such as the WAL). */
export function sibling(path: string, suffix: string): string {
  return join(dirname(path), `${path.split("/").pop()}${suffix}`);
}
