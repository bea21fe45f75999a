/**
 * The class of leak, not its cases: whatever a file holding password hashes
 * is called and whatever consumer reads it, no hash reaches an event or the
 * database (its rows, and the bytes of its files).
 */
import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { fileChange as change } from "../../test/records.ts";
import type { ChangeEvent } from "./change_event.ts";
import { BaselineStore } from "../store/baseline_store.ts";
import { readFileState } from "../watch/file_state.ts";
import { ChangePipeline, MAX_PARSE_BYTES } from "./change_pipeline.ts";
import { consumerContext } from "../consumers/consumer_context.ts";
import { consumerNameFor, semanticConsumer } from "../consumers/registry.ts";
import { sudoersConsumer } from "../consumers/sudoers/sudoers_consumer.ts";

const KEY = new Uint8Array(32).fill(9);
/** In every hash written below, and nowhere else. */
const MARK = "M4rk";

const HASHES = [
  `$y$j9T$${MARK}salt1$${MARK}yescryptyescryptyescrypt11`,
  `$6$${MARK}salt2$${MARK}sha512sha512sha512sha512sha512`,
  `$2b$12$${MARK}bcryptbcryptbcryptbcryptbcryptbcryptbcryptbcryp`,
  `$apr1$${MARK}1$${MARK}apr1apr1apr1apr1a/`,
  `{SSHA}${MARK}W6ph5Mm5Pz8GgiULbPgzG37mj9g=`,
  `${MARK}DESabcdef`, // DES: 13 characters
];

/**
 * Lines that hold hash `h` the way each kind of file does: shadow, htpasswd
 * and, in a file that is not a password file, opasswd (a DES hash is known by
 * its place: not in opasswd's list). In a group file opasswd's line would be
 * a group whose members are named so, which is no secret.
 */
function linesWith(h: string, n: number, passwordFile = false): string {
  return [
    `u${n}:${h}:20000:0:99999:7:::`,
    `u${n}:${h}`,
    ...(h.startsWith(MARK) || passwordFile ? [] : [`u${n}:1000:2:${h},${h}`]),
  ].join("\n") + "\n";
}

const withBigints = (v: unknown) =>
  JSON.stringify(v, (_, x) => typeof x === "bigint" ? String(x) : x);

async function write(path: string, text: string) {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text);
  return (await readFileState(path, MAX_PARSE_BYTES))!;
}

Deno.test("no password hash reaches an event or the database, whatever the file's name and consumer", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const db = `${d}/db/baseline.db`;
  await Deno.mkdir(`${d}/db`, { mode: 0o700 });
  const files = [
    `${d}/etc/shadow.edit`, // vipw -s's copy: generic, with a line diff
    `${d}/etc/htpasswd`,
    `${d}/etc/security/opasswd`,
    `${d}/etc/sudoers.d/inc`, // a file sudoers includes: parsed as sudoers
    `${d}/etc/security/access.conf`,
    `${d}/etc/passwd`, // the password files: their own consumers fingerprint the field
    `${d}/etc/shadow`,
    `${d}/etc/group`,
    `${d}/etc/gshadow`,
  ];
  const kinds = new Set(files.map((f) => consumerNameFor(f)));
  assertEquals(kinds, new Set(["generic", "sudoers", "access", "users", "groups"]));
  const delivered: ChangeEvent[] = [];
  const store = BaselineStore.open(db);
  try {
    const p = new ChangePipeline({
      store,
      hostname: "testhost",
      ctx: consumerContext(KEY, () => {}),
      ruleFor: (path) => ({ consumer: consumerNameFor(path), secret: false, diffMaxBytes: 65536 }),
      deliver: (events) => delivered.push(...events),
    });
    for (const f of files) {
      const pw = ["users", "groups"].includes(consumerNameFor(f));
      const before = await write(f, linesWith(HASHES[0], 1, pw) + linesWith(HASHES[5], 2, pw));
      p.adopt(f, before);
      // Each hash changed, one line added, each format once.
      let last = before;
      for (const [i, h] of HASHES.entries()) {
        const after = await write(f, linesWith(h, 1, pw) + linesWith(HASHES[(i + 1) % 6], 3, pw));
        p.handle(change(f, "modified", last, after));
        last = after;
      }
      assert(store.get(f), `${f} has a baseline`);
    }
    const everything = withBigints(delivered) + files.map((f) => withBigints(store.get(f))).join();
    assert(
      !everything.includes(MARK),
      `a hash reached an event or a row: ${
        everything.slice(Math.max(0, everything.indexOf(MARK) - 200), everything.indexOf(MARK) + 50)
      }`,
    );
    // The redaction shows where a hash was, in a line diff and in sudoers' unparsed lines.
    const diff = delivered.find((e) => e.file?.path === `${d}/etc/shadow.edit` && e.bpfink?.diff);
    assert(withBigints(diff?.bpfink?.diff).includes("[redacted]"), "the diff shows [redacted]");
    assert(
      delivered.some((e) =>
        e.file?.path === `${d}/etc/sudoers.d/inc` && (e.message ?? "").includes("u3:[redacted]:")
      ),
      "sudoers' unparsed lines show [redacted]",
    );
  } finally {
    store.close();
  }
  for (const suffix of ["", "-wal", "-shm"]) {
    const bytes = await Deno.readFile(db + suffix).catch(() => new Uint8Array());
    assert(!new TextDecoder("latin1").decode(bytes).includes(MARK), `${db}${suffix} holds a hash`);
  }
});

Deno.test("a snapshot an older bpfink kept with hashes in it shows none in the next diff", async () => {
  await using dir = await tempDir();
  const store = BaselineStore.open(":memory:");
  try {
    const delivered: ChangeEvent[] = [];
    const ctx = consumerContext(KEY, () => {});
    const p = new ChangePipeline({
      store,
      hostname: "testhost",
      ctx,
      ruleFor: (path) => ({ consumer: consumerNameFor(path), secret: false, diffMaxBytes: 65536 }),
      deliver: (events) => delivered.push(...events),
    });
    const generic = `${dir.path}/etc/shadow.bak`;
    const sudoers = `${dir.path}/etc/sudoers.d/inc`;
    for (const f of [generic, sudoers]) {
      const before = await write(f, linesWith(HASHES[1], 1) + linesWith(HASHES[5], 2));
      // What an older bpfink stored: the bytes, or sudoers parsed from the text as it was.
      const old = semanticConsumer(consumerNameFor(f))
        ? sudoersConsumer.snapshot(f, new TextDecoder().decode(before.content), ctx)
        : before.content;
      store.commit([[f, p.recordOf(f, before, old)]], []);
      const after = await write(f, "nothing secret\n");
      p.handle(change(f, "modified", before, after));
    }
    const text = withBigints(delivered);
    assert(delivered.length >= 2, "both files reported");
    assert(!text.includes(MARK), `an old snapshot's hash reached an event: ${text}`);
  } finally {
    store.close();
  }
});
