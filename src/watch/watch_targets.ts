/**
 * Turns the paths a user asked for into watch targets: absolute, symlinks
 * resolved, directories expanded to the regular files in them.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathFilter } from "./glob.ts";
import { type EntryType, listDir, lstat } from "./native_fs.ts";
import { chargedOwner } from "./owner_budget.ts";
import { errorMessage } from "../error_message.ts";

/** One path to watch. */
export interface WatchTarget {
  /** Absolute path, symlinks resolved. */
  path: string;
  kind: "file" | "dir";
  /** The path as configured, which this target came from. */
  root: string;
  /** A directory whose subdirectories are watched too. */
  recursive?: boolean;
  /** A subdirectory of a non-recursive watch: reported as an entry, not listed. */
  shallow?: boolean;
  /**
   * What the listing (or stat) said the path was, when it said: a hint, for
   * opening it to be marked before its first read (EarlyWatch).
   */
  type?: EntryType;
}

/** The targets and what the user should hear about the rest. */
export interface ResolvedTargets {
  targets: WatchTarget[];
  /** Paths that do not exist (yet): watched by name, reported if created. */
  missing: WatchTarget[];
  warnings: string[];
}

/** Options for expanding directories. */
export interface ExpandOptions {
  /** Descend into subdirectories (default: only the directory's own files). */
  recursive?: boolean;
  /** Stop expanding after this many files, with a warning. */
  maxFiles?: number;
  /** Globs (relative to the directory) of files to watch; default all. */
  include?: string[];
  /** Globs (relative to the directory) of files and directories to skip. */
  exclude?: string[];
}

async function realOrResolved(p: string): Promise<string> {
  try {
    return await Deno.realPath(p);
  } catch {
    // A missing file: resolve its directory if that exists, so the name still matches.
    const abs = isAbsolute(p) ? p : resolve(p);
    try {
      return join(await Deno.realPath(dirname(abs)), abs.slice(dirname(abs).length + 1));
    } catch {
      return abs;
    }
  }
}

/** Resolves `paths` into watch targets. Never throws for a missing or unreadable path. */
export async function resolveTargets(
  paths: string[],
  opts: ExpandOptions = {},
): Promise<ResolvedTargets> {
  const maxFiles = opts.maxFiles ?? 100_000;
  const out: ResolvedTargets = { targets: [], missing: [], warnings: [] };
  const seen = new Set<string>();
  const add = (t: WatchTarget): boolean => {
    if (seen.has(t.path)) return false;
    seen.add(t.path);
    out.targets.push(t);
    return true;
  };
  let files = 0;
  // Past maxFiles, a file of an owner with fewer files takes the place of one of the owner
  // with the most (beyond its share): one user's flood cannot leave another's files out.
  const share = Math.max(1, Math.floor(maxFiles / 8));
  const byOwner = new Map<number, number[]>();
  const evicted = new Set<number>();
  let refused = 0;
  const makeRoom = (owner: number): boolean => {
    let most: number[] | undefined;
    for (const [o, list] of byOwner) {
      if (o !== 0 && o !== owner && list.length > share && list.length > (most?.length ?? 0)) {
        most = list;
      }
    }
    const mine = byOwner.get(owner)?.length ?? 0;
    if (!most || most.length <= mine + 1) return false;
    evicted.add(most.pop()!);
    files--;
    return true;
  };
  const filter = pathFilter(opts.include, opts.exclude);
  let top = "";
  const expand = async (dir: string, root: string, depth: number): Promise<void> => {
    add({
      path: dir,
      kind: "dir",
      root,
      type: "dir",
      ...(opts.recursive ? { recursive: true } : {}),
    });
    let entries;
    try {
      entries = listDir(dir) ?? [];
    } catch (e) {
      out.warnings.push(
        `cannot list ${dir}: ${errorMessage(e)}; its files are not watched`,
      );
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let dirStat;
    try {
      dirStat = lstat(dir);
    } catch { /* gone meanwhile: charged to root */ }
    for (const e of entries) {
      const p = dir === "/" ? `/${e.name}` : `${dir}/${e.name}`;
      // `dir` is `top` or was listed under it: relative(top, p) by slicing.
      const rel = p.slice(top === "/" ? 1 : top.length + 1);
      if (filter.excludes(rel)) continue;
      if (e.type !== "dir") {
        if (!filter.includes(rel, false)) continue;
        const owner = chargedOwner(dirStat, p);
        if (files >= maxFiles && !makeRoom(owner)) {
          refused++;
          continue;
        }
        const at = out.targets.length;
        if (!add({ path: p, kind: "file", root, ...(e.type ? { type: e.type } : {}) })) continue;
        files++;
        let mine = byOwner.get(owner);
        if (!mine) byOwner.set(owner, mine = []);
        mine.push(at);
      } else if (opts.recursive) {
        if (filter.includes(rel, true)) await expand(p, root, depth + 1);
      } else {
        add({ path: p, kind: "dir", root, shallow: true, type: "dir" });
      }
    }
  };
  for (const raw of paths) {
    const p = await realOrResolved(raw);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(p);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        // Watched as what it turns out to be when it appears: a directory made there is
        // listed (and, for a recursive watch, its subdirectories too).
        out.missing.push({
          path: p,
          kind: "file",
          root: raw,
          ...(opts.recursive ? { recursive: true } : {}),
        });
        out.warnings.push(`${raw} does not exist: watching for its creation`);
      } else {
        out.warnings.push(`cannot watch ${raw}: ${errorMessage(e)}`);
      }
      continue;
    }
    if (info.isDirectory) {
      top = p;
      await expand(p, raw, 0);
    } else if (info.isFile) {
      files++;
      add({ path: p, kind: "file", root: raw, type: "file" });
    } else out.warnings.push(`${raw} is not a regular file or directory: not watched`);
  }
  if (evicted.size) out.targets = out.targets.filter((_, i) => !evicted.has(i));
  if (refused + evicted.size) {
    out.warnings.push(
      `more than ${maxFiles} files under ${paths.join(", ")}: ${refused + evicted.size} ` +
        `are not watched` +
        (evicted.size
          ? `, of users who have more than ${share} there first (root's and others' are watched)`
          : ""),
    );
  }
  return out;
}

