/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exact matching of path-based syscalls: an entry is (directory inode, name),
 * never a basename alone. The directory comes from the dirfd or the cwd for a
 * bare name, and from the dir_paths map for a path with '/' in it: user space
 * registers every watched directory (and every parent of a watched file)
 * under the hash of its path relative to the process root and to each of its
 * ancestors, so "/etc/x", "x" in /etc, "etc/x" from / and "./x" all land on
 * the same directory inode. A path that cannot be placed this way (a ".."
 * component, a symlink on the way, longer than FIM_PATH_BUF) is reported as
 * "unplaced" only when its basename is watched, and coalesced per basename
 * until user space re-arms it: user space then checks the candidates' ns
 * timestamps itself and never attributes the change to that process.
 *
 * Included by fim_common.bpf.h after the shared helpers.
 */
#ifndef FIM_DIR_MATCH_BPF_H
#define FIM_DIR_MATCH_BPF_H

#define FIM_HASH_OFFSET 0xcbf29ce484222325ULL
#define FIM_HASH_PRIME 0x100000001b3ULL

/* Watched names, by (directory inode, name hash). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fim_entry_key);
	__type(value, __u32);
} watched_entries SEC(".maps");

/* Watched directories (and parents of watched files), by (base directory,
 * hash of the path from there). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fim_dirpath_key);
	__type(value, struct fim_key);
} dir_paths SEC(".maps");

/* Hashes of watched basenames: only for paths that cannot be placed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} watched_basenames SEC(".maps");

enum { FIM_AT_NONE = 0, FIM_AT_EXACT = 1, FIM_AT_UNPLACED = 2 };

/* The per-CPU scratch every path of one syscall goes through: a global
 * function looks it up itself (its arguments can only be scalars on 5.10),
 * and finds the one its caller filled (a BPF program does not migrate). */
static __always_inline struct path_scratch *path_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* Index of the last '/' in the scratch's buf before index `end`
 * (exclusive), or -1 (also without the scratch). The scan stops at the first
 * hit, and its result goes through map memory, whose contents the verifier
 * does not track: every exit of the loop then leaves the same state. A
 * global function: inlined in fim_place(), each of the loop's 256 exits
 * carried its own bounds on `end` into the code after it (7,000 of the
 * 14,229 instructions processed for fim_place). */
__noinline long fim_slash_before(long end)
{
	struct path_scratch *s = path_scratch();
	int i;

	if (!s)
		return -1;
	s->slash = -1;
	for (i = 1; i <= FIM_PATH_BUF; i++) {
		long idx = end - i;
		if (idx < 0)
			break;
		if (s->buf[idx & (FIM_PATH_BUF - 1)] == '/') {
			s->slash = idx;
			break;
		}
	}
	return *(volatile long *)&s->slash;
}

/* fim_hash (FNV-1a, 64 bits) of the scratch's buf[start, end); 0 without
 * the scratch. State lives in map memory, which the verifier does not
 * track, so every iteration looks alike to it and the loop is verified
 * once, not once per length. A global function: checked once per program,
 * not again in each state it is called in. */
__noinline __u64 fim_hash_range(long start, long end)
{
	struct path_scratch *s = path_scratch();
	volatile struct path_scratch *vs = s;
	int i;

	if (!s)
		return 0;
	vs->h = FIM_HASH_OFFSET;
	for (i = 0; i < FIM_PATH_BUF; i++) {
		long idx = start + i;
		if (idx >= end || idx < 0)
			break;
		vs->h = (vs->h ^ (__u8)s->buf[idx & (FIM_PATH_BUF - 1)]) * FIM_HASH_PRIME;
	}
	return vs->h;
}

/* Characters fim_dir_step() takes per call. */
#define FIM_DIR_STEP 8

/* fim_dir_hash's step over indexes [i0, i0 + FIM_DIR_STEP) of the scratch's
 * buf, up to `last` (the index of the '/' that ends the directory part): a
 * '/' closes a component, which is folded in, or marks a ".."; any other
 * character goes into the component's hash. A global function: the
 * verifier checks its branches once, and fim_dir_hash's loop around it has
 * no branch but its bound, so the verifier walks it once per call. With the
 * branches in that loop (and a call on every '/' only) it walked each index
 * about nine times (18,604 of the 48,683 instructions processed for the
 * tracepoint program); with a call per character, each path syscall paid a
 * call per character of its directory part (59 ns more per chmod of a
 * 38-character directory here). */
