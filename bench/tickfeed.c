/*
 * tickfeed.c: a rate feed for the service benchmark (issue 5 item 1).
 *
 *	tickfeed [-r RATE] [-d SECS] [-e EPOCH_MS] URL
 *
 * Pushes {"op":"tick","pair":P,"px":X} to URL (fxbreakerd's tick_url,
 * PUSH to its PULL) at RATE a second (default 1000), or with -r 0 as fast
 * as the receiver takes them: PUSH blocks when the daemon's one tick
 * reader falls behind and the socket buffers (a few hundred ticks) are
 * full, so the rate sent is the rate taken.  It stops after SECS (default:
 * at SIGTERM or SIGINT) and prints one line:
 *
 *	tickfeed url=U rate=R secs=S sent=N per_s=X errors=N
 *
 * Prices are the three pairs of examples/fxbreaker.conf, 8 ticks in 10
 * for USD/KRW.  Each wanders around its prior close as a mean-reverting
 * random walk in steps of 0.001 % a millisecond (sd 0.1 %, half-life
 * about 28 s), so that no rule trips: the velocity rules' 1 % between
 * low and high within 60 s is about 8 sd of the walk's 60-s move, the
 * bands' 1.5 % and the deviations' 3 % are further still.  The walk is a
 * function of the millisecond since EPOCH_MS only, so two feeders given
 * the same epoch send the same prices at the same time: a flood started
 * beside the steady feed makes no jump.  Exit codes: 0, 100 usage, 111
 * cannot connect.
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "xorshift.h"

/* The walk (see above): x is in units of 0.001 % of the close.  A step
 * happens in half the milliseconds; it goes up with probability
 * 1/2 - WALK_C * x, which pulls x back with variance 1 / (4 * WALK_C). */
#define WALK_C 2.5e-5

struct pair {
	const char *name;
	int64_t close; /* the config's base, in units of the pair's tick */
	int64_t scale; /* 10^decimals of the tick */
	uint64_t rng;
	int64_t ms; /* the millisecond x is for, since the epoch */
	int64_t x;
};

static struct pair pairs[] = {
    {"USD/KRW", 14029, 10, 0x9e3779b97f4a7c15ull, 0, 0},
    {"JPY/KRW", 93808, 10000, 0xbf58476d1ce4e5b9ull, 0, 0},
    {"EUR/KRW", 147445, 100, 0x94d049bb133111ebull, 0, 0},
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Advances p's walk to millisecond ms since the epoch. */
static void
walk_to(struct pair *p, int64_t ms)
{
	for (; p->ms < ms; p->ms++) {
		double u = (double)(xorshift64(&p->rng) >> 11) * 0x1p-53;
		if (u < 0.5)
			p->x +=
			    u < 0.25 - 0.5 * WALK_C * (double)p->x ? 1 : -1;
	}
}

/* Writes the tick for p at its current x into buf (exact decimal, to
 * the pair's tick). */
static int
tick_json(char *buf, size_t cap, const struct pair *p)
{
	int64_t move = p->close * p->x; /* in units of tick / 100000 */
	int64_t px = p->close + (move >= 0 ? (move + 50000) / 100000
	                                   : -((-move + 50000) / 100000));
	int decimals = 0;
	for (int64_t s = p->scale; s > 1; s /= 10)
		decimals++;
	return snprintf(
	    buf, cap,
	    "{\"op\":\"tick\",\"pair\":\"%s\",\"px\":\"%lld.%0*lld\"}",
	    p->name, (long long)(px / p->scale), decimals,
	    (long long)(px % p->scale));
}

static int64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
usage(void)
{
	fprintf(stderr,
	        "usage: tickfeed [-r RATE] [-d SECS] [-e EPOCH_MS] URL\n");
	return 100;
}

int
main(int argc, char **argv)
{
	double rate = 1000, secs = 0;
	int64_t epoch = wall_ms();
	nng_socket s;
	int c, rv;

	while ((c = getopt(argc, argv, "r:d:e:")) != -1) {
		switch (c) {
		case 'r':
			rate = atof(optarg);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'e':
			epoch = atoll(optarg);
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1 || rate < 0 || secs < 0 || epoch > wall_ms())
		return usage();
	const char *url = argv[optind];
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if ((rv = nng_push0_open(&s)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1000)) != 0 ||
	    (rv = bench_dial(s, url, 10000)) != 0) {
		fprintf(stderr, "tickfeed: %s: %s\n", url, nng_strerror(rv));
		return 111;
	}

	uint64_t start = bench_now_ns(), next = start;
	uint64_t end = secs > 0 ? start + (uint64_t)(secs * 1e9) : UINT64_MAX;
	uint64_t interval = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
	unsigned long long sent = 0, errors = 0;
	char buf[128];
	for (unsigned i = 0; !stop; i++) {
		uint64_t now = bench_now_ns();
		if (now >= end)
			break;
		if (interval > 0) {
			/* A fixed schedule; after a stall (over 100 ms
			 * behind) it starts afresh rather than burst. */
			if (next + 100000000u < now)
				next = now;
			if (next > now)
				bench_sleep((double)(next - now) / 1e9);
			next += interval;
		}
		struct pair *p = &pairs[i % 10 < 8 ? 0 : i % 10 - 7];
		walk_to(p, wall_ms() - epoch);
		int n = tick_json(buf, sizeof(buf), p);
		if (nng_send(s, buf, (size_t)n, 0) == 0)
			sent++;
		else
			errors++;
	}
	double took = (double)(bench_now_ns() - start) / 1e9;
	printf("tickfeed url=%s rate=%.0f secs=%.2f sent=%llu per_s=%.0f "
	       "errors=%llu\n",
	       url, rate, took, sent, (double)sent / took, errors);
	nng_close(s);
	return 0;
}
