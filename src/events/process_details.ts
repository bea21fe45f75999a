/**
 * Details about the process behind an event that the kernel event does not
 * carry in full: the executable's path and the cgroup (with a container id
 * when the cgroup path names one). Read from /proc right away, best effort:
 * a process that already exited keeps what the kernel sent (the exe basename).
 *
 * @module
 */

/** What /proc told us about a process. */
export interface ProcessDetails {
  executable?: string;
  cgroup?: string;
  containerId?: string;
}

/** Container runtimes' cgroup names: docker, containerd/CRI, CRI-O, podman. */
const CONTAINER_ID =
  /(?:docker|cri-containerd|crio|libpod)[-/]([0-9a-f]{64})(?:\.scope)?|\/docker\/([0-9a-f]{64})/;

/** The container id in a cgroup path, if any. */
export function containerIdOf(cgroupPath: string): string | undefined {
  const m = CONTAINER_ID.exec(cgroupPath);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The unified (v2) cgroup path from /proc/PID/cgroup text, or the first one. */
export function cgroupPathOf(text: string): string | undefined {
  const lines = text.split("\n").filter((l) => l);
  const v2 = lines.find((l) => l.startsWith("0::"));
  const line = v2 ?? lines[0];
  return line ? line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1) : undefined;
}

const cache = new Map<number, { at: number; exeBase: string; details: ProcessDetails }>();
const CACHE_MS = 2000;

/** Reads details for `tgid`, checking that /proc still shows the same executable. */
export function processDetails(tgid: number, exeBase: string): ProcessDetails {
  const now = Date.now();
  const hit = cache.get(tgid);
  if (hit && hit.exeBase === exeBase && now - hit.at < CACHE_MS) return hit.details;
  const details: ProcessDetails = {};
  try {
    const exe = Deno.readLinkSync(`/proc/${tgid}/exe`).replace(/ \(deleted\)$/, "");
    // The pid may already belong to another program: trust /proc only when the names agree.
    if (!exeBase || exe.endsWith(`/${exeBase}`)) details.executable = exe;
  } catch {
    // exited, or a kernel thread
  }
  try {
    const cg = cgroupPathOf(Deno.readTextFileSync(`/proc/${tgid}/cgroup`));
    if (cg) {
      details.cgroup = cg;
      const id = containerIdOf(cg);
      if (id) details.containerId = id;
    }
  } catch {
    // exited
  }
  if (cache.size > 4096) cache.clear();
  cache.set(tgid, { at: now, exeBase, details });
  return details;
}