__noinline int fim_dir_step(long i0, long last)
{
	struct path_scratch *s = path_scratch();
	volatile struct path_scratch *vs = s;
	long clen, dots, i;
	int j;
	char c;

	if (!s)
		return 0;
	for (j = 0; j < FIM_DIR_STEP; j++) {
		i = i0 + j;
		if (i > last || i >= FIM_PATH_BUF)
			break;
		c = i == last ? '/' : s->buf[i & (FIM_PATH_BUF - 1)];
		if (c != '/') {
			vs->ch = (vs->ch ^ (__u8)c) * FIM_HASH_PRIME;
			vs->clen = vs->clen + 1;
			if (c == '.')
				vs->dots = vs->dots + 1;
			continue;
		}
		clen = vs->clen;
		dots = vs->dots;
		if (clen == 2 && dots == 2)
			vs->dotdot = 1;
		else if (clen > 0 && !(clen == 1 && dots == 1)) {
			long k = vs->ncomp;
			vs->h = (vs->h ^ vs->ch) * FIM_HASH_PRIME;
			if (k < FIM_PREFIXES) {
				vs->prefix_hash[k & (FIM_PREFIXES - 1)] = vs->h;
				vs->prefix_end[k & (FIM_PREFIXES - 1)] = i;
			}
			vs->ncomp = k + 1;
		}
		vs->clen = 0;
		vs->dots = 0;
		vs->ch = FIM_HASH_OFFSET;
	}
	return 0;
}

/* fim_path_hash of the directory part buf[0, last) of the scratch:
 * components folded in order, "" and "." skipped; dotdot set when a ".." is
 * seen; 0 without the scratch. A global function, checked once: as a static
 * one it was checked again, all 256 iterations, in each state fim_place()
 * called it in. */
__noinline __u64 fim_dir_hash(long last)
{
	struct path_scratch *s = path_scratch();
	volatile struct path_scratch *vs = s;
	int i;

	if (!s)
		return 0;
	vs->h = FIM_HASH_OFFSET;
	vs->ch = FIM_HASH_OFFSET;
	vs->clen = 0;
	vs->dots = 0;
	vs->dotdot = 0;
	vs->ncomp = 0;
	for (i = 0; i < FIM_PATH_BUF; i += FIM_DIR_STEP) {
		if (i > last)
			break;
		fim_dir_step(i, last);
	}
	return vs->h;
}

/* The process's root directory (absolute paths start there; a chroot's root
 * is not the host's, so its /etc/passwd never matches the host's). */
static __always_inline bool root_key(struct fim_key *key)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *root = BPF_CORE_READ(task, fs, root.dentry, d_inode);

	if (!root)
		return false;
	key->ino = BPF_CORE_READ(root, i_ino);
	key->dev = BPF_CORE_READ(root, i_sb, s_dev);
	key->pad = 0;
	return true;
}

/* The directory part of s->buf (placed relative to `base`) is no directory
 * user space registered: a directory made since, or one being made now
 * (mkdir -p, git, rsync, tar, cp -r). When its deepest registered ancestor
 * is watched as a tree, the path is placed on that ancestor, with the rest
 * of the path ("b/c/name") as the name, so the event carries the process
 * that made the entry however fast it followed the new directories. User
 * space confirms the path by listing. Unrolled: no back-edge around a call. */
