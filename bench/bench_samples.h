/*
 * bench_samples.h: what the benches that keep every sample share
 * (trip_bench.c, cluster_bench.c): a monotonic clock in microseconds, a
 * sleep, and the nearest-rank percentile of sorted samples.  Every
 * sample is kept (a few thousand): exact percentiles, no histogram.
 * Benchmark code only.
 */
#ifndef BENCH_SAMPLES_H
#define BENCH_SAMPLES_H

#include <stddef.h>
#include <time.h>

static inline double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* For qsort of doubles, ascending. */
static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static inline double
pct(const double *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	return v[(rank < n ? rank : n) - 1];
}

#endif /* BENCH_SAMPLES_H */
