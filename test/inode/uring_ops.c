// uring_ops write PATH: writes "uring\n" at offset 0 of PATH (opened
//   O_WRONLY, no O_CREAT, no O_TRUNC) through io_uring with
//   IOSQE_CQE_SKIP_SUCCESS: no write syscall, and no completion is posted.
// uring_ops rename FROM TO: renameat(FROM, TO) through io_uring.
// uring_ops create PATH: openat(PATH, O_CREAT | O_WRONLY | O_EXCL) through
//   io_uring, writes "uring\n" and closes it (write and close syscalls).
// uring_ops unlink PATH: unlinkat(PATH) through io_uring.
// uring_ops sleep MS: sleeps MS milliseconds.
// Operations run in order, in one process: uring_ops create A sleep 60 rename A B.
// No path operation is a syscall: only fanotify sees them, never the syscall hooks.
// Raw syscalls (no liburing); a linked NOP waits for each request to end.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int ring_fd;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;
static unsigned *cq_mask;

static int setup(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	ring_fd = syscall(SYS_io_uring_setup, 4, &p);
	if (ring_fd < 0)
		return -1;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(0, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
			IORING_OFF_CQ_RING);
	sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return -1;
	sq_tail = (unsigned *)(sq + p.sq_off.tail);
	sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)(sq + p.sq_off.array);
	cq_head = (unsigned *)(cq + p.cq_off.head);
	cq_tail = (unsigned *)(cq + p.cq_off.tail);
	cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

static struct io_uring_sqe *next_sqe(void)
{
	unsigned tail = *sq_tail;
	unsigned i = tail & *sq_mask;
	struct io_uring_sqe *sqe = &sqes[i];
	memset(sqe, 0, sizeof *sqe);
	sq_array[i] = i;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	return sqe;
}

/* Submits the request in the last SQE with a linked NOP behind it and waits for both; the
 * request's result (0 for a skipped completion), or -1 after saying why it failed. */
static int submit(int skip)
{
	static char *what[] = { "request", "nop" };
	struct io_uring_sqe *sqe = next_sqe();
	sqe->opcode = IORING_OP_NOP;
	sqe->user_data = 2;
	if (syscall(SYS_io_uring_enter, ring_fd, 2, skip ? 1 : 2, IORING_ENTER_GETEVENTS, 0, 0) <
	    0) {
		perror("io_uring_enter");
		return -1;
	}
	// Every posted completion must be a success (a failed skipped write posts one too).
	int res = 0;
	unsigned tail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
	unsigned head = *cq_head;
	for (; head != tail; head++) {
		struct io_uring_cqe *c = &cqes[head & *cq_mask];
		if (c->res < 0) {
			fprintf(stderr, "%s: %s\n", what[c->user_data - 1], strerror(-c->res));
			return -1;
		}
		if (c->user_data == 1 && skip) {
			fprintf(stderr, "the skipped write posted a completion\n");
			return -1;
		}
		if (c->user_data == 1)
			res = c->res;
	}
	__atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
	return res;
}

int main(int argc, char **argv)
{
	static char buf[] = "uring\n";
	if (argc < 3 || setup())
		return 2;
	for (int i = 1; i < argc; i++) {
		struct io_uring_sqe *sqe;
		if (!strcmp(argv[i], "sleep") && i + 1 < argc) {
			struct timespec ts = { 0, atol(argv[++i]) * 1000000L };
			nanosleep(&ts, 0);
			continue;
		}
		sqe = next_sqe();
		sqe->user_data = 1;
		sqe->flags = IOSQE_IO_LINK;
		if (!strcmp(argv[i], "write") && i + 1 < argc) {
			int fd = open(argv[++i], O_WRONLY);
			if (fd < 0) {
				perror("open");
				return 1;
			}
			sqe->opcode = IORING_OP_WRITE;
			sqe->fd = fd;
			sqe->addr = (unsigned long)buf;
			sqe->len = sizeof buf - 1;
			sqe->off = 0;
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
			if (submit(1) < 0)
				return 1;
		} else if (!strcmp(argv[i], "rename") && i + 2 < argc) {
			sqe->opcode = IORING_OP_RENAMEAT;
			sqe->fd = AT_FDCWD;
			sqe->addr = (unsigned long)argv[i + 1];
			sqe->len = AT_FDCWD;
			sqe->addr2 = (unsigned long)argv[i + 2];
			i += 2;
			if (submit(0) < 0)
				return 1;
		} else if (!strcmp(argv[i], "create") && i + 1 < argc) {
			sqe->opcode = IORING_OP_OPENAT;
			sqe->fd = AT_FDCWD;
			sqe->addr = (unsigned long)argv[++i];
			sqe->open_flags = O_CREAT | O_WRONLY | O_EXCL;
			sqe->len = 0644;
			int fd = submit(0);
			if (fd < 0 || write(fd, buf, sizeof buf - 1) < 0 || close(fd) < 0)
				return 1;
		} else if (!strcmp(argv[i], "unlink") && i + 1 < argc) {
			sqe->opcode = IORING_OP_UNLINKAT;
			sqe->fd = AT_FDCWD;
			sqe->addr = (unsigned long)argv[++i];
			if (submit(0) < 0)
				return 1;
		} else {
			return 2;
		}
	}
	return 0;
}
