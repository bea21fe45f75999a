/**
 * A create/unlink flood by an unprivileged user, beside thousands of their
 * files in a watched world-writable directory, fills the ring buffer again and
 * again; each drop check rescans. Root's change to passwd is still reported
 * while the flood goes on, within a bound that does not grow with the flood.
 * Real files, the real agent, the user's side as `nobody` (setpriv). Needs root.
 *
 * @module
 */
import { assert } from "./assert.ts";
import { Agent, watchesForPaths } from "../src/agent/agent.ts";
import { CaptureOutput, metricValue, tempDir, waitFor } from "./helpers.ts";

const NOBODY = 65534;
/** Files the user keeps in the shared directory. */
const FILES = 8000;
/** Processes creating and unlinking files as fast as they can. */
const FLOODERS = 3;
/** How long the flood goes on unless the test ends it. */
const FLOOD_S = 90;
/** Root's change must be reported within this, flood or not (before: when the flood stopped). */
const BOUND_MS = 20_000;

Deno.test("root's changes to passwd and to another user's file are reported during a user's create/unlink flood beside 8,000 of their files", async () => {
  await using dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  const etc = `${dir.path}/etc`;
  const shared = `${dir.path}/shared`;
  await Deno.mkdir(etc);
  await Deno.copyFile("/etc/passwd", `${etc}/passwd`);
  await Deno.copyFile("/etc/group", `${etc}/group`);
  // Another user's file (as ~alice/.ssh/authorized_keys is alice's): read in the same lane as
  // the flooder's, yet not behind all of theirs.
  const keys = `${etc}/authorized_keys`;
  await Deno.writeTextFile(keys, "ssh-ed25519 AAAA first\n");
  await Deno.chown(keys, 1, 1);
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777);
  const made = await new Deno.Command("setpriv", {
    args: [
      ...["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups"],
      ...["perl", "-e", 'for(1..$ARGV[0]){open F,">","$ARGV[1]/f$_" or die; print F "x"; close F}'],
      ...[String(FILES), shared],
    ],
  }).output();
  assert(made.success, "making the user's files failed");
  const passwd = `${etc}/passwd`;
  const out = new CaptureOutput();
  // A small ring, as a busy host's is for this flood: drops come within a second.
  const agent = await Agent.start({
    watches: watchesForPaths([etc, shared], true),
    outputs: [out],
    ringBytes: 64 * 1024,
  });
  const floods: Deno.ChildProcess[] = [];
  try {
    for (let k = 0; k < FLOODERS; k++) {
      floods.push(
        new Deno.Command("setpriv", {
          args: [
            ...["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups"],
            ...[
              "perl",
              "-e",
              'my $end = time + $ARGV[0]; while (time < $end) { for (1..1000) { open F, ">", "$ARGV[1]$_"; close F; unlink "$ARGV[1]$_" } }',
            ],
            ...[String(FLOOD_S), `${shared}/x${k}_`],
          ],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    // Until the flood has made the kernel drop events and the agent rescan.
    assert(
      await waitFor(() => metricValue(agent, "bpfink_rescans_total") >= 2, 30_000),
      "the flood never made the agent rescan",
    );
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = performance.now();
    await Deno.writeTextFile(passwd, "late:x:0:0::/root:/bin/sh\n", { append: true });
    const reported = await waitFor(
      () => out.changes(passwd).some((e) => e.message?.includes("user late added")),
      BOUND_MS,
    );
    const ms = performance.now() - t0;
    const stillFlooding = await Promise.race([
      Promise.all(floods.map((f) => f.status)).then(() => false),
      Promise.resolve(true),
    ]);
    console.log(
      `root's passwd change reported after ${
        ms.toFixed(0)
      } ms, flood still on: ${stillFlooding}, ` +
        `rescans ${metricValue(agent, "bpfink_rescans_total")}`,
    );
    assert(reported, `root's uid-0 user was not reported within ${BOUND_MS} ms of the flood`);
    // Root's change to another user's file: before owners took turns, 35 s (the flood's end).
    const t1 = performance.now();
    await Deno.writeTextFile(keys, "ssh-ed25519 AAAA second\n", { append: true });
    const keysReported = await waitFor(
      () => out.changes(keys).some((e) => e.event.action === "modified"),
      BOUND_MS,
    );
    console.log(
      `root's change to uid 1's file reported after ${(performance.now() - t1).toFixed(0)} ms`,
    );
    assert(keysReported, `root's change to uid 1's file was not reported within ${BOUND_MS} ms`);
  } finally {
    for (const f of floods) {
      try {
        f.kill("SIGKILL");
      } catch { /* ended */ }
    }
    await Promise.all(floods.map((f) => f.status));
    await agent.stop();
  }
});
