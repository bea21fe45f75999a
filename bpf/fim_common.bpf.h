/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The logic every attach strategy shares. A strategy only has to call
 * fim_on_syscall_exit() with the syscall number, the user registers of the
 * syscall and its return value, after the syscall has done its work: the data
 * is in the file by the time user space re-reads it.
 *
 * Kernel assumptions (CO-RE relocated, checked by the verifier at load):
 *  - task->files->fdt->fd[] maps an fd to a struct file (stable since 2.6).
 *  - inode->i_sb->s_dev is the kernel dev_t (major << 20 | minor).
 *  - task->loginuid exists only with CONFIG_AUDITSYSCALL: checked with
 *    bpf_core_field_exists().
 */
#ifndef FIM_COMMON_BPF_H
#define FIM_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "fim_event.h"
#include "syscalls_x86_64.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 6.2+: turns a probe-read pointer into a typed one, so the rest of the walk
 * is plain loads instead of helper calls. Weak: on older kernels only the
 * programs that use it fail to load (the tracepoint object then loads its
 * raw_tp twin, which does not). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

#define FIM_PATH_BUF 256
/* Directory components a path may have below a tree-watched directory that
 * the kernel knows (fim_place_in_tree). */
#define FIM_PREFIXES 8

/* Watched inodes (files and directories), keyed by (dev, ino). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fim_key);
	__type(value, __u32); /* FIM_WATCH_* flags */
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FIM_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Non-zero while the queue of the ring buffer's pump in user space
 * (native/ring_pump.c) holds more than an eighth of its size:
 * fim_ring_left_to_root() then keeps an event of a process with neither its
 * real nor its effective uid 0 out of the ring, as it does once the ring's
 * last eighth is reached, so that root's events wait behind no more than
 * about that eighth of users'. The pump maps it (BPF_F_MMAPABLE) and stores
 * to it; read here with a plain load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} users_paused SEC(".maps");

/* The mark gate (set by user space: src/kernel/mark_gate.ts). 1 while every
 * inode in `watched` carries an fsnotify mark that user space placed before
 * the inode entered the map (fanotify, src/watch/fanotify_source.ts). An
 * inode with no fsnotify mark at all is then not watched, and the hot path
 * tells so by one load instead of a hash lookup. 0 (the default) while any
 * watched inode is not known to be marked: a mark failed, fanotify is off or
 * closing. Marks go with an inode only when its last link goes (and with
 * it, its place in the watch set) or when user space removes them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mark_gate SEC(".maps");

/* Whether an inode whose i_fsnotify_marks is `marks` is surely not watched. */
static __always_inline bool fim_gated_out(const void *marks)
{
	__u32 zero = 0, *on;

	if (marks)
		return false;
	on = bpf_map_lookup_elem(&mark_gate, &zero);
	return on && *on;
}

/* fim_gated_out() for a BTF-typed inode (plain loads), and for one read with
 * probe reads. A kernel without fsnotify has no marks: never gated out. */
#define FIM_UNMARKED_TYPED(inode)                                              \
	(bpf_core_field_exists((inode)->i_fsnotify_marks) &&                   \
	 fim_gated_out((inode)->i_fsnotify_marks))
#define FIM_UNMARKED_PROBED(inode)                                             \
	(bpf_core_field_exists((inode)->i_fsnotify_marks) &&                   \
	 fim_gated_out(BPF_CORE_READ(inode, i_fsnotify_marks)))

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

#include "fim_pending.bpf.h"
#include "fim_compat.bpf.h"

struct path_scratch {
	char buf[FIM_PATH_BUF];
	long slash; /* result of fim_slash_before(), parked in memory: see there */
	/* fim_dir_match.bpf.h: the placed entry, and hash state parked in memory. */
	struct fim_key dir;
	long start, end;
	__u64 name_hash;
	__u64 h, ch;
	long clen, dots, dotdot;
	/* fim_dir_hash: the hash of the first k+1 components of the directory
	 * part, and the index of the '/' (or end) that closes component k. */
	__u64 prefix_hash[FIM_PREFIXES];
	long prefix_end[FIM_PREFIXES];
	long ncomp;
	long in_tree; /* fim_place placed the path with fim_place_in_tree */
	/* fim_dispatch(): the paths of one syscall, parked here (see there). */
	long pdfd[2];
	__u64 ppath[2];
	__u32 pop[2];
	long pn, pnr;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} scratch SEC(".maps");

/* Counts a lost event: first, unless `held` (its pending entry was kept,
 * held, before this call: fim_pending_hold), as unheld (FIM_STAT_UNHELD),
 * then as a drop (FIM_STAT_DROPS); then, when `notice`, sends user space a
 * notice (FIM_DROP_NOTICE), woken at once, so that the notice's reader finds
 * the loss counted. User space reads the drops, then the unheld, then the
 * held entries: drops whose count it read with no unheld one among them each
 * left an entry held before it was counted, which it then finds. A global
 * function: the verifier checks its body once, not again on every path
 * through each place that may drop (the AIO loop, unrolled, has eight). On
 * 5.10 under emulation, a guest run of `bpfink kernels --probe fentry` took
 * about as long either way: 201 s, against 202 s before the notice and 194 s
 * with it inlined at each place. */
