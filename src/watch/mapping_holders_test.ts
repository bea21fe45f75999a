import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { inodeOf } from "./inode_key.ts";
import { mappingHolders, mapsLineHolds } from "./mapping_holders.ts";

const ID = { dev: (254 << 20) | 1, ino: 1234n };

Deno.test("a maps line holds the inode only when shared, writable and on the same device", () => {
  const line = (perms: string, dev: string, ino: string) =>
    `7f0000000000-7f0000001000 ${perms} 00000000 ${dev} ${ino}    /etc/passwd`;
  assert(mapsLineHolds(line("rw-s", "fe:01", "1234"), ID));
  assert(!mapsLineHolds(line("rw-p", "fe:01", "1234"), ID), "private");
  assert(!mapsLineHolds(line("r--s", "fe:01", "1234"), ID), "read-only");
  assert(!mapsLineHolds(line("rw-s", "fe:02", "1234"), ID), "other device");
  assert(!mapsLineHolds(line("rw-s", "fe:01", "12345"), ID), "other inode");
  assert(!mapsLineHolds("garbage", ID));
});

Deno.test("the holders of a shared writable mapping include a child forked after the mmap", async () => {
  await using dir = await tempDir();
  const f = `${dir.path}/mapped`;
  await Deno.writeTextFile(f, "x".repeat(4096));
  const id = inodeOf(await Deno.stat(f));
  // The parent maps, forks, prints the child's pid and exits; the child holds on.
  const py = "import os,sys,mmap,time\n" +
    "fd=os.open(sys.argv[1],os.O_RDWR)\n" +
    "m=mmap.mmap(fd,0,mmap.MAP_SHARED,mmap.PROT_READ|mmap.PROT_WRITE)\n" +
    "pid=os.fork()\n" +
    "if pid: print(pid); sys.exit(0)\n" +
    "os.close(1); time.sleep(5)\n";
  const out = await new Deno.Command("python3", { args: ["-c", py, f], stderr: "null" }).output();
  const child = Number(new TextDecoder().decode(out.stdout).trim());
  assert(child > 0, "no child pid");
  try {
    assertEquals(mappingHolders(id), [child]);
    // The control: another file is held by nobody.
    await Deno.writeTextFile(`${dir.path}/other`, "y");
    assertEquals(mappingHolders(inodeOf(await Deno.stat(`${dir.path}/other`))), []);
  } finally {
    Deno.kill(child, "SIGKILL");
  }
});
