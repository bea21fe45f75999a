import { assert, assertEquals } from "../test/assert.ts";
import { escapeTerminal, fitLine } from "./terminal_escape.ts";

Deno.test("control characters and bytes that are not UTF-8 in a log message are escaped; text stays", () => {
  assertEquals(escapeTerminal("a\nb\tc\x1b[31m\x7f\x9b"), "a\\nb\\tc\\x1b[31m\\x7f\\x9b");
  assertEquals(escapeTerminal("x\udcff"), "x\\udcff");
  assertEquals(escapeTerminal("été 💀 /etc/x"), "été 💀 /etc/x");
});

Deno.test("a text log line that quotes a hostile name stays one line with no escape sequence", async () => {
  const code = `import { log, setupLogging } from ${
    JSON.stringify(new URL("./log.ts", import.meta.url).href)
  };
setupLogging();
log("watch").warn(\`cannot read \${Deno.args[0]}: gone\`);`;
  const config = new URL("../deno.json", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--config",
      config,
      code,
      "/etc/x\n12:00:00.000 [ERR] bpfink·kernel: forged\x1b]0;t\x07",
    ],
    stderr: "piped",
    stdout: "null",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, err);
  assertEquals(err.split("\n").filter(Boolean).length, 1, err);
  assert(!err.includes("\x1b]") && !err.includes("\x07"), JSON.stringify(err));
  assert(err.includes("/etc/x\\n12:00:00.000 [ERR]"), err);
});

Deno.test("escapeTerminal: what shows as nothing or as a plain space is escaped", () => {
  assertEquals(
    escapeTerminal("\ufeffalice\u200b x\u00a0y\u3000z"),
    "\\ufeffalice\\u200b x\\xa0y\\u3000z",
  );
});

Deno.test("fitLine: a line wider than the terminal is cut to fit, its colors kept whole and ended", () => {
  assertEquals(fitLine("short", 80), "short");
  const cut = fitLine("a".repeat(100), 40);
  assertEquals(cut, "a".repeat(38) + "…");
  const colored = fitLine("\x1b[33mmodified\x1b[0m " + "b".repeat(100), 20);
  assertEquals(colored, "\x1b[33mmodified\x1b[0m bbbbbbbbb…\x1b[0m");
  // Wide characters take two cells.
  assertEquals(fitLine("界".repeat(30), 20), "界".repeat(9) + "…");
});
