/**
 * A user fills a watched directory of their own with text files: what the
 * baseline keeps of them for line diffs stays within `user_text_max_bytes`,
 * every change of theirs is still reported (a line diff only for the files
 * whose text it keeps), root's file keeps its diff, and once the user's
 * other files go, a file refused before is shown line by line again.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { Daemon } from "./daemon.ts";
import { DatabaseSync } from "node:sqlite";
import { runAsNobody } from "./faults/fault_helpers.ts";
import type { ChangeEvent } from "../src/pipeline/change_event.ts";
import type { TextDiff } from "../src/consumers/text_diff.ts";

const BUDGET = 1024 * 1024;
const NOBODY = 65534;
const FILES = 30;

/** The line diff an event carries, if any. */
const diffOf = (e: ChangeEvent) => e.bpfink?.diff as TextDiff | undefined;

/** The files of `uid` whose text the baseline keeps, and how much in all. */
function keptText(db: string, uid: number): { paths: Set<string>; bytes: number } {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    const rows = d.prepare(
      "SELECT CAST(path AS TEXT) AS path, length(snapshot) AS n FROM baseline " +
        "WHERE uid = ? AND typeof(snapshot) = 'blob'",
    ).all(uid) as { path: string; n: number }[];
    return { paths: new Set(rows.map((r) => r.path)), bytes: rows.reduce((a, r) => a + r.n, 0) };
  } finally {
    d.close();
  }
}

/**
 * Writes files `a`..`b` - 1 (about 110 KB of text each) under `dir`, each made whole beside it
 * (in `spare`) and renamed into place, so that the agent never reads one half written.
 */
const WRITE = `
import os, sys
dir, spare, a, b, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
for i in range(a, b):
    with open(f"{spare}/page{i}.txt", "w") as f:
        f.write("".join(f"{tag} {i} line {j} " + "x" * 90 + "\\n" for j in range(1000)))
    os.rename(f"{spare}/page{i}.txt", f"{dir}/page{i}.txt")
`;

Deno.test({
  name:
    "a user's text kept for line diffs stays within user_text_max_bytes; root's keeps its diffs",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    const www = `${dir.path}/www`;
    const spare = `${dir.path}/spare`;
    for (const d of [www, spare]) {
      await Deno.mkdir(d);
      await run(["chown", "nobody:nogroup", d]);
    }
    const rootFile = `${www}/root.conf`;
    await Deno.writeTextFile(rootFile, "a=1\n" + "root line\n".repeat(20_000));
    const config = `${dir.path}/config.yaml`;
    await Deno.writeTextFile(
      config,
      `watches:\n  - path: ${www}\n    recursive: true\ndatabase: ${dir.path}/state/bpfink.db\n` +
        `key_file: ${dir.path}/state/k\nlog_level: info\nuser_text_max_bytes: ${BUDGET}\n` +
        `outputs:\n  - type: stdout\n    format: json\n`,
    );
    const db = `${dir.path}/state/bpfink.db`;
    const daemon = new Daemon(config);
    const page = (i: number) => `${www}/page${i}.txt`;
    /** The first change of `path` (not a deletion) among those after the first `since`. */
    const next = async (since: number, path: string) => {
      const pred = (e: ChangeEvent) => e.file?.path === path && e.event.action !== "deleted";
      const ok = await waitFor(() => daemon.changes().slice(since).some(pred), 15_000);
      assert(ok, `${path} not reported:\n${daemon.stderr}`);
      return daemon.changes().slice(since).find(pred)!;
    };
    const nobody = async (a: number, b: number, tag: string) => {
      const r = await runAsNobody([
        "/usr/bin/python3",
        "-c",
        WRITE,
        www,
        spare,
        `${a}`,
        `${b}`,
        tag,
      ]);
      assertEquals(r.code, 0, r.out);
    };
    try {
      await daemon.started();
      // 30 files of 110 KB: three times what the user may keep.
      await nobody(0, FILES, "v1");
      for (let i = 0; i < FILES; i++) await next(0, page(i));
      const v1 = keptText(db, NOBODY);
      assert(v1.bytes <= BUDGET, `${v1.bytes} bytes of nobody's text kept, of ${BUDGET}`);
      assert(v1.paths.size >= 5, `${v1.paths.size} files keep text`);
      assertEquals(daemon.stderr.match(/files of uid 65534 hold/g)?.length, 1, daemon.stderr);

      // Changed: every file reported, with a line diff where its text was kept.
      let since = daemon.changes().length;
      await nobody(0, FILES, "v2");
      const withDiff = new Set<string>();
      for (let i = 0; i < FILES; i++) {
        if (diffOf(await next(since, page(i)))) withDiff.add(page(i));
      }
      assertEquals([...withDiff].sort(), [...v1.paths].sort());
      assert(keptText(db, NOBODY).bytes <= BUDGET);

      // Root's file keeps its diff, whatever the user holds.
      since = daemon.changes().length;
      await Deno.writeTextFile(rootFile, "a=2\n" + "root line\n".repeat(20_000));
      assertEquals(diffOf(await next(since, rootFile))?.added, ["a=2"]);

      // The user's other files go: a file refused before keeps its text again, so its next
      // change but one is shown line by line.
      const refused = [...Array(FILES).keys()].find((i) => !v1.paths.has(page(i)))!;
      for (let i = 0; i < FILES; i++) if (i !== refused) await Deno.remove(page(i));
      assert(await waitFor(() => keptText(db, NOBODY).paths.size === 0, 15_000));
      since = daemon.changes().length;
      await nobody(refused, refused + 1, "v3");
      assertEquals(diffOf(await next(since, page(refused))), undefined, "no text to diff against");
      since = daemon.changes().length;
      await nobody(refused, refused + 1, "v4");
      const back = diffOf(await next(since, page(refused)));
      assert(back?.added.some((l) => l.startsWith(`v4 ${refused} line 0 `)), JSON.stringify(back));
    } finally {
      assertEquals(await daemon.stop(), 0, daemon.stderr);
    }
  },
});
