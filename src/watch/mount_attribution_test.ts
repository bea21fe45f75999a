import { assertEquals } from "../../test/assert.ts";
import { FimOp } from "../kernel/fim_event.ts";
import { mountCredit, mountTarget } from "./mount_attribution.ts";
import { eventFromProc } from "./proc_event.ts";

const base = eventFromProc(Deno.pid, { dev: 0, ino: 0n }, FimOp.Mount);
const mounter = (tgid: number, name: string, tsNs = 1n) => ({
  ...base,
  tgid,
  pid: tgid,
  comm: `p${tgid}`,
  name,
  tsNs,
  startNs: 0n,
});
const key = (e: { tgid: number }) => String(e.tgid);

Deno.test("mountTarget: absolute paths as the mount table spells them; nothing else is compared", () => {
  assertEquals(mountTarget(mounter(1, "/etc//ssh/")), "/etc/ssh");
  assertEquals(mountTarget(mounter(1, "/")), "/");
  for (const name of ["", "etc", "./etc", "/etc/../tmp", "/etc/./ssh"]) {
    assertEquals(mountTarget(mounter(1, name)), undefined, name);
  }
});

Deno.test("mountCredit: the process whose target is the changed mount point above the path, the deepest, the later on one point", () => {
  const a = mounter(1, "/srv");
  const b = mounter(2, "/etc");
  const c = mounter(3, "/etc/ssh");
  const credit = (path: string, changes: string[] | "all", ms = [a, b, c]) =>
    mountCredit(path, changes, ms, key).cause?.tgid;
  assertEquals(credit("/etc/ssh/sshd_config", ["/srv", "/etc", "/etc/ssh"]), 3);
  assertEquals(credit("/etc/passwd", ["/srv", "/etc", "/etc/ssh"]), 2);
  // A point no mounter named (the target a symlink, relative): the one process if one, else none.
  assertEquals(credit("/var/x", ["/var"], [a]), 1);
  assertEquals(credit("/var/x", ["/var"]), undefined);
  assertEquals(credit("/etc/passwd", "all", [b]), 2);
  assertEquals(credit("/etc/passwd", "all"), undefined);
  // Mounted, then unmounted by another: what the table shows is the later one's.
  assertEquals(
    credit("/etc/passwd", ["/etc"], [mounter(4, "/etc", 5n), mounter(5, "/etc", 9n)]),
    5,
  );
  const none = mountCredit("/etc/passwd", ["/etc"], [a, mounter(6, "")], key);
  assertEquals(none.cause, undefined);
  assertEquals("unnamed" in none && none.unnamed, "one of p1 [1], p6 [6] mounted");
  const unseen = mountCredit("/etc/passwd", ["/etc"], [], key);
  assertEquals("unnamed" in unseen && unseen.unnamed, "the mount's process was not seen");
});
