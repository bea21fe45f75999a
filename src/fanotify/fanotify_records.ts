/**
 * Parses what read(2) returns from a fanotify fd opened with FID reporting:
 * variable-length events, each a metadata header followed by info records
 * (file handles, and the entry's name for directory events). Pure and
 * defensive: a length that does not fit ends the parse and says so, a name
 * (attacker-controlled bytes) is kept as raw bytes.
 *
 * @module
 */
import { INFO, InfoType, MAX_HANDLE_SZ, METADATA, METADATA_VERSION } from "./fanotify_abi.ts";

/** One file handle record of an event. */
export interface FanFid {
  /** The info_type (InfoType). */
  infoType: number;
  /** The file handle with its file system, as a lookup key: `fsid:type:handle` in hex. */
  key: string;
  /** The handle alone (`type:handle` in hex), for file systems whose fsid may differ by mount. */
  handleKey: string;
  /** The entry's name (DFID_NAME and the rename records), raw bytes without the NUL. */
  name?: Uint8Array;
}

/** One fanotify event. */
export interface FanEvent {
  mask: number;
  /** The process (thread group) that caused it. */
  pid: number;
  /** An open fd the kernel passed (not with FID reporting); the caller must close it. */
  fd: number;
  fids: FanFid[];
}

/** What one read held. */
export interface FanBatch {
  events: FanEvent[];
  /** Bytes that were not a well-formed event (parse stopped there). */
  malformed: boolean;
}

/**
 * Lowercase hex of `b`. Keys are built with join(), which makes one flat
 * string: built with `+` they would be kept as trees of string pieces, about
 * 200 bytes more per marked inode (V8 flattens a string only when it is
 * hashed, and a key kept as a value never is).
 */
function hex(b: Uint8Array): string {
  const parts = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) parts[i] = HEX[b[i]];
  return parts.join("");
}

/** Each byte's two hex digits. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A lookup key for a file handle, as fidKey() of the same handle from name_to_handle_at. */
export function fidKey(fsid: Uint8Array, handleType: number, handle: Uint8Array): string {
  return [fsidKey(fsid), handleType, hex(handle)].join(":");
}

/** The file-system part of fidKey(): the fsid's hex. */
export function fsidKey(fsid: Uint8Array): string {
  return hex(fsid);
}

/** The file-system-less part of fidKey(). */
export function handleKeyOf(handleType: number, handle: Uint8Array): string {
  return [handleType, hex(handle)].join(":");
}

function parseInfo(bytes: Uint8Array, v: DataView, off: number, end: number): FanFid[] | undefined {
  const fids: FanFid[] = [];
  while (off < end) {
    if (end - off < INFO.header) return undefined;
    const type = v.getUint8(off + INFO.type);
    const len = v.getUint16(off + INFO.len, true);
    if (len < INFO.header || off + len > end) return undefined;
    const isFid = type === InfoType.FID || type === InfoType.DFID || type === InfoType.DFID_NAME ||
      type === InfoType.OLD_DFID_NAME || type === InfoType.NEW_DFID_NAME;
    if (isFid) {
      if (len < INFO.handle) return undefined;
      const hb = v.getUint32(off + INFO.handleBytes, true);
      if (hb > MAX_HANDLE_SZ || INFO.handle + hb > len) return undefined;
      const fsid = bytes.subarray(off + INFO.fsid, off + INFO.fsid + 8);
      const handleType = v.getInt32(off + INFO.handleType, true);
      const handle = bytes.subarray(off + INFO.handle, off + INFO.handle + hb);
      const fid: FanFid = {
        infoType: type,
        key: fidKey(fsid, handleType, handle),
        handleKey: handleKeyOf(handleType, handle),
      };
      if (type !== InfoType.FID && type !== InfoType.DFID) {
        const rest = bytes.subarray(off + INFO.handle + hb, off + len);
        const nul = rest.indexOf(0);
        fid.name = (nul < 0 ? rest : rest.subarray(0, nul)).slice();
      }
      fids.push(fid);
    }
    // Other records (pidfd, error, ...) are skipped by their length.
    off += len;
  }
  return fids;
}

/** Parses the bytes of one read(2) of a fanotify fd. */
export function parseFanotify(bytes: Uint8Array): FanBatch {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: FanEvent[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < METADATA.size) return { events, malformed: true };
    const eventLen = v.getUint32(off + METADATA.eventLen, true);
    const metaLen = v.getUint16(off + METADATA.metadataLen, true);
    const bad = v.getUint8(off + METADATA.vers) !== METADATA_VERSION ||
      metaLen < METADATA.size || eventLen < metaLen || eventLen > bytes.length - off;
    if (bad) return { events, malformed: true };
    const fids = parseInfo(bytes, v, off + metaLen, off + eventLen);
    const e: FanEvent = {
      mask: Number(v.getBigUint64(off + METADATA.mask, true)),
      pid: v.getInt32(off + METADATA.pid, true),
      fd: v.getInt32(off + METADATA.fd, true),
      fids: fids ?? [],
    };
    events.push(e);
    if (!fids) return { events, malformed: true };
    off += eventLen;
  }
  return { events, malformed: false };
}
