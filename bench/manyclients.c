/*
 * manyclients.c: N clients at once, each its own nng REQ socket and
 * connection, each sending one request and waiting for its answer (issue
 * 9 item 8, `make soak`).  It asks whether the service answers everyone
 * when a whole branch network connects at the same moment, not how fast.
 *
 *	manyclients [-n N] [-t TIMEOUT_MS] [-r REQUEST] URL
 *
 * All N sockets are dialled first, each dial waiting for its connection
 * (so that N connections are open at once), then every request is sent without
 *waiting, then the replies are collected.  Prints one line:
 *
 *	manyclients url=U n=N connected=N answered=N errors=N timeouts=N
 *	    secs=S p50_us=.. p99_us=.. max_us=..
 *
 * where errors counts replies carrying a top-level "error" and timeouts
 * the clients left without a reply after TIMEOUT_MS (default 30,000).
 * Exit codes: 0 every client answered without an error, 1 otherwise, 100
 * usage, 111 a socket could not be opened or dialled (the fd limit: each
 * client is one descriptor here and one in the service).
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

struct client {
	nng_socket s;
	nng_aio *aio;
	bool sending;
	uint64_t sent_ns, took_ns;
	int result; /* 0 waiting, 1 answered, 2 error reply, 3 failed */
};

static atomic_int done;
static const char *request = "{\"op\":\"ping\"}";

static void
client_cb(void *arg)
{
	struct client *c = arg;
	int rv = nng_aio_result(c->aio);

	if (rv != 0) {
		if (c->sending)
			nng_msg_free(nng_aio_get_msg(c->aio));
		c->result = 3;
		atomic_fetch_add(&done, 1);
		return;
	}
	if (c->sending) {
		c->sending = false;
		nng_recv_aio(c->s, c->aio);
		return;
	}
	nng_msg *m = nng_aio_get_msg(c->aio);
	c->took_ns = bench_now_ns() - c->sent_ns;
	c->result = 1;
	if (nng_msg_len(m) >= 8 &&
	    strstr((const char *)nng_msg_body(m), "\"error\"") != NULL)
		c->result = 2;
	nng_msg_free(m);
	atomic_fetch_add(&done, 1);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int n = 1000, timeout_ms = 30000, opt;
	while ((opt = getopt(argc, argv, "n:t:r:")) != -1) {
		switch (opt) {
		case 'n':
			n = atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'r':
			request = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || n < 1 || timeout_ms < 1)
		goto usage;
	const char *url = argv[optind];
	struct client *cl = calloc((size_t)n, sizeof(*cl));
	uint64_t *took = calloc((size_t)n, sizeof(*took));
	if (cl == NULL || took == NULL)
		return 111;

	int connected = 0;
	for (int i = 0; i < n; i++) {
		int rv;
		if ((rv = nng_req0_open(&cl[i].s)) != 0 ||
		    (rv = nng_aio_alloc(&cl[i].aio, client_cb, &cl[i])) != 0 ||
		    (rv = nng_dial(cl[i].s, url, NULL, 0)) != 0) {
			fprintf(stderr, "manyclients: client %d: %s\n", i,
			        nng_strerror(rv));
			return 111;
		}
		/* No resend: one request per client, and a late answer is
		 * a timeout, not a second request. */
		nng_socket_set_ms(cl[i].s, NNG_OPT_REQ_RESENDTIME,
		                  NNG_DURATION_INFINITE);
		nng_aio_set_timeout(cl[i].aio, timeout_ms);
		connected++;
	}
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		nng_msg *m;
		if (nng_msg_alloc(&m, 0) != 0 ||
		    nng_msg_append(m, request, strlen(request)) != 0)
			return 111;
		cl[i].sending = true;
		cl[i].sent_ns = bench_now_ns();
		nng_aio_set_msg(cl[i].aio, m);
		nng_send_aio(cl[i].s, cl[i].aio);
	}
	while (atomic_load(&done) < n)
		bench_sleep(0.01);
	double secs = (double)(bench_now_ns() - t0) / 1e9;

	int answered = 0, errors = 0, timeouts = 0, k = 0;
	for (int i = 0; i < n; i++) {
		if (cl[i].result == 1 || cl[i].result == 2) {
			answered++;
			took[k++] = cl[i].took_ns;
		}
		errors += cl[i].result == 2;
		timeouts += cl[i].result == 3;
	}
	qsort(took, (size_t)k, sizeof(*took), cmp_u64);
	double p50 = k ? (double)took[(k - 1) / 2] / 1e3 : 0;
	double p99 = k ? (double)took[(size_t)((k - 1) * 99 / 100)] / 1e3 : 0;
	double mx = k ? (double)took[k - 1] / 1e3 : 0;
	printf("manyclients url=%s n=%d connected=%d answered=%d errors=%d "
	       "timeouts=%d secs=%.2f p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
	       url, n, connected, answered, errors, timeouts, secs, p50, p99,
	       mx);
	for (int i = 0; i < n; i++) {
		nng_aio_free(cl[i].aio);
		nng_close(cl[i].s);
	}
	free(cl);
	free(took);
	return answered == n && errors == 0 ? 0 : 1;
usage:
	fprintf(
	    stderr,
	    "usage: manyclients [-n N] [-t TIMEOUT_MS] [-r REQUEST] URL\n");
	return 100;
}
