/**
 * Runs one command inside each guest kernel and prints one row per kernel.
 *
 *   deno run -A test/kernels/run.ts [options] -- CMD...
 *
 *   --kernels 5.10,6.1,6.12   which guests (default: all of kernels/guests.ts)
 *   --payload HOST[:GUEST]    copy a host file or directory in (repeatable; GUEST defaults to HOST);
 *                             dynamic ELFs bring their loader and libraries along
 *   --append ARGS             extra kernel command line (e.g. lsm=lockdown,yama,bpf)
 *   --timeout SECONDS         per guest (default 300)
 *   --cache DIR               kernel cache (default .cache/kernels)
 *   --logs DIR                serial logs (default <cache>/logs, one <kernel>.log each)
 *   --quiet                   print only the table, not each guest's output
 *
 * One CMD word is run as a shell script (`-- 'uname -r; ls /'`); several are
 * quoted as an argv (`-- bpftool prog list`). It runs as root in /root with
 * the pseudo file systems mounted. Exit 0 only when every guest passed.
 *
 * @module
 */
import { GUEST_KERNELS, guestKernel } from "../../kernels/guests.ts";
import { runJobs } from "./boot.ts";
import { DEFAULT_CACHE_DIR } from "./fetch.ts";
import { buildInitramfs, type PayloadEntry } from "./initramfs.ts";

/** Parsed command line. */
interface Options {
  kernels: string[];
  payload: PayloadEntry[];
  append?: string;
  timeout: number;
  cache: string;
  logs?: string;
  quiet: boolean;
  command: string;
}

function usage(msg: string): never {
  console.error(
    `${msg}\nusage: deno run -A test/kernels/run.ts [--kernels 5.10,6.1] [--payload HOST[:GUEST]]... -- CMD...`,
  );
  Deno.exit(2);
}

/** POSIX single-quoting of one word. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function parse(args: string[]): Options {
  const dash = args.indexOf("--");
  if (dash < 0 || dash === args.length - 1) usage("missing -- CMD...");
  const cmd = args.slice(dash + 1);
  const o: Options = {
    kernels: GUEST_KERNELS.map((k) => k.id),
    payload: [],
    timeout: 300,
    cache: DEFAULT_CACHE_DIR,
    quiet: false,
    command: cmd.length === 1 ? cmd[0] : cmd.map(quote).join(" "),
  };
  const opts = args.slice(0, dash);
  for (let i = 0; i < opts.length; i++) {
    const value = () => opts[++i] ?? usage(`${opts[i - 1]} needs a value`);
    switch (opts[i]) {
      case "--kernels":
        o.kernels = value().split(",").filter(Boolean);
        break;
      case "--payload": {
        const [host, guest] = value().split(":");
        o.payload.push({ host, guest: guest || host });
        break;
      }
      case "--append":
        o.append = value();
        break;
      case "--timeout":
        o.timeout = Number(value());
        break;
      case "--cache":
        o.cache = value();
        break;
      case "--logs":
        o.logs = value();
        break;
      case "--quiet":
        o.quiet = true;
        break;
      default:
        usage(`unknown option ${opts[i]}`);
    }
  }
  return o;
}

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) => r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd()).join("\n");
}

const o = parse(Deno.args);
const kernels = o.kernels.map(guestKernel);
const tmp = await Deno.makeTempDir({ prefix: "bpfink-run-" });
let ok = false;
try {
  const t0 = performance.now();
  const image = await buildInitramfs(
    { command: o.command, payload: o.payload },
    `${tmp}/initrd.cpio`,
  );
  console.error(
    `image: ${
      (image.bytes / 1048576).toFixed(1)
    } MiB, ${image.libraries.length} libraries added, ` +
      `guest RAM ${image.memoryMiB} MiB, built in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  for (const w of image.warnings) console.error(`warning: ${w}`);
  const results = await runJobs(
    kernels.map((kernel) => ({
      kernel,
      initramfs: image,
      append: o.append,
      timeoutSeconds: o.timeout,
    })),
    { cacheDir: o.cache, logDir: o.logs ?? `${o.cache}/logs` },
  );
  if (!o.quiet) {
    for (const r of results) {
      console.log(`--- ${r.kernel} (${r.release ?? "no release"})\n${r.output}`);
    }
  }
  const rows = results.map((r) => [
    r.kernel,
    r.release ?? "",
    r.status,
    r.exitCode === undefined ? "" : String(r.exitCode),
    r.seconds.toFixed(1),
    r.log,
    r.reason,
  ]);
  console.log(pad([["kernel", "release", "status", "exit", "seconds", "log", "reason"], ...rows]));
  console.error(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  ok = results.every((r) => r.status === "pass");
} finally {
  await Deno.remove(tmp, { recursive: true });
}
Deno.exit(ok ? 0 : 1);
