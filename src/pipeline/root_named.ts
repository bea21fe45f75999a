/**
 * Whose decision a file's name is: a file in a directory that only root can
 * write (root owns it, no group or other write bit) was put there by root,
 * whoever owns the file now. Its owner can rewrite its content, but not
 * make it, rename it there, or link it in: `/etc/passwd` given to nobody
 * (`chown nobody /etc/passwd`, done while bpfink was down) is still the
 * account database, and nobody owning it is the problem to report. A
 * `passwd` in a directory a user can write may be that user's own file.
 *
 * @module
 */
import { dirname } from "node:path/posix";
import { lstat } from "../watch/native_fs.ts";

/** Group and other write bits. */
const WRITE_BY_OTHERS = 0o022;

/**
 * True when only root can write the directory `path` is in (followed if it
 * is a symlink: what counts is the directory the name is in); false when
 * someone else can, or it cannot be told.
 */
export function nameIsRoots(path: string): boolean {
  try {
    const dir = lstat(`${dirname(path)}/.`);
    return dir?.type === "dir" && dir.uid === 0 && (dir.mode & WRITE_BY_OTHERS) === 0;
  } catch {
    return false;
  }
}
