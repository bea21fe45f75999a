/**
 * Shell completions for bash, zsh and fish, generated from the command tree,
 * so they never drift from the real options.
 *
 * @module
 */
import type { Command } from "commander";

interface Spec {
  name: string;
  options: string[];
  sub: Spec[];
}

function specOf(cmd: Command): Spec {
  return {
    name: cmd.name(),
    options: cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x))
      .concat(["--help"]),
    sub: cmd.commands.map(specOf),
  };
}

const STRATEGIES = "fentry kprobe tracepoint";
const SHELLS = "bash zsh fish";

function bash(s: Spec): string {
  const subs = s.sub.map((c) => c.name).join(" ");
  const cases = s.sub.map((c) =>
    `    ${c.name}) opts="${c.options.join(" ")} ${c.sub.map((x) => x.name).join(" ")}" ;;`
  )
    .join("\n");
  return `# bash completion for bpfink (source it, or put it in /etc/bash_completion.d/bpfink)
_bpfink() {
  local cur prev sub opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  sub="\${COMP_WORDS[1]}"
  if [ "$sub" = config ] && [ "$prev" = check ]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  case "$prev" in
    --probe) COMPREPLY=($(compgen -W "${STRATEGIES}" -- "$cur")); return ;;
    completions) COMPREPLY=($(compgen -W "${SHELLS}" -- "$cur")); return ;;
    --paths|--btf|--libbpf|--config|-c) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$sub" in
${cases}
    *) opts="${s.options.join(" ")} ${subs}" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _bpfink bpfink
`;
}

function zsh(s: Spec): string {
  return `#compdef bpfink
# zsh completion for bpfink (put it on your $fpath as _bpfink)
_bpfink() {
  local -a subcommands
  subcommands=(${s.sub.map((c) => `'${c.name}'`).join(" ")})
  if (( CURRENT == 2 )); then
    _describe 'command' subcommands
    _arguments '*:option:(${s.options.join(" ")})'
    return
  fi
  case "$words[CURRENT-1]" in
    --probe) _values 'strategy' ${STRATEGIES} ;;
    completions) _values 'shell' ${SHELLS} ;;
    --paths|--btf|--libbpf|--config|-c) _files ;;
    *) case "$words[2]" in
${
    s.sub.map((c) =>
      `      ${c.name}) _values 'option' ${c.options.concat(c.sub.map((x) => x.name)).join(" ")} ;;`
    ).join("\n")
  }
      *) _values 'option' ${s.options.join(" ")} ;;
      esac ;;
  esac
}
_bpfink "$@"
`;
}

function fish(s: Spec): string {
  const lines = [`# fish completion for bpfink (put it in ~/.config/fish/completions/bpfink.fish)`];
  for (const c of s.sub) lines.push(`complete -c bpfink -n __fish_use_subcommand -a ${c.name}`);
  for (const o of s.options) {
    if (o.startsWith("--")) lines.push(`complete -c bpfink -l ${o.slice(2)}`);
  }
  lines.push(`complete -c bpfink -l probe -x -a "${STRATEGIES}"`);
  lines.push(`complete -c bpfink -n "__fish_seen_subcommand_from completions" -x -a "${SHELLS}"`);
  for (const c of s.sub) {
    for (const o of c.options) {
      if (o.startsWith("--")) {
        lines.push(
          `complete -c bpfink -n "__fish_seen_subcommand_from ${c.name}" -l ${o.slice(2)}`,
        );
      }
    }
  }
  return lines.join("\n") + "\n";
}

/** The completion script for `shell`, or undefined for an unknown shell. */
export function completionScript(program: Command, shell: string): string | undefined {
  const s = specOf(program);
  if (shell === "bash") return bash(s);
  if (shell === "zsh") return zsh(s);
  if (shell === "fish") return fish(s);
  return undefined;
}
