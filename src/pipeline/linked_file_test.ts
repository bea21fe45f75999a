import { assertEquals } from "../../test/assert.ts";
import type { FileState } from "../watch/file_state.ts";
import { linkedFile } from "./linked_file.ts";

const link = (target: string, uid = 0): FileState => ({
  id: { dev: 1, ino: 2n },
  size: target.length,
  mode: 0o120777,
  uid,
  gid: 0,
  mtimeMs: 0,
  type: "symlink",
  linkTarget: target,
});

Deno.test("a symlink root made is followed to the file it points at, from its own directory", () => {
  const wants = "/etc/systemd/system/multi-user.target.wants/app.service";
  assertEquals(
    linkedFile(wants, link("/lib/systemd/system/app.service"))?.path,
    "/lib/systemd/system/app.service",
  );
  assertEquals(linkedFile(wants, link("../app.service"))?.path, "/etc/systemd/system/app.service");
  assertEquals(
    linkedFile(wants, link("../../../../../../opt//x/./y.service"))?.path,
    "/opt/x/y.service",
  );
  assertEquals(linkedFile("/etc/x", link("/etc"))?.dir, true);
  assertEquals(linkedFile("/etc/x", link("/etc/passwd"))?.dir, false);
});

Deno.test("a symlink another user made, one to itself or to /, and a file that is no link are not followed", () => {
  // A user's link named as a config, pointing at root's private key, must not make it read.
  assertEquals(linkedFile("/home/eve/.bashrc", link("/root/.ssh/id_ed25519", 1000)), undefined);
  assertEquals(linkedFile("/etc/x", link("x")), undefined);
  assertEquals(linkedFile("/etc/x", link("../..")), undefined);
  assertEquals(linkedFile("/etc/x", link("")), undefined);
  assertEquals(linkedFile("/etc/x", { ...link("/etc/y"), type: "file" }), undefined);
});
