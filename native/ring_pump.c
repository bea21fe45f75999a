/*
 * Empties a BPF ring buffer off the main thread (src/bpf/ring_pump.ts).
 *
 * The kernel's ring is preallocated and mapped whole: sized to hold every watched file's
 * events at once, it was 32 MiB of the agent's RSS at 100,000 files, held for good though a
 * burst that fills it is rare. A pump keeps a small ring empty instead: bpfink_ring_pump_run,
 * called as a nonblocking FFI call (it runs on a thread of Deno's blocking pool until it is
 * stopped), waits for the ring's fd, copies each committed record into a queue of chunks
 * mapped as they are needed and unmapped as they are emptied, and moves the kernel's consumer
 * position on. The main thread takes the records from the queue (bpfink_ring_pump_take) when
 * it has time. The queue holds at most `cap` bytes: past that, records stay in the kernel's
 * ring, whose drops the BPF programs count as before (a drop costs a rescan).
 *
 * The kernel's layout (kernel/bpf/ringbuf.c): the consumer page holds the consumer position,
 * which only the reader writes; the producer page the producer position; the data pages
 * follow, each record an 8-byte header (its length, with a busy and a discard bit) and the
 * sample, rounded up to 8 bytes. The data are mapped once (not twice in a row, as libbpf maps
 * them), so a record that wraps around the end is copied in two pieces.
 *
 * A queued record is 8 bytes (its sample's length, and the bytes of the kernel's ring it
 * stands for: its own record and the discarded ones before it) and the sample, rounded up to
 * 8 bytes. The pump and the main thread's pull (a synchronous drain) and take share the queue
 * and the consumer position under a spin lock: each holds it for one pass over what the ring
 * or the queue holds, microseconds.
 *
 * Users' share: the BPF programs keep an event of a process with neither its real nor its
 * effective uid 0 out of the kernel's ring once seven eighths of it wait unread, so that root's
 * events always find room; but a pump that moves everything into its queue in the ring's order
 * would leave root's events behind the whole queue of a flooding user's. So while the queue
 * holds more than an eighth of its size, the pump sets the object's `users_paused` flag (an
 * mmapped BPF array, bpf/fim_common.bpf.h), and users' events are kept out of the ring as at its
 * last eighth: dropped, their inode's pending entry held with their writer, and found by the
 * drop check's rescan of what was held. It clears the flag once the queue is down to a
 * sixteenth. Root's events so wait behind at most an eighth of the queue of users' events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pump_queue.h"

#define BUSY_BIT 0x80000000u
#define DISCARD_BIT 0x40000000u
#define HDR 8u
struct ring_pump {
    uint64_t *cons;       /* the consumer position (the consumer page, read-write) */
    const uint64_t *prod; /* the producer position (read-only) */
    const uint8_t *data;  /* the data pages, mapped once */
    uint64_t mask;        /* data size - 1 (a power of two) */
    int map_fd;
    int news_fd; /* eventfd: written when the queue has records for the main thread */
    int stop_fd; /* eventfd: written to end bpfink_ring_pump_run */
    uint64_t cap;      /* the most bytes the queue holds */
    uint64_t handed;   /* bytes of the kernel's ring whose records were taken (or discarded) */
    uint64_t skipped;  /* discarded bytes since the last record queued, not yet in `handed` */
    int blocked;       /* the last pull stopped at a committed record the queue could not take */
    int busy;          /* the last pull stopped at a record its producer has not committed yet */
    uint32_t *paused;  /* the object's users_paused flag, mapped (NULL: not steered) */
    uint64_t pauses;   /* times it was set */
    struct pump_queue q;
};

static uint32_t rounded(uint32_t n) { return (n + 7u) & ~7u; }

/* Copies `len` bytes of the ring's data from position `at` into `out`, wrapping at its end. */
static void copy_out(const struct ring_pump *p, uint64_t at, uint32_t len, uint8_t *out) {
    uint64_t start = at & p->mask;
    uint64_t size = p->mask + 1;
    if (start + len <= size) {
        memcpy(out, p->data + start, len);
    } else {
        uint64_t head = size - start;
        memcpy(out, p->data + start, head);
        memcpy(out + head, p->data, len - head);
    }
}

/* Sets or clears the users_paused flag by what the queue holds (the lock held): set past an
 * eighth of its size, cleared at a sixteenth. */
static void steer_users(struct ring_pump *p) {
    if (!p->paused) return;
    uint32_t was = __atomic_load_n(p->paused, __ATOMIC_RELAXED);
    uint32_t now = p->q.queued > p->cap / 8 ? 1 : p->q.queued <= p->cap / 16 ? 0 : was;
    if (now == was) return;
    __atomic_store_n(p->paused, now, __ATOMIC_RELAXED);
    if (now) p->pauses++;
}

