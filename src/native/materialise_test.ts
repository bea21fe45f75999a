import { assert, assertEquals } from "../../test/assert.ts";
import { tempDir } from "../../test/helpers.ts";
import { materialiseLibrary } from "./materialise.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Whether some other process holds a lock on `path` (util-linux flock(1), exclusive, not waiting). */
async function lockedElsewhere(path: string): Promise<boolean> {
  const r = await new Deno.Command("flock", { args: ["-n", "-x", path, "true"] }).output();
  return !r.success;
}

/** Starts `cmd` and waits for it to print its first line; it is killed on dispose. */
async function holder(cmd: string, args: string[]): Promise<AsyncDisposable> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  reader.releaseLock();
  assert(!first.done, `${cmd} started`);
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

Deno.test("materialise: a start removes the copies of its library that no process holds or maps, and holds its own", async () => {
  await using dir = await tempDir("bpfink-materialise-");
  const d = `${dir.path}/run`;
  const copy = (hash: string) => `${d}/bpfink-native-${hash}.so`;
  const stale = copy("0".repeat(16));
  const locked = copy("1".repeat(16));
  const mapped = copy("2".repeat(16));
  const deadTmp = `${copy("3".repeat(16))}.999999999.tmp`; // above any pid_max
  const liveTmp = `${copy("4".repeat(16))}.${Deno.pid}.tmp`;
  const otherLibrary = `${d}/libbpf-${"5".repeat(16)}.so`;
  const notACopy = `${d}/bpfink-native-latest.so`;
  Deno.mkdirSync(d, { mode: 0o700 });
  for (const p of [stale, locked, mapped, deadTmp, liveTmp, otherLibrary, notACopy]) {
    Deno.writeFileSync(p, new TextEncoder().encode(p), { mode: 0o500 });
  }
  const bytes = new TextEncoder().encode("the library of this version");
  let path: string;
  {
    // One process holds a copy under a lock, as a start of this version does; one maps another
    // and holds no lock, as an earlier version that is still running does.
    await using _locker = await holder("python3", [
      "-c",
      "import fcntl,sys,time\n" +
      "f = open(sys.argv[1], 'rb')\n" +
      "fcntl.flock(f, fcntl.LOCK_SH)\n" +
      "print('held', flush=True)\n" +
      "time.sleep(60)",
      locked,
    ]);
    await using _mapper = await holder("python3", [
      "-c",
      "import mmap,sys,time\n" +
      "f = open(sys.argv[1], 'rb')\n" +
      "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n" +
      "f.close()\n" +
      "print('mapped', flush=True)\n" +
      "time.sleep(60)",
      mapped,
    ]);
    path = materialiseLibrary("bpfink-native", bytes, [d]);
    assertEquals(text(Deno.readFileSync(path)), "the library of this version");
    const left = [...Deno.readDirSync(d)].map((e) => `${d}/${e.name}`).sort();
    assertEquals(left, [path, locked, mapped, liveTmp, otherLibrary, notACopy].sort());
    // Its own copy is held until this process exits: a later start leaves it.
    assert(await lockedElsewhere(path), `${path} is held`);
  }
  // Once nothing holds or maps them, the next start removes them too.
  assertEquals(materialiseLibrary("bpfink-native", bytes, [d]), path);
  const left = [...Deno.readDirSync(d)].map((e) => `${d}/${e.name}`).sort();
  assertEquals(left, [path, liveTmp, otherLibrary, notACopy].sort());
});

Deno.test("materialise: a copy another start of another version holds is left to it", async () => {
  await using dir = await tempDir("bpfink-materialise-");
  const d = `${dir.path}/run`;
  const module = new URL("./materialise.ts", import.meta.url).href;
  const script = `import { materialiseLibrary } from ${JSON.stringify(module)};\n` +
    `console.log(materialiseLibrary("libbpf", new TextEncoder().encode("old"), [${
      JSON.stringify(d)
    }]));\n` +
    `await new Promise((r) => setTimeout(r, 60_000));`;
  let old: string;
  {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = child.stdout.getReader();
      const line = await reader.read();
      reader.releaseLock();
      old = text(line.value ?? new Uint8Array()).trim();
      assert(old.startsWith(`${d}/libbpf-`), `the other start wrote its copy: ${old}`);
      const mine = materialiseLibrary("libbpf", new TextEncoder().encode("new"), [d]);
      assertEquals(
        [...Deno.readDirSync(d)].map((e) => `${d}/${e.name}`).sort(),
        [old, mine].sort(),
      );
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  }
  materialiseLibrary("libbpf", new TextEncoder().encode("new"), [d]);
  assert(!Deno.readDirSync(d).some((e) => `${d}/${e.name}` === old), `${old} removed once let go`);
});
