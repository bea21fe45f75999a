/**
 * How this copy of bpfink was built, for `bpfink --version`. Run from source it says
 * "source"; build.ts rewrites the constant in the bundle it builds dist/bpfink from
 * ("bundle+deno runtime" or "deno compile"), and checks the result.
 *
 * @module
 */

/** "source", "bundle+deno runtime" or "deno compile" (set by build.ts). */
export const BUILD_WAY: string = "source";

/** The `--version` line: version, build way and the Deno runtime underneath. */
export function versionLine(version: string): string {
  return `bpfink ${version} (${BUILD_WAY}; Deno ${Deno.version.deno})`;
}
