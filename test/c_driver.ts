/**
 * Compiles a small C program that drives a header of bpfink's (a test's
 * driver), with the warnings the build treats as errors.
 *
 * @module
 */
import { assert } from "./assert.ts";

/**
 * Compiles `source` in `dir` against the headers in `include` as the build
 * compiles (-O2, warnings as errors); the executable's path.
 */
export async function compileDriver(dir: string, source: string, include: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/driver.c`, source);
  const exe = `${dir}/driver`;
  const cc = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-Wextra", "-Werror", `-I${include}`, "-o", exe, `${dir}/driver.c`],
  }).output();
  assert(cc.success, new TextDecoder().decode(cc.stderr));
  return exe;
}
