/**
 * What an attrs change means (attr_changes.ts), on texts as extra_attrs.ts
 * writes them, and when the live path reads attrs at all
 * (attrsMayHaveChanged: a write alone costs no call).
 */
import { assertEquals } from "../../test/assert.ts";
import { attrChanges, attrPhrases } from "./attr_changes.ts";
import { defaultSeverity } from "./severity.ts";
import { attrsMayHaveChanged } from "../watch/file_monitor.ts";
import type { FileState } from "../watch/file_state.ts";
import { type FimEvent, FimOp } from "../kernel/fim_event.ts";

const ctx = { uid: 0, mode: 0o100644, secret: false };
const grants = (before: string, after: string, c = ctx) =>
  attrChanges(before, after, c).filter((x) => x.field === "acl_grants").map((x) => x.to);
const severity = (before: string, after: string, c = ctx) =>
  defaultSeverity({ action: "attributes_changed", changes: attrChanges(before, after, c) });

Deno.test("an ACL grant counts what the mask leaves in effect, and a wider mask is a grant", () => {
  const base = "user::rw-,group::r--,other::r--";
  // Named rw, mask r: nobody can only read.
  const masked = "acl user::rw-,user:65534:rw-,group::r--,mask::r--,other::r--";
  assertEquals(grants("", masked), []);
  assertEquals(severity("", masked), "low");
  // The mask widened: the named entry's write takes effect now.
  const widened = masked.replace("mask::r--", "mask::rw-");
  assertEquals(grants(masked, widened), ["user:nobody rw-"]);
  assertEquals(severity(masked, widened), "high");
  // Other gains write through the ACL.
  assertEquals(grants(`acl ${base}`, "acl user::rw-,group::r--,mask::r--,other::rw-"), [
    "other rw-",
  ]);
  // The owner named again is the owner.
  assertEquals(grants("", "acl user::rw-,user:0:rw-,group::r--,mask::rw-,other::r--"), []);
});

Deno.test("read is a grant on a secret file only; narrowing and removal are low, named", () => {
  const read = "acl user::rw-,user:65534:r--,group::r--,mask::r--,other::---";
  const shadowMode = { ...ctx, mode: 0o100640 };
  assertEquals(grants("", read, shadowMode), []);
  assertEquals(grants("", read, { ...shadowMode, secret: true }), ["user:nobody r--"]);
  const removed = attrChanges(read, "", ctx);
  assertEquals(attrPhrases(removed), ["ACL removed"]);
  assertEquals(defaultSeverity({ action: "attributes_changed", changes: removed }), "low");
});

Deno.test("inode flags are named set or cleared, medium; other xattrs by name only", () => {
  const c = attrChanges("flags append", "flags immutable\nxattr user.k 0123456789abcdef", ctx);
  assertEquals(attrPhrases(c), ["immutable set", "append cleared", "xattr user.k added"]);
  assertEquals(defaultSeverity({ action: "attributes_changed", changes: c }), "medium");
  const sec = attrChanges("xattr security.ima aa", "xattr security.ima bb", ctx);
  assertEquals(attrPhrases(sec), ["xattr security.ima changed"]);
  assertEquals(defaultSeverity({ action: "attributes_changed", changes: sec }), "medium");
  // Unknown on either side (a record of an older bpfink): nothing said.
  assertEquals(attrChanges(undefined, "flags immutable", ctx), []);
});

Deno.test("the live path reads attrs after an attribute op or a metadata-only ctime move, not after a write", () => {
  const s: FileState = {
    id: { dev: 1, ino: 2n },
    size: 1,
    mode: 0o100644,
    uid: 0,
    gid: 0,
    mtimeMs: 1,
    mtimeNs: 1_000_000n,
    ctimeNs: 1_000_000n,
    attrs: "",
  };
  const op = (o: FimOp) => ({ op: o }) as FimEvent;
  const written = { ...s, mtimeNs: 2_000_000n, ctimeNs: 2_000_000n };
  assertEquals(attrsMayHaveChanged(s, written, [op(FimOp.Write)], "live"), false);
  assertEquals(attrsMayHaveChanged(s, written, [op(FimOp.Xattr)], "live"), true);
  assertEquals(attrsMayHaveChanged(s, written, [op(FimOp.Attrib)], "live"), true);
  assertEquals(attrsMayHaveChanged(s, written, [op(FimOp.Write)], "rescan"), true);
  const metaOnly = { ...s, ctimeNs: 2_000_000n };
  assertEquals(attrsMayHaveChanged(s, metaOnly, [op(FimOp.Write)], "live"), true);
  assertEquals(attrsMayHaveChanged({ ...s, attrs: undefined }, written, [], "live"), true);
});
