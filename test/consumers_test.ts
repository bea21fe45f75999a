/**
 * What a change means, checked the way an administrator makes changes: the
 * real shadow-utils and visudo against a copy of the system files, watched
 * by the daemon. No output, log line or database row may contain a hash.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, START_TIMEOUT_MS, tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import { checkEvent } from "./ecs_validate.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

/** A fixed SHA-512 crypt hash (of "hunter2"), the secret that must never leak. */
const HASH =
  "$6$bpfinktestsalt$Sk2oH4KXrMTfIcEBNeh2J0mF4a5OplCkDGmHIYvzUjJ6EdlHJAljBDJ6lsUfo8FAvsN/VzWYVVT9ndvvkm6hp/";

async function setupRoot(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/etc/security`, { recursive: true });
  await Deno.mkdir(`${dir}/etc/sudoers.d`);
  for (const f of ["passwd", "shadow", "group", "gshadow"]) {
    await Deno.copyFile(`/etc/${f}`, `${dir}/etc/${f}`);
  }
  await Deno.writeTextFile(
    `${dir}/etc/sudoers`,
    "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n@includedir " + `${dir}/etc/sudoers.d\n`,
    { mode: 0o440 },
  );
  await Deno.writeTextFile(`${dir}/etc/security/access.conf`, "# pam_access\n+ : root : LOCAL\n");
  const config = `${dir}/config.yaml`;
  const watches = ["passwd", "shadow", "group", "gshadow", "sudoers", "security/access.conf"]
    .map((f) => `  - ${dir}/etc/${f}`).join("\n");
  await Deno.writeTextFile(
    config,
    `watches:\n${watches}\ndatabase: ${dir}/state/db.sqlite\nkey_file: ${dir}/state/hmac.key\n` +
      `log_level: info\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  return config;
}

function actions(events: ChangeEvent[]): string[] {
  return events.filter((e) => e.event.dataset !== "bpfink.file").map((e) =>
    `${e.event.action}: ${e.message}`
  );
}

/** The first change `pred` matches, waited for (5 s unless said). */
const expectEvent = (
  d: Daemon,
  pred: (e: ChangeEvent) => boolean,
  what: string,
  timeoutMs = 5000,
) => d.expect(pred, what, timeoutMs);

