/**
 * Whether this process runs in the initial user namespace: the kernel gives
 * that namespace the fixed inode number PROC_USER_INIT_INO (0xEFFFFFFD) in
 * nsfs, which /proc/self/ns/user resolves to.
 *
 * @module
 */

/** PROC_USER_INIT_INO (include/linux/proc_ns.h). */
const PROC_USER_INIT_INO = 0xeffffffd;

/** True when this process is in the initial user namespace; false when it is not or /proc cannot tell. */
export function inInitialUserNamespace(): boolean {
  try {
    return Deno.statSync("/proc/self/ns/user").ino === PROC_USER_INIT_INO;
  } catch {
    return false;
  }
}
