/**
 * Self-verification: a freshly attached object must catch a write and a
 * rename on a private canary file before bpfink trusts it.
 *
 * @module
 */
import { type FimEvent, FimOp } from "./fim_event.ts";
import type { FimKernel } from "./fim_kernel.ts";
import { kernelIdentity } from "./kernel_identity.ts";
import { DirKeys } from "../watch/kernel_keys.ts";
import { FimWatch } from "./fim_event.ts";

/** The outcome of one canary run. */
export interface CanaryResult {
  ok: boolean;
  /** What was missed, when not ok. */
  reason?: string;
  /** Write → event latency in ms. */
  writeMs?: number;
}

function waitFor(
  events: FimEvent[],
  pred: (e: FimEvent) => boolean,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => {
      if (events.some(pred)) return resolve(true);
      if (Date.now() - t0 > timeoutMs) return resolve(false);
      setTimeout(tick, 2);
    };
    tick();
  });
}

/**
 * Writes to and renames over a canary file in a private temp dir, and checks
 * that `k` reports both. Restores `k.onEvent` and removes every trace after.
 */
export async function runCanary(k: FimKernel, timeoutMs = 2000): Promise<CanaryResult> {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-canary-" });
  const name = `bpfink-canary-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const path = `${dir}/${name}`;
  const seen: FimEvent[] = [];
  const previous = k.onEvent;
  k.onEvent = (e) => seen.push(e);
  let id;
  const keys = new DirKeys(k);
  try {
    await Deno.writeTextFile(path, "canary\n");
    id = kernelIdentity.inodeOf(path, await Deno.stat(path));
    k.watchInode(id, FimWatch.File);
    keys.ref(dir, name);
    const t0 = performance.now();
    const f = await Deno.open(path, { write: true, append: true });
    await f.write(new TextEncoder().encode("write\n"));
    f.close();
    const wrote = await waitFor(
      seen,
      (e) => e.op === FimOp.Write && e.ino === id!.ino && e.dev === id!.dev && e.tgid === Deno.pid,
      timeoutMs,
    );
    const writeMs = performance.now() - t0;
    if (!wrote) return { ok: false, reason: "attached, but missed a write to the canary file" };
    await Deno.writeTextFile(`${dir}/next`, "replacement\n");
    await Deno.rename(`${dir}/next`, path);
    const renamed = await waitFor(
      seen,
      (e) => e.op === FimOp.Rename && e.name === name,
      timeoutMs,
    );
    if (!renamed) {
      return { ok: false, reason: "attached, but missed a rename over the canary file" };
    }
    return { ok: true, writeMs };
  } finally {
    if (id) k.unwatchInode(id);
    keys.unref(dir, name);
    k.onEvent = previous;
    await Deno.remove(dir, { recursive: true });
  }
}
