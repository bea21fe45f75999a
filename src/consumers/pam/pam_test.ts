import { assertEquals } from "../../../test/assert.ts";
import { changeSeverity } from "../semantic_change.ts";
import { pamLineText, parsePamConf } from "./pam_conf.ts";
import { authPassesWithoutPassword } from "./pam_stack.ts";
import { diffPam } from "./pam_diff.ts";
import { consumerContext } from "../consumer_context.ts";
import { pamConsumer } from "./pam_consumer.ts";

const COMMON_AUTH = "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n" +
  "auth\trequisite\t\t\tpam_deny.so\nauth\trequired\t\t\tpam_permit.so\nauth\toptional\tpam_cap.so\n";

Deno.test("pam.d: rules, continuations, comments, brackets and @include", () => {
  const r = parsePamConf(
    "# comment\nAUTH [success=2 \\\n default=ignore] pam_unix.so nullok # why\n" +
      "-session optional pam_systemd.so\n@include common-auth\n" +
      "auth required pam_listfile.so item=user [onerr=succeed sense=deny]\nbogus line here\n",
  );
  assertEquals(r.entries.map(pamLineText), [
    "auth [success=2 default=ignore] pam_unix.so nullok",
    "-session optional pam_systemd.so",
    "@include common-auth",
    "auth required pam_listfile.so item=user [onerr=succeed sense=deny]",
    // libpam runs a line of an unknown type as a rule that fails (its control a list, `bad`).
    "bogus [line] here",
  ]);
  assertEquals(r.errors.map((e) => e.line), [7]);
});

Deno.test("pam: auth without a password, as libpam decides it", () => {
  const passes = (s: string) => authPassesWithoutPassword(parsePamConf(s).entries, () => undefined);
  assertEquals(passes(COMMON_AUTH), false);
  assertEquals(passes("auth sufficient pam_permit.so\n" + COMMON_AUTH), true);
  assertEquals(passes(COMMON_AUTH.replace("requisite", "optional")), true);
  assertEquals(passes(COMMON_AUTH.replace("success=1", "success=2")), false);
  assertEquals(passes(COMMON_AUTH.replace("default=ignore]", "default=1]")), true);
  // An include that is missing fails, as libpam's does.
  assertEquals(passes("auth sufficient pam_permit.so\n"), true);
  assertEquals(passes("@include nothere\nauth required pam_permit.so\n"), false);
});

Deno.test("pam: the change that lets a caller in without a password is critical, whatever its lines", () => {
  const read = () => undefined;
  const d = (a: string, b: string) => {
    const [x, y] = [parsePamConf(a).entries, parsePamConf(b).entries];
    return diffPam(x, y, "/etc/pam.d/common-auth", {
      before: authPassesWithoutPassword(x, read),
      after: authPassesWithoutPassword(y, read),
    });
  };
  const opened = d(COMMON_AUTH, COMMON_AUTH.replace("requisite", "optional"));
  assertEquals(opened.map((c) => [c.action, changeSeverity(c)]), [
    ["pam_rule_added", "medium"],
    ["pam_rule_removed", "medium"],
    ["pam_auth_opened", "critical"],
  ]);
  const exec = d(COMMON_AUTH, COMMON_AUTH + "auth optional pam_exec.so expose_authtok /tmp/log\n");
  assertEquals(exec[0].changes, [{
    field: "weakens",
    to: ["auth runs a program: expose_authtok /tmp/log"],
  }]);
  assertEquals(changeSeverity(exec[0]), "critical");
  // A line libpam runs as a failing handler loads no module: it runs no program.
  const notRun = d(
    COMMON_AUTH,
    COMMON_AUTH + "xauth optional pam_exec.so expose_authtok /tmp/log\n",
  );
  assertEquals(notRun[0].changes, undefined);
  const odd = d(COMMON_AUTH, COMMON_AUTH + "auth optional /tmp/pam_x.so\n");
  assertEquals(changeSeverity(odd[0]), "critical");
  const closed = d(COMMON_AUTH.replace("requisite", "optional"), COMMON_AUTH);
  assertEquals(closed.at(-1)?.action, "pam_auth_closed");
});

