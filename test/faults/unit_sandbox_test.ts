/**
 * The shipped unit and example config agree: under the unit's file-system
 * restrictions (a private mount namespace with /etc and /usr read-only, a
 * fresh state directory as StateDirectory= gives, the runtime directory),
 * `bpfink run --config examples/config.yaml` starts for the first time and
 * stops with 0. A key file on the read-only /etc is refused in one sentence.
 */
import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { assertNoStackTrace, collect } from "./fault_helpers.ts";

/** The unit's ReadWritePaths=, StateDirectory= and ProtectSystem= as this test mimics them. */
async function unitDirectives(): Promise<{ readWrite: string[]; protectSystem: string }> {
  const unit = await Deno.readTextFile("deploy/systemd/bpfink.service");
  const value = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(unit)?.[1] ?? "";
  return { readWrite: value("ReadWritePaths").split(/\s+/), protectSystem: value("ProtectSystem") };
}

/** Runs `bpfink run --config CONFIG` in a private mount namespace shaped like the unit's. */
function sandboxed(config: string, log: string): Deno.ChildProcess {
  const script = `set -e
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -m 0700 /var/lib/bpfink
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0700 /run/bpfink
for d in /etc /usr; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; done
touch /etc/.bpfink-rw-probe 2>/dev/null && { echo "/etc is writable" >&2; exit 99; }
./bpfink run --config ${config} &
pid=$!
trap 'kill -TERM $pid' TERM
set +e
wait $pid; rc=$?
[ $rc -gt 128 ] && { wait $pid; rc=$?; }
ls -ln /var/lib/bpfink > ${log}
exit $rc
`;
  return new Deno.Command("unshare", {
    args: ["--mount", "--propagation", "private", "sh", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("faults: the example config starts under the unit's file-system restrictions (read-only /etc)", async () => {
  const unit = await unitDirectives();
  assertEquals(unit.protectSystem, "strict");
  const example = await Deno.readTextFile("examples/config.yaml");
  const key = /^key_file: (\S+)/m.exec(example)![1];
  const db = /^database: (\S+)/m.exec(example)![1];
  for (const f of [key, db]) {
    assert(
      unit.readWrite.some((d) => f.startsWith(d + "/")),
      `${f} is outside the unit's ReadWritePaths (${unit.readWrite.join(" ")})`,
    );
  }

  await using dir = await tempDir();
  const log = `${dir.path}/state.txt`;
  const child = sandboxed("examples/config.yaml", log);
  const { out, done } = collect(child);
  const started = await waitFor(() => out.stdout.includes('"action":"started"'), 60_000);
  child.kill("SIGTERM");
  const status = await child.status;
  await done;
  assert(started, `no start under the unit's restrictions:\n${out.stderr}`);
  assertEquals(status.code, 0, out.stderr);
  assertNoStackTrace(out.stderr);
  const state = await Deno.readTextFile(log);
  assert(/^-rw------- +1 0 0 +32 .* hmac\.key$/m.test(state), state);
  assert(/^-rw------- +1 0 0 .* bpfink\.db$/m.test(state), state);

  // The old layout (key under /etc/bpfink) cannot start there: one sentence says why and what to do.
  const old = `${dir.path}/old.yaml`;
  await Deno.writeTextFile(
    old,
    example.replace(/^key_file: .*$/m, "key_file: /etc/bpfink-test-absent/hmac.key"),
  );
  const child2 = sandboxed(old, log);
  const second = collect(child2);
  const status2 = await child2.status;
  await second.done;
  assertEquals(status2.code, 1, second.out.stderr);
  assertIncludes(second.out.stderr, "the file system is read-only");
  assertIncludes(second.out.stderr, "set key_file to a writable place");
  assertNoStackTrace(second.out.stderr);
});
