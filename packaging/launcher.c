/*
 * bpfink's single-file launcher (the "bundle+deno runtime" build of dist/bpfink).
 *
 * The file is this small program followed by a payload: the Deno runtime and bpfink's
 * JavaScript bundle, each compressed with zstd. build.ts compiles this file with the
 * payload's size and SHA-256 as constants, then appends the payload.
 *
 * At start it:
 *   1. reads the payload from the end of its own file (/proc/self/exe) into private memory,
 *   2. checks its SHA-256 against the constant compiled in (a damaged or truncated copy
 *      stops here with one sentence),
 *   3. decompresses the bundle into a sealed memfd (an anonymous memory file that nothing
 *      can change after the seal),
 *   4. runs the runtime from a file (see runtime_cache.h): as root, the unpacked runtime is
 *      kept in /var/cache/bpfink/<its hash>/bpfink, checked against its SHA-256 once and
 *      then, at each start, found to be that same file unchanged (its stamp names its
 *      inode, size, mtime and ctime: nobody but root can change it without changing its
 *      ctime), so its pages are the page cache's (shared, reclaimable) and the check of the
 *      payload is then only the bundle's; otherwise, or when that directory cannot be
 *      trusted or written, the runtime is unpacked into a sealed memfd as well (held in
 *      memory whole for as long as the process runs),
 *   5. executes the runtime in this same process (same pid, signals, exit code,
 *      stdin/stdout/tty) with the bundle as /proc/self/fd/N and the caller's arguments.
 *
 * The embedded binaries (BPF objects, libbpf) follow uncompressed (packaging/bundle_assets.ts):
 * the bundle reads them from this file through an fd left open for it (BPFINK_ASSETS=FD:OFFSET)
 * and checks each against the SHA-256 it carries.
 *
 * Build constants (all required): PAYLOAD_SHA256, RUNTIME_SHA256 (the unpacked runtime's),
 * BUNDLE_ZSHA256 (the compressed bundle's; 64 hex digits each), RUNTIME_ZSIZE, RUNTIME_SIZE,
 * BUNDLE_ZSIZE, BUNDLE_SIZE, ASSETS_SIZE (bytes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include "sha256.h"
#include "runtime_cache.h"

#if !defined(PAYLOAD_SHA256) || !defined(RUNTIME_SHA256) || !defined(BUNDLE_ZSHA256) || \
    !defined(RUNTIME_ZSIZE) || !defined(RUNTIME_SIZE) || !defined(BUNDLE_ZSIZE) ||        \
    !defined(BUNDLE_SIZE) || !defined(ASSETS_SIZE)
#error "build.ts passes PAYLOAD_SHA256, RUNTIME_SHA256, BUNDLE_ZSHA256 and the sizes"
#endif

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define PAYLOAD_SIZE ((uint64_t)RUNTIME_ZSIZE + (uint64_t)BUNDLE_ZSIZE + (uint64_t)ASSETS_SIZE)

/* The runtime's options: everything bpfink needs is in the bundle, so no config file, lock
 * file, remote module or npm package is looked up, whatever the working directory holds.
 * No TurboFan (V8's top tier): under load it maps ~3 MiB of its own code and keeps the code it
 * made, resident for good; Maglev is enough for the agent's glue (README "Soak").
 * No V8 code cache: mapping Deno's cache database and reading its entries held 2-3 MiB for
 * good, and starting took as long without it (README "Idle memory").
 * A young generation of at most 4 MiB a semi-space, as ./bpfink (a first baseline's peak).
 * V8's gc() exposed, as ./bpfink: the first baseline bounds its garbage (heap_ceiling.ts).
 * The bundle is JavaScript (--ext=js): a script without an extension is taken for TypeScript,
 * and each start hashed its 6 MB and read its transpiled copy back from Deno's cache in root's
 * home (written there at the first start of each version): `--version` took 0.22-0.24 s, now
 * 0.19 s. */
static const char *const RUNTIME_ARGS[] = {
    "run", "-A", "--quiet", "--no-config", "--no-lock", "--no-remote", "--no-npm",
    "--unstable-net", "--no-code-cache", "--ext=js",
    "--v8-flags=--max-opt=2,--max-semi-space-size=4,--expose-gc",
};
#define N_RUNTIME_ARGS (sizeof(RUNTIME_ARGS) / sizeof(RUNTIME_ARGS[0]))

#define DAMAGED                                                                              \
    "its payload does not match the checksum it was built with (the file is damaged or was " \
    "altered): copy dist/bpfink again"

static void die(const char *what) {
    fprintf(stderr, "bpfink: %s\n", what);
    exit(1);
}