__noinline int fim_lose(int held, int notice)
{
	__u64 word = FIM_DROP_NOTICE;

	if (!held)
		stat_inc(FIM_STAT_UNHELD);
	stat_inc(FIM_STAT_DROPS);
	if (notice)
		bpf_ringbuf_output(&events, &word, sizeof(word), BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* A lost event that left nothing held: user space rescans every watch. */
static __always_inline void fim_drop(void)
{
	fim_lose(0, 1);
}

/* Counts `stat`: a fold (FIM_STAT_COALESCED) or a drop (fim_drop). */
static __always_inline void stat_fold_or_drop(__u32 stat)
{
	if (stat == FIM_STAT_DROPS)
		fim_drop();
	else
		stat_inc(stat);
}

static __always_inline struct file *fd_to_file(struct task_struct *task, long fd)
{
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;
	unsigned int max;

	if (!files || fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

static __always_inline void file_key(struct file *f, struct fim_key *key)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	key->ino = BPF_CORE_READ(inode, i_ino);
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->pad = 0;
}

/* file_key(), unless the mark gate says the file is not watched (false). */
static __always_inline bool file_key_marked(struct file *f, struct fim_key *key)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	if (!inode || FIM_UNMARKED_PROBED(inode))
		return false;
	key->ino = BPF_CORE_READ(inode, i_ino);
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->pad = 0;
	return true;
}

/* The same fd → (dev, ino) walk with typed pointers: plain loads (faults
 * read as 0) instead of a helper call per step. Only for programs with a
 * BTF-typed context (tp_btf) on 6.2+ kernels. This is the hot path: it runs
 * for every write on the machine. */
static __always_inline bool fd_key_fast_of(struct task_struct *task, long fd, struct fim_key *key)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds;
	struct llist_node *slot;
	struct file *f;
	struct inode *inode;

	if (fd < 0 || (unsigned long)fd >= fdt->max_fds)
		return false;
	fds = fdt->fd;
	/* fds[fd] by a plain load too: the slot's address (a scalar to the
	 * verifier, as a pointer to a pointer is) cast to a struct whose one
	 * member is a pointer, where a probe read was a helper call per write. */
	slot = bpf_rdonly_cast(&fds[fd], bpf_core_type_id_kernel(struct llist_node));
	f = bpf_rdonly_cast(slot->next, bpf_core_type_id_kernel(struct file));
	if (!f)
		return false;
	inode = f->f_inode;
	if (FIM_UNMARKED_TYPED(inode))
		return false;
	key->ino = inode->i_ino;
	key->dev = inode->i_sb->s_dev;
	key->pad = 0;
	return true;
}

/* fd_key_fast_of() for the current task. */
static __always_inline bool fd_key_fast(long fd, struct fim_key *key)
{
	return fd_key_fast_of(bpf_get_current_task_btf(), fd, key);
}

/* Fill the process part of an event. */
/* Who the current process is, into `x` (a struct fim_event or fim_exited):
 * its ids, its start and its name (its main thread's comm, as ECS
 * process.name means it: the thread that did the work may be an io_uring
 * worker ("iou-wrk-123") or any other thread of the process). */
#define FIM_READ_IDENTITY(x, task)                                             \
	do {                                                                   \
		(x)->uid = (__u32)bpf_get_current_uid_gid();                   \
		(x)->euid = BPF_CORE_READ(task, cred, euid.val);               \
		(x)->ppid = BPF_CORE_READ(task, real_parent, tgid);            \
		if (bpf_core_field_exists(task->loginuid))                     \
			(x)->auid = BPF_CORE_READ(task, loginuid.val);         \
		else                                                           \
			(x)->auid = (__u32)-1;                                 \
		(x)->start_ns = fim_process_start_ns();                        \
		BPF_CORE_READ_STR_INTO(&(x)->comm, task, group_leader, comm);  \
	} while (0)

static __always_inline void fill_process(struct fim_event *e, __s32 nr)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	const unsigned char *exe_name;
	long n = 0;

	e->ts_ns = bpf_ktime_get_ns();
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->syscall_nr = nr;
	FIM_READ_IDENTITY(e, task);
	/* comm can be set by the process itself; the executable's name cannot. */
	exe_name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	/* 0 for a kernel thread (no mm): the read of a NULL chain fails to 0. */
	e->exe_ino = BPF_CORE_READ(task, mm, exe_file, f_inode, i_ino);
	if (exe_name)
		n = bpf_probe_read_kernel_str(e->tail, FIM_EXE_LEN, exe_name);
	e->exe_len = n > 0 ? n - 1 : 0;
	e->name_len = 0;
}

/* Where events are put together before they go into the ring buffer, whose
 * records then take only the bytes the event uses (bpf_ringbuf_output). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fim_event);
} event_scratch SEC(".maps");

/* An event of the current process for syscall `nr`, to fill in and send with
 * fim_event_send(); NULL only if the per-CPU scratch is missing. */
static __always_inline struct fim_event *fim_event_begin(__s32 nr)
{
	__u32 zero = 0;
	struct fim_event *e = bpf_map_lookup_elem(&event_scratch, &zero);

	if (e)
		fill_process(e, nr);
	return e;
}

/* Whether `e` is kept out of the ring buffer's last eighth, which is root's:
 * a process with neither its real nor its effective uid 0, once more than
 * seven eighths of the ring wait unread, or while the pump's queue is past
 * its eighth (users_paused). An unprivileged user who floods a watched
 * directory of its own (as a user owns ~/.ssh) with creations and unlinks
 * then cannot take the room in which root's writes during the flood are
 * recorded with their writer; its own events are dropped, counted, and the
 * rescan that follows finds what they were about (with the writers the
 * pending map kept). */
static __always_inline bool fim_ring_left_to_root(const struct fim_event *e)
{
	__u32 zero = 0, *paused;
	__u64 size;

	if (e->uid == 0 || e->euid == 0)
		return false;
	paused = bpf_map_lookup_elem(&users_paused, &zero);
	if (paused && *paused)
		return true;
	size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > size - size / 8;
}

/* What fim_event_send() did: sent, or not, and then whether the loss wants
 * a notice (fim_lose). */
#define FIM_SENT 0
#define FIM_UNSENT 1	   /* the ring buffer is full: notice */
#define FIM_UNSENT_QUIET 2 /* the room left is root's: no notice */

/* Sends `e` with its executable and name and nothing more. When the ring
 * buffer is full, or its room left is root's and `e` is not
 * (fim_ring_left_to_root), the caller holds what it can and counts the loss:
 * fim_lose(held, result == FIM_UNSENT). A loss for root's room wants no
 * notice: the seven eighths unread are read first, and user space looks at
 * the drop counter after each turn that read records (a notice for each
 * would fill root's eighth). */
