// append_on_input PATH [STAY_MS]: waits for one byte on stdin, then appends a
// line to PATH and stays STAY_MS (default 300 ms, so /proc still shows it);
// at EOF it exits without writing. Lets a test start a process, check its
// pid, and only then have it write.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char c;
	if (argc != 2 && argc != 3)
		return 2;
	int stay_ms = argc == 3 ? atoi(argv[2]) : 300;
	if (read(0, &c, 1) != 1)
		return 0;
	int fd = open(argv[1], O_WRONLY | O_APPEND);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	char line[64];
	int n = snprintf(line, sizeof(line), "written by %d\n", getpid());
	if (write(fd, line, n) != n) {
		perror("write");
		return 1;
	}
	usleep(stay_ms * 1000);
	return 0;
}
