/*
 * Test writer for the kernel matrix: appends its arguments to FILE with one writev(2)
 * (each argument one iovec, then a newline), so the scenario covers writev in guests that
 * hold no runtime but busybox and dist/bpfink.
 *
 *   writev FILE PART...
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3 || argc > 64) {
    fputs("usage: writev FILE PART... (at most 62 parts)\n", stderr);
    return 2;
  }
  struct iovec iov[64];
  int n = 0;
  for (int i = 2; i < argc; i++) {
    iov[n].iov_base = argv[i];
    iov[n++].iov_len = strlen(argv[i]);
  }
  iov[n].iov_base = "\n";
  iov[n++].iov_len = 1;
  int fd = open(argv[1], O_WRONLY | O_APPEND);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  if (writev(fd, iov, n) <= 0) {
    perror("writev");
    return 1;
  }
  return close(fd) == 0 ? 0 : 1;
}
