/**
 * dist/bpfink, the single file `deno task build` makes here (bundle + Deno runtime behind the
 * C launcher): it runs as bpfink does from source (help, kernels, a real BPF watch, exit codes,
 * signals, a terminal), needs nothing but glibc, refuses a damaged copy, and ignores the
 * runtime's own environment and any deno.json where it runs. build.ts says exactly what is
 * missing when `deno compile` is forced without Deno's compile runtime.
 */
import { assert, assertEquals, assertIncludes } from "./assert.ts";
import { run, tempDir, waitFor } from "./helpers.ts";
import { DIST_BINARY, ensureBinary } from "./dist_binary.ts";

const BIN = DIST_BINARY;
const built = ensureBinary;

Deno.test("build.ts binary: one file whose --version names the bundle+deno runtime build", async () => {
  await built();
  const info = await Deno.lstat(BIN);
  assert(info.isFile && (info.mode! & 0o111) !== 0, "dist/bpfink is an executable file");
  assert(info.size < 80e6, `dist/bpfink is ${info.size} bytes, over 80 MB`);
  const r = await run([BIN, "--version"]);
  assertEquals(r.code, 0, r.stderr);
  assert(
    /^bpfink \d+\.\d+\.\d+ \(bundle\+deno runtime; Deno \d+\.\d+\.\d+\)\n$/.test(r.stdout),
    r.stdout,
  );
  // The licenses of everything inside it, beside it: bpfink, libbpf, Deno, each npm package.
  const licenses = await Deno.readTextFile(`${BIN}.LICENSES.txt`);
  for (
    const part of [
      "==== bpfink (Apache-2.0)",
      "LGPL-2.1 OR BSD-2-Clause",
      "==== Deno runtime",
      "==== npm package commander@",
    ]
  ) assertIncludes(licenses, part);
  // From source the same flag says so.
  const src = await run(["./bpfink", "--version"]);
  assertIncludes(src.stdout, "(source; Deno ");
});

Deno.test("dist/bpfink needs nothing but glibc (ldd), and its runtime nothing beyond it", async () => {
  await built();
  const r = await run(["ldd", BIN]);
  assertEquals(r.code, 0, r.stderr);
  const libs = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/)[0]);
  for (const lib of libs) {
    assert(/^(linux-vdso\.so\.1|libc\.so\.6|\/lib64\/ld-linux-x86-64\.so\.2)$/.test(lib), r.stdout);
  }
  // The embedded runtime is the npm package's deno: glibc's libraries and libgcc_s (which
  // glibc itself needs for thread cancellation, so every glibc host has it).
  const deno = await run(["readelf", "-d", Deno.realPathSync(Deno.execPath())]);
  const needed = [...deno.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) =>
    m[1]
  );
  assert(needed.length > 0, deno.stdout);
  for (const lib of needed) {
    assert(
      /^(libc|libm|libdl|librt|libpthread|libgcc_s)\.so\.\d$|^ld-linux-x86-64\.so\.2$/.test(lib),
      `runtime needs ${lib}`,
    );
  }
});

