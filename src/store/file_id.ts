/**
 * Which file a path names now, to tell when a database file was deleted or
 * replaced under an open connection.
 *
 * @module
 */

/** The identity ("dev:ino") of the file at `path`, undefined when there is none. */
export function fileId(path: string): string | undefined {
  try {
    const st = Deno.lstatSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
