// A page the kernel stalls on: two anonymous pages, the second registered
// with userfaultfd (missing mode), so a kernel access to it waits until
// uffd_page_fill() supplies it. What the inode tests share to hold a syscall
// in the kernel at a chosen point (root, or vm.unprivileged_userfaultfd=1).
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct uffd_page {
	int uffd;
	long size;    // the page size
	char *before; // an ordinary page, present
	char *stall;  // the next page, missing until filled
};

// Sets `p` up; exits with a message on failure.
static void uffd_page_init(struct uffd_page *p)
{
	p->size = sysconf(_SC_PAGESIZE);
	p->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (p->uffd < 0) {
		perror("userfaultfd");
		exit(1);
	}
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(p->uffd, UFFDIO_API, &api)) {
		perror("UFFDIO_API");
		exit(1);
	}
	p->before = mmap(NULL, 2 * p->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (p->before == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p->before, 0, p->size); // present
	p->stall = p->before + p->size;
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)p->stall, .len = p->size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(p->uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		exit(1);
	}
}

// Waits up to 5 s for the kernel to fault on the stalled page; exits on timeout.
static void uffd_page_wait(struct uffd_page *p)
{
	struct pollfd pfd = { .fd = p->uffd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1) {
		fprintf(stderr, "the kernel never touched the stalled page\n");
		exit(1);
	}
	struct uffd_msg msg;
	if (read(p->uffd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT) {
		fprintf(stderr, "unexpected userfaultfd message\n");
		exit(1);
	}
}

// Supplies the stalled page with `len` bytes of `bytes` (zeros after), which
// wakes the faulting syscall.
static void uffd_page_fill(struct uffd_page *p, const char *bytes, size_t len)
{
	char *src = calloc(1, p->size);
	memcpy(src, bytes, len < (size_t)p->size ? len : (size_t)p->size);
	struct uffdio_copy copy = {
		.dst = (unsigned long)p->stall,
		.src = (unsigned long)src,
		.len = p->size,
	};
	if (ioctl(p->uffd, UFFDIO_COPY, &copy)) {
		perror("UFFDIO_COPY");
		exit(1);
	}
	free(src);
}
