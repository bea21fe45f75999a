// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strategy "tracepoint": one program on the raw syscall-exit tracepoint that
 * dispatches on the syscall number. Needs no kprobes and no BPF trampolines,
 * so it runs where both are compiled out or refused (as on Firecracker 6.18).
 * Cost: enabling it routes every syscall through the tracing slow path.
 *
 * tp_btf is preferred: typed access to pt_regs and, on 6.2+ (bpf_rdonly_cast),
 * a fast fd → inode walk of plain loads. The raw_tp twin (probe reads only)
 * is loaded instead where the kernel refuses the tp_btf program (older than
 * 6.2, or tracing programs refused); user space picks one with
 * bpf_program__set_autoload().
 */
#include "fim_common.bpf.h"

SEC("tp_btf/sys_exit")
int BPF_PROG(fim_sys_exit, struct pt_regs *regs, long ret)
{
	return fim_on_syscall_exit(regs->orig_ax, regs, ret, true);
}

SEC("?raw_tp/sys_exit")
int fim_sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	return fim_on_syscall_exit(BPF_CORE_READ(regs, orig_ax), regs, ctx->args[1], false);
}

/*
 * io_uring writes never pass through a write syscall: catch them when the
 * request completes. The tracepoint's `req` is untyped; bpf_rdonly_cast (6.2+)
 * types it. Optional: where it does not load, io_uring coverage is reported
 * as lost and the periodic reconcile covers it.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(fim_io_uring_complete, void *ring, void *req_ptr)
{
	struct io_kiocb *req = bpf_rdonly_cast(req_ptr, bpf_core_type_id_kernel(struct io_kiocb));
	struct fim_key key;
	struct inode *inode;
	struct file *f;

	if (req->cqe.res <= 0)
		return 0;
	switch (req->opcode) {
	case IORING_OP_WRITEV:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_WRITE:
	case IORING_OP_FALLOCATE:
	case IORING_OP_SPLICE:
		break;
	default:
		return 0;
	}
	f = req->file;
	if (!f)
		return 0;
	inode = f->f_inode;
	key.ino = inode->i_ino;
	key.dev = inode->i_sb->s_dev;
	key.pad = 0;
	if (bpf_map_lookup_elem(&watched, &key))
		emit_inode_event(&key, FIM_OP_WRITE, -1);
	return 0;
}
