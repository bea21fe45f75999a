/**
 * What changed in sudoers: rules, `Defaults` settings, aliases, includes
 * and lines bpfink cannot interpret (`sudoers_unparsed_added`) added or
 * removed (by canonical text, so spacing and comments are not
 * changes), aliases redefined, and rules reordered (the last matching rule
 * wins, so order is meaning).
 *
 * @module
 */
import { multisetDiff, orderChanged } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown, type SubjectFields } from "../semantic_change.ts";
import type { SudoersAlias, SudoersEntry } from "./sudoers.ts";
import { WEAKENS_FIELD } from "../../pipeline/severity.ts";
import { aliasWeakens, entryWeakens } from "./_weakens.ts";

/** The `weakens` change for `labels`, when there are any. */
const weakensChange = (labels: string[]) =>
  labels.length > 0 ? [{ field: WEAKENS_FIELD, to: labels }] : [];

/**
 * The uid a `#ID` user names, as sudo reads it (`sudo_strtoid`): `#007` is 7,
 * a negative id wraps to 32 bits (`#-1000` is 4294966296, as cvtsudoers
 * shows), and -1 or one out of range names no one (undefined).
 */
export function sudoersUid(u: string): string | undefined {
  const m = /^#(-?)(\d{1,11})$/.exec(u);
  if (!m) return undefined;
  const v = Number(m[2]) * (m[1] ? -1 : 1);
  if (v < -(2 ** 31) || v > 2 ** 32 - 2 || v === -1) return undefined;
  return String(v < 0 ? 2 ** 32 + v : v);
}
const ALIAS_NAME = /^[A-Z][A-Z0-9_]*$/;

/** The ECS user of a rule when it names exactly one user (not a group, alias or ALL). */
function ruleUser(e: SudoersEntry): SubjectFields | undefined {
  if (e.kind !== "rule" || e.users.length !== 1) return undefined;
  const u = e.users[0];
  const uid = sudoersUid(u);
  if (uid !== undefined) return { user: { id: uid } };
  if (u.startsWith("#")) return undefined;
  if (/^[%+!]/.test(u) || ALIAS_NAME.test(u)) return undefined;
  return { user: { name: u } };
}

const aliasKey = (e: SudoersAlias) => `${e.aliasType} ${e.subject}`;
const entryKey = (e: SudoersEntry) => `${e.kind}|${e.canonical}`;

/**
 * sudoers entries added, removed, redefined (aliases) or reordered (rules and
 * Defaults). A change that takes a sudo protection away carries a `weakens`
 * change (critical): a NOPASSWD rule, a Defaults setting such as
 * `!authenticate`, or an alias added or changed that such a rule or setting
 * uses. `others`: the entries of the other sudoers files, where the rules
 * using this file's aliases may be.
 */
export function diffSudoers(
  before: SudoersEntry[],
  after: SudoersEntry[],
  others: readonly SudoersEntry[] = [],
): SemanticChange[] {
  const out = new ChangeList("sudoers");
  const weakensOf = aliasWeakens([...after, ...others]);
  const aliases = (xs: SudoersEntry[]) =>
    new Map(xs.filter((e): e is SudoersAlias => e.kind === "alias").map((e) => [aliasKey(e), e]));
  const aliasesBefore = aliases(before);
  const aliasesAfter = aliases(after);
  for (const [key, e] of aliasesAfter) {
    const old = aliasesBefore.get(key);
    if (!old || old.value === e.value) continue;
    out.push({
      action: "sudoers_alias_modified",
      subject: e.subject,
      message: `sudo alias ${shown(e.subject)} changed: ${shown(old.value)} → ${shown(e.value)}`,
      changes: [
        { field: "members", from: old.members, to: e.members },
        ...weakensChange(weakensOf(e)),
      ],
      source: { file: e.file, line: e.line },
    });
  }
  // An alias defined on both sides is reported above (or not at all), not as removed + added.
  const stable = (e: SudoersEntry) =>
    e.kind !== "alias" || !(aliasesBefore.has(aliasKey(e)) && aliasesAfter.has(aliasKey(e)));
  const { added, removed } = multisetDiff(before.filter(stable), after.filter(stable), entryKey);
  for (const [list, verb] of [[added, "added"], [removed, "removed"]] as const) {
    for (const e of list) {
      const weakens = e.kind === "alias"
        ? (verb === "added" ? weakensOf(e) : [])
        : entryWeakens(e, verb === "removed");
      const fields = ruleUser(e);
      out.push({
        action: `sudoers_${e.kind}_${verb}`,
        subject: e.kind === "rule" ? e.canonical : e.subject,
        message: e.kind === "unparsed"
          ? `sudoers line bpfink cannot interpret ${verb} (sudo may accept it: ${e.reason}): ${
            shown(e.canonical)
          }`
          : `sudo ${e.kind} ${verb}: ${shown(e.canonical)}`,
        ...(e.kind === "unparsed"
          ? {
            changes: [{
              field: "unparsed",
              ...(verb === "added" ? { to: e.canonical } : { from: e.canonical }),
            }],
          }
          : weakens.length > 0
          ? { changes: weakensChange(weakens) }
          : {}),
        ...(fields ? { fields } : {}),
        source: { file: e.file, line: e.line },
      });
    }
  }
  const ordered = (xs: SudoersEntry[]) =>
    xs.filter((e) => e.kind === "rule" || e.kind === "default");
  if (orderChanged(ordered(before), ordered(after), entryKey, { added, removed })) {
    const first = ordered(after)[0];
    out.always({
      action: "sudoers_rules_reordered",
      message: "sudo rules or Defaults reordered: the last matching one wins",
      ...(first ? { source: { file: first.file } } : {}),
    });
  }
  return out.done();
}
