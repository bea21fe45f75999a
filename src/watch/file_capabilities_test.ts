import { assertEquals } from "../../test/assert.ts";
import { run, tempDir } from "../../test/helpers.ts";
import { fileCapabilities } from "./file_capabilities.ts";

Deno.test("file capabilities read as getcap names them", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/python`;
  await Deno.copyFile("/usr/bin/true", f);
  assertEquals(fileCapabilities(f), "");
  for (
    const caps of ["cap_setuid=ep", "cap_net_raw,cap_setuid=ep", "cap_sys_admin=p", "cap_bpf=ep"]
  ) {
    const r = await run(["setcap", caps, f]);
    assertEquals(r.code, 0, r.stderr);
    const getcap = (await run(["getcap", f])).stdout.trim().split(" ").slice(1).join(" ");
    assertEquals(fileCapabilities(f), getcap, caps);
  }
  assertEquals(fileCapabilities(`${dir.path}/missing`), undefined);
});
