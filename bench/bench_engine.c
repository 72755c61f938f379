/*
 * bench_engine.c: nanoseconds per check and per tick in the engine alone,
 * with 10, 1,000 and 100,000 products (issue 2 item 8, issue 5 item 3).
 *
 * Every product carries its own volume and throttle rules and every pair a
 * band, a velocity, a stale and a spread rule, so a check walks four pair
 * rules and two own rules: the realistic shape.  Products are visited in a
 * random order so that the 100,000-product run pays its cache misses, and
 * thresholds are set so that nothing trips: this is the allowed-check hot
 * path.  Each figure is the median of ROUNDS runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "breaker.h"
#include "xorshift.h"

#define ROUNDS 7
#define NPAIRS 3

static const char *const pairs[NPAIRS] = {"USD/KRW", "JPY/KRW", "EUR/KRW"};
static const int64_t mids[NPAIRS] = {1402900000000LL, 9350000000LL,
                                     1478000000000LL};

static double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t
rng(void)
{
	return xorshift64(&rng_state);
}

static char *
make_config(size_t nproducts)
{
	size_t cap = 4096 + nproducts * 420;
	char *text = malloc(cap), *p = text;
	for (int i = 0; i < NPAIRS; i++) {
		const char *n = pairs[i];
		p += sprintf(p,
		             "[pair %s]\n"
		             "[rule band-%d]\npair = %s\nkind = band\n"
		             "window = 300s\nband_pct = 5\nref_move_pct = 1\n"
		             "ref_min_life = 30s\nlimit_for = 15s\n"
		             "suspend_for = 300s\n"
		             "[rule vel-%d]\npair = %s\nkind = velocity\n"
		             "window = 60s\nmax_move = 1000000\n"
		             "suspend_for = 300s\n"
		             "[rule stale-%d]\npair = %s\nkind = stale\n"
		             "max_age = 1h\n"
		             "[rule spread-%d]\npair = %s\nkind = spread\n"
		             "max_spread_pct = 50\nhold = 1s\n",
		             n, i, n, i, n, i, n, i, n);
	}
	for (size_t i = 0; i < nproducts; i++)
		p += sprintf(p,
		             "[product p%zu]\npair = %s\nside = buy\n"
		             "[rule vol%zu]\nproduct = p%zu\nkind = volume\n"
		             "window = 60s\nwarn = 100000000\n"
		             "trip = 200000000\nsuspend_for = 300s\n"
		             "[rule thr%zu]\nproduct = p%zu\nkind = throttle\n"
		             "rate = 1000000\nburst = 1000000\n",
		             i, pairs[i % NPAIRS], i, i, i, i);
	return text;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

struct result {
	double check_ns, tick_ns;
};

static struct result
bench(size_t nproducts)
{
	struct breaker_config *cfg = NULL;
	struct breaker *b = NULL;
	char err[256];
	char *text = make_config(nproducts);
	struct result res = {0, 0};
	double checks[ROUNDS], ticks[ROUNDS];
	size_t n_ops = 1u << 20;
	int32_t *order = malloc(n_ops * sizeof(*order));
	int64_t *px = malloc(n_ops * sizeof(*px));

	if (breaker_config_parse(text, strlen(text), "bench", &cfg, err,
	                         sizeof(err)) != FXB_OK ||
	    breaker_new(cfg, 0, NULL, NULL, &b) != FXB_OK) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	for (size_t i = 0; i < n_ops; i++) {
		order[i] = (int32_t)(rng() % nproducts);
		px[i] = mids[i % NPAIRS] +
		        (int64_t)(rng() % 2001) * (mids[i % NPAIRS] / 100000) -
		        1000 * (mids[i % NPAIRS] / 100000);
	}
	fxb_time t = 0;
	for (int p = 0; p < NPAIRS; p++)
		breaker_tick(b, t, p, mids[p]);
	for (int r = 0; r < ROUNDS; r++) {
		struct breaker_decision d;
		long allowed = 0;
		double t0 = now_ns();
		for (size_t i = 0; i < n_ops; i++) {
			/* About 16 checks per millisecond. */
			breaker_check(b, t + (fxb_time)(i >> 4), order[i],
			              10000, 0, &d);
			allowed += d.verdict == BREAKER_VERDICT_ALLOW;
		}
		double t1 = now_ns();
		t += (fxb_time)(n_ops >> 4) + 1;
		if (allowed != (long)n_ops) {
			fprintf(stderr, "bench: a check was denied\n");
			exit(1);
		}
		checks[r] = (t1 - t0) / (double)n_ops;
		t0 = now_ns();
		for (size_t i = 0; i < n_ops; i++) {
			int32_t pair = (int32_t)(i % NPAIRS);
			fxb_time tt = t + (fxb_time)(i >> 4);
			if (i & 1)
				breaker_tick(b, tt, pair, px[i]);
			else
				breaker_quote(b, tt, pair, px[i] - 100000000,
				              px[i] + 100000000);
		}
		t1 = now_ns();
		t += (fxb_time)(n_ops >> 4) + 1;
		ticks[r] = (t1 - t0) / (double)n_ops;
	}
	res.check_ns = median(checks, ROUNDS);
	res.tick_ns = median(ticks, ROUNDS);
	breaker_free(b);
	breaker_config_free(cfg);
	free(text);
	free(order);
	free(px);
	return res;
}

int
main(void)
{
	static const size_t sizes[] = {10, 1000, 100000};
	struct result r[3];

	printf("engine, median of %d rounds of %u operations each\n", ROUNDS,
	       1u << 20);
	printf("%-10s %14s %14s\n", "products", "ns/check", "ns/tick");
	for (int i = 0; i < 3; i++) {
		r[i] = bench(sizes[i]);
		printf("%-10zu %14.1f %14.1f\n", sizes[i], r[i].check_ns,
		       r[i].tick_ns);
		fflush(stdout);
	}
	printf("ratio 100000/10: check %.2f, tick %.2f\n",
	       r[2].check_ns / r[0].check_ns, r[2].tick_ns / r[0].tick_ns);
	printf(
	    "{\"engine_check_ns_10\": %.1f, \"engine_check_ns_1000\": %.1f, "
	    "\"engine_check_ns_100000\": %.1f, \"engine_tick_ns_10\": %.1f, "
	    "\"engine_tick_ns_1000\": %.1f, \"engine_tick_ns_100000\": "
	    "%.1f}\n",
	    r[0].check_ns, r[1].check_ns, r[2].check_ns, r[0].tick_ns,
	    r[1].tick_ns, r[2].tick_ns);
	return 0;
}
