/*
 * uds_pingpong.c: the kernel's floor for the service benchmark (issue 5
 * item 1): one message in flight over a raw AF_UNIX stream socket, echoed
 * by a forked child.  No nng, no threads: what any IPC over Unix sockets
 * on this machine pays at least per round trip.
 *
 *	uds_pingpong [-w WARMUP_S] [-d DURATION_S] [-s SIZE]
 *
 * Prints one line, in loadgen's terms:
 *
 *	uds_pingpong k=1 size=100 secs=S rps=R p50_us=.. p99_us=.. p999_us=..
 *
 * Exit codes: 0, 100 usage, 111 socket or fork failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#define SIZE_MAX_MSG 65536

/* Reads or writes exactly len bytes; -1 on error or end of file. */
static int
io_full(int fd, char *buf, size_t len, int writing)
{
	while (len > 0) {
		ssize_t n = writing ? write(fd, buf, len) : read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
echo_child(int fd, size_t size)
{
	static char buf[SIZE_MAX_MSG];
	while (io_full(fd, buf, size, 0) == 0 &&
	       io_full(fd, buf, size, 1) == 0)
		;
	_exit(0);
}

static int
usage(void)
{
	fprintf(stderr, "usage: uds_pingpong [-w WARMUP_S] [-d DURATION_S] "
	                "[-s SIZE]\n");
	return 100;
}

int
main(int argc, char **argv)
{
	static char buf[SIZE_MAX_MSG];
	static struct bench_hist hist;
	double warmup = 1, duration = 5;
	long size = 100;
	int sv[2], c;

	while ((c = getopt(argc, argv, "w:d:s:")) != -1) {
		switch (c) {
		case 'w':
			warmup = atof(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 's':
			size = atol(optarg);
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || warmup < 0 || duration <= 0 || size < 1 ||
	    size > SIZE_MAX_MSG)
		return usage();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		perror("socketpair");
		return 111;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 111;
	}
	if (pid == 0) {
		close(sv[0]);
		echo_child(sv[1], (size_t)size);
	}
	close(sv[1]);
	memset(buf, 'x', (size_t)size);

	uint64_t start = bench_now_ns();
	uint64_t t0 = start + (uint64_t)(warmup * 1e9);
	uint64_t t1 = t0 + (uint64_t)(duration * 1e9);
	uint64_t now = start, n = 0;
	while (now < t1) {
		uint64_t sent = now;
		if (io_full(sv[0], buf, (size_t)size, 1) != 0 ||
		    io_full(sv[0], buf, (size_t)size, 0) != 0) {
			perror("uds_pingpong");
			return 111;
		}
		now = bench_now_ns();
		if (sent >= t0) {
			bench_hist_record(&hist, now - sent);
			n++;
		}
	}
	close(sv[0]); /* the child reads end of file and exits */
	waitpid(pid, NULL, 0);
	double secs = (double)(now - t0) / 1e9;
	printf("uds_pingpong k=1 size=%ld secs=%.2f rps=%.0f p50_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f\n",
	       size, secs, (double)n / secs, bench_hist_us(&hist, 0.5),
	       bench_hist_us(&hist, 0.99), bench_hist_us(&hist, 0.999));
	return 0;
}
