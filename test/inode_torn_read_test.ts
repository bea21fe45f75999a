/**
 * A read that a write tears is never reported as the file's content: fstat
 * after the read must show what fstat before it showed, or the read is done
 * again (and a file that never holds still is reported as not hashed). A
 * read ends at the size the file had when it was opened, so a writer that
 * keeps the file growing cannot keep a read going.
 */
import { assert, assertEquals } from "./assert.ts";
import { readFileState, sha256File } from "../src/watch/file_state.ts";
import { tempDir } from "./helpers.ts";

/**
 * Runs python `loop` against `fd`, `file` opened for writing,
 * until it ends or the returned writer is stopped; resolves once it writes.
 */
async function writer(file: string, loop: string) {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      `import os,sys,time\nfd=os.open(sys.argv[1],os.O_WRONLY)\nprint('go',flush=True)\n${loop}`,
      file,
    ],
    stdout: "piped",
  }).spawn();
  // Once it writes (python may start slowly on a loaded machine).
  const ready = child.stdout.getReader();
  await ready.read();
  ready.releaseLock();
  return {
    async [Symbol.asyncDispose]() {
      try {
        child.kill();
      } catch { /* it had stopped */ }
      await child.stdout.cancel();
      await child.status;
    },
  };
}

/** What three reads of a file that never holds still give: no hash, and why. */
async function assertNotHashed(f: string): Promise<void> {
  const busy = await readFileState(f);
  assert(busy, "the file vanished");
  assertEquals(busy.sha256, undefined, "a torn read was hashed as the content");
  assert(/kept changing/.test(busy.readError ?? ""), `readError: ${busy.readError}`);
}

Deno.test("a read torn by concurrent writes is rejected, never hashed as the content", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/busy.conf`;
  await Deno.writeFile(f, new Uint8Array(64 << 20));
  // The control: nobody writes, the hash is the content's.
  const quiet = await readFileState(f);
  assertEquals(quiet?.sha256, (await sha256File(f)).sha256);
  assertEquals(quiet?.readError, undefined);
  // A writer changes a byte every millisecond for 3 s: every read of 64 MiB spans writes.
  await using _ = await writer(
    f,
    "end=time.time()+3\ni=0\nwhile time.time()<end:\n" +
      "  i+=1; os.pwrite(fd,bytes([i%251+1]),(i*7919)%(64<<20)); time.sleep(0.001)\n",
  );
  await new Promise((r) => setTimeout(r, 50));
  await assertNotHashed(f);
});

Deno.test("a read does not chase a file that keeps growing: it ends at the size it opened", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/growing.log`;
  await Deno.writeFile(f, new Uint8Array(1 << 20));
  // The file grows by a MiB a millisecond for 10 s (sparse: ftruncate, so nothing is
  // stored), faster than sha256 takes it in: a read that went on to the end of the file
  // would follow the writer until it stopped, and then read 10 GiB of it.
  await using _ = await writer(
    f,
    "size=1<<20\nend=time.time()+10\n" +
      "while time.time()<end:\n  size+=1<<20; os.ftruncate(fd,size); time.sleep(0.001)\n",
  );
  while ((await Deno.stat(f)).size === 1 << 20) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  const s = await readFileState(f);
  const ms = performance.now() - t0;
  // Three reads at most, each of the size the file had when it was opened.
  assert(ms < 5000, `the read took ${ms.toFixed(0)} ms while the file grew`);
  assert(s, "the file vanished");
  if (s.sha256 === undefined) {
    assert(/kept changing/.test(s.readError ?? ""), `readError: ${s.readError}`);
  } else {
    // The writer held still through one read (a loaded machine can stall it for longer than a
    // read takes): then the hash is of the size read, all zeros, never of a torn read.
    assertEquals(s.size % (1 << 20), 0, `a size the writer never made: ${s.size}`);
    const zeros = await crypto.subtle.digest("SHA-256", new Uint8Array(s.size));
    assertEquals(
      s.sha256,
      Array.from(new Uint8Array(zeros), (b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
});
