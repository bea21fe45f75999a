/**
 * The generated documentation, file by file (see generate.ts).
 *
 * @module
 */
import { VERSION } from "../src/version.ts";
import { configReferenceMarkdown } from "../src/config/config_reference.ts";
import { manPage } from "../src/cli/man_page.ts";
import { buildCli, MANUAL } from "../src/main.ts";

/** Path (relative to the project root) → content. */
export function generatedDocs(): Record<string, string> {
  return {
    "docs/bpfink.8": manPage(buildCli(() => {}), MANUAL, VERSION),
    "docs/config.md": "# Configuration reference\n\n" +
      "Generated from `src/config/config_reference.ts` by `deno task docs`; the tests check that " +
      "it lists every key the loader accepts and that every example loads.\n\n" +
      configReferenceMarkdown() + "\n",
  };
}
