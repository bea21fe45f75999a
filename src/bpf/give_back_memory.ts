/**
 * Gives back the memory that starting used and idling does not: a full
 * JavaScript garbage collection (the kernel facts, the objects tried, the
 * first baseline's file contents), then glibc's `malloc_trim(0)`, which
 * returns to the kernel the free heap pages libbpf left behind (it parses
 * the kernel's BTF, several MB, once per object tried). Both are best
 * effort: where either is unavailable, nothing happens.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | undefined | null;
let trim: ((pad: bigint) => number) | undefined | null;

function collector(): (() => void) | null {
  if (gc !== undefined) return gc;
  try {
    v8.setFlagsFromString("--expose-gc");
    const f = vm.runInNewContext("gc");
    gc = typeof f === "function" ? f as () => void : null;
  } catch {
    gc = null;
  }
  return gc;
}

function trimmer(): ((pad: bigint) => number) | null {
  if (trim !== undefined) return trim;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    trim = (pad) => libc.symbols.malloc_trim(pad);
  } catch {
    trim = null; // not glibc: its malloc keeps what it keeps
  }
  return trim;
}

/** Collects garbage, then returns free malloc pages to the kernel. */
export function giveBackMemory(): void {
  collector()?.();
  trimmer()?.(0n);
}
