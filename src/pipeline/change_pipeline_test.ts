import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { formatLine } from "../outputs/terminal.ts";
import { fileChange as change } from "../../test/records.ts";
import type { ConsumerName, WatchConfig } from "../config/config_types.ts";
import type { ChangeEvent } from "./change_event.ts";
import { watchPolicy } from "./watch_policy.ts";
import { BaselineStore } from "../store/baseline_store.ts";
import { readFileState } from "../watch/file_state.ts";
import { ChangePipeline, MAX_PARSE_BYTES, type PathRule } from "./change_pipeline.ts";
import { consumerContext } from "../consumers/consumer_context.ts";

const KEY = new Uint8Array(32).fill(7);

/** A pipeline over an in-memory store, recording what it delivers and ignores. */
function pipeline(rule: Partial<PathRule> = {}) {
  const store = BaselineStore.open(":memory:");
  const delivered: { events: ChangeEvent[]; ids: number[] }[] = [];
  const ignored: string[] = [];
  const p = new ChangePipeline({
    store,
    hostname: "testhost",
    ctx: consumerContext(KEY, () => {}),
    ruleFor: () => ({ consumer: "generic", secret: false, diffMaxBytes: 65536, ...rule }),
    deliver: (events, ids) => delivered.push({ events, ids }),
    onIgnored: (_, why) => ignored.push(why),
  });
  return { p, store, delivered, ignored, [Symbol.dispose]: () => store.close() };
}

/** Writes `text` to `path` and reads its state as the monitor would. */
async function write(path: string, text: string) {
  await Deno.writeTextFile(path, text);
  return (await readFileState(path, MAX_PARSE_BYTES))!;
}

Deno.test("handle() commits the new baseline and delivers the event with its outbox row", async () => {
  await using dir = await tempDir();
  using t = pipeline();
  const f = `${dir.path}/app.conf`;
  const before = await write(f, "a=1\nb=2\n");
  t.p.adopt(f, before);
  assertEquals(t.delivered.length, 0, "a first sighting is not reported");
  const after = await write(f, "a=1\nb=3\n");
  t.p.handle(change(f, "modified", before, after));
  const [{ events, ids }] = t.delivered;
  assertEquals(events.map((e) => e.event.action), ["modified"]);
  assertEquals(events[0].bpfink?.diff, { added: ["b=3"], removed: ["b=2"] });
  assertEquals(t.store.get(f)?.sha256, after.sha256);
  assertEquals(t.store.undelivered().map((u) => u.id), ids, "committed before delivery");
});

Deno.test("handle() of a passwd file reports the account added by meaning", async () => {
  await using dir = await tempDir();
  using t = pipeline({ consumer: "users" as ConsumerName });
  const f = `${dir.path}/passwd`;
  const root = "root:x:0:0:root:/root:/bin/bash\n";
  const before = await write(f, root);
  t.p.adopt(f, before);
  const after = await write(f, root + "alice:x:1500:1500::/home/alice:/bin/sh\n");
  t.p.handle(change(f, "modified", before, after));
  const added = t.delivered[0].events.find((e) => e.event.action === "user_added");
  assertEquals(added?.user?.target, { name: "alice", id: "1500" });
});

Deno.test("handle() of a group file: joining gid 27 through an appended line is critical (99)", async () => {
  await using dir = await tempDir();
  using t = pipeline({ consumer: "groups" as ConsumerName });
  const f = `${dir.path}/group`;
  const base = "root:x:0:\nsudo:x:27:\n";
  const before = await write(f, base);
  t.p.adopt(f, before);
  const after = await write(f, base + "sudo:x:27:mallory\nwheel2:x:27:trudy\n");
  t.p.handle(change(f, "modified", before, after));
  const gains = t.delivered[0].events.filter((e) => e.event.action === "group_gid_gained");
  assertEquals(
    gains.map((e) => [e.user?.target?.name, e.group, e.event.severity, e.bpfink?.severity]),
    [
      ["mallory", { name: "sudo", id: "27" }, 99, "critical"],
      ["trudy", { name: "sudo", id: "27" }, 99, "critical"],
    ],
  );
});

