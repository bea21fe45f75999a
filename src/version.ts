/**
 * bpfink's version, read once from deno.json.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** Version reported in the start record, `--version` and the man page (from deno.json). */
export const VERSION: string = denoJson.version;
