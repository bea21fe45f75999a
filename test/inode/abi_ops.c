/*
 * One file operation per run, done the way the kernel-side tests need it:
 * through the 32-bit syscall ABI (int $0x80 from this 64-bit program), or
 * through the AT_EMPTY_PATH forms of the *at() syscalls. Built by the tests
 * with gcc; usage: abi_ops OP FILE. Exits 0 when the syscall succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* A 32-bit syscall from 64-bit code: the kernel runs it as i386's. */
static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

/* Memory an i386 syscall can address (below 4 GiB). */
static char *low_copy(const char *s)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	strncpy(p, s, 4095);
	return p;
}

static int fail(const char *what, long ret)
{
	fprintf(stderr, "%s: %s\n", what, strerror(ret < 0 ? (int)-ret : errno));
	return 1;
}

struct xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

int main(int argc, char **argv)
{
	const char *op, *file;
	long ret;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: abi_ops OP FILE\n");
		return 2;
	}
	op = argv[1];
	file = argv[2];
	fd = open(file, O_RDWR | O_APPEND);
	if (fd < 0)
		return fail("open", 0);
	if (!strcmp(op, "write64")) {
		ret = write(fd, "w64\n", 4) == 4 ? 0 : -errno;
	} else if (!strcmp(op, "int80-write")) {
		char *buf = low_copy("i386\n");
		ret = buf ? int80(4 /* write */, fd, (long)(uintptr_t)buf, 5) : -ENOMEM;
		ret = ret == 5 ? 0 : (ret < 0 ? ret : -EIO);
	} else if (!strcmp(op, "int80-fchmod")) {
		ret = int80(94 /* fchmod */, fd, 0604, 0);
	} else if (!strcmp(op, "int80-truncate64")) {
		char *path = low_copy(file);
		ret = path ? int80(193 /* truncate64 */, (long)(uintptr_t)path, 3, 0) : -ENOMEM;
	} else if (!strcmp(op, "fchownat-empty")) {
		ret = syscall(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH);
	} else if (!strcmp(op, "utimensat-empty")) {
		ret = syscall(SYS_utimensat, fd, "", NULL, AT_EMPTY_PATH);
	} else if (!strcmp(op, "fchmodat2-empty")) {
		ret = syscall(452 /* fchmodat2 */, fd, "", 0640, AT_EMPTY_PATH);
	} else if (!strcmp(op, "setxattrat-empty")) {
		struct xattr_args a = { .value = (uintptr_t)"v", .size = 1, .flags = 0 };
		ret = syscall(463 /* setxattrat */, fd, "", AT_EMPTY_PATH, "user.bpfink", &a,
			      sizeof(a));
	} else {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}
	if (ret < 0 && ret != -1)
		return fail(op, ret);
	if (ret == -1)
		return fail(op, 0);
	return 0;
}