Deno.test("handle(): a watch's severity raises a consumer's level, never lowers it", async () => {
  await using dir = await tempDir();
  const policy = { ignored: () => undefined, tags: [], severity: "high" as const };
  using t = pipeline({ consumer: "groups" as ConsumerName, policy });
  const f = `${dir.path}/group`;
  const before = await write(f, "sudo:x:27:\ndevs:x:2500:\n");
  t.p.adopt(f, before);
  const after = await write(f, "sudo:x:27:eve\ndevs:x:2500:\n+e:x::bob\n");
  t.p.handle(change(f, "modified", before, after));
  const levels = t.delivered[0].events.filter((e) => e.bpfink?.consumer === "groups").map((e) => [
    e.event.action,
    e.bpfink?.severity,
  ]);
  assertEquals(levels, [
    ["group_member_added", "critical"],
    ["group_added", "high"],
    ["group_gid_gained", "critical"],
  ]);
});

Deno.test("handle() of a secret file reports the change without its content or plain hash", async () => {
  await using dir = await tempDir();
  using t = pipeline({ secret: true });
  const f = `${dir.path}/token`;
  const before = await write(f, "hunter2-old\n");
  t.p.adopt(f, before);
  const after = await write(f, "hunter2-new\n");
  t.p.handle(change(f, "modified", before, after));
  const text = (v: unknown) => JSON.stringify(v, (_, x) => typeof x === "bigint" ? String(x) : x);
  const json = text(t.delivered) + text(t.store.get(f));
  assert(!json.includes("hunter2"), "content leaked");
  assert(!json.includes(after.sha256!), "the plain sha256 leaked");
  assertEquals(t.delivered[0].events[0].bpfink?.secret, true);
});

Deno.test("handle() of a change an ignore rule matches moves the baseline and reports nothing", async () => {
  await using dir = await tempDir();
  const w: WatchConfig = {
    path: dir.path,
    recursive: true,
    include: [],
    exclude: [],
    secret: false,
    diffMaxBytes: 65536,
    ignore: { paths: ["*.log"] },
  };
  using t = pipeline({ policy: watchPolicy(w) });
  const f = `${dir.path}/app.log`;
  const before = await write(f, "1\n");
  t.p.adopt(f, before);
  const after = await write(f, "2\n");
  t.p.handle(change(f, "modified", before, after));
  assertEquals(t.delivered.length, 0);
  assertEquals(t.ignored, ["path app.log"]);
  assertEquals(t.store.get(f)?.sha256, after.sha256);
});

Deno.test("redeliver() hands over what was committed and never acknowledged, flagged redelivered", async () => {
  await using dir = await tempDir();
  using t = pipeline();
  const f = `${dir.path}/app.conf`;
  t.p.handle(change(f, "created", undefined, await write(f, "x\n")));
  assertEquals(await t.p.redeliver(), 1, "not acknowledged: delivered again");
  const again = t.delivered[1].events[0];
  assertEquals(again.event.id, t.delivered[0].events[0].event.id);
  assertEquals(again.bpfink?.redelivered, true);
  t.store.ack(t.delivered[1].ids);
  assertEquals(await t.p.redeliver(), 0);
});

Deno.test("redeliver() reads the outbox a page at a time, in order, and only the rows there when it starts", async () => {
  await using dir = await tempDir();
  using t = pipeline();
  const f = `${dir.path}/app.conf`;
  let before = await write(f, "0\n");
  t.p.adopt(f, before);
  for (let i = 1; i <= 600; i++) {
    const after = await write(f, `${i}\n`);
    t.p.handle(change(f, "modified", before, after));
    before = after;
  }
  const committed = t.delivered.flatMap((d) => d.ids);
  assertEquals(committed.length, 600);
  t.delivered.length = 0;
  const late = await write(f, "late\n");
  const redelivering = t.p.redeliver();
  // A change made while it reads (after its first page): delivered as made, not as left over.
  t.p.handle(change(f, "modified", before, late));
  assertEquals(await redelivering, 600);
  const pages = t.delivered.filter((d) => d.events.every((e) => e.bpfink?.redelivered));
  assert(pages.length >= 3, `read in pages, not at once: ${pages.map((p) => p.ids.length)}`);
  assert(pages.every((p) => p.ids.length <= 256), "no page larger than 256 rows");
  assertEquals(pages.flatMap((p) => p.ids), committed, "every row once, oldest first");
});

