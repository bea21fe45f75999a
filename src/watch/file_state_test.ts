import { assert, assertEquals } from "../../test/assert.ts";
import { run, tempDir } from "../../test/helpers.ts";
import { readFileState, readFileStateSoon } from "./file_state.ts";

const UP_TO = 64 * 1024;

/** readFileStateSoon's answer for `path` with rootsHereUpTo, and whether it came at once. */
async function soon(path: string) {
  const r = readFileStateSoon(path, 4096, { rootsHereUpTo: UP_TO }, false);
  return { atOnce: !(r instanceof Promise), state: await r };
}

Deno.test("readFileStateSoon reads a small file only root can write, on a local file system, before it returns, as readFileState reads it", async () => {
  for (const base of [undefined, "/dev/shm"]) {
    await using d = await tempDir("bpfink-soon-", base);
    const path = `${d.path}/shadow`;
    await Deno.writeTextFile(path, "root:x:1\n".repeat(100));
    const { atOnce, state } = await soon(path);
    assert(atOnce, `${base ?? "/tmp"}: a promise`);
    const want = await readFileState(path, 4096, {}, false);
    assertEquals(state?.sha256, want?.sha256);
    assertEquals(state?.content, want?.content);
    assertEquals(state?.size, 900);
  }
});

Deno.test("readFileStateSoon reads off this thread what a user could write or make slow, or what is large", async () => {
  await using d = await tempDir("bpfink-soon-");
  const file = async (name: string, bytes = 10) => {
    const p = `${d.path}/${name}`;
    await Deno.writeFile(p, new Uint8Array(bytes).fill(65));
    return p;
  };
  const groupWritable = await file("group");
  await Deno.chmod(groupWritable, 0o664);
  const othersWritable = await file("others");
  await Deno.chmod(othersWritable, 0o646);
  const users = await file("users");
  await Deno.chown(users, 65534, 65534);
  const large = await file("large", UP_TO + 1);
  const atLimit = await file("limit", UP_TO);
  for (const p of [groupWritable, othersWritable, users, large]) {
    const { atOnce, state } = await soon(p);
    assert(!atOnce, `${p}: read at once`);
    assert(state?.sha256, `${p}: not read`);
  }
  assert((await soon(atLimit)).atOnce, "a file of the limit's size was not read at once");
  // Without rootsHereUpTo, nothing is.
  assert(readFileStateSoon(atLimit) instanceof Promise);
});

Deno.test("readFileStateSoon reads off this thread a file on a file system it does not know (ramfs)", async () => {
  await using d = await tempDir("bpfink-soon-");
  const mounted = await run(["mount", "-t", "ramfs", "bpfink-test", d.path]);
  assertEquals(mounted.code, 0, mounted.stderr);
  try {
    const path = `${d.path}/shadow`;
    await Deno.writeTextFile(path, "root:x:1\n");
    const { atOnce, state } = await soon(path);
    assert(!atOnce, "a file on ramfs was read at once");
    assertEquals(state?.size, 9);
  } finally {
    const u = await run(["umount", d.path]);
    assertEquals(u.code, 0, u.stderr);
  }
});