Deno.test("shadow-utils and visudo changes are reported by meaning, and no hash ever leaks", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const config = await setupRoot(root);
  const d = new Daemon(config);
  try {
    await d.started();

    const add = await run([
      "useradd",
      "--prefix",
      root,
      "-u",
      "1500",
      "-M",
      "-d",
      "/home/alice",
      "-s",
      "/bin/sh",
      "alice",
    ]);
    assertEquals(add.code, 0, add.stderr);
    const added = await expectEvent(
      d,
      (e) => e.event.action === "user_added" && e.user?.target?.name === "alice",
      "user_added",
    );
    assertEquals(added.user?.target?.id, "1500");
    assert(added.message!.startsWith("user alice added with uid 1500"), added.message);
    assertEquals(added.process?.name, "useradd");
    // The actor (root, running useradd) is user.*; the account added is user.target.*.
    assertEquals([added.user?.id, added.user?.name], ["0", "root"]);

    assertEquals((await run(["usermod", "--prefix", root, "-o", "-u", "0", "alice"])).code, 0);
    const mod = await expectEvent(
      d,
      (e) => e.event.action === "user_modified" && e.user?.target?.name === "alice",
      "user_modified",
    );
    assertEquals(mod.bpfink?.changes, [{ field: "uid", from: 1500, to: 0 }]);
    assert(mod.message!.includes("uid 1500 → 0 (now a superuser)"), mod.message);

    assertEquals((await run(["usermod", "--prefix", root, "-p", HASH, "alice"])).code, 0);
    await expectEvent(
      d,
      (e) => e.event.action === "password_changed" && e.user?.target?.name === "alice",
      "password_changed",
    );
    assertEquals((await run(["usermod", "--prefix", root, "-L", "alice"])).code, 0);
    await expectEvent(
      d,
      (e) => e.event.action === "password_locked" && e.user?.target?.name === "alice",
      "password_locked",
    );
    assertEquals((await run(["usermod", "--prefix", root, "-U", "alice"])).code, 0);
    await expectEvent(
      d,
      (e) => e.event.action === "password_unlocked" && e.user?.target?.name === "alice",
      "password_unlocked",
    );

    assertEquals((await run(["groupadd", "--prefix", root, "-g", "2500", "devs"])).code, 0);
    await expectEvent(
      d,
      (e) => e.event.action === "group_added" && e.group?.name === "devs",
      "group_added",
    );
    assertEquals((await run(["usermod", "--prefix", root, "-a", "-G", "devs", "alice"])).code, 0);
    const member = await expectEvent(
      d,
      (e) => e.event.action === "group_member_added",
      "group_member_added",
    );
    assertEquals([member.group?.name, member.user?.target?.name], ["devs", "alice"]);

    // visudo, non-interactive: the "editor" appends a rule to the temp copy visudo hands it.
    const editor = `${root}/editor.sh`;
    await Deno.writeTextFile(
      editor,
      '#!/bin/sh\nfor f; do :; done\necho "bob ALL=(ALL) NOPASSWD: ALL" >> "$f"\n',
      {
        mode: 0o755,
      },
    );
    const vi = await run(["visudo", "-f", `${root}/etc/sudoers`], {
      env: { EDITOR: editor, VISUAL: editor, SUDO_EDITOR: editor, PATH: Deno.env.get("PATH")! },
    });
    assertEquals(vi.code, 0, vi.stdout + vi.stderr);
    const rule = await expectEvent(
      d,
      (e) => e.event.action === "sudoers_rule_added",
      "sudoers_rule_added",
    );
    assertEquals(rule.message, "sudo rule added: bob ALL=(ALL) NOPASSWD: ALL");
    assertEquals(rule.user?.target?.name, "bob");

    // A file dropped into the included directory is watched and its rules reported.
    await Deno.writeTextFile(`${root}/etc/sudoers.d/evil`, "eve ALL=(ALL) NOPASSWD: ALL\n");
    await expectEvent(
      d,
      (e) => e.event.action === "sudoers_rule_added" && e.user?.target?.name === "eve",
      "rule in sudoers.d",
    );

    await Deno.writeTextFile(`${root}/etc/security/access.conf`, "+ : eve : ALL\n", {
      append: true,
    });
    const acc = await expectEvent(
      d,
      (e) => e.event.action === "access_rule_added",
      "access_rule_added",
    );
    assert(acc.message!.includes("+ : eve : ALL"), acc.message);
  } finally {
    await d.stop();
  }

  // The hash, or any 8-character piece of its secret part, appears nowhere.
  const secret = HASH.split("$")[3];
  const pieces = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));
  const db = await Array.fromAsync(Deno.readDir(`${root}/state`));
  const haystacks: [string, string][] = [
    ["stdout", d.events.map((e) => JSON.stringify(e)).join("\n")],
    ["stderr", d.stderr],
    ...await Promise.all(
      db.map(async (f) =>
        [
          f.name,
          new TextDecoder("latin1").decode(await Deno.readFile(`${root}/state/${f.name}`)),
        ] as [string, string]
      ),
    ),
  ];
  for (const [name, text] of haystacks) {
    assert(!text.includes(HASH), `${name} contains the hash`);
    const leak = pieces.find((p) => text.includes(p));
    assert(!leak, `${name} contains part of the hash: ${leak}`);
  }
  // ... while the shadow file on disk really holds it (the test would mean nothing otherwise).
  assert((await Deno.readTextFile(`${root}/etc/shadow`)).includes(secret));
});

