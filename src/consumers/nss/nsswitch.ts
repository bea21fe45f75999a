/**
 * nsswitch.conf by meaning: which services each database (`passwd`,
 * `group`, `shadow`, `hosts`, ...) is looked up through, as glibc reads the
 * file: `database: service [STATUS=action] service ...`, a `#` starting a
 * comment anywhere, the database names case-insensitive. A service other
 * than glibc's own `files` and `dns` is a library, `libnss_SERVICE.so.2`,
 * that glibc loads into every program that looks the database up: sshd,
 * sudo, cron and login look up `passwd` as root. So a service added is
 * critical, and the libraries are watched with the file: whoever can write
 * one runs code in those programs.
 *
 * @module
 */
import type { Consumer, IncludedPath } from "../consumer.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { WatchedPrograms } from "../_command_programs.ts";
import { listConsumer } from "../_list_consumer.ts";

/** One database's services, in order, and its line. */
export interface NssDatabase {
  database: string;
  services: string[];
  line: number;
}

/** Services glibc has built in since 2.34: no library is loaded for them. */
const BUILT_IN = new Set(["files", "dns"]);

/** The databases glibc itself looks up (other programs read their own: sudo's `sudoers`). */
const GLIBC_DATABASES = new Set([
  "aliases",
  "ethers",
  "group",
  "gshadow",
  "hosts",
  "initgroups",
  "netgroup",
  "networks",
  "passwd",
  "passwd_compat",
  "group_compat",
  "shadow_compat",
  "protocols",
  "publickey",
  "rpc",
  "services",
  "shadow",
]);

/** Most databases kept of a file. */
const MAX_DATABASES = 256;

/** C's isspace. */
const SPACE = /[ \t\n\v\f\r]/;

/**
 * A criterion list's items, `!?STATUS=ACTION` (from just after its `[`),
 * and where the list ends (after its `]`); undefined when glibc cannot
 * read it.
 */
function criteria(line: string, from: number): number | undefined {
  const item =
    /^[ \t\n\v\f\r]*!?(success|unavail|notfound|tryagain)[ \t\n\v\f\r]*=[ \t\n\v\f\r]*(return|continue|merge)(?=[ \t\n\v\f\r=\]]|$)[ \t\n\v\f\r]*/i;
  let i = from;
  do {
    const m = item.exec(line.slice(i));
    if (!m) return undefined;
    i += m[0].length;
  } while (line[i] !== "]");
  return i + 1;
}

/** A line's services, as glibc's action parser reads them; undefined when it cannot. */
function services(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && SPACE.test(line[i])) i++;
    if (i >= line.length) return out;
    const start = i;
    while (i < line.length && !SPACE.test(line[i]) && line[i] !== "[") i++;
    if (i === start) return out;
    out.push(line.slice(start, i));
    while (i < line.length && SPACE.test(line[i])) i++;
    if (line[i] === "[") {
      const end = criteria(line, i + 1);
      if (end === undefined) return undefined;
      i = end;
    }
  }
}

/**
 * The databases of an nsswitch.conf, as glibc reads the file: a line is a
 * name (up to a blank or `:`), then blanks and colons, then services, each
 * optionally followed by `[STATUS=action ...]`; a name glibc does not look
 * up (a `#` comment, `sudoers`) is kept but cannot spoil the file. A
 * database named again takes the later line; a line a NUL cuts ends there.
 * A glibc database whose services glibc cannot read makes glibc give up on
 * the whole file, which loads nothing then: `unusable` says where.
 */
export function parseNsswitch(text: string): { databases: NssDatabase[]; unusable?: number } {
  const out = new Map<string, NssDatabase>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    const nul = l.indexOf("\0");
    if (nul >= 0) l = l.slice(0, nul);
    let j = 0;
    while (j < l.length && SPACE.test(l[j])) j++;
    const start = j;
    while (j < l.length && !SPACE.test(l[j]) && l[j] !== ":") j++;
    if (j >= l.length || j === start) continue;
    const database = l.slice(start, j);
    while (j < l.length && (SPACE.test(l[j]) || l[j] === ":")) j++;
    if (database.startsWith("#")) continue;
    const s = services(l.slice(j));
    if (s === undefined) {
      if (GLIBC_DATABASES.has(database)) return { databases: [], unusable: i + 1 };
      continue;
    }
    if (!out.has(database) && out.size >= MAX_DATABASES) continue;
    out.delete(database);
    out.set(database, { database, services: s, line: i + 1 });
  }
  return { databases: [...out.values()] };
}

