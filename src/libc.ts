/**
 * libc through Deno.dlopen, for the modules that make system calls Deno does
 * not offer: each declares the symbols it needs and gets them opened on first
 * use, with the calling thread's errno. The open(2)/statx(2) flags they share
 * are here too (x86_64 values).
 *
 * @module
 */

/** Symbols a libc user declares: its own, and `__errno_location` for errno. */
export type LibcSymbols = Deno.ForeignLibraryInterface & {
  __errno_location: { parameters: readonly []; result: "pointer" };
};

/** libc with `symbols`, opened on first call, and errno (read right after a failed call). */
export function lazyLibc<const S extends LibcSymbols>(symbols: S): {
  libc: () => Deno.DynamicLibrary<S>["symbols"];
  errno: () => number;
} {
  let lib: Deno.DynamicLibrary<S> | undefined;
  let errnoPtr: Deno.PointerValue = null;
  return {
    libc() {
      if (!lib) {
        lib = Deno.dlopen("libc.so.6", symbols);
        errnoPtr = (lib.symbols.__errno_location as () => Deno.PointerValue)();
      }
      return lib.symbols;
    },
    errno: () => errnoPtr ? new Deno.UnsafePointerView(errnoPtr).getInt32() : 0,
  };
}

/** open(2) flags. */
export const O_RDONLY = 0;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_LARGEFILE = 0o100000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
/** *at(2) arguments. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