/* Moves the ring's committed records into the queue (the lock held); returns how many. */
static uint64_t pull_locked(struct ring_pump *p) {
    uint64_t cons = *p->cons;
    uint64_t prod = __atomic_load_n(p->prod, __ATOMIC_ACQUIRE);
    uint64_t n = 0;
    p->blocked = 0;
    p->busy = 0;
    while (cons < prod) {
        uint32_t hdr = __atomic_load_n((const uint32_t *)(p->data + (cons & p->mask)), __ATOMIC_ACQUIRE);
        if (hdr & BUSY_BIT) {
            p->busy = 1;
            break;
        }
        uint32_t len = hdr & ~(BUSY_BIT | DISCARD_BIT);
        uint32_t bytes = rounded(len + HDR);
        if (!(hdr & DISCARD_BIT)) {
            uint32_t need = HDR + rounded(len);
            uint8_t *at = NULL;
            if (need <= PUMP_CHUNK_DATA && p->q.queued + need <= p->cap) at = pump_room(&p->q, need);
            if (!at) {
                p->blocked = 1;
                break;
            }
            uint32_t kbytes = (uint32_t)(p->skipped + bytes);
            memcpy(at, &len, 4);
            memcpy(at + 4, &kbytes, 4);
            copy_out(p, cons + HDR, len, at + HDR);
            p->q.tail->wr += need;
            p->q.queued += need;
            p->skipped = 0;
            n++;
        } else if (p->q.queued == 0) {
            p->handed += bytes;
        } else {
            p->skipped += bytes;
        }
        cons += bytes;
    }
    /* The records' bytes are copied: the kernel may reuse them from here on. */
    __atomic_store_n(p->cons, cons, __ATOMIC_RELEASE);
    if (p->q.queued > p->q.peak) p->q.peak = p->q.queued;
    steer_users(p);
    return n;
}

/* A pump over the mapped ring (see the file's comment), steering users' events by the
 * `users_paused` array map `paused_fd` (-1: none; one that cannot be mapped is not steered);
 * NULL when out of memory. */
__attribute__((visibility("default"))) void *
bpfink_ring_pump_open(int map_fd, uint64_t *cons, const uint64_t *prod, const uint8_t *data,
                      uint64_t size, uint64_t cap, int news_fd, int stop_fd, int paused_fd) {
    struct ring_pump *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (paused_fd >= 0) {
        void *m = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
                       paused_fd, 0);
        if (m != MAP_FAILED) {
            p->paused = m;
            __atomic_store_n(p->paused, 0, __ATOMIC_RELAXED);
        }
    }
    p->cons = cons;
    p->prod = prod;
    p->data = data;
    p->mask = size - 1;
    p->map_fd = map_fd;
    p->news_fd = news_fd;
    p->stop_fd = stop_fd;
    p->cap = cap;
    p->handed = *cons;
    return p;
}

/*
 * Keeps the ring empty until `stop_fd` is written: returns 0 then, or -errno when waiting
 * failed 100 times in a row. Writes `news_fd` when it queues records into an empty queue.
 *
 * While the ring is quiet the thread sleeps in poll(2) on its fd: the first record of a burst
 * wakes it at once. After a pass that moved records it pauses PUMP_GATHER_NS before the next,
 * so that a burst is moved in batches: the kernel wakes a reader for each record that finds it
 * caught up, and a pump that caught up after every record woke once per record (throughput
 * through it was a third of the main thread's own reading). A record reserved and not yet
 * committed pauses it too: the ring's fd says "ready" until it is, and this thread, at a
 * higher priority, could keep its producer off the CPU it needs to commit it. A full queue
 * (or no memory for it) waits for the main thread to take from it, a millisecond at a time.
 */
#define PUMP_GATHER_NS 100000L
#define PUMP_BUSY_NS 20000L
#define PUMP_FULL_NS 1000000L
__attribute__((visibility("default"))) int bpfink_ring_pump_run(void *h) {
    struct ring_pump *p = h;
    int failed = 0;
    struct pump_priority pr = pump_boost();
    for (;;) {
        pump_lock(&p->q);
        uint64_t before = p->q.queued;
        uint64_t n = pull_locked(p);
        long pause = p->blocked ? PUMP_FULL_NS : n > 0 ? PUMP_GATHER_NS : p->busy ? PUMP_BUSY_NS : 0;
        pump_unlock(&p->q);
        if (n > 0 && before == 0) pump_wake(p->news_fd);
        /* A pause waits for the stop fd alone; otherwise for the ring's fd too. */
        struct pollfd fds[2] = {{.fd = pause ? -1 : p->map_fd, .events = POLLIN},
                                {.fd = p->stop_fd, .events = POLLIN}};
        struct timespec t = {0, pause};
        int rc = ppoll(fds, 2, pause ? &t : NULL, NULL);
        if (rc < 0) {
            if (++failed < 100) continue;
            int err = errno;
            pump_restore(&pr);
            return -err;
        }
        failed = 0;
        if (fds[1].revents) {
            pump_restore(&pr);
            return 0;
        }
    }
}

/* Moves what the ring holds now into the queue, on the caller's thread; returns how many. */
__attribute__((visibility("default"))) uint64_t bpfink_ring_pump_pull(void *h) {
    struct ring_pump *p = h;
    pump_lock(&p->q);
    uint64_t n = pull_locked(p);
    pump_unlock(&p->q);
    return n;
}

