/**
 * What a person watching the terminal must not miss: a new or changed
 * account with uid 0, a change that takes a sudo protection away (a
 * NOPASSWD rule, `Defaults !authenticate`, an alias a NOPASSWD rule uses,
 * or a summary that counts one), any new sudo rule.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { weakenedBy } from "../pipeline/severity.ts";

/** A highlight: a short label and its SGR color code. */
export interface Highlight {
  label: string;
  color: string;
}

/** The highlight of `e`, if it needs one. */
export function highlightOf(e: ChangeEvent): Highlight | undefined {
  const a = e.event.action;
  const changes = (e.bpfink?.changes ?? []) as { field?: string; to?: unknown }[];
  const toUid0 = changes.some((c) => c.field === "uid" && (c.to === 0 || c.to === "0"));
  if ((a === "user_added" || a === "user_modified") && (e.user?.target?.id === "0" || toUid0)) {
    return { label: "UID 0", color: "1;41;97" };
  }
  const weakens = weakenedBy({
    action: a,
    message: e.message,
    changes: changes as { field: string; to?: unknown }[],
  });
  if (weakens.length > 0) return { label: weakens.join(", "), color: "1;41;97" };
  if (a === "sudoers_rule_added") return { label: "NEW SUDO RULE", color: "1;43;30" };
  return undefined;
}

/** ` [LABEL]` for `e`, colored when `color`; empty when there is nothing to highlight. */
export function highlightText(e: ChangeEvent, color: boolean): string {
  const h = highlightOf(e);
  if (!h) return "";
  return color ? ` \x1b[${h.color}m ${h.label} \x1b[0m` : ` [${h.label}]`;
}
