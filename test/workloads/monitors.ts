/**
 * File monitors run the way their users run them, each turned into
 * tool-neutral reports: bpfink's CLI (`--paths ROOT -r --json`),
 * `inotifywait -m -r`, `fatrace`, auditd with a `-w ROOT -p wa` rule, and
 * `aide --check` against a database made just before the workload.
 *
 * @module
 */
import type { Report } from "./check.ts";

/** One monitor watching a root tree. */
export interface Monitor {
  name: string;
  /** Starts watching `root` (recursively). */
  start(root: string): Promise<void>;
  /** Called before a workload changes `dir`. */
  begin(dir: string): Promise<void>;
  /** Everything reported about `dir` since `begin`, once the monitor has settled. */
  end(dir: string): Promise<Report[]>;
  stop(): Promise<void>;
}

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const under = (dir: string) => (r: Report) => r.path === dir || r.path.startsWith(`${dir}/`);

/** Reads a stream line by line. */
async function lines(s: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<void> {
  let buf = "";
  for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
}

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout) + d.decode(r.stderr) };
}

/**
 * A monitor that streams reports from a child process: `parse` turns one
 * output line into reports. It settles when nothing new came for `quietMs`.
 */
abstract class StreamMonitor implements Monitor {
  abstract name: string;
  protected child?: Deno.ChildProcess;
  protected reports: Report[] = [];
  protected stderr: string[] = [];
  #done?: Promise<unknown>;
  #mark = 0;
  constructor(readonly quietMs = 1500) {}
  protected abstract command(root: string): { cmd: string[]; cwd?: string };
  protected abstract parse(line: string): Report[];
  protected ready(): boolean {
    return true;
  }
  async start(root: string): Promise<void> {
    const { cmd, cwd } = this.command(root);
    this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      lines(this.child.stdout, (l) => this.reports.push(...this.parse(l))),
      lines(this.child.stderr, (l) => this.stderr.push(l)),
    ]);
    for (let i = 0; i < 1200 && !this.ready(); i++) await sleep(100);
    if (!this.ready()) throw new Error(`${this.name} did not start: ${this.stderr.join("\n")}`);
    await sleep(300);
  }
  begin(): Promise<void> {
    this.#mark = this.reports.length;
    return Promise.resolve();
  }
  async end(dir: string): Promise<Report[]> {
    let n = this.reports.length;
    let last = Date.now();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && Date.now() - last < this.quietMs) {
      await sleep(100);
      if (this.reports.length !== n) [n, last] = [this.reports.length, Date.now()];
    }
    return this.reports.slice(this.#mark).filter(under(dir));
  }
  async stop(): Promise<void> {
    try {
      this.child?.kill("SIGINT");
    } catch { /* exited */ }
    await this.#done;
    await this.child?.status;
  }
}

/** bpfink's CLI, as a user runs it. */
export class BpfinkMonitor extends StreamMonitor {
  name = "bpfink";
  exitCode?: number;
  protected command(root: string) {
    return {
      cmd: [Deno.execPath(), "run", "-A", "--quiet", MAIN, "--paths", root, "-r", "--json"],
    };
  }
  #started = false;
  protected override ready(): boolean {
    return this.#started;
  }
  protected parse(line: string): Report[] {
    const e = JSON.parse(line);
    if (e.event?.action === "started") this.#started = true;
    if (!e.file?.path) return [];
    return [{
      path: e.file.path,
      action: e.event.action,
      comm: e.process?.name,
      unchanged: e.bpfink?.content_changed === false,
      ...(e.bpfink?.from_path ? { from: e.bpfink.from_path } : {}),
    }];
  }
  /** Stderr lines bpfink printed. */
  get log(): string[] {
    return this.stderr;
  }
  override async stop(): Promise<void> {
    await super.stop();
    this.exitCode = (await this.child!.status).code;
  }
}

