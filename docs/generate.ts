/**
 * Writes the generated documentation: docs/bpfink.8 (the man page, from the
 * command tree behind `--help`) and docs/config.md (from the config
 * reference). `deno task docs`; test/docs_test.ts fails when they are stale.
 *
 * @module
 */
import { generatedDocs } from "./generated.ts";

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  for (const [file, text] of Object.entries(generatedDocs())) {
    await Deno.writeTextFile(`${root}${file}`, text);
    console.log(`wrote ${file}`);
  }
}