Deno.test("--paths uses the consumers too: a passwd copy reports users by name", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/etc`);
  for (const f of ["passwd", "shadow", "group", "gshadow"]) {
    await Deno.copyFile(`/etc/${f}`, `${dir.path}/etc/${f}`);
  }
  const child = new Deno.Command("./bpfink", {
    args: ["--paths", `${dir.path}/etc/passwd,${dir.path}/etc/shadow`, "--json"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: ChangeEvent[] = [];
  const reading = (async () => {
    let buf = "";
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += c;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const e = JSON.parse(buf.slice(0, i));
        checkEvent(e, "a JSON line of bpfink --paths");
        lines.push(e);
        buf = buf.slice(i + 1);
      }
    }
  })();
  try {
    assert(await waitFor(() => lines.length > 0, START_TIMEOUT_MS), "no start record");
    assertEquals(
      (await run(["useradd", "--prefix", dir.path, "-u", "0", "-o", "-M", "mallory"])).code,
      0,
    );
    assert(
      await waitFor(() =>
        lines.some((e) =>
          e.event.action === "user_added" && e.user?.target?.name === "mallory" &&
          e.user?.target?.id === "0"
        )
      ),
      JSON.stringify(lines.map((e) => e.message)),
    );
  } finally {
    child.kill("SIGINT");
    await child.status;
    await reading;
  }
});

/** The account an event is about: `user.target.name` (ECS), or `user.name` before that. */
const account = (e: ChangeEvent) =>
  (e.user as { target?: { name?: string }; name?: string } | undefined)?.target?.name ??
    e.user?.name;

Deno.test("backups (passwd-, shadow-, ...) and skipped sudoers.d files are plain files: one useradd gives one user_added; glibc's uid-0 forms are users; a binary in sudoers.d is one event", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await Deno.mkdir(`${root}/etc/sudoers.d`, { recursive: true });
  for (const f of ["passwd", "shadow", "group", "gshadow"]) {
    await Deno.copyFile(`/etc/${f}`, `${root}/etc/${f}`);
  }
  await Deno.writeTextFile(
    `${root}/etc/sudoers`,
    `root ALL=(ALL:ALL) ALL\n@includedir ${root}/etc/sudoers.d\n`,
    { mode: 0o440 },
  );
  const config = `${root}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - path: ${root}/etc\n    recursive: true\ndatabase: ${root}/state/db.sqlite\n` +
      `key_file: ${root}/state/hmac.key\nlog_level: info\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  const d = new Daemon(config);
  const semantic = (path: string) =>
    d.changes().filter((e) => e.file?.path === path && e.event.dataset !== "bpfink.file");
  const raw = (path: string) =>
    d.changes().some((e) => e.file?.path === path && e.event.dataset === "bpfink.file");
  try {
    await d.started();
    const backupsReported = async (files: string[]) => {
      for (const f of files) {
        await Deno.stat(`${root}/etc/${f}`); // the tool really wrote the backup
        const seen = await waitFor(() => raw(`${root}/etc/${f}`), 60_000);
        assert(seen, `${f} not reported as a file: ${actions(d.changes()).join("\n")}`);
      }
    };
    for (const [i, name] of ["carol", "dave"].entries()) {
      const add = await run(["useradd", "--prefix", root, "-u", `${1600 + i}`, "-M", name]);
      assertEquals(add.code, 0, add.stderr);
      await expectEvent(
        d,
        (e) => e.event.action === "user_added" && account(e) === name,
        name,
        60_000,
      );
      await backupsReported(["passwd-", "shadow-"]);
      const grp = await run(["groupadd", "--prefix", root, "-g", `${2600 + i}`, `g${name}`]);
      assertEquals(grp.code, 0, grp.stderr);
      await expectEvent(
        d,
        (e) => e.event.action === "group_added" && e.group?.name === `g${name}`,
        name,
        60_000,
      );
      await backupsReported(["group-", "gshadow-"]);
    }
    // ... and never by meaning: exactly one user_added per useradd, one group_added per
    // groupadd, none from a backup (which holds the previous content).
    const added = d.changes().filter((e) => e.event.action === "user_added").map(account);
    assertEquals(added, ["carol", "dave"]);
    const groups = d.changes().filter((e) => e.event.action === "group_added").map((e) =>
      e.group?.name
    );
    assertEquals(groups, ["gcarol", "gdave"]);
    for (const f of ["passwd-", "shadow-", "group-", "gshadow-"]) {
      assertEquals(semantic(`${root}/etc/${f}`).map((e) => e.event.action), [], f);
    }

    // The lines glibc reads as uid 0 that bpfink used to skip (issue 11), appended by a shell.
    const sh = await run([
      "sh",
      "-c",
      `printf 'sp:x: 0:0::/root:/bin/bash\\nplus:x:+0:0::/root:/bin/bash\\nta\\tb:x:0:0::/root:/bin/bash\\n' >> ${root}/etc/passwd`,
    ]);
    assertEquals(sh.code, 0, sh.stderr);
    for (const name of ["sp", "plus", "ta\tb"]) {
      const e = await expectEvent(
        d,
        (e) => e.event.action === "user_added" && account(e) === name,
        JSON.stringify(name),
        60_000,
      );
      assertEquals((e.user as { target?: { id?: string } }).target?.id ?? e.user?.id, "0");
    }

    // sudo skips sudoers.d names ending in ~ or holding a dot: reported, never as rules.
    for (const f of ["evil~", "evil.dpkg-old"]) {
      await Deno.writeTextFile(`${root}/etc/sudoers.d/${f}`, "eve ALL=(ALL) NOPASSWD: ALL\n");
    }
    await Deno.writeTextFile(`${root}/etc/sudoers.d/real`, "frank ALL=(ALL) NOPASSWD: ALL\n");
    await expectEvent(
      d,
      (e) => e.event.action === "sudoers_rule_added" && account(e) === "frank",
      "rule in sudoers.d/real",
      60_000,
    );
    for (const f of ["evil~", "evil.dpkg-old"]) {
      assert(
        await waitFor(() => raw(`${root}/etc/sudoers.d/${f}`), 60_000),
        `${f} not reported as a file`,
      );
      assertEquals(semantic(`${root}/etc/sudoers.d/${f}`).map((e) => e.event.action), [], f);
    }

    // A binary copied into sudoers.d: one not-text event, not one per garbage "line".
    const blob = `${root}/etc/sudoers.d/blob`;
    const cp = await run(["cp", "/bin/true", blob]);
    assertEquals(cp.code, 0, cp.stderr);
    const notText = await expectEvent(
      d,
      (e) => e.event.action === "sudoers_not_text" && e.file?.path === blob,
      "sudoers_not_text",
      60_000,
    );
    assertEquals(notText.bpfink?.severity, "high");
    await waitFor(() => false, 1000); // anything else it gave has come by now
    assertEquals(semantic(blob).map((e) => e.event.action), ["sudoers_not_text"]);
  } finally {
    await d.stop();
  }
});

