/**
 * The services a change to a PAM file opens or closes through their
 * includes: `common-auth` is read into `sshd`, `login`, `su` and most
 * others, so what a change to it does is decided in each of them, with
 * the lines around their `@include`, not in it alone. Each file of the
 * changed file's directory that includes others is worked out with the
 * changed file as it was and as it is (`authPassesWithoutPassword`).
 *
 * @module
 */
import { includedFilesOf, type PamLine, parsePamConf } from "./pam_conf.ts";
import { authPassesWithoutPassword, type PamReader } from "./pam_stack.ts";
import { lastName, parentPath } from "../../watch/path_names.ts";

/** The most files of the directory looked at: /etc/pam.d holds about 50 on Debian. */
export const MAX_SERVICES = 512;

/** Services, by file name, whose auth a change opened and closed. */
export interface ServicesChanged {
  opened: string[];
  closed: string[];
}

/**
 * The other services of `file`'s directory whose auth stack lets in a
 * caller who knows no password after the change of `file` from `before` to
 * `after` (undefined: missing) and did not before (`opened`), or the other
 * way round (`closed`). `list` names the directory's files, `readFile`
 * reads one.
 */
export function servicesChanged(
  file: string,
  before: PamLine[] | undefined,
  after: PamLine[] | undefined,
  list: (dir: string) => string[],
  readFile: PamReader,
): ServicesChanged {
  const out: ServicesChanged = { opened: [], closed: [] };
  const dir = parentPath(file);
  // Each file is read once, however many services include it.
  const contents = new Map<string, ReturnType<PamReader>>();
  const read: PamReader = (p) => {
    if (!contents.has(p)) contents.set(p, readFile(p));
    return contents.get(p);
  };
  for (const name of list(dir).slice(0, MAX_SERVICES)) {
    const path = `${dir}/${name}`;
    if (path === file) continue;
    const content = read(path);
    if (content === undefined || content === null) continue;
    const lines = parsePamConf(content).entries;
    // A file that includes none cannot read the changed one.
    if (includedFilesOf(lines).length === 0) continue;
    const was = authPassesWithoutPassword(lines, read, undefined, new Map([[file, before]]));
    const is = authPassesWithoutPassword(lines, read, undefined, new Map([[file, after]]));
    if (is && !was) out.opened.push(lastName(path));
    if (was && !is) out.closed.push(lastName(path));
  }
  return out;
}
