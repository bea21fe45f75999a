/**
 * `bpfink --paths` as a person sees it: driven in tmux, read off the screen.
 */
import { assert, assertIncludes } from "./assert.ts";
import { run, START_TIMEOUT_MS, tempDir, waitFor } from "./helpers.ts";

/**
 * tmux on a socket of the session's own, removed with it (`endSession`): the default one would
 * leave /tmp/tmux-0 behind.
 */
const tmuxOn = (session: string) => ["tmux", "-S", `/tmp/${session}.tmux`];

/** Ends `session` and removes its socket. */
async function endSession(session: string): Promise<void> {
  await run([...tmuxOn(session), "kill-server"]);
  await Deno.remove(`/tmp/${session}.tmux`).catch(() => {});
}

async function pane(session: string, escapes = false): Promise<string> {
  const r = await run([
    ...tmuxOn(session),
    "capture-pane",
    "-p",
    ...(escapes ? ["-e"] : []),
    "-t",
    session,
  ]);
  return r.stdout;
}

async function waitForPane(
  session: string,
  pred: (s: string) => boolean,
  ms = 90_000,
): Promise<string> {
  let last = "";
  const end = Date.now() + ms;
  while (Date.now() < end) {
    last = await pane(session);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`screen never showed what was expected:\n${last}`);
}

Deno.test("in a terminal: a bold header, one colored line per change, Ctrl-C exits 0", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/passwd`;
  await Deno.writeTextFile(f, "root:x:0:0:root:/root:/bin/bash\n");
  const session = `bpfink-test-${crypto.randomUUID().slice(0, 8)}`;
  // NO_COLOR (set by CI) would rightly turn colors off: this test is about a plain terminal.
  const cmd = `cd ${Deno.cwd()} && env -u NO_COLOR ./bpfink --paths ${f}; echo EXIT=$?; sleep 30`;
  const started = await run([
    ...tmuxOn(session),
    "new-session",
    "-d",
    "-s",
    session,
    "-x",
    "160",
    "-y",
    "20",
    cmd,
  ]);
  assert(started.code === 0, started.stderr);
  try {
    const header = await waitForPane(
      session,
      (s) => s.includes("Ctrl-C to stop"),
      START_TIMEOUT_MS,
    );
    assert(
      /bpfink \d+\.\d+\.\d+ · kernel \S+ · \w+ \(fim-\w+\.bpf\.o\) · watching 1 paths/.test(header),
      header,
    );
    const w = await run([
      "sh",
      "-c",
      'echo "alice:x:1001:1001::/home/alice:/bin/sh" >> "$1"',
      "sh",
      f,
    ]);
    const screen = await waitForPane(
      session,
      (s) => / modified +\S*passwd sh\[\d+\] uid=0/.test(s),
    );
    assertIncludes(screen, `sh[${w.pid}]`);
    const colored = await pane(session, true);
    const line = colored.split("\n").find((l) => l.includes("modified")) ?? "";
    assert(
      line.includes("\x1b[33m"),
      `the modified action is not colored: ${JSON.stringify(line)}`,
    );
    await run([...tmuxOn(session), "send-keys", "-t", session, "C-c"]);
    await waitForPane(session, (s) => s.includes("EXIT=0"));
  } finally {
    await endSession(session);
  }
});

/** `./bpfink --paths FILE` with its output piped (not a terminal), started; its text so far. */
async function plainAgent(file: string) {
  const child = new Deno.Command("./bpfink", {
    args: ["--paths", file],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const read = (stream: ReadableStream<Uint8Array>, into: string[]) =>
    (async () => {
      for await (const c of stream.pipeThrough(new TextDecoderStream())) into.push(c);
    })();
  const chunks: string[] = [];
  const errs: string[] = [];
  const reading = [read(child.stdout, chunks), read(child.stderr, errs)];
  const stop = async () => {
    try {
      child.kill("SIGINT");
    } catch { /* already gone */ }
    await child.status;
    await Promise.all(reading);
  };
  try {
    await waitFor(() => errs.join("").includes("Ctrl-C to stop"), START_TIMEOUT_MS);
  } catch (e) {
    await stop();
    throw e;
  }
  return { out: () => chunks.join(""), err: () => errs.join(""), stop };
}

Deno.test("not a terminal: no escape codes in the output", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/conf`;
  await Deno.writeTextFile(f, "a\n");
  const agent = await plainAgent(f);
  await Deno.writeTextFile(f, "b\n", { append: true });
  await waitFor(() => agent.out().includes("modified"), 5000);
  await agent.stop();
  const out = agent.out();
  assertIncludes(out, "modified");
  assert(!out.includes("\x1b["), JSON.stringify(out));
  assert(!agent.err().includes("\x1b["), "escape codes on a non-terminal stderr");
});

Deno.test("a shell that names itself dpkg is shown with the program it runs", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/conf`;
  await Deno.writeTextFile(f, "a\n");
  const agent = await plainAgent(f);
  try {
    // dash renames itself (its own /proc/self/comm: a builtin's redirection), then appends,
    // and lives on a while, so that /proc shows its program.
    const sh = await new Deno.Command("/bin/dash", {
      args: ["-c", `printf dpkg > /proc/self/comm; echo "$$"; echo b >> '${f}'; sleep 2`],
      stdout: "piped",
    }).output();
    const pid = new TextDecoder().decode(sh.stdout).trim();
    await waitFor(() => agent.out().includes("modified"), 5000);
    const line = agent.out().split("\n").find((l) => l.includes("modified")) ?? "";
    assertIncludes(line, ` dpkg[${pid}] exe=/usr/bin/dash`);
  } finally {
    await agent.stop();
  }
});

Deno.test("in a terminal: a long name cannot wrap into a row that reads like a report", async () => {
  await using dir = await tempDir();
  const shared = `${dir.path}/shared`;
  await Deno.mkdir(shared);
  const session = `bpfink-test-${crypto.randomUUID().slice(0, 8)}`;
  const width = 120;
  const cmd = `cd ${Deno.cwd()} && ./bpfink --paths ${shared} -r; sleep 30`;
  const started = await run([
    ...tmuxOn(session),
    "new-session",
    "-d",
    "-s",
    session,
    "-x",
    String(width),
    "-y",
    "30",
    cmd,
  ]);
  assert(started.code === 0, started.stderr);
  try {
    await waitForPane(session, (s) => s.includes("Ctrl-C to stop"), START_TIMEOUT_MS);
    // The audit's forgery: a name padded with blanks so that the terminal wraps a fake report
    // onto a row of its own.
    const fake = "04:05:00.001  modified   /etc/passwd useradd[4201] uid=0";
    const prefix = `04:04:59.123  created    ${shared}/`.length;
    const name = "x" + " ".repeat(width - prefix - 1) + fake + " ".repeat(width - fake.length);
    const file = `${shared}/${name}`;
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(file, "");
    const screen = await waitForPane(session, (s) => s.includes(" created "));
    const rows = screen.split("\n");
    assert(!rows.some((r) => r.trim() === fake), `a row reads as a report:\n${screen}`);
    assert(rows.some((r) => r.includes(" created ") && r.trimEnd().endsWith("…")), screen);
  } finally {
    await endSession(session);
  }
});