static void die_errno(const char *what) {
    fprintf(stderr, "bpfink: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Reads exactly len bytes at off, or dies. */
static void read_at(int fd, uint8_t *buf, uint64_t len, uint64_t off) {
    while (len > 0) {
        ssize_t n = pread(fd, buf, len > (1u << 30) ? (1u << 30) : len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die_errno("cannot read its own file (/proc/self/exe)");
        if (n == 0) die("its own file is shorter than its payload: copy dist/bpfink again");
        buf += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
}

static int memfd(const char *name, unsigned flags) {
    int fd = (int)syscall(SYS_memfd_create, name, flags);
    /* Kernels before 6.3 do not know MFD_EXEC (every memfd is executable there). */
    if (fd < 0 && errno == EINVAL && (flags & MFD_EXEC)) {
        fd = (int)syscall(SYS_memfd_create, name, flags & ~MFD_EXEC);
    }
    if (fd < 0) die_errno("memfd_create failed");
    return fd;
}

/* Decompresses one zstd frame of zsize bytes at src into fd, which must come to `size`
 * bytes: 0, or -1 when a write failed (errno says why), or -2 when the data is bad. */
static int inflate_into(int fd, const uint8_t *src, size_t zsize, uint64_t size) {
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) die("out of memory");
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31);
    size_t chunk = ZSTD_DStreamOutSize();
    uint8_t *out = malloc(chunk);
    if (!out) die("out of memory");
    ZSTD_inBuffer in = {src, zsize, 0};
    uint64_t total = 0;
    size_t ret = 1;
    int rc = 0;
    while (rc == 0 && in.pos < in.size) {
        ZSTD_outBuffer ob = {out, chunk, 0};
        ret = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(ret)) {
            rc = -2;
            break;
        }
        for (size_t done = 0; done < ob.pos;) {
            ssize_t n = write(fd, out + done, ob.pos - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                rc = -1;
                break;
            }
            done += (size_t)n;
        }
        total += ob.pos;
    }
    if (rc == 0 && (ret != 0 || total != size)) rc = -2;
    int saved = errno;
    free(out);
    ZSTD_freeDCtx(dctx);
    errno = saved;
    return rc;
}

/* Decompresses one zstd frame into a new sealed memfd, checking the size it must have. */
static int unpack(const char *name, unsigned flags, const uint8_t *src, size_t zsize,
                  uint64_t size) {
    int fd = memfd(name, flags | MFD_ALLOW_SEALING);
    int rc = inflate_into(fd, src, zsize, size);
    if (rc == -1) die_errno("cannot write to memory (memfd)");
    if (rc == -2) die("its payload does not decompress whole: copy dist/bpfink again");
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        die_errno("cannot seal the unpacked payload");
    }
    return fd;
}

/* The checked payload, for cache_store's fill: the runtime is its first frame. */
static int fill_runtime(int fd, void *payload) {
    return inflate_into(fd, payload, RUNTIME_ZSIZE, RUNTIME_SIZE);
}

/*
 * Fewest descriptors Deno needs to start the bundle: under 20 it failed with its own errors and
 * a stack trace (reading its config, importing the bundle). The agent raises its limit again and
 * says what it needs (src/open_file_limit.ts).
 */
#define MIN_OPEN_FILES 32

