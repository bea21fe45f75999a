/**
 * `bpfink config check FILE`: validates a config and prints every problem
 * as FILE:LINE:COL.
 *
 * @module
 */
import { formatProblems, loadConfig } from "../config/load_config.ts";

/** Prints problems; returns 0 when the config is valid (warnings allowed), 2 otherwise (as --help says). */
export async function configCheckCommand(file: string): Promise<number> {
  const loaded = await loadConfig(file);
  for (const line of formatProblems(file, loaded)) console.error(line);
  if (!loaded.config) return 2;
  const c = loaded.config;
  console.log(
    `${file}: ok: ${c.watches.length} watches, ${c.outputs.length} outputs, database ${c.database}`,
  );
  return 0;
}
