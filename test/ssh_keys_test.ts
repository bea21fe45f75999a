/**
 * SSH keys by meaning, as an administrator and an attacker change them: a
 * real key (ssh-keygen) appended to a root-owned authorized_keys by a shell
 * (watched as examples/config.yaml watches /root/.ssh: private keys secret,
 * authorized_keys by meaning), and a key file another user owns where sshd
 * never reads it for that user, which stays a plain file.
 */
import { assert, assertEquals } from "./assert.ts";
import { asNobody, newSshKey, run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";

Deno.test("an ssh key appended to authorized_keys is reported by fingerprint, with its writer", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/root/.ssh`, { recursive: true });
  await Deno.mkdir(`${x}/srv/.ssh`, { recursive: true });
  await Deno.chown(`${x}/srv/.ssh`, 65534, 65534);
  await Deno.chmod(x, 0o755);
  await Deno.writeTextFile(`${x}/root/.ssh/authorized_keys`, "# keys\n");
  await newSshKey(`${x}/k`, "mallory@evil");
  const fingerprint = (await run(["ssh-keygen", "-l", "-f", `${x}/k.pub`])).stdout.split(" ")[1];
  const config = await daemonConfig(x, [
    // As examples/config.yaml has it: the private keys secret, authorized_keys by meaning.
    `- path: ${x}/root/.ssh`,
    "  recursive: true",
    "  secret: true",
    '  exclude: ["authorized_keys", "authorized_keys2"]',
    `- path: ${x}/root/.ssh/authorized_keys`,
    `- path: ${x}/srv/.ssh`,
  ]);
  const d = new Daemon(config);
  try {
    await d.started();
    const sh = await run(["sh", "-c", `cat ${x}/k.pub >> ${x}/root/.ssh/authorized_keys`]);
    assertEquals(sh.code, 0, sh.stderr);
    const isAdded = (e: { event: { action?: string } }) => e.event.action === "ssh_key_added";
    assert(await waitFor(() => d.changes().some(isAdded), 10_000), "no ssh_key_added");
    const added = d.changes().find(isAdded)!;
    assertEquals(added.message, `ssh key added: ssh-ed25519 ${fingerprint} "mallory@evil"`);
    assertEquals(added.bpfink?.changes, [{ field: "key", to: `ssh-ed25519 ${fingerprint}` }]);
    assert(["sh", "cat"].includes(added.process?.name ?? ""), added.process?.name);
    assertEquals(added.bpfink?.severity, "high");

    // nobody's own file in a directory nobody writes, where sshd reads no one's keys: plain.
    const key = await Deno.readTextFile(`${x}/k.pub`);
    const other = await run(asNobody([
      "sh",
      "-c",
      `printf '%s' "$1" > ${x}/srv/.ssh/authorized_keys`,
      "sh",
      key,
    ]));
    assertEquals(other.code, 0, other.stderr);
    const plain = (e: { file?: { path?: string } }) =>
      e.file?.path === `${x}/srv/.ssh/authorized_keys`;
    assert(await waitFor(() => d.changes().some(plain), 10_000), "nobody's file not reported");
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(d.changes().filter(plain).map((e) => e.event.action), ["created"]);

    // A private key beside it stays secret: no content, no meaning.
    await Deno.copyFile(`${x}/k`, `${x}/root/.ssh/id_ed25519`);
    const priv = (e: { file?: { path?: string } }) => e.file?.path === `${x}/root/.ssh/id_ed25519`;
    assert(await waitFor(() => d.changes().some(priv), 10_000), "the private key not reported");
    const created = d.changes().find(priv)!;
    assertEquals(created.bpfink?.secret, true);
    assert(!JSON.stringify(d.events).includes("OPENSSH PRIVATE KEY"));
  } finally {
    await d.stop();
  }
});
