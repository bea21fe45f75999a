/*
 * The hashing workers' fast path (src/watch/native_reader.ts): describes and hashes a window of
 * regular files in one call, writing each state straight into the typed arrays that carry it
 * back to the main thread (src/watch/read_batch.ts). Per file it makes the calls
 * readFileState() makes (lstat; open with O_NONBLOCK|O_NOFOLLOW; fstat; fstatfs when the device
 * is anonymous; reads to the end; fstat again), without the JavaScript runtime's cost per call.
 *
 * Asked to (a start's first read, src/agent/startup_baseline.ts), it also marks each regular file
 * for a fanotify group through the fd it reads it by, once that fd is known to be the file the
 * lstat found and before the first byte is read (mark_fd.h): the mark covers the read, and the
 * main thread makes no call of its own per file.
 *
 * It also writes each file's extended attributes and inode flags as extra_attrs.ts's text
 * (extra_attrs.h): on an SELinux host every file has one (security.selinux).
 *
 * It does only the common case. Anything else (not a regular file, an error other than
 * "missing", a file swapped or torn under the read, a pseudo file system, a file larger than
 * the limit, content or attributes' text that does not fit, an ACL or capabilities) is marked
 * REDO, and the worker reads that path the JavaScript way, which says why (and decodes those
 * attributes: src/watch/extra_attrs.ts). So the two ways can differ only in speed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "extra_attrs.h"
#include "hash_sniff.h"
#include "mark_fd.h"
#include "path_list.h"

#include "../packaging/sha256.h"

/* Status codes, as read_batch.ts packs them; REDO is the worker's to replace. */
enum { MISSING = 0, STATE = 1, REDO = 3 };
/* read_batch.ts's flags. */
enum {
    HAS_HASH = 4,
    HAS_NS = 8,
    HAS_NLINK = 16,
    NUL_KNOWN = 32,
    CONTENT_NUL = 64,
    MAY_HOLD_HASH = 128
};
/* read_batch.ts's layout: numbers per state as float64s, and as 64-bit integers. */
enum { NUMS = 7, BIGS = 4, HASH_CHARS = 64 };
/* The birth time's value when the file system keeps none (read_batch.ts's NO_BTIME). */
#define NO_BTIME INT64_MIN
/* ENTRY_TYPES' code of a regular file (native_fs.ts). */
enum { TYPE_FILE = 1 };

#define READ_CHUNK (256 * 1024)
#define STATX_MASK (STATX_BASIC_STATS | STATX_BTIME)
/* The version of the arguments and the flags' meaning (bpfink_read_layout); 5: each state's
 * attributes' text is in the attrs arena ([at, length]; at -1 for none); 6: the key of the
 * attributes' value digests follows the mark arguments. */
#define READ_VERSION 6

static uint32_t dev_of(const struct statx *s) {
    return (s->stx_dev_major << 20) | s->stx_dev_minor;
}

