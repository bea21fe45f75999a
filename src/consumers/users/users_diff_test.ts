import { assert, assertEquals } from "../../../test/assert.ts";
import { parsePasswd } from "./passwd.ts";
import { hmacFingerprint, parseShadow } from "./shadow.ts";
import { changeSeverity, type SemanticChange } from "../semantic_change.ts";
import { diffPasswd, diffShadow, diffUsers } from "./users_diff.ts";
import { parseGroupFile } from "../groups/group_file.ts";
import type { Peers } from "../paired_consumer.ts";

const fp = hmacFingerprint(new TextEncoder().encode("test host key"));
const passwd = (t: string | Uint8Array) => parsePasswd(t, fp).entries;
const shadow = (t: string) => parseShadow(t, fp).entries;
const actions = (cs: SemanticChange[]) => cs.map((c) => c.action);

const ROOT = "root:x:0:0:root:/root:/bin/bash\n";
const HASH_A = "$6$saltsalt$Qm3Vx8Lr2Tn7Wp4Kc9Hd1Fs6Gj5Bz0Ye8Ua3Io2Pl7Nk4Mh9Rq1Sw6Ev5Ct0Xb3Ag8Df2";
const HASH_B = "$y$j9T$NewSaltNew$Zx7Cv4Bn1Mq8Wl5Er2Ty9Ui6Op3As0Df7Gh4Jk1Lz8Xc5Vb2";

Deno.test("reports a user added with uid 0", () => {
  const out = diffPasswd(passwd(ROOT), passwd(ROOT + "toor:x:0:0::/root:/bin/sh\n"), "/etc/passwd");
  // Its primary gid 0 is a privileged gid it holds too (see the primary gid tests).
  assertEquals(actions(out), ["user_added", "group_gid_gained"]);
  const c = out[0];
  assertEquals(c.action, "user_added");
  assertEquals(c.subject, "toor");
  assertEquals(c.fields, { user: { name: "toor", id: "0" } });
  assertEquals(
    c.message,
    "user toor added with uid 0 (uid 0: a superuser), gid 0, home /root, shell /bin/sh",
  );
  assertEquals(c.source, { file: "/etc/passwd", line: 2 });
});

Deno.test("reports a user whose uid became 0, with from → to", () => {
  const out = diffPasswd(
    passwd("alice:x:1001:1001::/home/alice:/bin/bash\n"),
    passwd("alice:x:0:1001::/home/alice:/bin/sh\n"),
    "/etc/passwd",
  );
  assertEquals(actions(out), ["user_modified"]);
  assertEquals(out[0].changes, [
    { field: "uid", from: 1001, to: 0 },
    { field: "shell", from: "/bin/bash", to: "/bin/sh" },
  ]);
  assertEquals(
    out[0].message,
    "user alice modified: uid 1001 → 0, shell /bin/bash → /bin/sh (now a superuser)",
  );
});

Deno.test("reports a user removed", () => {
  const out = diffPasswd(
    passwd(ROOT + "bob:x:1002:1002::/:/bin/sh\n"),
    passwd(ROOT),
    "/etc/passwd",
  );
  assertEquals(actions(out), ["user_removed"]);
  assertEquals(out[0].message, "user bob removed (uid 1002)");
});

Deno.test("a duplicate root line appended is reported as its own account, root is unchanged", () => {
  const out = diffPasswd(
    passwd(ROOT),
    passwd(ROOT + "root:x:0:0::/tmp:/bin/sh\n"),
    "/etc/passwd",
  );
  assertEquals(actions(out), ["user_added"]);
  assert(out[0].message.startsWith("user root added again (a duplicate entry"), out[0].message);
  assertEquals(out[0].source?.line, 2);
});

Deno.test("control characters in fields are escaped in messages", () => {
  const out = diffPasswd([], passwd("eve:x:5:5::/home/eve:/bin/sh\u001b[2J\n"), "/etc/passwd");
  assert(out[0].message.endsWith("shell /bin/sh\\x1b[2J"), out[0].message);
});

function pw(before: string, after: string): SemanticChange[] {
  return diffShadow(
    shadow(`alice:${before}:19000:0:99999:7:::\n`),
    shadow(`alice:${after}:19000:0:99999:7:::\n`),
    "/etc/shadow",
  );
}

