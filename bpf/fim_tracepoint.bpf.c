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
/* The raw_tp twin (kernels before tp_btf's fast path) leaves io_submit and
 * mprotect out: its one program is near older verifiers' budget, and
 * bpf_find_vma is younger than some kernels it runs on. */
#define FIM_EXTRAS_SLOW_PATH 0
#include "fim_common.bpf.h"

SEC("tp_btf/sys_exit")
int BPF_PROG(fim_sys_exit, struct pt_regs *regs, long ret)
{
	return fim_on_any_syscall_exit(regs->orig_ax, regs, ret, true);
}

SEC("?raw_tp/sys_exit")
int fim_sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	return fim_on_any_syscall_exit(BPF_CORE_READ(regs, orig_ax), regs, ctx->args[1], false);
}

FIM_IO_URING_PROGRAM
FIM_PROCESS_EXIT_PROGRAM
