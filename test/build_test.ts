/**
 * build.ts says exactly what is missing when Deno's compile runtime is not at hand.
 */
import { assertEquals, assertIncludes } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";

Deno.test("build.ts binary without denort: one clear message naming DENORT_BIN, exit 1", async () => {
  await using cache = await tempDir("bpfink-denodir-");
  const env: Record<string, string> = {
    DENO_DIR: cache.path,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
  const r = await run(["node_modules/.bin/deno", "run", "-A", "build.ts", "binary"], { env });
  assertEquals(r.code, 1, r.stderr);
  assertIncludes(r.stderr, `deno compile needs Deno's runtime "denort"`);
  assertIncludes(r.stderr, "DENORT_BIN=/path/to/denort deno run -A build.ts binary");
  assertIncludes(r.stderr, "run from source with ./bpfink");
});
