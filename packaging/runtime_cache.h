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
 *     size (checked at every start),
 *   - and it is the very file a launcher hashed and found to have the SHA-256 compiled into
 *     this one, unchanged since: after that full check the launcher writes a stamp beside it
 *     (bpfink.checked, root's, 0400) that names the hash and the file's device, inode,
 *     size, mtime and ctime as fstat gave them through the fd it hashed. A start whose stamp
 *     matches the file's fstat and this launcher's hash runs the file without reading it
 *     (hashing 96 MB took ~0.1 s of CPU at every start); any other start (no stamp, a
 *     stamp that is not a regular file of root's that nobody else may write, or that does
 *     not match) hashes the file whole, as a first start does.
 * The stamp proves as much as the hash for everyone but root: nobody else can write into
 * the directory (a new file, stamp or rename) or into the file; every write, truncate,
 * chmod, chown, link or rename of the file gives it a new ctime, which no process can set
 * (the kernel takes the current time); and a file put in its place has the ctime of its
 * making, whatever inode number it reuses. Root can change the file and its stamp alike, as
 * it can replace dist/bpfink itself: nothing here defends against root. What the stamp
 * does not see is damage below the file system (a bad disk block under unchanged
 * metadata), which the full hash at every start used to catch.
 * A check that fails, or a directory that cannot be written (a read-only /var), means the
 * memfd instead: never an error.
 *
 * BPFINK_RUNTIME_CACHE=off turns it off; an absolute path there replaces /var/cache/bpfink.
 */
#ifndef BPFINK_RUNTIME_CACHE_H
#define BPFINK_RUNTIME_CACHE_H

#include <dirent.h>
#include <errno.h>
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
/* The stamp beside it: the runtime file a launcher found good (see the top of this file). */
#define RUNTIME_STAMP_NAME "bpfink.checked"

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

/* Whether fd is a root-owned regular file nobody else may write, of `size` bytes; fills st
 * with its fstat. */
static int cache_file_meta_ok(int fd, uint64_t size, struct stat *st) {
    return fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_uid == 0 &&
           (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 && (uint64_t)st->st_size == size &&
           size > 0;
}

/* Whether the file fd, of `size` bytes, has SHA-256 `sha` (64 hex digits). */
static int cache_file_hash_ok(int fd, uint64_t size, const char *sha) {
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return 0;
    char hex[65];
    sha256_hex(p, size, hex);
    munmap(p, (size_t)size);
    return strcmp(hex, sha) == 0;
}

/* The stamp's text for the runtime file whose fstat is st and whose hash is sha: its
 * length, or 0. */
#define STAMP_MAX 512
static size_t cache_stamp_text(const struct stat *st, const char *sha, char *out) {
    int w = snprintf(out, STAMP_MAX,
                     "bpfink runtime checked\nsha256 %s\ndev %llu\nino %llu\nsize %llu\n"
                     "mtime %lld.%09ld\nctime %lld.%09ld\n",
                     sha, (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
                     (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec,
                     (long)st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
                     (long)st->st_ctim.tv_nsec);
    return w > 0 && w < STAMP_MAX ? (size_t)w : 0;
}

/* Whether directory d holds a stamp, a regular file of root's nobody else may write, that
 * says the runtime file whose fstat is st is the one with hash sha, found good. */
static int cache_stamp_ok(int d, const struct stat *st, const char *sha) {
    char want[STAMP_MAX];
    size_t len = cache_stamp_text(st, sha, want);
    if (len == 0) return 0;
    int fd = openat(d, RUNTIME_STAMP_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sst;
    char got[STAMP_MAX];
    size_t have = 0;
    int ok = fstat(fd, &sst) == 0 && S_ISREG(sst.st_mode) && sst.st_uid == 0 &&
             (sst.st_mode & (S_IWGRP | S_IWOTH)) == 0 && (uint64_t)sst.st_size == len;
    while (ok && have < sizeof got) {
        ssize_t n = read(fd, got + have, sizeof got - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
    }
    close(fd);
    return ok && have == len && memcmp(got, want, len) == 0;
}

/* Writes the stamp for the runtime file whose fstat is st into directory d: whole under a
 * temporary name, then renamed over the old one. A stamp that cannot be written means only
 * that the next start hashes the file again. */
static void cache_stamp_write(int d, const struct stat *st, const char *sha) {
    char text[STAMP_MAX];
    size_t len = cache_stamp_text(st, sha, text);
    if (len == 0) return;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", RUNTIME_STAMP_NAME, (long)getpid());
    int fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
    if (fd < 0) return;
    int ok = fchmod(fd, 0400) == 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = 0;
        else done += (size_t)n;
    }
    ok = close(fd) == 0 && ok;
    if (!ok || renameat(d, tmp, d, RUNTIME_STAMP_NAME) < 0) unlinkat(d, tmp, 0);
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

/* Opens the cached runtime with hash `sha` and `size` bytes and checks it (its stamp, else
 * its hash, which then gets a stamp); on success writes its path into `path` and returns 1. */
static int cache_lookup(const char *sha, uint64_t size, char *path, size_t n) {
    const char *root = cache_root();
    char dir[PATH_MAX];
    if (!root || !cache_dir_of(root, sha, dir, sizeof dir)) return 0;
    int ok = 0;
    int d = cache_open_dir(dir);
    if (d < 0) return 0;
    int fd = openat(d, RUNTIME_CACHE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        ok = cache_file_meta_ok(fd, size, &st);
        if (ok && !cache_stamp_ok(d, &st, sha)) {
            ok = cache_file_hash_ok(fd, size, sha);
            /* Stamped as fstat saw it before the hash: a change during the hash gave it
             * another ctime, which the stamp does not name. */
            if (ok) cache_stamp_write(d, &st, sha);
        }
        close(fd);
    }
    /* A damaged or foreign file goes (the caller writes a good one), and its stamp. */
    if (!ok) {
        unlinkat(d, RUNTIME_CACHE_NAME, 0);
        unlinkat(d, RUNTIME_STAMP_NAME, 0);
    }
    close(d);
    int w = snprintf(path, n, "%s/%s", dir, RUNTIME_CACHE_NAME);
    return ok && w > 0 && (size_t)w < n;
}

/* Removes entry `name` of directory `d`: a file, or a directory with what it holds, down
 * to `depth` levels (never following a symlink). */
static void cache_remove(int d, const char *name, int depth) {
    if (unlinkat(d, name, 0) == 0 || errno != EISDIR || depth <= 0) return;
    int sub = openat(d, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
    if (sub < 0) return;
    DIR *files = fdopendir(sub);
    if (!files) {
        close(sub);
        return;
    }
    struct dirent *f;
    while ((f = readdir(files))) {
        if (strcmp(f->d_name, ".") != 0 && strcmp(f->d_name, "..") != 0) {
            cache_remove(sub, f->d_name, depth - 1);
        }
    }
    closedir(files);
    unlinkat(d, name, AT_REMOVEDIR);
}

/* Removes the runtimes of other versions (directories of 16 hex digits beside ours): each
 * with its stamp, what an interrupted store left (*.tmp), and Deno's caches (deno/, which
 * the launcher names DENO_DIR). */
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
        cache_remove(d, e->d_name, 4);
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
