/*
 * bench_engine.c: nanoseconds per check and per tick in the engine alone,
 * with 10, 1,000 and 100,000 products (issue 2 item 8, issue 5 item 3).
 *
 * Every product carries its own volume and throttle rules and every pair a
 * band, a velocity, a stale and a spread rule, so a check walks four pair
 * rules and two own rules: the realistic shape.  Thresholds are set so that
 * nothing trips: this is the allowed-check hot path.  Each figure is the
 * median of ROUNDS rounds of OPS operations.
 *
 * Two visit orders, each on its own engine:
 *   - uniform: every product equally likely, so the 100,000-product run
 *     pays a cache miss on nearly every check (the worst case);
 *   - zipf: the product of rank k drawn with weight 1/k (Zipf, s = 1), as a
 *     bank's conversions concentrate on a few products; ranks are shuffled
 *     over the product indexes so that the popular ones are not neighbours.
 * Checks are also run in batches of BATCH whose products are prefetched
 * first (breaker_prefetch), as a caller holding a batch of checks would.
 * The KEY=VALUE lines at the end are what scripts read: the plain keys are
 * the uniform figures one check at a time, the _zipf keys the skewed ones,
 * engine_check_batch32_* the batched checks.
 *
 * With --calendar every product keeps opening hours on a calendar (two
 * sessions, open in both) and its volume rule levels by session, and
 * one pair has a planned suspension pending, so a third of the checks
 * carry `upcoming` (RULES.md 9): what a check costs with all of it, to
 * set beside the plain run (bench/engine_compare.sh runs both, and the
 * engine before section 9, in one go).
 *
 * Usage: bench_engine [--calendar] [PRODUCTS ...] (default 10 1000
 * 100000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "breaker.h"
#include "config.h"
#include "xorshift.h"

#define ROUNDS 7
#define OPS    (1u << 20)
#define NPAIRS 3
#define NSIZES 8
#define BATCH  32 /* checks per batch; divides OPS */

static const char *const pairs[NPAIRS] = {"USD/KRW", "JPY/KRW", "EUR/KRW"};
static const int64_t mids[NPAIRS] = {1402900000000LL, 9350000000LL,
                                     1478000000000LL};

enum dist { DIST_UNIFORM, DIST_ZIPF, NDISTS };
static const char *const dist_names[NDISTS] = {"uniform", "zipf"};
static const char *const dist_keys[NDISTS] = {"", "_zipf"};

/* The thread's CPU time, not the wall clock: the machine is shared, and
 * time spent descheduled is no cost of the engine's. */
static double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t
rng(void)
{
	return xorshift64(&rng_state);
}

/* A uniform double in [0, 1). */
static double
rng_unit(void)
{
	return (double)(rng() >> 11) * (1.0 / 9007199254740992.0);
}

static bool calendar; /* --calendar */

static char *
make_config(size_t nproducts)
{
	size_t cap = 4096 + nproducts * 520;
	char *text = malloc(cap), *p = text;
	/* Two sessions that hold the whole run (it starts at t = 0,
	 * Thursday 00:00 UTC, and lasts minutes): the hot path, not the
	 * boundaries. */
	if (calendar)
		p += sprintf(p, "[calendar mkt]\nutc_offset = +00:00\n"
		                "session.day = daily 00:00-12:00\n"
		                "session.night = daily 12:00-00:00\n");
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
	for (size_t i = 0; i < nproducts; i++) {
		const char *hours = calendar ? "hours = mkt:day,night\n" : "",
		           *levels = calendar ? "calendar = mkt\n"
		                                "trip@night = 150000000\n"
		                              : "";
		p += sprintf(p,
		             "[product p%zu]\npair = %s\nside = buy\n%s"
		             "[rule vol%zu]\nproduct = p%zu\nkind = volume\n"
		             "window = 60s\nwarn = 100000000\n"
		             "trip = 200000000\nsuspend_for = 300s\n%s"
		             "[rule thr%zu]\nproduct = p%zu\nkind = throttle\n"
		             "rate = 1000000\nburst = 1000000\n",
		             i, pairs[i % NPAIRS], hours, i, i, levels, i, i);
	}
	return text;
}

