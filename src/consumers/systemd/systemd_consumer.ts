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

/** systemd units. */
export const systemdConsumer: Consumer = {
  name: "systemd",
  snapshot(path: string, text: string, ctx: ConsumerContext): UnitSetting[] {
    const r = parseUnitFile(text);
    reportErrors(path, r.errors, ctx);
    return r.entries;
  },
  diff(path: string, before: unknown, after: unknown) {
    return diffUnit(
      (before as UnitSetting[] | undefined) ?? [],
      (after as UnitSetting[] | undefined) ?? [],
      path,
    );
  },
  // The programs it runs and the environment files it reads: watched as files.
  watchAlso(snapshot: unknown) {
    return unitPrograms(Array.isArray(snapshot) ? snapshot as UnitSetting[] : []);
  },
};
