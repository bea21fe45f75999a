/**
 * The tracepoint object lets a syscall go before any helper call when
 * fim_nr_dispatched() says fim_dispatch() has no case for its number
 * (bpf/fim_common.bpf.h). A case added to the dispatch and not to the filter
 * would never run: this holds the two lists to each other.
 */
import { assert, assertEquals } from "./assert.ts";

const SOURCE = new URL("../bpf/fim_common.bpf.h", import.meta.url);

/** The `case NR_x:` labels of C function `name` in `src`, in order. */
function cases(src: string, name: string): string[] {
  const start = src.search(new RegExp(`static __always_inline \\w+ ${name}\\(`));
  assert(start >= 0, `${name} is not in ${SOURCE.pathname}`);
  const body = src.slice(start, src.indexOf("\n}\n", start));
  return [...body.matchAll(/case (NR_\w+):/g)].map((m) => m[1]);
}

Deno.test("fim_nr_dispatched() lets through exactly the syscalls fim_dispatch() has a case for", async () => {
  const src = await Deno.readTextFile(SOURCE);
  const dispatched = cases(src, "fim_dispatch");
  assert(dispatched.includes("NR_write") && dispatched.length > 40, dispatched.join(" "));
  assertEquals(cases(src, "fim_nr_dispatched").toSorted(), dispatched.toSorted());
});
