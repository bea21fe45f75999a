/**
 * Runs inside a guest kernel (see test/kernels/bench_guests.ts): the write
 * overhead benchmark with prebuilt load generator and floor object, then the
 * peers (bench/peers.ts), each printed between its own markers for the host
 * to collect.
 *
 * @module
 */
import { BenchEnv } from "./bench_env.ts";
import { writeOverhead } from "./write_overhead.ts";
import { guestCostSection } from "./peers.ts";

await using env = await BenchEnv.create("/bpfink/bench-prebuilt");
// The strategies' table, unless left out (bench_guests.ts --peers-only).
const section = Deno.env.get("BPFINK_BENCH_STRATEGIES") === "0" ? "" : await writeOverhead(
  env,
  true,
  Number(Deno.env.get("BPFINK_BENCH_CALLS") ?? 50_000),
);
// The peers in the same guest, after the strategies (bench/peers.ts), unless left out.
const peers = Deno.env.get("BPFINK_BENCH_PEERS") === "0"
  ? ""
  : await guestCostSection(env, Number(Deno.env.get("BPFINK_BENCH_CALLS") ?? 50_000));
// Each between its own markers: the host writes each to its own table.
if (section) console.log(`BPFINK-BENCH-START\n${section}\nBPFINK-BENCH-END`);
if (peers) console.log(`BPFINK-PEERS-START\n${peers}\nBPFINK-PEERS-END`);
