/**
 * `bpfink config check FILE`: validates a config and prints every problem
 * as FILE:LINE:COL. It runs exactly the validation `run` does
 * (validate_config.ts), trusted files included.
 *
 * @module
 */
import { validateConfigFile } from "../config/validate_config.ts";

/** Prints problems; returns 0 when the config is valid (warnings allowed), 2 otherwise (as --help says). */
export async function configCheckCommand(file: string): Promise<number> {
  const { config: c, problems } = await validateConfigFile(file);
  for (const line of problems) console.error(line);
  if (!c) return 2;
  console.log(
    `${file}: ok: ${c.watches.length} watches, ${c.outputs.length} outputs, database ${c.database}`,
  );
  return 0;
}