const INOTIFY_ACTIONS: Record<string, string> = {
  CREATE: "created",
  MOVED_TO: "created",
  DELETE: "deleted",
  MOVED_FROM: "deleted",
  MODIFY: "modified",
  CLOSE_WRITE: "modified",
  ATTRIB: "attributes_changed",
};

/** `inotifywait -m -r`: names paths, never processes. */
export class InotifyMonitor extends StreamMonitor {
  name = "inotifywait";
  protected command(root: string) {
    return {
      cmd: [
        "inotifywait",
        "-m",
        "-r",
        "-e",
        "modify,attrib,close_write,moved_to,moved_from,create,delete",
        "--format",
        "%e|%w%f",
        root,
      ],
    };
  }
  #watching = false;
  protected override ready(): boolean {
    return this.#watching || this.stderr.some((l) => l.includes("Watches established"));
  }
  protected parse(line: string): Report[] {
    const bar = line.indexOf("|");
    if (bar < 0) return [];
    const path = line.slice(bar + 1).replace(/\/$/, "");
    return line.slice(0, bar).split(",").flatMap((e) =>
      INOTIFY_ACTIONS[e] ? [{ path, action: INOTIFY_ACTIONS[e] }] : []
    );
  }
}

/**
 * `fatrace` on the root's mount: names the process, reports writes on the
 * file, and creations and deletions only on the directory they happen in.
 */
export class FatraceMonitor extends StreamMonitor {
  name = "fatrace";
  protected command(root: string) {
    return { cmd: ["fatrace", "-c"], cwd: root };
  }
  protected parse(line: string): Report[] {
    // comm(pid): TYPES   /path
    const m = /^(.*)\((\d+)\): (\S+)\s+(\/.*)$/.exec(line);
    if (!m) return [];
    const [, comm, , types, path] = m;
    const out: Report[] = [];
    if (types.includes("W")) out.push({ path, action: "modified", comm });
    // A creation, deletion or move is reported on the directory it happens in.
    if (/[+D<>]/.test(types)) out.push({ path, action: "directory_changed", comm });
    return out;
  }
}

