/*
 * Marks the inode of an open fd for a fanotify group, as one mark of
 * src/fanotify/fanotify_group.ts's #markPath does after its open: name_to_handle_at; fstatfs for
 * the file system's id, unless the fd before it was on the same mount and device; fanotify_mark
 * through the fd (through /proc/self/fd/N for an O_PATH fd). Shared by fanotify_marks.c (a start's
 * marks on the main thread) and file_reader.c (the hashing workers mark each file they read,
 * through the fd they read it by, before reading it).
 */
#ifndef BPFINK_MARK_FD_H
#define BPFINK_MARK_FD_H

/* The includer defines _GNU_SOURCE first (name_to_handle_at, statx). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

/* What became of a mark: not tried (or nothing there), marked, or a call failed (which, and its
 * errno, in errs). */
enum { MARK_NONE = 0, MARK_DONE = 1, MARK_FAILED = 2 };
enum { CALL_HANDLE = 1, CALL_STATFS = 2, CALL_MARK = 3 };

/* fanotify_abi.ts's MAX_HANDLE_SZ, and the bytes of a handle key ("type:hex"): the type as a
 * decimal int and its colon fit in TYPE_CHARS. */
#define MAX_HANDLE_SZ 128
#define TYPE_CHARS 16
#define KEY_SLOT (TYPE_CHARS + 2 * MAX_HANDLE_SZ)

/* The file system id of the last fstatfs, and the mount and device it was asked for. */
struct fsid_cache {
    int known;
    uint64_t mnt_id;
    uint32_t dev;
    uint8_t fsid[8];
};

/* Where marks are written, per slot: a failure's call << 16 | errno; a mark's device (kernel
 * encoding), mount id (-1 when not known), inode number, handle key (key_lens[i] bytes at
 * keys + i * KEY_SLOT) and file system id (8 bytes at fsids + i * 8). */
struct mark_out {
    int32_t *errs;
    double *devs;
    double *mnt_ids;
    int64_t *inos;
    uint8_t *keys;
    uint16_t *key_lens;
    uint8_t *fsids;
};

/* Handle key "type:hex" of handle h into key; its length. */
static inline uint16_t handle_key(const struct file_handle *h, uint8_t *key) {
    static const char digits[] = "0123456789abcdef";
    int n = snprintf((char *)key, TYPE_CHARS, "%d:", h->handle_type);
    if (n < 0 || n >= TYPE_CHARS) return 0;
    unsigned bytes = h->handle_bytes < MAX_HANDLE_SZ ? h->handle_bytes : MAX_HANDLE_SZ;
    for (unsigned i = 0; i < bytes; i++) {
        key[n + 2 * i] = (uint8_t)digits[h->f_handle[i] >> 4];
        key[n + 2 * i + 1] = (uint8_t)digits[h->f_handle[i] & 15];
    }
    return (uint16_t)(n + 2 * bytes);
}

/* Marks the inode open at fd (st: its statx, STATX_MNT_ID asked) for mask into slot i of o;
 * by_fd: through the fd itself (else it is O_PATH). MARK_DONE or MARK_FAILED. */
static inline int mark_fd(int group, int fd, int by_fd, const struct statx *st, uint32_t mask,
                          uint32_t i, struct fsid_cache *fc, const struct mark_out *o) {
    union {
        struct file_handle h;
        uint8_t space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    } fh;
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) != 0) {
        o->errs[i] = CALL_HANDLE << 16 | errno;
        return MARK_FAILED;
    }
    uint32_t dev = (st->stx_dev_major << 20) | st->stx_dev_minor;
    int has_mnt = (st->stx_mask & STATX_MNT_ID) != 0;
    if (!(has_mnt && fc->known && fc->mnt_id == st->stx_mnt_id && fc->dev == dev)) {
        struct statfs sfs;
        if (fstatfs(fd, &sfs) != 0) {
            o->errs[i] = CALL_STATFS << 16 | errno;
            return MARK_FAILED;
        }
        memcpy(fc->fsid, &sfs.f_fsid, 8);
        fc->known = has_mnt;
        fc->mnt_id = st->stx_mnt_id;
        fc->dev = dev;
    }
    int rc;
    if (by_fd) {
        rc = fanotify_mark(group, FAN_MARK_ADD, mask, fd, NULL);
    } else {
        char proc[32];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        rc = fanotify_mark(group, FAN_MARK_ADD, mask, AT_FDCWD, proc);
    }
    if (rc != 0) {
        o->errs[i] = CALL_MARK << 16 | errno;
        return MARK_FAILED;
    }
    o->devs[i] = (double)dev;
    o->mnt_ids[i] = has_mnt ? (double)st->stx_mnt_id : -1;
    o->inos[i] = (int64_t)st->stx_ino;
    o->key_lens[i] = handle_key(&fh.h, o->keys + (uint64_t)i * KEY_SLOT);
    memcpy(o->fsids + (uint64_t)i * 8, fc->fsid, 8);
    return MARK_DONE;
}

#endif