/**
 * Where glibc's loader finds an NSS library on Debian: the directories of
 * its ld.so.conf (`/usr/local/lib` first), then its own.
 */
const LIB_DIRS = (() => {
  const triplet = Deno.build.arch === "aarch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  return [
    `/usr/local/lib/${triplet}`,
    "/usr/local/lib",
    `/lib/${triplet}`,
    `/usr/lib/${triplet}`,
    "/lib",
    "/usr/lib",
  ];
})();

/** The changes from `before` to `after`: a service a database gains is critical. */
export function diffNsswitch(
  before: readonly NssDatabase[],
  after: readonly NssDatabase[],
  file: string,
): SemanticChange[] {
  const out = new ChangeList("nss");
  const was = new Map(before.map((d) => [d.database, d]));
  const now = new Map(after.map((d) => [d.database, d]));
  for (const d of after) {
    const old = was.get(d.database)?.services ?? [];
    for (const s of d.services.filter((s) => !old.includes(s))) {
      const loads = BUILT_IN.has(s)
        ? ""
        : ` (libnss_${s}.so.2, loaded into each program that does)`;
      out.push({
        action: "nss_service_added",
        subject: `${d.database}: ${s}`,
        message: `${shown(d.database)} is now looked up through ${shown(s)}${shown(loads)}`,
        changes: [{ field: d.database, from: old.join(" "), to: d.services.join(" ") }],
        source: { file, line: d.line },
        severity: BUILT_IN.has(s) ? "high" : "critical",
      });
    }
  }
  for (const d of before) {
    const kept = now.get(d.database)?.services ?? [];
    for (const s of d.services.filter((s) => !kept.includes(s))) {
      out.push({
        action: "nss_service_removed",
        subject: `${d.database}: ${s}`,
        message: `${shown(d.database)} is no longer looked up through ${shown(s)}`,
        changes: [{ field: d.database, from: d.services.join(" "), to: kept.join(" ") }],
        source: { file, line: d.line },
        severity: "medium",
      });
    }
  }
  return out.done();
}

/**
 * The services glibc may load a library for to look up `database`: its
 * own, and, where one is `compat` (passwd, group and shadow), the first of
 * its `_compat` database, by default `nis` (shadow_compat defaults to
 * passwd_compat's).
 */
export function servicesFor(dbs: readonly NssDatabase[], database: string): string[] {
  const of = (name: string) => dbs.find((d) => d.database === name)?.services;
  const own = of(database) ?? [];
  if (!own.includes("compat") || !["passwd", "group", "shadow"].includes(database)) return own;
  const compat = of(`${database}_compat`) ??
    (database === "shadow" ? of("passwd_compat") : undefined) ?? ["nis"];
  // compat looks its `+` entries up through the first service of that database only.
  return [...own, ...compat.slice(0, 1)];
}

/** The libraries the services of `dbs` load, in each directory glibc's loader looks in. */
export function nssLibraries(dbs: readonly NssDatabase[]): IncludedPath[] {
  const out = new WatchedPrograms();
  for (const d of dbs) {
    for (const s of servicesFor(dbs, d.database)) {
      // glibc loads no module whose name holds a `/`.
      if (BUILT_IN.has(s) || s.includes("/")) continue;
      for (const dir of LIB_DIRS) out.add(`${dir}/libnss_${s}.so.2`, "critical");
    }
  }
  return out.values();
}

/** /etc/nsswitch.conf. */
export const nssConsumer: Consumer = listConsumer("nss", {
  parse(path, text, ctx) {
    const r = parseNsswitch(text);
    if (r.unusable !== undefined) {
      ctx.warn(
        `${path}:${r.unusable}: glibc cannot read this line's services, and gives up on the file`,
      );
    }
    return r.databases;
  },
  diff: diffNsswitch,
  files: nssLibraries,
});
