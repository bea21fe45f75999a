/**
 * The Ansible role, run twice against this machine (connection local) into a
 * temp root: everything is installed, the key is 0600 and kept, and the
 * second run changes nothing.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir } from "./helpers.ts";

async function playbook(root: string, binary: string): Promise<{ code: number; out: string }> {
  const r = await run([
    "ansible-playbook",
    "-i",
    "localhost,",
    "-c",
    "local",
    "deploy/ansible/site.yml",
    "-e",
    `bpfink_prefix=${root}`,
    "-e",
    `bpfink_binary_src=${binary}`,
    "-e",
    `{"bpfink_watches": ["${root}/etc/passwd"]}`,
  ], {
    env: {
      PATH: Deno.env.get("PATH")!,
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_LOCAL_TEMP: `${root}/.ansible`,
      ANSIBLE_REMOTE_TEMP: `${root}/.ansible`,
      HOME: root,
    },
  });
  return { code: r.code, out: r.stdout + r.stderr };
}

Deno.test("ansible role: installs binary, config, key (0600) and unit; the second run reports changed=0", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/root`;
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0::/root:/bin/sh\n");
  // The "binary": this checkout's launcher (deno compile cannot run here), called by path.
  const binary = `${dir.path}/bpfink`;
  await Deno.writeTextFile(binary, `#!/bin/sh\nexec ${Deno.cwd()}/bpfink "$@"\n`, { mode: 0o755 });

  const first = await playbook(root, binary);
  assertEquals(first.code, 0, first.out);
  assert(/changed=[1-9]/.test(first.out), first.out);
  const key1 = await Deno.readFile(`${root}/etc/bpfink/hmac.key`);
  assertEquals(key1.length, 32);
  assertEquals((await Deno.stat(`${root}/etc/bpfink/hmac.key`)).mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(`${root}/etc/bpfink/config.yaml`)).mode! & 0o777, 0o600);
  const unit = await Deno.readTextFile(`${root}/etc/systemd/system/bpfink.service`);
  assert(
    unit.includes(
      `ExecStart=${root}/usr/local/bin/bpfink run --config ${root}/etc/bpfink/config.yaml`,
    ),
    unit,
  );
  assert(
    first.out.includes("Service start skipped") || first.out.includes("Enable and start"),
    first.out,
  );

  const second = await playbook(root, binary);
  assertEquals(second.code, 0, second.out);
  assert(/ok=\d+\s+changed=0\s/.test(second.out), second.out);
  assertEquals(await Deno.readFile(`${root}/etc/bpfink/hmac.key`), key1);
});
