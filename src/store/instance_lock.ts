/**
 * One bpfink per database: an exclusive, non-blocking flock(2) on
 * `<database>.lock` (a trusted file, O_NOFOLLOW), held for the life of the
 * store and released by the kernel when the process dies, even by SIGKILL.
 * The holder's pid is written in the file so a second instance can name it.
 *
 * @module
 */
import fs from "node:fs";
import { AgentError } from "../agent/agent_error.ts";
import { assertTrusted, errText } from "./trusted_file.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: Deno.DynamicLibrary<{ flock: { parameters: ["i32", "i32"]; result: "i32" } }> | undefined;

function flock(fd: number, op: number): boolean {
  libc ??= Deno.dlopen("libc.so.6", { flock: { parameters: ["i32", "i32"], result: "i32" } });
  return libc.symbols.flock(fd, op) === 0;
}

/** A held lock; `release()` lets the next instance in. */
export interface InstanceLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock of `database` or throws an `AgentError` naming the holder.
 * `readOnly` (bpfink check) opens an existing lock file without writing it;
 * with none there, no bpfink has the database, and nothing is locked.
 */
export function lockDatabase(database: string, readOnly = false): InstanceLock {
  const path = `${database}.lock`;
  assertTrusted(path, { what: "database lock" });
  let fd: number;
  try {
    fd = fs.openSync(
      path,
      readOnly
        ? fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW
        : fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
      0o600,
    );
  } catch (e) {
    if (readOnly && (e as { code?: string }).code === "ENOENT") return { path, release() {} };
    throw new AgentError(`cannot open the database lock ${path}: ${errText(e)}`);
  }
  if (!flock(fd, LOCK_EX | LOCK_NB)) {
    let holder = "";
    try {
      const pid = fs.readFileSync(fd, "utf8").trim();
      if (/^\d+$/.test(pid)) holder = ` (pid ${pid})`;
    } catch { /* no pid: say nothing about it */ }
    fs.closeSync(fd);
    throw new AgentError(
      `another bpfink${holder} is using the database ${database}: ` +
        `one instance per database; stop it or give this one its own database`,
    );
  }
  if (!readOnly) {
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${Deno.pid}\n`, 0);
    } catch { /* a full disk: the lock holds without the pid that names its holder */ }
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      fs.closeSync(fd);
    },
  };
}
