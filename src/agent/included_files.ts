/**
 * Files another watched file pulls in (sudoers `@include`/`@includedir`, a
 * PAM service's `@include`, `include` and `substack`, a PAM rule's
 * pam_access `accessfile=`) are watched too, with the including
 * file's consumer or the one the include names. Their current
 * content becomes their baseline; the include line itself is what gets
 * reported.
 *
 * @module
 */
import type { ConsumerName, WatchConfig } from "../config/config_types.ts";
import { maxSeverity } from "../pipeline/severity.ts";
import type { IncludedPath } from "../consumers/consumer.ts";
import { log } from "../log.ts";
import { type FileState, readFileState } from "../watch/file_state.ts";
import { resolveTargets } from "../watch/watch_targets.ts";
import type { WatchSet } from "../watch/watch_set.ts";
import { MAX_PARSE_BYTES } from "../pipeline/change_pipeline.ts";
import { watchesForPaths } from "./agent_options.ts";
import type { WatchRules } from "./watch_rules.ts";
import { errorMessage } from "../error_message.ts";
import { isDirectory } from "../pipeline/linked_file.ts";

/** What following an include touches. */
export interface IncludedFilesDeps {
  watch: WatchSet;
  rules: WatchRules;
  /** Whether the baseline has a record of `path`. */
  recorded(path: string): boolean;
  /** Makes `state` the baseline of `path`, silently. */
  adopt(path: string, state: FileState | undefined): void;
  /** True once the agent stops: nothing more is watched. */
  stopped(): boolean;
}

/** Watches included files, one request after the other. */
export class IncludedFiles {
  readonly #deps: IncludedFilesDeps;
  #adding: Promise<void> = Promise.resolve();
  /** The rule each path watched as included has (not the configured watches). */
  readonly #rules = new Map<string, WatchConfig>();

  constructor(deps: IncludedFilesDeps) {
    this.#deps = deps;
  }

  /** Starts watching `paths` (after any earlier request); a failure is logged, not thrown. */
  follow(paths: IncludedPath[], consumer: ConsumerName): void {
    this.#adding = this.#adding.then(() => this.#watch(paths, consumer)).catch((e) =>
      log("watch").warn(`cannot watch included files: ${errorMessage(e)}`)
    );
  }

  /**
   * Holds every request until the returned function is called: a start's
   * first read adds its own targets window by window, and a file it
   * includes that is one of them is watched as the configuration says, not
   * as included.
   */
  hold(): () => void {
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    this.#adding = this.#adding.then(() => gate);
    return release;
  }

  /** Resolves when every request so far is done. */
  idle(): Promise<void> {
    return this.#adding;
  }

  /**
   * A path watched as included already, named again: its severity is the
   * higher of the two (a program a user's job runs, then named by a root
   * job, is root's too), and it stays hash-only once a user's config named
   * it (what a user chose is never quoted). A configured watch is left as
   * configured.
   */
  #raise(p: IncludedPath, consumer: ConsumerName): void {
    const old = this.#rules.get(p.path);
    if (!old) return;
    const severity = p.severity && old.severity
      ? maxSeverity(p.severity, old.severity)
      : p.severity ?? old.severity;
    const raised = severity !== old.severity;
    if (!raised && (old.secret || !p.secret)) return;
    const rule: WatchConfig = { ...old, severity, ...(p.secret ? { secret: true } : {}) };
    this.#deps.rules.add(rule);
    this.#rules.set(p.path, rule);
    log("watch").info(
      `${p.path}, named again by a watched ${consumer} file: now watched` +
        (raised ? ` at ${p.severity}` : "") + (rule.secret ? " by hash only" : ""),
    );
  }

  async #watch(paths: IncludedPath[], consumer: ConsumerName): Promise<void> {
    const { watch, rules } = this.#deps;
    for (const p of paths) {
      if (this.#deps.stopped()) continue;
      if (watch.get(p.path)) {
        this.#raise(p, consumer);
        continue;
      }
      // A file the including one names that is a directory is not listed (`accessfile=/usr`).
      if (!p.dir && isDirectory(p.path)) {
        log("watch").warn(
          `${p.path}, included as a file by a watched ${consumer} file, is a directory: not watched`,
        );
        continue;
      }
      const include = p.dir ? p.include : undefined;
      const reader = p.consumer ?? consumer;
      const rule: WatchConfig = {
        ...watchesForPaths([p.path])[0],
        consumer: reader,
        ...(include ? { include } : {}),
        ...(p.severity ? { severity: p.severity } : {}),
        ...(p.secret ? { secret: true } : {}),
      };
      rules.add(rule);
      this.#rules.set(p.path, rule);
      const r = await resolveTargets([p.path], { include });
      for (const t of [...r.targets, ...r.missing]) {
        if (watch.get(t.path)) continue;
        watch.add(t.path, t.kind, p.path);
        const state = await readFileState(t.path, MAX_PARSE_BYTES);
        watch.setState(t.path, state);
        if (!this.#deps.recorded(t.path)) this.#deps.adopt(t.path, state);
      }
      log("watch").info(
        `watching ${p.path}${reader === consumer ? "" : ` as ${reader}`}, ` +
          `included by a watched ${consumer} file`,
      );
    }
  }
}