Deno.test("password transitions", () => {
  assertEquals(actions(pw(HASH_A, HASH_A)), []);
  assertEquals(actions(pw(HASH_A, HASH_B)), ["password_changed"]);
  assertEquals(actions(pw(HASH_A, "!" + HASH_A)), ["password_locked"]);
  assertEquals(actions(pw("!" + HASH_A, HASH_A)), ["password_unlocked"]);
  assertEquals(actions(pw("!" + HASH_A, HASH_B)), ["password_changed", "password_unlocked"]);
  assertEquals(actions(pw(HASH_A, "!" + HASH_B)), ["password_changed", "password_locked"]);
  assertEquals(actions(pw(HASH_A, "")), ["password_removed"]);
  assertEquals(actions(pw("!", HASH_A)), ["password_changed"]);
  assertEquals(actions(pw(HASH_A, "*")), ["password_locked"]);
  assertEquals(actions(pw("", "!")), ["password_locked"]);
  assertEquals(actions(pw("!" + HASH_A, "!")), ["password_changed"]);
  assertEquals(pw("!", HASH_A)[0].message, "password set for alice");
  assertEquals(pw(HASH_A, "")[0].changes, [{ field: "password", from: "set", to: "empty" }]);
});

Deno.test("a new account with useradd's `!` is no password event; with an empty one it is", () => {
  assertEquals(actions(diffShadow([], shadow("bob:!:19000:0:99999:7:::\n"), "/etc/shadow")), []);
  assertEquals(
    actions(diffShadow([], shadow("bob::19000:0:99999:7:::\n"), "/etc/shadow")),
    ["password_removed"],
  );
});

Deno.test("aging changes; the last-change day only on its own", () => {
  const out = diffShadow(
    shadow(`a:${HASH_A}:19000:0:99999:7:::\nb:${HASH_A}:19000:0:99999:7:::\n`),
    shadow(`a:${HASH_A}:0:0:99999:7::1:\nb:${HASH_B}:19500:0:99999:7:::\n`),
    "/etc/shadow",
  );
  assertEquals(actions(out), ["user_modified", "password_changed"]);
  assertEquals(out[0].changes, [
    { field: "expireDay", from: null, to: 1 },
    { field: "lastChange", from: 19000, to: 0 },
  ]);
  assertEquals(
    out[0].message,
    "user a modified: account expiration day unset → 1, last password change day 19000 → 0",
  );
});

Deno.test("diffUsers: userdel is one user_removed; shadow events carry the uid", () => {
  const before = {
    passwd: passwd(ROOT + "bob:x:1002:1002::/:/bin/sh\n"),
    shadow: shadow(`root:${HASH_A}:1::::::\nbob:${HASH_A}:1::::::\n`),
  };
  const gone = diffUsers(before, {
    passwd: passwd(ROOT),
    shadow: shadow(`root:${HASH_A}:1::::::\n`),
  });
  assertEquals(actions(gone), ["user_removed"]);
  const locked = diffUsers(before, {
    passwd: before.passwd,
    shadow: shadow(`root:${HASH_A}:1::::::\nbob:!${HASH_A}:1::::::\n`),
  });
  assertEquals(actions(locked), ["password_locked"]);
  assertEquals(locked[0].fields, { user: { name: "bob", id: "1002" } });
  assertEquals(locked[0].source, { file: "/etc/shadow", line: 2 });
});

Deno.test("never includes the hash or a fingerprint in any output", () => {
  const states = ["", "!", HASH_A, "!" + HASH_A, HASH_B, "!!" + HASH_B, "*"];
  const fingerprints = [HASH_A, HASH_B].map(fp);
  const legacy = `carol:${HASH_B}:7:7::/:/bin/sh\n`;
  for (const a of states) {
    for (const b of states) {
      const before = { passwd: passwd(ROOT), shadow: shadow(`root:${a}:1::::::\n`) };
      const after = {
        passwd: passwd(ROOT + legacy),
        shadow: shadow(`root:${b}:2::::::\ncarol:${a}:1::::::\n`),
      };
      const text = JSON.stringify([diffUsers(before, after), diffUsers(after, before)]);
      for (const secret of [HASH_A, HASH_B]) {
        for (let i = 0; i + 8 <= secret.length; i++) {
          const piece = secret.slice(i, i + 8);
          assert(!text.includes(piece), `${a} → ${b}: leaks ${piece}`);
        }
      }
      for (const f of fingerprints) assert(!text.includes(f), `${a} → ${b}: emits a fingerprint`);
    }
  }
});

