/**
 * bpfink's command line.
 *
 *   bpfink --paths /etc/passwd,/etc/shadow      watch files live
 *   bpfink kernels                              kernel objects and the choice
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { VERSION } from "./version.ts";
import { AgentError } from "./agent/agent_error.ts";
import { describeFatal } from "./agent/failure_policy.ts";
import { versionLine } from "./build_info.ts";
import { completionScript } from "./cli/completions.ts";
import { watchCommand } from "./cli/watch_command.ts";
import { setupLogging } from "./log.ts";
import { catchTermination } from "./cli/signals.ts";
// Each command but `--paths` is imported when it runs: a watch never loads the daemon's
// outputs, config parser or history.

const STRATEGY_HELP = "only try this kernel object: fentry, kprobe or tracepoint";

/** The manual part of `--help` (after the options): also the man page's sections. */
export const MANUAL = `
Description:
  bpfink filters file events inside the kernel with BPF, by inode, and reports
  each change to a watched file with the process and user that made it. Files
  it understands (passwd, shadow, group, gshadow, sudoers, access.conf,
  authorized_keys, sshd_config, crontabs, ld.so.preload, pam.d) are reported
  by meaning: "user alice added with uid 0".
  Secrets such as password hashes never reach an output.

  It embeds one BPF object per attach strategy (fentry, kprobe, tracepoint)
  and uses the best one the running kernel accepts, after proving it with a
  canary write.

Examples:
  Watch two files live:
    sudo bpfink --paths /etc/passwd,/etc/shadow
  Watch a tree, as JSON lines for a pipeline:
    sudo bpfink --paths /etc/sudoers.d -r --json | jq .message
  See which kernel object bpfink picks here, and why:
    sudo bpfink kernels
  Run as a daemon:
    sudo bpfink run --config /etc/bpfink/config.yaml
  Compare the disk with the baseline once (cron):
    sudo bpfink check --config /etc/bpfink/config.yaml
  Past events, and the daemon's state:
    sudo bpfink events --since 2h --path '/etc/sudoers*'
    sudo bpfink status
  Validate a config:
    bpfink config check /etc/bpfink/config.yaml
  Install completions:
    bpfink completions bash > /etc/bash_completion.d/bpfink

Exit status:
  0  stopped by SIGINT or SIGTERM, or the command succeeded
  1  bpfink cannot run here (not root, no BTF, no working kernel object, ...);
     check: the disk differs from the baseline
  2  usage error, invalid config, or none of the paths exist

Environment:
  BPFINK_LIBBPF  libbpf shared object to load instead of the embedded one
  BPFINK_BPF_STATS  1 keeps BPF run-time statistics on (per-program metrics)
  BPFINK_FANOTIFY  0 turns off the fanotify marks beside the BPF object
  NO_COLOR       no colors on a terminal

Files:
  /etc/bpfink/config.yaml      daemon config
  /var/lib/bpfink/hmac.key     per-host key for secret fingerprints (0600)
  /var/lib/bpfink/bpfink.db    baseline database (SQLite)
  /run/bpfink/                 the embedded libbpf and native code, written at start`;

