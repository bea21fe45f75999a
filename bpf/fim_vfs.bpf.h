/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hooks where the kernel has already resolved the file (fentry and kprobe
 * objects only: the tracepoint object sees syscall exits alone).
 *
 * notify_change() is where every attribute change lands: chmod, chown,
 * utimes and truncate, whatever path named the file (a symlink, another
 * hard link, /proc/self/fd/N, an AT_EMPTY_PATH fd), whatever ABI asked
 * (32-bit, io_uring) and whatever user memory said afterwards. Its
 * arguments moved in 5.12 (an idmap first):
 *   5.10:  notify_change(struct dentry *, struct iattr *, struct inode **)
 *   5.12+: notify_change(idmap or user_namespace, struct dentry *, struct iattr *, struct inode **)
 * CO-RE tells them apart by what came with the change: `struct mnt_idmap`
 * (6.3+) or `renamedata.old_mnt_userns` (5.12 to 6.2). Not by `struct
 * renamedata` alone: Debian's 5.10 has it backported without the namespace.
 * The branch for the other layout is never verified.
 */
#ifndef FIM_VFS_BPF_H
#define FIM_VFS_BPF_H

#define FIM_ATTR_SIZE (1 << 3) /* include/linux/fs.h */

/* renamedata as 5.12 to 6.2 have it (a CO-RE flavor: only the field matters). */
struct renamedata___userns {
	struct user_namespace *old_mnt_userns;
} __attribute__((preserve_access_index));

/* Whether notify_change() takes an idmap (or user namespace) first. */
#define FIM_NOTIFY_CHANGE_IDMAP                                                \
	(bpf_core_type_exists(struct mnt_idmap) ||                            \
	 bpf_core_field_exists(((struct renamedata___userns *)0)->old_mnt_userns))

/* notify_change(dentry, attr) returned `ret`: report a watched inode. */
static __always_inline int fim_on_notify_change(struct dentry *dentry, struct iattr *attr, long ret)
{
	struct inode *inode;
	struct fim_key key;
	unsigned int valid;

	if (ret || !dentry)
		return 0;
	inode = BPF_CORE_READ(dentry, d_inode);
	if (!inode)
		return 0;
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.pad = 0;
	if (!bpf_map_lookup_elem(&watched, &key))
		return 0;
	valid = BPF_CORE_READ(attr, ia_valid);
	emit_inode_event(&key, (valid & FIM_ATTR_SIZE) ? FIM_OP_TRUNCATE : FIM_OP_ATTRIB, -1,
			 false, false);
	return 0;
}

#endif