static __always_inline int fim_event_send(struct fim_event *e)
{
	__u64 size = FIM_EVENT_HEAD_SIZE + (e->exe_len & (FIM_EXE_LEN - 1)) +
		     (e->name_len & (FIM_NAME_LEN - 1));

	if (fim_ring_left_to_root(e))
		return FIM_UNSENT_QUIET;
	if (bpf_ringbuf_output(&events, e, size, 0))
		return FIM_UNSENT;
	stat_inc(FIM_STAT_EVENTS);
	return FIM_SENT;
}

/* Processes that exited, by tgid, as they were at exit: user space names the
 * pid of a fanotify event (which carries nothing else) from here once the
 * process has left /proc, as a short-lived one (mv, rm) has by the time the
 * event is read. The executable is gone by then (exit_mm() came first). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct fim_exited);
} exited SEC(".maps");

/* A thread is exiting; when it is the last of its process (signal->live
 * has reached 0), the process is remembered. */
static __always_inline int fim_on_process_exit(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct fim_exited x = {};

	/* Any thread: its task may be reused from now on (the fold cache). */
	fim_fold_exit();
	if (BPF_CORE_READ(task, signal, live.counter))
		return 0;
	FIM_READ_IDENTITY(&x, task);
	bpf_map_update_elem(&exited, &tgid, &x, BPF_ANY);
	return 0;
}

#define FIM_PROCESS_EXIT_PROGRAM                                               \
	SEC("raw_tp/sched_process_exit")                                       \
	int fim_process_exit(void *ctx)                                        \
	{                                                                      \
		return fim_on_process_exit();                                  \
	}

/* An event about a watched inode, folded per inode and writer until user
 * space clears the pending entry (fim_pending.bpf.h). `typed` and `cache`:
 * as fim_pending_note's. */
static __always_inline void emit_inode_event_here(struct fim_key *key, __u32 op, __s32 nr,
						  const bool typed, const bool cache)
{
	__u32 stat = FIM_STAT_COALESCED;
	struct fim_event *e;
	int sent;

	if (!fim_pending_note(key, op, &stat, typed, cache)) {
		stat_fold_or_drop(stat);
		return;
	}
	e = fim_event_begin(nr);
	if (!e) {
		bpf_map_delete_elem(&pending, key);
		fim_drop();
		return;
	}
	e->op = op;
	e->ino = key->ino;
	e->dev = key->dev;
	e->dir_ino = 0;
	/* On a full ring buffer, the pending entry keeps who wrote: user space
	 * rescans when the drop counter moves, reads the held entries, and
	 * re-arms them. */
	sent = fim_event_send(e);
	if (sent != FIM_SENT)
		fim_lose(fim_pending_hold(key), sent == FIM_UNSENT);
}

/* emit_inode_event() as global functions, one per (typed, cache): the
 * verifier checks each body once per program, not again at every call site
 * and in every state one is reached in (the tracepoint program inlined it at
 * some thirty sites). Arguments are scalars, as 5.10 requires of a global
 * function: the key's two fields, the operation and the syscall number. */
#define FIM_EMIT_INODE_GLOBAL(name, typed, cache)                              \
	__noinline int name(__u64 ino, __u64 dev, __u64 op, __s64 nr)         \
	{                                                                      \
		struct fim_key key = {};                                       \
                                                                               \
		key.ino = ino;                                                 \
		key.dev = (__u32)dev;                                          \
		emit_inode_event_here(&key, (__u32)op, (__s32)nr, typed, cache); \
		return 0;                                                      \
	}
FIM_EMIT_INODE_GLOBAL(fim_emit_inode, false, false)
FIM_EMIT_INODE_GLOBAL(fim_emit_inode_typed, true, false)
FIM_EMIT_INODE_GLOBAL(fim_emit_inode_cached, false, true)
FIM_EMIT_INODE_GLOBAL(fim_emit_inode_typed_cached, true, true)
#undef FIM_EMIT_INODE_GLOBAL

/* An event about watched inode `key` (emit_inode_event_here), through the
 * global function for `typed` and `cache`. */
static __always_inline void emit_inode_event(struct fim_key *key, __u32 op, __s32 nr,
					     const bool typed, const bool cache)
{
	if (typed && cache)
		fim_emit_inode_typed_cached(key->ino, key->dev, op, nr);
	else if (typed)
		fim_emit_inode_typed(key->ino, key->dev, op, nr);
	else if (cache)
		fim_emit_inode_cached(key->ino, key->dev, op, nr);
	else
		fim_emit_inode(key->ino, key->dev, op, nr);
}

/* The (dev, ino) of fd `fd` of the current process, when it has an fsnotify
 * mark or the mark gate is shut (`fast`: fd_key_fast). */
static __always_inline bool fd_key_of(long fd, struct fim_key *key, const bool fast)
{
	struct task_struct *task;
	struct file *f;

	if (fast)
		return fd_key_fast(fd, key);
	task = (struct task_struct *)bpf_get_current_task();
	f = fd_to_file(task, fd);
	return f && file_key_marked(f, key);
}

static __always_inline void on_fd_modified_here(long fd, __u32 op, __s32 nr, const bool fast)
{
	struct fim_key key;

	if (!fd_key_of(fd, &key, fast) || !bpf_map_lookup_elem(&watched, &key))
		return;
	emit_inode_event(&key, op, nr, fast, false);
}

/* on_fd_modified_here() as global functions, one per `fast`: checked once
 * per program instead of at each of its some twenty call sites. The typed
 * loads of the fast walk cost the verifier most per instruction (each one
 * is looked up in the kernel's BTF). */
__noinline int fim_fd_modified(long fd, __u64 op, __s64 nr)
{
	on_fd_modified_here(fd, (__u32)op, (__s32)nr, false);
	return 0;
}

__noinline int fim_fd_modified_fast(long fd, __u64 op, __s64 nr)
{
	on_fd_modified_here(fd, (__u32)op, (__s32)nr, true);
	return 0;
}

