// mprotect_write PATH single|span: maps PATH shared and read-only (opened
// O_RDWR, fd closed at once), then makes the mapping writable with mprotect()
// and writes "MPROT" through it, with no write syscall. `span` maps an
// anonymous page first and mprotects both pages in one call, so the file's
// mapping is the second VMA of the range.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int span = strcmp(argv[2], "span") == 0;
	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	char *base = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap anon");
		return 1;
	}
	char *p = mmap(base + 4096, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap file");
		return 1;
	}
	close(fd);
	char *from = span ? base : p;
	size_t len = span ? 2 * 4096 : 4096;
	if (mprotect(from, len, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		return 1;
	}
	memcpy(p, "MPROT", 5);
	msync(p, 4096, MS_SYNC);
	// Stay alive a moment, as a mapper does: bpfink watches while it lives.
	usleep(500 * 1000);
	return 0;
}
