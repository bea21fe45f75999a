/**
 * The Ansible role, run twice against this machine (connection local) into a
 * temp root (bpfink_prefix, as for an image build): the real dist/bpfink, config, key (0600),
 * unit, logrotate and the offline enable link are installed and verified, and the installed
 * binary runs; the prefix appears in no file (the unit and config name the paths the booted
 * root sees); the second run changes nothing and keeps the key. Nothing is written outside
 * the temp dir.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";
import { ensureBinary } from "./dist_binary.ts";
import { hasCommand } from "./services/service.ts";

async function playbook(
  dir: string,
  root: string,
  binary: string,
  extra: Record<string, unknown> = {},
): Promise<{ code: number; out: string }> {
  const vars = {
    ...extra,
    bpfink_prefix: root,
    bpfink_binary_src: binary,
    bpfink_watches: ["/etc/passwd"],
    bpfink_outputs: [
      { type: "file", path: "/var/log/bpfink/events.json" },
      { type: "syslog", transport: "udp", address: "127.0.0.1:514" },
    ],
  };
  const r = await run([
    "ansible-playbook",
    "-i",
    "localhost,",
    "-c",
    "local",
    "deploy/ansible/site.yml",
    "-e",
    JSON.stringify(vars),
  ], {
    env: {
      PATH: Deno.env.get("PATH")!,
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_FORCE_COLOR: "0",
      ANSIBLE_LOCAL_TEMP: `${dir}/ansible-tmp`,
      ANSIBLE_REMOTE_TEMP: `${dir}/ansible-tmp`,
      ANSIBLE_RETRY_FILES_ENABLED: "0",
      ANSIBLE_PYTHON_INTERPRETER: "auto_silent",
      HOME: dir,
    },
  });
  return { code: r.code, out: r.stdout + r.stderr };
}

const exists = (p: string) => {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

Deno.test({
  name:
    "ansible role: installs binary, config, key (0600) and unit, verifies them; the second run reports changed=0",
  ignore: !hasCommand("ansible-playbook"),
  fn: async () => {
    await using dir = await tempDir();
    const root = `${dir.path}/root`;
    await Deno.mkdir(`${root}/etc`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0::/root:/bin/sh\n");
    // The real single file, as `deno task build` makes it.
    const binary = await ensureBinary();
    const host = ["/etc/bpfink", "/usr/local/bin/bpfink", "/etc/systemd/system/bpfink.service"];
    const before = host.map(exists);

    const first = await playbook(dir.path, root, binary);
    assertEquals(first.code, 0, first.out);
    assert(/ok=\d+\s+changed=[1-9]/.test(first.out), first.out);
    const keyPath = `${root}/etc/bpfink/hmac.key`;
    const key1 = await Deno.readFile(keyPath);
    assertEquals(key1.length, 32);
    assertEquals((await Deno.stat(keyPath)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${root}/etc/bpfink/config.yaml`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${root}/etc/bpfink`)).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(`${root}/usr/local/bin/bpfink`)).mode! & 0o777, 0o755);
    // libbpf's license (and every other one inside the binary) is installed with it.
    const licenses = await Deno.readTextFile(`${root}/usr/local/share/doc/bpfink/LICENSES.txt`);
    assert(licenses.includes("LGPL-2.1 OR BSD-2-Clause"), "libbpf's license is installed");
    // The installed binary is dist/bpfink, byte for byte.
    assertEquals(await Deno.readFile(`${root}/usr/local/bin/bpfink`), await Deno.readFile(binary));
    // The installed unit is deploy/systemd/bpfink.service exactly: no prefix inside.
    const unit = await Deno.readTextFile(`${root}/etc/systemd/system/bpfink.service`);
    assertEquals(unit, await Deno.readTextFile("deploy/systemd/bpfink.service"));
    assert(
      unit.includes(`ExecStart=/usr/local/bin/bpfink run --config /etc/bpfink/config.yaml`),
    );
    const config = await Deno.readTextFile(`${root}/etc/bpfink/config.yaml`);
    assert(!config.includes(dir.path), config);
    assert(config.includes(`database: "/var/lib/bpfink/bpfink.db"`), config);
    // Enabled offline: the link a booted root would follow.
    assertEquals(
      await Deno.readLink(`${root}/etc/systemd/system/multi-user.target.wants/bpfink.service`),
      "/etc/systemd/system/bpfink.service",
    );
    assert(
      (await Deno.readTextFile(`${root}/etc/logrotate.d/bpfink`)).includes(
        `/var/log/bpfink/events.json\n`,
      ),
    );
    // Verified: the binary ran, the config passed `bpfink config check`, the unit systemd-analyze.
    assert(/TASK \[bpfink : The binary runs\][^\n]*\nok:/.test(first.out), first.out);
    if (hasCommand("systemd-analyze")) {
      assert(
        /TASK \[bpfink : The unit passes systemd-analyze verify\][^\n]*\nok:/.test(first.out),
        first.out,
      );
    }
    const version = await run([`${root}/usr/local/bin/bpfink`, "--version"]);
    assertEquals(version.code, 0, version.stderr);
    assert(version.stdout.startsWith("bpfink "), version.stdout);
    const check = await run([
      `${root}/usr/local/bin/bpfink`,
      "config",
      "check",
      `${root}/etc/bpfink/config.yaml`,
    ]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
    assert(first.out.includes("Service start skipped"), first.out);
    assert(first.out.includes(version.stdout.trim()), first.out);

    const second = await playbook(dir.path, root, binary);
    assertEquals(second.code, 0, second.out);
    assert(/ok=\d+\s+changed=0\s/.test(second.out), second.out);
    assertEquals(await Deno.readFile(keyPath), key1);
    assertEquals((await Deno.stat(keyPath)).mode! & 0o777, 0o600);
    assertEquals(host.map(exists), before, "the playbook wrote outside its prefix");
  },
});

Deno.test({
  name: "ansible role: a path given with the prefix inside is refused before anything is written",
  ignore: !hasCommand("ansible-playbook"),
  fn: async () => {
    await using dir = await tempDir();
    const root = `${dir.path}/root`;
    await Deno.mkdir(root);
    const r = await playbook(dir.path, root, await ensureBinary(), {
      bpfink_bin: `${root}/usr/local/bin/bpfink`,
    });
    assert(r.code !== 0, r.out);
    assert(
      r.out.includes("paths must be absolute as the target sees them, without bpfink_prefix"),
      r.out,
    );
    assertEquals([...Deno.readDirSync(root)], [], "nothing written under the prefix");
  },
});