static __always_inline void on_fd_modified(long fd, __u32 op, __s32 nr, const bool fast)
{
	if (fast)
		fim_fd_modified_fast(fd, op, nr);
	else
		fim_fd_modified(fd, op, nr);
}

/* on_fd_modified() for the write syscalls, the hot path: a repeat of the
 * last fold on this CPU folds by the fold cache, with no hash lookup. Only
 * here (and in the fentry and kprobe VFS write hooks): each inlined copy
 * costs the verifier, and the other operations are rare. `task`, when not
 * NULL, is the current task the caller already has (BTF-typed, `fast`):
 * one helper call fewer on every write on the machine. */
static __always_inline void on_fd_written(long fd, __s32 nr, const bool fast,
					  struct task_struct *task)
{
	struct fim_key key;

	if (!(fast && task ? fd_key_fast_of(task, fd, &key) : fd_key_of(fd, &key, fast)))
		return;
	if (!fim_fold_cached(&key, FIM_OP_WRITE) && bpf_map_lookup_elem(&watched, &key))
		emit_inode_event(&key, FIM_OP_WRITE, nr, fast, true);
}

/* Linux native AIO: io_submit(ctx, n, iocbpp) queued `n` requests, each a
 * struct iocb in user memory; a PWRITE or PWRITEV request writes its fd with
 * no write syscall. The first FIM_AIO_MAX requests are checked (unrolled:
 * older verifiers refuse a loop around these calls); more in one call count
 * as a drop, so user space rescans every watch. 32-bit callers are not
 * mapped (their iocb pointers are 32-bit). */
#define FIM_AIO_MAX 8
#define FIM_IOCB_OPCODE_OFF 16 /* __u16 aio_lio_opcode */
#define FIM_IOCB_FILDES_OFF 20 /* __u32 aio_fildes */
#define FIM_IOCB_CMD_PWRITE 1
#define FIM_IOCB_CMD_PWRITEV 8
/* Whether the slow (probe-read) dispatch also handles io_submit and
 * mprotect; the tracepoint object's raw_tp twin leaves them out. */
#ifndef FIM_EXTRAS_SLOW_PATH
#define FIM_EXTRAS_SLOW_PATH 1
#endif

static __always_inline void on_io_submitted(long iocbpp, long n, __s32 nr, const bool fast)
{
	int i;

#pragma unroll
	for (i = 0; i < FIM_AIO_MAX; i++) {
		__u64 cb = 0;
		__u16 op = 0;
		__u32 fd = 0;

		if (i >= n)
			return;
		if (bpf_probe_read_user(&cb, sizeof(cb), (void *)(iocbpp + i * sizeof(__u64))) ||
		    bpf_probe_read_user(&op, sizeof(op), (void *)(cb + FIM_IOCB_OPCODE_OFF)) ||
		    bpf_probe_read_user(&fd, sizeof(fd), (void *)(cb + FIM_IOCB_FILDES_OFF)))
			continue;
		if (op == FIM_IOCB_CMD_PWRITE || op == FIM_IOCB_CMD_PWRITEV)
			on_fd_modified(fd, FIM_OP_WRITE, nr, fast);
	}
	if (n > FIM_AIO_MAX)
		fim_drop();
}

/* mprotect(start, len, PROT_WRITE) made a mapping writable: when a VMA in
 * the range maps a watched file shared, writes may follow without syscalls,
 * as after mmap(PROT_WRITE, MAP_SHARED). The range is walked VMA by VMA
 * (a successful mprotect covers only mapped pages, so they are contiguous),
 * up to FIM_MPROTECT_VMAS of them; bpf_find_vma needs 5.17. */
#define FIM_MPROTECT_VMAS 4

struct fim_vma_walk {
	__u64 next;
	__s32 nr;
};

static long fim_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct fim_vma_walk *w = data;
	struct file *f = BPF_CORE_READ(vma, vm_file);
	struct fim_key key;

	w->next = BPF_CORE_READ(vma, vm_end);
	if (!f || !(BPF_CORE_READ(vma, vm_flags) & FIM_VM_SHARED))
		return 0;
	file_key(f, &key);
	if (bpf_map_lookup_elem(&watched, &key))
		emit_inode_event(&key, FIM_OP_MMAP_WRITE, w->nr, false, false);
	return 0;
}

static __always_inline void on_mprotect_write(__u64 start, __u64 len, __s32 nr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fim_vma_walk w = { .next = start, .nr = nr };
	__u64 end = start + len;
	int i;

#pragma unroll
	for (i = 0; i < FIM_MPROTECT_VMAS; i++) {
		if (w.next >= end)
			return;
		if (bpf_find_vma(task, w.next, fim_vma_cb, &w, 0))
			return;
	}
}

/* The inode of directory fd `dfd` (AT_FDCWD: the working directory). An int,
 * as the syscall has it: the upper half of its register is not defined. */
static __always_inline bool dir_key(int dfd, struct fim_key *key)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *dir;
	struct file *f;

	if (dfd == FIM_AT_FDCWD) {
		dir = BPF_CORE_READ(task, fs, pwd.dentry, d_inode);
	} else {
		f = fd_to_file(task, dfd);
		if (!f)
			return false;
		dir = BPF_CORE_READ(f, f_inode);
	}
	if (!dir)
		return false;
	key->ino = BPF_CORE_READ(dir, i_ino);
	key->dev = BPF_CORE_READ(dir, i_sb, s_dev);
	key->pad = 0;
	return true;
}

#include "fim_dir_match.bpf.h"

