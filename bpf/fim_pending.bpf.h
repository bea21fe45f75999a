/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * In-kernel folding of events about one watched inode, until user space has
 * handled it (it deletes the inode's `pending` entry before re-reading the
 * file). A fold never hides who did what: the entry remembers each writer
 * (process id and start time) with the kinds of operation it was reported
 * for, so a new process, or a known one doing a new kind of operation,
 * produces a new event. Only a repeat of something already reported is
 * folded ("coalesced"). A failed map update is a drop (user space rescans),
 * never a fold.
 *
 * Concurrency: no compare-and-swap (5.10 lacks BPF atomics beyond add).
 * Whether to send an event is decided by each caller from what it read, so
 * a race between two CPUs can cost an extra event, never a missing one.
 */
#ifndef FIM_PENDING_BPF_H
#define FIM_PENDING_BPF_H

#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif

/* struct fim_pending, the map's value, is in fim_event.h: user space reads it. */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fim_key);
	__type(value, struct fim_pending);
} pending SEC(".maps");

/* The fold cache: on each CPU, the last inode, thread and operations that a
 * fold found noted in `pending`, with the re-arm generation it was found in.
 * A write that matches it folds with no hash lookup at all, the watched
 * map's included: its inode was watched when it was noted. User space bumps
 * the re-arm generation after each re-arm (a deleted pending entry:
 * FimKernel.rearm), so nothing noted before a re-arm matches after it: the
 * write then takes the lookups, finds no pending entry, and sends its event.
 *
 * The thread is named by its task pointer, one helper call (on 5.10 its
 * process id and start took three and two probe reads). A task pointer is
 * reused only after its thread exited, and every thread's exit bumps the
 * exit generation (fim_fold_exit): an entry noted before an exit never
 * matches after it. So the cache is on only while that exit hook is
 * attached (FIM_FOLD_ON, set by user space). A cached fold counts itself
 * in its own CPU's entry (`folded`, summed by user space), with no atomic.
 *
 * An fentry program may be preempted (on a kernel built or booted with full
 * preemption), and another thread on the same CPU may use the entry
 * meanwhile. So one writer at a time writes it (`writers`: a writer that
 * finds another one under way leaves the entry alone), `seq` is odd while it
 * writes and moves with every write, and a check that saw `seq` odd or moved
 * does not fold: a check never matches fields from two different writes.
 * `folded` may miss a fold that such a preemption interleaved. The entry,
 * struct fim_fold_cache, and the generations' indexes are in fim_event.h:
 * user space reads them. */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fim_fold_cache);
} fold_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FIM_FOLD_GEN_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fold_gen SEC(".maps");

static __always_inline __u64 fim_fold_gen(__u32 which)
{
	__u64 *gen = bpf_map_lookup_elem(&fold_gen, &which);

	return gen ? *gen : 0;
}

/* A thread exits: no fold cache entry noted before now matches after it. */
static __always_inline void fim_fold_exit(void)
{
	__u32 which = FIM_FOLD_EXITS;
	__u64 *n = bpf_map_lookup_elem(&fold_gen, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Start time of the current process (its main thread), in boot-time ns: with
 * the process id it names one process for good (a pid is reused, this pair
 * is not). /proc/PID/stat's starttime is this value in clock ticks. */
static __always_inline __u64 fim_process_start_ns(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, group_leader, start_boottime);
}

/* The current process: its id (tgid), and its start into `start`. */
static __always_inline __u32 fim_current_process(__u64 *start)
{
	*start = fim_process_start_ns();
	return bpf_get_current_pid_tgid() >> 32;
}

/* The same in a BTF-typed program (tp_btf, fexit): plain loads instead of
 * three helper calls, where the kernel has bpf_get_current_task_btf()
 * (5.11+). Where it has not, the branch is never verified and the helpers
 * read. Every write to a watched file that folds into a pending entry reads
 * it. */
static __always_inline __u32 fim_current_process_typed(__u64 *start)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct task_struct *task = bpf_get_current_task_btf();

		*start = task->group_leader->start_boottime;
		return task->tgid;
	}
	return fim_current_process(start);
}

/* Whether operation `op` by the current thread on inode `key` folds by the
 * fold cache alone; a fold is counted. Cheap to miss: a write to another
 * inode is told by a per-CPU array entry (one helper call) and two
 * compares. */
