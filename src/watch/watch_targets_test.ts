import { assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { resolveTargets } from "./watch_targets.ts";

Deno.test("past the file cap, one user's flood does not leave other users' or root's files unwatched", async () => {
  await using dir = await tempDir();
  // Listed in name order: the flood comes first.
  const users = { "aaa-flood": 1000, "bob": 1001 };
  for (const [name, uid] of Object.entries(users)) {
    await Deno.mkdir(`${dir.path}/${name}`);
    await Deno.chown(`${dir.path}/${name}`, uid, uid);
  }
  for (let i = 0; i < 60; i++) await Deno.writeTextFile(`${dir.path}/aaa-flood/f${i}`, "");
  for (const f of ["authorized_keys", "rc"]) await Deno.writeTextFile(`${dir.path}/bob/${f}`, "");
  await Deno.writeTextFile(`${dir.path}/zz-root.conf`, "");
  const r = await resolveTargets([dir.path], { recursive: true, maxFiles: 40 });
  const files = r.targets.filter((t) => t.kind === "file").map((t) =>
    t.path.slice(dir.path.length + 1)
  );
  assertEquals(files.length, 40);
  assertEquals(
    files.filter((f) => !f.startsWith("aaa-flood/")).sort(),
    ["bob/authorized_keys", "bob/rc", "zz-root.conf"],
  );
  assertEquals(r.warnings.length, 1, r.warnings.join("\n"));
  assertEquals(
    r.warnings[0],
    `more than 40 files under ${dir.path}: 23 are not watched, of users who have more than 5 ` +
      `there first (root's and others' are watched)`,
  );
});

Deno.test("past the file cap with root's files alone, the rest are left out with one warning", async () => {
  await using dir = await tempDir();
  for (let i = 0; i < 12; i++) {
    await Deno.writeTextFile(`${dir.path}/f${String(i).padStart(2, "0")}`, "");
  }
  const r = await resolveTargets([dir.path], { recursive: true, maxFiles: 10 });
  assertEquals(r.targets.filter((t) => t.kind === "file").length, 10);
  assertEquals(r.warnings, [`more than 10 files under ${dir.path}: 2 are not watched`]);
});
