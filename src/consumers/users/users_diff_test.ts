import { assert, assertEquals } from "../../../test/assert.ts";
import { parsePasswd } from "./passwd.ts";
import { hmacFingerprint, parseShadow } from "./shadow.ts";
import type { SemanticChange } from "../semantic_change.ts";
import { diffPasswd, diffShadow, diffUsers } from "./users_diff.ts";

const fp = hmacFingerprint(new TextEncoder().encode("test host key"));
const passwd = (t: string) => parsePasswd(t, fp).entries;
const shadow = (t: string) => parseShadow(t, fp).entries;
const actions = (cs: SemanticChange[]) => cs.map((c) => c.action);

const ROOT = "root:x:0:0:root:/root:/bin/bash\n";
const HASH_A = "$6$saltsalt$Qm3Vx8Lr2Tn7Wp4Kc9Hd1Fs6Gj5Bz0Ye8Ua3Io2Pl7Nk4Mh9Rq1Sw6Ev5Ct0Xb3Ag8Df2";
const HASH_B = "$y$j9T$NewSaltNew$Zx7Cv4Bn1Mq8Wl5Er2Ty9Ui6Op3As0Df7Gh4Jk1Lz8Xc5Vb2";

Deno.test("reports a user added with uid 0", () => {
  const out = diffPasswd(passwd(ROOT), passwd(ROOT + "toor:x:0:0::/root:/bin/sh\n"), "/etc/passwd");
  assertEquals(out.length, 1);
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
    assertEquals(actions(added), ["user_added"], name);
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
