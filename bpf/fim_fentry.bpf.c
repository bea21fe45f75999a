// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strategy "fentry": an fexit program (BPF trampoline, 5.5+ with BTF) on each
 * hooked syscall's x86_64 entry point. Cheapest: no tracing slow path for
 * other syscalls, and the arguments and return value arrive together.
 */
#include "fim_common.bpf.h"
#include "fim_syscall_list.h"
#include "fim_vfs.bpf.h"

#define FIM_FEXIT(name)                                                        \
	SEC("fexit/__x64_sys_" #name)                                          \
	int BPF_PROG(exit_##name, struct pt_regs *regs, long ret)              \
	{                                                                      \
		return fim_on_syscall_exit(NR_##name, regs, ret, false);       \
	}

/* The hot syscalls (every write on the machine) walk fd → inode with plain
 * loads on 6.2+ (bpf_rdonly_cast; regs is typed in an fexit program). Each has
 * a probe-read twin in a `?` section: where the kernel refuses the fast ones
 * (older than 6.2), user space loads the object again with the twins. */
#define FIM_FEXIT_FAST(name)                                                   \
	SEC("fexit/__x64_sys_" #name)                                          \
	int BPF_PROG(exit_##name, struct pt_regs *regs, long ret)              \
	{                                                                      \
		return fim_on_syscall_exit(NR_##name, regs, ret, true);        \
	}                                                                      \
	SEC("?fexit/__x64_sys_" #name)                                         \
	int BPF_PROG(exit_##name##_twin, struct pt_regs *regs, long ret)       \
	{                                                                      \
		return fim_on_syscall_exit(NR_##name, regs, ret, false);       \
	}

FIM_FD_WRITE_SYSCALLS(FIM_FEXIT_FAST)
FIM_OTHER_SYSCALLS(FIM_FEXIT)
FIM_IO_URING_PROGRAM

/* Before 5.19 the io_uring_complete tracepoint has no request: catch io_uring
 * writes when io_write() returns. Its other arguments differ between
 * kernels; only the first (the request) is used. */
SEC("fexit/io_write")
int BPF_PROG(fim_io_write, struct io_kiocb *req)
{
	return fim_on_io_write(req);
}

/* Fallback for exit_copy_file_range, loaded only where the kernel refuses it
 * (5.10: that entry point's BTF cannot be traced). The VFS function has the
 * output file as an argument and the byte count as its result. */
SEC("?fexit/vfs_copy_file_range")
int BPF_PROG(fim_vfs_copy_file_range, struct file *file_in, loff_t pos_in, struct file *file_out,
	     loff_t pos_out, size_t len, unsigned int flags, ssize_t ret)
{
	struct fim_key key;

	if (ret <= 0 || !file_out)
		return 0;
	file_key(file_out, &key);
	if (bpf_map_lookup_elem(&watched, &key))
		emit_inode_event(&key, FIM_OP_WRITE, NR_copy_file_range);
	return 0;
}

/* Every attribute change, by any path, alias or ABI (fim_vfs.bpf.h). The
 * arguments are read from the context by position: the layout that this
 * kernel does not have is in a branch the verifier never walks. */
SEC("fexit/notify_change")
int fim_notify_change(__u64 *ctx)
{
	if (FIM_NOTIFY_CHANGE_IDMAP)
		return fim_on_notify_change((struct dentry *)ctx[1], (struct iattr *)ctx[2],
					    (int)ctx[4]);
	return fim_on_notify_change((struct dentry *)ctx[0], (struct iattr *)ctx[1], (int)ctx[3]);
}
