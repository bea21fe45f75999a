/**
 * `bpf_obj_get_info_by_fd`: the kernel's description of a loaded BPF
 * object (a program's `struct bpf_prog_info`, a map's `struct
 * bpf_map_info`), of which the caller names how many leading bytes it reads.
 *
 * @module
 */
import type { Libbpf } from "./libbpf.ts";

/** The first `len` bytes of the info of BPF object `fd`, or libbpf's negative error code. */
export function objInfoByFd(lib: Libbpf, fd: number, len: number): DataView | number {
  const info = new Uint8Array(len);
  const size = new Uint32Array([len]);
  const rc = lib.sym.bpf_obj_get_info_by_fd(fd, info, new Uint8Array(size.buffer));
  return rc < 0 ? rc : new DataView(info.buffer);
}