/*
 * The products to visit, in order.  Zipf: inverse transform sampling on
 * the cumulative weights of ranks 1..n, then a random rank -> product map.
 */
static void
make_order(int32_t *order, size_t n_ops, size_t nproducts, enum dist d)
{
	if (d == DIST_UNIFORM) {
		for (size_t i = 0; i < n_ops; i++)
			order[i] = (int32_t)(rng() % nproducts);
		return;
	}
	double *cdf = malloc(nproducts * sizeof(*cdf));
	int32_t *perm = malloc(nproducts * sizeof(*perm));
	double sum = 0;
	for (size_t k = 0; k < nproducts; k++) {
		sum += 1.0 / (double)(k + 1);
		cdf[k] = sum;
		perm[k] = (int32_t)k;
	}
	for (size_t k = nproducts - 1; k > 0; k--) {
		size_t j = (size_t)(rng() % (k + 1));
		int32_t tmp = perm[k];
		perm[k] = perm[j];
		perm[j] = tmp;
	}
	for (size_t i = 0; i < n_ops; i++) {
		double u = rng_unit() * sum;
		size_t lo = 0, hi = nproducts - 1;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cdf[mid] > u)
				hi = mid;
			else
				lo = mid + 1;
		}
		order[i] = perm[lo];
	}
	free(cdf);
	free(perm);
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
	double check_ns, tick_ns, batch_ns;
};

/* Checks decided back to back: one at a time, or in batches of BATCH
 * whose products are prefetched first (breaker_prefetch), as a caller
 * holding a batch would.  Returns ns per check. */
static double
run_checks(struct breaker *b, fxb_time t, const int32_t *order, size_t n_ops,
           bool batch)
{
	struct breaker_decision dec;
	size_t allowed = 0;
	double t0 = now_ns();
	for (size_t i = 0; i < n_ops; i += BATCH) {
		if (batch)
			for (size_t k = 0; k < BATCH; k++)
				breaker_prefetch(b, order[i + k]);
		for (size_t k = i; k < i + BATCH; k++) {
			/* About 16 checks per millisecond. */
			breaker_check(b, t + (fxb_time)(k >> 4), order[k],
			              10000, 0, &dec);
			allowed += dec.verdict == BREAKER_VERDICT_ALLOW;
		}
	}
	double t1 = now_ns();
	if (allowed != n_ops) {
		fprintf(stderr, "bench: a check was denied\n");
		exit(1);
	}
	return (t1 - t0) / (double)n_ops;
}

static struct result
bench(size_t nproducts, enum dist d)
{
	struct breaker_config *cfg = NULL;
	struct breaker *b = NULL;
	char err[256] = "";
	char *text = make_config(nproducts);
	struct result res = {0, 0, 0};
	double checks[ROUNDS], ticks[ROUNDS], batches[ROUNDS];
	size_t n_ops = OPS;
	int32_t *order = malloc(n_ops * sizeof(*order));
	int64_t *px = malloc(n_ops * sizeof(*px));

	if (config_parse(text, strlen(text), "bench", NULL, 0, NULL, &cfg, err,
	                 sizeof(err)) != FXB_OK ||
	    breaker_new(cfg, 0, NULL, NULL, &b) != FXB_OK) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	make_order(order, n_ops, nproducts, d);
	for (size_t i = 0; i < n_ops; i++)
		px[i] = mids[i % NPAIRS] +
		        (int64_t)(rng() % 2001) * (mids[i % NPAIRS] / 100000) -
		        1000 * (mids[i % NPAIRS] / 100000);
	fxb_time t = 0;
	for (int p = 0; p < NPAIRS; p++)
		breaker_tick(b, t, p, mids[p]);
	/* A plan on the first pair, far beyond the run: its products'
	 * checks carry it. */
	if (calendar && breaker_force_plan(b, t, true, 0, INT64_C(1) << 40,
	                                   FXB_NEVER, "bench") != FXB_OK) {
		fprintf(stderr, "bench: cannot plan\n");
		exit(1);
	}
	for (int r = 0; r < ROUNDS; r++) {
		checks[r] = run_checks(b, t, order, n_ops, false);
		t += (fxb_time)(n_ops >> 4) + 1;
		batches[r] = run_checks(b, t, order, n_ops, true);
		t += (fxb_time)(n_ops >> 4) + 1;
		double t0 = now_ns();
		for (size_t i = 0; i < n_ops; i++) {
			int32_t pair = (int32_t)(i % NPAIRS);
			fxb_time tt = t + (fxb_time)(i >> 4);
			if (i & 1)
				breaker_tick(b, tt, pair, px[i]);
			else
				breaker_quote(b, tt, pair, px[i] - 100000000,
				              px[i] + 100000000);
		}
		double t1 = now_ns();
		t += (fxb_time)(n_ops >> 4) + 1;
		ticks[r] = (t1 - t0) / (double)n_ops;
	}
	res.check_ns = median(checks, ROUNDS);
	res.tick_ns = median(ticks, ROUNDS);
	res.batch_ns = median(batches, ROUNDS);
	breaker_free(b);
	breaker_config_free(cfg);
	free(text);
	free(order);
	free(px);
	return res;
}

