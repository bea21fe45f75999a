/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The layout of everything that crosses the kernel/user boundary.
 * Single source of truth: src/bpf/fim_event.ts mirrors these offsets and
 * test/fim_event_layout_test.ts checks the mirror against this header.
 */
#ifndef FIM_EVENT_H
#define FIM_EVENT_H

#define FIM_COMM_LEN 16
#define FIM_NAME_LEN 64

/* What the kernel saw. */
enum fim_op {
	FIM_OP_WRITE = 1,    /* content written through an fd (write, pwrite64, writev, pwritev, pwritev2) */
	FIM_OP_TRUNCATE = 2, /* ftruncate, or open with O_TRUNC, of a watched inode */
	FIM_OP_RENAME = 3,   /* rename*() succeeded and one of its basenames is watched */
	FIM_OP_UNLINK = 4,   /* unlink*() or rmdir succeeded and its basename is watched */
	FIM_OP_CREATE = 5,   /* open(O_CREAT) made a file whose name or parent directory is watched */
	FIM_OP_PATH_TRUNCATE = 6, /* truncate(path) succeeded and its basename is watched */
	FIM_OP_ATTRIB = 7,   /* fchmod, fchown, fsetxattr, fremovexattr, futimens of a watched inode */
	FIM_OP_PATH_ATTRIB = 8, /* chmod, chown, setxattr, utimes, ... on a watched basename */
	FIM_OP_LINK = 9,     /* link*() made a new name that is watched */
	FIM_OP_MMAP_WRITE = 10, /* a watched inode was mapped shared and writable: writes may follow without syscalls */
	FIM_OP_DIR_ENTRY = 11, /* rename/link made an entry in a directory whose basename (name) is watched: list it */
	FIM_OP_XATTR = 12,   /* fsetxattr, fremovexattr of a watched inode (some file systems leave ctime alone) */
	FIM_OP_PATH_XATTR = 13, /* setxattr, removexattr, ... on a watched basename */
};

/* Value flags of the watch map. */
#define FIM_WATCH_FILE 1
#define FIM_WATCH_DIR 2

/* Indexes of the stats array map. */
enum fim_stat {
	FIM_STAT_DROPS = 0,     /* ring buffer or pending map full: event lost (user space rescans) */
	FIM_STAT_EVENTS = 1,    /* events submitted */
	FIM_STAT_COALESCED = 2, /* repeats of an operation already reported for the same process, folded */
	FIM_STAT_MAX = 4,
};

struct fim_key {
	__u64 ino;
	__u32 dev; /* kernel encoding: major << 20 | minor */
	__u32 pad;
};

/* Key of the watched_names map: a basename, NUL-padded, cut at FIM_NAME_LEN - 1. */
struct fim_name_key {
	char name[FIM_NAME_LEN];
};

struct fim_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns() */
	__u64 ino;       /* inode the event is about (0 for name-only events) */
	__u64 dir_ino;   /* parent directory inode where known, else 0 */
	__u64 cgroup_id;
	__u32 dev;
	__u32 op;        /* enum fim_op */
	__u32 pid;       /* thread id */
	__u32 tgid;      /* process id */
	__u32 ppid;
	__u32 uid;
	__u32 euid;
	__u32 auid;      /* login uid, (u32)-1 when unset or unknown */
	__s32 syscall_nr;
	__u32 name_len;  /* bytes used in name, without the NUL */
	char comm[FIM_COMM_LEN];
	char name[FIM_NAME_LEN]; /* matched basename for name events, else empty */
	char exe[FIM_NAME_LEN];  /* basename of the process's executable (mm->exe_file) */
	__u64 start_ns;  /* process start, boot-time ns: (tgid, start_ns) names one process for good */
};

#endif
