/*
 * cluster_bench.c: what three nodes on Raft cost a check and how long a
 * failover leaves a client without an answer (issue 12), through the C
 * client library core banking uses.  bench/cluster_bench.sh starts the
 * daemons and runs it.
 *
 *     cluster_bench latency URLS PREFIX FIRST SAMPLES ALLOW_PRODUCT
 *     cluster_bench failover URLS PREFIX INDEX ALLOW_PRODUCT PID SURVIVORS
 *
 * latency: SAMPLES rounds of two checks, each timed from just before it
 * is sent to just after its reply: one on ALLOW_PRODUCT (a rule that
 * never trips: allowed, no row, never held), then one on PREFIX<i> (i
 * from FIRST), a product whose count volume rule has trip = 1 and a
 * suspension of an hour, so that this, its first check, trips it.  The
 * daemon holds that deny -- it quotes the new suspension -- until the
 * trip's rows are committed: on one node by SQLite (synchronous=FULL),
 * in a cluster by a majority's Raft logs and then the leader's own
 * ledger (the FSM's apply).  Every trip is a product of its own, so no
 * resume row is ever written beside the rounds.  Prints a summary, then
 * KEY=VALUE lines (allow_p50_us, allow_p99_us, trip_p50_us,
 * trip_p99_us).  Each round ends with a pause of CLUSTER_BENCH_GAP_MS
 * (5), so that a trip's commit does not queue behind the last one's
 * signed checkpoint note (written, with its own fsync, after the reply
 * on one node).  With CLUSTER_BENCH_SAMPLES=FILE, every sample is also
 * appended to FILE ("allow US" and "trip US" lines).
 *
 * failover: checks ALLOW_PRODUCT until it is answered, then sends
 * SIGKILL to PID (the leader) and checks again, back to back, until a
 * check is answered by the service (not decided by the fail policy):
 * kill to that answer is the failover a client sees.  Then one check on
 * PREFIX<INDEX>, which trips, until its deny quotes a suspension: kill
 * to the first trip committed by the new leader.  Beside it, a thread
 * asks each of SURVIVORS (comma-separated URLs, the nodes left) on its
 * own, every 2 ms, for when the first of them answered a check: the
 * difference is the client's own share (a call asks the node that last
 * answered, the dead one, first).  Prints KEY=VALUE lines failover_ms,
 * failover_write_ms, failover_node_ms, calls.
 *
 * URLS is what fxb_client_open takes (one URL, or a comma-separated
 * list); every call has a deadline of CLUSTER_BENCH_TIMEOUT_MS (1000).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "bench_samples.h"
#include "fxb_client.h"

static int timeout_ms = 1000;
static long gap_ms = 5;

static int
open_client(const char *urls, struct fxb_client **c)
{
	int rc = fxb_client_open(urls, timeout_ms, c);
	if (rc != 0)
		fprintf(stderr, "cluster_bench: cannot open %s (%d)\n", urls,
		        rc);
	return rc;
}

/* Checks product until the service answers (not the fail policy), at
 * most tries times, 20 ms apart.  True when it did. */
static bool
answered(struct fxb_client *c, const char *product, int tries,
         struct fxb_client_result *res)
{
	for (int i = 0; i < tries; i++) {
		fxb_client_check(c, product, "1.00", NULL, NULL, res);
		if (!res->by_policy)
			return true;
		sleep_ms(20);
	}
	return false;
}

