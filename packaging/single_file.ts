/**
 * Builds dist/bpfink as one executable file without `deno compile`: bpfink's JavaScript
 * bundle (`deno bundle`, with its npm packages and embedded BPF objects and libbpf) and
 * the Deno runtime from the npm `deno` package, both zstd-compressed, appended to a small
 * C launcher (packaging/launcher.c) that checks them against the SHA-256 it was compiled
 * with, unpacks the bundle into a sealed memfd and executes the runtime: as root from its
 * checked copy in /var/cache/bpfink (packaging/runtime_cache.h), else from a memfd.
 *
 * @module
 */
import { asciiSource } from "./ascii_source.ts";
import { splitBundleAssets } from "./bundle_assets.ts";
import { errorMessage } from "../src/error_message.ts";

/** Where and what to build from. */
export interface BuildPaths {
  /** The repository root, ending in "/". */
  root: string;
  /** Intermediate files (bundle, compressed runtime, launcher). */
  work: string;
  /** The file to write (dist/bpfink). */
  output: string;
  /** The Deno runtime to embed (the deno executable). */
  runtime: string;
  /** How many binaries kernels/build/embedded.ts imports (the bundle must inline exactly these). */
  embeddedAssets: number;
}

/** A build step that failed, in one sentence. */
export class PackagingError extends Error {}

/** The build ways `bpfink --version` reports. */
export type BuildWay = "bundle+deno runtime" | "deno compile";

const WAY_SOURCE_LINE = `var BUILD_WAY = "source";`;
// A module imported lazily is wrapped in an init function: `HASH_WORKER_SOURCE = "";` there.
const WORKER_SOURCE_LINE = `HASH_WORKER_SOURCE = "";`;

async function exec(cmd: string[], cwd?: string): Promise<void> {
  let out;
  try {
    out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new PackagingError(`${cmd[0]} is not installed: run bash setup.sh`);
    }
    throw e;
  }
  if (!out.success) throw new PackagingError(`${cmd.join(" ")} failed with exit code ${out.code}`);
}

/** Hex SHA-256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `deno bundle` of one module of the repository into `output`; its JavaScript. */
async function denoBundle(root: string, module: string, output: string): Promise<string> {
  await exec([
    Deno.execPath(),
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--config",
    `${root}deno.json`,
    "-o",
    output,
    `${root}${module}`,
  ], root); // paths in the bundle's comments are relative to the repository root
  return await Deno.readTextFile(output);
}

/** `js` with its one line `line` (from `module`) replaced by `by`. */
function replaceLine(js: string, line: string, module: string, by: string): string {
  const at = js.indexOf(line);
  if (at < 0 || js.indexOf(line, at + 1) >= 0) {
    throw new PackagingError(`the bundle should hold the line '${line}' (${module}) exactly once`);
  }
  return js.slice(0, at) + by + js.slice(at + line.length);
}

/**
 * Bundles src/main.ts into one JavaScript file with `deno bundle`, and sets the build way
 * that `--version` reports (the one `var BUILD_WAY = "source";` line of src/build_info.ts)
 * and the hashing workers' script (src/watch/hash_worker.ts, bundled on its own, into the
 * one `HASH_WORKER_SOURCE = "";` of src/watch/hash_worker_source.ts): one file
 * has no module beside it to start a worker from.
 */
export async function bundleAgent(root: string, way: BuildWay, output: string): Promise<void> {
  const worker = await denoBundle(root, "src/watch/hash_worker.ts", `${output}.worker.js`);
  await Deno.remove(`${output}.worker.js`);
  let js = await denoBundle(root, "src/main.ts", output);
  js = replaceLine(
    js,
    WAY_SOURCE_LINE,
    "src/build_info.ts",
    `var BUILD_WAY = ${JSON.stringify(way)};`,
  );
  js = replaceLine(
    js,
    WORKER_SOURCE_LINE,
    "src/watch/hash_worker_source.ts",
    `HASH_WORKER_SOURCE = ${JSON.stringify(asciiSource(worker))};`,
  );
  await Deno.writeTextFile(output, asciiSource(js));
}

