/**
 * bpfink's command line.
 *
 *   bpfink --paths /etc/passwd,/etc/shadow      watch files live
 *   bpfink kernels                              kernel objects and the choice
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { VERSION } from "./agent/agent.ts";
import { AgentError } from "./agent/agent_error.ts";
import { configCheckCommand } from "./cli/config_command.ts";
import { kernelsCommand } from "./cli/kernels_command.ts";
import { runCommand } from "./cli/run_command.ts";
import { watchCommand } from "./cli/watch_command.ts";
import { setupLogging } from "./log.ts";

const STRATEGY_HELP = "only try this kernel object: fentry, kprobe or tracepoint";

/** Builds the command tree; `run` receives each command's exit code. */
export function buildCli(run: (code: Promise<number>) => void): Command {
  const program = new Command("bpfink")
    .description(
      "File-integrity monitoring with BPF: reports what changed in watched files, and who changed it.",
    )
    .version(VERSION, "-V, --version")
    .enablePositionalOptions()
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
    .addHelpText(
      "after",
      `
Examples:
  sudo bpfink --paths /etc/passwd,/etc/shadow
  sudo bpfink --paths /etc/sudoers.d --json
  sudo bpfink kernels
  sudo bpfink run --config /etc/bpfink/config.yaml
  bpfink config check /etc/bpfink/config.yaml`,
    )
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
    .action((opts) => run(kernelsCommand(opts)));
  program.command("run")
    .description("run as a daemon with a YAML config")
    .requiredOption("-c, --config <file>", "the config file", "/etc/bpfink/config.yaml")
    .option("--probe <strategy>", STRATEGY_HELP)
    .option("--btf <file>", "kernel BTF for CO-RE")
    .option("--libbpf <file>", "libbpf shared object to use")
    .action((opts) => run(runCommand(opts)));
  const config = program.command("config").description("work with config files");
  config.command("check")
    .description("validate a config file; problems are printed as FILE:LINE:COL")
    .argument("<file>", "the config file")
    .action((file: string) => run(configCheckCommand(file)));
  program.exitOverride();
  return program;
}

async function main(args: string[]): Promise<number> {
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
    if (e instanceof AgentError) {
      console.error(`bpfink: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