static int64_t ns_of(const struct statx_timestamp *t) {
    return t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* Whether a time's nanoseconds fit in 64 bits (ns_of); the JavaScript way handles the rest. */
static int ns_fit(const struct statx_timestamp *t) {
    return t->tv_sec > -9000000000LL && t->tv_sec < 9000000000LL;
}

/* Whether two fstat()s of one open file show a change between them (safe_read.ts's test). */
static int changed(const struct statx *a, const struct statx *b) {
    return a->stx_size != b->stx_size || ns_of(&a->stx_mtime) != ns_of(&b->stx_mtime) ||
           ns_of(&a->stx_ctime) != ns_of(&b->stx_ctime);
}

/* The limits of one call, and where content goes. */
struct window {
    const uint32_t *pseudo_magics;
    uint32_t pseudo_count;
    uint64_t max_file;
    uint8_t *arena;
    uint64_t arena_size;
    uint64_t arena_used;
    uint8_t *chunk;
    /* The fanotify group to mark each file for (-1: none), the masks (0: not this file), what
     * became of each mark (MARK_NONE, MARK_DONE, MARK_FAILED) and where marks are written. */
    int group;
    const uint32_t *masks;
    uint8_t *mark_status;
    struct mark_out marks;
    struct fsid_cache fsid;
    /* Where each file's attributes' text goes ([at, length] per path in attrs_at), and the
     * buffers that make it. */
    uint8_t *attrs;
    uint64_t attrs_size;
    uint64_t attrs_used;
    double *attrs_at;
    struct attrs_scratch *attrs_scratch;
    uint64_t last_at;
    uint64_t last_len;
};

/*
 * File fd's attributes' text (attrs_text) into the attrs arena, as path i's [at, length]; a
 * text the same as the one before is not written again (on an SELinux host most files in a
 * directory share theirs). Returns 0, or REDO.
 */
static int read_attrs(struct window *w, int fd, const struct statx *st, uint32_t i) {
    uint8_t *to = w->attrs + w->attrs_used;
    int64_t len = attrs_text(fd, st->stx_attributes, w->attrs_scratch, to,
                             w->attrs_size - w->attrs_used);
    if (len < 0) return REDO;
    if (len == 0) return 0;
    /* The last text written, unless a REDO took the arena back past it. */
    int same = w->last_len == (uint64_t)len && w->last_at + w->last_len <= w->attrs_used &&
               memcmp(w->attrs + w->last_at, to, (size_t)len) == 0;
    if (!same) {
        w->last_at = w->attrs_used;
        w->last_len = (uint64_t)len;
        w->attrs_used += (uint64_t)len;
    }
    w->attrs_at[2 * i] = (double)w->last_at;
    w->attrs_at[2 * i + 1] = (double)len;
    return 0;
}

static int is_pseudo(const struct window *w, int fd, const struct statx *st) {
    if (st->stx_dev_major != 0) return 0;
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return 0;
    uint32_t magic = (uint32_t)fs.f_type;
    for (uint32_t i = 0; i < w->pseudo_count; i++) {
        if (w->pseudo_magics[i] == magic) return 1;
    }
    return 0;
}

/*
 * Reads regular file fd (its fstat st) to the end: the hash in hex, and the content into the
 * arena when it is at most keep bytes (*content_len, at *content_at), with whether it holds a
 * NUL byte and whether it may hold a password hash (*nul_flags: NUL_KNOWN, and CONTENT_NUL,
 * MAY_HOLD_HASH). Returns 0, or REDO.
 */
static int read_content(struct window *w, int fd, const struct statx *st, uint64_t keep,
                        char hex[64], double *content_at, double *content_len,
                        uint8_t *nul_flags) {
    struct sha256_ctx c;
    sha256_init(&c);
    uint64_t start = w->arena_used, total = 0;
    int checked_past = 0;
    for (;;) {
        ssize_t n = read(fd, w->chunk, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR) continue;
            return REDO;
        }
        if (n == 0) break;
        sha256_update(&c, w->chunk, (size_t)n);
        total += (uint64_t)n;
        if (total > w->max_file) return REDO;
        if (total > st->stx_size && !checked_past) {
            struct statx now;
            if (statx(fd, "", AT_EMPTY_PATH, STATX_MASK, &now) != 0 || changed(st, &now)) return REDO;
            checked_past = 1;
        }
        if (total <= keep) {
            if (w->arena_size - w->arena_used < (uint64_t)n) return REDO;
            memcpy(w->arena + w->arena_used, w->chunk, (size_t)n);
            w->arena_used += (uint64_t)n;
        }
    }
    struct statx after;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_MASK, &after) != 0 || changed(st, &after)) return REDO;
    sha256_final_hex(&c, hex);
    if (total <= keep) {
        *content_at = (double)start;
        *content_len = (double)total;
        const uint8_t *kept = w->arena + start;
        *nul_flags = NUL_KNOWN | (memchr(kept, 0, total) ? CONTENT_NUL : 0) |
                     (may_hold_password_hash(kept, total) ? MAY_HOLD_HASH : 0);
    } else {
        w->arena_used = start;
    }
    return 0;
}

/* One path: its state into slot i, or MISSING, or REDO. */
static int read_one(struct window *w, const char *path, uint64_t keep, uint32_t i, double *nums,
                    double *nlinks, int64_t *bigs, uint8_t *hashes, double *content,
                    uint8_t *nul_flags) {
    struct statx lst, st;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MASK, &lst) != 0) {
        return errno == ENOENT || errno == ENOTDIR ? MISSING : REDO;
    }
    if (!S_ISREG(lst.stx_mode)) return REDO;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return REDO;
    int status = REDO;
    int mark = w->group >= 0 && w->masks[i] != 0;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_MASK | (mark ? STATX_MNT_ID : 0), &st) != 0) goto out;
    if (!S_ISREG(st.stx_mode) || st.stx_ino != lst.stx_ino || dev_of(&st) != dev_of(&lst)) goto out;
    /* Marked before the first byte is read, whatever the read comes to (a REDO reads it again). */
    if (mark) {
        w->mark_status[i] = (uint8_t)mark_fd(w->group, fd, 1, &st, w->masks[i], i, &w->fsid,
                                             &w->marks);
    }
    if (!ns_fit(&st.stx_mtime) || !ns_fit(&st.stx_ctime)) goto out;
    if (st.stx_size > w->max_file || is_pseudo(w, fd, &st)) goto out;
    uint64_t arena_used = w->arena_used, attrs_used = w->attrs_used;
    /* The attributes as of st: a change to them moves the ctime read_content checks. */
    if (read_attrs(w, fd, &st, i) != 0 ||
        read_content(w, fd, &st, keep, (char *)hashes + (uint64_t)i * HASH_CHARS, &content[2 * i],
                     &content[2 * i + 1], nul_flags) != 0) {
        w->arena_used = arena_used;
        w->attrs_used = attrs_used;
        w->attrs_at[2 * i] = -1;
        goto out;
    }
    double *o = nums + (uint64_t)i * NUMS;
    int64_t mtime = ns_of(&st.stx_mtime), ctime = ns_of(&st.stx_ctime);
    o[0] = (double)dev_of(&st);
    o[1] = (double)st.stx_size;
    o[2] = (double)st.stx_mode;
    o[3] = (double)st.stx_uid;
    o[4] = (double)st.stx_gid;
    o[5] = (double)(mtime / 1000000);
    o[6] = (double)(ctime / 1000000);
    nlinks[i] = (double)st.stx_nlink;
    int64_t *b = bigs + (uint64_t)i * BIGS;
    b[0] = (int64_t)st.stx_ino;
    b[1] = mtime;
    b[2] = ctime;
    b[3] = (st.stx_mask & STATX_BTIME) && ns_fit(&st.stx_btime) ? ns_of(&st.stx_btime) : NO_BTIME;
    status = STATE;
