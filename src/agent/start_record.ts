/**
 * The start record: the agent's first event, saying which bpfink, kernel,
 * object and libbpf run and how much is watched.
 *
 * @module
 */
import type { FimKernel } from "../kernel/fim_kernel.ts";
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { withEnvelope } from "../pipeline/ecs_event.ts";
import { VERSION } from "../version.ts";
import type { WatchSet } from "../watch/watch_set.ts";
import type { StartupRead } from "./startup_baseline.ts";

/** What the start record tells about. */
export interface StartFacts {
  /** The kernel release. */
  release: string;
  kernel: Pick<FimKernel, "spec" | "attached" | "lost">;
  watch: Pick<WatchSet, "entries" | "size">;
  libbpf: string;
  hostname: string;
  /** Coverage lost outside the kernel object (fanotify unavailable). */
  alsoLost?: string[];
  /** How the startup read of every watched path went. */
  read?: StartupRead;
}

/** The `started` event (host/info, not process/start: rules for process starts must not fire on the agent). */
export function startRecord(
  { release, kernel, watch, libbpf, hostname, alsoLost = [], read }: StartFacts,
): ChangeEvent {
  const { spec } = kernel;
  const files = watch.entries().filter((e) => e.kind === "file" && e.exists).length;
  return withEnvelope({
    "@timestamp": new Date().toISOString(),
    event: {
      id: crypto.randomUUID(),
      action: "started",
      category: ["host"],
      type: ["info"],
      kind: "state",
      module: "bpfink",
      dataset: "bpfink.agent",
    },
    message: `bpfink ${VERSION} on ${release}: ${spec.name} (${spec.object}), ` +
      `watching ${files} files`,
    bpfink: {
      version: VERSION,
      kernel: release,
      strategy: spec.name,
      object: spec.object,
      programs: kernel.attached,
      libbpf,
      coverage_lost: [...kernel.lost.map((l) => l.lost), ...alsoLost],
      watched_files: files,
      watched_paths: watch.size,
      ...(read ? { start_read: read } : {}),
    },
  }, hostname);
}
