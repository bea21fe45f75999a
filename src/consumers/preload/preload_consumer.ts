/**
 * The preload consumer: /etc/ld.so.preload. Each object it names is loaded
 * into every program started after the change, root's included, so an
 * object added is critical; one removed is medium.
 *
 * @module
 */
import { preloadEntries } from "./ld_so_preload.ts";
import type { Consumer } from "../consumer.ts";
import { multisetDiff } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";

/** The objects added to or removed from a preload list. */
export function diffPreload(before: string[], after: string[], file: string): SemanticChange[] {
  const { added, removed } = multisetDiff(before, after, (x) => x);
  const out = new ChangeList("preload");
  out.push(
    ...added.map((x): SemanticChange => ({
      action: "preload_added",
      subject: x,
      message: `library preloaded into every program: ${shown(x)}`,
      changes: [{ field: "preload", to: x }],
      source: { file },
      severity: "critical",
    })),
    ...removed.map((x): SemanticChange => ({
      action: "preload_removed",
      subject: x,
      message: `library no longer preloaded: ${shown(x)}`,
      changes: [{ field: "preload", from: x }],
      source: { file },
      severity: "medium",
    })),
  );
  return out.done();
}

/** /etc/ld.so.preload. */
export const preloadConsumer: Consumer = {
  name: "preload",
  snapshot(_path: string, text: string, _ctx, bytes?: Uint8Array): string[] {
    return preloadEntries(bytes ?? new TextEncoder().encode(text));
  },
  diff(path: string, before: unknown, after: unknown) {
    return diffPreload(
      (before as string[] | undefined) ?? [],
      (after as string[] | undefined) ?? [],
      path,
    );
  },
};
