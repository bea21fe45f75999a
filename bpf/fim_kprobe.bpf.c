// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strategy "kprobe": a kprobe/kretprobe pair on each hooked syscall's x86_64
 * entry point. Only the hooked syscalls pay, unlike the tracepoint strategy.
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

#define FIM_KPROBE_PAIR(name)                                                  \
	SEC("kprobe/__x64_sys_" #name)                                         \
	int BPF_KPROBE(enter_##name, struct pt_regs *regs)                     \
	{                                                                      \
		__u64 id = bpf_get_current_pid_tgid();                         \
		__u64 r = (__u64)regs;                                         \
		bpf_map_update_elem(&inflight, &id, &r, BPF_ANY);             \
		return 0;                                                      \
	}                                                                      \
	SEC("kretprobe/__x64_sys_" #name)                                      \
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

FIM_SYSCALLS(FIM_KPROBE_PAIR)
FIM_IO_URING_PROGRAM

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