out:
    close(fd);
    return status;
}

/* The layout this file writes (READ_VERSION << 24 | NUMS << 16 | BIGS << 8 | HASH_CHARS): the
 * caller checks it is read_batch.ts's before the first call. */
__attribute__((visibility("default"))) uint32_t bpfink_read_layout(void) {
    return READ_VERSION << 24 | NUMS << 16 | BIGS << 8 | HASH_CHARS;
}

/*
 * Reads the count NUL-terminated paths at paths (keep[i]: the content is wanted when the file
 * has at most that many bytes). Writes each one's flags (MISSING, STATE with its flag bits, or
 * REDO) and type, its numbers and hash at read_batch.ts's offsets (the device as statx gives it),
 * where its content is in the arena ([at, length]; at -1 when none), and where its attributes'
 * text is in the attrs arena ([at, length] in attrs_at; at -1 when none). With a group (>= 0), each
 * file whose masks[i] is not 0 is marked for it first: mark_status[i] says how that went, and the
 * mark's details are at mark_fd.h's mark_out offsets (mark_errs ... mark_fsids). Returns how
 * many paths it went through (count, or fewer when paths_len ended first), or -1 when the read
 * buffers could not be had.
 */
__attribute__((visibility("default"))) int
bpfink_read_files(const uint8_t *paths, uint64_t paths_len, uint32_t count, const uint32_t *keep,
                  uint8_t *flags, uint8_t *types, double *nums, double *nlinks, int64_t *bigs,
                  uint8_t *hashes, uint8_t *arena, uint64_t arena_size, double *content,
                  uint8_t *attrs, uint64_t attrs_size, double *attrs_at,
                  const uint32_t *pseudo_magics, uint32_t pseudo_count, uint64_t max_file,
                  int group, const uint32_t *masks, uint8_t *mark_status, int32_t *mark_errs,
                  double *mark_devs, double *mark_mnt_ids, int64_t *mark_inos, uint8_t *mark_keys,
                  uint16_t *mark_key_lens, uint8_t *mark_fsids, const uint8_t *attrs_key,
                  uint32_t attrs_key_len) {
    /* No key, no digests: a window is not read here without one. */
    if (!attrs_key || attrs_key_len != ATTRS_KEY_BYTES) return -1;
    struct window w = {pseudo_magics, pseudo_count, max_file, arena, arena_size, 0, NULL,
                       masks ? group : -1, masks, mark_status,
                       {mark_errs, mark_devs, mark_mnt_ids, mark_inos, mark_keys, mark_key_lens,
                        mark_fsids},
                       {0}, attrs, attrs_size, 0, attrs_at, NULL, 0, 0};
    w.chunk = malloc(READ_CHUNK);
    w.attrs_scratch = malloc(sizeof *w.attrs_scratch);
    if (!w.chunk || !w.attrs_scratch) {
        free(w.chunk);
        free(w.attrs_scratch);
        return -1;
    }
    hmac_key_init(&w.attrs_scratch->key, attrs_key, attrs_key_len);
    uint64_t at = 0;
    uint32_t i = 0;
    for (const char *path; i < count && (path = path_list_next(paths, paths_len, &at)); i++) {
        content[2 * i] = -1;
        attrs_at[2 * i] = -1;
        uint8_t nul_flags = 0;
        int status = read_one(&w, path, keep[i], i, nums, nlinks, bigs, hashes, content, &nul_flags);
        flags[i] = (uint8_t)(status == STATE ? STATE | HAS_HASH | HAS_NS | HAS_NLINK | nul_flags
                                             : status);
        types[i] = status == STATE ? TYPE_FILE : 0;
    }
    free(w.chunk);
    free(w.attrs_scratch);
    return (int)i;
}
