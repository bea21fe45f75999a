/**
 * `bpfink check --config FILE`: an AIDE-style one-shot comparison of the
 * disk with the recorded baseline, for cron and CI. Reads only: the
 * baseline is not updated and nothing is sent to the outputs. Exit 0 when
 * nothing differs, 1 when something does, 2 when it cannot compare.
 *
 * @module
 */
import { AgentError } from "../agent/agent_error.ts";
import { formatProblems, loadConfig } from "../config/load_config.ts";
import { attributeChanges } from "../consumers/generic.ts";
import { classify } from "../watch/file_monitor.ts";
import type { FileAction } from "../pipeline/file_change.ts";
import { shown } from "../consumers/semantic_change.ts";
import { BaselineStore } from "../store/baseline_store.ts";
import { digestsUnkeyed, recordedState } from "../store/attrs_digest.ts";
import { readFileState } from "../watch/file_state.ts";
import {
  madeWhileWatched,
  resolveTargets,
  topsOf,
  under,
  watchedTopsIn,
} from "../watch/watch_targets.ts";
import { hashIsSecret, keyedState } from "../consumers/secret_files.ts";
import { consumerContext } from "../consumers/consumer_context.ts";
import type { ConsumerContext } from "../consumers/consumer.ts";
import { MAX_PARSE_BYTES } from "../pipeline/change_pipeline.ts";
import { watchPolicy } from "../pipeline/watch_policy.ts";
import { loadHostKey } from "../store/host_key.ts";
import { keyXattrDigests } from "../watch/extra_attrs.ts";
import { FIRST_BASELINE_KEY } from "../agent/startup_baseline.ts";

/** Options of `bpfink check`. */
export interface CheckCommandOptions {
  config: string;
  json?: boolean;
}

/** One difference between disk and baseline. */
export interface Difference {
  action: FileAction;
  path: string;
  changes: { field: string; from: unknown; to: unknown }[];
}

/** Compares every watched path with the baseline in the config's database. */
export async function compareWithBaseline(configPath: string): Promise<Difference[]> {
  const loaded = await loadConfig(configPath);
  if (!loaded.config) {
    throw new AgentError(
      `invalid config:\n${formatProblems(configPath, loaded).join("\n")}`,
      2,
    );
  }
  const cfg = loaded.config;
  try {
    Deno.statSync(cfg.database);
  } catch {
    throw new AgentError(
      `no baseline at ${cfg.database}: run "bpfink run" once to record it`,
      2,
    );
  }
  // The baseline's xattr digests are keyed by the host key: without it they cannot compare.
  const hostKey = loadHostKey(cfg.keyFile);
  if (hostKey) keyXattrDigests(hostKey);
  let context: ConsumerContext | undefined;
  const ctx = () => {
    if (context) return context;
    if (!hostKey) {
      throw new AgentError(
        `no host key at ${cfg.keyFile}: the fingerprints of secret and password files cannot ` +
          `be compared without the key the baseline was made with`,
        2,
      );
    }
    return context = consumerContext(hostKey, () => {});
  };
  let store: BaselineStore;
  try {
    store = BaselineStore.open(cfg.database, { readOnly: true });
  } catch (e) {
    // Cannot compare (in use, unreadable, corrupt): 2, never 1 ("differences found").
    if (e instanceof AgentError) throw new AgentError(e.message, 2);
    throw e;
  }
  try {
    if (store.meta(FIRST_BASELINE_KEY) !== undefined) {
      throw new AgentError(
        `the first baseline in ${cfg.database} did not finish (bpfink stopped during it): ` +
          `run "bpfink run" to take it again`,
        2,
      );
    }
    const recorded = new Set(store.paths());
    // A baseline of an older bpfink's (unkeyed xattr digests), or no host key to make digests
    // that compare with the baseline's: attrs are compared by all but those.
    const unkeyed = !hostKey || digestsUnkeyed((k) => store.meta(k), recorded.size);
    if (recorded.size === 0) {
      throw new AgentError(`the baseline in ${cfg.database} is empty: run "bpfink run" first`, 2);
    }
    const out: Difference[] = [];
    const watchedBefore = watchedTopsIn((k) => store.meta(k));
    const seen = new Set<string>();
    for (const w of cfg.watches) {
      const policy = watchPolicy(w);
      const r = await resolveTargets([w.path], {
        recursive: w.recursive,
        include: w.include,
        exclude: w.exclude,
      });
      const top = topsOf([...r.targets, ...r.missing]).get(w.path) ?? w.path;
      for (const t of r.targets) {
        seen.add(t.path);
        if (policy.ignored(t.path, undefined)) continue;
        const rec = store.get(t.path);
        // Secret and password files are recorded with a keyed fingerprint, not their sha256.
        const keyed = hashIsSecret(t.path, w.secret);
        const read = await readFileState(t.path, keyed ? MAX_PARSE_BYTES : 0).catch(() =>
          undefined
        );
        const state = keyed ? keyedState(read, ctx()) : read;
        // A path the baseline never saw counts as created only below a directory its watch
        // recorded, or where the last start watched it (as the daemon's next start decides).
        if (!rec && !(state && madeWhileWatched(t.path, top, recorded, watchedBefore))) continue;
        const before = rec ? recordedState(rec, state, unkeyed) : undefined;
        const action = classify(t.kind, before, state);
        if (!action) continue;
        out.push({
          action,
          path: t.path,
          changes: before && state && action !== "replaced" ? attributeChanges(before, state) : [],
        });
      }
      // Recorded under this watch but gone from the disk.
      for (const p of recorded) {
        if (seen.has(p) || !under(p, top)) continue;
        if (policy.ignored(p, undefined)) continue;
        try {
          Deno.lstatSync(p);
        } catch {
          seen.add(p);
          out.push({ action: "deleted", path: p, changes: [] });
        }
      }
    }
    return out;
  } finally {
    store.close();
  }
}

/** Runs the check; returns 0 (same), 1 (differences) or throws (2). */
export async function checkCommand(opts: CheckCommandOptions): Promise<number> {
  const diffs = await compareWithBaseline(opts.config);
  const enc = new TextEncoder();
  const lines = opts.json
    ? diffs.map((d) => JSON.stringify(d))
    : diffs.map((d) =>
      `${d.action.padEnd(18)} ${shown(d.path)}${
        d.changes.length
          ? `  (${
            d.changes.map((c) => `${c.field} ${shown(String(c.from))} → ${shown(String(c.to))}`)
              .join(", ")
          })`
          : ""
      }`
    );
  if (!opts.json) {
    lines.push(
      diffs.length
        ? `${diffs.length} difference${diffs.length === 1 ? "" : "s"} from the baseline`
        : "no differences from the baseline",
    );
  }
  if (lines.length) Deno.stdout.writeSync(enc.encode(lines.join("\n") + "\n"));
  return diffs.length ? 1 : 0;
}