Deno.test("a passwd padded past the parse limit is reported as unreadable, and the uid-0 line added meanwhile is reported once it can be read", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  const passwd = `${root}/etc/passwd`;
  const original = await Deno.readTextFile("/etc/passwd");
  await Deno.writeTextFile(passwd, original);
  const config = `${root}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `watches:\n  - ${passwd}\ndatabase: ${root}/state/db.sqlite\nkey_file: ${root}/state/hmac.key\n` +
      `log_level: info\noutputs:\n  - type: stdout\n    format: json\n`,
  );
  const d = new Daemon(config);
  try {
    await d.started();
    // An attacker adds a uid-0 account and pads the file past 8 MiB with comment-like
    // junk, hoping the meaning is never checked (or that every user looks removed).
    const evil = "evil:x:0:0::/root:/bin/sh\n";
    // Replaced whole, as vipw and useradd do: an in-place rewrite has a moment where the file
    // is empty, and reporting every user removed then would be the truth.
    const replace = async (text: string) => {
      await Deno.writeTextFile(`${passwd}.new`, text);
      await Deno.rename(`${passwd}.new`, passwd);
    };
    await replace(original + evil + "#".repeat(9 << 20) + "\n");
    const unreadable = await expectEvent(
      d,
      (e) => e.event.action === "users_unreadable",
      "users_unreadable",
      60_000,
    );
    assertEquals(unreadable.bpfink?.severity, "high");
    assert(!d.changes().some((e) => e.event.action === "user_removed"), "users reported removed");
    // The padding goes; the account stays. Compared with the last meaning read, it is new.
    await replace(original + evil);
    const added = await expectEvent(
      d,
      (e) => e.event.action === "user_added" && account(e) === "evil",
      "user evil added",
      60_000,
    );
    assertEquals(added.user?.target?.id ?? added.user?.id, "0");
    assert(!d.changes().some((e) => e.event.action === "user_removed"), "users reported removed");
  } finally {
    await d.stop();
  }
});

Deno.test("a primary gid is judged with the group file beside passwd: usermod -g sudo and useradd -g 0 are critical gid gains; a gshadow member is reported", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const config = await setupRoot(root);
  // The copy's sudo group (gid 27 on Debian), made sure of.
  const group = await Deno.readTextFile(`${root}/etc/group`);
  const sudoLine = group.split("\n").find((l) => l.startsWith("sudo:"));
  const sudo = sudoLine?.split(":")[2];
  assert(sudo !== undefined, "no sudo group in /etc/group");
  const d = new Daemon(config);
  const gained = (user: string, gid: string) => (e: ChangeEvent) =>
    e.event.action === "group_gid_gained" && account(e) === user && e.group?.id === gid;
  try {
    await d.started();
    const add = await run(["useradd", "--prefix", root, "-u", "1700", "-M", "erin"]);
    assertEquals(add.code, 0, add.stderr);
    await expectEvent(d, (e) => e.event.action === "user_added" && account(e) === "erin", "erin");

    assertEquals((await run(["usermod", "--prefix", root, "-g", "sudo", "erin"])).code, 0);
    const e = await expectEvent(d, gained("erin", sudo), "erin's gid gain", 60_000);
    assertEquals([e.bpfink?.severity, e.group?.name], ["critical", "sudo"]);
    assert(e.message!.includes("as primary gid at passwd line"), e.message);

    const zed = await run(["useradd", "--prefix", root, "-u", "1701", "-M", "-g", "0", "zed"]);
    assertEquals(zed.code, 0, zed.stderr);
    const z = await expectEvent(d, gained("zed", "0"), "zed's gid gain", 60_000);
    assertEquals(z.bpfink?.severity, "critical");

    // A member in gshadow alone (`newgrp sudo` without a password): critical, with the gid.
    const gshadow = await Deno.readTextFile(`${root}/etc/gshadow`);
    await Deno.writeTextFile(
      `${root}/etc/gshadow`,
      gshadow.replace(
        /^(sudo:[^:\n]*:[^:\n]*:)([^\n]*)$/m,
        (_, head, members) => `${head}${members ? `${members},` : ""}mallory`,
      ),
    );
    const m = await expectEvent(
      d,
      (e) => e.event.action === "group_member_added" && account(e) === "mallory",
      "gshadow member",
      60_000,
    );
    assertEquals([m.bpfink?.severity, m.group?.id, m.file?.path], [
      "critical",
      sudo,
      `${root}/etc/gshadow`,
    ]);
  } finally {
    await d.stop();
  }
});
