/**
 * The fanotify ABI bpfink uses (include/uapi/linux/fanotify.h, x86_64): the
 * flags of fanotify_init(2) and fanotify_mark(2), the event mask bits, and
 * the layout of the records read from a fanotify fd. The one place these
 * numbers live.
 *
 * @module
 */

/** fanotify_init flags. */
export const FanInit = {
  CLASS_NOTIF: 0x0,
  CLOEXEC: 0x1,
  NONBLOCK: 0x2,
  UNLIMITED_MARKS: 0x20,
  /** Events name the object by file handle, no fd (5.1+). */
  REPORT_FID: 0x200,
  /** Events name the parent directory by file handle (5.9+). */
  REPORT_DIR_FID: 0x400,
  /** With REPORT_DIR_FID: the entry's name too (5.9+). */
  REPORT_NAME: 0x800,
} as const;

/** fanotify_mark flags. */
export const FanMark = {
  ADD: 0x1,
  REMOVE: 0x2,
  DONT_FOLLOW: 0x4,
  /** The mask is an ignore mask that spares directories unless it holds FAN_ONDIR (6.0+). */
  IGNORE: 0x400,
  /** With IGNORE: the ignore mask survives a modification of the inode. */
  IGNORED_SURV_MODIFY: 0x40,
} as const;

/** Event mask bits. */
export const FanMask = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  Q_OVERFLOW: 0x4000,
  /** One event for a rename, with the old and the new directory and name (5.17+; needs REPORT_NAME). */
  RENAME: 0x10000000,
  ONDIR: 0x40000000,
} as const;

/**
 * What a watched regular file is marked for: its content, attributes, link
 * count, its own moves, and a writer's close (which ends the settle before
 * its re-read: what it wrote is complete).
 */
export const FILE_MASK = FanMask.MODIFY | FanMask.ATTRIB | FanMask.DELETE_SELF | FanMask.MOVE_SELF |
  FanMask.CLOSE_WRITE;

/**
 * What a watched regular file is marked for in a group that passes fds (no
 * file handles): all such a group reports about content. It has no
 * attribute, link count, move or entry events.
 */
export const FD_FILE_MASK = FanMask.MODIFY | FanMask.CLOSE_WRITE;

/** What a watched directory is marked for: entries made, removed and renamed (files and directories). */
export const DIR_MASK = FanMask.CREATE | FanMask.DELETE | FanMask.MOVED_FROM | FanMask.MOVED_TO |
  FanMask.DELETE_SELF | FanMask.MOVE_SELF | FanMask.ONDIR;

/** struct fanotify_event_metadata: event_len u32, vers u8, reserved u8, metadata_len u16, mask u64, fd s32, pid s32. */
export const METADATA = {
  eventLen: 0,
  vers: 4,
  metadataLen: 6,
  mask: 8,
  fd: 16,
  pid: 20,
  size: 24,
};
/** FANOTIFY_METADATA_VERSION. */
export const METADATA_VERSION = 3;

/** struct fanotify_event_info_header: info_type u8, pad u8, len u16; then fsid (8 bytes) and struct file_handle. */
export const INFO = {
  type: 0,
  len: 2,
  header: 4,
  fsid: 4,
  handleBytes: 12,
  handleType: 16,
  handle: 20,
};

/** info_type values that carry a file handle. */
export const InfoType = {
  FID: 1,
  DFID_NAME: 2,
  DFID: 3,
  OLD_DFID_NAME: 10,
  NEW_DFID_NAME: 12,
} as const;

/** MAX_HANDLE_SZ (include/linux/exportfs.h). */
export const MAX_HANDLE_SZ = 128;