/*
 * Whether a record the pump has not handed over yet may match (1) or surely does not (0): at
 * least `min_len` bytes long, with the u64 at `at_a` or `at_b` equal to one of the `n_in`
 * values `in`, or the u32 at `at_u32` equal to `u32_a` or `u32_b` (offsets into the sample,
 * each field within `min_len`). What the ring holds now is pulled into the queue first; a
 * record left in the ring (the queue full, or one not committed yet), or more than `most`
 * records to look at, is a "may". For a report that waits only while an event about its file
 * is queued unread (src/kernel/fim_kernel.ts, behind()).
 */
__attribute__((visibility("default"))) int
bpfink_ring_pump_any(void *h, uint32_t min_len, uint32_t at_a, uint32_t at_b, const uint64_t *in,
                     uint32_t n_in, uint32_t at_u32, uint32_t u32_a, uint32_t u32_b, uint32_t most) {
    struct ring_pump *p = h;
    int found = 0;
    uint32_t seen = 0;
    pump_lock(&p->q);
    uint64_t before = p->q.queued;
    uint64_t pulled = pull_locked(p);
    if (p->blocked || p->busy) found = 1;
    for (struct pump_chunk *c = p->q.head; c && !found; c = c->next) {
        for (uint32_t off = c->rd; off < c->wr && !found;) {
            uint32_t len;
            memcpy(&len, c->bytes + off, 4);
            const uint8_t *rec = c->bytes + off + HDR;
            off += HDR + rounded(len);
            if (++seen > most) {
                found = 1;
                break;
            }
            if (len < min_len) continue;
            uint32_t v32;
            uint64_t a, b;
            memcpy(&v32, rec + at_u32, 4);
            memcpy(&a, rec + at_a, 8);
            memcpy(&b, rec + at_b, 8);
            if (v32 == u32_a || v32 == u32_b) found = 1;
            for (uint32_t i = 0; i < n_in && !found; i++) found = in[i] == a || in[i] == b;
        }
    }
    pump_unlock(&p->q);
    if (pulled > 0 && before == 0) pump_wake(p->news_fd);
    return found;
}

/*
 * Copies at most `max` queued records, whole, into `out` (`cap` bytes) as they are queued
 * (length, ring bytes, sample rounded up to 8 bytes); returns the bytes written. The news
 * is read first (records queued from then on write it again), and records left behind write
 * it again, so that the reader's next wait returns at once.
 */
__attribute__((visibility("default"))) uint32_t
bpfink_ring_pump_take(void *h, uint8_t *out, uint32_t cap, uint32_t max) {
    struct ring_pump *p = h;
    uint64_t news;
    ssize_t r = read(p->news_fd, &news, sizeof news); /* EAGAIN when there was none */
    (void)r;
    uint32_t at = 0;
    uint32_t n = 0;
    pump_lock(&p->q);
    for (struct pump_chunk *c; n < max && (c = pump_front(&p->q));) {
        uint32_t len, kbytes;
        memcpy(&len, c->bytes + c->rd, 4);
        memcpy(&kbytes, c->bytes + c->rd + 4, 4);
        uint32_t need = HDR + rounded(len);
        if (at + need > cap) break;
        memcpy(out + at, c->bytes + c->rd, need);
        at += need;
        c->rd += need;
        p->q.queued -= need;
        p->handed += kbytes;
        n++;
    }
    steer_users(p);
    if (p->q.queued == 0) {
        p->handed += p->skipped;
        p->skipped = 0;
    }
    /* Empty: the last chunk is let go too, so that an idle pump holds no queue memory. */
    pump_release_if_empty(&p->q);
    int left = p->q.queued > 0;
    pump_unlock(&p->q);
    if (left) pump_wake(p->news_fd);
    return at;
}

/* Bytes queued now (0), bytes of the kernel's ring taken so far (1), the most bytes queued
 * (2), times users' events were paused (3), whether it steers them (4: the flag is mapped). */
__attribute__((visibility("default"))) uint64_t bpfink_ring_pump_stat(void *h, uint32_t which) {
    struct ring_pump *p = h;
    uint64_t v = 0;
    pump_lock(&p->q);
    switch (which) {
    case 0: v = p->q.queued; break;
    case 1: v = p->handed; break;
    case 2: v = p->q.peak; break;
    case 3: v = p->pauses; break;
    case 4: v = p->paused != NULL; break;
    }
    pump_unlock(&p->q);
    return v;
}

/* Frees the pump and its queue (after bpfink_ring_pump_run has returned). */
__attribute__((visibility("default"))) void bpfink_ring_pump_close(void *h) {
    struct ring_pump *p = h;
    pump_free(&p->q);
    if (p->paused) {
        __atomic_store_n(p->paused, 0, __ATOMIC_RELAXED);
        munmap(p->paused, (size_t)sysconf(_SC_PAGESIZE));
    }
    free(p);
}
