/*
 * Marks a window of paths for a fanotify group in one call (src/fanotify/fanotify_group.ts's
 * markMany, before a start's first read). Per path it makes the calls #markPath makes, in its
 * order: open it as its read will (a regular file or a directory), or O_PATH for anything else
 * or when that open fails; fstat; name_to_handle_at; fstatfs for the file system's id, unless the
 * path before it was on the same mount and device; fanotify_mark through the fd (through
 * /proc/self/fd/N for an O_PATH fd). The caller keeps what each mark means.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mark_fd.h"
#include "path_list.h"

/* How a path is opened to be marked (fanotify_group.ts's O_PATH_FLAGS, READ_FILE, READ_DIR). */
enum { HOW_PATH = 0, HOW_FILE = 1, HOW_DIR = 2 };

#define O_PATH_FLAGS (O_PATH | O_NOFOLLOW | O_CLOEXEC)

static int open_flags(uint8_t how) {
    if (how == HOW_FILE) return O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (how == HOW_DIR) return O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    return O_PATH_FLAGS;
}

/* Marks one path (slot i): MARK_NONE when nothing could be opened or fstat'ed there. */
static int mark_one(int group, const char *path, uint8_t how, uint32_t mask, uint32_t i,
                    struct fsid_cache *fc, const struct mark_out *o) {
    int by_fd = how != HOW_PATH;
    int fd = open(path, open_flags(how));
    if (fd < 0 && by_fd) {
        fd = open(path, O_PATH_FLAGS);
        by_fd = 0;
    }
    if (fd < 0) return MARK_NONE;
    int status = MARK_NONE;
    struct statx st;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &st) == 0) {
        status = mark_fd(group, fd, by_fd, &st, mask, i, fc, o);
    }
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
    const struct mark_out o = {errs, devs, mnt_ids, inos, keys, key_lens, fsids};
    uint64_t at = 0;
    uint32_t i = 0;
    for (const char *path; i < count && (path = path_list_next(paths, paths_len, &at)); i++) {
        status[i] = (uint8_t)mark_one(group, path, how[i], masks[i], i, &fc, &o);
    }
    return (int)i;
}
