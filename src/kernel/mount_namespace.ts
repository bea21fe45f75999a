/**
 * Which mount namespaces' tables the agent reads, by the inode number nsfs
 * gives each (`/proc/PID/ns/mnt`): the kernel's mount events carry the
 * number of the namespace a mount changed (bpf/fim_common.bpf.h).
 *
 * @module
 */

/**
 * The inode numbers of the mount namespaces whose tables the agent reads: its
 * own, and the host's (`hostPid`'s, as hostMountTable). The kernel's mount
 * events say which namespace a mount changed by this number.
 */
export function readMountNamespaces(
  hostPid = Number(Deno.env.get("BPFINK_HOST_PID") ?? 1),
): Set<bigint> {
  const all = new Set<bigint>();
  for (const pid of ["self", String(hostPid)]) {
    try {
      all.add(BigInt(Deno.statSync(`/proc/${pid}/ns/mnt`).ino ?? 0));
    } catch {
      // not readable: mounts there are not told from others'
    }
  }
  all.delete(0n);
  return all;
}
