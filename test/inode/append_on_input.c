// append_on_input PATH: waits for one byte on stdin, then appends a line to
// PATH and stays 300 ms (so /proc still shows it); at EOF it exits without
// writing. Lets a test start a process, check its pid, and only then have
// it write.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char c;
	if (argc != 2)
		return 2;
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
	usleep(300 * 1000);
	return 0;
}
