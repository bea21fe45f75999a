// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strategy "fentry": fexit programs (BPF trampolines, 5.5+ with BTF) on the
 * VFS functions every content write ends in, and on each other hooked
 * syscall's x86_64 entry point. Cheapest: no tracing slow path for other
 * syscalls, and the arguments and return value arrive together.
 */
#include "fim_common.bpf.h"
#include "fim_syscall_list.h"
#include "fim_vfs.bpf.h"

/* A syscall's fexit program; `opt` is "" or "?" (a `?` section is not loaded by default). */
#define FIM_FEXIT_IN(opt, name)                                                \
	SEC(opt "fexit/__x64_sys_" #name)                                      \
	int BPF_PROG(exit_##name, struct pt_regs *regs, long ret)              \
	{                                                                      \
		return fim_on_syscall_exit(NR_##name, regs, ret, false);       \
	}

#define FIM_FEXIT(name) FIM_FEXIT_IN("", name)
/* Fallbacks for the VFS hooks below (`?` sections, off by default): loaded
 * only where the kernel refuses a VFS hook (fim_kernel.ts, `fallbacks` in
 * kernels/strategies.ts). They walk fd → inode with probe reads. */
#define FIM_FEXIT_FALLBACK(name) FIM_FEXIT_IN("?", name)

FIM_FD_WRITE_SYSCALLS(FIM_FEXIT_FALLBACK)
FIM_OTHER_SYSCALLS(FIM_FEXIT)
FIM_IO_URING_PROGRAM
FIM_PROCESS_EXIT_PROGRAM

/* Before 5.19 the io_uring_complete tracepoint has no request: catch io_uring
 * writes when io_write() returns. Its other arguments differ between
 * kernels; only the first (the request) is used. */
SEC("fexit/io_write")
int BPF_PROG(fim_io_write, struct io_kiocb *req)
{
	return fim_on_io_write(req);
}

/* The hot path, every content write on the machine, watched file or not.
 * The VFS functions that the write syscalls (x86_64 and 32-bit alike) end in
 * hand over the struct file, typed by BTF: the inode is two plain loads, with
 * no fd table walk and no helper call, on every kernel with trampolines. The
 * write has happened when they return. While the mark gate is on, a file
 * with no fsnotify mark costs one more load and no hash lookup. A write
 * that folds into its watched file's pending entry reads its process with
 * plain loads too, from 5.11 on (fim_current_process_typed), and a repeat
 * of the last fold on this CPU takes no hash lookup (fim_fold_cached). */
static __always_inline int fim_on_file_written(struct file *file, long ret, __s32 nr)
{
	struct inode *inode;
	struct fim_key key;

	if (ret <= 0 || !file)
		return 0;
	inode = file->f_inode;
	if (FIM_UNMARKED_TYPED(inode))
		return 0;
	key.ino = inode->i_ino;
	key.dev = inode->i_sb->s_dev;
	key.pad = 0;
	if (!fim_fold_cached(&key, FIM_OP_WRITE) && bpf_map_lookup_elem(&watched, &key))
		emit_inode_event(&key, FIM_OP_WRITE, nr, true, true);
	return 0;
}

/* write(2), pwrite64(2) */
SEC("fexit/vfs_write")
int BPF_PROG(fim_vfs_write, struct file *file, const char *buf, size_t count, loff_t *pos,
	     ssize_t ret)
{
	return fim_on_file_written(file, ret, NR_write);
}

/* writev(2), pwritev(2), pwritev2(2) */
SEC("fexit/vfs_writev")
int BPF_PROG(fim_vfs_writev, struct file *file, const struct iovec *vec, unsigned long vlen,
	     loff_t *pos, int flags, ssize_t ret)
{
	return fim_on_file_written(file, ret, NR_writev);
}

/* splice(2) into a file, and io_uring's IORING_OP_SPLICE */
SEC("fexit/do_splice")
int BPF_PROG(fim_do_splice, struct file *in, loff_t *off_in, struct file *out, loff_t *off_out,
	     size_t len, unsigned int flags, long ret)
{
	return fim_on_file_written(out, ret, NR_splice);
}

/* sendfile(2) into a file (and copy_file_range's splice fallback) */
SEC("fexit/do_splice_direct")
int BPF_PROG(fim_do_splice_direct, struct file *in, loff_t *ppos, struct file *out,
	     loff_t *opos, size_t len, unsigned int flags, long ret)
{
	return fim_on_file_written(out, ret, NR_sendfile64);
}

/* Fallback for exit_copy_file_range, loaded only where the kernel refuses it
 * (5.10: that entry point's BTF cannot be traced). The VFS function has the
 * output file as an argument and the byte count as its result. */
SEC("?fexit/vfs_copy_file_range")
int BPF_PROG(fim_vfs_copy_file_range, struct file *file_in, loff_t pos_in, struct file *file_out,
	     loff_t pos_out, size_t len, unsigned int flags, ssize_t ret)
{
	return fim_on_file_written(file_out, ret, NR_copy_file_range);
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