/** Builds the command tree; `run` receives each command's exit code. */
export function buildCli(run: (code: Promise<number>) => void): Command {
  const program = new Command("bpfink")
    .description(
      "File-integrity monitoring with BPF: reports what changed in watched files, and who changed it.",
    )
    .version(versionLine(VERSION), "-V, --version")
    .enablePositionalOptions()
    // Before the subcommands: they inherit it, so their usage errors exit 2 too.
    .exitOverride()
    .option("--paths <list>", "comma-separated files or directories to watch")
    .option("--json", "print one JSON object per line (ECS field names) instead of text")
    .option("--probe <strategy>", STRATEGY_HELP)
    .option("--btf <file>", "kernel BTF for CO-RE (default /sys/kernel/btf/vmlinux)")
    .option("--libbpf <file>", "libbpf shared object to use (default: embedded, then libbpf.so.1)")
    .option("-r, --recursive", "descend into subdirectories of watched directories")
    .addOption(
      new Option("--settle-ms <ms>", "fold a file's events for this long before re-reading it")
        .hideHelp(),
    )
    .addHelpText("after", MANUAL)
    .action((opts) => {
      if (!opts.paths) {
        program.outputHelp();
        run(Promise.resolve(2));
        return;
      }
      run(watchCommand(opts));
    });
  program.command("kernels")
    .description(
      "show the embedded kernel objects, what this kernel offers, and which object bpfink picks",
    )
    .option("--probe <strategy>", STRATEGY_HELP)
    .option("--btf <file>", "kernel BTF for CO-RE")
    .option("--libbpf <file>", "libbpf shared object to use")
    .option("--json", "machine-readable output")
    .option(
      "--stats <seconds>",
      "also sample what the bpfink programs running now cost (BPF run-time statistics)",
    )
    .action((opts) => run(import("./cli/kernels_command.ts").then((m) => m.kernelsCommand(opts))));
  program.command("run")
    .description("run as a daemon with a YAML config")
    .requiredOption("-c, --config <file>", "the config file", "/etc/bpfink/config.yaml")
    .option("--probe <strategy>", STRATEGY_HELP)
    .option("--btf <file>", "kernel BTF for CO-RE")
    .option("--libbpf <file>", "libbpf shared object to use")
    .action((opts) => run(import("./cli/run_command.ts").then((m) => m.runCommand(opts))));
  const config = program.command("config").description("work with config files");
  config.command("check")
    .description("validate a config file; problems are printed as FILE:LINE:COL")
    .argument("<file>", "the config file")
    .action((file: string) =>
      run(import("./cli/config_command.ts").then((m) => m.configCheckCommand(file)))
    );
  program.command("check")
    .description(
      "compare the disk with the recorded baseline once (for cron and CI); exit 1 on differences",
    )
    .requiredOption("-c, --config <file>", "the config file", "/etc/bpfink/config.yaml")
    .option("--json", "one JSON object per difference")
    .action((opts) => run(import("./cli/check_command.ts").then((m) => m.checkCommand(opts))));
  program.command("events")
    .description("query past events from the daemon's database, as a table or JSON lines")
    .requiredOption("-c, --config <file>", "the config file", "/etc/bpfink/config.yaml")
    .option("--since <when>", "from this time: ISO 8601 date or a duration ago (30m, 2h, 7d)")
    .option("--until <when>", "up to this time")
    .option("--path <glob>", "only paths matching this glob (* ** ? [..])")
    .option("--action <action>", "only this event.action (modified, user_added, ...)")
    .option("--limit <n>", "at most this many events, the newest (default 1000)")
    .option("--json", "one JSON object per line")
    .action((opts) => run(import("./cli/events_command.ts").then((m) => m.eventsCommand(opts))));
  program.command("status")
    .description(
      "show the daemon: kernel object, watches, backlog, last reconcile, kernel cost per program",
    )
    .requiredOption("-c, --config <file>", "the config file", "/etc/bpfink/config.yaml")
    .option("--json", "machine-readable output")
    .action((opts) => run(import("./cli/status_command.ts").then((m) => m.statusCommand(opts))));
  program.command("completions")
    .description("print a shell completion script")
    .argument("<shell>", "bash, zsh or fish")
    .action((shell: string) => {
      const script = completionScript(program, shell);
      if (!script) {
        throw new AgentError(`completions are available for bash, zsh and fish, not "${shell}"`, 2);
      }
      Deno.stdout.writeSync(new TextEncoder().encode(script));
      run(Promise.resolve(0));
    });
  return program;
}

async function main(args: string[]): Promise<number> {
  // First of all: a SIGINT or SIGTERM from here on is a clean stop with exit 0.
  catchTermination();
  setupLogging();
  let pending: Promise<number> | undefined;
  const program = buildCli((p) => (pending = p));
  try {
    await program.parseAsync(args, { from: "user" });
    return pending ? await pending : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" ||
          e.code === "commander.version"
        ? 0
        : 2;
    }
    const fatal = describeFatal(e);
    console.error(`bpfink: ${fatal.message}`);
    return fatal.exitCode;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
