/**
 * Forged terminal lines: a file name with a newline and a fake event after
 * it, and a process name set with prctl(PR_SET_NAME) to ANSI escapes. The
 * terminal output shows each event on one line, with the attacker's bytes
 * escaped. (Invalid UTF-8 is covered in src/outputs/terminal_test.ts.)
 */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { assertNoStackTrace } from "./fault_helpers.ts";

// A file name cannot hold "/": U+2215 looks the same on a screen.
const FORGED = "\n23:59:59.000  deleted    \u2215etc\u2215shadow sshd[1]";

const PRCTL = `
import ctypes, sys
libc = ctypes.CDLL(None)
libc.prctl(15, b"\\x1b[2K\\rsshd\\n", 0, 0, 0)
with open(sys.argv[1], "a") as f:
    f.write("x\\n")
`;

Deno.test("faults: file names and process names cannot forge terminal lines", async () => {
  await using dir = await tempDir();
  const watched = `${dir.path}/app.conf`;
  await Deno.writeTextFile(watched, "a=1\n");
  const child = new Deno.Command("./bpfink", {
    args: ["--paths", dir.path, "--probe", "tracepoint"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let out = "";
  let err = "";
  const reading = Promise.all([
    (async () => {
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
    })(),
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
    })(),
  ]);
  try {
    assert(await waitFor(() => / started /.test(out), 60_000), err);
    await Deno.writeTextFile(`${dir.path}/x${FORGED}`, "planted\n");
    const py = await new Deno.Command("/usr/bin/python3", { args: ["-c", PRCTL, watched] })
      .output();
    assertEquals(py.code, 0, new TextDecoder().decode(py.stderr));
    assert(
      await waitFor(
        () => out.split("\n").filter((l) => / (created|modified) /.test(l)).length >= 2,
        10_000,
      ),
      out + err,
    );
  } finally {
    child.kill("SIGINT");
    assertEquals((await child.status).code, 0, err);
    await reading;
  }
  const lines = out.split("\n").filter((l) => l.length > 0);
  // One event per line: every line starts with the time, and no forged line appears.
  for (const l of lines) {
    assert(/^\d\d:\d\d:\d\d\.\d{3} {2}\S/.test(l), `a forged line: ${JSON.stringify(l)}`);
  }
  assert(!lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} +deleted /.test(l)), out);
  assert(
    !out.includes("\x1b") && !out.includes("\r"),
    `raw escapes reached the terminal: ${JSON.stringify(out)}`,
  );
  assertIncludes(out, `x\\n23:59:59.000  deleted    \u2215etc\u2215shadow sshd[1]`);
  const modified = lines.find((l) => l.includes(" modified ") && l.includes(watched));
  assert(modified, out);
  assertIncludes(modified, `\\x1b[2K\\rsshd\\n[`);
  assertNoStackTrace(err);
});
