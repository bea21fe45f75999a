/** Which libraries a dynamic ELF brings into a guest image. */
import { assert, assertEquals } from "../assert.ts";
import { BUSYBOX } from "./initramfs.ts";
import { librariesOf, parseLdd } from "./libraries.ts";

Deno.test("parses ldd: resolved libraries, the loader, unresolved names; skips the vDSO", () => {
  const text = [
    "\tlinux-vdso.so.1 (0x00007ffd)",
    "\tlibelf.so.1 => /lib/x86_64-linux-gnu/libelf.so.1 (0x00007f49)",
    "\tlibgone.so.2 => not found",
    "\t/lib64/ld-linux-x86-64.so.2 (0x00007f49)",
  ].join("\n");
  assertEquals(parseLdd(text), {
    libraries: ["/lib/x86_64-linux-gnu/libelf.so.1", "/lib64/ld-linux-x86-64.so.2"],
    missing: ["libgone.so.2 => not found"],
  });
});

Deno.test("a dynamic executable needs its loader and libc; static busybox needs nothing", async () => {
  const deno = await librariesOf(Deno.execPath());
  assert(deno.libraries.some((l) => /\/ld-linux-x86-64\.so\.2$/.test(l)), deno.libraries.join());
  assert(deno.libraries.some((l) => /\/libc\.so\.6$/.test(l)), deno.libraries.join());
  assertEquals(deno.missing, []);
  assertEquals(await librariesOf(BUSYBOX), { libraries: [], missing: [] });
  assertEquals(await librariesOf("/etc/passwd"), { libraries: [], missing: [] });
});
