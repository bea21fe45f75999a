/**
 * What changed in one sshd_config file: settings added, removed, or changed
 * (the same keyword under the same Match block, another value), each with
 * the ways in it opens (`weakens`, critical). A line that an earlier one
 * shadows (sshd keeps the first value) is said to have no effect, and
 * taking the earlier one away gives the later one its effect: that is a
 * change of the later line.
 *
 * @module
 */
import { ALLOW_LISTS, canonicalKeyword, directiveText, directiveWeakens } from "./sshd_weakens.ts";
import type { SshdDirective } from "./sshd_config.ts";
import { multisetDiff, pairUp } from "../_multiset_diff.ts";
import { ChangeList, type SemanticChange, shown } from "../semantic_change.ts";
import { WEAKENS_FIELD } from "../../pipeline/severity.ts";

const slot = (d: SshdDirective) => `${d.match}\0${canonicalKeyword(d.keyword)}`;
const key = (d: SshdDirective) => `${slot(d)}\0${d.args.join(" ")}\0${d.shadowed !== undefined}`;

/** A directive as a message shows it, with "no effect" when it is shadowed. */
function shownDirective(d: SshdDirective): string {
  const none = d.shadowed === undefined ? "" : ` (no effect: line ${d.shadowed} sets it first)`;
  return shown(directiveText(d)) + none;
}

/** The `changes` of a change whose ways in are `labels`: none when there are none. */
const weakensChange = (labels: string[]) =>
  labels.length > 0 ? [{ field: WEAKENS_FIELD, to: labels.map((l) => shown(l)) }] : undefined;

/** The ways in a line opens when it changes from `old` to `now` (the same keyword and block). */
function changeWeakens(old: SshdDirective, now: SshdDirective): string[] {
  if (!ALLOW_LISTS.has(canonicalKeyword(now.keyword)) || now.shadowed !== undefined) {
    return directiveWeakens(now, "changed");
  }
  // An allow list lets in whom it names: more names, more ways in.
  const more = now.args.filter((n) => !old.args.includes(n));
  return more.length > 0 ? [`${directiveText(now)}: ${more.join(" ")} added`] : [];
}

/** The changes between two parses of the sshd_config file `file`. */
export function diffSshd(
  before: SshdDirective[],
  after: SshdDirective[],
  file: string,
): SemanticChange[] {
  const { added, removed } = multisetDiff(before, after, key);
  const slots = (ds: SshdDirective[]) => new Set(ds.map(slot));
  const [slotsBefore, slotsAfter] = [slots(before), slots(after)];
  const inEffectAfter = slots(after.filter((d) => d.shadowed === undefined));
  const out = new ChangeList("sshd");
  // A removed and an added line in the same slot: a change. The same line that only gained or
  // lost its effect first, then another value.
  const pairs = pairUp(added, removed, (d) => `${slot(d)}\0${d.args.join(" ")}`, slot);
  const paired = new Set(pairs.values());
  for (const a of added) {
    const old = pairs.get(a);
    if (old) {
      out.push({
        action: "sshd_setting_changed",
        subject: directiveText(a),
        message: `sshd setting changed: ${shownDirective(old)} → ${shownDirective(a)}`,
        changes: [
          { field: a.keyword, from: old.args.join(" "), to: a.args.join(" ") },
          ...weakensChange(changeWeakens(old, a)) ?? [],
        ],
        source: { file, line: a.line },
      });
      continue;
    }
    out.push({
      action: "sshd_setting_added",
      subject: directiveText(a),
      message: `sshd setting added: ${shownDirective(a)}`,
      changes: weakensChange(directiveWeakens(a, "added", slotsBefore.has(slot(a)))),
      source: { file, line: a.line },
    });
  }
  for (const r of removed.filter((r) => !paired.has(r))) {
    // Another line of the slot in effect now: sshd's default does not come back.
    const labels = directiveWeakens(r, "removed", slotsAfter.has(slot(r)))
      .filter((l) => !(inEffectAfter.has(slot(r)) && l.includes("(default: ")));
    out.push({
      action: "sshd_setting_removed",
      subject: directiveText(r),
      message: `sshd setting removed: ${shownDirective(r)}`,
      changes: weakensChange(labels),
      source: { file, line: r.line },
    });
  }
  return out.done();
}
