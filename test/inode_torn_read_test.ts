/**
 * A read that a write tears is never reported as the file's content: fstat
 * after the read must show what fstat before it showed, or the read is done
 * again (and a file that never holds still is reported as not hashed).
 */
import { assert, assertEquals } from "./assert.ts";
import { readFileState, sha256File } from "../src/watch/file_state.ts";
import { tempDir } from "./helpers.ts";

Deno.test("a read torn by concurrent writes is rejected, never hashed as the content", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/busy.conf`;
  await Deno.writeFile(f, new Uint8Array(64 << 20));
  // The control: nobody writes, the hash is the content's.
  const quiet = await readFileState(f);
  assertEquals(quiet?.sha256, (await sha256File(f)).sha256);
  assertEquals(quiet?.readError, undefined);
  // A writer changes a byte every millisecond for 3 s: every read of 64 MiB spans writes.
  const writer = new Deno.Command("python3", {
    args: [
      "-c",
      "import os,sys,time\nfd=os.open(sys.argv[1],os.O_WRONLY)\nprint('go',flush=True)\n" +
      "end=time.time()+3\ni=0\n" +
      "while time.time()<end:\n  i+=1; os.pwrite(fd,bytes([i%251+1]),(i*7919)%(64<<20)); time.sleep(0.001)\n",
      f,
    ],
    stdout: "piped",
  }).spawn();
  try {
    // Once it writes (python may start slowly on a loaded machine).
    const ready = writer.stdout.getReader();
    await ready.read();
    ready.releaseLock();
    await new Promise((r) => setTimeout(r, 50));
    const busy = await readFileState(f);
    assert(busy, "the file vanished");
    assertEquals(busy.sha256, undefined, "a torn read was hashed as the content");
    assert(/kept changing/.test(busy.readError ?? ""), `readError: ${busy.readError}`);
  } finally {
    await writer.stdout.cancel();
    await writer.status;
  }
});
