/*
 * Empties a file descriptor whose read(2) returns whole records, a fanotify group's, off the
 * main thread (src/fanotify/fd_pump.ts).
 *
 * The kernel queues a fanotify group's events up to a limit (16,384 by default): past it, it
 * drops them and queues one overflow event, after which the agent rescans every watch. The
 * main thread read the group between its other work; during a change of 100,000 watched files,
 * and under a user's flood in a watched tree, that work kept it away long enough for the queue
 * to overflow, two to eight times a run. A pump reads the fd as soon as it is readable, on a
 * thread of Deno's blocking pool (bpfink_fd_pump_run, called as a nonblocking FFI call), into a
 * queue that takes memory only while it holds bytes (pump_queue.h), up to `cap` bytes; past
 * that the events wait in the kernel's queue, which overflows as before. The main thread takes
 * whole reads from the queue when it has time (bpfink_fd_pump_take), and a synchronous drain
 * reads the fd on its own thread first (bpfink_fd_pump_pull).
 *
 * Each read is queued as its length (4 bytes, 4 of padding) and its bytes, rounded up to 8.
 * One mutex orders the reads with the queuing of their bytes, so that the pump's reads and a
 * drain's keep the kernel's order; the read itself is made outside the queue's spin lock,
 * which the main thread's take holds for one pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pump_queue.h"

/* Bytes of one read: fanotify returns whole events, up to this many (about 750 with file
 * handles and names). */
#define FD_PUMP_READ (64u * 1024u)
#define FD_PUMP_HDR 8u

struct fd_pump {
    int fd;      /* the fd read (nonblocking) */
    int news_fd; /* eventfd: written when the queue has bytes for the main thread */
    int stop_fd; /* eventfd: written to end bpfink_fd_pump_run */
    uint64_t cap;    /* the most bytes the queue holds */
    uint64_t waits;  /* passes that found the queue full and left the rest in the kernel */
    int blocked;     /* the last pass stopped at a full queue */
    int err;         /* the errno of the read that failed (0: none) */
    pthread_mutex_t reading;
    uint8_t *buf;    /* FD_PUMP_READ bytes: a read lands here, then is queued */
    struct pump_queue q;
};

/* Reads the fd into the queue until it is empty, the queue is full (`blocked` set), or a
 * read fails (the mutex held), and writes the news fd when an empty queue gets bytes. Returns
 * the reads queued; -errno when a read failed (also kept in `err`). */
static long pull_reading(struct fd_pump *p) {
    long n = 0;
    p->blocked = 0;
    for (;;) {
        pump_lock(&p->q);
        int full = p->q.queued + FD_PUMP_HDR + FD_PUMP_READ > p->cap;
        pump_unlock(&p->q);
        if (full) {
            p->blocked = 1;
            __atomic_add_fetch(&p->waits, 1, __ATOMIC_RELAXED);
            return n;
        }
        ssize_t got = read(p->fd, p->buf, FD_PUMP_READ);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return n;
            p->err = errno;
            return -p->err;
        }
        if (got == 0) return n;
        uint32_t len = (uint32_t)got;
        uint32_t need = FD_PUMP_HDR + ((len + 7u) & ~7u);
        pump_lock(&p->q);
        int was_empty = p->q.queued == 0;
        uint8_t *at = pump_room(&p->q, need);
        if (at) {
            memcpy(at, &len, 4);
            memset(at + 4, 0, 4);
            memcpy(at + FD_PUMP_HDR, p->buf, len);
            p->q.tail->wr += need;
            p->q.queued += need;
            if (p->q.queued > p->q.peak) p->q.peak = p->q.queued;
        }
        pump_unlock(&p->q);
        /* No memory for a chunk: what was read is lost, as the kernel loses what it cannot
         * queue; counted as a failed read of ENOMEM. */
        if (!at) {
            p->err = ENOMEM;
            return -ENOMEM;
        }
        /* Decided under the lock: a take that emptied the queue before these bytes came has read
         * the news already, and one after them takes them. */
        if (was_empty) pump_wake(p->news_fd);
        n++;
    }
}

/* pull_reading() with the mutex taken; the news fd written when a read failed. */
static long pull(struct fd_pump *p) {
    pthread_mutex_lock(&p->reading);
    long n = pull_reading(p);
    pthread_mutex_unlock(&p->reading);
    if (n < 0) pump_wake(p->news_fd);
    return n;
}

/* A pump over `fd` whose queue holds at most `cap` bytes; NULL when out of memory. */
__attribute__((visibility("default"))) void *bpfink_fd_pump_open(int fd, uint64_t cap, int news_fd,
                                                                 int stop_fd) {
    struct fd_pump *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->buf = malloc(FD_PUMP_READ);
    if (!p->buf || pthread_mutex_init(&p->reading, NULL) != 0) {
        free(p->buf);
        free(p);
        return NULL;
    }
    p->fd = fd;
    p->news_fd = news_fd;
    p->stop_fd = stop_fd;
    p->cap = cap < FD_PUMP_HDR + FD_PUMP_READ ? FD_PUMP_HDR + FD_PUMP_READ : cap;
    return p;
}

