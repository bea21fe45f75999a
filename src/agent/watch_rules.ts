/**
 * The configured watch rules: which paths to watch at start, which rule a
 * watched path falls under (its consumer, secrecy, diff size, ignore
 * policy), whether a file found later in a watched directory passes that
 * directory's include/exclude globs, and the count of changes ignore rules
 * kept from being reported.
 *
 * @module
 */
import { relative } from "node:path";
import { CONFIG_DEFAULTS } from "../config/config_defaults.ts";
import type { ConsumerName, WatchConfig } from "../config/config_types.ts";
import type { PathRule } from "../pipeline/change_pipeline.ts";
import { consumerNameFor } from "../consumers/registry.ts";
import { watchPolicy } from "../pipeline/watch_policy.ts";
import type { FileChange } from "../pipeline/file_change.ts";
import { log } from "../log.ts";
import { LabeledCounter, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import { pathFilter } from "../watch/glob.ts";
import { resolveTargets, type WatchTarget } from "../watch/watch_targets.ts";
import { AgentError } from "./agent_error.ts";

/** Where a watched path comes from: the root of the rule it was found under. */
export interface RootLookup {
  get(path: string): { root: string } | undefined;
}

/** The paths the rules name now: those that exist and those that do not (yet). */
export interface StartTargets {
  targets: WatchTarget[];
  missing: WatchTarget[];
}

/**
 * Expands every rule to the paths it names now (warnings are logged).
 *
 * @throws {AgentError} (exit code 2) when none of the paths exist.
 */
export async function resolveWatches(watches: readonly WatchConfig[]): Promise<StartTargets> {
  const targets: WatchTarget[] = [];
  const missing: WatchTarget[] = [];
  for (const w of watches) {
    const r = await resolveTargets([w.path], {
      recursive: w.recursive,
      include: w.include,
      exclude: w.exclude,
    });
    for (const m of r.warnings) log("watch").warn(m);
    targets.push(...r.targets);
    missing.push(...r.missing);
  }
  if (targets.length === 0) {
    throw new AgentError(
      `none of the paths exist: ${watches.map((w) => w.path).join(", ")}`,
      2,
    );
  }
  return { targets, missing };
}

/** The watch rules by root path, with the lookups the monitor and the pipeline need. */
export class WatchRules {
  readonly #rules = new Map<string, WatchConfig>();
  /** Matchers of each configured directory's include/exclude globs, by root. */
  readonly #admitters = new Map<string, (path: string, isDir: boolean) => boolean>();
  readonly #roots: RootLookup;
  /** The rules ruleFor hands out, by watch (undefined: no watch) and consumer. */
  readonly #shared = new Map<WatchConfig | undefined, Map<ConsumerName, PathRule>>();
  #last?: { path: string; w: WatchConfig | undefined; rule: PathRule };
  readonly #ignored = new LabeledCounter(
    "bpfink_events_ignored_total",
    "Changes an ignore rule kept from being reported (baseline still updated), by rule kind.",
    ["reason"],
  );

  /** `roots` tells which rule's root a watched path was found under (the watch set). */
  constructor(watches: readonly WatchConfig[], roots: RootLookup) {
    this.#roots = roots;
    for (const w of watches) this.#rules.set(w.path, w);
  }

  /** Registers `bpfink_events_ignored_total`. */
  register(metrics: MetricsRegistry): void {
    metrics.add(this.#ignored);
  }

  /** Counts and logs change `c`, which ignore rule `why` kept from being reported. */
  ignored(c: FileChange, why: string): void {
    this.#ignored.inc({ reason: why.split(" ")[0] });
    log("consumer").debug(`${c.path} ${c.action}: not reported (ignore rule: ${why})`);
  }

  /** Adds a rule for a path found later (an included file); replaces one with the same root. */
  add(rule: WatchConfig): void {
    const old = this.#rules.get(rule.path);
    if (old) this.#shared.delete(old);
    this.#rules.set(rule.path, rule);
    this.#admitters.delete(rule.path);
  }

  /**
   * The rule for watched `path`: its root's, or the defaults for a path under
   * no rule. Rules are shared (one per watch and consumer) and must not be
   * changed; the pipeline asks several times per file, so the last answer is
   * kept.
   */
  ruleFor(path: string): PathRule {
    const root = this.#roots.get(path)?.root;
    const w = root ? this.#rules.get(root) : undefined;
    const last = this.#last;
    if (last?.path === path && last.w === w) return last.rule;
    const consumer = w?.consumer ?? consumerNameFor(path);
    let byConsumer = this.#shared.get(w);
    if (!byConsumer) this.#shared.set(w, byConsumer = new Map());
    let rule = byConsumer.get(consumer);
    if (!rule) {
      rule = Object.freeze({
        consumer,
        secret: w?.secret ?? false,
        diffMaxBytes: w?.diffMaxBytes ?? CONFIG_DEFAULTS.diffMaxBytes,
        diffPrivate: w?.diffPrivate ?? false,
        policy: watchPolicy(w),
        byName: w?.consumer === undefined,
      });
      byConsumer.set(consumer, rule);
    }
    this.#last = { path, w, rule };
    return rule;
  }

  /**
   * Whether `path`, an entry of a directory watched under configured `root`,
   * is read by a program for what its name means, or named by a rule of its
   * own: a rule names the path itself, or a semantic consumer reads it (the
   * one configured for `root`, or the one its name gives: `authorized_keys`,
   * a cron.d file cron runs). Such a name is never only counted in a churn.
   */
  readByName(root: string, path: string): boolean {
    if (this.#rules.has(path)) return true;
    const configured = this.#rules.get(root)?.consumer;
    return (configured !== undefined && configured !== "generic") ||
      consumerNameFor(path) !== "generic";
  }

  /**
   * Whether `path`, found later under configured `root`, passes its
   * include/exclude globs (a directory passes when an include glob can
   * match below it: it is walked for files that match).
   */
  admits(root: string, path: string, isDir = false): boolean {
    let admit = this.#admitters.get(root);
    if (!admit) {
      const w = this.#rules.get(root);
      if (!w?.include?.length && !w?.exclude?.length) return true;
      let top = root;
      try {
        top = Deno.realPathSync(root);
      } catch { /* gone: match against the configured path */ }
      const filter = pathFilter(w.include, w.exclude);
      admit = (p, dir) => {
        const rel = relative(top, p);
        return filter.includes(rel, dir) && !filter.excludes(rel);
      };
      this.#admitters.set(root, admit);
    }
    return admit(path, isDir);
  }
}