/**
 * The top of each watch among `targets` (the path the configured one resolved to): the first
 * target of each root, as resolveTargets() lists a watch's own path before what is below it.
 */
export function topsOf(targets: Iterable<WatchTarget>): Map<string, string> {
  const tops = new Map<string, string>();
  for (const t of targets) if (!tops.has(t.root)) tops.set(t.root, t.path);
  return tops;
}

/** The baseline's meta key for the tops of the watches of the last start (JSON array). */
export const WATCHED_TOPS = "watched_tops";

/** The tops the last start watched (`meta` is the baseline's meta table); empty when unknown. */
export function watchedTopsIn(meta: (key: string) => string | undefined): Set<string> {
  try {
    const v = JSON.parse(meta(WATCHED_TOPS) ?? "[]");
    return new Set(Array.isArray(v) ? v.filter((p) => typeof p === "string") : []);
  } catch {
    return new Set();
  }
}

/**
 * Whether `path`, which the baseline has no record of, was made while bpfink was down: a
 * directory above it, at or below `top` (its watch's own path, resolved), is recorded, so the
 * watch was there before it. However deep it lies under directories made meanwhile (`mkdir -p
 * a/b && echo > a/b/c`), it is new, as the live agent would have said. A path under no recorded
 * directory of its watch (a watch added to the config) is a first sighting.
 */
export function madeWhileWatched(
  path: string,
  top: string,
  recorded: ReadonlySet<string>,
  watchedBefore?: ReadonlySet<string>,
): boolean {
  // The last run watched this top (WATCHED_TOPS): whatever is at or below it now and has no
  // record was made since, even where nothing above it was recorded (a watched file or
  // directory missing then: an authorized_keys planted while bpfink was down).
  if (recorded.size > 0 && watchedBefore?.has(top) && (path === top || under(path, top))) {
    return true;
  }
  if (path === top || !under(path, top)) return false;
  for (let d = dirname(path);; d = dirname(d)) {
    if (recorded.has(d)) return true;
    if (d === top || d === dirname(d)) return false;
  }
}

/** Whether `path` lies below directory `top` (not `top` itself). */
export function under(path: string, top: string): boolean {
  return top === "/" ? path !== "/" && path.startsWith("/") : path.startsWith(`${top}/`);
}

/**
 * The watch (its root and top) whose tree `path` lies below, the deepest when several do; a
 * recorded path gone from the disk below it was deleted while bpfink was down.
 */
export function watchAbove(
  path: string,
  tops: ReadonlyMap<string, string>,
): { root: string; top: string } | undefined {
  let best: { root: string; top: string } | undefined;
  for (const [root, top] of tops) {
    if (under(path, top) && (!best || top.length > best.top.length)) best = { root, top };
  }
  return best;
}
