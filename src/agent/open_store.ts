/**
 * Opens the baseline database the agent runs with: the configured one, or
 * (interactive mode) a temporary one on disk, removed when the agent stops,
 * so the baseline and the text kept for line diffs live in SQLite's file,
 * not in the process's memory.
 *
 * @module
 */
import {
  type BaselineReset,
  BaselineStore,
  type StoreFaults,
  type StoreOptions,
} from "../store/baseline_store.ts";

/** An open store and how to let go of it. */
export interface OpenedStore {
  store: BaselineStore;
  /** Closes the store and removes the temporary database, if any. Idempotent. */
  close(): void;
}

/**
 * Opens `database`, or a temporary one when it is undefined; `faults` hears of write faults,
 * `onReset` of a database found unusable while running and rebuilt; `limits` bound what it
 * keeps (outbox_budget.ts, owner_text.ts).
 */
export function openStore(
  database: string | undefined,
  faults: StoreFaults,
  onReset?: (reset: BaselineReset) => void,
  limits: Pick<StoreOptions, "outboxMaxBytes" | "userTextMaxBytes"> = {},
): OpenedStore {
  const tempDir = database ? undefined : Deno.makeTempDirSync({ prefix: "bpfink-db-" });
  const dropTemp = () => tempDir && Deno.removeSync(tempDir, { recursive: true });
  let store: BaselineStore;
  try {
    store = BaselineStore.open(database ?? `${tempDir}/baseline.db`, {
      faults,
      temporary: !database,
      onReset: database ? onReset : undefined,
      ...limits,
    });
  } catch (e) {
    dropTemp();
    throw e;
  }
  let closed = false;
  return {
    store,
    close() {
      if (closed) return;
      closed = true;
      store.close();
      dropTemp();
    },
  };
}
