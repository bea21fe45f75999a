/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * 32-bit syscalls on x86_64 (int $0x80, sysenter, 32-bit programs): the
 * syscall-exit tracepoint sees them with the i386 syscall number and the
 * i386 argument registers (bx, cx, dx, si, di, bp). The kernel marks the
 * thread while one runs (TS_COMPAT in thread_info.status, what
 * in_ia32_syscall() reads; cleared before the return to user mode), also
 * for int $0x80 from 64-bit code, where the code segment says nothing.
 *
 * Numbers from arch/x86/entry/syscalls/syscall_32.tbl. The 16-bit-uid and
 * 64-bit-offset variants act on the same file as their plain forms.
 */
#ifndef FIM_COMPAT_BPF_H
#define FIM_COMPAT_BPF_H

#define FIM_TS_COMPAT 0x0002

/* Internal number for i386's old mmap(struct mmap_arg_struct *). */
#define NR_compat_old_mmap 0x10090

/* Whether `task`, the current one (BTF-typed), is in a 32-bit syscall. */
static __always_inline bool fim_task_in_compat(struct task_struct *task)
{
	return task->thread_info.status & FIM_TS_COMPAT;
}

/* Whether the current thread is in a 32-bit syscall. */
static __always_inline bool fim_in_compat_syscall(const bool fast)
{
	struct task_struct *task;

	if (fast)
		return fim_task_in_compat(bpf_get_current_task_btf());
	task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, thread_info.status) & FIM_TS_COMPAT;
}

/* The x86_64 number of the i386 syscall `nr`, for the syscalls bpfink
 * dispatches on; -1 for the others. */
static __always_inline long fim_compat_nr(long nr)
{
	switch (nr) {
	case 4: return NR_write;
	case 5: return NR_open;
	case 8: return NR_creat;
	case 9: return NR_link;
	case 10: return NR_unlink;
	case 15: return NR_chmod;
	case 16: /* lchown16 */
	case 198: return NR_lchown;
	case 30: return NR_utime;
	case 54: return NR_ioctl;
	case 38: return NR_rename;
	case 40: return NR_rmdir;
	case 90: return NR_compat_old_mmap;
	case 92: /* truncate */
	case 193: return NR_truncate; /* truncate64 */
	case 93: /* ftruncate */
	case 194: return NR_ftruncate; /* ftruncate64 */
	case 94: return NR_fchmod;
	case 95: /* fchown16 */
	case 207: return NR_fchown;
	case 146: return NR_writev;
	case 181: return NR_pwrite64;
	case 182: /* chown16 */
	case 212: return NR_chown;
	case 187: /* sendfile */
	case 239: return NR_sendfile64;
	case 192: return NR_mmap; /* mmap2: same arguments, offset in pages */
	case 226: return NR_setxattr;
	case 227: return NR_lsetxattr;
	case 228: return NR_fsetxattr;
	case 235: return NR_removexattr;
	case 236: return NR_lremovexattr;
	case 237: return NR_fremovexattr;
	case 271: return NR_utimes;
	case 295: return NR_openat;
	case 298: return NR_fchownat;
	case 299: return NR_futimesat;
	case 301: return NR_unlinkat;
	case 302: return NR_renameat;
	case 303: return NR_linkat;
	case 306: return NR_fchmodat;
	case 313: return NR_splice;
	case 320: /* utimensat */
	case 412: return NR_utimensat; /* utimensat_time64 */
	case 324: return NR_fallocate;
	case 334: return NR_pwritev;
	case 353: return NR_renameat2;
	case 377: return NR_copy_file_range;
	case 379: return NR_pwritev2;
	/* From 424 on, new syscalls have one number on every architecture. */
	case NR_openat2:
	case NR_fchmodat2:
	case NR_setxattrat:
	case NR_removexattrat:
		return nr;
	}
	return -1;
}

/* i386's old mmap() takes its six arguments in a struct in user memory. */
struct fim_compat_mmap_args {
	__u32 addr, len, prot, flags, fd, offset;
};

#endif
