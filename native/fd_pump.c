/*
 * Keeps a fanotify group's kernel queue from overflowing while the main thread is busy
 * (src/fanotify/fd_pump.ts).
 *
 * The kernel queues a group's events up to a limit (16,384 by default): past it, it drops them
 * and queues one overflow event, after which the agent rescans every watch. The main thread read
 * the group between its other work; during a change of 100,000 watched files, and under a user's
 * churn in a watched tree, that work kept it away long enough for the queue to overflow, up to
 * eight times a run. The main thread still reads the fd itself (bpfink_fd_pump_read), so that
 * the kernel merges, as before, the events that wait in its queue into one another (a flood of
 * writes to a file before the agent mutes it is one event). A thread of Deno's blocking pool
 * (bpfink_fd_pump_run, a nonblocking FFI call) watches the kernel's queue while it is not empty,
 * a look (FIONREAD) every FD_PUMP_LOOK_NS, and once it holds FD_PUMP_BACKLOG bytes it moves
 * everything there into a queue of its own, which takes memory only while it holds bytes
 * (pump_queue.h), up to `cap` bytes; past that the events wait in the kernel's queue, which
 * overflows as before. The main thread's read takes from that queue first, then from the fd.
 *
 * Each read is queued as its length (4 bytes, 4 of padding) and its bytes, rounded up to 8.
 * One mutex orders the pump's moves with the main thread's reads, so that the events keep the
 * kernel's order; the main thread's read holds it for one read, the pump's move for the reads
 * that empty the kernel's queue (about 25 of 64 KiB at its limit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* Moves what the fd holds into the queue until the fd is empty, the queue is full (`blocked`
 * set), or a read fails (the mutex held), and writes the news fd when an empty queue gets bytes.
 * Returns the reads queued; -errno when a read failed (also kept in `err`). */
static long pull_reading(struct fd_pump *p) {
    long n = 0;
    p->blocked = 0;
    for (;;) {
        /* Room for the longest read first (a chunk that cannot be mapped counts as a full
         * queue): what is read cannot be given back to the kernel. */
        pump_lock(&p->q);
        int full = p->q.queued + FD_PUMP_HDR + FD_PUMP_READ > p->cap ||
                   !pump_room(&p->q, FD_PUMP_HDR + FD_PUMP_READ);
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
        /* The chunk checked for above was let go by a main-thread read that emptied the queue
         * meanwhile, and no other could be mapped: what was read is lost, said as a failed read
         * of ENOMEM. */
        if (!at) {
            p->err = ENOMEM;
            return -ENOMEM;
        }
        /* Decided under the lock: a main-thread read that emptied the queue before these bytes
         * came has read the news already, and one after them takes them. */
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
 * Watches the fd until `stop_fd` is written: returns 0 then; -errno when a move's read failed
 * or waiting failed 100 times in a row (kept in `err`, and the news fd written: the main thread
 * reads what was queued before it, then ends with it). While the fd is readable it looks at how
 * much the kernel holds every FD_PUMP_LOOK_NS, and moves it all into the queue past
 * FD_PUMP_BACKLOG bytes: at most about 5,000 events (the smallest fanotify event with a file
 * handle is 52 bytes), under a third of the kernel's 16,384, and far more than can come in one
 * look's time. Idle, it sleeps in poll(2). With the queue full it looks a millisecond at a
 * time for room. It runs at PUMP_NICE (pump_queue.h).
 */
#define FD_PUMP_LOOK_NS 1000000L
#define FD_PUMP_BACKLOG (256 * 1024)
#define FD_PUMP_FULL_NS 1000000L

static int run(struct fd_pump *p) {
    int failed = 0;
    for (;;) {
        /* Readable (or full: the kernel holds what the queue cannot). */
        struct pollfd fds[2] = {{.fd = p->blocked ? -1 : p->fd, .events = POLLIN},
                                {.fd = p->stop_fd, .events = POLLIN}};
        struct timespec full = {0, FD_PUMP_FULL_NS};
        int rc = ppoll(fds, 2, p->blocked ? &full : NULL, NULL);
        if (rc >= 0 && !fds[1].revents) {
            /* The main thread's turn to read it, then a look. */
            struct timespec look = {0, FD_PUMP_LOOK_NS};
            fds[0].fd = -1;
            rc = ppoll(fds, 2, &look, NULL);
        }
        if (rc < 0) {
            if (++failed < 100) continue;
            /* Said as a failed read is: the main thread's loop ends with it. */
            __atomic_store_n(&p->err, errno, __ATOMIC_RELAXED);
            pump_wake(p->news_fd);
            return -p->err;
        }
        failed = 0;
        if (fds[1].revents) return 0;
        int held = 0;
        if (ioctl(p->fd, FIONREAD, &held) < 0) held = FD_PUMP_BACKLOG;
        if ((held >= FD_PUMP_BACKLOG || p->blocked) && pull(p) < 0) return -p->err;
    }
}

/* run() at PUMP_NICE (pump_queue.h). */
__attribute__((visibility("default"))) int bpfink_fd_pump_run(void *h) {
    struct pump_priority pr = pump_boost();
    int rc = run(h);
    pump_restore(&pr);
    return rc;
}

/*
 * The main thread's read: whole reads from the queue, one after another with nothing between
 * them, into `out` (`cap` bytes, at least FD_PUMP_READ), or, with the queue empty, one read of
 * the fd. Returns the bytes written (0: nothing to read), or -errno when the read failed or the
 * pump failed before (its error, once its queue is empty). The news is read first, and bytes
 * left in the queue write it again, so that the reader's next wait returns at once.
 */
__attribute__((visibility("default"))) long bpfink_fd_pump_read(void *h, uint8_t *out,
                                                                uint32_t cap) {
    struct fd_pump *p = h;
    uint64_t news;
    ssize_t r = read(p->news_fd, &news, sizeof news); /* EAGAIN when there was none */
    (void)r;
    long at = 0;
    pthread_mutex_lock(&p->reading);
    pump_lock(&p->q);
    for (struct pump_chunk *c; (c = pump_front(&p->q));) {
        uint32_t len;
        memcpy(&len, c->bytes + c->rd, 4);
        uint32_t need = FD_PUMP_HDR + ((len + 7u) & ~7u);
        if ((uint64_t)at + len > cap) break;
        memcpy(out + at, c->bytes + c->rd + FD_PUMP_HDR, len);
        at += len;
        c->rd += need;
        p->q.queued -= need;
    }
    pump_release_if_empty(&p->q);
    int left = p->q.queued > 0;
    pump_unlock(&p->q);
    int err = __atomic_load_n(&p->err, __ATOMIC_RELAXED);
    if (at == 0 && !left) {
        if (err) {
            at = -err;
        } else {
            ssize_t got;
            do got = read(p->fd, out, cap); while (got < 0 && errno == EINTR);
            at = got >= 0 ? got : errno == EAGAIN ? 0 : -errno;
        }
    }
    pthread_mutex_unlock(&p->reading);
    if (left) pump_wake(p->news_fd);
    return at;
}

/* Bytes queued now (0), the most bytes queued (1), passes that found the queue full (2). */
__attribute__((visibility("default"))) uint64_t bpfink_fd_pump_stat(void *h, uint32_t which) {
    struct fd_pump *p = h;
    uint64_t v = 0;
    pump_lock(&p->q);
    switch (which) {
    case 0: v = p->q.queued; break;
    case 1: v = p->q.peak; break;
    case 2: v = __atomic_load_n(&p->waits, __ATOMIC_RELAXED); break;
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
