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
  changes?: { field: string; from?: unknown; to?: unknown }[];
  group?: { id?: string; name?: string };
}

/** Mode bits whose gain gives a file away: setuid, setgid, and write for any user. */
const GIVING_MODE_BITS = 0o6002;

/**
 * Whether an attribute change gives the file away: its mode (octal text, as
 * `bpfink.changes` has it) gains setuid, setgid or others' write, or root's
 * file gets another owner, who can then write it (`chown nobody /etc/passwd`).
 */
export function givesAway(changes: SeverityInput["changes"]): boolean {
  for (const c of changes ?? []) {
    if (c.field === "mode") {
      const from = parseInt(String(c.from), 8);
      const to = parseInt(String(c.to), 8);
      if (Number.isInteger(from) && Number.isInteger(to) && (to & ~from & GIVING_MODE_BITS)) {
        return true;
      }
    }
    if (c.field === "uid" && Number(c.from) === 0 && c.to !== undefined && Number(c.to) !== 0) {
      return true;
    }
  }
  return false;
}

/**
 * The `changes` entry of an `attributes_changed` whose content the kernel
 * saw written and the re-read found as before (written and put back).
 */
export const WRITTEN_BACK = { field: "content", from: null, to: "written, as before" } as const;

/** The `changes` entry naming a file's capabilities after an xattr change (getcap's text). */
export function capabilitiesChange(caps: string) {
  return { field: "capabilities", from: null, to: caps || "none" } as const;
}

/**
 * The `changes` fields naming who an ACL change lets write a file, or read a
 * secret one (attr_changes.ts): each makes the event high.
 */
export const GRANT_FIELDS: ReadonlySet<string> = new Set(["acl_grants", "default_acl_grants"]);

/** A sudo rule that lets its user run commands without a password. */
export function grantsNopasswd(message: string | undefined): boolean {
  return /\bNOPASSWD\s*:/.test(message ?? "");
}

/**
 * The `changes` field that names the sudo protections a change takes away
 * (`NOPASSWD`, `!authenticate`, `env_keep LD_PRELOAD`, ...): set by the
 * sudoers differ on a rule, a `Defaults` setting, or an alias the rules
 * using it make dangerous.
 */
export const WEAKENS_FIELD = "weakens";

/**
 * The sudo protections `e` takes away: its `weakens` change, or, for a rule
 * added without one (an event from an older version), NOPASSWD read from its
 * message. Any of them makes the event critical and highlighted.
 */
export function weakenedBy(e: Pick<SeverityInput, "action" | "message" | "changes">): string[] {
  const to = e.changes?.find((c) => c.field === WEAKENS_FIELD)?.to;
  const out = Array.isArray(to) ? to.filter((x): x is string => typeof x === "string") : [];
  if (out.length === 0 && e.action === "sudoers_rule_added" && grantsNopasswd(e.message)) {
    return ["NOPASSWD"];
  }
  return out;
}

/** The `changes` field of a `*_not_itemized` summary: the highest level among what it counts. */
export const NOT_ITEMIZED_SEVERITY_FIELD = "not_itemized_severity";

/** The more serious of two levels. */
export function maxSeverity(a: SeverityLevel, b: SeverityLevel): SeverityLevel {
  return SEVERITY_LEVELS.indexOf(a) >= SEVERITY_LEVELS.indexOf(b) ? a : b;
}

/**
 * The default level of an event. Which groups are privileged is the groups
 * consumer's to say (by gid, from the group file: `privileged_gids.ts`):
 * its events carry their level, and the levels here are for events
 * without one.
 */
export function defaultSeverity(e: SeverityInput): SeverityLevel {
  if (weakenedBy(e).length > 0) return "critical";
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
      // File capabilities (setcap cap_setuid+ep): root's powers to whoever runs it. An ACL
      // entry that lets another user write it (or read a secret): the file given away.
      return givesAway(e.changes) ||
          e.changes?.some((c) =>
            (c.field === "capabilities" && c.to !== capabilitiesChange("").to) ||
            GRANT_FIELDS.has(c.field)
          )
        ? "high"
        : e.changes?.some((c) =>
            (c.field === WRITTEN_BACK.field && c.to === WRITTEN_BACK.to) ||
            // Immutable or append-only set (a backdoor made hard to remove) or cleared
            // (the step before editing a file its owner froze): nobody gains access by it.
            c.field === "flags" ||
            // Only privileged processes set these, and security modules act on them.
            (c.field === "xattr" && /^(security|trusted)\./.test(String(c.to)))
          )
        // Written and put back while nobody looked (a uid-0 line added and truncated away).
        ? "medium"
        : "low";
    // The host's programs read a file system bpfink cannot see at a watched path.
    case "mounted_over":
    case "mounted_briefly":
      return "critical";
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
    case "sudoers_default_removed":
    case "sudoers_include_added":
    case "sudoers_alias_added":
    case "sudoers_alias_modified":
    case "access_rule_added":
      return "high";
  }
  if (e.action.endsWith("_not_itemized")) {
    // At least high, and as high as the most serious change it counts.
    const most = e.changes?.find((c) => c.field === NOT_ITEMIZED_SEVERITY_FIELD)?.to;
    const level = SEVERITY_LEVELS.find((l) => l === most);
    return level ? maxSeverity("high", level) : "high";
  }
  return "medium";
}
