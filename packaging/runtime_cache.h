/*
 * Where the launcher keeps the unpacked Deno runtime, and the checks that let it run it.
 *
 * Run from a sealed memfd, the runtime (about 96 MB unpacked) would stay in memory whole,
 * not swappable without swap, for as long as bpfink runs. Run from a file, only the pages
 * it touches are resident, and they are the page cache's: shared with every other bpfink
 * process and reclaimable. The file is trusted only as far as the launcher's own file is:
 *   - only for root (nobody else may plant a runtime that root would then execute),
 *   - every directory from / down is owned by root and writable by nobody else (a sticky
 *     directory such as /tmp is accepted above the cache directory, not as it),
 *   - the file is a regular file owned by root, writable by nobody else, of the runtime's
 *     size, and its SHA-256 is the one compiled into the launcher, checked at every start.
 * A check that fails, or a directory that cannot be written (a read-only /var), means the
 * memfd instead: never an error.
 *
 * BPFINK_RUNTIME_CACHE=off turns it off; an absolute path there replaces /var/cache/bpfink.
 */
#ifndef BPFINK_RUNTIME_CACHE_H
#define BPFINK_RUNTIME_CACHE_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

#define RUNTIME_CACHE_DIR "/var/cache/bpfink"
/* The runtime's file name in its directory: the process name (comm) an exec gives it. */
#define RUNTIME_CACHE_NAME "bpfink"

/* Whether st is a directory owned by root that nobody else can write into (or, above the
 * cache directory itself, a root-owned sticky one). */
static int cache_dir_trusted(const struct stat *st, int last) {
    if (!S_ISDIR(st->st_mode) || st->st_uid != 0) return 0;
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0) return 1;
    return !last && (st->st_mode & S_ISVTX);
}

/* Opens absolute directory `path` one component at a time without following symlinks,
 * each one trusted (above); creates the last one (0700) when it is missing. Returns its
 * fd, or -1. */
static int cache_open_dir(const char *path) {
    char buf[PATH_MAX];
    if (path[0] != '/' || strlen(path) >= sizeof buf) return -1;
    strcpy(buf, path);
    int fd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !cache_dir_trusted(&st, 0)) goto fail;
    char *save = NULL;
    char *comp = strtok_r(buf + 1, "/", &save);
    while (comp) {
        char *next_comp = strtok_r(NULL, "/", &save);
        int last = next_comp == NULL;
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) goto fail;
        int next = openat(fd, comp, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && last) {
            if (mkdirat(fd, comp, 0700) < 0 && errno != EEXIST) goto fail;
            next = openat(fd, comp, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
        }
        close(fd);
        fd = next;
        if (fd < 0 || fstat(fd, &st) < 0 || !cache_dir_trusted(&st, last)) goto fail;
        comp = next_comp;
    }
    return fd;
fail:
    if (fd >= 0) close(fd);
    return -1;
}

/* Whether fd is a root-owned regular file nobody else may write, of `size` bytes, whose
 * SHA-256 is `sha` (64 hex digits). */
static int cache_file_ok(int fd, uint64_t size, const char *sha) {
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) || (uint64_t)st.st_size != size || size == 0) {
        return 0;
    }
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return 0;
    char hex[65];
    sha256_hex(p, size, hex);
    munmap(p, (size_t)size);
    return strcmp(hex, sha) == 0;
}

/* The cache directory this start uses (RUNTIME_CACHE_DIR or BPFINK_RUNTIME_CACHE), or NULL
 * when it is off: not root, turned off, or a relative path given. */
static const char *cache_root(void) {
    if (geteuid() != 0) return NULL;
    const char *env = getenv("BPFINK_RUNTIME_CACHE");
    if (!env || !env[0]) return RUNTIME_CACHE_DIR;
    return env[0] == '/' ? env : NULL;
}

/* Writes into `out` the directory that holds the runtime with hash `sha`. */
static int cache_dir_of(const char *root, const char *sha, char *out, size_t n) {
    int w = snprintf(out, n, "%s/%.16s", root, sha);
    return w > 0 && (size_t)w < n;
}

/* Opens the cached runtime with hash `sha` and `size` bytes and checks it; on success
 * writes its path into `path` and returns 1. */
static int cache_lookup(const char *sha, uint64_t size, char *path, size_t n) {
    const char *root = cache_root();
    char dir[PATH_MAX];
    if (!root || !cache_dir_of(root, sha, dir, sizeof dir)) return 0;
    int ok = 0;
    int d = cache_open_dir(dir);
    if (d < 0) return 0;
    int fd = openat(d, RUNTIME_CACHE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        ok = cache_file_ok(fd, size, sha);
        close(fd);
        /* A damaged or foreign file goes: the caller writes a good one. */
        if (!ok) unlinkat(d, RUNTIME_CACHE_NAME, 0);
    }
    close(d);
    int w = snprintf(path, n, "%s/%s", dir, RUNTIME_CACHE_NAME);
    return ok && w > 0 && (size_t)w < n;
}

/* Removes the runtimes of other versions (directories of 16 hex digits beside ours). */
static void cache_prune(const char *sha) {
    const char *root = cache_root();
    if (!root) return;
    int d = cache_open_dir(root);
    if (d < 0) return;
    DIR *dir = fdopendir(d);
    if (!dir) {
        close(d);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strlen(e->d_name) != 16 || strspn(e->d_name, "0123456789abcdef") != 16) continue;
        if (strncmp(e->d_name, sha, 16) == 0) continue;
        int sub = openat(d, e->d_name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
        if (sub < 0) continue;
        unlinkat(sub, RUNTIME_CACHE_NAME, 0);
        close(sub);
        unlinkat(d, e->d_name, AT_REMOVEDIR);
    }
    closedir(dir);
}

/* Stores a runtime: `fill` writes it into the open file (0 on success); the file gets its
 * name only when it is whole and on disk (fsync): a crash cannot leave a named file that is
 * not, and the runtime's pages are clean when it starts, so that the agent can page out the
 * code only its start ran (src/bpf/page_out_code.ts; the kernel keeps dirty file pages).
 * Returns 1 when the cache now holds a checked runtime at `path`. */
static int cache_store(const char *sha, uint64_t size, int (*fill)(int fd, void *arg),
                       void *arg, char *path, size_t n) {
    const char *root = cache_root();
    char dir[PATH_MAX];
    if (!root || !cache_dir_of(root, sha, dir, sizeof dir)) return 0;
    int r = cache_open_dir(root); /* creates the root (0700) when missing */
    if (r < 0) return 0;
    close(r);
    int d = cache_open_dir(dir);
    if (d < 0) return 0;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", RUNTIME_CACHE_NAME, (long)getpid());
    int fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0500);
    int ok = fd >= 0 && fchmod(fd, 0500) == 0 && fill(fd, arg) == 0 && fsync(fd) == 0;
    if (fd >= 0) ok = close(fd) == 0 && ok;
    if (ok) ok = renameat(d, tmp, d, RUNTIME_CACHE_NAME) == 0;
    if (!ok) unlinkat(d, tmp, 0);
    close(d);
    if (!ok) return 0;
    cache_prune(sha);
    return cache_lookup(sha, size, path, n);
}

#endif