/** A temporary name beside `path` that no other build, in this process or another, uses. */
export const uniqueTemp = (path: string) =>
  `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;

/** zstd level for the runtime: 19 is 4 MB smaller than 9, and cached per runtime. */
const RUNTIME_LEVEL = 19;

/**
 * Compresses the runtime once per runtime binary (by hash) into `work`:
 * level 19 takes ~30 s. Builds may run at once (the tests build in one
 * process): each compresses into a temporary file of its own, renamed into
 * place whole.
 */
export async function compressedRuntime(runtime: string, work: string): Promise<string> {
  const bytes = await Deno.readFile(runtime);
  const out = `${work}/runtime-${(await sha256Hex(bytes)).slice(0, 16)}-${RUNTIME_LEVEL}.zst`;
  try {
    await Deno.stat(out);
    return out;
  } catch {
    // Not built yet.
  }
  console.error(`compressing the Deno runtime (${runtime}, zstd -${RUNTIME_LEVEL}, once)`);
  const tmp = uniqueTemp(out);
  try {
    await exec(["zstd", "-q", `-${RUNTIME_LEVEL}`, "--long=27", "-T0", "-f", runtime, "-o", tmp]);
    await Deno.rename(tmp, out);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return out;
}

/** Builds the single file; returns its size in bytes. */
export async function buildSingleFile(p: BuildPaths): Promise<number> {
  await Deno.mkdir(p.work, { recursive: true });
  const bundle = `${p.work}/bpfink.js`;
  await bundleAgent(p.root, "bundle+deno runtime", bundle);
  // The embedded binaries travel beside the bundle, not inside it (packaging/bundle_assets.ts).
  let split;
  try {
    split = await splitBundleAssets(await Deno.readTextFile(bundle), p.embeddedAssets);
  } catch (e) {
    throw new PackagingError(errorMessage(e));
  }
  await Deno.writeTextFile(bundle, split.js);
  await exec(["zstd", "-q", "-19", "-f", bundle, "-o", `${bundle}.zst`]);
  const runtimeZst = await compressedRuntime(p.runtime, p.work);
  const runtimeZ = await Deno.readFile(runtimeZst);
  const bundleZ = await Deno.readFile(`${bundle}.zst`);
  const parts = [runtimeZ, bundleZ, ...split.assets];
  const assetsSize = split.assets.reduce((n, a) => n + a.length, 0);
  const payload = new Uint8Array(parts.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const part of parts) {
    payload.set(part, at);
    at += part.length;
  }
  const launcher = `${p.work}/launcher`;
  await exec([
    "gcc",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-s",
    // Hardened like Debian's own binaries (lintian: bindnow, fortify, stack protector).
    "-D_FORTIFY_SOURCE=2",
    "-fstack-protector-strong",
    "-Wl,-z,relro,-z,now",
    `-I${p.root}packaging`,
    `-DPAYLOAD_SHA256="${await sha256Hex(payload)}"`,
    `-DRUNTIME_SHA256="${await sha256Hex(await Deno.readFile(p.runtime))}"`,
    `-DBUNDLE_ZSHA256="${await sha256Hex(bundleZ)}"`,
    `-DRUNTIME_ZSIZE=${runtimeZ.length}ULL`,
    `-DRUNTIME_SIZE=${(await Deno.stat(p.runtime)).size}ULL`,
    `-DBUNDLE_ZSIZE=${bundleZ.length}ULL`,
    `-DBUNDLE_SIZE=${(await Deno.stat(bundle)).size}ULL`,
    `-DASSETS_SIZE=${assetsSize}ULL`,
    "-o",
    launcher,
    `${p.root}packaging/launcher.c`,
    // zstd linked in, so the file needs nothing but glibc.
    "-Wl,-Bstatic",
    "-lzstd",
    "-Wl,-Bdynamic",
  ]);
  await exec(["strip", "--remove-section=.comment", launcher]);
  const head = await Deno.readFile(launcher);
  const tmp = `${p.output}.${Deno.pid}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o755 });
  try {
    for (const part of [head, payload]) {
      let off = 0;
      while (off < part.length) off += await file.write(part.subarray(off));
    }
  } finally {
    file.close();
  }
  await Deno.chmod(tmp, 0o755);
  await Deno.rename(tmp, p.output);
  return head.length + payload.length;
}
