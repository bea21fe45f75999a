/**
 * What dist_scenario.sh prints becomes matrix rows: a row passes only with its started
 * record, every event seen and exit 0 after SIGINT; otherwise the reason says which.
 * (The script itself runs in the kernel matrix, on the host and in every guest.)
 */
import { assertEquals } from "../assert.ts";
import { distPayload, parseDistRows } from "./dist_scenario.ts";

const started = (strategy: string, programs: string[]) =>
  JSON.stringify({
    event: { action: "started" },
    bpfink: {
      kernel: "6.1.0-57-cloud-amd64",
      strategy,
      programs,
      libbpf: "/run/bpfink/libbpf-x.so (libbpf 1.1)",
      coverage_lost: [
        "fchmodat2() (syscall absent before 6.6)",
        "fchmodat2() (syscall absent before 6.6)",
      ],
    },
  });

Deno.test("a probe that started, saw every event and exited 0 passes, with its facts (each loss once)", () => {
  const text = [
    "noise from the kernel",
    "BPFINK-DIST tracepoint begin 10.5\r",
    `BPFINK-DIST tracepoint started ${started("tracepoint", ["fim_sys_exit_raw"])}`,
    "BPFINK-DIST tracepoint stderr 01:02:03 [WRN] coverage lost: something",
    "BPFINK-DIST tracepoint end 14.0 0",
  ].join("\n");
  assertEquals(parseDistRows(text, "unused"), [{
    kernel: "6.1.0-57-cloud-amd64",
    strategy: "tracepoint",
    status: "pass",
    chosen: "tracepoint",
    alternate: true,
    lost: ["fchmodat2() (syscall absent before 6.6)"],
    libbpf: "/run/bpfink/libbpf-x.so (libbpf 1.1)",
    reason: undefined,
    seconds: 3.5,
  }]);
});

Deno.test("missed events, a failed start, a bad exit and a cut-off run all fail", () => {
  const text = [
    "BPFINK-DIST auto begin 1",
    `BPFINK-DIST auto started ${started("fentry", ["exit_write"])}`,
    "BPFINK-DIST auto missed writev",
    "BPFINK-DIST auto missed write after rename-over",
    "BPFINK-DIST auto end 2 0",
    "BPFINK-DIST fentry begin 2",
    "BPFINK-DIST fentry stderr bpfink: no kernel object works on this kernel: fentry: EPERM",
    "BPFINK-DIST fentry end 3 1",
    "BPFINK-DIST kprobe begin 3",
    `BPFINK-DIST kprobe started ${started("kprobe", [])}`,
    "BPFINK-DIST kprobe stderr bpfink: output closed",
    "BPFINK-DIST kprobe end 4 2",
    "BPFINK-DIST tracepoint begin 4",
    `BPFINK-DIST tracepoint started ${started("tracepoint", [])}`,
  ].join("\n");
  const rows = parseDistRows(text, "6.1.0-57-cloud-amd64");
  assertEquals(rows.map((r) => [r.strategy, r.status, r.reason]), [
    ["auto", "fail", "missed: writev, write after rename-over"],
    [
      "fentry",
      "fail",
      "did not start: bpfink: no kernel object works on this kernel: fentry: EPERM",
    ],
    ["kprobe", "fail", "exit 2 after SIGINT: bpfink: output closed"],
    ["tracepoint", "fail", "the guest stopped before the scenario ended"],
  ]);
  assertEquals(rows[0].alternate, false);
  assertEquals(rows[1].kernel, "6.1.0-57-cloud-amd64");
});

Deno.test("the guest payload holds dist/bpfink and no Deno, sources or node_modules", () => {
  const guest = distPayload("/tmp/writev").map((e) => e.guest);
  assertEquals(guest.filter((g) => !g.startsWith("/lib/")), [
    "/usr/local/bin/bpfink",
    "/usr/local/bin/writev",
    "/scenario.sh",
  ]);
  assertEquals(guest.filter((g) => /deno|node_modules|\.ts$/.test(g)), []);
});
