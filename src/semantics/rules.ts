/**
 * Rule files (sudoers, access.conf): what was added and removed, by each
 * rule's canonical text. Order changes alone are not reported.
 *
 * @module
 */
import type { SemanticEvent } from "../consumers/consumer.ts";
import type { AccessRule } from "../parsers/access_conf.ts";
import type { SudoersEntry } from "../parsers/sudoers.ts";

function multisetDiff<T>(
  before: T[],
  after: T[],
  key: (t: T) => string,
): { added: T[]; removed: T[] } {
  const count = new Map<string, number>();
  for (const x of before) count.set(key(x), (count.get(key(x)) ?? 0) + 1);
  const added: T[] = [];
  for (const x of after) {
    const n = count.get(key(x)) ?? 0;
    if (n > 0) count.set(key(x), n - 1);
    else added.push(x);
  }
  const removed: T[] = [];
  for (const x of before) {
    const n = count.get(key(x)) ?? 0;
    if (n > 0) {
      removed.push(x);
      count.set(key(x), n - 1);
    }
  }
  return { added, removed };
}

const SUDO_WORD: Record<SudoersEntry["kind"], string> = {
  rule: "rule",
  default: "default",
  alias: "alias",
  include: "include",
};

/** sudoers rules, Defaults and aliases added, removed, or (aliases) redefined. */
export function diffSudoers(before: SudoersEntry[], after: SudoersEntry[]): SemanticEvent[] {
  const out: SemanticEvent[] = [];
  const aliasesBefore = new Map(
    before.filter((e) => e.kind === "alias").map((e) => [e.subject, e]),
  );
  const aliasesAfter = new Map(after.filter((e) => e.kind === "alias").map((e) => [e.subject, e]));
  for (const [name, e] of aliasesAfter) {
    const old = aliasesBefore.get(name);
    if (old && old.value !== e.value) {
      out.push({
        action: "sudoers_alias_modified",
        message: `sudo alias ${name} changed: ${old.value} → ${e.value}`,
        changes: [{ field: name, from: old.value, to: e.value }],
        source: { file: e.file, line: e.line },
      });
    }
  }
  const stable = (e: SudoersEntry) =>
    e.kind !== "alias" || !(aliasesBefore.has(e.subject) && aliasesAfter.has(e.subject));
  const { added, removed } = multisetDiff(
    before.filter(stable),
    after.filter(stable),
    (e) => `${e.kind}|${e.canonical}`,
  );
  for (const e of added) {
    out.push({
      action: `sudoers_${SUDO_WORD[e.kind]}_added`,
      message: `sudo ${SUDO_WORD[e.kind]} added: ${e.canonical}`,
      ...(e.kind === "rule" && !e.subject.includes(",") && !e.subject.startsWith("%")
        ? { fields: { user: { name: e.subject } } }
        : {}),
      source: { file: e.file, line: e.line },
    });
  }
  for (const e of removed) {
    out.push({
      action: `sudoers_${SUDO_WORD[e.kind]}_removed`,
      message: `sudo ${SUDO_WORD[e.kind]} removed: ${e.canonical}`,
      source: { file: e.file, line: e.line },
    });
  }
  return out;
}

/** access.conf rules added and removed. */
export function diffAccess(
  before: AccessRule[],
  after: AccessRule[],
  file: string,
): SemanticEvent[] {
  const { added, removed } = multisetDiff(before, after, (r) => r.canonical);
  return [
    ...added.map((r) => ({
      action: "access_rule_added",
      message: `access rule added: ${r.canonical} (${
        r.permission === "+" ? "grants" : "denies"
      } ${r.users} from ${r.origins})`,
      source: { file, line: r.line },
    })),
    ...removed.map((r) => ({
      action: "access_rule_removed",
      message: `access rule removed: ${r.canonical}`,
      source: { file, line: r.line },
    })),
  ];
}
