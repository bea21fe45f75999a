/**
 * createOutput builds each output from its typed config.
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir } from "./helpers.ts";
import { createOutput } from "../src/outputs/output_factory.ts";
import { FileOutput } from "../src/outputs/file_output.ts";
import { HttpOutput } from "../src/outputs/http_output.ts";
import { JsonLinesOutput } from "../src/outputs/json_lines.ts";
import { SyslogOutput } from "../src/outputs/syslog/syslog_output.ts";
import { TerminalOutput } from "../src/outputs/terminal.ts";

Deno.test("createOutput: every config type gives its output", async () => {
  await using dir = await tempDir();
  const outputs = [
    createOutput({ type: "stdout", format: "json" }),
    createOutput({ type: "stdout", format: "text" }),
    createOutput({ type: "file", path: `${dir.path}/e.json`, buffer: 7 }),
    createOutput({
      type: "syslog",
      transport: "tcp",
      address: "127.0.0.1:6514",
      appName: "fim",
      facility: "local4",
      buffer: 9,
    }),
    createOutput({
      type: "http",
      url: "http://127.0.0.1:9200/_bulk",
      format: "elastic_bulk",
      headers: { authorization: "ApiKey x" },
      batchSize: 50,
      flushIntervalMs: 1000,
      timeoutMs: 5000,
      buffer: 11,
      maxRetries: 3,
    }),
  ];
  assert(outputs[0] instanceof JsonLinesOutput);
  assert(outputs[1] instanceof TerminalOutput);
  assert(outputs[2] instanceof FileOutput && outputs[2].capacity === 7);
  assert(outputs[3] instanceof SyslogOutput && outputs[3].capacity === 9);
  assertEquals((outputs[3] as SyslogOutput).format.facility, 20);
  assert(outputs[4] instanceof HttpOutput);
  assertEquals(
    [outputs[4].capacity, outputs[4].batchSize, outputs[4].maxRetries],
    [11, 50, 3],
  );
  assertEquals(outputs.map((o) => o.name), [
    "json",
    "terminal",
    `file:${dir.path}/e.json`,
    "syslog:tcp:127.0.0.1:6514",
    "http:127.0.0.1:9200/_bulk",
  ]);
  for (const o of outputs) await o.close();
});

Deno.test("createOutput: a config that cannot work throws a message naming the field", () => {
  const attempts: [() => unknown, RegExp][] = [
    [() =>
      createOutput({
        type: "syslog",
        transport: "udp",
        address: "127.0.0.1:514",
        appName: "bpfink",
        facility: "lpr2",
        buffer: 1,
      }), /facility "lpr2"/],
    [() =>
      createOutput({
        type: "syslog",
        transport: "tcp",
        address: "localhost",
        appName: "bpfink",
        facility: "authpriv",
        buffer: 1,
      }), /host:port/],
  ];
  for (const [f, re] of attempts) {
    let msg = "";
    try {
      f();
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(re.test(msg), `expected ${re}, got "${msg}"`);
  }
});