static __noinline int fim_place_in_tree(struct path_scratch *s, struct fim_key *base)
{
	struct fim_dirpath_key pk = {};
	struct fim_key *dir;
	long n = *(volatile long *)&s->ncomp;
	__u32 *w;
	int j;

	pk.base_ino = base->ino;
	pk.base_dev = base->dev;
#pragma unroll
	for (j = 0; j < FIM_PREFIXES; j++) {
		long k = n - 2 - j;
		if (k < 0)
			break;
		if (k >= FIM_PREFIXES)
			continue;
		/* Hide k's range from clang, or it drops the mask below that
		 * older verifiers need to bound the index. */
		asm volatile("" : "+r"(k));
		k &= FIM_PREFIXES - 1;
		pk.path_hash = s->prefix_hash[k];
		dir = bpf_map_lookup_elem(&dir_paths, &pk);
		if (!dir)
			continue;
		w = bpf_map_lookup_elem(&watched, dir);
		if (!w || !(*w & FIM_WATCH_TREE))
			return FIM_AT_UNPLACED;
		s->dir = *dir;
		s->start = s->prefix_end[k] + 1;
		s->in_tree = 1;
		return FIM_AT_EXACT;
	}
	if (n > FIM_PREFIXES + 1)
		return FIM_AT_UNPLACED;
	w = bpf_map_lookup_elem(&watched, base);
	if (!w || !(*w & FIM_WATCH_TREE))
		return FIM_AT_UNPLACED;
	s->dir = *base;
	s->start = 0;
	s->in_tree = 1;
	return FIM_AT_EXACT;
}

/* Directory levels walked up from a directory no watch names, looking for
 * a tree-watched ancestor (fim_under_tree). */
#define FIM_TREE_DEPTH 8

/* Whether directory `d` (a dentry no watch names) lies within
 * FIM_TREE_DEPTH levels below a tree-watched directory: a directory made
 * since user space last listed, where a process works by dirfd or cwd
 * (mkdir -p, cp -r, tar). The walk stops at the first directory the watch
 * map knows as a directory. Unrolled: no back-edge around a call. */
__noinline int fim_under_tree(__u64 dentry_addr)
{
	struct dentry *d = (struct dentry *)dentry_addr;
	struct fim_key key = {};
	struct dentry *parent;
	struct inode *inode;
	__u32 *w;
	int j;

#pragma unroll
	for (j = 0; j < FIM_TREE_DEPTH; j++) {
		if (!d)
			return 0;
		parent = BPF_CORE_READ(d, d_parent);
		if (!parent || parent == d)
			return 0;
		inode = BPF_CORE_READ(parent, d_inode);
		if (!inode)
			return 0;
		key.ino = BPF_CORE_READ(inode, i_ino);
		key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		w = bpf_map_lookup_elem(&watched, &key);
		/* A new directory may reuse the inode number of a watched file
		 * just deleted (its entry not yet gone): only a directory watch
		 * ends the walk. */
		if (w && (*w & FIM_WATCH_DIR))
			return (*w & FIM_WATCH_TREE) ? 1 : 0;
		d = parent;
	}
	return 0;
}

/* The dentry of directory fd `dfd` (AT_FDCWD: the working directory). */
static __always_inline struct dentry *dir_dentry(int dfd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *f;

	if (dfd == FIM_AT_FDCWD)
		return BPF_CORE_READ(task, fs, pwd.dentry);
	f = fd_to_file(task, dfd);
	if (!f)
		return NULL;
	return BPF_CORE_READ(f, f_path.dentry);
}

/* Places user path `upath` (relative to `dfd`): reads it into the
 * scratch's buf, puts the name's bounds and hash in its start, end and
 * name_hash and, when the directory is known, its inode in its dir.
 *
 * A global function, taking scalars (the user pointer as a number): the
 * verifier checks it once per program. As a static function it was checked
 * again in every state a syscall case reached it in, and the loops of
 * fim_dir_hash and fim_hash_range under it were 84% of the instructions the
 * tracepoint object's verification processed (267,855 of 317,608 here). */