Deno.test("the lines of issue 11 that glibc reads as uid 0 are reported as users added with uid 0", () => {
  const before = parsePasswd("root:x:0:0:root:/root:/bin/bash\n", fp).entries;
  const after = parsePasswd(
    "root:x:0:0:root:/root:/bin/bash\nsp:x: 0:0::/root:/bin/bash\nplus:x:+0:0::/root:/bin/bash\n" +
      "ta\tb:x:0:0::/root:/bin/bash\n+nis:x:0:0::/:/bin/sh\n",
    fp,
  ).entries;
  const out = diffPasswd(before, after, "/etc/passwd");
  assertEquals(
    out.filter((c) => c.action === "user_added").map((c) => [c.subject, c.fields?.user?.id]),
    [["sp", "0"], ["plus", "0"], ["ta\tb", "0"], ["+nis", "0"]],
  );
  const tab = out.find((c) => c.subject === "ta\tb")!;
  assert(
    tab.message.startsWith("user ta\\x09b added with uid 0 (uid 0: a superuser)"),
    tab.message,
  );
  assert(out.find((c) => c.subject === "+nis")!.message.includes("NIS compat line"));
});

Deno.test("a user or group named after one of Object's own members is reported like any other", () => {
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    const added = diffPasswd(
      passwd(ROOT),
      passwd(`${ROOT}${name}:x:0:0::/root:/bin/sh\n`),
      "/etc/passwd",
    );
    assertEquals(actions(added), ["user_added", "group_gid_gained"], name);
    assertEquals(added[0].subject, name);
    const removed = diffPasswd(
      passwd(`${ROOT}${name}:x:0:0::/root:/bin/sh\n`),
      passwd(ROOT),
      "/etc/passwd",
    );
    assertEquals(actions(removed), ["user_removed"], name);
    const hashed = diffShadow(
      shadow(`${name}:*:1::::::\n`),
      shadow(`${name}:${HASH_A}:1::::::\n`),
      "/etc/shadow",
    );
    assertEquals(hashed.length, 1, name);
  }
});

/** The group file beside passwd, as the pipeline hands it over (its committed baseline). */
const besideGroup = (text: string): Peers => <T>(kind: string) =>
  kind === "group"
    ? { entries: parseGroupFile(text).entries as T[], file: "/etc/group" }
    : undefined;
const GROUP = "root:x:0:\nsudo:x:27:\nalice:x:1000:\nstaff:x:50:alice\n";
const told = (cs: SemanticChange[]) => cs.map((c) => [c.action, changeSeverity(c), c.message]);

Deno.test("a primary gid made privileged (usermod -g sudo, or by hand) is a critical gid gain", () => {
  const alice = (gid: number) => passwd(`${ROOT}alice:x:1000:${gid}::/home/alice:/bin/sh\n`);
  const out = diffPasswd(alice(1000), alice(27), "/etc/passwd", besideGroup(GROUP));
  assertEquals(told(out), [
    [
      "group_gid_gained",
      "critical",
      "alice gains gid 27 (sudo, privileged) as primary gid at passwd line 2 (primary gid 1000 → 27)",
    ],
    ["group_gid_lost", "medium", "alice loses gid 1000 (alice) (primary gid 1000 → 27)"],
  ]);
  assertEquals(out[0].fields, { group: { name: "sudo", id: "27" }, user: { name: "alice" } });
  assertEquals(out[0].changes, [{ field: "gids", to: 27 }, { field: "gid", from: 1000, to: 27 }]);
  assertEquals(out[0].source, { file: "/etc/passwd", line: 2 });
  // Gid 0, and gid 0 without any group file beside it.
  for (const peers of [besideGroup(GROUP), undefined]) {
    const root = diffPasswd(alice(1000), alice(0), "/etc/passwd", peers);
    assertEquals(told(root)[0].slice(0, 2), ["group_gid_gained", "critical"]);
  }
  // A gid no group line makes privileged is high, as joining such a group is.
  assertEquals(
    told(diffPasswd(alice(1000), alice(50), "/etc/passwd", besideGroup(GROUP)))[0],
    ["group_gid_lost", "medium", "alice loses gid 1000 (alice) (primary gid 1000 → 50)"],
  );
  assertEquals(
    told(diffPasswd(alice(1000), alice(4242), "/etc/passwd", besideGroup(GROUP)))[0],
    [
      "group_gid_gained",
      "high",
      "alice gains gid 4242 (no name) as primary gid at passwd line 2 (primary gid 1000 → 4242)",
    ],
  );
});

