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
import { parentName, parentPath } from "../../watch/path_names.ts";

/** Where systemd looks for a unit's file, after the directory its drop-in is in. */
const UNIT_DIRS = [
  "/etc/systemd/system",
  "/run/systemd/system",
  "/usr/lib/systemd/system",
  "/lib/systemd/system",
];

/**
 * For a drop-in (`x.service.d/y.conf`), the settings of its unit's file, the
 * first found beside its directory or where systemd keeps units: whom the
 * unit runs as is said there. None for a unit file, or when none is found
 * (its commands are then taken to run as root, the cautious side).
 */
function dropInUnit(path: string, ctx: ConsumerContext): UnitSetting[] {
  const dir = parentName(path);
  if (!dir.endsWith(".d")) return [];
  const unit = dir.slice(0, -2);
  for (const d of [parentPath(parentPath(path)), ...UNIT_DIRS]) {
    const text = ctx.readFile(`${d}/${unit}`);
    if (text !== undefined) return parseUnitFile(text).entries;
  }
  return [];
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
    return diffUnit(
      (before as UnitSetting[] | undefined) ?? [],
      (after as UnitSetting[] | undefined) ?? [],
      path,
      dropInUnit(path, ctx),
    );
  },
  // The programs it runs and the environment files it reads: watched as files.
  watchAlso(snapshot: unknown) {
    return unitPrograms(Array.isArray(snapshot) ? snapshot as UnitSetting[] : []);
  },
};
