/*
 * bench_util.c: clock, histogram and dial for the benchmark tools (see
 * bench_util.h).
 */
#include <stdatomic.h>
#include <time.h>

#include "bench_util.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
bench_sleep(double secs)
{
	struct timespec ts;
	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0)
		; /* interrupted: sleep what is left */
}

/* Bucket of v: below 2*SUB, v itself; above, group g >= 1 holds
 * [SUB << g, 2*SUB << g) in SUB steps of 2^g. */
static unsigned
hist_index(uint64_t v)
{
	if (v < 2 * BENCH_HIST_SUB)
		return (unsigned)v;
	unsigned g = (unsigned)(63 - __builtin_clzll(v)) - 6;
	return 2 * BENCH_HIST_SUB + (g - 1) * BENCH_HIST_SUB +
	       (unsigned)((v >> g) - BENCH_HIST_SUB);
}

/* The middle of bucket i, the inverse of hist_index. */
static double
hist_value(unsigned i)
{
	if (i < 2 * BENCH_HIST_SUB)
		return (double)i;
	unsigned g = (i - 2 * BENCH_HIST_SUB) / BENCH_HIST_SUB + 1;
	uint64_t sub = (i - 2 * BENCH_HIST_SUB) % BENCH_HIST_SUB;
	uint64_t lo = (BENCH_HIST_SUB + sub) << g;
	return (double)lo + (double)(1ull << g) / 2;
}

void
bench_hist_record(struct bench_hist *h, uint64_t ns)
{
	h->n[hist_index(ns)]++;
	h->count++;
}

void
bench_hist_add(struct bench_hist *dst, const struct bench_hist *src)
{
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->n[i] += src->n[i];
	dst->count += src->count;
}

double
bench_hist_us(const struct bench_hist *h, double q)
{
	/* The rank of the quantile, rounded up: p99 of 100 values is the
	 * 99th, never the 100th. */
	double want = q * (double)h->count;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want || rank == 0)
		rank++;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS && h->count > 0; i++) {
		seen += h->n[i];
		if (seen >= rank)
			return hist_value(i) / 1000;
	}
	return 0;
}

static atomic_int dial_connected;

static void
dial_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	(void)arg;
	atomic_store(&dial_connected, 1);
}

int
bench_dial(nng_socket s, const char *url, int timeout_ms)
{
	int rv;
	if ((rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, dial_pipe_cb,
	                          NULL)) != 0 ||
	    (rv = nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		return rv;
	for (int waited = 0; !atomic_load(&dial_connected); waited++) {
		if (waited >= timeout_ms)
			return NNG_ETIMEDOUT;
		bench_sleep(0.001);
	}
	return 0;
}
