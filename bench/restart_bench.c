/*
 * restart_bench.c: start-up time of fxbreakerd (issue 5 item 3), from the
 * exec of the daemon to its first answer on check_url.
 *
 *     restart_bench FXBREAKERD CONFIG CHECK_SOCKET PRODUCT RUNS LOG
 *
 * Each run removes CHECK_SOCKET (the ipc:// socket file of the config's
 * check_url), forks and execs `FXBREAKERD -f CONFIG` (stderr appended to
 * LOG), watches for the socket file every 0.2 ms, then asks one check for
 * PRODUCT through the C client library and stops the clock when the
 * answer arrives.  The daemon opens its sockets last (after the ledger's
 * checks, the chain's tail, the restore), so the socket file appearing
 * means it is about to serve, and the answer proves it serves.  A check
 * rather than {"op":"ping"}: the client library speaks only check, and
 * both are answered by the same handler on the same socket.  Then the
 * daemon is stopped (SIGTERM) and waited for, outside the clock.
 *
 * Prints each run and, last, the median as restart_ms=N.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "fxb_client.h"

#define RUNS_MAX 64

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One start: returns ms from exec to the first answer, or -1. */
static double
one_run(char *const argv[], const char *sock, const char *product,
        const char *log)
{
	struct stat sb;
	struct fxb_client *c = NULL;
	struct fxb_client_result res;
	char url[4200];
	int status;
	double t0, t1 = -1;

	unlink(sock);
	t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	while (stat(sock, &sb) != 0) {
		struct timespec ts = {0, 200000};
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "restart_bench: fxbreakerd exited "
			                "before serving (see the log)\n");
			return -1;
		}
		if (now_ms() - t0 > 120000)
			goto out;
		nanosleep(&ts, NULL);
	}
	snprintf(url, sizeof(url), "ipc://%s", sock);
	if (fxb_client_open(url, 10000, &c) != 0)
		goto out;
	fxb_client_check(c, product, "1.00", NULL, NULL, &res);
	if (!res.by_policy)
		t1 = now_ms();
	else
		fprintf(stderr, "restart_bench: no answer: %s\n", res.message);
	fxb_client_close(c);
out:
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return t1 < 0 ? -1 : t1 - t0;
}

int
main(int argc, char **argv)
{
	double ms[RUNS_MAX];

	if (argc != 7) {
		fprintf(stderr, "usage: restart_bench FXBREAKERD CONFIG "
		                "CHECK_SOCKET PRODUCT RUNS LOG\n");
		return 2;
	}
	int runs = atoi(argv[5]);
	if (runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "restart_bench: RUNS must be 1..%d\n",
		        RUNS_MAX);
		return 2;
	}
	static char fopt[] = "-f";
	char *dargv[] = {argv[1], fopt, argv[2], NULL};
	for (int i = 0; i < runs; i++) {
		ms[i] = one_run(dargv, argv[3], argv[4], argv[6]);
		if (ms[i] < 0)
			return 1;
		printf("  start %d: %.1f ms\n", i + 1, ms[i]);
		fflush(stdout);
	}
	qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
	printf("restart_ms=%.0f\n", ms[runs / 2]);
	return 0;
}