Deno.test("a primary gid already held through a group line gains nothing; user_modified says it", () => {
  const alice = (gid: number, shell: string) =>
    passwd(`${ROOT}alice:x:1000:${gid}::/home/alice:${shell}\n`);
  const group = besideGroup(GROUP.replace("sudo:x:27:", "sudo:x:27:alice"));
  const out = diffPasswd(alice(50, "/bin/sh"), alice(27, "/bin/zsh"), "/etc/passwd", group);
  assertEquals(told(out), [[
    "user_modified",
    "high",
    "user alice modified: gid 50 → 27, shell /bin/sh → /bin/zsh",
  ]]);
  // Gained as the primary gid: the shell alone is left to user_modified.
  const sudo = diffPasswd(
    alice(1000, "/bin/sh"),
    alice(27, "/bin/zsh"),
    "/etc/passwd",
    besideGroup(GROUP),
  );
  assertEquals(told(sudo).map(([a]) => a), ["user_modified", "group_gid_gained", "group_gid_lost"]);
  assertEquals(sudo[0].changes, [{ field: "shell", from: "/bin/sh", to: "/bin/zsh" }]);
});

Deno.test("useradd -g 0 or -g sudo gains a privileged gid: critical; an ordinary useradd is one event", () => {
  for (const [gid, name] of [[0, "root"], [27, "sudo"]] as const) {
    const out = diffPasswd(
      passwd(ROOT),
      passwd(`${ROOT}bob:x:1001:${gid}::/home/bob:/bin/sh\n`),
      "/etc/passwd",
      besideGroup(GROUP),
    );
    assertEquals(told(out), [
      [
        "user_added",
        "high",
        `user bob added with uid 1001, gid ${gid}, home /home/bob, shell /bin/sh`,
      ],
      [
        "group_gid_gained",
        "critical",
        `bob gains gid ${gid} (${name}, privileged) as primary gid at passwd line 2`,
      ],
    ]);
  }
  const plain = passwd(`${ROOT}bob:x:1001:1001::/home/bob:/bin/sh\n`);
  assertEquals(actions(diffPasswd(passwd(ROOT), plain, "/etc/passwd", besideGroup(GROUP))), [
    "user_added",
  ]);
  // userdel is one user_removed, whatever gid the account had.
  const gone = diffPasswd(
    passwd(`${ROOT}bob:x:1001:27::/home/bob:/bin/sh\n`),
    passwd(ROOT),
    "/etc/passwd",
    besideGroup(GROUP),
  );
  assertEquals(actions(gone), ["user_removed"]);
});

Deno.test("only the first passwd line of a name gives its gid (getpwnam), as login reads it", () => {
  const first = `${ROOT}alice:x:1000:1000::/home/alice:/bin/sh\n`;
  const out = diffPasswd(
    passwd(first),
    passwd(`${first}alice:x:1000:0::/:/bin/sh\n`),
    "/etc/passwd",
    besideGroup(GROUP),
  );
  assertEquals(actions(out), ["user_added"]);
  assert(out[0].message.includes("a duplicate entry"), out[0].message);
  // ... and a line put before it is the account: its gid 0 is gained.
  const before = diffPasswd(
    passwd(first),
    passwd(`alice:x:1000:0::/:/bin/sh\n${first}`),
    "/etc/passwd",
    besideGroup(GROUP),
  );
  assert(
    told(before).some(([a, s, m]) =>
      a === "group_gid_gained" && s === "critical" && String(m).startsWith("alice gains gid 0")
    ),
    JSON.stringify(told(before)),
  );
});

Deno.test("names that differ in bytes that are not UTF-8 are two accounts, each shown by its bytes", () => {
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const out = diffPasswd(
    [],
    passwd(bytes("a\xffb:x:5:5::/:/bin/sh\na\xfeb:x:6:6::/:/bin/sh\na\\xffb:x:7:7::/:/bin/sh\n")),
    "/etc/passwd",
  );
  assertEquals(out.map((c) => c.subject), ["a\\xffb", "a\\xfeb", "a\\\\xffb"]);
  assertEquals(out.map((c) => c.fields?.user?.name), ["a\\xffb", "a\\xfeb", "a\\\\xffb"]);
  assertEquals(out[0].message, "user a\\xffb added with uid 5, gid 5, home /, shell /bin/sh");
  assert(!out.some((c) => c.message.includes("again")), JSON.stringify(out));
  assert(!JSON.stringify(out).includes("\ufffd"), JSON.stringify(out));
  // A name's bytes changing is that account going and another coming.
  const renamed = diffPasswd(
    passwd(bytes("a\xffb:x:5:5::/:/bin/sh\n")),
    passwd(bytes("a\xfeb:x:5:5::/:/bin/sh\n")),
    "/etc/passwd",
  );
  assertEquals(actions(renamed), ["user_added", "user_removed"]);
});
