/*
 * loadgen.c: a closed-loop load generator for an nng REQ/REP service
 * (issue 5 item 1).
 *
 *	loadgen [-k K] [-w WARMUP_S] [-d DURATION_S] [-t TIMEOUT_MS]
 *	        [-f REQFILE] URL
 *
 * K contexts each keep one request in flight: a reply sends the next
 * request at once (nng's demo/async shape, client side).  Requests are
 * the lines of REQFILE, cycled, each context taking the next line
 * (default: {"op":"ping"}), so that one file drives both the bare echo
 * server and fxbreakerd.  Replies arriving in the DURATION_S after
 * WARMUP_S are timed and counted; the result is one line on stdout:
 *
 *	loadgen url=U k=K secs=S rps=R p50_us=.. p99_us=.. p999_us=..
 *	    replies=N allow=N deny=N errors=N throttle=N other=N timeouts=N
 *
 * Replies are sorted by a substring search, not parsed (see classify):
 * enough to prove a run measured real decisions, cheap enough not to
 * load the client.  It is no protocol checker.  Exit codes: 0 ok, 1 no
 * reply was measured, 100 usage, 111 cannot read REQFILE or connect.
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
#include "ipc_server.h" /* IPC_RECV_MAX: what the service accepts */

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_DONE };

struct counts {
	uint64_t replies, allow, deny, errors, throttle, other, timeouts;
};

/* One context.  Its callback never runs twice at once (one operation in
 * flight), so it owns its histogram and counts without a lock. */
struct worker {
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
	uint64_t sent_ns;
	struct counts c;
	struct bench_hist hist;
};

static struct {
	char **line;
	size_t *len;
	size_t nlines;
	atomic_size_t next; /* the next line to send, across contexts */
	atomic_int phase;
	atomic_int stopped; /* workers that sent their last request */
} lg;

static bool
contains(const char *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (buf[i] == needle[0] && memcmp(buf + i, needle, n) == 0)
			return true;
	return false;
}

/* docs/PROTOCOL.md: an error reply has a top-level "error"; a check
 * reply's first member is "decision" (jansson's compact form, no
 * spaces).  An echoed request has neither: "other". */
static void
classify(struct counts *c, const char *body, size_t len)
{
	c->replies++;
	if (contains(body, len, "\"error\""))
		c->errors++;
	else if (contains(body, len, "\"decision\":\"allow\""))
		c->allow++;
	else if (contains(body, len, "\"decision\":\"deny\""))
		c->deny++;
	else if (contains(body, len, "\"decision\":\"throttle\""))
		c->throttle++;
	else
		c->other++;
}

/* The worker sends nothing more (the run is over, or its socket is). */
static void
worker_stop(nng_msg *m)
{
	nng_msg_free(m);
	atomic_fetch_add(&lg.stopped, 1);
}

/* Sends the next line, in m (the last reply, reused: no allocation per
 * request) or in a new message when m is NULL. */
static void
worker_send(struct worker *w, nng_msg *m)
{
	size_t i = atomic_fetch_add(&lg.next, 1) % lg.nlines;

	if (m == NULL && nng_msg_alloc(&m, 0) != 0) {
		worker_stop(NULL);
		return;
	}
	nng_msg_clear(m);
	if (nng_msg_append(m, lg.line[i], lg.len[i]) != 0) {
		worker_stop(m);
		return;
	}
	w->sending = true;
	w->sent_ns = bench_now_ns();
	nng_aio_set_msg(w->aio, m);
	nng_ctx_send(w->ctx, w->aio);
}