int
main(int argc, char **argv)
{
	size_t sizes[NSIZES] = {10, 1000, 100000};
	size_t nsizes = 3;
	struct result r[NSIZES][NDISTS];

	int first = 1;
	if (argc > 1 && strcmp(argv[1], "--calendar") == 0) {
		calendar = true;
		first = 2;
	}
	if (argc > first) {
		nsizes = 0;
		for (int i = first; i < argc && nsizes < NSIZES; i++) {
			long v = strtol(argv[i], NULL, 10);
			if (v <= 0) {
				fprintf(stderr,
				        "usage: bench_engine [--calendar] "
				        "[PRODUCTS ...]\n");
				return 100;
			}
			sizes[nsizes++] = (size_t)v;
		}
	}
	printf("engine%s, median of %d rounds of %u operations each\n",
	       calendar ? " with calendars, hours and a plan" : "", ROUNDS,
	       OPS);
	printf("%-8s %11s %11s %11s %11s %11s %11s\n", "products",
	       "check unif", "batch unif", "tick unif", "check zipf",
	       "batch zipf", "tick zipf");
	for (size_t i = 0; i < nsizes; i++) {
		for (int d = 0; d < NDISTS; d++)
			r[i][d] = bench(sizes[i], (enum dist)d);
		printf("%-8zu %11.1f %11.1f %11.1f %11.1f %11.1f %11.1f\n",
		       sizes[i], r[i][DIST_UNIFORM].check_ns,
		       r[i][DIST_UNIFORM].batch_ns, r[i][DIST_UNIFORM].tick_ns,
		       r[i][DIST_ZIPF].check_ns, r[i][DIST_ZIPF].batch_ns,
		       r[i][DIST_ZIPF].tick_ns);
		fflush(stdout);
	}
	if (nsizes > 1)
		for (int d = 0; d < NDISTS; d++)
			printf("ratio %zu/%zu %s: check %.2f, batch %.2f, "
			       "tick %.2f\n",
			       sizes[nsizes - 1], sizes[0], dist_names[d],
			       r[nsizes - 1][d].check_ns / r[0][d].check_ns,
			       r[nsizes - 1][d].batch_ns / r[0][d].batch_ns,
			       r[nsizes - 1][d].tick_ns / r[0][d].tick_ns);
	for (int d = 0; d < NDISTS; d++)
		for (size_t i = 0; i < nsizes; i++)
			printf("engine_check_ns_%zu%s=%.1f\n", sizes[i],
			       dist_keys[d], r[i][d].check_ns);
	for (int d = 0; d < NDISTS; d++)
		for (size_t i = 0; i < nsizes; i++)
			printf("engine_tick_ns_%zu%s=%.1f\n", sizes[i],
			       dist_keys[d], r[i][d].tick_ns);
	for (int d = 0; d < NDISTS; d++)
		for (size_t i = 0; i < nsizes; i++)
			printf("engine_check_batch%d_ns_%zu%s=%.1f\n", BATCH,
			       sizes[i], dist_keys[d], r[i][d].batch_ns);
	return 0;
}