Deno.test("pam: a file that includes itself over and over is bounded, and counts as open", () => {
  // Substacks: libpam bounds their depth (an include cycle crashes it: nobody gets in).
  const bomb = "auth substack bomb\n".repeat(10) + "auth requisite pam_deny.so\n";
  const start = performance.now();
  const passes = authPassesWithoutPassword(parsePamConf(bomb).entries, () => bomb);
  assertEquals(passes, true);
  assertEquals(performance.now() - start < 2000, true);
});

Deno.test("pam.d: lines as libpam's reader cuts them, and what libpam does not skip", () => {
  const r = parsePamConf(
    "auth optional pam_env.so " + "é".repeat(499) + " auth sufficient pam_permit.so\n" +
      "auth sufficient \\\n# c\n\n  pam_permit.so\r\nxauth [default=1] pam_deny.so\n" +
      "auth sufficient pam_permit.so\0 junk\nauth required \\",
  );
  assertEquals(r.entries.map(pamLineText).slice(1), [
    "auth sufficient pam_permit.so",
    "auth sufficient pam_permit.so\r",
    "xauth [default=1] pam_deny.so",
    "auth sufficient pam_permit.so",
    "(libpam stops reading here: a `\\` continues the last line past the end of the file: libpam gives up on the file)",
  ]);
  assertEquals(r.entries.map((l) => l.line), [1, 1, 2, 6, 7, 8]);
  assertEquals(r.errors.map((e) => e.line), [1, 6, 8]);
  // libpam gives up on the service file: nobody gets in, whatever it read before.
  assertEquals(authPassesWithoutPassword(r.entries, () => undefined), false);
  assertEquals(authPassesWithoutPassword(r.entries.slice(0, -1), () => undefined), true);
});

Deno.test("pam: an include of a directory includes nothing, as libpam's fopen and fgets give", () => {
  const ctx = consumerContext(new Uint8Array(32), () => {});
  assertEquals(ctx.readFileBytes?.("/etc"), new Uint8Array());
  assertEquals(ctx.readFileBytes?.("/nonexistent/x"), undefined);
  const read = (p: string) => ctx.readFileBytes ? ctx.readFileBytes(p) : ctx.readFile(p);
  const lines = parsePamConf("auth include /etc\nauth sufficient pam_permit.so\n").entries;
  assertEquals(authPassesWithoutPassword(lines, read), true);
});

Deno.test("pam: an include too large to read counts as letting anyone in (libpam reads it whole)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bpfink-pam-" });
  try {
    // Sparse: 9 MiB that take no room; larger than bpfink parses (8 MiB).
    await Deno.writeTextFile(`${dir}/huge`, "");
    await Deno.truncate(`${dir}/huge`, 9 << 20);
    const ctx = consumerContext(new Uint8Array(32), () => {});
    assertEquals(ctx.readFileBytes?.(`${dir}/huge`), null);
    const read = (p: string) => ctx.readFileBytes ? ctx.readFileBytes(p) : ctx.readFile(p);
    const deny = "auth required pam_deny.so\n";
    assertEquals(authPassesWithoutPassword(parsePamConf(deny).entries, read), false);
    // Missing, the include fails; too large, what it holds is not known.
    const lines = (f: string) => parsePamConf(`auth include ${f}\n${deny}`).entries;
    assertEquals(authPassesWithoutPassword(lines(`${dir}/missing`), read), false);
    assertEquals(authPassesWithoutPassword(lines(`${dir}/huge`), read), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pam: a change after which libpam cannot set the service up is reported, once", () => {
  const d = (a: string, b: string) =>
    diffPam(parsePamConf(a).entries, parsePamConf(b).entries, "/etc/pam.d/sudo")
      .filter((c) => c.action === "pam_service_broken");
  const cases = [
    // A continuation open at the end of the file: libpam gives up on the file.
    COMMON_AUTH + "auth required pam_deny.so \\",
    // A continued line that leaves one byte of libpam's 1024-byte buffer: it reads for ever.
    COMMON_AUTH + "auth required pam_env.so " + "x".repeat(1022 - 25) + "\\\ny\n",
    // An @include with no file name: libpam crashes.
    COMMON_AUTH + "@include\n",
  ];
  for (const broken of cases) {
    const out = d(COMMON_AUTH, broken);
    assertEquals(out.length, 1, JSON.stringify(broken.slice(-40)));
    assertEquals(changeSeverity(out[0]), "high");
    assertEquals(d(broken, broken + "auth optional pam_env.so\n").length, 0, "reported again");
  }
  assertEquals(d(COMMON_AUTH, COMMON_AUTH + "auth optional pam_env.so\n").length, 0);
});