/* Set to 1 by user space (src/kernel/fim_kernel.ts) when the agent runs in
 * the initial user namespace: a mount namespace owned by any other user
 * namespace then cannot change what the agent's paths resolve to. Creating
 * a mount namespace in a less privileged user namespace turns its shared
 * mounts into slaves (mount_namespaces(7)), so nothing mounted in it, or in
 * a namespace copied from it, propagates back. Without this, any user could
 * `unshare -Urm` and mount in a loop, and make the agent look up every
 * watched path again five times a second. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mounts_from_init_userns_only SEC(".maps");

/* The mount namespaces whose tables the agent reads (its own, the host's),
 * by inode number (0: none), set by user space: a mount in one of them is
 * never folded into an earlier event of the same process, so each names its
 * mount point. Folded, a mount made and undone over a watched path behind a
 * decoy mount of the same process went untold: the table was as before at
 * every look. Only root in the initial user namespace mounts there, a few
 * times a second at most on a busy host (containers mount in their own). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} mount_ns_read SEC(".maps");

/* Whether mount namespace `ns` is one whose table the agent reads. */
static __always_inline bool fim_mount_ns_read(__u64 ns)
{
	__u32 i0 = 0, i1 = 1;
	__u64 *a = bpf_map_lookup_elem(&mount_ns_read, &i0);
	__u64 *b = bpf_map_lookup_elem(&mount_ns_read, &i1);

	return ns && ((a && *a == ns) || (b && *b == ns));
}

/* Whether the current task's mount happened where the agent cannot see it. */
static __always_inline bool fim_mount_unseen(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, *only = bpf_map_lookup_elem(&mounts_from_init_userns_only, &zero);

	if (!only || !*only)
		return false;
	/* level: 0 for the initial user namespace, one more per nesting. */
	return BPF_CORE_READ(task, nsproxy, mnt_ns, user_ns, level) > 0;
}

/* mount, umount2, move_mount succeeded: what a watched path resolves to may
 * have changed. One event per process until user space re-arms it. Its name
 * is the path the syscall was given as its target (mount point), as the
 * process passed it (NULL: none, as move_mount's to an fd), so that user
 * space can tell which of several processes' mounts changed a mount point;
 * a path too long for the name is left out, never cut. */
static __always_inline void on_mount_change_here(__s32 nr, const char *target)
{
	struct fim_key key = { .ino = 0, .dev = FIM_DEV_MOUNT };
	struct fim_event *e;
	__u32 stat = FIM_STAT_COALESCED;
	__u32 at;
	long n;
	__u64 ns;
	bool read;
	int sent;

	if (fim_mount_unseen())
		return;
	/* Which mount table changed: user space tells a mount that came and went
	 * in its own (or the host's) from one made in another namespace. */
	ns = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), nsproxy, mnt_ns, ns.inum);
	read = fim_mount_ns_read(ns);
	if (!read && !fim_pending_note(&key, FIM_OP_MOUNT, &stat, false, false)) {
		stat_fold_or_drop(stat);
		return;
	}
	e = fim_event_begin(nr);
	if (!e) {
		if (!read)
			bpf_map_delete_elem(&pending, &key);
		fim_drop();
		return;
	}
	e->op = FIM_OP_MOUNT;
	e->ino = ns;
	e->dev = 0;
	e->dir_ino = 0;
	if (target) {
		at = e->exe_len & (FIM_EXE_LEN - 1);
		n = bpf_probe_read_user_str(e->tail + at, FIM_NAME_LEN, target);
		if (n > 1 && n < FIM_NAME_LEN)
			e->name_len = n - 1;
	}
	sent = fim_event_send(e);
	if (sent == FIM_SENT)
		return;
	if (!read)
		bpf_map_delete_elem(&pending, &key);
	fim_lose(0, sent == FIM_UNSENT);
}

/* on_mount_change_here() as a global function, checked once per program. */
__noinline int fim_mount_change(__s64 nr, __u64 target)
{
	on_mount_change_here((__s32)nr, (const char *)target);
	return 0;
}

static __always_inline void on_mount_change(__s32 nr, const char *target)
{
	fim_mount_change(nr, (__u64)target);
}

/* f_mode bit of a file that its open created: 0x100000 since 4.19
 * ("introduce FMODE_CREATED"), the same in Debian's 6.1 and 6.12 headers
 * (written 1 << 20 there). Not in BTF, being a #define. */
#define FIM_FMODE_CREATED 0x100000

/* open/openat/creat returned fd: O_TRUNC of a watched inode is a content
 * change; O_CREAT of a watched name or inside a watched directory is a
 * creation. */
static __always_inline void on_opened_here(long fd, __u64 flags, __s32 nr)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fim_key key, dkey;
	struct dentry *dentry;
	struct inode *dir;
	struct file *f;
	bool known;

	if (!(flags & (FIM_O_TRUNC | FIM_O_CREAT)))
		return;
	f = fd_to_file(task, fd);
	if (!f)
		return;
	file_key(f, &key);
	known = bpf_map_lookup_elem(&watched, &key) != NULL;
	if ((flags & FIM_O_TRUNC) && known)
		emit_inode_event(&key, FIM_OP_TRUNCATE, nr, false, false);
	if (!(flags & FIM_O_CREAT))
		return;
	/* O_CREAT of a name that existed (FMODE_CREATED unset) whose file is
	 * watched already creates nothing: no name event, so `echo >> f` over
	 * a watched tree costs an inode event a file, not a name event more.
	 * An open that made its file always checks the name and the parent
	 * directory, also when the new inode reuses the number of a watched
	 * file just deleted. */
	if (known && !(BPF_CORE_READ(f, f_mode) & FIM_FMODE_CREATED))
		return;
	dentry = BPF_CORE_READ(f, f_path.dentry);
	dir = BPF_CORE_READ(dentry, d_parent, d_inode);
	dkey.ino = BPF_CORE_READ(dir, i_ino);
	dkey.dev = BPF_CORE_READ(dir, i_sb, s_dev);
	dkey.pad = 0;
	on_created_dentry(&dkey, dentry, key.ino, nr);
}

/* on_opened_here() as a global function, checked once per program instead
 * of at each of the four open syscalls' cases. */
__noinline int fim_opened(long fd, __u64 flags, __s64 nr)
{
	on_opened_here(fd, flags, (__s32)nr);
	return 0;
}

static __always_inline void on_opened(long fd, __u64 flags, __s32 nr, int dfd, const char *upath)
{
	fim_opened(fd, flags, nr);
}

