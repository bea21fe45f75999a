/**
 * The write-overhead benchmark inside every guest kernel: the cost per
 * unwatched write for fentry, kprobe and tracepoint side by side, as ratios
 * (absolute times under emulation mean nothing; ratios between strategies
 * do), then bpfink beside its peers (inotifywait, fatrace, auditd) in the
 * same guest (bench/peers.ts). Writes kernels/overhead.md and
 * kernels/peers.md, and the README's tables. Not a test. `--kernels 6.1`
 * limits it (the tables are then left alone: they hold every guest).
 *
 *   deno run -A test/kernels/bench_guests.ts [--kernels 6.1] [--strategies-only | --peers-only]
 *
 * `--strategies-only` and `--peers-only` run one half (the peers take about
 * five minutes a guest here, the strategies longer) and write its table alone.
 *
 * A guest that fails makes the run exit 1 without touching the tables: a
 * broken bench never replaces a good table with "failed".
 *
 * @module
 */
import { writeGenerated } from "../generated_docs.ts";
import { compileBpf } from "../../kernels/compile_bpf.ts";
import { GUEST_KERNELS } from "../../kernels/guests.ts";
import { runImage } from "./boot.ts";
import { guestCommand, guestPayload, missingFromPayload } from "./guest_payload.ts";
import { buildInitramfs, type PayloadEntry } from "./initramfs.ts";
import { librariesOf } from "./libraries.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** The script every guest runs. */
export const BENCH_SCRIPT = "bench/guest_overhead.ts";
/** What the bench starts from source besides its script: bpfink itself (bench/peers.ts). */
export const BENCH_SPAWNS = ["src/main.ts"];
/** The peers' programs, at the same path in the guest as on this host (their libraries follow). */
export const PEER_PROGRAMS = [
  "/usr/bin/inotifywait",
  "/usr/sbin/fatrace",
  "/usr/sbin/auditd",
  "/usr/sbin/auditctl",
];

/**
 * The guest payload of the bench: the agent's, the bench sources and the
 * prebuilt load generator and floor object from `prebuilt` (a guest has no
 * compiler).
 */
export function benchPayload(prebuilt: string): PayloadEntry[] {
  const benchFiles = [
    "bench_env.ts",
    "write_overhead.ts",
    "guest_overhead.ts",
    "peers.ts",
    "peers_table.ts",
    "spawn_until.ts",
    "coverage/auditd.ts",
  ].map((f) => [`${ROOT}bench/${f}`, `/bpfink/bench/${f}`] as [string, string]);
  return guestPayload([
    ...benchFiles,
    // bench_env.ts imports compileBpf (the guest uses the prebuilt floor object).
    [`${ROOT}kernels/compile_bpf.ts`, "/bpfink/kernels/compile_bpf.ts"],
    [`${prebuilt}/load`, "/bpfink/bench-prebuilt/load"],
    [`${prebuilt}/floor.bpf.o`, "/bpfink/bench-prebuilt/floor.bpf.o"],
    ...PEER_PROGRAMS.map((p) => [p, p] as [string, string]),
  ]);
}

/**
 * What the bench payload lacks: the modules of its script and of what it
 * spawns from source ({@link missingFromPayload}), and each peer program not
 * carried or whose libraries this host cannot resolve (the image brings the
 * libraries ldd finds, see initramfs.ts).
 */
export async function missingFromBenchPayload(payload: readonly PayloadEntry[]): Promise<string[]> {
  const missing: string[] = [];
  for (const script of [BENCH_SCRIPT, ...BENCH_SPAWNS]) {
    missing.push(...await missingFromPayload(script, payload));
  }
  for (const program of PEER_PROGRAMS) {
    const entry = payload.find((e) => e.guest === program);
    const exists = entry && await Deno.stat(entry.host).then(() => true, () => false);
    if (!exists) {
      missing.push(`${program} (install inotify-tools, fatrace and auditd: ./setup.sh --test)`);
      continue;
    }
    missing.push(...(await librariesOf(entry.host)).missing.map((m) => `${program}: ${m}`));
  }
  return [...new Set(missing)];
}

