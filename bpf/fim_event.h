/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The layout of everything that crosses the kernel/user boundary.
 * Single source of truth: src/bpf/fim_event.ts mirrors these offsets and
 * test/fim_event_layout_test.ts checks the mirror against this header.
 */
#ifndef FIM_EVENT_H
#define FIM_EVENT_H

#define FIM_COMM_LEN 16
#define FIM_EXE_LEN 64
/* A file name: up to 255 bytes (NAME_MAX) and its NUL. */
#define FIM_NAME_LEN 256

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
	FIM_OP_NEW_ENTRY = 14, /* mkdir, mknod, symlink made an entry (dir_ino, name) */
	FIM_OP_MOUNT = 15,     /* mount, umount2, move_mount succeeded: re-resolve watched paths */
};

/* Value flags of the watch map. */
#define FIM_WATCH_FILE 1
#define FIM_WATCH_DIR 2
/* A directory whose new subdirectories are watched too (recursive watch): a
 * path through subdirectories not yet known is placed on it (fim_dir_match). */
#define FIM_WATCH_TREE 4

/* dev of the pending keys of events that are about no inode. */
#define FIM_DEV_UNPLACED 0xffffffffU /* ino: the basename's hash */
#define FIM_DEV_MOUNT 0xfffffffeU    /* ino: 0 */

/* Indexes of the stats array map. */
enum fim_stat {
	FIM_STAT_DROPS = 0,     /* ring buffer or pending map full: event lost (user space rescans) */
	FIM_STAT_EVENTS = 1,    /* events submitted */
	FIM_STAT_COALESCED = 2, /* repeats of an operation already reported for the same process, folded */
	FIM_STAT_UNHELD = 3,    /* drops that left no pending entry held (fim_lose): counted before
				 * FIM_STAT_DROPS, so that user space, reading it after, rescans
				 * only the held inodes when it did not move */
	FIM_STAT_MAX = 4,
};

/* A drop notice: the 8-byte record (this value) that follows each count of
 * FIM_STAT_DROPS into the ring buffer, woken at once, so that user space
 * checks the counter when something was lost instead of polling it. Shorter
 * than any event, so told apart by its length. When the ring has no room for
 * it either, user space is behind on records it will read, and checks the
 * counter after reading them (src/agent/drop_watch.ts). */
#define FIM_DROP_NOTICE 0x6e6b6e6966706264ULL /* "dbpfinkn", little-endian */

struct fim_key {
	__u64 ino;
	__u32 dev; /* kernel encoding: major << 20 | minor */
	__u32 pad;
};

/* Indexes of the fold_gen array map, the fold cache's generations
 * (bpf/fim_pending.bpf.h; FIM_FOLD_GEN in src/kernel/fim_event.ts). */
enum fim_fold_gen {
	FIM_FOLD_REARMS = 0, /* the re-arm generation (user space writes it) */
	FIM_FOLD_EXITS = 1,  /* threads exited (fim_fold_exit counts them) */
	FIM_FOLD_ON = 2,     /* 1 while the exit hook is attached (user space) */
	FIM_FOLD_GEN_MAX = 3,
};

/* A CPU's fold cache entry (bpf/fim_pending.bpf.h); user space sums `folded`
 * (FIM_FOLD_CACHE_LAYOUT in src/kernel/fim_event.ts). */
struct fim_fold_cache {
	__u64 seq;
	__u64 writers;
	struct fim_key key;
	__u64 task;
	__u64 gen;
	__u64 exits;
	__u32 ops;
	__u32 pad;
	__u64 folded; /* cached folds on this CPU, ever (FIM_STAT_COALESCED's share) */
};

/* Key of the watched_entries map: one name in one directory. name_hash is
 * fim_hash() of the name's bytes (bpf/fim_dir_match.bpf.h); user space
 * confirms the name itself, which every name event carries whole. */
struct fim_entry_key {
	__u64 dir_ino;
	__u32 dev;
	__u32 pad;
	__u64 name_hash;
};

/* Key of the dir_paths map: a directory named by a path relative to a base
 * directory (the process's root for absolute paths, else the dirfd or cwd).
 * path_hash is fim_path_hash() of the path's components. */
struct fim_dirpath_key {
	__u64 base_ino;
	__u32 base_dev;
	__u32 pad;
	__u64 path_hash;
};

struct fim_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns() */
	__u64 ino;       /* inode the event is about; in name events, the inode an
			  * open(O_CREAT) put at the name (FIM_OP_CREATE), else 0;
			  * in FIM_OP_MOUNT, the inode number of the mount
			  * namespace the mount changed (/proc/PID/ns/mnt) */
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
	__u16 name_len;  /* bytes of the name in tail, after the executable's */
	__u16 exe_len;   /* bytes of the executable's basename at the start of tail */
	char comm[FIM_COMM_LEN];
	__u64 start_ns;  /* process start, boot-time ns: (tgid, start_ns) names one process for good */
	/* The inode number of the process's executable (mm->exe_file) when it
	 * made the change, 0 for none: user space trusts /proc/PID/exe only
	 * while it still names that file (a process may execve another program
	 * right after its write, keeping its pid and start time). */
	__u64 exe_ino;
	/* The basename of the process's executable (mm->exe_file, at most
	 * FIM_EXE_LEN - 1 bytes), then, in name events only, the entry's name
	 * whole. dir_ino and dev name its directory; both 0 when the path could
	 * not be placed exactly (name_hash in ino). No NULs: the lengths say
	 * where each ends. A record is FIM_EVENT_HEAD_SIZE + exe_len + name_len
	 * bytes, so that the ring holds what was said, not the room for it. */
	char tail[FIM_EXE_LEN + FIM_NAME_LEN];
};

#define FIM_EVENT_HEAD_SIZE __builtin_offsetof(struct fim_event, tail)

/* Distinct writers one pending entry remembers; a further writer takes a
 * slot over (and the evicted one gets a new event if it writes again). */
#define FIM_PENDING_WRITERS 4

struct fim_writer {
	__u64 start_ns; /* process start (task->group_leader->start_boottime) */
	__u32 tgid;
	__u32 ops; /* 1 << enum fim_op for each kind of operation reported; 0: free slot */
};

struct fim_pending {
	struct fim_writer w[FIM_PENDING_WRITERS];
	/* 1 once an event for this entry found the ring buffer full: the entry
	 * is kept, writers and all, for user space to read when it rescans
	 * after the drop, so that the rescan still names who changed the inode. */
	__u32 held;
	__u32 pad;
};

/* A process as it was when it exited (map `exited`, by tgid). */
struct fim_exited {
	__u64 start_ns;
	__u32 ppid;
	__u32 uid;
	__u32 euid;
	__u32 auid;
	char comm[FIM_COMM_LEN];
};

#endif
