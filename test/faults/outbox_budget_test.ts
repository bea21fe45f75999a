/**
 * A local user churns a file of their own that is watched while the HTTP
 * receiver is down: what the agent keeps on disk stays within its budgets
 * (`outbox_max_bytes`, `history_max_bytes`), past them the outbox keeps
 * events short and then not at all (counted, said once), and once the
 * receiver is back it gets every event the agent reported, without a restart.
 */
import { assert, assertEquals } from "../assert.ts";
import { metricValue, run, tempDir, waitFor } from "../helpers.ts";
import { Daemon } from "../daemon.ts";
import { freePort } from "../services/service.ts";
import { DatabaseSync } from "node:sqlite";
import type { ChangeEvent } from "../../src/pipeline/change_event.ts";
import { assertNoStackTrace, httpDaemonConfig, runAsNobody } from "./fault_helpers.ts";

const BUDGET = 1024 * 1024;

/** Characters of JSON in `table` of the daemon's database, and how many rows were cut. */
function stored(db: string, table: string): { chars: number; rows: number; truncated: number } {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return d.prepare(
      `SELECT coalesce(sum(length(event)), 0) AS chars, count(*) AS rows, ` +
        `coalesce(sum(event LIKE '%"truncated":true%'), 0) AS truncated FROM ${table}`,
    ).get() as { chars: number; rows: number; truncated: number };
  } finally {
    d.close();
  }
}

/**
 * Rewrites ten files in `dir` `n` times each (round `round`), each time 60 other lines of 200
 * characters: a diff of about 30 KB of JSON.
 */
const CHURN = `
import sys, time
dir, n, round = sys.argv[1], int(sys.argv[2]), sys.argv[3]
junk = 'say "x" \\\\ ' * 20
for i in range(n):
    for k in range(10):
        with open(f"{dir}/notes{k}.txt", "w") as f:
            f.write("".join(f"{round}.{i} {j} {junk}\\n" for j in range(60)))
    time.sleep(0.02)
`;

Deno.test({
  name: "faults: a user's churn during an outage keeps the outbox and history within their budgets",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    // A directory of the user's own, watched (as a home directory's dotfiles are).
    const watched = `${dir.path}/home`;
    await Deno.mkdir(watched);
    for (let k = 0; k < 10; k++) await Deno.writeTextFile(`${watched}/notes${k}.txt`, "hello\n");
    await run(["chown", "-R", "nobody:nogroup", watched]);
    const port = freePort();
    const metricsPort = freePort();
    const config = `${dir.path}/config.yaml`;
    await Deno.writeTextFile(
      config,
      httpDaemonConfig(dir.path, watched, port, { maxRetries: 1, flushInterval: "100ms" }) +
        `outbox_max_bytes: ${BUDGET}\nhistory_max_bytes: ${BUDGET}\n` +
        `metrics:\n  prometheus:\n    listen: 127.0.0.1:${metricsPort}\n`,
    );
    const db = `${dir.path}/state/bpfink.db`;
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return metricValue({ metrics: { prometheusText: () => text } }, name);
    };
    const received = new Map<string, ChangeEvent>();
    let server: Deno.HttpServer | undefined;
    const daemon = new Daemon(config);
    try {
      await daemon.started();
      const ours = () =>
        daemon.changes().filter((e) => e.file?.path?.startsWith(`${watched}/notes`));
      // Rounds of rewrites until the outbox is full (far more than it can hold in full).
      const end = Date.now() + 120_000;
      for (let round = 0; Date.now() < end; round++) {
        const churn = await runAsNobody([
          "/usr/bin/python3",
          "-c",
          CHURN,
          watched,
          "20",
          `${round}`,
        ]);
        assertEquals(churn.code, 0, churn.out);
        if (await metric("bpfink_outbox_not_kept_total") > 0) break;
      }
      // Until the last rewrite is reported: a second with nothing new.
      for (let n = -1; n !== ours().length;) {
        n = ours().length;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const outbox = stored(db, "outbox");
      const history = stored(db, "event_history");
      assert(outbox.chars <= BUDGET, `outbox: ${outbox.chars} characters of ${BUDGET}`);
      assert(history.chars <= BUDGET, `history: ${history.chars} characters of ${BUDGET}`);
      assert(outbox.truncated > 0, `outbox: ${JSON.stringify(outbox)}`);
      const notKept = await metric("bpfink_outbox_not_kept_total");
      assert(notKept > 0, `not kept: ${notKept}; outbox: ${JSON.stringify(outbox)}`);
      assertEquals(await metric("bpfink_outbox_shortened_total"), outbox.truncated);
      assertEquals(await metric("bpfink_outbox_bytes"), outbox.chars);
      // Said once, with what it does meanwhile.
      assertEquals(daemon.stderr.match(/outbox: the outbox holds/g)?.length, 1, daemon.stderr);

      server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
        for (const line of (await req.text()).split("\n")) {
          if (line) {
            const e = JSON.parse(line) as ChangeEvent;
            received.set(e.event.id, e);
          }
        }
        return new Response("ok");
      });
      // Nothing lost: each event stdout had reaches the receiver too.
      const reported = ours().map((e) => e.event.id);
      const all = await waitFor(() => reported.every((id) => received.has(id)), 120_000);
      const missing = reported.filter((id) => !received.has(id));
      assert(all, `${missing.length} of ${reported.length} never reached the receiver`);
      assert(await waitFor(() => stored(db, "outbox").rows === 0, 30_000), "the outbox drained");
      assert(
        await waitFor(() => /outbox: the outbox is down to/.test(daemon.stderr), 10_000),
        daemon.stderr,
      );
    } finally {
      assertEquals(await daemon.stop(), 0, daemon.stderr);
      await server?.shutdown();
    }
    assertNoStackTrace(daemon.stderr);
  },
});
