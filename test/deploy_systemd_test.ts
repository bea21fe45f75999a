/**
 * deploy/systemd/bpfink.service passes `systemd-analyze verify` with no
 * warning about it, and keeps the hardening the brief asks for.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { hasCommand } from "./services/service.ts";

const UNIT = "deploy/systemd/bpfink.service";

/** Verifies `text` as a unit file named bpfink.service; returns the exit code and the lines about it. */
async function verify(text: string): Promise<{ code: number; ours: string[]; all: string }> {
  await using dir = await tempDir();
  const path = `${dir.path}/bpfink.service`;
  await Deno.writeTextFile(path, text);
  const r = await run(["systemd-analyze", "verify", path]);
  const all = r.stdout + r.stderr;
  // Units of other packages on this machine may warn too; only ours counts.
  const ours = all.split("\n").filter((l) => l.includes(path) || l.startsWith("bpfink.service"));
  return { code: r.code, ours, all };
}

/** The unit with ExecStart pointed at an executable that exists here (verify checks it). */
async function unitHere(): Promise<string> {
  return (await Deno.readTextFile(UNIT)).replace("/usr/local/bin/bpfink", `${Deno.cwd()}/bpfink`);
}

Deno.test({
  name: "deploy/systemd/bpfink.service: systemd-analyze verify reports nothing about it",
  ignore: !hasCommand("systemd-analyze"),
  fn: async () => {
    const r = await verify(await unitHere());
    assertEquals(r.ours, [], r.all);
    assertEquals(r.code, 0, r.all);
    // The check itself works: a broken copy is reported.
    const broken = await verify(
      (await unitHere()).replace("LockPersonality=yes", "LockPersonality=sometimes"),
    );
    assert(broken.ours.some((l) => l.includes("sometimes")), broken.all);
    const missing = await verify(
      await Deno.readTextFile(UNIT).then((u) =>
        u.replace("/usr/local/bin/bpfink", "/nonexistent/bpfink")
      ),
    );
    assert(
      missing.code !== 0 && missing.ours.some((l) => l.includes("/nonexistent/bpfink")),
      missing.all,
    );
  },
});

Deno.test("deploy/systemd/bpfink.service: the hardening settings", async () => {
  const settings = new Map<string, string>();
  for (const line of (await Deno.readTextFile(UNIT)).split("\n")) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) settings.set(m[1], m[2]);
  }
  const caps =
    "CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_SYS_ADMIN";
  assertEquals(
    Object.fromEntries([...settings].filter(([k]) =>
      [
        "ExecStart",
        "CapabilityBoundingSet",
        "AmbientCapabilities",
        "ProtectSystem",
        "ReadWritePaths",
        "ProtectHome",
        "PrivateTmp",
        "NoNewPrivileges",
        "RestrictAddressFamilies",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "Restart",
        "Environment",
      ].includes(k)
    )),
    {
      ExecStart: "/usr/local/bin/bpfink run --config /etc/bpfink/config.yaml",
      Restart: "on-failure",
      Environment: "MALLOC_ARENA_MAX=2",
      CapabilityBoundingSet: caps,
      AmbientCapabilities: caps,
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ReadWritePaths: "/var/lib/bpfink /var/log/bpfink /run/bpfink /var/cache/bpfink",
      ProtectHome: "read-only",
      PrivateTmp: "yes",
      RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6",
      LockPersonality: "yes",
      MemoryDenyWriteExecute: "no",
    },
  );
  // The role's template is this unit with the paths as variables.
  const template = await Deno.readTextFile(
    "deploy/ansible/roles/bpfink/templates/bpfink.service.j2",
  );
  assertEquals(
    template
      .replace(
        "{{ bpfink_bin }} run --config {{ bpfink_config_file }}",
        "/usr/local/bin/bpfink run --config /etc/bpfink/config.yaml",
      )
      .replace(
        "{{ bpfink_state_dir }} {{ bpfink_log_dir }} {{ bpfink_run_dir }}",
        "/var/lib/bpfink /var/log/bpfink /run/bpfink",
      ),
    await Deno.readTextFile(UNIT),
  );
});
