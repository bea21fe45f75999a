// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strategy "kprobe": a kprobe/kretprobe pair on the VFS functions every
 * content write ends in, and on each other hooked syscall's x86_64 entry
 * point. Only the hooked calls pay, unlike the tracepoint strategy.
 * The kprobe remembers the user registers per thread; the kretprobe sees
 * the return value and runs the shared logic after the syscall is done.
 */
#include "fim_common.bpf.h"
#include "fim_syscall_list.h"
#include "fim_vfs.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* struct pt_regs * of the syscall */
} inflight SEC(".maps");

/* A syscall's pair; `opt` is "" or "?" (a `?` section is not loaded by default). */
#define FIM_KPROBE_PAIR_IN(opt, name)                                          \
	SEC(opt "kprobe/__x64_sys_" #name)                                     \
	int BPF_KPROBE(enter_##name, struct pt_regs *regs)                     \
	{                                                                      \
		__u64 id = bpf_get_current_pid_tgid();                         \
		__u64 r = (__u64)regs;                                         \
		bpf_map_update_elem(&inflight, &id, &r, BPF_ANY);             \
		return 0;                                                      \
	}                                                                      \
	SEC(opt "kretprobe/__x64_sys_" #name)                                  \
	int BPF_KRETPROBE(exit_##name, long ret)                               \
	{                                                                      \
		__u64 id = bpf_get_current_pid_tgid();                         \
		__u64 *r = bpf_map_lookup_elem(&inflight, &id);                \
		struct pt_regs *regs;                                          \
		if (!r)                                                        \
			return 0;                                              \
		regs = (struct pt_regs *)*r;                                   \
		bpf_map_delete_elem(&inflight, &id);                           \
		return fim_on_syscall_exit(NR_##name, regs, ret, false);       \
	}

#define FIM_KPROBE_PAIR(name) FIM_KPROBE_PAIR_IN("", name)
/* Fallbacks for the VFS write hooks below (`?` sections, off by default):
 * loaded only where the kernel lacks a VFS function (fim_kernel.ts,
 * `fallbacks` in kernels/strategies.ts). */
#define FIM_KPROBE_PAIR_FALLBACK(name) FIM_KPROBE_PAIR_IN("?", name)

FIM_FD_WRITE_SYSCALLS(FIM_KPROBE_PAIR_FALLBACK)
FIM_OTHER_SYSCALLS(FIM_KPROBE_PAIR)
FIM_IO_URING_PROGRAM
FIM_PROCESS_EXIT_PROGRAM

/* The hot path, every content write on the machine: the VFS functions that
 * the write syscalls end in take the struct file as an argument, so the
 * watched check runs at entry and only a watched file's key is remembered
 * for the return probe, which reports it if the write wrote. While the mark
 * gate is on, an unwatched write costs two probe reads at entry (the file's
 * inode and its marks) and one load at return: the return probe looks in
 * the map only while some watched write is in flight. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid */
	__type(value, struct fim_key);
} write_inflight SEC(".maps");

/* Entries put in write_inflight and not yet taken out by their return probe.
 * Never below the real number: an entry the LRU evicted stays counted, and
 * only costs return probes a lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} write_inflight_count SEC(".maps");

static __always_inline int fim_enter_file_write(struct file *file)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct fim_key key;
	__u64 *n;

	if (!file || !file_key_marked(file, &key))
		return 0;
	/* A repeat of the last fold on this CPU (fim_fold_cached): nothing to carry to the return. */
	if (fim_fold_cached(&key, FIM_OP_WRITE) || !bpf_map_lookup_elem(&watched, &key))
		return 0;
	/* Counted before it is put in: a return probe that finds it sees the count. */
	n = bpf_map_lookup_elem(&write_inflight_count, &zero);
	if (n && !bpf_map_lookup_elem(&write_inflight, &id))
		__sync_fetch_and_add(n, 1);
	bpf_map_update_elem(&write_inflight, &id, &key, BPF_ANY);
	return 0;
}

static __always_inline int fim_exit_file_write(long ret, __s32 nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct fim_key *k;
	struct fim_key key;
	__u64 *n = bpf_map_lookup_elem(&write_inflight_count, &zero);

	if (n && !*n)
		return 0;
	k = bpf_map_lookup_elem(&write_inflight, &id);
	if (!k)
		return 0;
	key = *k;
	if (!bpf_map_delete_elem(&write_inflight, &id) && n)
		__sync_fetch_and_add(n, -1);
	if (ret > 0)
		emit_inode_event(&key, FIM_OP_WRITE, nr, false, true);
	return 0;
}

#define FIM_KPROBE_VFS_WRITE(func, file_arg, nr)                               \
	SEC("kprobe/" #func)                                                   \
	int BPF_KPROBE(enter_##func)                                           \
	{                                                                      \
		return fim_enter_file_write((struct file *)file_arg(ctx));     \
	}                                                                      \
	SEC("kretprobe/" #func)                                                \
	int BPF_KRETPROBE(exit_##func, long ret)                               \
	{                                                                      \
		return fim_exit_file_write(ret, nr);                           \
	}

/* write(2), pwrite64(2) */
FIM_KPROBE_VFS_WRITE(vfs_write, PT_REGS_PARM1, NR_write)
/* writev(2), pwritev(2), pwritev2(2) */
FIM_KPROBE_VFS_WRITE(vfs_writev, PT_REGS_PARM1, NR_writev)
/* splice(2) into a file, and io_uring's IORING_OP_SPLICE: do_splice(in, off_in, out, ...) */
FIM_KPROBE_VFS_WRITE(do_splice, PT_REGS_PARM3, NR_splice)
/* sendfile(2) into a file: do_splice_direct(in, ppos, out, ...) */
FIM_KPROBE_VFS_WRITE(do_splice_direct, PT_REGS_PARM3, NR_sendfile64)

/* Before 5.19 the io_uring_complete tracepoint has no request: catch io_uring
 * writes when io_write(req, ...) returns, with the request remembered per
 * thread at entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* struct io_kiocb * */
} io_inflight SEC(".maps");

SEC("kprobe/io_write")
int BPF_KPROBE(enter_io_write, struct io_kiocb *req)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 r = (__u64)req;
	bpf_map_update_elem(&io_inflight, &id, &r, BPF_ANY);
	return 0;
}

SEC("kretprobe/io_write")
int BPF_KRETPROBE(exit_io_write)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *r = bpf_map_lookup_elem(&io_inflight, &id);
	struct io_kiocb *req;

	if (!r)
		return 0;
	req = (struct io_kiocb *)*r;
	bpf_map_delete_elem(&io_inflight, &id);
	return fim_on_io_write(req);
}

/* Every attribute change, by any path, alias or ABI (fim_vfs.bpf.h): the
 * dentry and attributes are remembered per thread at entry, the result read
 * at return. */
struct fim_setattr_call {
	__u64 dentry;
	__u64 attr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct fim_setattr_call);
} setattr_inflight SEC(".maps");

SEC("kprobe/notify_change")
int BPF_KPROBE(enter_notify_change, void *a0, void *a1, void *a2)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct fim_setattr_call c;

	if (FIM_NOTIFY_CHANGE_IDMAP) {
		c.dentry = (__u64)a1;
		c.attr = (__u64)a2;
	} else {
		c.dentry = (__u64)a0;
		c.attr = (__u64)a1;
	}
	bpf_map_update_elem(&setattr_inflight, &id, &c, BPF_ANY);
	return 0;
}

SEC("kretprobe/notify_change")
int BPF_KRETPROBE(exit_notify_change, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct fim_setattr_call *c = bpf_map_lookup_elem(&setattr_inflight, &id);
	struct dentry *dentry;
	struct iattr *attr;

	if (!c)
		return 0;
	dentry = (struct dentry *)c->dentry;
	attr = (struct iattr *)c->attr;
	bpf_map_delete_elem(&setattr_inflight, &id);
	return fim_on_notify_change(dentry, attr, (int)ret);
}