static void
worker_cb(void *arg)
{
	struct worker *w = arg;
	int rv = nng_aio_result(w->aio);

	if (w->sending) {
		w->sending = false;
		if (rv != 0) { /* not sent: the message is still ours */
			worker_stop(nng_aio_get_msg(w->aio));
			return;
		}
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	if (rv == NNG_ETIMEDOUT && atomic_load(&lg.phase) != PHASE_DONE) {
		/* The request is abandoned (no resend: see main); the next
		 * one goes out on the same context. */
		w->c.timeouts++;
		worker_send(w, NULL);
		return;
	}
	if (rv != 0) {
		worker_stop(NULL);
		return;
	}
	nng_msg *m = nng_aio_get_msg(w->aio);
	int phase = atomic_load(&lg.phase);
	if (phase == PHASE_MEASURE) {
		bench_hist_record(&w->hist, bench_now_ns() - w->sent_ns);
		classify(&w->c, nng_msg_body(m), nng_msg_len(m));
	}
	if (phase == PHASE_DONE)
		worker_stop(m);
	else
		worker_send(w, m);
}

/* Reads REQFILE's non-empty lines into lg. */
static int
read_lines(const char *path)
{
	static char ping[] = "{\"op\":\"ping\"}";
	static char *ping_line = ping;
	static size_t ping_len = sizeof(ping) - 1;
	FILE *f;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (path == NULL) {
		lg.line = &ping_line;
		lg.len = &ping_len;
		lg.nlines = 1;
		return 0;
	}
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	while ((n = getline(&buf, &cap, f)) > 0) {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		if (n == 0)
			continue;
		if ((size_t)n > IPC_RECV_MAX) {
			/* The server would drop the connection, not reply. */
			fprintf(stderr, "%s: line %zu: over %d bytes\n", path,
			        lg.nlines + 1, IPC_RECV_MAX);
			break;
		}
		char **nl = realloc(lg.line, (lg.nlines + 1) * sizeof(*nl));
		size_t *nn = realloc(lg.len, (lg.nlines + 1) * sizeof(*nn));
		if (nl != NULL)
			lg.line = nl;
		if (nn != NULL)
			lg.len = nn;
		if (nl == NULL || nn == NULL ||
		    (lg.line[lg.nlines] = strdup(buf)) == NULL) {
			perror("loadgen");
			break;
		}
		lg.len[lg.nlines++] = (size_t)n;
	}
	free(buf);
	fclose(f);
	if (lg.nlines == 0) {
		fprintf(stderr, "%s: no requests\n", path);
		return -1;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: loadgen [-k K] [-w WARMUP_S] [-d DURATION_S] "
	                "[-t TIMEOUT_MS] [-f REQFILE] URL\n");
	return 100;
}

int
main(int argc, char **argv)
{
	int k = 16, timeout_ms = 10000, c, rv;
	double warmup = 1, duration = 5;
	const char *file = NULL;
	nng_socket s;

	while ((c = getopt(argc, argv, "k:w:d:t:f:")) != -1) {
		switch (c) {
		case 'k':
			k = atoi(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'f':
			file = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1 || k < 1 || k > 4096 || duration <= 0 ||
	    warmup < 0 || timeout_ms < 1)
		return usage();
	const char *url = argv[optind];
	if (read_lines(file) != 0)
		return 111;

	/* By default REQ arms a resend timer per request, under one global
	 * lock (measured: -10-28 % at K >= 4); the aio timeout below
	 * bounds a lost request instead. */
	if ((rv = nng_req0_open(&s)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME,
	                            NNG_DURATION_INFINITE)) != 0 ||
	    (rv = bench_dial(s, url, 10000)) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", url, nng_strerror(rv));
		return 111;
	}
	struct worker *w = calloc((size_t)k, sizeof(*w));
	if (w == NULL) {
		perror("loadgen");
		return 111;
	}
	for (int i = 0; i < k; i++) {
		if ((rv = nng_ctx_open(&w[i].ctx, s)) != 0 ||
		    (rv = nng_aio_alloc(&w[i].aio, worker_cb, &w[i])) != 0) {
			fprintf(stderr, "loadgen: %s\n", nng_strerror(rv));
			return 111;
		}
		nng_aio_set_timeout(w[i].aio, timeout_ms);
	}
	for (int i = 0; i < k; i++)
		worker_send(&w[i], NULL);

	bench_sleep(warmup);
	uint64_t t0 = bench_now_ns();
	atomic_store(&lg.phase, PHASE_MEASURE);
	bench_sleep(duration);
	atomic_store(&lg.phase, PHASE_DONE);
	uint64_t t1 = bench_now_ns();
	/* Let the requests in flight finish, so the server is idle when the
	 * next run starts. */
	for (int waited = 0; atomic_load(&lg.stopped) < k; waited++) {
		if (waited > timeout_ms + 1000)
			break;
		bench_sleep(0.001);
	}
	nng_close(s);

	struct counts t = {0};
	struct bench_hist *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		perror("loadgen");
		return 111;
	}
	for (int i = 0; i < k; i++) {
		nng_aio_stop(w[i].aio);
		nng_aio_free(w[i].aio);
		bench_hist_add(h, &w[i].hist);
		t.replies += w[i].c.replies;
		t.allow += w[i].c.allow;
		t.deny += w[i].c.deny;
		t.errors += w[i].c.errors;
		t.throttle += w[i].c.throttle;
		t.other += w[i].c.other;
		t.timeouts += w[i].c.timeouts;
	}
	double secs = (double)(t1 - t0) / 1e9;
	printf("loadgen url=%s k=%d secs=%.2f rps=%.0f p50_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f replies=%llu allow=%llu deny=%llu "
	       "errors=%llu throttle=%llu other=%llu timeouts=%llu\n",
	       url, k, secs, (double)t.replies / secs, bench_hist_us(h, 0.5),
	       bench_hist_us(h, 0.99), bench_hist_us(h, 0.999),
	       (unsigned long long)t.replies, (unsigned long long)t.allow,
	       (unsigned long long)t.deny, (unsigned long long)t.errors,
	       (unsigned long long)t.throttle, (unsigned long long)t.other,
	       (unsigned long long)t.timeouts);
	free(h);
	free(w);
	return t.replies > 0 ? 0 : 1;
}