__noinline int fim_place(long dirfd, __u64 upath_addr)
{
	/* Both as 64-bit scalars: what the caller passes is all of the register. */
	const char *upath = (const char *)upath_addr;
	int dfd = (int)dirfd;
	struct path_scratch *s = path_scratch();
	struct fim_dirpath_key pk = {};
	struct fim_key base;
	struct fim_key *dir;
	long n, len, last, start;
	__u32 *w;

	if (!s)
		return FIM_AT_NONE;
	s->name_hash = 0;
	s->in_tree = 0;
	if (!upath)
		return FIM_AT_NONE;
	n = bpf_probe_read_user_str(s->buf, sizeof(s->buf), upath);
	if (n <= 1)
		return FIM_AT_NONE;
	if (n >= FIM_PATH_BUF)
		return FIM_AT_UNPLACED; /* too long to read whole: no name either */
	len = n - 1;
	/* "dir/" names dir (rmdir, mkdir, rename of directories). */
	if (len > 1 && s->buf[(len - 1) & (FIM_PATH_BUF - 1)] == '/')
		len--;
	if (len > 1 && s->buf[(len - 1) & (FIM_PATH_BUF - 1)] == '/')
		return FIM_AT_UNPLACED;
	s->buf[len & (FIM_PATH_BUF - 1)] = 0;
	last = fim_slash_before(len);
	start = last + 1;
	if (start >= len)
		return FIM_AT_NONE; /* "/" itself */
	s->start = start;
	s->end = len;
	s->name_hash = fim_hash_range(start, len);
	if (last < 0) {
		if (!dir_key(dfd, &s->dir))
			return FIM_AT_UNPLACED;
		/* A new directory may reuse the inode of a watched file just
		 * deleted: only a directory watch ends the question. */
		w = bpf_map_lookup_elem(&watched, &s->dir);
		if (!(w && (*w & FIM_WATCH_DIR)) && fim_under_tree((__u64)dir_dentry(dfd)))
			s->in_tree = 1;
		return FIM_AT_EXACT;
	}
	if (s->buf[0] == '/') {
		if (!root_key(&base))
			return FIM_AT_UNPLACED;
	} else if (!dir_key(dfd, &base)) {
		return FIM_AT_UNPLACED;
	}
	pk.path_hash = fim_dir_hash(last);
	if (s->dotdot)
		return FIM_AT_UNPLACED;
	pk.base_ino = base.ino;
	pk.base_dev = base.dev;
	dir = bpf_map_lookup_elem(&dir_paths, &pk);
	if (!dir)
		return fim_place_in_tree(s, &base);
	s->dir = *dir;
	return FIM_AT_EXACT;
}

/* An event of the current process with the name s->buf[s->start, ...) of
 * `len` bytes when `copy`, else with no name; NULL (counted as a drop) only
 * if the per-CPU scratch is missing. */
static __always_inline struct fim_event *name_event(struct path_scratch *s, long len, bool copy,
						    __s32 nr)
{
	const char *src = s->buf + (s->start & (FIM_PATH_BUF - 1));
	struct fim_event *e = fim_event_begin(nr);
	__u32 at, n;

	if (!e) {
		fim_drop();
		return NULL;
	}
	if (!copy || len <= 0)
		return e;
	n = len > FIM_NAME_LEN - 1 ? FIM_NAME_LEN - 1 : len;
	/* Bounded where the helper call reads it: older verifiers (5.10, 6.1)
	 * lose the bounds clang proves and drops the mask for. */
	barrier_var(n);
	n &= FIM_NAME_LEN - 1;
	at = e->exe_len & (FIM_EXE_LEN - 1);
	if (!bpf_probe_read_kernel(e->tail + at, n, src))
		e->name_len = n;
	return e;
}

/* An entry event of operation `op` in directory (dev, ino) found the ring
 * buffer full: the current process is kept in the directory's pending entry,
 * held, as a dropped inode event's writer is, so that the rescan the drop
 * causes names it for the entries the directory's listing finds changed
 * (FimKernel.heldWriters). Whether the entry was kept (a full pending map
 * keeps none). A global function: verified once. */
__noinline int fim_hold_entry_writer(__u32 dev, __u64 ino, __u32 op)
{
	struct fim_key key = {};
	__u32 stat = 0;

	key.ino = ino;
	key.dev = dev;
	fim_pending_note(&key, op, &stat, false, false);
	return fim_pending_hold(&key);
}

/* An event about the entry s->buf[s->start, s->end) of directory s->dir;
 * `ino`: the inode the operation put at the entry when it is known here
 * (open(O_CREAT)), else 0. */
static __always_inline void emit_entry_event(struct path_scratch *s, __u32 op, __s32 nr,
					     __u64 ino)
{
	struct fim_event *e = name_event(s, s->end - s->start, true, nr);
	int sent;

	if (!e)
		return;
	e->op = op;
	e->ino = ino;
	e->dev = s->dir.dev;
	e->dir_ino = s->dir.ino;
	sent = fim_event_send(e);
	if (sent != FIM_SENT)
		fim_lose(fim_hold_entry_writer(s->dir.dev, s->dir.ino, op), sent == FIM_UNSENT);
}

