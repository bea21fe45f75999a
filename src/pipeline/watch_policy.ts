/**
 * What a watch adds to its events: ignore rules (changes made by a package
 * manager or config management, or under paths that churn), tags, and a
 * severity. An ignored change still moves the baseline (so it is not
 * reported later as offline) and is counted, never silently lost.
 *
 * Matching by executable (the full path /proc gave) is the robust choice;
 * a process can set its own comm to anything (prctl PR_SET_NAME), so an
 * ignore rule by comm is a rule an attacker can satisfy.
 *
 * @module
 */
import { relative } from "node:path";
import type { WatchConfig } from "../config/config_types.ts";
import { globMatcher } from "../watch/glob.ts";
import type { AttributedEvent } from "../watch/attribution.ts";
import type { SeverityLevel } from "./severity.ts";

/** A watch's ignore rules, as configured. */
export interface IgnoreConfig {
  /** Process names (comm) whose changes are not reported. */
  comm?: string[];
  /** Full executable paths whose changes are not reported. */
  executable?: string[];
  /** Globs, relative to the watch path, of paths whose changes are not reported. */
  paths?: string[];
}

/** What a watch's policy decides for one change. */
export interface WatchPolicy {
  /**
   * Why the change is not reported (e.g. `executable /usr/bin/dpkg`), or
   * undefined. A rule on writers holds only when the cause and every one of
   * the `others` that wrote the same change match it: a package manager's
   * write folded with another process's must not hide the other's.
   */
  ignored(
    path: string,
    cause: AttributedEvent | undefined,
    others?: readonly AttributedEvent[],
  ): string | undefined;
  tags: string[];
  severity?: SeverityLevel;
}

const NONE: WatchPolicy = { ignored: () => undefined, tags: [] };
const cache = new WeakMap<WatchConfig, WatchPolicy>();

/** The compiled policy of watch `w` (cached per watch). */
export function watchPolicy(w: WatchConfig | undefined): WatchPolicy {
  if (!w) return NONE;
  let p = cache.get(w);
  if (p) return p;
  const ig = w.ignore ?? {};
  const comms = new Set(ig.comm ?? []);
  const exes = new Set(ig.executable ?? []);
  const paths = ig.paths?.length ? globMatcher(ig.paths) : undefined;
  p = {
    tags: w.tags ?? [],
    ...(w.severity ? { severity: w.severity } : {}),
    ignored(path, cause, others = []) {
      if (paths) {
        const rel = relative(w.path, path);
        if (rel && !rel.startsWith("..") && paths(rel)) return `path ${rel}`;
      }
      if (!cause) return undefined;
      const why = (e: AttributedEvent) => {
        const exe = e.details?.executable ?? (e.exe?.startsWith("/") ? e.exe : undefined);
        if (exe && exes.has(exe)) return `executable ${exe}`;
        if (comms.has(e.comm)) return `comm ${e.comm}`;
        return undefined;
      };
      const first = why(cause);
      return first && others.every((o) => why(o) !== undefined) ? first : undefined;
    },
  };
  cache.set(w, p);
  return p;
}
