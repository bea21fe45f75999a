// aio_write PATH N: opens PATH O_WRONLY (no O_CREAT, no O_TRUNC) and writes
// "aio" at offset 0 through Linux native AIO: one io_submit() of N requests,
// request N-1 the only write (the others are no-ops), with no write syscall.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int n = atoi(argv[2]);
	if (n < 1 || n > 64)
		return 2;
	int fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, 128, &ctx)) {
		perror("io_setup");
		return 1;
	}
	static char buf[] = "aio";
	struct iocb cbs[64];
	struct iocb *ptrs[64];
	memset(cbs, 0, sizeof(cbs));
	for (int i = 0; i < n; i++) {
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = i == n - 1 ? IOCB_CMD_PWRITE : IOCB_CMD_FDSYNC;
		if (i == n - 1) {
			cbs[i].aio_buf = (__u64)(unsigned long)buf;
			cbs[i].aio_nbytes = 3;
		}
		ptrs[i] = &cbs[i];
	}
	long got = syscall(SYS_io_submit, ctx, n, ptrs);
	if (got != n) {
		perror("io_submit");
		return 1;
	}
	struct io_event ev[64];
	if (syscall(SYS_io_getevents, ctx, n, n, ev, NULL) != n) {
		perror("io_getevents");
		return 1;
	}
	syscall(SYS_io_destroy, ctx);
	return 0;
}
