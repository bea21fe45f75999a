import { assertEquals } from "../../test/assert.ts";
import { BpfError } from "./bpf_error.ts";
import { Errno, errnoName } from "../errno.ts";

Deno.test("BpfError() carries the program as a field and names it in the message", () => {
  const e = new BpfError("fim-fentry", "bpf_object__load", Errno.EPERM, "EPERM (no)", {
    program: "exit_write",
  });
  assertEquals([e.program, e.map], ["exit_write", undefined]);
  assertEquals(e.message, "fim-fentry: program exit_write: bpf_object__load: EPERM (no)");
});

Deno.test("BpfError() names a map, a program's attach point, or a detail alone", () => {
  const map = new BpfError("o", "bpf_map__fd", Errno.EBADF, "EBADF", { map: "watched" });
  assertEquals([map.map, map.target], ["watched", "map watched"]);
  const at = new BpfError("o", "attach", Errno.ENOENT, "ENOENT", { program: "p", detail: "tp/x" });
  assertEquals(at.target, "program p (tp/x)");
  const fd = new BpfError("bpf", "bpf_obj_get_info_by_fd", Errno.EBADF, "EBADF", {
    detail: "fd 3",
  });
  assertEquals([fd.program, fd.target, fd.message], [
    undefined,
    "fd 3",
    "bpf: fd 3: bpf_obj_get_info_by_fd: EBADF",
  ]);
});

Deno.test("errnoName() names known values and numbers the rest", () => {
  assertEquals([errnoName(Errno.EPERM), errnoName(524), errnoName(999)], [
    "EPERM",
    "ENOTSUPP",
    "errno 999",
  ]);
});