/* A path that could not be placed, with a watched basename (or too long to
 * tell): one event per basename until user space re-arms it. */
static __always_inline void emit_unplaced(struct path_scratch *s, __u32 op, __s32 nr)
{
	struct fim_key key = { .ino = s->name_hash, .dev = FIM_DEV_UNPLACED };
	struct fim_event *e;
	__u32 stat = FIM_STAT_COALESCED;
	int sent;

	if (!fim_pending_note(&key, op, &stat, false, false)) {
		stat_fold_or_drop(stat);
		return;
	}
	e = name_event(s, s->end - s->start, s->name_hash != 0, nr);
	if (!e) {
		bpf_map_delete_elem(&pending, &key);
		return;
	}
	e->op = op;
	e->ino = s->name_hash;
	e->dev = 0;
	e->dir_ino = 0;
	sent = fim_event_send(e);
	if (sent == FIM_SENT)
		return;
	bpf_map_delete_elem(&pending, &key);
	fim_lose(0, sent == FIM_UNSENT);
}

/* A path-based syscall succeeded on `upath` (relative to `dfd`): report it
 * when its (directory, name) is watched, or its directory is watched whole. */
static __always_inline void on_path_at_here(int dfd, const char *upath, __u32 op, __s32 nr)
{
	struct fim_entry_key ek = {};
	struct path_scratch *s;
	__u32 zero = 0;
	__u32 *w;
	int where;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return;
	where = fim_place((long)dfd, (__u64)upath);
	if (where == FIM_AT_EXACT) {
		w = bpf_map_lookup_elem(&watched, &s->dir);
		ek.dir_ino = s->dir.ino;
		ek.dev = s->dir.dev;
		ek.name_hash = s->name_hash;
		if ((w && (*w & FIM_WATCH_DIR)) || s->in_tree ||
		    bpf_map_lookup_elem(&watched_entries, &ek))
			emit_entry_event(s, op, nr, 0);
		return;
	}
	if (where == FIM_AT_UNPLACED &&
	    (!s->name_hash || bpf_map_lookup_elem(&watched_basenames, &s->name_hash)))
		emit_unplaced(s, op, nr);
}

/* on_path_at_here() as a global function (scalars: the user pointer as a
 * number), checked once per program instead of at each of its call sites. */
__noinline int fim_path_at(long dfd, __u64 upath, __u64 op, __s64 nr)
{
	on_path_at_here((int)dfd, (const char *)upath, (__u32)op, (__s32)nr);
	return 0;
}

/* A path-based syscall succeeded on `upath` (relative to `dfd`). */
static __always_inline void on_path_at(int dfd, const char *upath, __u32 op, __s32 nr)
{
	fim_path_at(dfd, (__u64)upath, op, nr);
}

/* open(O_CREAT) made or opened `dentry` (inode number `ino`) in directory
 * `dkey`: report it when the directory is watched whole or the name is
 * watched in it. The event carries `ino`, so user space can tell the file
 * made from what a later read finds at the name (made, then replaced or
 * moved before it was read). */
static __always_inline void on_created_dentry(struct fim_key *dkey, struct dentry *dentry,
					      __u64 ino, __s32 nr)
{
	struct fim_entry_key ek = {};
	struct path_scratch *s;
	const unsigned char *dname;
	__u32 zero = 0;
	__u32 *w;
	long n;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return;
	dname = BPF_CORE_READ(dentry, d_name.name);
	n = bpf_probe_read_kernel_str(s->buf, sizeof(s->buf), dname);
	if (n <= 1)
		return;
	s->start = 0;
	s->end = n - 1;
	s->dir = *dkey;
	w = bpf_map_lookup_elem(&watched, dkey);
	if (!(w && (*w & FIM_WATCH_DIR))) {
		ek.dir_ino = dkey->ino;
		ek.dev = dkey->dev;
		ek.name_hash = fim_hash_range(0, n - 1);
		/* A directory made since user space listed, in a tree watch:
		 * report it under that directory's inode (user space keeps it
		 * until its listing finds the directory). */
		if (!bpf_map_lookup_elem(&watched_entries, &ek) &&
		    !fim_under_tree((__u64)BPF_CORE_READ(dentry, d_parent)))
			return;
	}
	emit_entry_event(s, FIM_OP_CREATE, nr, ino);
}

#endif