static __always_inline bool fim_fold_cached(const struct fim_key *key, __u32 op)
{
	struct fim_fold_cache *c;
	__u32 zero = 0;
	__u64 seq;

	c = bpf_map_lookup_elem(&fold_cache, &zero);
	if (!c)
		return false;
	seq = *(volatile __u64 *)&c->seq;
	barrier();
	if ((seq & 1) || c->key.ino != key->ino || c->key.dev != key->dev ||
	    !(c->ops & (1u << (op & 31))) || c->gen != fim_fold_gen(FIM_FOLD_REARMS) ||
	    c->exits != fim_fold_gen(FIM_FOLD_EXITS) || !fim_fold_gen(FIM_FOLD_ON) ||
	    c->task != bpf_get_current_task())
		return false;
	barrier();
	if (*(volatile __u64 *)&c->seq != seq)
		return false;
	c->folded++;
	return true;
}

/* A fold found writer `w` of inode `key` noted in `pending`, in re-arm
 * generation `gen` (read before the lookup): the next such write by this
 * thread folds by the cache. */
static __always_inline void fim_fold_remember(const struct fim_key *key, const struct fim_writer *w,
					      __u64 gen)
{
	__u32 zero = 0;
	struct fim_fold_cache *c = bpf_map_lookup_elem(&fold_cache, &zero);

	if (!c)
		return;
	__sync_fetch_and_add(&c->writers, 1);
	if (*(volatile __u64 *)&c->writers == 1) {
		*(volatile __u64 *)&c->seq = c->seq + 1;
		barrier();
		c->key = *key;
		c->task = bpf_get_current_task();
		c->ops = w->ops;
		c->gen = gen;
		c->exits = fim_fold_gen(FIM_FOLD_EXITS);
		barrier();
		*(volatile __u64 *)&c->seq = c->seq + 1;
	}
	__sync_fetch_and_add(&c->writers, -1);
}

/* Records operation `op` by the current process on pending inode `key`
 * (`typed`: the caller is a BTF-typed program, fim_current_process_typed();
 * `cache`: a hot write path that checks the fold cache, which a fold
 * fills; elsewhere the cache would only cost the verifier a copy).
 * Returns true when an event is to be sent, false when it folds into one
 * already sent (counted as coalesced) or the map refused it (counted as a
 * drop, which makes user space rescan). */
static __always_inline bool fim_pending_note(struct fim_key *key, __u32 op, __u32 *stat_out,
					     const bool typed, const bool cache)
{
	struct fim_pending fresh = {};
	struct fim_pending *p;
	__u64 start, gen = cache ? fim_fold_gen(FIM_FOLD_REARMS) : 0;
	__u32 tgid = typed ? fim_current_process_typed(&start) : fim_current_process(&start);
	__u32 bit = 1u << (op & 31);
	long err;
	int i, slot = -1;

	p = bpf_map_lookup_elem(&pending, key);
	if (!p) {
		fresh.w[0].start_ns = start;
		fresh.w[0].tgid = tgid;
		fresh.w[0].ops = bit;
		err = bpf_map_update_elem(&pending, key, &fresh, BPF_NOEXIST);
		if (!err)
			return true;
		/* Another CPU inserted it in between: note into that entry. Any
		 * other failure (map full, no memory) is a drop. */
		p = err == -17 /* EEXIST */ ? bpf_map_lookup_elem(&pending, key) : NULL;
		if (!p) {
			*stat_out = FIM_STAT_DROPS;
			return false;
		}
	}
#pragma unroll
	for (i = 0; i < FIM_PENDING_WRITERS; i++) {
		struct fim_writer *w = &p->w[i];
		if (w->ops && w->tgid == tgid && w->start_ns == start) {
			if (w->ops & bit) {
				*stat_out = FIM_STAT_COALESCED;
				if (cache)
					fim_fold_remember(key, w, gen);
				return false;
			}
			w->ops |= bit;
			return true;
		}
		if (!w->ops && slot < 0)
			slot = i;
	}
	/* A writer not seen yet on this inode: always an event. */
	if (slot < 0)
		slot = tgid % FIM_PENDING_WRITERS;
	p->w[slot & (FIM_PENDING_WRITERS - 1)].start_ns = start;
	p->w[slot & (FIM_PENDING_WRITERS - 1)].tgid = tgid;
	p->w[slot & (FIM_PENDING_WRITERS - 1)].ops = bit;
	return true;
}

/* An event for pending entry `key` found the ring buffer full: keep the
 * entry and its writers for user space's rescan (FimKernel.heldWriters).
 * Whether it was kept: an entry user space deleted meanwhile is not (its
 * loss, counted as unheld, makes user space rescan every watch). */
static __always_inline int fim_pending_hold(struct fim_key *key)
{
	struct fim_pending *p = bpf_map_lookup_elem(&pending, key);

	if (!p)
		return 0;
	p->held = 1;
	return 1;
}

#endif
