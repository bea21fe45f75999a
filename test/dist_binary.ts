/**
 * dist/bpfink for the tests that use the single file: built by build.ts the way this machine
 * can (bundle + Deno runtime; skipped when it is newer than every input).
 *
 * @module
 */
import { run } from "./helpers.ts";

// As root, dist/bpfink keeps its unpacked runtime in /var/cache/bpfink: the tests' runs do
// not (their processes inherit this), except the one test that checks that cache in a
// directory of its own.
Deno.env.set("BPFINK_RUNTIME_CACHE", "off");

/** Absolute path of dist/bpfink in this checkout. */
export const DIST_BINARY = `${Deno.cwd()}/dist/bpfink`;

/** Builds dist/bpfink if needed; returns its absolute path, or throws with build.ts's words. */
export async function ensureBinary(): Promise<string> {
  const r = await run(
    ["node_modules/.bin/deno", "run", "-A", "build.ts", "binary", "--if-needed"],
    { env: { BPFINK_BUILD_WAY: "bundle" } },
  );
  if (r.code !== 0) throw new Error(`build.ts binary failed: ${r.stderr}`);
  return DIST_BINARY;
}
