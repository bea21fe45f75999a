/**
 * The file a watched symlink points at, for a symlink read by meaning: a
 * unit enabled by a link in `multi-user.target.wants/`, or one linked into
 * `/etc/systemd/system` from elsewhere (`systemctl link /opt/x.service`),
 * is the target's content to systemd; so is an included file or a crontab
 * that is a link. Watching the link alone, a rewrite of the target (by
 * whoever may write it) went unseen. The target is watched with the link's
 * consumer; a target that is a link itself is followed in turn when it is
 * read. Only a link root owns is followed: anyone may make a link named
 * as a config in a directory of theirs, pointing at a file of root's that
 * the consumer would then quote.
 *
 * @module
 */
import { normalize } from "node:path/posix";
import type { IncludedPath } from "../consumers/consumer.ts";
import type { FileState } from "../watch/file_state.ts";
import { parentPath } from "../watch/path_names.ts";

/** Whether `path` is a directory, through symlinks (false when it cannot be told). */
export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * What the symlink at `path` (its state `state`) points at, as a path to
 * watch: the target from the link's directory when relative, lexically
 * normalised. Undefined for anything but a link root owns with a target.
 */
export function linkedFile(path: string, state: FileState): IncludedPath | undefined {
  const target = state.linkTarget;
  if (state.type !== "symlink" || state.uid !== 0 || !target || target.includes("\0")) {
    return undefined;
  }
  const linked = normalize(target.startsWith("/") ? target : `${parentPath(path)}/${target}`);
  if (linked === path || linked === "/") return undefined;
  return { path: linked, dir: isDirectory(linked) };
}