/*
 * Keeps the fd read until `stop_fd` is written: returns 0 then; -errno when a read failed or
 * waiting failed 100 times in a row (kept in `err`, and the news fd written: the main thread
 * takes what was queued before it, then ends with it).
 *
 * While an event waits unread, the kernel merges into it the next ones of the same file by the
 * same process (a write and the close after it; a flood of writes before the agent mutes the
 * file): read at once, each would be an event of its own, and the thread would wake for each.
 * So once the fd is readable it waits FD_PUMP_FIRST_NS before it reads (a writer's close, which
 * starts the agent's re-read at once, comes that much later: the main thread's own loop, which
 * this replaces, took about as long to come to a ready fd), and a read that came less than
 * FD_PUMP_GATHER_NS after the one before is followed by a pause that long (a burst). With the
 * queue full it waits for the main thread to take from it, a millisecond at a time. It runs at
 * PUMP_NICE (pump_queue.h).
 */
#define FD_PUMP_FIRST_NS 50000L
#define FD_PUMP_GATHER_NS 200000L
#define FD_PUMP_FULL_NS 1000000L

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000L + t.tv_nsec;
}

static int run(struct fd_pump *p) {
    int failed = 0;
    int64_t last = INT64_MIN / 2;
    for (;;) {
        /* Ready (or full: the kernel holds what the queue cannot). */
        struct pollfd fds[2] = {{.fd = p->blocked ? -1 : p->fd, .events = POLLIN},
                                {.fd = p->stop_fd, .events = POLLIN}};
        struct timespec full = {0, FD_PUMP_FULL_NS};
        int rc = ppoll(fds, 2, p->blocked ? &full : NULL, NULL);
        if (rc < 0) {
            if (++failed < 100) continue;
            /* Said as a failed read is: the main thread's loop ends with it. */
            __atomic_store_n(&p->err, errno, __ATOMIC_RELAXED);
            pump_wake(p->news_fd);
            return -p->err;
        }
        failed = 0;
        if (fds[1].revents) return 0;
        fds[0].fd = -1;
        struct timespec first = {0, FD_PUMP_FIRST_NS};
        if (!p->blocked && ppoll(fds, 2, &first, NULL) > 0 && fds[1].revents) return 0;
        int64_t now = now_ns();
        if (pull(p) < 0) return -p->err;
        /* A read soon after the last: a burst; let the kernel gather (and merge) a while. */
        if (now - last < FD_PUMP_GATHER_NS) {
            struct timespec gather = {0, FD_PUMP_GATHER_NS};
            if (ppoll(fds, 2, &gather, NULL) > 0 && fds[1].revents) return 0;
        }
        last = now;
    }
}

/* run() at PUMP_NICE (pump_queue.h). */
__attribute__((visibility("default"))) int bpfink_fd_pump_run(void *h) {
    struct pump_priority pr = pump_boost();
    int rc = run(h);
    pump_restore(&pr);
    return rc;
}

/* Reads what the fd holds now into the queue, on the caller's thread: the reads queued (a
 * full queue leaves the rest in the kernel), or -errno when a read failed. */
__attribute__((visibility("default"))) long bpfink_fd_pump_pull(void *h) { return pull(h); }

/*
 * Copies whole reads from the queue into `out` (`cap` bytes, at least FD_PUMP_READ), one after
 * another with nothing between them; returns the bytes written. The news is read first (bytes
 * queued from then on write it again), and bytes left behind write it again, so that the
 * reader's next wait returns at once.
 */
__attribute__((visibility("default"))) uint32_t bpfink_fd_pump_take(void *h, uint8_t *out,
                                                                    uint32_t cap) {
    struct fd_pump *p = h;
    uint64_t news;
    ssize_t r = read(p->news_fd, &news, sizeof news); /* EAGAIN when there was none */
    (void)r;
    uint32_t at = 0;
    pump_lock(&p->q);
    for (struct pump_chunk *c; (c = pump_front(&p->q));) {
        uint32_t len;
        memcpy(&len, c->bytes + c->rd, 4);
        uint32_t need = FD_PUMP_HDR + ((len + 7u) & ~7u);
        if (at + len > cap) break;
        memcpy(out + at, c->bytes + c->rd + FD_PUMP_HDR, len);
        at += len;
        c->rd += need;
        p->q.queued -= need;
    }
    pump_release_if_empty(&p->q);
    int left = p->q.queued > 0;
    pump_unlock(&p->q);
    if (left) pump_wake(p->news_fd);
    return at;
}

/* Bytes queued now (0), the most bytes queued (1), passes that found the queue full (2), the
 * errno of the read that failed (3; 0 for none). */
__attribute__((visibility("default"))) uint64_t bpfink_fd_pump_stat(void *h, uint32_t which) {
    struct fd_pump *p = h;
    uint64_t v = 0;
    pump_lock(&p->q);
    switch (which) {
    case 0: v = p->q.queued; break;
    case 1: v = p->q.peak; break;
    case 2: v = __atomic_load_n(&p->waits, __ATOMIC_RELAXED); break;
    case 3: v = (uint64_t)__atomic_load_n(&p->err, __ATOMIC_RELAXED); break;
    }
    pump_unlock(&p->q);
    return v;
}

/* Frees the pump and its queue (after bpfink_fd_pump_run has returned). */
__attribute__((visibility("default"))) void bpfink_fd_pump_close(void *h) {
    struct fd_pump *p = h;
    pump_free(&p->q);
    pthread_mutex_destroy(&p->reading);
    free(p->buf);
    free(p);
}
