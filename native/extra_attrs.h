/*
 * A file's extended attributes and inode flags as src/watch/extra_attrs.ts's canonical text,
 * byte for byte, for the hashing workers' reader (file_reader.c): a line a name, `xattr NAME
 * DIGEST` (NAME escaped as escapeXattrName does, DIGEST the first 16 hex characters of the
 * value's HMAC-SHA256 with the key extra_attrs.ts's xattrDigestKey() gives, hmac_sha256.h), and `flags append,immutable` for statx's bits, sorted as JavaScript's
 * `lines.sort()` sorts them (the lines are ASCII: byte order) and joined by "\n".
 *
 * It does only the common case: a file with an ACL or capabilities (their text is decoded in
 * extra_attrs.ts), a list or value that changed between two calls, a call that failed or a text
 * longer than its scratch is not done here (-1), and the caller has the file read the
 * JavaScript way.
 */
#ifndef BPFINK_EXTRA_ATTRS_H
#define BPFINK_EXTRA_ATTRS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include "hmac_sha256.h"

/* The largest list or value the kernel gives (XATTR_LIST_MAX, XATTR_SIZE_MAX). */
#define XATTR_MAX (64 * 1024)
/* The size asked for first: the kernel allocates (and zeroes) what is asked, for each call. */
#define XATTR_FIRST_TRY 1024
/* The text a file's lines may take before sorting, and how many lines; past that, -1. */
#define ATTRS_SCRATCH (64 * 1024)
#define ATTRS_LINES 4096
/* Characters of a value's digest kept (extra_attrs.ts's DIGEST_CHARS). */
#define ATTRS_DIGEST_CHARS 16
/* statx's STATX_ATTR_IMMUTABLE and STATX_ATTR_APPEND: the inode flags the text names. */
#define ATTRS_IMMUTABLE 0x10
#define ATTRS_APPEND 0x20

/* The digests' key length (extra_attrs.ts's XATTR_KEY_BYTES). */
#define ATTRS_KEY_BYTES 32

/* Buffers for one file's attributes, reused from file to file, and the digests' key. */
struct attrs_scratch {
    struct hmac_key key;
    char list[XATTR_MAX];
    uint8_t value[XATTR_MAX];
    char text[ATTRS_SCRATCH];
    uint32_t line_at[ATTRS_LINES];
};

/* flistxattr (name NULL) or fgetxattr. */
static ssize_t xattr_call(int fd, const char *name, void *buf, size_t size) {
    return name ? fgetxattr(fd, name, buf, size) : flistxattr(fd, buf, size);
}

/*
 * The list (name NULL) or the value of name into buf (XATTR_MAX bytes): its length, or -1 with
 * errno (ERANGE: it grew or shrank between the calls that sized it).
 */
static ssize_t xattr_sized(int fd, const char *name, void *buf) {
    ssize_t n = xattr_call(fd, name, buf, XATTR_FIRST_TRY);
    if (n >= 0 || errno != ERANGE) return n;
    ssize_t need = xattr_call(fd, name, NULL, 0);
    if (need < 0) return -1;
    if (need <= XATTR_FIRST_TRY || need > XATTR_MAX) {
        errno = ERANGE;
        return -1;
    }
    return xattr_call(fd, name, buf, (size_t)need);
}

/* Whether name is one extra_attrs.ts's xattrLine reads by meaning (an ACL, capabilities). */
static int attrs_decoded_in_ts(const char *name) {
    return strcmp(name, "system.posix_acl_access") == 0 ||
           strcmp(name, "system.posix_acl_default") == 0 ||
           strcmp(name, "security.capability") == 0;
}

/* Appends s (n bytes) to the scratch's text at *used; 0, or -1 when it does not fit. */
static int attrs_put(struct attrs_scratch *s, size_t *used, const char *p, size_t n) {
    if (ATTRS_SCRATCH - *used < n) return -1;
    memcpy(s->text + *used, p, n);
    *used += n;
    return 0;
}

