/**
 * The systemd consumer: unit files (`*.service`, `*.socket`, `*.timer`,
 * `*.path`, `*.mount`) and their drop-ins (`*.d/*.conf`) in a `systemd`
 * directory. Each file's settings are kept; a change is told setting by
 * setting, a command added as code the unit will run (`unit_diff.ts`), and
 * the programs and environment files it names are watched too
 * (`unit_programs.ts`).
 *
 * @module
 */
import type { Consumer, ConsumerContext } from "../consumer.ts";
import { reportErrors } from "../report_errors.ts";
import { parseUnitFile, type UnitSetting } from "./unit_file.ts";
import { diffUnit } from "./unit_diff.ts";
import { unitPrograms } from "./unit_programs.ts";
import { lastName, parentName, parentPath } from "../../watch/path_names.ts";

/** Where systemd looks for a unit's file and its drop-ins, the first first. */
const UNIT_DIRS = [
  "/etc/systemd/system",
  "/run/systemd/system",
  "/usr/lib/systemd/system",
  "/lib/systemd/system",
];

/**
 * The settings systemd gives the unit that `path` (its file, or a drop-in
 * `x.service.d/y.conf`) belongs to, in the order it applies them, with
 * `now` as `path`'s own: the unit's file (`path`, or for a drop-in the first
 * found where systemd keeps units, after beside the drop-in's directory when
 * that is not one of them), then every drop-in of the unit by name (of one
 * name, the first directory's). Whom the unit runs as is said by the last
 * `User=` of all of them: a unit file with `User=nobody` runs its commands
 * as root where a drop-in says `User=root`. A unit file not found adds
 * nothing (root, the cautious side).
 */
function unitSettings(path: string, now: UnitSetting[], ctx: ConsumerContext): UnitSetting[] {
  const dir = parentName(path);
  const dropIn = dir.endsWith(".d") && path.endsWith(".conf");
  const unit = dropIn ? dir.slice(0, -2) : lastName(path);
  const home = dropIn ? parentPath(parentPath(path)) : parentPath(path);
  // systemd's own directories in their order; another (a user's, a test's) first.
  const dirs = UNIT_DIRS.includes(home) ? UNIT_DIRS : [home, ...UNIT_DIRS];
  const parsed = (file: string) => {
    if (file === path) return now;
    const text = ctx.readFile(file);
    return text === undefined ? undefined : parseUnitFile(text).entries;
  };
  const file = dropIn ? dirs.map((d) => parsed(`${d}/${unit}`)).find((s) => s) : now;
  const settings = [...file ?? []];
  const dropIns = new Map<string, string>();
  if (dropIn) dropIns.set(lastName(path), path);
  for (const d of dirs) {
    for (const name of ctx.readDir(`${d}/${unit}.d`)) {
      if (name.endsWith(".conf") && !dropIns.has(name)) dropIns.set(name, `${d}/${unit}.d/${name}`);
    }
  }
  for (const name of [...dropIns.keys()].sort()) settings.push(...parsed(dropIns.get(name)!) ?? []);
  return settings;
}

/** systemd units. */
export const systemdConsumer: Consumer = {
  name: "systemd",
  snapshot(path: string, text: string, ctx: ConsumerContext): UnitSetting[] {
    const r = parseUnitFile(text);
    reportErrors(path, r.errors, ctx);
    return r.entries;
  },
  diff(path: string, before: unknown, after: unknown, ctx: ConsumerContext) {
    const now = (after as UnitSetting[] | undefined) ?? [];
    return diffUnit(
      (before as UnitSetting[] | undefined) ?? [],
      now,
      path,
      unitSettings(path, now, ctx),
    );
  },
  // The programs the unit runs and the environment files it reads, with its drop-ins' say on
  // whom as (a drop-in's User=root makes the file's programs root's): watched as files.
  watchAlso(snapshot: unknown, path?: string, ctx?: ConsumerContext) {
    const own = Array.isArray(snapshot) ? snapshot as UnitSetting[] : [];
    return unitPrograms(path && ctx ? unitSettings(path, own, ctx) : own);
  },
};
