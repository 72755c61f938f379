/*
 * trip_bench.c: trip-to-committed-row latency of a running fxbreakerd
 * (issue 5 item 3), through the C client library core banking uses.
 *
 *     trip_bench CHECK_URL PRODUCT SUSPEND_MS SAMPLES
 *
 * PRODUCT must have a count volume rule with trip = 2 and suspend_for =
 * SUSPEND_MS, and no other rule that could hold it (bench/ledger_bench.sh
 * writes such a config).  Each round sends two checks: the first is
 * allowed and counted; the second makes N = 2 >= trip, so the engine
 * denies it and trips the rule, and the daemon holds that deny -- it
 * quotes the new suspension -- until the trip's row (with its
 * breaker_state and notice rows and a signed checkpoint) has committed
 * with synchronous=FULL (docs/PROTOCOL.md: "sent only after its log row
 * has committed").  Then the round sleeps until the suspension has ended
 * on its own.
 *
 * The interval measured is from just before the tripping check is sent
 * to just after its deny, quoting the new suspension, is received: one
 * request round trip on check_url plus the commit of the trip's
 * transaction (one fdatasync of the WAL), and whatever the daemon's writer
 * does between that commit and sending held replies (today: writing the
 * signed checkpoint's note file, with its own fsync).  The first check of
 * each round is a plain allowed check's round trip (it is held only in
 * the rare round where the resume's row is not yet written), printed for
 * reference: the difference is what the write-ahead rule costs a trip.
 *
 * Prints a summary and, last, trip_commit_p50_us and trip_commit_p99_us
 * as KEY=VALUE lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_samples.h"
#include "fxb_client.h"

int
main(int argc, char **argv)
{
	struct fxb_client *c = NULL;
	struct fxb_client_result res;
	int64_t last = 0;
	size_t n = 0, nallow = 0, skipped = 0;
	int status = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: trip_bench CHECK_URL PRODUCT "
		                "SUSPEND_MS SAMPLES\n");
		return 2;
	}
	const char *product = argv[2];
	long suspend_ms = strtol(argv[3], NULL, 10);
	size_t want = (size_t)strtoul(argv[4], NULL, 10);
	double *trip = calloc(want + 1, sizeof(double));
	double *allow = calloc(want + 1, sizeof(double));
	if (trip == NULL || allow == NULL || want == 0 || suspend_ms <= 0) {
		fprintf(stderr, "trip_bench: bad arguments\n");
		status = 2;
		goto out;
	}
	int rc = fxb_client_open(argv[1], 5000, &c);
	if (rc != 0) {
		fprintf(stderr, "trip_bench: cannot open %s (%d)\n", argv[1],
		        rc);
		goto out;
	}
	/* Warm-up: the connection, the daemon's first commits. */
	for (int i = 0; i < 3; i++) {
		fxb_client_check(c, product, "1.00", NULL, NULL, &res);
		sleep_ms(suspend_ms + 10);
	}
	while (n < want) {
		if (skipped > want) {
			fprintf(stderr,
			        "trip_bench: rounds keep failing (last: %s "
			        "%s %s)\n",
			        res.reason, res.rule, res.message);
			goto out;
		}
		double t0 = now_us();
		fxb_client_check(c, product, "1.00", NULL, NULL, &res);
		double t1 = now_us();
		if (res.decision != FXB_CLIENT_ALLOW) {
			/* Still suspended: wait and start the round again. */
			skipped++;
			sleep_ms(suspend_ms);
			continue;
		}
		allow[nallow++] = t1 - t0;
		t0 = now_us();
		fxb_client_check(c, product, "1.00", NULL, NULL, &res);
		t1 = now_us();
		if (res.decision != FXB_CLIENT_DENY || res.by_policy ||
		    strcmp(res.reason, "suspended") != 0 ||
		    res.suspension <= last) {
			skipped++;
			sleep_ms(suspend_ms);
			continue;
		}
		last = res.suspension;
		trip[n++] = t1 - t0;
		/* The suspension ends SUSPEND_MS after the trip (the timer
		 * thread writes the resume); a little slack for that row. */
		sleep_ms(suspend_ms + 5);
	}
	qsort(trip, n, sizeof(*trip), cmp_double);
	qsort(allow, nallow, sizeof(*allow), cmp_double);
	printf("trip-to-committed-row (tripping check sent -> deny quoting "
	       "the suspension received), %zu trips, %zu rounds redone\n",
	       n, skipped);
	printf("  trip:          p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  "
	       "max %8.1f us\n",
	       pct(trip, n, 50), pct(trip, n, 90), pct(trip, n, 99),
	       trip[n - 1]);
	printf("  allowed check: p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  "
	       "(the round trip alone)\n",
	       pct(allow, nallow, 50), pct(allow, nallow, 90),
	       pct(allow, nallow, 99));
	printf("trip_commit_p50_us=%.1f\n", pct(trip, n, 50));
	printf("trip_commit_p99_us=%.1f\n", pct(trip, n, 99));
	status = 0;
out:
	fxb_client_close(c);
	free(trip);
	free(allow);
	return status;
}
