/**
 * The child of listing_emfile_test.ts: a FileMonitor over a temp directory
 * whose listing fails because this process may open no file
 * (RLIMIT_NOFILE 0, what `prlimit --pid AGENT --nofile=0:` does to the
 * agent), then may again. Prints one JSON line: the changes reported, the
 * warnings, and the pid of the process that made the file. It runs in a
 * process of its own: a limit set in the test's process would fail the
 * opens of every test running beside it.
 *
 * @module
 */
import { NO_BPF } from "../no_bpf_table.ts";
import { FimOp } from "../../src/kernel/fim_event.ts";
import { FileMonitor } from "../../src/watch/file_monitor.ts";
import type { FileChange } from "../../src/pipeline/file_change.ts";
import { readFileState } from "../../src/watch/file_state.ts";
import { eventFromProc } from "../../src/watch/proc_event.ts";
import { WatchSet } from "../../src/watch/watch_set.ts";

const libc = Deno.dlopen(
  "libc.so.6",
  {
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  } as const,
).symbols;
const RLIMIT_NOFILE = 7;
const limit = new BigUint64Array(2);
if (libc.getrlimit(RLIMIT_NOFILE, limit) !== 0) throw new Error("getrlimit failed");
const setSoft = (n: bigint) => {
  if (libc.setrlimit(RLIMIT_NOFILE, new BigUint64Array([n, limit[1]])) !== 0) {
    throw new Error("setrlimit failed");
  }
};

const until = async (pred: () => boolean, ms: number) => {
  for (const end = performance.now() + ms; !pred() && performance.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
};

const dir = await Deno.makeTempDir({ prefix: "bpfink-emfile-" });
const watch = new WatchSet(NO_BPF);
watch.add(dir, "dir", dir);
const dirState = (await readFileState(dir))!;
watch.setState(dir, dirState);
const changes: FileChange[] = [];
const warnings: string[] = [];
const monitor = new FileMonitor(watch, {
  rearm() {},
  emit: (c) => changes.push(c),
  warn: (m) => warnings.push(m),
});
// A real process makes the file, and lives on until its stdin closes.
const maker = new Deno.Command("python3", {
  args: [
    "-c",
    'import sys\nopen(sys.argv[1],"a").write("made\\n")\nprint("done",flush=True)\nsys.stdin.read()',
    `${dir}/new.conf`,
  ],
  stdin: "piped",
  stdout: "piped",
}).spawn();
const r = maker.stdout.getReader();
await r.read();
r.releaseLock();
try {
  const made = eventFromProc(maker.pid, dirState.id, FimOp.Create, { name: "new.conf" });
  setSoft(0n);
  try {
    monitor.markDirty(dir, made, "live");
    await until(() => warnings.length > 0, 3000);
  } finally {
    setSoft(limit[0]);
  }
  await until(() => changes.length > 0, 5000);
} finally {
  await monitor.stop();
  await maker.stdin.close();
  await maker.output();
  await Deno.remove(dir, { recursive: true });
}
console.log(JSON.stringify({
  maker: maker.pid,
  path: `${dir}/new.conf`,
  warnings,
  changes: changes.map((c) => [c.action, c.path, c.cause?.tgid]),
}));
