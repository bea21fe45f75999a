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