/* Appends name as escapeXattrName writes it: printable ASCII but `%` as is, the rest `%XX`. */
static int attrs_put_name(struct attrs_scratch *s, size_t *used, const char *name) {
    static const char HEX[] = "0123456789ABCDEF";
    for (const uint8_t *b = (const uint8_t *)name; *b; b++) {
        if (*b > 0x20 && *b < 0x7f && *b != 0x25) {
            if (attrs_put(s, used, (const char *)b, 1) != 0) return -1;
        } else {
            char esc[3] = {'%', HEX[*b >> 4], HEX[*b & 15]};
            if (attrs_put(s, used, esc, 3) != 0) return -1;
        }
    }
    return 0;
}

/* Starts a line at *used (ended by a NUL once written): 0, or -1 when there are too many. */
static int attrs_line(struct attrs_scratch *s, size_t *used, uint32_t *lines) {
    if (*lines == ATTRS_LINES) return -1;
    s->line_at[(*lines)++] = (uint32_t)*used;
    return 0;
}

/* Orders two lines (offsets into the text, its arg) as strcmp: byte order, JavaScript's too. */
static int attrs_cmp(const void *a, const void *b, void *text) {
    const char *t = text;
    return strcmp(t + *(const uint32_t *)a, t + *(const uint32_t *)b);
}

/*
 * The text of open file fd's extended attributes and of statx attribute bits attributes, into
 * out (cap bytes): its length (0: none), or -1 when it is left to extra_attrs.ts. The
 * scratch's key is prepared (hmac_key_init).
 */
static int64_t attrs_text(int fd, uint64_t attributes, struct attrs_scratch *s, uint8_t *out,
                          uint64_t cap) {
    size_t used = 0;
    uint32_t lines = 0;
    if (attributes & (ATTRS_APPEND | ATTRS_IMMUTABLE)) {
        const char *flags = (attributes & ATTRS_APPEND) && (attributes & ATTRS_IMMUTABLE)
                                ? "flags append,immutable"
                            : attributes & ATTRS_APPEND ? "flags append"
                                                        : "flags immutable";
        attrs_line(s, &used, &lines);
        attrs_put(s, &used, flags, strlen(flags) + 1);
    }
    ssize_t list_len = xattr_sized(fd, NULL, s->list);
    if (list_len < 0) {
        /* No extended attributes on this file system at all. */
        if (errno != ENOTSUP) return -1;
        list_len = 0;
    }
    for (ssize_t at = 0; at < list_len;) {
        const char *name = s->list + at;
        size_t len = strnlen(name, (size_t)(list_len - at));
        at += (ssize_t)len + 1;
        /* The kernel ends each name by a NUL; one that is not ended is not read here. */
        if (at > list_len) return -1;
        if (len == 0) continue;
        if (attrs_decoded_in_ts(name)) return -1;
        ssize_t n = xattr_sized(fd, name, s->value);
        if (n < 0) {
            /* Removed between the list and the read: not there. */
            if (errno == ENODATA) continue;
            return -1;
        }
        char hex[65];
        hmac_sha256_hex(&s->key, s->value, (size_t)n, hex);
        if (attrs_line(s, &used, &lines) != 0 || attrs_put(s, &used, "xattr ", 6) != 0 ||
            attrs_put_name(s, &used, name) != 0 || attrs_put(s, &used, " ", 1) != 0 ||
            attrs_put(s, &used, hex, ATTRS_DIGEST_CHARS) != 0 || attrs_put(s, &used, "", 1) != 0) {
            return -1;
        }
    }
    qsort_r(s->line_at, lines, sizeof s->line_at[0], attrs_cmp, s->text);
    uint64_t len = 0;
    for (uint32_t i = 0; i < lines; i++) {
        const char *line = s->text + s->line_at[i];
        size_t n = strlen(line);
        if (cap - len < n + (i > 0)) return -1;
        if (i > 0) out[len++] = '\n';
        memcpy(out + len, line, n);
        len += n;
    }
    return (int64_t)len;
}

#endif