static int
latency(const char *urls, const char *prefix, long first, size_t want,
        const char *allow_product)
{
	struct fxb_client *c = NULL;
	struct fxb_client_result res;
	char product[96];
	double *trip = calloc(want, sizeof(double));
	double *allow = calloc(want, sizeof(double));
	int status = 1;

	if (trip == NULL || allow == NULL || open_client(urls, &c) != 0)
		goto out;
	/* The connections, the leader found, the first commits. */
	if (!answered(c, allow_product, 250, &res)) {
		fprintf(stderr, "cluster_bench: no answer from %s: %s\n", urls,
		        res.message);
		goto out;
	}
	for (int i = 0; i < 50; i++)
		fxb_client_check(c, allow_product, "1.00", NULL, NULL, &res);
	for (size_t n = 0; n < want; n++) {
		double t0 = now_us();
		fxb_client_check(c, allow_product, "1.00", NULL, NULL, &res);
		double t1 = now_us();
		if (res.decision != FXB_CLIENT_ALLOW || res.by_policy) {
			fprintf(stderr,
			        "cluster_bench: %s not allowed: %s %s (%d)\n",
			        allow_product, res.reason, res.message,
			        res.error);
			goto out;
		}
		allow[n] = t1 - t0;
		snprintf(product, sizeof(product), "%s%ld", prefix,
		         first + (long)n);
		t0 = now_us();
		fxb_client_check(c, product, "1.00", NULL, NULL, &res);
		t1 = now_us();
		if (res.decision != FXB_CLIENT_DENY || res.by_policy ||
		    strcmp(res.reason, "suspended") != 0 ||
		    res.suspension <= 0) {
			fprintf(stderr,
			        "cluster_bench: %s did not trip: decision %d "
			        "%s %s %s (%d)\n",
			        product, (int)res.decision, res.reason,
			        res.rule, res.message, res.error);
			goto out;
		}
		trip[n] = t1 - t0;
		sleep_ms(gap_ms);
	}
	/* Every sample, for pooling passes (bench/cluster_bench.sh). */
	const char *path = getenv("CLUSTER_BENCH_SAMPLES");
	FILE *f = path != NULL ? fopen(path, "a") : NULL;
	for (size_t n = 0; f != NULL && n < want; n++)
		fprintf(f, "allow %.1f\ntrip %.1f\n", allow[n], trip[n]);
	if (f != NULL && fclose(f) != 0) {
		fprintf(stderr, "cluster_bench: cannot write %s\n", path);
		goto out;
	}
	qsort(trip, want, sizeof(*trip), cmp_double);
	qsort(allow, want, sizeof(*allow), cmp_double);
	printf("  %zu rounds (an allowed check, then a check that trips a "
	       "product of its own)\n",
	       want);
	printf("  trip:  p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f "
	       "us\n",
	       pct(trip, want, 50), pct(trip, want, 90), pct(trip, want, 99),
	       trip[want - 1]);
	printf("  allow: p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f "
	       "us\n",
	       pct(allow, want, 50), pct(allow, want, 90),
	       pct(allow, want, 99), allow[want - 1]);
	printf("allow_p50_us=%.1f\n", pct(allow, want, 50));
	printf("allow_p99_us=%.1f\n", pct(allow, want, 99));
	printf("trip_p50_us=%.1f\n", pct(trip, want, 50));
	printf("trip_p99_us=%.1f\n", pct(trip, want, 99));
	status = 0;
out:
	fxb_client_close(c);
	free(trip);
	free(allow);
	return status;
}

/* The survivors' watcher: each node on its own client, so that no
 * endpoint's turn delays another's. */
struct watch {
	struct fxb_client *c[FXB_CLIENT_ENDPOINTS_MAX];
	size_t n;
	const char *product;
	_Atomic long long first_ns; /* 0 until a survivor answered */
	atomic_bool stop;
};

static void *
watch_main(void *arg)
{
	struct watch *w = arg;
	struct fxb_client_result res;
	while (!atomic_load(&w->stop) && atomic_load(&w->first_ns) == 0) {
		for (size_t i = 0; i < w->n; i++) {
			fxb_client_check(w->c[i], w->product, "1.00", NULL,
			                 NULL, &res);
			if (!res.by_policy) {
				atomic_store(&w->first_ns,
				             (long long)(now_us() * 1e3));
				break;
			}
		}
		sleep_ms(2);
	}
	return NULL;
}