Deno.test("dist/bpfink answers like ./bpfink from source: help, usage errors, config check", async () => {
  await built();
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/bad.yaml`, "watches: [\n");
  const cases = [
    ["--help"],
    ["--no-such-flag"],
    ["config", "check", `${dir.path}/missing.yaml`],
    ["config", "check", `${dir.path}/bad.yaml`],
    ["completions", "bash"],
  ];
  for (const args of cases) {
    const bin = await run([BIN, ...args]);
    const src = await run(["./bpfink", ...args]);
    assertEquals(
      [bin.code, bin.stdout, bin.stderr],
      [src.code, src.stdout, src.stderr],
      args.join(" "),
    );
  }
  const help = await run([BIN, "--help"]);
  assertIncludes(help.stdout, "Usage: bpfink");
  assertEquals((await run([BIN, "--no-such-flag"])).code, 2);
});

Deno.test("dist/bpfink kernels: lists the embedded objects and chooses one with real BPF", async () => {
  await built();
  const r = await run([BIN, "kernels"]);
  assertEquals(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "fim-tracepoint.bpf.o");
  assertIncludes(r.stdout, "Choice:");
  assertIncludes(r.stdout, "caught the canary write");
});

Deno.test("dist/bpfink --paths -r: hashes a tree in its workers, catches a write, stops with 0 on SIGINT", async () => {
  await built();
  await using dir = await tempDir();
  const file = `${dir.path}/watched.conf`;
  await Deno.writeTextFile(file, "before\n");
  // Enough files for the hashing workers (parallel_reader.ts starts them from 2,000): the single
  // file has no worker module beside it, and starts them from the script build.ts bundled in.
  for (let i = 0; i < 2100; i++) await Deno.writeTextFile(`${dir.path}/f${i}`, `${i}\n`);
  const child = new Deno.Command(BIN, {
    args: ["--paths", dir.path, "-r", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  const reading = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    }
  })();
  const errReading = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
  })();
  // deno-lint-ignore no-explicit-any
  const action = (l: any) => l.event?.action as string;
  // deno-lint-ignore no-explicit-any
  const path = (l: any) => l.file?.path as string;
  try {
    assert(
      await waitFor(() => lines.some((l) => action(l) === "started"), 120_000),
      `no started record: ${stderr}`,
    );
    // deno-lint-ignore no-explicit-any
    const read = (lines.find((l) => action(l) === "started") as any).bpfink.start_read;
    assertEquals(read.paths, 2102, JSON.stringify(read));
    assert(read.workers >= 1, `read on the main thread: ${JSON.stringify(read)} ${stderr}`);
    await Deno.writeTextFile(file, "after\n");
    assert(
      await waitFor(() => lines.some((l) => action(l) !== "started" && path(l) === file), 60_000),
      `the write was not reported: ${JSON.stringify(lines)} ${stderr}`,
    );
  } finally {
    child.kill("SIGINT");
  }
  const status = await child.status;
  await reading;
  await errReading;
  assertEquals(status.code, 0, stderr);
});

Deno.test("dist/bpfink runs on a terminal (stdin/stdout are the caller's)", async () => {
  await built();
  const r = await run(["script", "-qec", `${BIN} --version`, "/dev/null"]);
  assertEquals(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "bundle+deno runtime");
});

Deno.test("dist/bpfink ignores DENO_* variables and a deno.json where it runs", async () => {
  await built();
  await using dir = await tempDir();
  // A config that Deno would refuse to parse, and an import map that would redirect modules.
  await Deno.writeTextFile(`${dir.path}/deno.json`, "{ not json");
  const r = await new Deno.Command(BIN, {
    args: ["--version"],
    cwd: dir.path,
    env: { DENO_V8_FLAGS: "--max-heap-size=1", DENO_DIR: `${dir.path}/denodir` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  assertIncludes(new TextDecoder().decode(r.stdout), "bundle+deno runtime");
  const left = [...Deno.readDirSync(dir.path)].map((e) => e.name);
  assertEquals(left, ["deno.json"], "nothing written where it ran");
});

Deno.test("as root dist/bpfink keeps Deno's caches beside its runtime, not in root's home", async () => {
  await built();
  await using dir = await tempDir();
  const cache = `${dir.path}/cache`;
  const home = `${dir.path}/home`;
  await Deno.mkdir(home);
  const trace = `${dir.path}/trace`;
  const r = await run(["strace", "-f", "-o", trace, "-e", "trace=%file", BIN, "--version"], {
    env: { BPFINK_RUNTIME_CACHE: cache, HOME: home, XDG_CACHE_HOME: `${home}/.cache` },
  });
  assertEquals(r.code, 0, r.stderr);
  const opened = (await Deno.readTextFile(trace)).split("\n")
    .filter((l) => l.includes("analysis_cache")).map((l) => /"([^"]+)"/.exec(l)?.[1] ?? l);
  assert(opened.length > 0, "Deno's analysis caches were not opened: the trace is not telling");
  const runtimeDir = [...Deno.readDirSync(cache)].find((e) => e.isDirectory)!.name;
  const outside = opened.filter((p) => !p.startsWith(`${cache}/${runtimeDir}/deno/`));
  assertEquals(outside, [], "a cache opened outside the runtime's directory");
  assertEquals([...Deno.readDirSync(home)], [], "written into the home directory");
});

Deno.test("dist/bpfink runs its bundle as JavaScript: no transpiled copy is looked up or written", async () => {
  // Named /proc/self/fd/N, without an extension, the bundle was taken for TypeScript: each
  // start hashed its 6 MB and read it back transpiled from Deno's cache in root's home.
  await built();
  await using dir = await tempDir();
  const trace = `${dir.path}/trace`;
  const r = await run(["strace", "-f", "-o", trace, "-e", "trace=%file", BIN, "--version"]);
  assertEquals(r.code, 0, r.stderr);
  const emitted = (await Deno.readTextFile(trace)).split("\n").filter((l) => l.includes("/gen/"));
  assertEquals(emitted, [], "Deno's emit cache was opened");
});

Deno.test("as root the runtime runs from a checked copy in its cache directory, else from memory", async () => {
  await built();
  await using dir = await tempDir();
  const cache = `${dir.path}/cache`;
  const env = { BPFINK_RUNTIME_CACHE: cache };
  /** Starts dist/bpfink --paths; returns where its runtime executes from, then stops it. */
  const exeOf = async (extra: Record<string, string>): Promise<string> => {
    await Deno.writeTextFile(`${dir.path}/w`, "x\n");
    const agent = new Deno.Command(BIN, {
      args: ["--paths", `${dir.path}/w`, "--json"],
      env: extra,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const exe = () => Deno.readLinkSync(`/proc/${agent.pid}/exe`);
    try {
      // The launcher replaces itself with the runtime in the same process.
      await waitFor(() => exe() !== BIN, 30_000);
      return exe();
    } finally {
      agent.kill("SIGINT");
      await agent.output();
    }
  };
  const first = await exeOf(env);
  const hashDirs = [...Deno.readDirSync(cache)].map((e) => e.name);
  assertEquals(hashDirs.length, 1, `one runtime directory: ${hashDirs}`);
  const file = `${cache}/${hashDirs[0]}/bpfink`;
  assertEquals(first, file, "the runtime runs from the cached file, not a memfd");
  const st = Deno.statSync(file);
  assertEquals([st.uid, st.mode! & 0o777], [0, 0o500]);
  assertEquals(Deno.statSync(cache).mode! & 0o777, 0o700);
  assertEquals(st.size, Deno.statSync(Deno.realPathSync(Deno.execPath())).size);

  // A damaged copy is never executed: it is replaced, and the agent still runs.
  const f = await Deno.open(file, { write: true });
  await f.seek(4096, Deno.SeekMode.Start);
  await f.write(new Uint8Array([0xde, 0xad]));
  f.close();
  assertEquals(await exeOf(env), file);
  const good = await Deno.open(Deno.realPathSync(Deno.execPath()));
  const want = new Uint8Array(2);
  await good.seek(4096, Deno.SeekMode.Start);
  await good.read(want);
  good.close();
  const now = (await Deno.readFile(file)).subarray(4096, 4098);
  assertEquals([...now], [...want], "the damaged copy was replaced by a good one");

  // The embedded binaries are read from the file at start and checked there too: a copy
  // damaged in them (the runtime, already cached, is not read from it) stops in one sentence.
  const bytes = await Deno.readFile(BIN);
  bytes[bytes.length - 1000] ^= 0x40; // inside the last embedded binary
  await Deno.writeFile(`${dir.path}/flipped`, bytes, { mode: 0o755 });
  const bad = await run([`${dir.path}/flipped`, "--version"], { env });
  assertEquals(bad.code, 1, bad.stderr);
  assertEquals(
    bad.stderr,
    "bpfink: its embedded BPF objects are missing or damaged: copy dist/bpfink again\n",
  );

  // A cache directory others could write into is not trusted: memory instead.
  await Deno.chmod(cache, 0o777);
  assert((await exeOf(env)).startsWith("/memfd:"), "a world-writable cache is not used");
  await Deno.chmod(cache, 0o700);
  // A planted symlink as the cache directory is not followed.
  const link = `${dir.path}/link`;
  await Deno.symlink(cache, link);
  assert((await exeOf({ BPFINK_RUNTIME_CACHE: link })).startsWith("/memfd:"));
  // Turned off, or not root: memory, and nothing written.
  assert((await exeOf({ BPFINK_RUNTIME_CACHE: "off" })).startsWith("/memfd:"));
  const other = `${dir.path}/other`;
  const r = await run([
    "setpriv",
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    BIN,
    "--version",
  ], {
    env: { BPFINK_RUNTIME_CACHE: other },
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals([...Deno.readDirSync(dir.path)].some((e) => e.name === "other"), false);

  // Another version's runtime beside it goes when a new one is stored, with its stamp, what
  // an interrupted store left there, and Deno's caches (its DENO_DIR).
  const stale = `${cache}/0123456789abcdef`;
  await Deno.mkdir(`${stale}/deno/npm`, { recursive: true, mode: 0o700 });
  for (const name of ["bpfink", "bpfink.checked", "bpfink.checked.12345.tmp"]) {
    await Deno.writeTextFile(`${stale}/${name}`, "old", { mode: 0o400 });
  }
  await Deno.writeTextFile(`${stale}/deno/dep_analysis_cache_v2`, "old");
  await Deno.remove(file);
  assertEquals(await exeOf(env), file);
  assertEquals([...Deno.readDirSync(cache)].map((e) => e.name), hashDirs);
});

Deno.test("as root the cached runtime is hashed once, then known by its stamp until it changes", async () => {
  await built();
  await using dir = await tempDir();
  const cache = `${dir.path}/cache`;
  const env = { BPFINK_RUNTIME_CACHE: cache };
  const runtime = await Deno.readFile(Deno.realPathSync(Deno.execPath()));
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", runtime))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const file = `${cache}/${sha.slice(0, 16)}/bpfink`;
  const stamp = `${file}.checked`;
  /** Runs dist/bpfink --version under strace: whether the launcher, before it executed the
   * cached runtime, mapped the runtime's whole size (its hash of the cached file). */
  const hashed = async (): Promise<boolean> => {
    const trace = `${dir.path}/trace`;
    const r = await run(["strace", "-o", trace, "-e", "trace=mmap,execve", BIN, "--version"], {
      env,
    });
    assertEquals(r.code, 0, r.stderr);
    const lines = (await Deno.readTextFile(trace)).split("\n");
    await Deno.remove(trace);
    const exec = lines.findIndex((l, i) => i > 0 && l.startsWith("execve("));
    assert(exec > 0 && lines[exec].startsWith(`execve("${file}"`), lines.join("\n"));
    return lines.slice(0, exec).some((l) =>
      l.startsWith(`mmap(NULL, ${runtime.length}, PROT_READ, MAP_PRIVATE,`)
    );
  };
  /** The stamp's text for the cached runtime as it is now. */
  const stampOf = async (): Promise<string> => {
    const r = await run(["stat", "-c", "%d %i %s %.9Y %.9Z", file]);
    const [dev, ino, size, mtime, ctime] = r.stdout.trim().split(" ");
    return `bpfink runtime checked\nsha256 ${sha}\ndev ${dev}\nino ${ino}\nsize ${size}\n` +
      `mtime ${mtime}\nctime ${ctime}\n`;
  };
  /** Asserts that the stamp is a fresh one: root's, 0400, naming the runtime as it is. */
  const assertFreshStamp = async () => {
    const st = await Deno.lstat(stamp);
    assert(st.isFile, "the stamp is a regular file");
    assertEquals([st.uid, st.mode! & 0o7777], [0, 0o400]);
    assertEquals(await Deno.readTextFile(stamp), await stampOf());
  };

  assertEquals(await hashed(), true, "a first start hashes the runtime it stores");
  await assertFreshStamp();
  assertEquals(await hashed(), false, "a second start knows it by its stamp");
  assertEquals(await hashed(), false);

  // A stamp that does not name the file as it is, or that is not root's alone, is not
  // believed: the runtime is hashed (and runs), and a fresh stamp replaces it.
  const good = await Deno.readTextFile(stamp);
  const ino = Number(/\nino (\d+)\n/.exec(good)![1]);
  const plants: [string, () => Promise<void>][] = [
    [
      "another inode",
      () => Deno.writeTextFile(stamp, good.replace(`ino ${ino}`, `ino ${ino + 1}`)),
    ],
    ["another hash", () => Deno.writeTextFile(stamp, good.replace(sha, "0".repeat(64)))],
    ["cut short", () => Deno.writeTextFile(stamp, good.slice(0, -2))],
    ["group-writable", () => Deno.chmod(stamp, 0o620)],
    ["others-writable", () => Deno.chmod(stamp, 0o602)],
    ["not root's", () => Deno.chown(stamp, 65534, 65534)],
    ["a symlink", async () => {
      await Deno.writeTextFile(`${dir.path}/planted`, good, { mode: 0o400 });
      await Deno.remove(stamp);
      await Deno.symlink(`${dir.path}/planted`, stamp);
    }],
    ["missing", () => Deno.remove(stamp)],
  ];
  for (const [what, plant] of plants) {
    await plant();
    assertEquals(await hashed(), true, `a stamp ${what} is not believed`);
    await assertFreshStamp();
    assertEquals(await hashed(), false, `after a stamp ${what}, the fresh one is`);
  }
  assertEquals(await Deno.readTextFile(`${dir.path}/planted`), good, "a symlink is not followed");

  // Any change to the runtime changes its ctime, which nothing sets back: a chmod to the same
  // mode, or bytes written in place with the mtime put back, is found by the hash again.
  await Deno.chmod(file, 0o500);
  assertEquals(await hashed(), true, "a new ctime alone means a hash");
  await assertFreshStamp();
  await run(["touch", "-r", file, `${dir.path}/times`]);
  const f = await Deno.open(file, { write: true });
  await f.seek(4096, Deno.SeekMode.Start);
  await f.write(new Uint8Array([runtime[4096] ^ 0xff]));
  f.close();
  await run(["touch", "-r", `${dir.path}/times`, file]);
  assertEquals(await hashed(), true, "a damaged runtime is hashed");
  assertEquals((await Deno.readFile(file))[4096], runtime[4096], "and replaced by a good one");
  await assertFreshStamp();
  assertEquals(await hashed(), false);
});

Deno.test("a damaged or truncated copy of dist/bpfink stops with one sentence, exit 1", async () => {
  await built();
  await using dir = await tempDir();
  const bytes = await Deno.readFile(BIN);
  const flipped = bytes.slice();
  flipped[flipped.length - 1000] ^= 0x40;
  await Deno.writeFile(`${dir.path}/flipped`, flipped, { mode: 0o755 });
  const a = await run([`${dir.path}/flipped`, "--version"]);
  assertEquals(a.code, 1, a.stderr);
  assertEquals(a.stdout, "");
  assertIncludes(a.stderr, "does not match the checksum it was built with");
  assertEquals(a.stderr.trim().split("\n").length, 1, a.stderr);
  // A copy cut short (an interrupted scp) is refused too.
  await Deno.writeFile(`${dir.path}/short`, bytes.subarray(0, bytes.length - 4096), {
    mode: 0o755,
  });
  const b = await run([`${dir.path}/short`, "--version"]);
  assertEquals(b.code, 1, b.stderr);
  assertIncludes(b.stderr, "copy dist/bpfink again");
});

Deno.test("dist/bpfink under an open-file limit too low for Deno stops with one sentence; a low soft limit is raised", async () => {
  await built();
  // Deno failed with its own errors and a stack trace under 20 descriptors.
  for (const n of [12, 20]) {
    const r = await run(["prlimit", `--nofile=${n}`, BIN, "--version"]);
    assertEquals(r.code, 1, r.stderr);
    assertEquals(
      r.stderr,
      `bpfink: the open-file limit is ${n} (hard limit ${n}), too few to start: raise it ` +
        "(ulimit -n, or LimitNOFILE= in its systemd unit)\n",
    );
  }
  // Raised to the hard limit before Deno starts.
  const ok = await run(["prlimit", "--nofile=12:64", BIN, "--version"]);
  assertEquals(ok.code, 0, ok.stderr);
  assertIncludes(ok.stdout, "bpfink ");
});

Deno.test("build.ts with BPFINK_BUILD_WAY=compile and no denort: one clear message, exit 1", async () => {
  await using cache = await tempDir("bpfink-denodir-");
  const env: Record<string, string> = {
    DENO_DIR: cache.path,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    BPFINK_BUILD_WAY: "compile",
  };
  const r = await run(["node_modules/.bin/deno", "run", "-A", "build.ts", "binary"], { env });
  assertEquals(r.code, 1, r.stderr);
  assertIncludes(r.stderr, `it needs Deno's runtime "denort"`);
  assertIncludes(r.stderr, "DENORT_BIN=/path/to/denort deno run -A build.ts binary");
  assertIncludes(r.stderr, "builds the bundle+deno runtime file instead");
});
