/**
 * Turns the paths a user asked for into watch targets: absolute, symlinks
 * resolved, directories expanded to the regular files in them.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { globDirMatcher, globMatcher } from "./glob.ts";
import { listDir } from "./native_fs.ts";
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
  const add = (t: WatchTarget) => {
    if (seen.has(t.path)) return;
    seen.add(t.path);
    out.targets.push(t);
  };
  let files = 0;
  const included = opts.include?.length ? globMatcher(opts.include) : () => true;
  const walked = opts.include?.length ? globDirMatcher(opts.include) : () => true;
  const excluded = opts.exclude?.length ? globMatcher(opts.exclude) : () => false;
  let top = "";
  const expand = async (dir: string, root: string, depth: number): Promise<void> => {
    add({ path: dir, kind: "dir", root, ...(opts.recursive ? { recursive: true } : {}) });
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
    for (const e of entries) {
      const p = dir === "/" ? `/${e.name}` : `${dir}/${e.name}`;
      const rel = relative(top, p);
      if (excluded(rel)) continue;
      if (e.type !== "dir") {
        if (!included(rel)) continue;
        if (files >= maxFiles) {
          out.warnings.push(`more than ${maxFiles} files under ${root}: the rest are not watched`);
          return;
        }
        files++;
        add({ path: p, kind: "file", root });
      } else if (opts.recursive) {
        if (walked(rel)) await expand(p, root, depth + 1);
      } else {
        add({ path: p, kind: "dir", root, shallow: true });
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
        out.missing.push({ path: p, kind: "file", root: raw });
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
      add({ path: p, kind: "file", root: raw });
    } else out.warnings.push(`${raw} is not a regular file or directory: not watched`);
  }
  return out;
}
