// path_stall OP PATH SWAP [SRC]: a second thread runs OP on PATH, whose bytes
// end on an ordinary page and whose terminating NUL sits on a userfaultfd
// page, so the kernel copies the path and then stalls. While it stalls, the
// main thread writes SWAP (same length; "-": nothing, the control) over the
// bytes the kernel already copied, then supplies the page. The kernel acts
// on PATH; a later read of the argument from user memory sees SWAP.
//   OP truncate: truncate(PATH, 3); chmod: chmod(PATH, 0600);
//      rename: rename(SRC, PATH), SRC moved over PATH.
// PATH is padded with leading slashes to a multiple of 8 bytes, so the
// kernel's word-sized reads never straddle the page boundary. Exits 0 when
// OP succeeded.
#define _GNU_SOURCE
#include "uffd_page.h"
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

static struct uffd_page page;
static const char *op;
static const char *src;
static char *arg; // the path argument, on the pages
static int result = -1;
static int err;

static void *actor(void *unused)
{
	(void)unused;
	if (!strcmp(op, "truncate"))
		result = truncate(arg, 3);
	else if (!strcmp(op, "chmod"))
		result = chmod(arg, 0600);
	else
		result = rename(src, arg);
	err = errno;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	op = argv[1];
	const char *path = argv[2];
	const char *swap = argv[3];
	src = argc > 4 ? argv[4] : NULL;
	if (strcmp(op, "truncate") && strcmp(op, "chmod") && (strcmp(op, "rename") || !src))
		return 2;
	size_t n = strlen(path);
	size_t pad = (8 - n % 8) % 8;
	if (strcmp(swap, "-") && strlen(swap) != n) {
		fprintf(stderr, "the swapped path must be as long as the path\n");
		return 2;
	}
	uffd_page_init(&page);
	if (n + pad > (size_t)page.size)
		return 2;
	arg = page.stall - (n + pad);
	memset(arg, '/', pad);
	memcpy(arg + pad, path, n); // its NUL is the stalled page's first byte
	pthread_t th;
	pthread_create(&th, NULL, actor, NULL);
	uffd_page_wait(&page);
	if (strcmp(swap, "-"))
		memcpy(arg + pad, swap, n);
	uffd_page_fill(&page, "", 0);
	pthread_join(th, NULL);
	if (result) {
		fprintf(stderr, "%s: %s\n", op, strerror(err));
		return 1;
	}
	return 0;
}
