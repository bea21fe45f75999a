/**
 * How serious a change is: ECS `event.severity` (a number) and the level
 * name beside it (`bpfink.severity`, also a Loki label). The numbers follow
 * Elastic's risk scale (21 low, 47 medium, 73 high, 99 critical), so rules
 * can sort and filter on them.
 *
 * @module
 */

/** Level names, least serious first. */
export const SEVERITY_LEVELS = ["info", "low", "medium", "high", "critical"] as const;
/** A level name. */
export type SeverityLevel = typeof SEVERITY_LEVELS[number];

/** `event.severity` of each level. */
export const SEVERITY_NUMBER: Readonly<Record<SeverityLevel, number>> = {
  info: 1,
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
};

/** What the default level looks at. */
export interface SeverityInput {
  action: string;
  message?: string;
  /** The account acted upon (IAM events). */
  target?: { id?: string; name?: string };
  changes?: { field: string; to?: unknown }[];
  group?: { id?: string; name?: string };
}

/** A sudo rule that lets its user run commands without a password. */
export function grantsNopasswd(message: string | undefined): boolean {
  return /\bNOPASSWD\s*:/.test(message ?? "");
}

/**
 * The default level of an event. Which groups are privileged is the groups
 * consumer's to say (by gid, from the group file: `privileged_gids.ts`):
 * its events carry their level, and the levels here are for events
 * without one.
 */
export function defaultSeverity(e: SeverityInput): SeverityLevel {
  const toUid0 = e.changes?.some((c) => c.field === "uid" && (c.to === 0 || c.to === "0"));
  switch (e.action) {
    case "started":
    case "heartbeat":
      return "info";
    case "baseline_reset":
    case "key_changed":
    case "self_test_failed":
      return "high";
    case "attributes_changed":
      return "low";
    case "created":
    case "modified":
    case "replaced":
    case "deleted":
      return "medium";
    case "user_added":
      return e.target?.id === "0" || toUid0 ? "critical" : "high";
    case "user_modified":
      return toUid0 ? "critical" : "high";
    case "password_removed":
      return "critical";
    case "group_member_added":
    case "group_admin_added":
    case "group_gid_gained":
      return e.group?.id === "0" ? "critical" : "high";
    case "sudoers_rule_added":
      return grantsNopasswd(e.message) ? "critical" : "high";
    case "sudoers_default_removed":
    case "sudoers_include_added":
    case "sudoers_alias_added":
    case "sudoers_alias_modified":
    case "access_rule_added":
      return "high";
  }
  if (e.action.endsWith("_not_itemized")) return "high";
  return "medium";
}
