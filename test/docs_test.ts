/**
 * The generated documentation is current and true: the man page (from the
 * command tree behind --help) renders without groff warnings and names every
 * command; the config reference lists every key the loader accepts, and every
 * example in it loads; bash completion completes subcommands, strategies and
 * shells.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { generatedDocs } from "../docs/generated.ts";
import { CONFIG_REFERENCE } from "../src/config/config_reference.ts";
import { parseConfig } from "../src/config/load_config.ts";
import { buildCli } from "../src/main.ts";
import { hasCommand } from "./services/service.ts";

Deno.test("docs: docs/bpfink.8 and docs/config.md are what `deno task docs` generates", async () => {
  for (const [file, text] of Object.entries(generatedDocs())) {
    const onDisk = await Deno.readTextFile(file);
    // config.md is deno-fmt'ed after generation: compare its content, not its layout.
    const norm = (s: string) =>
      s.replace(/\s+/g, " ").replace(/ ?\| ?/g, "|").replace(/\|-+/g, "|-");
    assertEquals(norm(onDisk), norm(text), `${file} is stale: run deno task docs`);
  }
});

Deno.test({
  name: "docs: the man page renders without warnings and documents every command and option",
  ignore: !hasCommand("groff"),
  async fn() {
    const g = await run(["groff", "-man", "-Tutf8", "-ww", "-z", "docs/bpfink.8"]);
    assertEquals([g.code, g.stderr], [0, ""]);
    // man overstrikes for bold on a terminal: plain text with MANPAGER=cat and no overstrike.
    const page =
      (await run(["sh", "-c", "MAN_KEEP_FORMATTING= man -l docs/bpfink.8 | col -b"])).stdout;
    const program = buildCli(() => {});
    const walk = (c: typeof program, prefix: string) => {
      for (const sub of c.commands) {
        const name = `${prefix} ${sub.name()}`;
        assertIncludes(page, name);
        for (const o of sub.options) if (!o.hidden) assertIncludes(page, o.long ?? o.flags);
        walk(sub, name);
      }
    };
    walk(program, "bpfink");
    for (const s of ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"]) assertIncludes(page, s);
  },
});

/** The keys the loader accepts in `section`: it names them when given an unknown one. */
function allowedKeys(yaml: string): string[] {
  const r = parseConfig(yaml);
  const m = r.errors.map((e) => /unknown key "zz_unknown" \(allowed: ([^)]*)\)/.exec(e.message))
    .find((x) => x);
  assert(m, `no unknown-key error for:\n${yaml}\n${JSON.stringify(r.errors)}`);
  return m[1].split(", ").sort();
}

const SECTIONS: Record<string, string> = {
  config: "zz_unknown: 1\nwatches: [/etc/hosts]\n",
  watch: "watches:\n  - path: /etc/hosts\n    zz_unknown: 1\n",
  ignore: "watches:\n  - path: /etc/hosts\n    ignore: {zz_unknown: 1}\n",
  "output stdout": "watches: [/etc/hosts]\noutputs:\n  - {type: stdout, zz_unknown: 1}\n",
  "output file": "watches: [/etc/hosts]\noutputs:\n  - {type: file, path: /tmp/x, zz_unknown: 1}\n",
  "output syslog": "watches: [/etc/hosts]\noutputs:\n  - {type: syslog, zz_unknown: 1}\n",
  "output http":
    "watches: [/etc/hosts]\noutputs:\n  - {type: http, url: 'http://x/', zz_unknown: 1}\n",
  "output nats":
    "watches: [/etc/hosts]\noutputs:\n  - {type: nats, servers: ['a:1'], zz_unknown: 1}\n",
  metrics: "watches: [/etc/hosts]\nmetrics: {zz_unknown: 1}\n",
  prometheus: "watches: [/etc/hosts]\nmetrics: {prometheus: {zz_unknown: 1}}\n",
  graphite: "watches: [/etc/hosts]\nmetrics: {graphite: {address: 'a:1', zz_unknown: 1}}\n",
};

Deno.test("docs: the config reference lists exactly the keys the loader accepts", () => {
  const documented = new Set(CONFIG_REFERENCE.map((k) => k.section));
  assertEquals([...documented].sort(), Object.keys(SECTIONS).sort());
  for (const [section, yaml] of Object.entries(SECTIONS)) {
    assertEquals(
      CONFIG_REFERENCE.filter((k) => k.section === section).map((k) => k.key).sort(),
      allowedKeys(yaml),
      `section ${section}`,
    );
  }
});

Deno.test("docs: every example in the config reference loads without an error", () => {
  const where: Record<string, (k: string, v: string) => string> = {
    config: (k, v) => k === "watches" ? `watches: ${v}\n` : `watches: [/etc/hosts]\n${k}: ${v}\n`,
    watch: (k, v) =>
      `watches:\n  - ${k === "path" ? `path: ${v}` : `path: /etc/hosts\n    ${k}: ${v}`}\n`,
    ignore: (k, v) => `watches:\n  - path: /etc/hosts\n    ignore: {${k}: ${v}}\n`,
    metrics: (k, v) => `watches: [/etc/hosts]\nmetrics: {${k}: ${v}}\n`,
    prometheus: (k, v) => `watches: [/etc/hosts]\nmetrics: {prometheus: {${k}: ${v}}}\n`,
    graphite: (k, v) =>
      `watches: [/etc/hosts]\nmetrics: {graphite: {${
        k === "address" ? "" : "address: 'g:2003', "
      }${k}: ${v}}}\n`,
  };
  const required: Record<string, string> = {
    "output file": "path: /tmp/x",
    "output http": "url: 'http://x/'",
    "output nats": "servers: ['a:4222']",
  };
  for (const k of CONFIG_REFERENCE) {
    const out = /^output (\w+)$/.exec(k.section)?.[1];
    const yaml = out
      ? `watches: [/etc/hosts]\noutputs:\n  - type: ${out}\n` +
        (k.key === "type" ? "" : `    ${k.key}: ${k.example}\n`) +
        (required[k.section] && !required[k.section].startsWith(k.key)
          ? `    ${required[k.section]}\n`
          : "")
      : where[k.section](k.key, k.example);
    const r = parseConfig(yaml);
    assertEquals(r.errors, [], `${k.section}.${k.key} example:\n${yaml}`);
  }
});

Deno.test("completions: bash completes subcommands, strategies and shells", async () => {
  await using dir = await tempDir();
  const script = `${dir.path}/bpfink.bash`;
  const gen = await run(["./bpfink", "completions", "bash"]);
  assertEquals(gen.code, 0, gen.stderr);
  await Deno.writeTextFile(script, gen.stdout);
  const complete = async (...words: string[]) => {
    const r = await run([
      "bash",
      "-c",
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _bpfink; echo "\${COMPREPLY[*]}"`,
      "bash",
      script,
      ...words,
    ]);
    assertEquals(r.code, 0, r.stderr);
    return r.stdout.trim().split(" ");
  };
  const top = await complete("bpfink", "");
  for (const c of ["run", "check", "events", "status", "kernels", "config", "completions"]) {
    assert(top.includes(c), `${c} not offered: ${top}`);
  }
  assertEquals(await complete("bpfink", "completions", ""), ["bash", "zsh", "fish"]);
  assertEquals(await complete("bpfink", "run", "--probe", ""), ["fentry", "kprobe", "tracepoint"]);
  assertEquals(await complete("bpfink", "--probe", "k"), ["kprobe"]);
  assert((await complete("bpfink", "events", "--")).includes("--since"));
});
