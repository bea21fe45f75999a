/*
 * The paths a window of native calls is given: each ended by a NUL, one after the other
 * (src/watch/read_batch.ts's packItems, src/fanotify/native_marks.ts), never read past len.
 */
#ifndef BPFINK_PATH_LIST_H
#define BPFINK_PATH_LIST_H

#include <stdint.h>
#include <string.h>

/* The path at *at in paths[0..len), moving *at past its NUL; NULL when none is left whole. */
static inline const char *path_list_next(const uint8_t *paths, uint64_t len, uint64_t *at) {
    if (*at >= len) return NULL;
    const uint8_t *end = memchr(paths + *at, 0, len - *at);
    if (!end) return NULL;
    const char *path = (const char *)paths + *at;
    *at = (uint64_t)(end - paths) + 1;
    return path;
}

#endif
