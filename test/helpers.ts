/**
 * Helpers shared by the tests: an in-memory output that records events, a
 * temp dir that removes itself, and polling with a deadline.
 *
 * @module
 */
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import type { Output } from "../src/outputs/output.ts";
import { checkEvent } from "./ecs_validate.ts";
import { errorMessage } from "../src/error_message.ts";

/**
 * An output that keeps every event it is given (a real sink, read by the
 * test). Every event is checked against ECS and bpfink's JSON Schema; reading
 * `events` fails the test once an invalid one was written.
 */
export class CaptureOutput implements Output {
  readonly name = "capture";
  readonly #events: ChangeEvent[] = [];
  readonly #invalid: string[] = [];
  write(e: ChangeEvent): void {
    try {
      checkEvent(e, "an event the agent emitted");
    } catch (err) {
      this.#invalid.push(errorMessage(err));
    }
    this.#events.push(e);
  }
  /** Every event written (throws when one was not valid ECS). */
  get events(): ChangeEvent[] {
    if (this.#invalid.length) throw new Error(this.#invalid[0]);
    return this.#events;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  /** Events other than the start record. */
  changes(path?: string): ChangeEvent[] {
    return this.events.filter((e) =>
      e.event.action !== "started" && (!path || e.file?.path === path)
    );
  }
}

/**
 * A temp dir removed on dispose; in `dir` when given (default: the system's,
 * /tmp). An agent marks the directories above its watched paths with
 * fanotify, and reads the directories other processes make in /tmp: a test
 * that needs the agent to hear nothing uses a quieter place (/var/tmp).
 */
export async function tempDir(
  prefix = "bpfink-test-",
  dir?: string,
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix, dir }));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * How long a test waits for bpfink to start. Starting loads and verifies BPF
 * objects, which takes seconds on an idle machine and far longer on a loaded
 * one; waiting returns as soon as it has started, so a long bound costs nothing.
 */
export const START_TIMEOUT_MS = 120_000;

/** The value of metric `name` (one without labels) in an agent's Prometheus text; NaN when absent. */
export function metricValue(
  agent: { metrics: { prometheusText(): string } },
  name: string,
): number {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(agent.metrics.prometheusText());
  return Number(m?.[1]);
}

/** Polls `pred` every 5 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(pred: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return pred();
}

/** Runs a command to completion; returns its pid, exit code and output. */
export async function run(cmd: string[], opts: { env?: Record<string, string> } = {}) {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
  }).spawn();
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    pid: child.pid,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/**
 * The ids bpftool lists for `kind` ("link" or "prog") right now. A listing
 * fails when an object goes between bpftool's walk of the ids and its look
 * at one (an agent of a test beside this one exiting: "can't get link by
 * id", in its JSON on stdout), so a failed one is made again, up to five
 * times.
 */
async function bpftoolIds(kind: "link" | "prog"): Promise<Set<number>> {
  for (let tries = 1;; tries++) {
    const r = await run(["bpftool", "-j", kind, "list"]);
    if (r.code === 0) {
      return new Set((JSON.parse(r.stdout || "[]") as { id: number }[]).map((o) => o.id));
    }
    if (tries >= 5) {
      throw new Error(`bpftool ${kind} list failed: ${(r.stderr || r.stdout).trim()}`);
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** IDs of the BPF links attached right now (bpftool). */
export function bpfLinkIds(): Promise<Set<number>> {
  return bpftoolIds("link");
}

/** IDs of the BPF programs loaded right now (bpftool). */
export function bpfProgIds(): Promise<Set<number>> {
  return bpftoolIds("prog");
}

/**
 * The BPF links and programs process `pid` holds open (from its fds' fdinfo:
 * `link_id` and `prog_id`), so a test asserts only on what its own process
 * attached, never on what other agents on the machine do.
 */
export function bpfObjectsOf(pid: number): { links: Set<number>; progs: Set<number> } {
  const links = new Set<number>();
  const progs = new Set<number>();
  let fds: Deno.DirEntry[] = [];
  try {
    fds = [...Deno.readDirSync(`/proc/${pid}/fdinfo`)];
  } catch {
    return { links, progs }; // exited
  }
  for (const fd of fds) {
    let info = "";
    try {
      info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`);
    } catch {
      continue; // closed meanwhile
    }
    const link = /^link_id:\s*(\d+)$/m.exec(info);
    if (link) links.add(Number(link[1]));
    else {
      const prog = /^prog_id:\s*(\d+)$/m.exec(info);
      if (prog) progs.add(Number(prog[1]));
    }
  }
  return { links, progs };
}

/**
 * Which of `own` (links and programs a process held) still exist, after
 * giving the kernel up to `ms` to free them (programs are freed in deferred
 * work after the last reference goes).
 */
export async function bpfObjectsLeft(
  own: { links: Set<number>; progs: Set<number> },
  ms = 3000,
): Promise<{ links: number[]; progs: number[] }> {
  const end = Date.now() + ms;
  for (;;) {
    const links = await bpfLinkIds();
    const progs = await bpfProgIds();
    const left = {
      links: [...own.links].filter((id) => links.has(id)),
      progs: [...own.progs].filter((id) => progs.has(id)),
    };
    if ((left.links.length === 0 && left.progs.length === 0) || Date.now() >= end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `cmd` run as nobody, with no supplementary groups (`setpriv`): an unprivileged user's act. */
export function asNobody(cmd: string[]): string[] {
  return ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", ...cmd];
}

/** Runs shell `script` in `cwd` (which it is given as $1 too), failing on a non-zero exit; its pid. */
export async function shIn(script: string, cwd: string): Promise<number> {
  const r = await run(["sh", "-c", `cd "$1" && ${script}`, "sh", cwd]);
  if (r.code !== 0) throw new Error(`${script}: exit ${r.code}: ${r.stderr}`);
  return r.pid;
}

/**
 * Runs `sh -c script` in `cwd` while this thread (an in-process agent's event loop, as a
 * loaded machine holds it) is held, until the script has made the file `done` in `cwd`
 * (removed again after); returns the shell's pid. What the script does reaches the agent
 * together, once it is done: the kernel's events wait in the ring buffer meanwhile.
 */
export async function whileHeld(script: string, cwd: string): Promise<number> {
  const child = new Deno.Command("sh", {
    args: ["-c", `cd "$1" && ${script} && : > done`, "sh", cwd],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      Deno.statSync(`${cwd}/done`);
      break;
    } catch {
      if (Date.now() > until) break;
      Atomics.wait(nap, 0, 0, 2);
    }
  }
  const out = await child.output();
  await Deno.remove(`${cwd}/done`).catch(() => {});
  if (!out.success) throw new Error(`${script}: ${new TextDecoder().decode(out.stderr)}`);
  return child.pid;
}

/** The changes captured, as [action, path, process name] triples, for a failure message. */
export const changesShown = (out: CaptureOutput) =>
  JSON.stringify(out.changes().map((e) => [e.event.action, e.file?.path, e.process?.name]));

/**
 * Makes a new ed25519 key pair at `path` and `path`.pub (ssh-keygen, no
 * passphrase, `comment`); returns the public key's line.
 */
export async function newSshKey(path: string, comment: string): Promise<string> {
  const gen = await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  if (gen.code !== 0) throw new Error(`ssh-keygen failed: ${gen.stderr}`);
  return await Deno.readTextFile(`${path}.pub`);
}
