import { assertEquals } from "../../test/assert.ts";
import { kernelFunctionsPresent, scanKallsyms, sectionTarget } from "./kernel_symbols.ts";

Deno.test("scanKallsyms: text symbols only, module suffix cut, odd lines skipped", () => {
  const seen: string[] = [];
  scanKallsyms(
    [
      "ffffffff81000000 T _stext",
      "ffffffff81001000 t do_one_initcall",
      "ffffffff82000000 D some_data",
      "ffffffffc0000000 t ext4_write\t[ext4]",
      "garbage",
      "",
      "ffffffff81002000 T last_without_newline",
    ].join("\n"),
    (n) => seen.push(n),
  );
  assertEquals(seen, ["_stext", "do_one_initcall", "ext4_write", "last_without_newline"]);
});

Deno.test("kernelFunctionsPresent: answers for the running kernel, and only for what was asked", () => {
  const present = kernelFunctionsPresent(["vfs_write", "bpfink_no_such_function"]);
  // kallsyms is readable as root (CI and the agent run as root).
  assertEquals(present, new Set(["vfs_write"]));
  assertEquals(kernelFunctionsPresent(["bpfink_no_such_function"]), new Set());
});

Deno.test("sectionTarget: fentry/kprobe sections name their function, `?` sections too", () => {
  assertEquals(sectionTarget("fexit/__x64_sys_write"), "__x64_sys_write");
  assertEquals(sectionTarget("?fexit/vfs_copy_file_range"), "vfs_copy_file_range");
  assertEquals(sectionTarget("tp_btf/sys_exit"), undefined);
});
