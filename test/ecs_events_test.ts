/**
 * Every kind of event bpfink builds, from real consumers over real file
 * content, is valid ECS (field definitions of `@elastic/ecs`) and matches
 * `schema/event.schema.json`; and the validator itself rejects what ECS
 * rejects. The agent and daemon tests check every event they see as well
 * (test/helpers.ts, test/daemon.ts).
 */
import { assert, assertEquals } from "./assert.ts";
import { tempDir } from "./helpers.ts";
import { checkEvent, ecsProblems, eventProblems, schemaProblems } from "./ecs_validate.ts";
import { semanticEvent } from "../src/pipeline/change_pipeline.ts";
import { genericEvent } from "../src/consumers/generic.ts";
import { consumerContext } from "../src/consumers/consumer_context.ts";
import { semanticConsumer } from "../src/consumers/registry.ts";
import type { ConsumerName } from "../src/config/config_types.ts";
import type { FileAction, FileChange } from "../src/pipeline/file_change.ts";
import { pathParts } from "../src/pipeline/ecs_event.ts";
import { readFileState } from "../src/watch/file_state.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";

const ctx = consumerContext(new Uint8Array(32), () => {});
const HASH = "$6$salt$" + "a".repeat(86);

/** Before and after texts that make each consumer report each of its actions. */
const CASES: [ConsumerName, string, string, string][] = [
  [
    "users",
    "/etc/passwd",
    "root:x:0:0::/root:/bin/sh\nbob:x:1001:100::/home/bob:/bin/sh\ncarol:x:1002:100::/h:/bin/sh\n",
    "root:x:0:0::/root:/bin/sh\nbob:x:0:100::/home/bob:/bin/bash\nmallory:x:0:0::/:/bin/sh\n",
  ],
  [
    "users",
    "/etc/shadow",
    `root:${HASH}:1::::::\nalice:${HASH}:1::::::\nbob:!${HASH}:1::::::\ncarol:${HASH}:1::::::\n` +
    `dave:${HASH}:1::::::\n`,
    `root:${HASH.replace("salt", "tlas")}:1::::::\nalice:!${HASH}:1::::::\nbob:${HASH}:1::::::\n` +
    `carol::1::::::\ndave:*:1::::::\n`,
  ],
  [
    "groups",
    "/etc/group",
    "root:x:0:\nsudo:x:27:alice\ndevs:x:2500:\nold:x:3000:\nops:x:3002:bob\n",
    "root:x:0:\nsudo:x:27:eve\ndevs:x:2501:\nnew:x:3001:\n#sudo:x:27:trudy\n",
  ],
  [
    "groups",
    "/etc/gshadow",
    "devs:!::\nops:!:alice:\n",
    "devs:" + HASH + ":bob:\nops:!::\n",
  ],
  [
    "sudoers",
    "/etc/sudoers",
    "Defaults env_reset\nUser_Alias ADMINS = alice\nroot ALL=(ALL) ALL\nold ALL=(ALL) ALL\n" +
    "@include /etc/sudoers.old\n",
    "Defaults !env_reset\nUser_Alias ADMINS = alice, eve\nCmnd_Alias SHELLS = /bin/sh\n" +
    "root ALL=(ALL) ALL\nbob ALL=(ALL) NOPASSWD: ALL\n@include /etc/sudoers.local\n",
  ],
  [
    "access",
    "/etc/security/access.conf",
    "+ : root : LOCAL\n- : bob : ALL\n",
    "+ : root : LOCAL\n+ : eve : ALL\n",
  ],
];

function change(path: string, action: FileAction = "modified"): FileChange {
  return { action, path, kind: "file", root: path, folded: 1, reason: "live" };
}

Deno.test("every semantic event kind the consumers produce is valid ECS and matches the schema", () => {
  const seen = new Set<string>();
  for (const [consumer, path, before, after] of CASES) {
    const c = semanticConsumer(consumer)!;
    const events = c.diff(path, c.snapshot(path, before, ctx), c.snapshot(path, after, ctx), ctx);
    assert(events.length > 0, `${path}: no events`);
    for (const s of events) {
      const e = semanticEvent(s, change(path), consumer, "web-1");
      checkEvent(e, `${consumer} ${s.action}`);
      seen.add(e.event.action);
      // The account acted upon is the target, never the actor.
      if (s.fields?.user) assertEquals(e.user?.target, s.fields.user);
      assertEquals(e.user?.id, undefined); // no kernel event: no actor
    }
  }
  for (
    const a of [
      "user_added",
      "user_removed",
      "user_modified",
      "password_changed",
      "password_locked",
      "password_unlocked",
      "password_removed",
      "group_added",
      "group_removed",
      "group_modified",
      "group_member_added",
      "group_member_removed",
      "group_admin_added",
      "group_gid_gained",
      "group_gid_lost",
      "group_password_changed",
      "sudoers_rule_added",
      "sudoers_rule_removed",
      "sudoers_default_added",
      "sudoers_default_removed",
      "sudoers_alias_added",
      "sudoers_alias_modified",
      "sudoers_include_added",
      "sudoers_include_removed",
      "access_rule_added",
      "access_rule_removed",
    ]
  ) assert(seen.has(a), `${a} not produced; got ${[...seen].sort().join(", ")}`);
});

