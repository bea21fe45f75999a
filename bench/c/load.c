// Load generators for bench/: each mode prints one number on stdout.
//   write PATH N            ns per 1-byte write() to PATH (unwatched), N times: the mean of the
//                           fastest batch of 1024 calls (a neighbour or the host preempting the
//                           CPU only slows some batches, so the fastest is the undisturbed cost)
//   getppid N               ns per getppid() syscall, the same way
//   spaced PATH N USEC      N 1-byte writes to PATH, USEC microseconds apart; prints N
//   roundrobin DIR K SECS   1-byte writes round-robin over DIR/f0..f(K-1) for SECS; prints writes done
//   appendn PATH N          ns per 1-byte append to PATH (a watched file), N times (fastest batch)
//   stamped PATH HOLD       an append of the line "i\n" (i = 0, 1, ...) to PATH for each byte
//                           read on stdin, until its end; each opened and closed (HOLD 0), or
//                           all through one open fd (HOLD 1); prints, per line, CLOCK_MONOTONIC
//                           ns just before its write(). HOLD 2 replaces PATH instead: lines 0..i
//                           written to PATH.new, closed, and renamed over PATH (the stamp just
//                           before the rename), as shadow-utils, sed -i and editors do
//   hashwatch PATH          the least a tool that knows the content spends: at each close of PATH
//                           after writing (inotify IN_CLOSE_WRITE), reads it whole and hashes it
//                           (SHA-256, packaging/sha256.h); prints "watching PATH" once ready, then
//                           "PATH HEX" per read, until killed
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include "../../packaging/sha256.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define BATCH 1024

/* Keeps the fastest batch: call at every BATCH calls; returns the new start time. */
static double batch_done(double t0, double *best)
{
	double t = now_ns();
	if (t - t0 < *best)
		*best = t - t0;
	return now_ns();
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "write")) {
		long n = atol(argv[3]);
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			return perror("open"), 1;
		double best = 1e300, t0 = now_ns();
		for (long i = 1; i <= n; i++) {
			if (write(fd, "x", 1) != 1)
				return perror("write"), 1;
			if ((i & (BATCH - 1)) == 0) {
				lseek(fd, 0, SEEK_SET);
				t0 = batch_done(t0, &best);
			}
		}
		if (n < BATCH)
			return fprintf(stderr, "write: N must be at least %d\n", BATCH), 1;
		printf("%.2f\n", best / BATCH);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "appendn")) {
		long n = atol(argv[3]);
		int fd = open(argv[2], O_WRONLY | O_APPEND);
		if (fd < 0)
			return perror("open"), 1;
		if (n < BATCH)
			return fprintf(stderr, "appendn: N must be at least %d\n", BATCH), 1;
		double best = 1e300, t0 = now_ns();
		for (long i = 1; i <= n; i++) {
			if (write(fd, "a", 1) != 1)
				return perror("write"), 1;
			if ((i & (BATCH - 1)) == 0)
				t0 = batch_done(t0, &best);
		}
		printf("%.2f\n", best / BATCH);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "getppid")) {
		long n = atol(argv[2]);
		double best = 1e300, t0 = now_ns();
		for (long i = 1; i <= n; i++) {
			syscall(SYS_getppid);
			if ((i & (BATCH - 1)) == 0)
				t0 = batch_done(t0, &best);
		}
		if (n < BATCH)
			return fprintf(stderr, "getppid: N must be at least %d\n", BATCH), 1;
		printf("%.2f\n", best / BATCH);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "spaced")) {
		long n = atol(argv[3]);
		useconds_t us = atoi(argv[4]);
		int fd = open(argv[2], O_WRONLY | O_APPEND);
		if (fd < 0)
			return perror("open"), 1;
		for (long i = 0; i < n; i++) {
			if (write(fd, "y", 1) != 1)
				return perror("write"), 1;
			usleep(us);
		}
		printf("%ld\n", n);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "stamped")) {
		int hold = atoi(argv[3]), fd = -1;
		char line[32], go, tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.new", argv[2]);
		for (long i = 0; read(0, &go, 1) == 1; i++) {
			if (hold == 2) {
				// The new version gets the file's mode, as those tools give it (a 0600
				// one would be a file others may not read: reported without its lines).
				struct stat st;
				if (stat(argv[2], &st))
					return perror("stat"), 1;
				if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
					return perror("open"), 1;
				if (fchmod(fd, st.st_mode & 07777))
					return perror("fchmod"), 1;
				for (long j = 0; j <= i; j++) {
					int len = snprintf(line, sizeof(line), "%ld\n", j);
					if (write(fd, line, len) != len)
						return perror("write"), 1;
				}
				close(fd);
				fd = -1;
				double t = now_ns();
				if (rename(tmp, argv[2]))
					return perror("rename"), 1;
				printf("%.0f\n", t);
				fflush(stdout);
				continue;
			}
			if (fd < 0 && (fd = open(argv[2], O_WRONLY | O_APPEND)) < 0)
				return perror("open"), 1;
			int len = snprintf(line, sizeof(line), "%ld\n", i);
			double t = now_ns();
			if (write(fd, line, len) != len)
				return perror("write"), 1;
			if (!hold) {
				close(fd);
				fd = -1;
			}
			printf("%.0f\n", t);
			fflush(stdout);
		}
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "roundrobin")) {
		int k = atoi(argv[3]);
		double secs = atof(argv[4]);
		int *fds = calloc(k, sizeof(int));
		char path[4096];
		for (int i = 0; i < k; i++) {
			snprintf(path, sizeof(path), "%s/f%d", argv[2], i);
			fds[i] = open(path, O_WRONLY | O_APPEND);
			if (fds[i] < 0)
				return perror("open"), 1;
		}
		double end = now_ns() + secs * 1e9;
		long writes = 0;
		while (now_ns() < end) {
			for (int i = 0; i < k; i++, writes++)
				if (write(fds[i], "z", 1) != 1)
					return perror("write"), 1;
		}
		printf("%ld\n", writes);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "hashwatch")) {
		int in = inotify_init1(IN_CLOEXEC);
		if (in < 0 || inotify_add_watch(in, argv[2], IN_CLOSE_WRITE) < 0)
			return perror("inotify"), 1;
		printf("watching %s\n", argv[2]);
		fflush(stdout);
		static char events[4096] __attribute__((aligned(8)));
		static uint8_t chunk[1 << 16];
		while (read(in, events, sizeof(events)) > 0) {
			int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			struct sha256_ctx c;
			sha256_init(&c);
			ssize_t n;
			while ((n = read(fd, chunk, sizeof(chunk))) > 0)
				sha256_update(&c, chunk, (size_t)n);
			close(fd);
			char hex[65];
			sha256_final_hex(&c, hex);
			hex[64] = 0;
			printf("%s %s\n", argv[2], hex);
			fflush(stdout);
		}
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of load.c\n");
	return 2;
}
