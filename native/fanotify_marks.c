/*
 * Marks a window of paths for a fanotify group in one call (src/fanotify/fanotify_group.ts's
 * markMany, before a start's first read). Per path it makes the calls #markPath makes, in its
 * order: open it as its read will (a regular file or a directory), or O_PATH for anything else
 * or when that open fails; fstat; name_to_handle_at; fstatfs for the file system's id, unless the
 * path before it was on the same mount and device; fanotify_mark through the fd (through
 * /proc/self/fd/N for an O_PATH fd). The caller keeps what each mark means.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "path_list.h"

/* How a path is opened to be marked (fanotify_group.ts's O_PATH_FLAGS, READ_FILE, READ_DIR). */
enum { HOW_PATH = 0, HOW_FILE = 1, HOW_DIR = 2 };
/* What became of a path: nothing there (or it could not be opened or fstat'ed), marked, or a
 * call failed (which, and its errno, in errs). */
enum { NOTHING = 0, MARKED = 1, FAILED = 2 };
enum { CALL_HANDLE = 1, CALL_STATFS = 2, CALL_MARK = 3 };

/* fanotify_abi.ts's MAX_HANDLE_SZ, and the bytes of a handle key ("type:hex"): the type as a
 * decimal int and its colon fit in TYPE_CHARS. */
#define MAX_HANDLE_SZ 128
#define TYPE_CHARS 16
#define KEY_SLOT (TYPE_CHARS + 2 * MAX_HANDLE_SZ)

#define O_PATH_FLAGS (O_PATH | O_NOFOLLOW | O_CLOEXEC)

static int open_flags(uint8_t how) {
    if (how == HOW_FILE) return O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (how == HOW_DIR) return O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    return O_PATH_FLAGS;
}

/* The file system id of the last fstatfs, and the mount and device it was asked for. */
struct fsid_cache {
    int known;
    uint64_t mnt_id;
    uint32_t dev;
    uint8_t fsid[8];
};

/* Handle key "type:hex" of handle h into key; its length. */
static uint16_t handle_key(const struct file_handle *h, uint8_t *key) {
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

/* Marks one path (slot i); its status. */
static int mark_one(int group, const char *path, uint8_t how, uint32_t mask, uint32_t i,
                    struct fsid_cache *fc, int32_t *errs, double *devs, double *mnt_ids,
                    int64_t *inos, uint8_t *keys, uint16_t *key_lens, uint8_t *fsids) {
    int by_fd = how != HOW_PATH;
    int fd = open(path, open_flags(how));
    if (fd < 0 && by_fd) {
        fd = open(path, O_PATH_FLAGS);
        by_fd = 0;
    }
    if (fd < 0) return NOTHING;
    int status = NOTHING;
    struct statx st;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &st) != 0) goto out;
    status = FAILED;
    union {
        struct file_handle h;
        uint8_t space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    } fh;
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) != 0) {
        errs[i] = CALL_HANDLE << 16 | errno;
        goto out;
    }
    uint32_t dev = (st.stx_dev_major << 20) | st.stx_dev_minor;
    int has_mnt = (st.stx_mask & STATX_MNT_ID) != 0;
    if (!(has_mnt && fc->known && fc->mnt_id == st.stx_mnt_id && fc->dev == dev)) {
        struct statfs sfs;
        if (fstatfs(fd, &sfs) != 0) {
            errs[i] = CALL_STATFS << 16 | errno;
            goto out;
        }
        memcpy(fc->fsid, &sfs.f_fsid, 8);
        fc->known = has_mnt;
        fc->mnt_id = st.stx_mnt_id;
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
        errs[i] = CALL_MARK << 16 | errno;
        goto out;
    }
    devs[i] = (double)dev;
    mnt_ids[i] = has_mnt ? (double)st.stx_mnt_id : -1;
    inos[i] = (int64_t)st.stx_ino;
    key_lens[i] = handle_key(&fh.h, keys + (uint64_t)i * KEY_SLOT);
    memcpy(fsids + (uint64_t)i * 8, fc->fsid, 8);
    status = MARKED;
out:
    close(fd);
    return status;
}

/* The bytes of each handle key's slot: the caller sizes keys by it. */
__attribute__((visibility("default"))) uint32_t bpfink_mark_key_slot(void) { return KEY_SLOT; }

/*
 * Marks the count NUL-terminated paths at paths for group: how[i] says how path i is opened,
 * masks[i] what it is marked for. Writes each one's status; for a mark, its device (kernel
 * encoding), mount id (-1 when not known), inode number, handle key ("type:hex", key_lens[i]
 * bytes at keys + i * KEY_SLOT) and file system id (8 bytes at fsids + i * 8); for a failure,
 * errs[i] = call << 16 | errno. Returns how many paths it went through.
 */
__attribute__((visibility("default"))) int
bpfink_mark_files(int group, const uint8_t *paths, uint64_t paths_len, uint32_t count,
                  const uint8_t *how, const uint32_t *masks, uint8_t *status, int32_t *errs,
                  double *devs, double *mnt_ids, int64_t *inos, uint8_t *keys,
                  uint16_t *key_lens, uint8_t *fsids) {
    struct fsid_cache fc = {0};
    uint64_t at = 0;
    uint32_t i = 0;
    for (const char *path; i < count && (path = path_list_next(paths, paths_len, &at)); i++) {
        status[i] = (uint8_t)mark_one(group, path, how[i], masks[i], i, &fc, errs, devs, mnt_ids,
                                      inos, keys, key_lens, fsids);
    }
    return (int)i;
}
