/**
 * Takes the embedded binaries (BPF objects, libbpf, bpfink's native code) out of the single
 * file's bundle.
 *
 * `deno bundle` inlines each `import ... with { type: "bytes" }` as a base64 string decoded
 * at load (`__toBinary("...")`). Those strings are 5.7 of the bundle's 7 MB, and holding and
 * parsing them cost the running agent about 30 MB of RSS. Here each one is replaced by a
 * call that reads its bytes from the launcher's own file, where they follow the compressed
 * runtime and bundle uncompressed: the launcher passes that file's fd and the offset where
 * they start (`BPFINK_ASSETS=FD:OFFSET`), and each read is checked against the SHA-256 the
 * bundle carries (the bundle itself is checked by the launcher).
 *
 * @module
 */
/** The bundle without its binaries, and the binaries in the order the bundle reads them. */
export interface SplitBundle {
  js: string;
  assets: Uint8Array[];
}

/** The bundler's inline form of a bytes import. */
const INLINE = /__toBinary\("([A-Za-z0-9+/]*={0,2})"\)/g;

/** Defines `__bpfinkAsset(offset, length, sha256)` for the rewritten bundle. */
const PRELUDE = `import { createHash as __bpfinkSha256 } from "node:crypto";
// packaging/bundle_assets.ts: the embedded binaries are read from the launcher's file.
var __bpfinkAssetFile;
function __bpfinkAsset(off, len, sha, last) {
  try {
    const spec = /^(\\d+):(\\d+)$/.exec(Deno.env.get("BPFINK_ASSETS") ?? "");
    if (!spec) throw new Error("BPFINK_ASSETS is not set");
    __bpfinkAssetFile ??= Deno.openSync(\`/proc/self/fd/\${spec[1]}\`);
    __bpfinkAssetFile.seekSync(Number(spec[2]) + off, Deno.SeekMode.Start);
    const bytes = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const n = __bpfinkAssetFile.readSync(bytes.subarray(done));
      if (!n) throw new Error("short read");
      done += n;
    }
    if (__bpfinkSha256("sha256").update(bytes).digest("hex") !== sha) throw new Error("checksum");
    if (last) __bpfinkAssetFile.close();
    return bytes;
  } catch {
    console.error("bpfink: its embedded BPF objects are missing or damaged: copy dist/bpfink again");
    Deno.exit(1);
  }
}
`;

/** The bytes of a base64 string. */
function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Hex SHA-256 of some bytes. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Splits `js` (a `deno bundle` output): every inlined bytes import becomes a checked read
 * from the launcher's file. `expected` is how many there must be (the embedded assets), so a
 * change in the bundler's output fails the build instead of shipping them inline.
 */
export async function splitBundleAssets(js: string, expected: number): Promise<SplitBundle> {
  const found = [...js.matchAll(INLINE)];
  if (found.length !== expected) {
    throw new Error(
      `the bundle inlines ${found.length} binaries as __toBinary("..."), not the ${expected} embedded assets`,
    );
  }
  const assets: Uint8Array[] = [];
  let out = "";
  let last = 0;
  let offset = 0;
  for (const [i, m] of found.entries()) {
    const bytes = decodeBase64(m[1]);
    out += js.slice(last, m.index) +
      `__bpfinkAsset(${offset}, ${bytes.length}, "${await sha256Hex(bytes)}", ${
        i === found.length - 1
      })`;
    last = m.index! + m[0].length;
    offset += bytes.length;
    assets.push(bytes);
  }
  out += js.slice(last);
  if (out.includes('__toBinary("')) throw new Error("the bundle still inlines a binary");
  return { js: PRELUDE + out, assets };
}