async function sh(cmd: string[]): Promise<void> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
  if (!r.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

async function main(): Promise<number> {
  const i = Deno.args.indexOf("--kernels");
  const only = i >= 0 ? Deno.args[i + 1]?.split(",") : undefined;
  const guests = GUEST_KERNELS.filter((k) => !only || only.includes(k.id));
  if (!guests.length) {
    console.error(`--kernels: none of ${GUEST_KERNELS.map((k) => k.id).join(", ")}`);
    return 2;
  }
  const pre = await Deno.makeTempDir({ prefix: "bpfink-prebuilt-" });
  const peersOnly = Deno.args.includes("--peers-only");
  const strategiesOnly = Deno.args.includes("--strategies-only");
  /**
   * The two halves of the bench: what each guest prints between its markers,
   * the variable that leaves it out, and the table it is written to.
   */
  const halves = [
    {
      marker: "BENCH",
      off: "BPFINK_BENCH_STRATEGIES=0",
      run: !peersOnly,
      section: "overhead",
      file: "kernels/overhead.md",
      title: "Write overhead per strategy, in guests",
      sections: [] as string[],
    },
    {
      marker: "PEERS",
      off: "BPFINK_BENCH_PEERS=0",
      run: !strategiesOnly,
      section: "guest_peers",
      file: "kernels/peers.md",
      title: "bpfink beside its peers, in guests",
      sections: [] as string[],
    },
  ];
  const failed: string[] = [];
  try {
    const payload = benchPayload(pre);
    const missing = await missingFromBenchPayload(payload);
    if (missing.length) {
      console.error(`The guest payload lacks what ${BENCH_SCRIPT} needs: ${missing.join(", ")}`);
      return 1;
    }
    await sh(["gcc", "-O2", "-static", "-o", `${pre}/load`, `${ROOT}bench/c/load.c`]);
    await compileBpf(`${ROOT}bench/bpf/floor.bpf.c`, `${pre}/floor.bpf.o`);
    const off = halves.filter((h) => !h.run).map((h) => `${h.off} `).join("");
    const image = await buildInitramfs(
      { command: off + guestCommand(BENCH_SCRIPT), payload },
      `${pre}/initrd.cpio`,
    );
    // One guest at a time: timing under emulation is noisy enough without a neighbour.
    // Loading the fentry and kprobe objects takes minutes under emulation (a guest took
    // over 30 minutes on a busy machine), so each guest's section is printed as it ends.
    for (const k of guests) {
      const [r] = await runImage([k], image, "bench", { timeoutSeconds: 3600 });
      const found = halves.filter((h) => h.run).map((h) => ({
        h,
        m: new RegExp(`BPFINK-${h.marker}-START\n([\\s\\S]*?)\nBPFINK-${h.marker}-END`).exec(
          r.output,
        ),
      }));
      if (r.status === "pass" && found.every((f) => f.m)) {
        for (const { h, m } of found) {
          h.sections.push(m![1].replace(/^### /gm, `#### ${k.id} (${r.release}): `));
          console.log(`${h.sections[h.sections.length - 1]}\n`);
        }
      } else {
        failed.push(`${k.id}: ${r.status} (${r.reason || "no result"})`);
        console.error(r.output.split("\n").slice(-15).join("\n"));
      }
    }
  } finally {
    await Deno.remove(pre, { recursive: true });
  }
  if (failed.length) {
    console.error(`Tables left as they were; guests without a result:\n${failed.join("\n")}`);
    return 1;
  }
  if (only) {
    console.error("Tables left as they were: --kernels ran only some of the guests.");
    return 0;
  }
  const flag = strategiesOnly ? " --strategies-only" : peersOnly ? " --peers-only" : "";
  const stamp = `Generated by \`deno run -A test/kernels/bench_guests.ts${flag}\` on ${
    new Date().toISOString().slice(0, 10)
  }, one boot of each guest, each alone on the machine.`;
  for (const h of halves.filter((h) => h.run)) {
    await writeGenerated(h.section, h.file, h.title, h.sections.join("\n\n"), stamp);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
