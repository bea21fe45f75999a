// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strategy "fentry": an fexit program (BPF trampoline, 5.5+ with BTF) on each
 * hooked syscall's x86_64 entry point. Cheapest: no tracing slow path for
 * other syscalls, and the arguments and return value arrive together.
 */
#include "fim_common.bpf.h"
#include "fim_syscall_list.h"

#define FIM_FEXIT(name)                                                        \
	SEC("fexit/__x64_sys_" #name)                                          \
	int BPF_PROG(exit_##name, struct pt_regs *regs, long ret)              \
	{                                                                      \
		return fim_on_syscall_exit(NR_##name, regs, ret, false);       \
	}

FIM_SYSCALLS(FIM_FEXIT)
FIM_IO_URING_PROGRAM

/* Before 5.19 the io_uring_complete tracepoint has no request: catch io_uring
 * writes when io_write() returns. Its other arguments differ between
 * kernels; only the first (the request) is used. */
SEC("fexit/io_write")
int BPF_PROG(fim_io_write, struct io_kiocb *req)
{
	return fim_on_io_write(req);
}
