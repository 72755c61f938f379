/*
 * echo_server.c: fxbreakerd's sockets with no engine behind them, the
 * baseline of the service benchmark (issue 5 item 1).
 *
 *	echo_server [-n CONTEXTS] ipc://PATH
 *
 * It is ipc/ipc_server.c itself, the code the daemon serves with (REP,
 * NNG_OPT_RECVMAXSZ 65536, socket files 0600, one nng context per request
 * in flight), with a check handler that answers each request with its own
 * bytes.  So service / echo measures exactly what the daemon adds: JSON,
 * the engine, its lock, the reply.  ipc_server_open wants all four of the
 * daemon's URLs: admin, tick and events listen on PATH.admin, PATH.tick
 * and PATH.events, and only admin answers (an echo too).  Runs until
 * SIGTERM or SIGINT.  Exit codes: 0, 100 usage, 111 cannot listen.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_server.h"

/* Must match daemon/fxbreakerd.c's check_contexts. */
#define DAEMON_CHECK_CONTEXTS 64

static void
on_echo(void *arg, struct ipc_call *call, const char *req, size_t len)
{
	/* req points into the message the reply reuses: ipc_call_reply
	 * would copy it onto itself (memcpy with source = destination).  A
	 * copy first keeps that defined, and costs what the daemon's own
	 * reply buffer costs. */
	static _Thread_local char copy[IPC_RECV_MAX];
	(void)arg;
	memcpy(copy, req, len);
	ipc_call_reply(call, copy, len);
}

static void
on_tick(void *arg, const char *msg, size_t len)
{
	(void)arg;
	(void)msg;
	(void)len;
}

static int
usage(void)
{
	fprintf(stderr, "usage: echo_server [-n CONTEXTS] ipc://PATH\n");
	return 100;
}

int
main(int argc, char **argv)
{
	int contexts = DAEMON_CHECK_CONTEXTS, c;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n')
			return usage();
		contexts = atoi(optarg);
	}
	if (optind != argc - 1 || contexts < 1 ||
	    strncmp(argv[optind], "ipc://", 6) != 0)
		return usage();

	const char *url = argv[optind];
	size_t n = strlen(url) + sizeof(".events");
	char *admin = malloc(n), *tick = malloc(n), *events = malloc(n);
	if (admin == NULL || tick == NULL || events == NULL) {
		perror("echo_server");
		return 111;
	}
	snprintf(admin, n, "%s.admin", url);
	snprintf(tick, n, "%s.tick", url);
	snprintf(events, n, "%s.events", url);

	/* Signals go to sigwait below, not to nng's threads. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct ipc_server_conf conf = {
	    .check_url = url,
	    .admin_url = admin,
	    .tick_url = tick,
	    .events_url = events,
	    .check_contexts = contexts,
	    .on_check = on_echo,
	    .on_admin = on_echo,
	    .on_tick = on_tick,
	};
	struct ipc_server *srv = NULL;
	char err[256];
	if (ipc_server_open(&conf, &srv, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "echo_server: %s\n", err);
		return 111;
	}
	int sig = 0;
	sigwait(&set, &sig);
	ipc_server_close(srv);
	free(admin);
	free(tick);
	free(events);
	return 0;
}
