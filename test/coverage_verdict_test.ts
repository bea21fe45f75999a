/**
 * The judge of a coverage row and its cell text: the BPF hooks' catch is a
 * plain "yes", fanotify's alone says so, the right process beats another,
 * writers rows need every writer (folded ones included).
 */
import { assertEquals } from "./assert.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import { writersIn } from "./coverage_methods.ts";
import { cellText, judge, type Wanted } from "./coverage_verdict.ts";

const FANOTIFY = "live: seen by fanotify only, not by the syscall hooks; the process is " +
  "what /proc showed for the event's pid (best effort)";

function ev(
  path: string,
  action: string,
  proc?: { pid: number; name: string; executable?: string },
  reason = "live",
  others?: { pid: number; name: string; exe: string }[],
): ChangeEvent {
  return {
    "@timestamp": "2026-12-03T00:00:00.000Z",
    event: {
      id: crypto.randomUUID(),
      action,
      category: ["file"],
      type: ["change"],
      kind: "event",
      reason,
      module: "bpfink",
    },
    file: { path },
    process: proc,
    bpfink: others ? { other_writers: others } : undefined,
  } as ChangeEvent;
}

const want: Wanted = { target: "/d/row1", action: "modified", comm: "abi_ops" };
const cell = (events: ChangeEvent[], w: Wanted = want) => cellText(judge(events, w));

Deno.test("a catch by the BPF hooks with the row's process is a plain yes", () => {
  assertEquals(cell([ev("/d/row1", "modified", { pid: 5, name: "abi_ops" })]), "yes");
});

Deno.test("a catch by fanotify alone says so, and the BPF hooks' event wins when both came", () => {
  const fan = ev("/d/row1", "modified", { pid: 5, name: "abi_ops" }, FANOTIFY);
  assertEquals(cell([fan]), "yes, fanotify only");
  assertEquals(cell([fan, ev("/d/row1", "modified", { pid: 5, name: "abi_ops" })]), "yes");
});

Deno.test("the row's process beats another name; none named is said as such", () => {
  const other = ev("/d/row1", "modified", { pid: 4, name: "ln" });
  const fan = ev("/d/row1", "modified", { pid: 5, name: "abi_ops" }, FANOTIFY);
  assertEquals(cell([other]), "yes, other process name (ln)");
  assertEquals(cell([other, fan]), "yes, fanotify only");
  assertEquals(
    cell([ev("/d/row1", "modified", { pid: 5, name: "" }, FANOTIFY)]),
    "yes, fanotify only, no process named",
  );
  assertEquals(cell([ev("/d/row1", "modified", undefined, "rescan")]), "yes, no process named");
});

Deno.test("events about another path or action, or without the final hash, are no result", () => {
  const events = [
    ev("/d/row2", "modified", { pid: 5, name: "abi_ops" }),
    ev("/d/row1", "attributes_changed", { pid: 5, name: "abi_ops" }),
  ];
  assertEquals(judge(events, want), undefined);
  assertEquals(cell(events), "no result");
  assertEquals(
    judge([ev("/d/row1", "modified", { pid: 5, name: "abi_ops" })], { ...want, sha256: "ab" }),
    undefined,
  );
});

Deno.test("writers rows need every writer, as the process or folded into the event", () => {
  const writers = writersIn("writer 10\nnoise\nwriter 11\n");
  assertEquals(writers, [{ pid: 10 }, { pid: 11 }]);
  const w: Wanted = { ...want, comm: "sh", writers };
  const folded = ev("/d/row1", "modified", { pid: 11, name: "sh" }, "live", [
    { pid: 10, name: "sh", exe: "dash" },
  ]);
  assertEquals(cell([folded], w), "yes");
  assertEquals(
    cell([ev("/d/row1", "modified", { pid: 11, name: "sh" })], w),
    "reported, 1 of 2 writers named",
  );
  assertEquals(
    judge([ev("/d/row1", "modified", { pid: 11, name: "sh" })], w)?.detail,
    "named: modified (live 11)",
  );
  const fan = ev("/d/row1", "modified", { pid: 10, name: "sh" }, FANOTIFY);
  assertEquals(
    cell([ev("/d/row1", "modified", { pid: 11, name: "sh" }), fan], w),
    "yes, fanotify only",
  );
});

Deno.test("a reused pid counts only with the executable its writer line gives", () => {
  const writers = writersIn("writer 7 /t/a/writer\nwriter 7 /t/b/writer\nwriter 8 rel/path\n");
  assertEquals(writers, [{ pid: 7, executable: "/t/a/writer" }, {
    pid: 7,
    executable: "/t/b/writer",
  }]);
  const w: Wanted = { ...want, comm: "writer", writers };
  const a = ev("/d/row1", "modified", { pid: 7, name: "writer", executable: "/t/a/writer" });
  const b = ev("/d/row1", "modified", { pid: 7, name: "writer", executable: "/t/b/writer" });
  assertEquals(cell([a, a], w), "reported, 1 of 2 writers named");
  assertEquals(cell([a, b], w), "yes");
});

Deno.test("misses, reconcile finds and failures read as such, escaped for a table", () => {
  assertEquals(cellText({ status: "missed" }), "missed");
  assertEquals(
    cellText({ status: "missed", reconciled: true }),
    "missed live, found by the reconcile",
  );
  assertEquals(
    cellText({ status: "not run", detail: "uring_ops failed | needs 5.17+:\nEINVAL" }),
    "not run (uring_ops failed \\| needs 5.17+: EINVAL)",
  );
});