Deno.test("every file action, with and without an actor, is valid ECS with the full file fields", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.conf`;
  await Deno.writeTextFile(path, "a\n");
  const before = await readFileState(path);
  await Deno.writeTextFile(path, "ab\n");
  await Deno.chmod(path, 0o600);
  const after = await readFileState(path);
  const cause = {
    tgid: 4242,
    pid: 4243,
    ppid: 1,
    comm: "vi\x1b[31m",
    exe: "vi", // the process exited: only the kernel's file name is known
    uid: 1000,
    euid: 0,
    auid: 1000,
    cgroupId: 7n,
  } as unknown as FileChange["cause"];
  for (
    const action of ["created", "modified", "attributes_changed", "replaced", "deleted"] as const
  ) {
    for (const withCause of [false, true]) {
      const c: FileChange = {
        ...change(path, action),
        before: action === "created" ? undefined : before,
        after: action === "deleted" ? undefined : after,
        cause: withCause ? cause : undefined,
      };
      const e = genericEvent(c, "web-1");
      checkEvent(e, `file ${action}`);
      assertEquals([e.file?.name, e.file?.directory, e.file?.extension], [
        "app.conf",
        dir.path,
        "conf",
      ]);
      assertEquals(typeof e.file?.uid, "string");
      if (withCause) {
        assertEquals(e.process?.executable, undefined);
        assertEquals(e.bpfink?.process, {
          cgroup: { id: "7" },
          executable_name: "vi",
          executable_unknown:
            "the process exited before /proc/PID/exe could be read; the kernel event carries only the executable's file name",
        });
        assertEquals(e.bpfink?.user, { audit: { id: "1000" } });
        assertEquals(e.user?.effective, { id: "0" });
        assert(e.related?.user?.includes("1000"), JSON.stringify(e.related));
      }
    }
  }
  const dirEvent = genericEvent({ ...change(dir.path, "deleted"), kind: "dir" }, "web-1");
  checkEvent(dirEvent, "directory deleted");
  assertEquals(dirEvent.file?.type, "dir");
});

Deno.test("a path /proc showed that is not the running file is no process.executable", () => {
  // A process that ran /usr/bin/dpkg's path from another mount namespace (or a deleted binary):
  // the path goes to bpfink.process.executable_unverified, never to process.executable, which
  // ignore rules and detections trust.
  const cause = {
    tgid: 4242,
    pid: 4242,
    ppid: 1,
    comm: "dpkg",
    exe: "dpkg",
    uid: 0,
    euid: 0,
    cgroupId: 7n,
    details: { executableUnverified: "/usr/bin/dpkg" },
  } as unknown as FileChange["cause"];
  const e = genericEvent({ ...change("/etc/sudoers.d/x"), cause }, "web-1");
  checkEvent(e, "unverified executable");
  assertEquals(e.process?.executable, undefined);
  assertEquals(e.bpfink?.process, {
    cgroup: { id: "7" },
    executable_name: "dpkg",
    executable_unverified: "/usr/bin/dpkg",
    executable_unknown:
      "the path /proc/PID/exe showed is not the file the process runs (deleted or replaced since it started, a memfd, or a path in another mount namespace)",
  });
});

Deno.test("file.name, directory and extension of odd paths", () => {
  assertEquals(pathParts("/etc/passwd"), { name: "passwd", directory: "/etc" });
  assertEquals(pathParts("/root/.bashrc"), { name: ".bashrc", directory: "/root" });
  assertEquals(pathParts("/x/archive.tar.gz"), {
    name: "archive.tar.gz",
    directory: "/x",
    extension: "gz",
  });
  assertEquals(pathParts("/top"), { name: "top", directory: "/" });
  assertEquals(pathParts("/etc/trailing."), { name: "trailing.", directory: "/etc" });
});

Deno.test("the validator rejects what ECS and the schema reject", () => {
  const good = genericEvent(change("/etc/hosts", "deleted"), "web-1");
  assertEquals(eventProblems(good), []);
  const bad = (patch: (e: ChangeEvent & Record<string, unknown>) => void): string[] => {
    const e = structuredClone(good) as ChangeEvent & Record<string, unknown>;
    patch(e);
    return eventProblems(e);
  };
  const has = (problems: string[], part: string) =>
    assert(problems.some((p) => p.includes(part)), `${part} not in ${problems.join(" | ")}`);
  has(
    bad((e) => (e.file as unknown as Record<string, unknown>).uid = 0),
    "file.uid: keyword needs a string",
  );
  has(
    bad((e) => (e as Record<string, unknown>).process = { pid: 1, name: "x", cgroup: { id: "1" } }),
    "process.cgroup.id: not an ECS 9.4.0 field",
  );
  has(bad((e) => (e.user = { audit: { id: "1" } })), "user.audit.id: not an ECS");
  has(bad((e) => (e.event.category = ["process"])), 'event.type "deletion" is not expected');
  has(bad((e) => (e.event.outcome = "done" as "success")), '"done" is not an allowed value');
  has(bad((e) => (e.bpfink = { ...e.bpfink, surprise: 1 })), "must NOT have additional properties");
  has(bad((e) => delete e.ecs), "ecs.version must be");
  has(bad((e) => delete (e.event as Partial<ChangeEvent["event"]>).severity), "severity");
  has(bad((e) => (e.file!.mtime = "yesterday")), "file.mtime: date");
  assertEquals(schemaProblems(good), []);
  assertEquals(ecsProblems(good), []);
});