/* io_uring requests write without any write syscall. Every strategy
 * catches them where they complete: the io_uring_complete tracepoint, whose
 * arguments include the request from 5.19 on. The request is read with
 * probe reads, so the program loads wherever the tracepoint exists; the read
 * of its result (`cqe`, 5.19+) is not guarded, so on older kernels libbpf
 * cannot relocate it and the program fails to load: that coverage is then
 * reported lost, and the fentry and kprobe objects still see writes through
 * io_write() (FIM_IO_WRITE_PROGRAMS). Path operations (IORING_OP_RENAMEAT,
 * UNLINKAT, LINKAT, OPENAT with O_TRUNC) carry no file here: the periodic
 * reconcile sees their effect. */
/* An io_uring request `op` on req->file: report it when the inode is watched. */
static __always_inline int on_io_request(struct io_kiocb *req, __u32 op)
{
	struct file *f = BPF_CORE_READ(req, file);
	struct fim_key key;

	if (!f)
		return 0;
	file_key(f, &key);
	if (bpf_map_lookup_elem(&watched, &key))
		emit_inode_event(&key, op, -1, false, false);
	return 0;
}

static __always_inline int fim_on_io_uring_complete(struct io_kiocb *req)
{
	__u32 op;

	if (BPF_CORE_READ(req, cqe.res) < 0)
		return 0; /* failed: nothing changed */
	switch (BPF_CORE_READ(req, opcode)) {
	case IORING_OP_WRITEV:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_WRITE:
	case IORING_OP_SPLICE: /* the request's file is the splice's output */
		op = FIM_OP_WRITE;
		break;
	case IORING_OP_FALLOCATE:
	case IORING_OP_FTRUNCATE:
		op = FIM_OP_TRUNCATE;
		break;
	case IORING_OP_FSETXATTR:
		op = FIM_OP_XATTR;
		break;
	default:
		return 0;
	}
	return on_io_request(req, op);
}

/* io_write(req, ...) returned: an io_uring write (WRITE, WRITEV,
 * WRITE_FIXED) to req->file was done, queued, or refused with -EAGAIN to be
 * retried from a worker (which returns here again). The return value's
 * position differs between kernels, so it is not read: a refused attempt
 * only costs user space a re-read that finds nothing new. */
static __always_inline int fim_on_io_write(struct io_kiocb *req)
{
	return on_io_request(req, FIM_OP_WRITE);
}

#define FIM_IO_URING_PROGRAM                                                   \
	SEC("raw_tp/io_uring_complete")                                        \
	int BPF_PROG(fim_io_uring_complete, void *ring, struct io_kiocb *req)  \
	{                                                                      \
		return fim_on_io_uring_complete(req);                          \
	}

/* An *at() syscall on (dfd, upath) with `flags` acts on dfd itself with
 * AT_EMPTY_PATH and an empty path (or with no path, as utimensat allows). */
static __always_inline bool at_acts_on_fd(const char *upath, long flags)
{
	char first = 0;

	return !upath ||
	       ((flags & FIM_AT_EMPTY_PATH) && !bpf_probe_read_user(&first, 1, upath) && !first);
}

/* i386's old mmap(): its arguments sit in a struct in user memory. */
static __always_inline void on_compat_old_mmap(const void *uargs, __s32 nr, const bool fast)
{
	struct fim_compat_mmap_args a = {};

	if (bpf_probe_read_user(&a, sizeof(a), uargs))
		return;
	if ((a.prot & FIM_PROT_WRITE) && (a.flags & FIM_MAP_SHARED))
		on_fd_modified((int)a.fd, FIM_OP_MMAP_WRITE, nr, fast);
}

/* Every strategy ends here, after the syscall returned `ret`. `regs` are the
 * user registers the syscall was entered with: x86_64 calling convention
 * (di, si, dx, r10, r8), or i386's (bx, cx, dx, si, di; 32-bit values) when
 * `compat`, with `nr` already turned into its x86_64 number. `fast`: regs is
 * a typed pointer (tp_btf, fexit) and the 6.2+ fast path may be used. */
#define REG(reg) (fast ? (long)regs->reg : (long)BPF_CORE_READ(regs, reg))
#define ARG(x64, i386) (compat ? (long)(__u32)REG(i386) : REG(x64))
#define ARG0 ARG(di, bx)
#define ARG1 ARG(si, cx)
#define ARG2 ARG(dx, dx)
#define ARG3 ARG(r10, si)
#define ARG4 ARG(r8, di)
/* Handles the paths fim_dispatch() parked in `ps`. Not a loop: before 6.x
 * the verifier refuses a back-edge that is the fall-through of a call. */
static __always_inline void on_parked_paths(struct path_scratch *ps)
{
	volatile struct path_scratch *vp = ps;
	long n = vp->pn;
	__s32 nr = vp->pnr;
	long dfd = vp->pdfd[0];
	__u64 path = vp->ppath[0];
	__u32 op = vp->pop[0];

	if (n > 0)
		on_path_at(dfd, (const char *)path, op, nr);
	dfd = vp->pdfd[1];
	path = vp->ppath[1];
	op = vp->pop[1];
	if (n > 1)
		on_path_at(dfd, (const char *)path, op, nr);
}

#define PATH_OP(dfd_, path_, op_)                                                \
	do {                                                                     \
		if (npaths < 2) {                                                \
			paths[npaths].dfd = (dfd_);                              \
			paths[npaths].path = (path_);                            \
			paths[npaths].op = (op_);                                \
			npaths++;                                                \
		}                                                                \
	} while (0)
/* Whether fim_dispatch() has a case for `nr`: most syscalls on the machine
 * (getppid, read, futex...) are none of bpfink's, and fim_on_any_syscall_exit()
 * lets them go before it reads the task for its i386 check, which took about
 * 20 ns of each of them (bench/run.ts, getppid). The cases are fim_dispatch()'s,
 * in its order (test/syscall_filter_test.ts). */
