/**
 * A program the kernel refuses: the reason, at the end of a verifier log
 * longer than one printed line, reaches the error (and `bpfink kernels`).
 * Real clang, real libbpf, this kernel's verifier. Needs root.
 */
import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { compileBpf } from "../../kernels/compile_bpf.ts";
import { loadLibbpf } from "../agent/open_kernel.ts";
import { BpfError } from "./bpf_error.ts";
import { BpfObject } from "./bpf_object.ts";

// 400 additions through the stack before a read past the end of the context: the log of the
// path to the refusal is tens of KiB, its reason the last lines.
const REFUSED = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("raw_tp/sys_exit")
int refused(void *ctx)
{
	volatile __u64 x = 0;
#pragma unroll
	for (int i = 0; i < 400; i++)
		x += i;
	return x + *(__u64 *)((char *)ctx + 65536);
}
`;

/** How kernels word the refusal of that read (6.x: a modified context pointer; older: the access). */
const REASON = /dereference of modified ctx ptr|invalid bpf_context access/;

Deno.test("a refused program's error ends with the verifier's reason, however long its log", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/refused.bpf.c`, REFUSED);
  await compileBpf(`${dir.path}/refused.bpf.c`, `${dir.path}/refused.bpf.o`);
  const obj = BpfObject.open(
    loadLibbpf(),
    "refused",
    await Deno.readFile(`${dir.path}/refused.bpf.o`),
  );
  try {
    obj.load();
    throw new Error("the kernel loaded a program that reads past its context");
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    assertEquals(e.program, "refused");
    assert(
      e.log.some((l) => REASON.test(l)),
      `the verifier's reason is missing; the log ends:\n${e.log.slice(-8).join("\n")}`,
    );
    assert(REASON.test(e.message), e.message);
  } finally {
    obj.close();
  }
});
