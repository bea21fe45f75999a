// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor: empty programs on the hooks the strategies use. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("?tp_btf/sys_exit")
int BPF_PROG(floor_tp_btf, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("?raw_tp/sys_exit")
int floor_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("?fexit/__x64_sys_write")
int BPF_PROG(floor_fexit, struct pt_regs *regs, long ret)
{
	return 0;
}

/* The fentry object's write hook: the VFS function write(2) ends in. */
SEC("?fexit/vfs_write")
int BPF_PROG(floor_fexit_vfs, struct file *file, const char *buf, size_t count, loff_t *pos,
	     ssize_t ret)
{
	return 0;
}

SEC("?kretprobe/__x64_sys_write")
int BPF_KRETPROBE(floor_kretprobe, long ret)
{
	return 0;
}

/* The kprobe object's write hook. */
SEC("?kretprobe/vfs_write")
int BPF_KRETPROBE(floor_kretprobe_vfs, long ret)
{
	return 0;
}

/* With floor_kretprobe_vfs, the pair the kprobe object needs: the file is an
 * argument (entry), the result comes at return. */
SEC("?kprobe/vfs_write")
int BPF_KPROBE(floor_kprobe_vfs)
{
	return 0;
}
