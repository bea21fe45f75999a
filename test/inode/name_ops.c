// name_ops OP ARG... : runs name operations back to back, as one process, so
// that each happens within microseconds of the last (no fork between them):
//   create PATH TEXT  open(O_CREAT|O_WRONLY|O_TRUNC), write TEXT, close
//   unlink PATH       unlink
//   rename FROM TO    rename
//   link FROM TO      link
//   mkdir PATH        mkdir 0755
//   rmdir PATH        rmdir
// Exits 0 when every operation succeeded, else 1 naming the one that failed.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *op, const char *path)
{
	perror(op);
	fprintf(stderr, "name_ops: %s %s failed\n", op, path);
	return 1;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc;) {
		const char *op = argv[i];
		if (!strcmp(op, "create") && i + 2 < argc) {
			int fd = open(argv[i + 1], O_CREAT | O_WRONLY | O_TRUNC, 0644);
			size_t n = strlen(argv[i + 2]);
			if (fd < 0 || write(fd, argv[i + 2], n) != (ssize_t)n || close(fd) != 0)
				return fail(op, argv[i + 1]);
			i += 3;
		} else if (!strcmp(op, "unlink") && i + 1 < argc) {
			if (unlink(argv[i + 1]) != 0)
				return fail(op, argv[i + 1]);
			i += 2;
		} else if (!strcmp(op, "rename") && i + 2 < argc) {
			if (rename(argv[i + 1], argv[i + 2]) != 0)
				return fail(op, argv[i + 1]);
			i += 3;
		} else if (!strcmp(op, "link") && i + 2 < argc) {
			if (link(argv[i + 1], argv[i + 2]) != 0)
				return fail(op, argv[i + 1]);
			i += 3;
		} else if (!strcmp(op, "mkdir") && i + 1 < argc) {
			if (mkdir(argv[i + 1], 0755) != 0)
				return fail(op, argv[i + 1]);
			i += 2;
		} else if (!strcmp(op, "rmdir") && i + 1 < argc) {
			if (rmdir(argv[i + 1]) != 0)
				return fail(op, argv[i + 1]);
			i += 2;
		} else {
			fprintf(stderr, "name_ops: bad operation %s\n", op);
			return 2;
		}
	}
	return 0;
}
