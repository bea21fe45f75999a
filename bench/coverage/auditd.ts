/**
 * auditd for the benches, run the normal way with its own config and log
 * file (`-n` only keeps it from forking, so that the bench can stop it; with
 * `-f`, its debugging mode, records go to stderr instead of the log file).
 * Started only when no other audit daemon holds the kernel's audit
 * connection; `reason` says why not, otherwise.
 *
 * @module
 */

/** The key on every rule the benches add. */
export const AUDIT_KEY = "bpfinkcmp";

async function out(cmd: string[], ok = false): Promise<string> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (ok && !r.success) throw new Error(`${cmd.join(" ")}: ${text}`);
  return text;
}

/** auditd with its own log file, started and stopped by the bench. */
export class Auditd {
  child?: Deno.ChildProcess;
  reason?: string;
  constructor(readonly dir: string) {}

  /** Starts auditd and proves with a canary that a watch yields syscall records. */
  async start(): Promise<void> {
    await Deno.writeTextFile(
      `${this.dir}/auditd.conf`,
      `log_file = ${this.dir}/audit.log\nlog_format = ENRICHED\nflush = INCREMENTAL_ASYNC\nfreq = 1\nwrite_logs = yes\n` +
        "max_log_file = 64\nmax_log_file_action = ROTATE\nspace_left = 75\nspace_left_action = IGNORE\n" +
        "admin_space_left = 50\nadmin_space_left_action = IGNORE\ndisk_full_action = IGNORE\ndisk_error_action = IGNORE\n",
    );
    // Run the normal way: -n only keeps it from forking, so that the bench can stop it.
    // (With -f, the debugging mode, auditd sends its records to stderr, not to its log file.)
    const before = /pid (\d+)/.exec(await out(["auditctl", "-s"]))?.[1];
    if (before && before !== "0") {
      this.reason = `another audit daemon (pid ${before}) holds the kernel's audit connection`;
      return;
    }
    this.child = new Deno.Command("auditd", {
      args: ["-n", "-c", this.dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = new RegExp(`pid ${this.child.pid}\\b`).test(await out(["auditctl", "-s"]));
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      this.reason = "auditd did not start (kernel without audit support?)";
      return;
    }
    // Canary: does a watch produce syscall records on this kernel?
    const probe = `${this.dir}/audit-canary`;
    await Deno.mkdir(probe);
    await out(["auditctl", "-w", probe, "-p", "wa", "-k", `${AUDIT_KEY}-canary`], true);
    // Written by a new process: the kernel audits only tasks forked once audit was ever
    // enabled, and auditd may have just enabled it (this process may be older).
    await out(["sh", "-c", 'echo x > "$1"', "sh", `${probe}/f`], true);
    let seen = false;
    for (let i = 0; i < 100 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = this.log().split("\n").some((l) =>
        l.startsWith("type=SYSCALL") && l.includes(`key="${AUDIT_KEY}-canary"`)
      );
    }
    await out(["auditctl", "-W", probe, "-p", "wa", "-k", `${AUDIT_KEY}-canary`]);
    if (!seen) {
      this.reason =
        "auditd runs and accepts the watch, but no syscall record reached its log within 5 s";
    }
  }

  /** Adds (`-w`) or removes (`-W`) a watch on `path` for writes and attribute changes. */
  async watch(path: string, on = true): Promise<void> {
    await out(["auditctl", on ? "-w" : "-W", path, "-p", "wa", "-k", AUDIT_KEY], on);
  }

  /** The log so far. */
  log(): string {
    try {
      return Deno.readTextFileSync(`${this.dir}/audit.log`);
    } catch {
      return "";
    }
  }

  /** The daemon's pid, while it runs. */
  get pid(): number | undefined {
    return this.reason ? undefined : this.child?.pid;
  }

  /** Stops the daemon. */
  async stop(): Promise<void> {
    try {
      this.child?.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.child?.status;
  }
}