Deno.test("pam: the files a service includes are watched as PAM files, as libpam opens them", () => {
  const svc = "@include common-auth\n@INCLUDE /opt/pam/extra\n" +
    "account include common-account\nsession substack common-session\n" +
    "password [success=1 default=ignore] pam_unix.so\n@include common-auth\n";
  assertEquals(pamConsumer.watchAlso!(parsePamConf(svc).entries), [
    { path: "/etc/pam.d/common-auth", dir: false },
    { path: "/opt/pam/extra", dir: false },
    { path: "/etc/pam.d/common-account", dir: false },
    { path: "/etc/pam.d/common-session", dir: false },
  ]);
});

Deno.test("pam: the modules, programs and lists a service's rules name are watched as files", () => {
  const svc = "auth required /opt/evil/pam_x.so\n" +
    "auth optional pam_exec.so quiet expose_authtok log=/var/log/x /usr/local/sbin/hook arg\n" +
    "auth required pam_listfile.so item=user sense=allow file=/etc/ssh/allowed onerr=fail\n" +
    "auth optional pam_exec.so relative/program\nauth required pam_unix.so\n";
  assertEquals(pamConsumer.watchAlso!(parsePamConf(svc).entries), [
    { path: "/opt/evil/pam_x.so", dir: false, consumer: "generic", severity: "critical" },
    { path: "/usr/local/sbin/hook", dir: false, consumer: "generic", severity: "critical" },
    { path: "/etc/ssh/allowed", dir: false, consumer: "generic", severity: "high" },
  ]);
});

Deno.test("pam: pam_access's accessfile= is watched as access rules, and separators of its own are critical", () => {
  const lines = (s: string) => parsePamConf(s).entries;
  const svc = "account required pam_unix.so\n" +
    "account required /lib/x86_64-linux-gnu/security/pam_access.so accessfile=/etc/a.conf\n" +
    "account required pam_access.so accessfile=/etc/b.conf accessfile=/etc/c.conf\n" +
    "account required pam_access.so accessfile=relative.conf\n" +
    // libpam runs neither as pam_access: a failing handler, and another module.
    "xaccount required pam_access.so accessfile=/etc/d.conf\n" +
    "account required pam_listfile.so accessfile=/etc/e.conf\n";
  assertEquals(pamConsumer.watchAlso!(lines(svc)), [
    { path: "/etc/a.conf", dir: false, consumer: "access" },
    { path: "/etc/c.conf", dir: false, consumer: "access" },
  ]);
  const base = "account required pam_unix.so\n";
  const sep = diffPam(
    lines(base),
    lines(base + "account required pam_access.so fieldsep=| listsep=;\n"),
    "/etc/pam.d/sshd",
  );
  assertEquals(sep[0].changes, [{
    field: "weakens",
    to: [
      "account reads access rules with fieldsep=|, not as bpfink reads them",
      "account reads access rules with listsep=;, not as bpfink reads them",
    ],
  }]);
  assertEquals(changeSeverity(sep[0]), "critical");
  const file = diffPam(
    lines(base),
    lines(base + "account required pam_access.so accessfile=/etc/security/x.conf\n"),
    "/etc/pam.d/sshd",
  );
  assertEquals(changeSeverity(file[0]), "medium");
});