static __always_inline bool fim_nr_dispatched(long nr)
{
	switch (nr) {
	case NR_write:
	case NR_pwrite64:
	case NR_writev:
	case NR_pwritev:
	case NR_pwritev2:
	case NR_ftruncate:
	case NR_fallocate:
	case NR_mprotect:
	case NR_pkey_mprotect:
	case NR_io_submit:
	case NR_ioctl:
	case NR_sendfile64:
	case NR_splice:
	case NR_copy_file_range:
	case NR_fchmod:
	case NR_fchown:
	case NR_fsetxattr:
	case NR_fremovexattr:
	case NR_setxattrat:
	case NR_removexattrat:
	case NR_utimensat:
	case NR_chmod:
	case NR_chown:
	case NR_lchown:
	case NR_utime:
	case NR_utimes:
	case NR_setxattr:
	case NR_lsetxattr:
	case NR_removexattr:
	case NR_lremovexattr:
	case NR_fchmodat2:
	case NR_fchownat:
	case NR_fchmodat:
	case NR_futimesat:
	case NR_mmap:
	case NR_compat_old_mmap:
	case NR_link:
	case NR_linkat:
	case NR_mkdir:
	case NR_mknod:
	case NR_mkdirat:
	case NR_mknodat:
	case NR_symlink:
	case NR_symlinkat:
	case NR_mount:
	case NR_umount2:
	case NR_move_mount:
	case NR_open:
	case NR_openat:
	case NR_creat:
	case NR_openat2:
	case NR_truncate:
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
	case NR_unlink:
	case NR_rmdir:
	case NR_unlinkat:
		return true;
	default:
		return false;
	}
}

