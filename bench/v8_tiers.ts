/**
 * What running without TurboFan (`--v8-flags=--max-opt=2`, as ./bpfink and dist/bpfink do)
 * costs the agent under sustained load, beside V8's default tiers, in one run: the agent
 * watches 200 files, a writer appends to them round-robin for a few seconds, and each side
 * reports the change events it emitted, its CPU time per event and its RSS afterwards.
 * Rounds alternate the two. Needs root (BPF).
 *
 *   deno run -A bench/v8_tiers.ts [--rounds N] [--seconds S]
 *
 * @module
 */
const ROOT = new URL("..", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/.bin/deno`;
const FILES = 200;

interface Sample {
  events: number;
  cpuS: number;
  rssMiB: number;
}

function procCpuS(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssMiB(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(s)?.[1] ?? 0) / 1024;
}

async function once(flags: string[], dir: string, seconds: number): Promise<Sample> {
  // Fresh, empty files each time: appended files grow, and so would each re-read's work.
  for (let i = 0; i < FILES; i++) await Deno.writeTextFile(`${dir}/f${i}`, "");
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", ...flags, `${ROOT}src/main.ts`, "--paths", dir, "-r", "--json"],
    env: { MALLOC_ARENA_MAX: "2" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let events = 0;
  let started!: () => void;
  const ready = new Promise<void>((r) => started = r);
  const reading = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) {
        if (l.includes('"action":"started"')) started();
        else if (l.includes('"action":"modified"')) events++;
      }
    }
  })();
  await ready;
  const c0 = procCpuS(child.pid);
  const end = Date.now() + seconds * 1000;
  const files = await Promise.all(
    Array.from({ length: FILES }, (_, i) => Deno.open(`${dir}/f${i}`, { append: true })),
  );
  const line = new TextEncoder().encode("x\n");
  for (let i = 0; Date.now() < end; i++) {
    files[i % FILES].writeSync(line);
    if (i % 200 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  for (const f of files) f.close();
  await new Promise((r) => setTimeout(r, 2000)); // the agent drains
  const sample = { events, cpuS: procCpuS(child.pid) - c0, rssMiB: rssMiB(child.pid) };
  child.kill("SIGINT");
  await child.status;
  await reading;
  return sample;
}

if (import.meta.main) {
  const arg = (name: string, d: number) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : d;
  };
  const rounds = arg("--rounds", 3);
  const seconds = arg("--seconds", 5);
  const dir = await Deno.makeTempDir({ prefix: "bpfink-v8-" });
  const sides = {
    "default tiers (TurboFan)": [] as Sample[],
    "--max-opt=2 (no TurboFan, as shipped)": [] as Sample[],
  };
  const flags: Record<string, string[]> = {
    "default tiers (TurboFan)": [],
    "--max-opt=2 (no TurboFan, as shipped)": ["--v8-flags=--max-opt=2"],
  };
  try {
    for (let r = 0; r < rounds; r++) {
      const names = Object.keys(sides) as (keyof typeof sides)[];
      for (const name of r % 2 ? names.reverse() : names) {
        sides[name].push(await once(flags[name], dir, seconds));
        console.error(`round ${r + 1} ${name}: ${JSON.stringify(sides[name].at(-1))}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    "| V8 tiers | events (median) | agent CPU s | CPU µs per event | RSS after |\n| --- | --: | --: | --: | --: |",
  );
  for (const [name, xs] of Object.entries(sides)) {
    const ev = median(xs.map((x) => x.events));
    const cpu = median(xs.map((x) => x.cpuS));
    const per = median(xs.map((x) => (x.cpuS / Math.max(1, x.events)) * 1e6));
    const rss = median(xs.map((x) => x.rssMiB));
    console.log(
      `| ${name} | ${ev} | ${cpu.toFixed(2)} | ${per.toFixed(0)} | ${rss.toFixed(0)} MiB |`,
    );
  }
  console.log(
    `\n${rounds} rounds × ${seconds} s of appends to ${FILES} watched files, sides alternating ` +
      `(kernel ${Deno.osRelease()}, ${new Date().toISOString().slice(0, 10)}).`,
  );
}