/* Raises the soft open-file limit to the hard one (at most 65536); dies when that is too few. */
static void raise_open_file_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0) return;
    rlim_t want = r.rlim_max == RLIM_INFINITY || r.rlim_max > 65536 ? 65536 : r.rlim_max;
    if (want > r.rlim_cur) {
        r.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &r) < 0) getrlimit(RLIMIT_NOFILE, &r);
    }
    if (r.rlim_cur < MIN_OPEN_FILES) {
        fprintf(stderr,
                "bpfink: the open-file limit is %llu (hard limit %llu), too few to start: raise it "
                "(ulimit -n, or LimitNOFILE= in its systemd unit)\n",
                (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
        exit(1);
    }
}

int main(int argc, char **argv) {
    raise_open_file_limit();
    /* Not close-on-exec: the bundle reads the embedded binaries through it. */
    int self = open("/proc/self/exe", O_RDONLY);
    if (self < 0) die_errno("cannot open its own file (/proc/self/exe; is /proc mounted?)");
    struct stat st;
    if (fstat(self, &st) < 0) die_errno("cannot stat its own file");
    if ((uint64_t)st.st_size < PAYLOAD_SIZE) {
        die("its own file is shorter than its payload: copy dist/bpfink again");
    }
    uint64_t base = (uint64_t)st.st_size - PAYLOAD_SIZE;
    char runtime_path[PATH_MAX];
    int runtime = -1;
    int bundle;
    char hex[65];
    /* Private copies: what is checked is exactly what is unpacked. */
    if (cache_lookup(RUNTIME_SHA256, RUNTIME_SIZE, runtime_path, sizeof runtime_path)) {
        /* The runtime is on disk, checked (by its stamp, or hashed): only the bundle is
         * read from this file. */
        uint8_t *z = malloc(BUNDLE_ZSIZE);
        if (!z) die("out of memory for its payload");
        read_at(self, z, BUNDLE_ZSIZE, base + RUNTIME_ZSIZE);
        sha256_hex(z, BUNDLE_ZSIZE, hex);
        if (strcmp(hex, BUNDLE_ZSHA256) != 0) die(DAMAGED);
        bundle = unpack("bpfink.js", 0, z, BUNDLE_ZSIZE, BUNDLE_SIZE);
        free(z);
    } else {
        uint8_t *payload = malloc(PAYLOAD_SIZE);
        if (!payload) die("out of memory for its payload");
        read_at(self, payload, PAYLOAD_SIZE, base);
        sha256_hex(payload, PAYLOAD_SIZE, hex);
        if (strcmp(hex, PAYLOAD_SHA256) != 0) die(DAMAGED);
        if (!cache_store(RUNTIME_SHA256, RUNTIME_SIZE, fill_runtime, payload, runtime_path,
                         sizeof runtime_path)) {
            runtime = unpack("bpfink", MFD_CLOEXEC | MFD_EXEC, payload, RUNTIME_ZSIZE,
                             RUNTIME_SIZE);
        }
        /* Not close-on-exec: the runtime reads the bundle through /proc/self/fd/N. */
        bundle = unpack("bpfink.js", 0, payload + RUNTIME_ZSIZE, BUNDLE_ZSIZE, BUNDLE_SIZE);
        free(payload);
    }

    char bundle_path[32];
    snprintf(bundle_path, sizeof bundle_path, "/proc/self/fd/%d", bundle);
    char **args = calloc((size_t)argc + N_RUNTIME_ARGS + 2, sizeof *args);
    if (!args) die("out of memory");
    size_t n = 0;
    args[n++] = argc > 0 ? argv[0] : "bpfink";
    for (size_t i = 0; i < N_RUNTIME_ARGS; i++) args[n++] = (char *)RUNTIME_ARGS[i];
    args[n++] = bundle_path;
    for (int i = 1; i < argc; i++) args[n++] = argv[i];
    args[n] = NULL;

    /* The runtime's own variables could change what it runs (DENO_V8_FLAGS, DENO_DIR...):
     * none passes through; everything else (BPFINK_*, NO_COLOR, TERM...) does. */
    extern char **environ;
    size_t envc = 0;
    while (environ[envc]) envc++;
    char **env = calloc(envc + 5, sizeof *env);
    if (!env) die("out of memory");
    size_t m = 0;
    int arenas_set = 0;
    for (size_t i = 0; i < envc; i++) {
        if (strncmp(environ[i], "MALLOC_ARENA_MAX=", 17) == 0) arenas_set = 1;
        if (strncmp(environ[i], "DENO_", 5) != 0 && strncmp(environ[i], "NODE_", 5) != 0 &&
            strncmp(environ[i], "NPM_CONFIG_", 11) != 0 &&
            strncmp(environ[i], "BPFINK_ASSETS=", 14) != 0) {
            env[m++] = environ[i];
        }
    }
    env[m++] = "DENO_NO_UPDATE_CHECK=1";
    /* Deno keeps its analysis of the bundle (which saves parsing its 6 MB at each start,
     * about 0.1 s) in two SQLite caches under DENO_DIR. Run from the cache directory, the
     * runtime keeps them there, beside itself, not in root's home; run from memory (not
     * root), in the user's own cache, where Deno keeps them by default. */
    char deno_dir[PATH_MAX + 16];
    if (runtime < 0) {
        const char *slash = strrchr(runtime_path, '/');
        snprintf(deno_dir, sizeof deno_dir, "DENO_DIR=%.*s/deno", (int)(slash - runtime_path),
                 runtime_path);
        env[m++] = deno_dir;
    }
    char assets[64];
    snprintf(assets, sizeof assets, "BPFINK_ASSETS=%d:%llu", self,
             (unsigned long long)(base + RUNTIME_ZSIZE + BUNDLE_ZSIZE));
    env[m++] = assets;
    /* Two malloc arenas, as the unit sets: each pool thread's own arena kept its free pages
     * resident (bench/soak.ts). Only glibc reads it, and only at start: set it here. */
    if (!arenas_set) env[m++] = "MALLOC_ARENA_MAX=2";
    env[m] = NULL;

    if (runtime < 0) {
        /* By path, so the process is named after the file (an fd exec names it "3" before
         * Linux 6.x); the directories were checked to be root's alone. */
        execve(runtime_path, args, env);
        die_errno("cannot execute its runtime (/var/cache/bpfink)");
    }
    fexecve(runtime, args, env);
    if (errno == EACCES) {
        die_errno("cannot execute its runtime from memory (memfd); is vm.memfd_noexec set to 2?");
    }
    die_errno("cannot execute its runtime");
}