Deno.test("pam: a service file removed is set up from /etc/pam.d/other, as libpam does", () => {
  const svc = parsePamConf(COMMON_AUTH).entries;
  const withOther = (other: string | undefined) => ({
    ...consumerContext(new Uint8Array(32), () => {}),
    readFileBytes: undefined,
    readFile: (p: string) => p === "/etc/pam.d/other" ? other : undefined,
  });
  const actions = (path: string, before: unknown, after: unknown, other?: string) =>
    pamConsumer.diff(path, before, after, withOther(other)).map((c) => c.action)
      .filter((a) => a.startsWith("pam_auth_"));
  const open = "auth sufficient pam_permit.so\n";
  // Removed where `other` lets anyone in: auth opened; where it denies, or is missing: not.
  assertEquals(actions("/etc/pam.d/sshd", svc, undefined, open), ["pam_auth_opened"]);
  assertEquals(actions("/etc/pam.d/sshd", svc, undefined, "auth required pam_deny.so\n"), []);
  assertEquals(actions("/etc/pam.d/sshd", svc, undefined, undefined), []);
  // A file made in its place closes it.
  assertEquals(actions("/etc/pam.d/sshd", undefined, svc, open), ["pam_auth_closed"]);
  // `other` removed leaves nothing to fall back to: closed.
  assertEquals(actions("/etc/pam.d/other", parsePamConf(open).entries, undefined, open), [
    "pam_auth_closed",
  ]);
});

Deno.test("pam: a change to an included file is judged in each service that includes it", () => {
  const files = new Map<string, string>([
    ["/etc/pam.d/common-auth", COMMON_AUTH],
    ["/etc/pam.d/sshd", "@include common-auth\nauth required pam_permit.so\n"],
    ["/etc/pam.d/login", "auth optional pam_faildelay.so\n@include common-auth\n"],
    // Its own stack, no include: a change to common-auth is none of its business.
    ["/etc/pam.d/cron", "auth required pam_deny.so\n"],
  ]);
  const ctx = {
    ...consumerContext(new Uint8Array(32), () => {}),
    readFileBytes: undefined,
    readFile: (p: string) => files.get(p),
    readDir: (d: string) =>
      [...files.keys()].filter((p) => p.startsWith(`${d}/`)).map((p) => p.slice(d.length + 1))
        .sort(),
  };
  const auth = (before: string, after: string) => {
    files.set("/etc/pam.d/common-auth", after);
    return pamConsumer.diff(
      "/etc/pam.d/common-auth",
      parsePamConf(before).entries,
      parsePamConf(after).entries,
      ctx,
    ).filter((c) => c.action.startsWith("pam_auth_")).map((c) => [c.action, c.message]);
  };
  // A pam_permit on top opens common-auth itself, and both services that include it.
  assertEquals(auth(COMMON_AUTH, "auth sufficient pam_permit.so\n" + COMMON_AUTH), [[
    "pam_auth_opened",
    "/etc/pam.d/common-auth: auth, and the auth of login, sshd, which include it, " +
    "now lets in a caller who knows no password",
  ]]);
  // pam_deny made optional: common-auth alone still lets nobody in (no module succeeds), but
  // sshd's pam_permit after its include now decides.
  const soft =
    "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\toptional\tpam_deny.so\n";
  assertEquals(auth(COMMON_AUTH, soft), [[
    "pam_auth_opened",
    "/etc/pam.d/common-auth: the auth of sshd, which includes it, " +
    "now lets in a caller who knows no password",
  ]]);
  assertEquals(auth(soft, COMMON_AUTH), [[
    "pam_auth_closed",
    "/etc/pam.d/common-auth: the auth of sshd, which includes it, " +
    "no longer lets in a caller who knows no password",
  ]]);
});
