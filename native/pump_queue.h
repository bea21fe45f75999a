/*
 * The queue a pump thread fills and the main thread empties (ring_pump.c, fd_pump.c): chunks
 * mapped as they are needed and unmapped as they are emptied, so that an idle pump holds no
 * queue memory, under a spin lock that each side holds for one pass, microseconds.
 */
#ifndef BPFINK_PUMP_QUEUE_H
#define BPFINK_PUMP_QUEUE_H

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Bytes of a queue chunk, its header included. */
#define PUMP_CHUNK (256u * 1024u)

struct pump_chunk {
    struct pump_chunk *next;
    uint32_t rd; /* offset of the next byte to take */
    uint32_t wr; /* offset past the last byte put */
    uint8_t bytes[];
};
#define PUMP_CHUNK_DATA (PUMP_CHUNK - (uint32_t)sizeof(struct pump_chunk))

struct pump_queue {
    struct pump_chunk *head, *tail;
    uint64_t queued; /* bytes queued now */
    uint64_t peak;   /* the most bytes queued at once */
    int lock;
};

static inline void pump_lock(struct pump_queue *q) {
    while (__atomic_exchange_n(&q->lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&q->lock, __ATOMIC_RELAXED)) __builtin_ia32_pause();
    }
}

static inline void pump_unlock(struct pump_queue *q) {
    __atomic_store_n(&q->lock, 0, __ATOMIC_RELEASE);
}

/* Writes eventfd `fd` once: the main thread's wait returns. */
static inline void pump_wake(int fd) {
    uint64_t one = 1;
    /* A full eventfd counter (never, at one a wake-up) or EINTR: the reader wakes anyway. */
    ssize_t w = write(fd, &one, sizeof one);
    (void)w;
}

/* Room at the queue's tail for `n` bytes (the lock held): a new chunk when the tail has none;
 * NULL when it cannot be mapped. The caller adds what it put to the tail's `wr`. */
static inline uint8_t *pump_room(struct pump_queue *q, uint32_t n) {
    if (q->tail && PUMP_CHUNK_DATA - q->tail->wr >= n) return q->tail->bytes + q->tail->wr;
    struct pump_chunk *c =
        mmap(NULL, PUMP_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) return NULL;
    c->next = NULL;
    c->rd = c->wr = 0;
    if (q->tail) q->tail->next = c;
    else q->head = c;
    q->tail = c;
    return c->bytes;
}

/* The chunk to take from next (the lock held), emptied chunks before it unmapped; NULL when
 * the queue holds nothing. */
static inline struct pump_chunk *pump_front(struct pump_queue *q) {
    while (q->head && q->head->rd == q->head->wr) {
        if (q->head == q->tail) return NULL;
        struct pump_chunk *c = q->head;
        q->head = c->next;
        munmap(c, PUMP_CHUNK);
    }
    return q->head;
}

/* Lets the last chunk go once the queue is empty (the lock held). */
static inline void pump_release_if_empty(struct pump_queue *q) {
    if (q->queued != 0 || !q->head) return;
    munmap(q->head, PUMP_CHUNK);
    q->head = q->tail = NULL;
}

/* Frees every chunk (no other user left). */
static inline void pump_free(struct pump_queue *q) {
    for (struct pump_chunk *c = q->head, *next; c; c = next) {
        next = c->next;
        munmap(c, PUMP_CHUNK);
    }
    q->head = q->tail = NULL;
    q->queued = 0;
}

/*
 * A pump's thread's nice value. It does little (a copy of what it reads) and must get a core
 * before the kernel's queue fills, also while the host's other work keeps every core busy: as
 * auditd raises its own priority (auditd.conf's priority_boost) for its kernel queue. Where
 * raising it is refused (no CAP_SYS_NICE), it runs at the agent's.
 */
#define PUMP_NICE (-10)

/* The calling thread's nice value before pump_boost(), to give back. */
struct pump_priority {
    pid_t tid;
    int was;
    int boosted;
};

/* Raises this thread alone to PUMP_NICE (Linux keeps a nice value per thread): the pump runs on
 * a thread of Deno's blocking pool, which goes back to the pool as it came (pump_restore). */
static inline struct pump_priority pump_boost(void) {
    struct pump_priority pr = {.tid = (pid_t)syscall(SYS_gettid)};
    errno = 0;
    pr.was = getpriority(PRIO_PROCESS, (id_t)pr.tid);
    pr.boosted = errno == 0 && pr.was > PUMP_NICE &&
                 setpriority(PRIO_PROCESS, (id_t)pr.tid, PUMP_NICE) == 0;
    return pr;
}

static inline void pump_restore(const struct pump_priority *pr) {
    if (pr->boosted) setpriority(PRIO_PROCESS, (id_t)pr->tid, pr->was);
}

#endif