/** auditd run normally (its own log file), with one `-w ROOT -p wa` rule. */
export class AuditdMonitor implements Monitor {
  name = "auditd";
  #dir = "";
  #child?: Deno.ChildProcess;
  #offset = 0;
  #root = "";
  static readonly KEY = "bpfinkwl";
  async start(root: string): Promise<void> {
    this.#root = root;
    this.#dir = await Deno.makeTempDir({ prefix: "bpfink-auditd-" });
    await Deno.writeTextFile(
      `${this.#dir}/auditd.conf`,
      [
        `log_file = ${this.#dir}/audit.log`,
        "log_format = RAW",
        "flush = INCREMENTAL_ASYNC",
        "freq = 1",
        "write_logs = yes",
        "max_log_file = 256",
        "max_log_file_action = IGNORE",
        "space_left = 2",
        "space_left_action = IGNORE",
        "admin_space_left = 1",
        "admin_space_left_action = IGNORE",
        "disk_full_action = IGNORE",
        "disk_error_action = IGNORE",
        "",
      ].join("\n"),
    );
    // -n: stay in the foreground (not -f, which sends records to stderr instead of the log).
    this.#child = new Deno.Command("auditd", {
      args: ["-n", "-c", this.#dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100; i++) {
      if (/pid [1-9]/.test((await run(["auditctl", "-s"])).out)) break;
      await sleep(50);
    }
    const r = await run(["auditctl", "-w", root, "-p", "wa", "-k", AuditdMonitor.KEY]);
    if (r.code !== 0) throw new Error(`auditctl -w failed: ${r.out}`);
  }
  #log(): string {
    try {
      return Deno.readTextFileSync(`${this.#dir}/audit.log`);
    } catch {
      return "";
    }
  }
  begin(): Promise<void> {
    this.#offset = this.#log().length;
    return Promise.resolve();
  }
  async end(dir: string): Promise<Report[]> {
    await sleep(1500);
    return parseAuditLog(this.#log().slice(this.#offset)).filter(under(dir));
  }
  async stop(): Promise<void> {
    await run(["auditctl", "-W", this.#root, "-p", "wa", "-k", AuditdMonitor.KEY]);
    try {
      this.#child?.kill("SIGTERM");
    } catch { /* exited */ }
    await this.#child?.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** Decodes an audit field value: quoted, or hex-encoded when it holds odd bytes. */
function auditValue(v: string): string {
  if (v.startsWith('"')) return v.slice(1, -1);
  if (/^[0-9A-F]+$/.test(v) && v.length % 2 === 0) {
    return new TextDecoder().decode(new Uint8Array(v.match(/../g)!.map((h) => parseInt(h, 16))));
  }
  return v;
}

/** Turns raw audit records (SYSCALL, CWD, PATH per event) for our key into reports. */
export function parseAuditLog(text: string): Report[] {
  const events = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const id = /msg=audit\(([^)]+)\)/.exec(line)?.[1];
    if (id) events.set(id, [...(events.get(id) ?? []), line]);
  }
  const out: Report[] = [];
  for (const recs of events.values()) {
    const sys = recs.find((l) => l.startsWith("type=SYSCALL"));
    if (!sys || !sys.includes(`key="${AuditdMonitor.KEY}"`)) continue;
    const comm = auditValue(/ comm=(\S+)/.exec(sys)?.[1] ?? "");
    const cwd = auditValue(
      / cwd=(\S+)/.exec(recs.find((l) => l.startsWith("type=CWD")) ?? "")?.[1] ?? "",
    );
    for (const p of recs.filter((l) => l.startsWith("type=PATH"))) {
      const nametype = / nametype=(\S+)/.exec(p)?.[1];
      let name = auditValue(/ name=(\S+)/.exec(p)?.[1] ?? "");
      if (!name || name === "(null)" || nametype === "PARENT") continue;
      if (!name.startsWith("/")) name = `${cwd}/${name}`;
      name = name.replace(/\/\.\//g, "/").replace(/\/$/, "");
      const action = nametype === "CREATE"
        ? "created"
        : nametype === "DELETE"
        ? "deleted"
        : "modified";
      out.push({ path: name, action, comm });
      // A write or attribute change on an existing file is reported as NORMAL: it may be either.
      if (action === "modified") out.push({ path: name, action: "attributes_changed", comm });
    }
  }
  return out;
}

/** `aide --init` on the workload's directory before, `aide --check` after. */
export class AideMonitor implements Monitor {
  name = "aide";
  #dir = "";
  start(): Promise<void> {
    return Deno.makeTempDir({ prefix: "bpfink-aide-" }).then((d) => void (this.#dir = d));
  }
  #conf(dir: string): string {
    return `${this.#dir}/aide.conf-${dir.replaceAll("/", "_")}`;
  }
  async begin(dir: string): Promise<void> {
    const conf = this.#conf(dir);
    await Deno.writeTextFile(
      conf,
      `database_in=file:${conf}.db\ndatabase_out=file:${conf}.db\nreport_url=stdout\n` +
        `${dir} p+i+n+u+g+s+m+c+sha256+ftype\n`,
    );
    const r = await run(["aide", "--init", "-c", conf]);
    if (r.code !== 0) throw new Error(`aide --init: ${r.out}`);
  }
  async end(dir: string): Promise<Report[]> {
    const r = await run(["aide", "--check", "-c", this.#conf(dir)]);
    const out: Report[] = [];
    // Summary lines: "f+++++++++++++++++: /path", "f-----: /path", "f   ...: /path".
    for (const line of r.out.split("\n")) {
      const m = /^([a-z!?])([+\-=. :A-Za-z]*?): (\/.*)$/.exec(line);
      if (!m) continue;
      const [, , flags, path] = m;
      const action = flags.startsWith("+")
        ? "created"
        : flags.startsWith("-")
        ? "deleted"
        : "modified";
      out.push({ path, action });
      if (action === "modified") out.push({ path, action: "attributes_changed" });
    }
    return out.filter(under(dir));
  }
  async stop(): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
