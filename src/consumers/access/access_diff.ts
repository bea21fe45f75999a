/**
 * What changed in access.conf: rules added or removed (by canonical text),
 * and rules reordered (pam_access stops at the first match, so order is
 * meaning).
 *
 * @module
 */
import type { AccessRule } from "./access_conf.ts";
import { multisetDiff, orderChanged } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";

const key = (r: AccessRule) => r.canonical;

/** access.conf rules added, removed or reordered between two parses of `file`. */
export function diffAccess(
  before: AccessRule[],
  after: AccessRule[],
  file: string,
): SemanticChange[] {
  const { added, removed } = multisetDiff(before, after, key);
  const out = new ChangeList("access");
  out.push(
    ...added.map((r) => ({
      action: "access_rule_added",
      subject: r.canonical,
      message: `access rule added: ${shown(r.canonical)} (${
        r.permission === "+" ? "grants" : "denies"
      } ${shown(r.users)} from ${shown(r.origins)})`,
      source: { file, line: r.line },
    })),
    ...removed.map((r) => ({
      action: "access_rule_removed",
      subject: r.canonical,
      message: `access rule removed: ${shown(r.canonical)}`,
      source: { file, line: r.line },
    })),
  );
  if (orderChanged(before, after, key, { added, removed })) {
    out.always({
      action: "access_rules_reordered",
      message: "access rules reordered: pam_access uses the first matching rule",
      source: { file },
    });
  }
  return out.done();
}
