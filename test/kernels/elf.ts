/**
 * Just enough ELF header reading for the guest harness: is a file an ELF, is
 * it complete, and does it need the dynamic loader. Little-endian ELF64 only
 * (x86-64 hosts and guests); anything else is reported as not ELF64.
 *
 * @module
 */

/** What the harness needs to know about one ELF file. */
export interface ElfInfo {
  /** `e_type`: 1 relocatable, 2 executable, 3 shared object or PIE, 4 core. */
  type: number;
  /** `e_machine`: 62 is x86-64. */
  machine: number;
  /** The program interpreter (ELF loader), when the file names one (`PT_INTERP`). */
  interpreter?: string;
  /** True when the file has a `PT_DYNAMIC` segment (it links shared libraries). */
  dynamic: boolean;
  /** Bytes the header says the file spans at least (its section header table ends there). */
  minimumSize: number;
}

/** `e_machine` of x86-64. */
export const EM_X86_64 = 62;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

/** Offsets in the ELF64 file header, defined once. */
const EH = { class: 4, data: 5, type: 16, machine: 18, phoff: 32, shoff: 40 } as const;
const EH_PHENTSIZE = 54;
const EH_PHNUM = 56;
const EH_SHENTSIZE = 58;
const EH_SHNUM = 60;
const EH_SIZE = 64;
/** Offsets in one ELF64 program header. */
const PH = { type: 0, offset: 8, filesz: 32 } as const;

/** True when `bytes` starts with the ELF magic. */
export function isElfMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Reads the ELF64 header and program headers of `path`; `undefined` when it is not ELF64 LE. */
export async function readElf(path: string): Promise<ElfInfo | undefined> {
  using file = await Deno.open(path, { read: true });
  const head = await readAt(file, 0, EH_SIZE);
  if (head.length < EH_SIZE || !isElfMagic(head)) return undefined;
  if (head[EH.class] !== ELFCLASS64 || head[EH.data] !== ELFDATA2LSB) return undefined;
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const phoff = Number(v.getBigUint64(EH.phoff, true));
  const shoff = Number(v.getBigUint64(EH.shoff, true));
  const phentsize = v.getUint16(EH_PHENTSIZE, true);
  const phnum = v.getUint16(EH_PHNUM, true);
  const info: ElfInfo = {
    type: v.getUint16(EH.type, true),
    machine: v.getUint16(EH.machine, true),
    dynamic: false,
    minimumSize: Math.max(
      EH_SIZE,
      shoff + v.getUint16(EH_SHENTSIZE, true) * v.getUint16(EH_SHNUM, true),
      phoff + phentsize * phnum,
    ),
  };
  if (phnum === 0 || phentsize < 56) return info;
  const ph = await readAt(file, phoff, phentsize * phnum);
  const pv = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
  for (let i = 0; (i + 1) * phentsize <= ph.length; i++) {
    const at = i * phentsize;
    const type = pv.getUint32(at + PH.type, true);
    if (type === PT_DYNAMIC) info.dynamic = true;
    if (type === PT_INTERP) {
      const off = Number(pv.getBigUint64(at + PH.offset, true));
      const size = Number(pv.getBigUint64(at + PH.filesz, true));
      const raw = await readAt(file, off, size);
      info.interpreter = new TextDecoder().decode(raw).replace(/\0.*$/s, "");
    }
  }
  return info;
}
