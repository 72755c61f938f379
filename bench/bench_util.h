/*
 * bench_util.h: what the service benchmark's tools share (issue 5 item 1):
 * a monotonic clock, a latency histogram, and an nng dial that waits for
 * the server.  Benchmark code only; nothing in the service uses it.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <nng/nng.h>
#include <stdint.h>

/*
 * An HDR-style log-linear histogram of nanoseconds: values below 128 are
 * exact, and each power of two above is cut into 64 buckets, so a
 * reported value is within 1/128 (0.8 %) of every value in its bucket.
 * It covers every uint64_t; 30 KB, so one per thread, merged at the end.
 */
#define BENCH_HIST_SUB     64
#define BENCH_HIST_BUCKETS (2 * BENCH_HIST_SUB + 57 * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t count;
	uint64_t n[BENCH_HIST_BUCKETS];
};

/* bench_now_ns: CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* bench_sleep sleeps secs seconds (fractions allowed). */
void bench_sleep(double secs);

/* bench_hist_record counts one value of ns nanoseconds in h. */
void bench_hist_record(struct bench_hist *h, uint64_t ns);

/* bench_hist_add adds every count of src to dst. */
void bench_hist_add(struct bench_hist *dst, const struct bench_hist *src);

/* bench_hist_us is the q-quantile (0 < q <= 1) of h in microseconds: the
 * middle of the bucket holding the ceil(q * count)-th value; 0 if h is
 * empty. */
double bench_hist_us(const struct bench_hist *h, double q);

/*
 * bench_dial dials url on s without blocking (so that a server still
 * starting is retried in the background) and waits up to timeout_ms for
 * the first connection.  Returns 0, or an nng error (NNG_ETIMEDOUT when
 * no server answered in time).
 */
int bench_dial(nng_socket s, const char *url, int timeout_ms);

#endif /* BENCH_UTIL_H */
