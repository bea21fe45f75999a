/**
 * Compiles one BPF C file into a CO-RE object, the way every object of the
 * project is built (build.ts) and the benches build their floor objects:
 * clang against kernels/build/vmlinux.h and bpf/, warnings as errors, then
 * DWARF stripped (.BTF and .BTF.ext stay: CO-RE needs them).
 *
 * Its own module, small and without the packaging code, so the guest bench
 * payload carries only what compiling needs.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;

/** clang or llvm-strip is missing or failed: the message says what to do. */
export class BpfCompileError extends Error {}

async function tool(cmd: string[]): Promise<void> {
  let out;
  try {
    out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "inherit" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new BpfCompileError(
        `${
          cmd[0]
        } is not installed. Run: bash setup.sh (or apt-get install clang llvm libbpf-dev bpftool)`,
      );
    }
    throw e;
  }
  if (!out.success) throw new BpfCompileError(`${cmd.join(" ")} failed with exit code ${out.code}`);
}

/**
 * Compiles `source` into `object`.
 * @throws {BpfCompileError} when clang or llvm-strip is missing or fails.
 */
export async function compileBpf(source: string, object: string): Promise<void> {
  await tool([
    "clang",
    "-g",
    "-O2",
    "-target",
    "bpf",
    "-D__TARGET_ARCH_x86",
    "-Wall",
    "-Werror",
    `-I${ROOT}kernels/build`,
    `-I${ROOT}bpf`,
    "-c",
    source,
    "-o",
    object,
  ]);
  await tool(["llvm-strip", "-g", object]);
}
