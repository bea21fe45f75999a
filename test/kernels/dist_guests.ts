/**
 * dist/bpfink alone in the 5.10, 6.1 and 6.12 guests: the initramfs holds busybox, the one file
 * and the glibc libraries a glibc host has (libc6, libgcc-s1), and no Deno, sources or
 * node_modules. In each guest it runs `--version`, `kernels`, and for the automatic choice and
 * each strategy forced, a `--paths` watch that must report a write and stop with 0 on SIGINT.
 * Writes kernels/dist_guests.md and the README's `dist-guests` section.
 *
 *   deno run -A test/kernels/dist_guests.ts [--kernels 5.10,6.1] [--probes auto,fentry]
 *                                           [--timeout SECONDS] [--no-write]
 *
 * Under TCG on a loaded machine each watch takes minutes: --probes auto runs only the automatic
 * choice, and --timeout (default 1500) bounds each guest.
 *
 * @module
 */
import { GUEST_KERNELS } from "../../kernels/guests.ts";
import { STRATEGIES } from "../../kernels/strategies.ts";
import { writeGenerated } from "../generated_docs.ts";
import { runImage } from "./boot.ts";
import { buildInitramfs, type PayloadEntry } from "./initramfs.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const GUEST_BIN = "/usr/local/bin/bpfink";

/** The libraries of libc6 and libgcc-s1 that the embedded Deno runtime loads. */
const GLIBC_HOST_LIBS = [
  "libm.so.6",
  "libdl.so.2",
  "librt.so.1",
  "libpthread.so.0",
  "libgcc_s.so.1",
];

/** The guest's script: busybox sh driving only dist/bpfink. */
export function guestScript(probes: string[]): string {
  return `set -u
B=${GUEST_BIN}
echo "DIST-VERSION $($B --version 2>&1 | head -1)"
$B kernels > /root/kernels.txt 2>&1
echo "DIST-KERNELS rc=$? $(grep '^Choice:' /root/kernels.txt | head -1)"
for probe in ${probes.join(" ")}; do
  f=/root/w-$probe.conf
  echo a > "$f"
  if [ "$probe" = auto ]; then set --; else set -- --probe "$probe"; fi
  $B --paths "$f" --json "$@" > /root/out-$probe.json 2> /root/err-$probe.txt &
  pid=$!
  i=0
  while [ $i -lt 900 ] && ! grep -q '"action":"started"' /root/out-$probe.json; do
    kill -0 $pid 2>/dev/null || break; sleep 0.2; i=$((i+1)); done
  started=no; grep -q '"action":"started"' /root/out-$probe.json && started=yes
  echo b >> "$f"
  i=0
  while [ $started = yes ] && [ $i -lt 300 ] && ! grep -q "\\"path\\":\\"$f\\"" /root/out-$probe.json; do
    sleep 0.2; i=$((i+1)); done
  seen=no; grep -q "\\"path\\":\\"$f\\"" /root/out-$probe.json && seen=yes
  kill -INT $pid 2>/dev/null; wait $pid; rc=$?
  strategy=$(grep -o '"strategy":"[a-z]*"' /root/out-$probe.json | head -1 | cut -d'"' -f4)
  err=$(head -c 240 /root/err-$probe.txt | tr '\\n"\\\\\\t' '    ')
  echo "DIST-ROW {\\"probe\\":\\"$probe\\",\\"started\\":\\"$started\\",\\"seen\\":\\"$seen\\",\\"exit\\":$rc,\\"strategy\\":\\"$strategy\\",\\"error\\":\\"$err\\"}"
done
`;
}

/** One result. */
export interface DistRow {
  kernel: string;
  release: string;
  probe: string;
  status: "pass" | "fail";
  detail: string;
}

interface GuestRow {
  probe: string;
  started: string;
  seen: string;
  exit: number;
  strategy: string;
  error: string;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--kernels");
  const ids = at >= 0 ? Deno.args[at + 1].split(",") : undefined;
  const guests = GUEST_KERNELS.filter((k) => !ids || ids.includes(k.id));
  const pi = Deno.args.indexOf("--probes");
  const probes = pi >= 0
    ? Deno.args[pi + 1].split(",")
    : ["auto", ...STRATEGIES.map((s) => s.name)];
  const ti = Deno.args.indexOf("--timeout");
  const timeoutSeconds = ti >= 0 ? Number(Deno.args[ti + 1]) : 1500;
  const libdir = "/lib/x86_64-linux-gnu";
  const payload: PayloadEntry[] = [
    { host: `${ROOT}dist/bpfink`, guest: GUEST_BIN },
    ...GLIBC_HOST_LIBS.map((l) => ({ host: `${libdir}/${l}`, guest: `${libdir}/${l}` })),
  ];
  const tmp = await Deno.makeTempDir({ prefix: "bpfink-dist-guests-" });
  const t0 = performance.now();
  let rows: DistRow[] = [];
  let version = "";
  try {
    const image = await buildInitramfs(
      { command: guestScript(probes), payload },
      `${tmp}/initrd.cpio`,
    );
    const results = await runImage(guests, image, "dist", { timeoutSeconds });
    rows = guests.flatMap((k, i) => {
      const r = results[i];
      const lines = r.output.split("\n");
      version ||= lines.find((l) => l.startsWith("DIST-VERSION "))?.slice(13).trim() ?? "";
      const found = lines.filter((l) => l.startsWith("DIST-ROW ")).map((l) =>
        JSON.parse(l.slice(9)) as GuestRow
      );
      return probes.map((probe): DistRow => {
        const g = found.find((x) => x.probe === probe);
        const base = { kernel: k.id, release: r.release ?? "", probe };
        if (!g) return { ...base, status: "fail", detail: `no result (${r.reason}; log ${r.log})` };
        const ok = g.started === "yes" && g.seen === "yes" && g.exit === 0;
        return {
          ...base,
          status: ok ? "pass" : "fail",
          detail: ok
            ? `ran ${g.strategy}; write reported; SIGINT exit 0`
            : `started ${g.started}, write seen ${g.seen}, exit ${g.exit}: ${g.error}`,
        };
      });
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const table = [
    "| kernel | release | strategy | result | detail |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.kernel} | ${r.release} | ${r.probe} | ${r.status} | ${
        r.detail.replace(/\|/g, "\\|")
      } |`
    ),
  ].join("\n");
  const stamp = `\`${version}\`, alone in each guest. Generated by \`deno run -A ` +
    `test/kernels/dist_guests.ts\` on ${new Date().toISOString().slice(0, 10)} in ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } s.`;
  console.log(`${table}\n\n${stamp}`);
  if (!Deno.args.includes("--no-write") && !ids && pi < 0) {
    await writeGenerated(
      "dist-guests",
      "kernels/dist_guests.md",
      "dist/bpfink in the guests",
      table,
      stamp,
    );
  }
  Deno.exit(rows.some((r) => r.status === "fail") || rows.length === 0 ? 1 : 0);
}