Deno.test("handle(): an ignore rule on writers hides a change only when every writer folded into it matches", async () => {
  await using dir = await tempDir();
  const w: WatchConfig = {
    path: dir.path,
    recursive: true,
    include: [],
    exclude: [],
    secret: false,
    diffMaxBytes: 65536,
    ignore: { executable: ["/usr/bin/dpkg"] },
  };
  using t = pipeline({ consumer: "users" as ConsumerName, policy: watchPolicy(w) });
  const f = `${dir.path}/passwd`;
  const writer = (tgid: number, exe: string) =>
    ({ tgid, pid: tgid, comm: exe.split("/").pop(), exe, details: { executable: exe } }) as never;
  const before = await write(f, "root:x:0:0::/root:/bin/sh\n");
  t.p.adopt(f, before);
  // dpkg's write and another process's, folded into one re-read (the audit's alpha and beta).
  const after = await write(f, "root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n");
  t.p.handle({
    ...change(f, "modified", before, after),
    cause: writer(10, "/usr/bin/dpkg"),
    otherWriters: [writer(11, "/tmp/beta")],
  });
  assertEquals(t.ignored, [], "another writer's change is not hidden by dpkg's rule");
  const added = t.delivered[0]?.events.find((e) => e.event.action === "user_added");
  assert(added, "evil reported");
  // Which of the two wrote the line is not known: the event names both.
  assertEquals(added.bpfink?.other_writers, [{ pid: 11, name: "beta", exe: "/tmp/beta" }]);
  assert(formatLine(added, false).includes("dpkg[10] (with beta[11])"), formatLine(added, false));
  // dpkg alone: ignored.
  const again = await write(
    f,
    "root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\nsys:x:5:5::/:/bin/sh\n",
  );
  t.p.handle({
    ...change(f, "modified", after, again),
    cause: writer(12, "/usr/bin/dpkg"),
    otherWriters: [writer(13, "/usr/bin/dpkg")],
  });
  assertEquals(t.ignored, ["executable /usr/bin/dpkg"]);
});

Deno.test("handle(): a file named passwd that a user owns in a directory they can write is that user's file, read as text, not by meaning", async () => {
  await using dir = await tempDir();
  using t = pipeline({ consumer: "users" as ConsumerName, byName: true });
  await Deno.chown(dir.path, 65534, 65534);
  const f = `${dir.path}/passwd`;
  await write(f, "u1:x:1001:1001::/h:/bin/sh\n");
  await Deno.chown(f, 65534, 65534);
  const owned = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.adopt(f, owned);
  await Deno.writeTextFile(f, "u1:x:1001:1001::/h:/bin/sh\nu0:x:0:0::/h:/bin/sh\n");
  const after = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.handle(change(f, "modified", owned, after));
  assertEquals(t.delivered[0].events.map((e) => e.event.action), ["modified"]);
  assertEquals(t.delivered[0].events[0].bpfink?.diff, {
    added: ["u0:x:0:0::/h:/bin/sh"],
    removed: [],
  });
  // root's file of that name is read by meaning.
  await Deno.chown(f, 0, 0);
  const rooted = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.handle(change(f, "attributes_changed", after, rooted));
  await Deno.writeTextFile(
    f,
    "u1:x:1001:1001::/h:/bin/sh\nu0:x:0:0::/h:/bin/sh\nu2:x:0:0::/h:/bin/sh\n",
  );
  t.p.handle(change(f, "modified", rooted, (await readFileState(f, MAX_PARSE_BYTES))!));
  assert(
    t.delivered.at(-1)!.events.some((e) => e.event.action === "user_added"),
    JSON.stringify(t.delivered.at(-1)!.events.map((e) => e.message)),
  );
});

Deno.test("handle(): root's passwd given to a user stays an account database: a uid-0 line added meanwhile is user_added, and giving it back adds no one", async () => {
  await using dir = await tempDir();
  using t = pipeline({ consumer: "users" as ConsumerName, byName: true });
  const f = `${dir.path}/passwd`;
  const base = "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n";
  const rooted = await write(f, base);
  t.p.adopt(f, rooted);
  // What `chown nobody /etc/passwd` then `echo … >> /etc/passwd` and `chown root` do.
  await Deno.chown(f, 65534, 65534);
  const given = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.handle(change(f, "attributes_changed", rooted, given));
  const evil = await write(f, base + "evil:x:0:0::/root:/bin/sh\n");
  t.p.handle(change(f, "modified", given, evil));
  await Deno.chown(f, 0, 0);
  const back = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.handle(change(f, "attributes_changed", evil, back));
  const actions = t.delivered.map((d) =>
    d.events.map((e) => [e.event.action, e.user?.target?.name])
  );
  assertEquals(actions, [
    [["attributes_changed", undefined]],
    // Primary gid 0 is the root group's: held at login, as joining it would give.
    [["modified", undefined], ["user_added", "evil"], ["group_gid_gained", "evil"]],
    [["attributes_changed", undefined]],
  ]);
  assertEquals(t.delivered[1].events[1].bpfink?.severity, "critical");
});

