/**
 * Extracts the uncompressed ELF `vmlinux` from an x86 bzImage (`vmlinuz`).
 * qemu boots the ELF through PVH, which skips the guest's own decompression.
 *
 * The compressed payload is located from the boot protocol header when it has
 * one (2.08+: `payload_offset`, `payload_length`), else by scanning for a
 * compressor's magic; it is decompressed with the system tool and kept only if
 * the result is a complete x86-64 ELF.
 *
 * @module
 */
import { EM_X86_64, readElf } from "./elf.ts";

/** A compressor the extractor recognises: its magic and the command that decompresses stdin. */
interface Codec {
  name: string;
  magic: number[];
  command: string[];
}

/** Ordered by how likely Debian is to use them. */
const CODECS: readonly Codec[] = [
  {
    name: "xz",
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    command: ["xz", "-dc", "--single-stream"],
  },
  { name: "zstd", magic: [0x28, 0xb5, 0x2f, 0xfd], command: ["zstd", "-dcq"] },
  { name: "gzip", magic: [0x1f, 0x8b, 0x08], command: ["gzip", "-dc"] },
  { name: "lz4", magic: [0x02, 0x21, 0x4c, 0x18], command: ["lz4", "-dc"] },
];

/** Offsets in the x86 boot protocol header (Documentation/arch/x86/boot.rst), defined once. */
const BOOT = {
  setupSects: 0x1f1,
  headerMagic: 0x202, // "HdrS"
  version: 0x206,
  payloadOffset: 0x248,
  payloadLength: 0x24c,
} as const;
const HDRS = 0x53726448;
const PROTOCOL_WITH_PAYLOAD = 0x0208;
/** A bound on decompressor starts when scanning, so a file full of false magics stays cheap. */
const MAX_CANDIDATES = 64;

/** The outcome of one extraction. */
export type ExtractResult =
  | { ok: true; codec: string; offset: number; bytes: number }
  | { ok: false; reason: string };

function matchesAt(bytes: Uint8Array, at: number, magic: number[]): boolean {
  if (at < 0 || at + magic.length > bytes.length) return false;
  return magic.every((b, i) => bytes[at + i] === b);
}

/** Where the boot header says the payload is, if it says. */
function headerPayload(bytes: Uint8Array): { offset: number; length: number } | undefined {
  if (bytes.length < BOOT.payloadLength + 4) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(BOOT.headerMagic, true) !== HDRS) return undefined;
  if (v.getUint16(BOOT.version, true) < PROTOCOL_WITH_PAYLOAD) return undefined;
  const setupSects = bytes[BOOT.setupSects] || 4;
  const offset = (setupSects + 1) * 512 + v.getUint32(BOOT.payloadOffset, true);
  const length = v.getUint32(BOOT.payloadLength, true);
  if (length === 0 || offset + length > bytes.length) return undefined;
  return { offset, length };
}

/** Every (codec, offset) where a known magic occurs, in file order, capped. */
function scanCandidates(bytes: Uint8Array): { codec: Codec; offset: number }[] {
  const found: { codec: Codec; offset: number }[] = [];
  for (let i = 0; i < bytes.length && found.length < MAX_CANDIDATES; i++) {
    for (const codec of CODECS) {
      if (bytes[i] === codec.magic[0] && matchesAt(bytes, i, codec.magic)) {
        found.push({ codec, offset: i });
      }
    }
  }
  return found;
}

/** Decompresses `input` with `codec` into `out`; true when `out` is a complete x86-64 ELF. */
async function tryDecompress(codec: Codec, input: Uint8Array, out: string): Promise<boolean> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(codec.command[0], {
      args: codec.command.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch (e) {
    throw new Error(`cannot run ${codec.command[0]} (install it): ${(e as Error).message}`);
  }
  const file = await Deno.open(out, { write: true, create: true, truncate: true });
  const drained = child.stdout.pipeTo(file.writable);
  const writer = child.stdin.getWriter();
  // The tool may stop reading early (trailing bytes after the stream): a broken pipe is fine.
  await writer.write(input).catch(() => {});
  await writer.close().catch(() => {});
  await Promise.all([drained, child.status]);
  const elf = await readElf(out).catch(() => undefined);
  if (!elf || elf.machine !== EM_X86_64 || elf.type !== 2) return false;
  return (await Deno.stat(out)).size >= elf.minimumSize;
}

/** Extracts the ELF kernel inside `vmlinuz` to `out` (overwritten; removed on failure). */
export async function extractVmlinux(vmlinuz: string, out: string): Promise<ExtractResult> {
  const bytes = await Deno.readFile(vmlinuz);
  const attempts: { codec: Codec; offset: number; length?: number }[] = [];
  const header = headerPayload(bytes);
  const headerCodec = header && CODECS.find((c) => matchesAt(bytes, header.offset, c.magic));
  if (header && headerCodec) attempts.push({ codec: headerCodec, ...header });
  attempts.push(...scanCandidates(bytes));
  const tried = new Set<string>();
  for (const a of attempts) {
    const key = `${a.codec.name}@${a.offset}`;
    if (tried.has(key) && a.length === undefined) continue;
    tried.add(key);
    const input = bytes.subarray(a.offset, a.length ? a.offset + a.length : undefined);
    if (await tryDecompress(a.codec, input, out)) {
      return {
        ok: true,
        codec: a.codec.name,
        offset: a.offset,
        bytes: (await Deno.stat(out)).size,
      };
    }
  }
  await Deno.remove(out).catch(() => {});
  const what = tried.size ? `tried ${[...tried].slice(0, 8).join(", ")}` : "no known magic";
  return { ok: false, reason: `no x86-64 ELF kernel inside ${vmlinuz} (${what})` };
}