static int
failover(const char *urls, const char *prefix, long index,
         const char *allow_product, pid_t pid, const char *survivors)
{
	struct fxb_client *c = NULL;
	struct fxb_client_result res;
	struct watch w = {.product = allow_product};
	pthread_t th;
	bool watching = false;
	char product[96], *list = strdup(survivors), *save = NULL;
	int status = 1;
	long calls = 0;

	if (list == NULL || open_client(urls, &c) != 0)
		goto out;
	for (char *u = strtok_r(list, ",", &save);
	     u != NULL && w.n < FXB_CLIENT_ENDPOINTS_MAX;
	     u = strtok_r(NULL, ",", &save)) {
		/* A short deadline: the watcher asks again soon anyway. */
		if (fxb_client_open(u, 100, &w.c[w.n]) != 0) {
			fprintf(stderr, "cluster_bench: cannot open %s\n", u);
			goto out;
		}
		w.n++;
	}
	if (!answered(c, allow_product, 250, &res)) {
		fprintf(stderr,
		        "cluster_bench: no answer before the kill: %s\n",
		        res.message);
		goto out;
	}
	/* The survivors' connections up before the kill, as the client's
	 * are. */
	for (size_t i = 0; i < w.n; i++)
		fxb_client_check(w.c[i], allow_product, "1.00", NULL, NULL,
		                 &res);

	double t0 = now_us();
	if (kill(pid, SIGKILL) != 0) {
		perror("cluster_bench: kill");
		goto out;
	}
	watching = pthread_create(&th, NULL, watch_main, &w) == 0;
	double t1 = 0, t2 = 0;
	while (now_us() - t0 < 30e6) {
		calls++;
		fxb_client_check(c, allow_product, "1.00", NULL, NULL, &res);
		if (!res.by_policy) {
			t1 = now_us();
			break;
		}
	}
	snprintf(product, sizeof(product), "%s%ld", prefix, index);
	while (t1 > 0 && now_us() - t0 < 30e6) {
		fxb_client_check(c, product, "1.00", NULL, NULL, &res);
		if (!res.by_policy && res.decision == FXB_CLIENT_DENY &&
		    res.suspension > 0) {
			t2 = now_us();
			break;
		}
	}
	if (watching) {
		/* The watcher has its answer by now, or will within its
		 * deadline; it is not waited on past the client's. */
		for (int i = 0; i < 100 && atomic_load(&w.first_ns) == 0; i++)
			sleep_ms(10);
		atomic_store(&w.stop, true);
		pthread_join(th, NULL);
	}
	if (t1 == 0 || t2 == 0) {
		fprintf(stderr,
		        "cluster_bench: no %s within 30 s of the kill "
		        "(last: %s, error %d)\n",
		        t1 == 0 ? "answer" : "committed trip", res.message,
		        res.error);
		goto out;
	}
	double first = (double)atomic_load(&w.first_ns) / 1e3;
	printf("failover_ms=%.1f\n", (t1 - t0) / 1e3);
	printf("failover_write_ms=%.1f\n", (t2 - t0) / 1e3);
	printf("failover_node_ms=%.1f\n", first > 0 ? (first - t0) / 1e3 : -1);
	printf("calls=%ld\n", calls);
	status = 0;
out:
	fxb_client_close(c);
	for (size_t i = 0; i < w.n; i++)
		fxb_client_close(w.c[i]);
	free(list);
	return status;
}

int
main(int argc, char **argv)
{
	const char *t = getenv("CLUSTER_BENCH_TIMEOUT_MS");
	if (t != NULL && atoi(t) > 0)
		timeout_ms = atoi(t);
	const char *g = getenv("CLUSTER_BENCH_GAP_MS");
	if (g != NULL && atol(g) >= 0)
		gap_ms = atol(g);
	if (argc == 7 && strcmp(argv[1], "latency") == 0) {
		long first = strtol(argv[4], NULL, 10);
		long want = strtol(argv[5], NULL, 10);
		if (first < 0 || want <= 0) {
			fprintf(stderr,
			        "cluster_bench: bad FIRST or SAMPLES\n");
			return 2;
		}
		return latency(argv[2], argv[3], first, (size_t)want, argv[6]);
	}
	if (argc == 8 && strcmp(argv[1], "failover") == 0) {
		long pid = strtol(argv[6], NULL, 10);
		if (pid <= 1) {
			fprintf(stderr, "cluster_bench: bad PID\n");
			return 2;
		}
		return failover(argv[2], argv[3], strtol(argv[4], NULL, 10),
		                argv[5], (pid_t)pid, argv[7]);
	}
	fprintf(stderr,
	        "usage: cluster_bench latency URLS PREFIX FIRST SAMPLES "
	        "ALLOW_PRODUCT\n"
	        "       cluster_bench failover URLS PREFIX INDEX "
	        "ALLOW_PRODUCT PID SURVIVORS\n");
	return 2;
}