Deno.test("handle(): a chmod of a text file carries no line diff (no 'hashes_only' for content that did not change)", async () => {
  await using dir = await tempDir();
  using t = pipeline();
  const f = `${dir.path}/app.conf`;
  const before = await write(f, "a=1\n");
  t.p.adopt(f, before);
  await Deno.chmod(f, 0o666);
  const after = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.handle(change(f, "attributes_changed", before, after));
  const [e] = t.delivered[0].events;
  assertEquals(e.bpfink?.content_changed, false);
  assertEquals(e.bpfink?.diff, undefined);
});

Deno.test("handle(): an attribute change that gives a file away (setuid, setgid, others' write, root's file to a user) is high, any other low", async () => {
  await using dir = await tempDir();
  using t = pipeline();
  const f = `${dir.path}/tool`;
  let state = await write(f, "#!/bin/sh\n");
  await Deno.chmod(f, 0o755);
  state = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.adopt(f, state);
  const levels: [string, unknown][] = [];
  const step = async (what: string, act: () => Promise<void>) => {
    await act();
    const after = (await readFileState(f, MAX_PARSE_BYTES))!;
    t.p.handle(change(f, "attributes_changed", state, after));
    state = after;
    levels.push([what, t.delivered.at(-1)!.events[0].bpfink?.severity]);
  };
  await step("chmod 700", () => Deno.chmod(f, 0o700));
  await step("chmod 4755", () => Deno.chmod(f, 0o4755));
  await step("chmod 755", () => Deno.chmod(f, 0o755));
  await step("chmod 2755", () => Deno.chmod(f, 0o2755));
  await step("chmod 757", () => Deno.chmod(f, 0o757));
  await step("chmod 755 again", () => Deno.chmod(f, 0o755));
  await step("chown nobody", () => Deno.chown(f, 65534, 65534));
  await step("chown root", () => Deno.chown(f, 0, 0));
  assertEquals(levels, [
    ["chmod 700", "low"],
    ["chmod 4755", "high"],
    ["chmod 755", "low"],
    ["chmod 2755", "high"],
    ["chmod 757", "high"],
    ["chmod 755 again", "low"],
    ["chown nobody", "high"],
    ["chown root", "low"],
  ]);
});

Deno.test("adopt(): a passwd given to a user before the first baseline stays an account database, and its owner is reported", async () => {
  await using dir = await tempDir();
  using t = pipeline({ consumer: "users" as ConsumerName, byName: true });
  // /etc is root's and only root's: `chown nobody /etc/passwd` while bpfink was down.
  await Deno.chmod(dir.path, 0o755);
  const f = `${dir.path}/passwd`;
  const base = "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n";
  await write(f, base);
  await Deno.chown(f, 65534, 65534);
  const given = (await readFileState(f, MAX_PARSE_BYTES))!;
  t.p.adopt(f, given);
  const [found] = t.delivered[0].events;
  assertEquals(
    [found.event.action, found.bpfink?.severity, found.event.reason],
    ["users_owner_not_root", "high", "offline"],
  );
  assertEquals(
    found.message,
    `${f} is owned by uid 65534, not root: it is read as users all the same, and uid 65534 can rewrite it`,
  );
  // The uid-0 account nobody then adds is a user_added, as after a live chown.
  const evil = await write(f, base + "evil:x:0:0::/root:/bin/sh\n");
  t.p.handle(change(f, "modified", given, evil));
  const added = t.delivered[1].events.find((e) => e.event.action === "user_added");
  assertEquals([added?.user?.target?.name, added?.bpfink?.severity], ["evil", "critical"]);
});

Deno.test("a content whose read's buffer was freed is refused, never recorded as an empty text", async () => {
  // releaseBuffers() frees a first baseline's window of contents once it is recorded: a state
  // used after that would diff against nothing. It fails loudly instead.
  await using dir = await tempDir();
  using t = pipeline();
  const f = `${dir.path}/app.conf`;
  const state = await write(f, "a=1\n");
  (state.content!.buffer as ArrayBuffer).transfer(0);
  let thrown: unknown;
  try {
    t.p.adopt(f, state);
  } catch (e) {
    thrown = e;
  }
  assert(/was used after its read's buffer was freed/.test(String(thrown)), String(thrown));
  assertEquals(t.store.get(f), undefined, "nothing recorded");
});