static __always_inline int fim_dispatch(long nr, struct pt_regs *regs, long ret, const bool fast,
					bool compat, struct task_struct *task)
{
	/* Path-based syscalls name up to two paths; they are placed after the
	 * switch, at one call site, so the verifier walks the path code once
	 * instead of once per syscall. */
	struct { long dfd; long path; __u32 op; } paths[2] = {};
	int npaths = 0;

	if (ret < 0)
		return 0;
	switch (nr) {
	case NR_write:
	case NR_pwrite64:
	case NR_writev:
	case NR_pwritev:
	case NR_pwritev2:
		if (ret > 0)
			on_fd_written(ARG0, nr, fast, task);
		break;
	case NR_ftruncate:
	case NR_fallocate:
		on_fd_modified(ARG0, FIM_OP_TRUNCATE, nr, fast);
		break;
	case NR_mprotect: /* (start, len, prot) */
	case NR_pkey_mprotect:
		if ((fast || FIM_EXTRAS_SLOW_PATH) && (ARG2 & FIM_PROT_WRITE))
			on_mprotect_write(ARG0, ARG1, nr);
		break;
	case NR_io_submit: /* ret: requests queued */
		if (ret > 0 && (fast || FIM_EXTRAS_SLOW_PATH))
			on_io_submitted(ARG2, ret, nr, fast);
		break;
	case NR_ioctl: /* a reflink rewrites the fd's content without a write */
		if ((__u32)ARG1 == FIM_FICLONE || (__u32)ARG1 == FIM_FICLONERANGE)
			on_fd_modified(ARG0, FIM_OP_WRITE, nr, fast);
		/* chattr: inode flags (immutable, append-only) change with no
		 * fsnotify event at all, so fanotify cannot see them either */
		else if ((__u32)ARG1 == FIM_FS_IOC_SETFLAGS || (__u32)ARG1 == FIM_FS_IOC32_SETFLAGS ||
			 (__u32)ARG1 == FIM_FS_IOC_FSSETXATTR)
			on_fd_modified(ARG0, FIM_OP_ATTRIB, nr, fast);
		break;
	case NR_sendfile64: /* out_fd is the first argument */
		if (ret > 0)
			on_fd_modified(ARG0, FIM_OP_WRITE, nr, fast);
		break;
	case NR_splice:          /* fd_out is the third argument */
	case NR_copy_file_range:
		if (ret > 0)
			on_fd_modified(ARG2, FIM_OP_WRITE, nr, fast);
		break;
	case NR_fchmod:
	case NR_fchown:
		on_fd_modified(ARG0, FIM_OP_ATTRIB, nr, fast);
		break;
	case NR_fsetxattr:
	case NR_fremovexattr:
		on_fd_modified(ARG0, FIM_OP_XATTR, nr, fast);
		break;
	case NR_setxattrat: /* (dfd, path, at_flags, name, args, size) */
	case NR_removexattrat:
		if (at_acts_on_fd((const char *)ARG1, ARG2))
			on_fd_modified(ARG0, FIM_OP_XATTR, nr, fast);
		else
			PATH_OP(ARG0, ARG1, FIM_OP_PATH_XATTR);
		break;
	case NR_utimensat: /* (dfd, path, times, flags); a NULL path is futimens(fd) */
		if (at_acts_on_fd((const char *)ARG1, ARG3))
			on_fd_modified(ARG0, FIM_OP_ATTRIB, nr, fast);
		else
			PATH_OP(ARG0, ARG1, FIM_OP_PATH_ATTRIB);
		break;
	case NR_chmod:
	case NR_chown:
	case NR_lchown:
	case NR_utime:
	case NR_utimes:
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_PATH_ATTRIB);
		break;
	case NR_setxattr:
	case NR_lsetxattr:
	case NR_removexattr:
	case NR_lremovexattr:
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_PATH_XATTR);
		break;
	case NR_fchmodat2: /* (dfd, path, mode, flags) */
		if (at_acts_on_fd((const char *)ARG1, ARG3))
			on_fd_modified(ARG0, FIM_OP_ATTRIB, nr, fast);
		else
			PATH_OP(ARG0, ARG1, FIM_OP_PATH_ATTRIB);
		break;
	case NR_fchownat: /* (dfd, path, uid, gid, flags) */
		if (at_acts_on_fd((const char *)ARG1, ARG4))
			on_fd_modified(ARG0, FIM_OP_ATTRIB, nr, fast);
		else
			PATH_OP(ARG0, ARG1, FIM_OP_PATH_ATTRIB);
		break;
	case NR_fchmodat: /* no flags argument */
	case NR_futimesat:
		PATH_OP(ARG0, ARG1, FIM_OP_PATH_ATTRIB);
		break;
	case NR_mmap: {
		/* mmap(addr, len, prot, flags, fd, off): writes through a shared
		 * writable mapping need no syscall, so report the mapping itself and
		 * let user space watch the file while the mapper lives. */
		long prot = ARG2;
		long flags = ARG3;
		if ((prot & FIM_PROT_WRITE) && (flags & FIM_MAP_SHARED))
			on_fd_modified(ARG4, FIM_OP_MMAP_WRITE, nr, fast);
		break;
	}
	case NR_compat_old_mmap:
		on_compat_old_mmap((const void *)ARG0, NR_mmap, fast);
		break;
	case NR_link: /* the old name's link count changes too */
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_LINK);
		PATH_OP(FIM_AT_FDCWD, ARG1, FIM_OP_LINK);
		break;
	case NR_linkat:
		PATH_OP(ARG0, ARG1, FIM_OP_LINK);
		PATH_OP(ARG2, ARG3, FIM_OP_LINK);
		break;
	/* New entries of any type: a directory, symlink, FIFO, socket or
	 * device made in a watched directory, or under a watched name. */
	case NR_mkdir:
	case NR_mknod:
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_NEW_ENTRY);
		break;
	case NR_mkdirat:
	case NR_mknodat:
		PATH_OP(ARG0, ARG1, FIM_OP_NEW_ENTRY);
		break;
	case NR_symlink:
		PATH_OP(FIM_AT_FDCWD, ARG1, FIM_OP_NEW_ENTRY);
		break;
	case NR_symlinkat:
		PATH_OP(ARG1, ARG2, FIM_OP_NEW_ENTRY);
		break;
	case NR_mount: /* (source, target, type, flags, data) */
		on_mount_change(nr, (const char *)ARG1);
		break;
	case NR_umount2: /* (target, flags) */
		on_mount_change(nr, (const char *)ARG0);
		break;
	case NR_move_mount: /* (from_dfd, from_path, to_dfd, to_path, flags): a path, or an fd */
		on_mount_change(nr, (ARG4 & FIM_MOVE_MOUNT_T_EMPTY_PATH) ? NULL : (const char *)ARG3);
		break;
	case NR_open:
		on_opened(ret, ARG1, nr, FIM_AT_FDCWD, (const char *)ARG0);
		break;
	case NR_openat:
		on_opened(ret, ARG2, nr, ARG0, (const char *)ARG1);
		break;
	case NR_creat:
		on_opened(ret, FIM_O_CREAT | FIM_O_TRUNC, nr, FIM_AT_FDCWD, (const char *)ARG0);
		break;
	case NR_openat2: {
		struct open_how *how = (struct open_how *)ARG2;
		__u64 flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
		on_opened(ret, flags, nr, ARG0, (const char *)ARG1);
		break;
	}
	case NR_truncate:
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_PATH_TRUNCATE);
		break;
	case NR_rename:
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_RENAME);
		PATH_OP(FIM_AT_FDCWD, ARG1, FIM_OP_RENAME);
		break;
	case NR_renameat:
	case NR_renameat2:
		PATH_OP(ARG0, ARG1, FIM_OP_RENAME);
		PATH_OP(ARG2, ARG3, FIM_OP_RENAME);
		break;
	case NR_unlink:
	case NR_rmdir:
		PATH_OP(FIM_AT_FDCWD, ARG0, FIM_OP_UNLINK);
		break;
	case NR_unlinkat:
		PATH_OP(ARG0, ARG1, FIM_OP_UNLINK);
		break;
	}
	if (npaths == 0)
		return 0;
	/* The paths go through map memory, whose contents the verifier does not
	 * track, and the stack copy is cleared: every syscall case then reaches
	 * the path code in the same state, so it is verified once, not once per
	 * case (5.10 otherwise exceeds the 1M-instruction budget). */
	{
		struct path_scratch *ps;
		__u32 zero = 0;

		ps = bpf_map_lookup_elem(&scratch, &zero);
		if (!ps)
			return 0;
		ps->pdfd[0] = paths[0].dfd;
		ps->ppath[0] = paths[0].path;
		ps->pop[0] = paths[0].op;
		ps->pdfd[1] = paths[1].dfd;
		ps->ppath[1] = paths[1].path;
		ps->pop[1] = paths[1].op;
		ps->pn = npaths;
		ps->pnr = nr;
		__builtin_memset(paths, 0, sizeof(paths));
		on_parked_paths(ps);
	}
	return 0;
}
#undef PATH_OP

/* The fentry and kprobe objects hook the x86_64 entry points: never 32-bit. */
static __always_inline int fim_on_syscall_exit(long nr, struct pt_regs *regs, long ret,
						const bool fast)
{
	return fim_dispatch(nr, regs, ret, fast, false, NULL);
}

/* The syscall-exit tracepoint sees every ABI: an i386 syscall's number and
 * registers are mapped first (fim_compat.bpf.h). */
static __always_inline int fim_on_any_syscall_exit(long nr, struct pt_regs *regs, long ret,
						    const bool fast)
{
	struct task_struct *task;
	bool compat;

	/* Failed (fim_dispatch() takes none), or neither an x86_64 number nor an
	 * i386 one it dispatches on: gone before the task is read. */
	if (ret < 0 || (!fim_nr_dispatched(nr) && fim_compat_nr(nr) < 0))
		return 0;
	/* The fast walk is handed the task read here: a helper call once, not twice. */
	task = fast ? bpf_get_current_task_btf() : NULL;
	compat = fast ? fim_task_in_compat(task) : fim_in_compat_syscall(false);
	if (compat) {
		nr = fim_compat_nr(nr);
		if (nr < 0)
			return 0;
	}
	return fim_dispatch(nr, regs, ret, fast, compat, task);
}


#endif
