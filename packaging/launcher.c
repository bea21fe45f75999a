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
 *   3. decompresses the runtime and the bundle into two sealed memfds (anonymous memory
 *      files: nothing is written to disk, nothing can change them after the seal),
 *   4. executes the runtime from its memfd in this same process (same pid, signals, exit
 *      code, stdin/stdout/tty) with the bundle as /proc/self/fd/N and the caller's arguments.
 *
 * Build constants (all required): PAYLOAD_SHA256 (64 hex digits), RUNTIME_ZSIZE,
 * RUNTIME_SIZE, BUNDLE_ZSIZE, BUNDLE_SIZE (bytes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include "sha256.h"

#if !defined(PAYLOAD_SHA256) || !defined(RUNTIME_ZSIZE) || !defined(RUNTIME_SIZE) || \
    !defined(BUNDLE_ZSIZE) || !defined(BUNDLE_SIZE)
#error "build.ts passes PAYLOAD_SHA256, RUNTIME_ZSIZE, RUNTIME_SIZE, BUNDLE_ZSIZE, BUNDLE_SIZE"
#endif

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define PAYLOAD_SIZE ((uint64_t)RUNTIME_ZSIZE + (uint64_t)BUNDLE_ZSIZE)

/* The runtime's options: everything bpfink needs is in the bundle, so no config file, lock
 * file, remote module or npm package is looked up, whatever the working directory holds.
 * No TurboFan (V8's top tier): under load it maps ~3 MiB of its own code and keeps the code it
 * made, resident for good; Maglev is enough for the agent's glue (README "Soak"). */
static const char *const RUNTIME_ARGS[] = {
    "run", "-A", "--quiet", "--no-config", "--no-lock", "--no-remote", "--no-npm",
    "--unstable-net", "--v8-flags=--max-opt=2",
};
#define N_RUNTIME_ARGS (sizeof(RUNTIME_ARGS) / sizeof(RUNTIME_ARGS[0]))

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

static void write_all(int fd, const uint8_t *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die_errno("cannot write to memory (memfd)");
        buf += n;
        len -= (size_t)n;
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

/* Decompresses one zstd frame into a new sealed memfd, checking the size it must have. */
static int unpack(const char *name, unsigned flags, const uint8_t *src, size_t zsize,
                  uint64_t size) {
    int fd = memfd(name, flags | MFD_ALLOW_SEALING);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) die("out of memory");
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31);
    size_t chunk = ZSTD_DStreamOutSize();
    uint8_t *out = malloc(chunk);
    if (!out) die("out of memory");
    ZSTD_inBuffer in = {src, zsize, 0};
    uint64_t total = 0;
    size_t ret = 1;
    while (in.pos < in.size) {
        ZSTD_outBuffer ob = {out, chunk, 0};
        ret = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(ret)) die("its payload does not decompress: copy dist/bpfink again");
        write_all(fd, out, ob.pos);
        total += ob.pos;
    }
    if (ret != 0 || total != size) die("its payload is incomplete: copy dist/bpfink again");
    free(out);
    ZSTD_freeDCtx(dctx);
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        die_errno("cannot seal the unpacked payload");
    }
    return fd;
}

int main(int argc, char **argv) {
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0) die_errno("cannot open its own file (/proc/self/exe; is /proc mounted?)");
    struct stat st;
    if (fstat(self, &st) < 0) die_errno("cannot stat its own file");
    if ((uint64_t)st.st_size < PAYLOAD_SIZE) {
        die("its own file is shorter than its payload: copy dist/bpfink again");
    }
    /* Private copy: what is checked is exactly what is unpacked. */
    uint8_t *payload = malloc(PAYLOAD_SIZE);
    if (!payload) die("out of memory for its payload");
    read_at(self, payload, PAYLOAD_SIZE, (uint64_t)st.st_size - PAYLOAD_SIZE);
    close(self);

    char hex[65];
    sha256_hex(payload, PAYLOAD_SIZE, hex);
    if (strcmp(hex, PAYLOAD_SHA256) != 0) {
        die("its payload does not match the checksum it was built with (the file is damaged "
            "or was altered): copy dist/bpfink again");
    }

    int runtime = unpack("bpfink", MFD_CLOEXEC | MFD_EXEC, payload, RUNTIME_ZSIZE,
                         RUNTIME_SIZE);
    /* Not close-on-exec: the runtime reads the bundle through /proc/self/fd/N. */
    int bundle = unpack("bpfink.js", 0, payload + RUNTIME_ZSIZE, BUNDLE_ZSIZE, BUNDLE_SIZE);
    free(payload);

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
    char **env = calloc(envc + 3, sizeof *env);
    if (!env) die("out of memory");
    size_t m = 0;
    int arenas_set = 0;
    for (size_t i = 0; i < envc; i++) {
        if (strncmp(environ[i], "MALLOC_ARENA_MAX=", 17) == 0) arenas_set = 1;
        if (strncmp(environ[i], "DENO_", 5) != 0 && strncmp(environ[i], "NODE_", 5) != 0 &&
            strncmp(environ[i], "NPM_CONFIG_", 11) != 0) {
            env[m++] = environ[i];
        }
    }
    env[m++] = "DENO_NO_UPDATE_CHECK=1";
    /* Two malloc arenas, as the unit sets: each pool thread's own arena kept its free pages
     * resident (bench/soak.ts). Only glibc reads it, and only at start: set it here. */
    if (!arenas_set) env[m++] = "MALLOC_ARENA_MAX=2";
    env[m] = NULL;

    fexecve(runtime, args, env);
    if (errno == EACCES) {
        die_errno("cannot execute its runtime from memory (memfd); is vm.memfd_noexec set to 2?");
    }
    die_errno("cannot execute its runtime");
}
