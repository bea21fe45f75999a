/**
 * What a person watching the terminal must not miss: a new or changed
 * account with uid 0, a sudo rule that needs no password, any new sudo rule.
 *
 * @module
 */
import type { ChangeEvent } from "../pipeline/change_event.ts";
import { grantsNopasswd } from "../pipeline/severity.ts";

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
  if (a === "sudoers_rule_added" && grantsNopasswd(e.message)) {
    return { label: "NOPASSWD", color: "1;41;97" };
  }
  if (a === "sudoers_rule_added") return { label: "NEW SUDO RULE", color: "1;43;30" };
  return undefined;
}

/** ` [LABEL]` for `e`, colored when `color`; empty when there is nothing to highlight. */
export function highlightText(e: ChangeEvent, color: boolean): string {
  const h = highlightOf(e);
  if (!h) return "";
  return color ? ` \x1b[${h.color}m ${h.label} \x1b[0m` : ` [${h.label}]`;
}
