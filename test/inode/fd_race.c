// fd_race OP MODE W OTHER: a second thread writes W through its fd while the
// main thread, once that write is held in the kernel, changes what the fd
// number names:
//   OP   splice: splice(pipe -> W's fd), blocked until the pipe has data;
//        write:  write(W's fd) from a buffer on a userfaultfd page, stalled
//                in the kernel's copy until the page is supplied;
//   MODE none: nothing (the control); dup2: dup2(OTHER's fd, W's fd);
//        close: close(W's fd).
// The kernel took W's file at entry, so W is written in every mode. Exits 0
// when the held syscall wrote its 8 bytes into W.
#define _GNU_SOURCE
#include "uffd_page.h"
#include <pthread.h>

static int wfd;
static int pipefd[2];
static struct uffd_page page;
static const char *op;
static volatile pid_t tid;
static long result;

static void *writer(void *arg)
{
	(void)arg;
	tid = gettid();
	loff_t off = 0;
	if (!strcmp(op, "splice"))
		result = splice(pipefd[0], NULL, wfd, &off, 8, 0);
	else
		result = write(wfd, page.stall, 8);
	return NULL;
}

// Waits until thread `t` sleeps inside syscall `nr` (from /proc/self/task/T/syscall).
static void wait_in_syscall(pid_t t, int nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", t);
	for (int i = 0; i < 5000; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (atoi(buf) == nr && buf[0] != '-')
				return;
		}
		usleep(1000);
	}
	fprintf(stderr, "the writer never blocked in syscall %d\n", nr);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	op = argv[1];
	const char *mode = argv[2];
	wfd = open(argv[3], O_WRONLY);
	int ofd = open(argv[4], O_RDONLY);
	if (wfd < 0 || ofd < 0) {
		perror("open");
		return 1;
	}
	if (!strcmp(op, "splice")) {
		if (pipe(pipefd)) {
			perror("pipe");
			return 1;
		}
	} else if (!strcmp(op, "write")) {
		uffd_page_init(&page);
	} else {
		return 2;
	}
	pthread_t th;
	pthread_create(&th, NULL, writer, NULL);
	while (!tid)
		usleep(100);
	if (!strcmp(op, "splice"))
		wait_in_syscall(tid, SYS_splice);
	else
		uffd_page_wait(&page);
	// The write is held in the kernel, W's file already taken: swap the fd number.
	if (!strcmp(mode, "dup2"))
		dup2(ofd, wfd);
	else if (!strcmp(mode, "close"))
		close(wfd);
	else if (strcmp(mode, "none"))
		return 2;
	if (!strcmp(op, "splice")) {
		if (write(pipefd[1], "SPLICED\n", 8) != 8)
			return 1;
	} else {
		uffd_page_fill(&page, "WRITTEN\n", 8);
	}
	pthread_join(th, NULL);
	if (result != 8) {
		fprintf(stderr, "%s returned %ld\n", op, result);
		return 1;
	}
	return 0;
}
