/*
 * touch_products.c: one check on each of N products of a running
 * fxbreakerd, so that every product's state and its rules' windows are
 * in use when bench/ledger_bench.sh reads the daemon's resident memory.
 *
 *     touch_products CHECK_URL PREFIX N
 *
 * checks products PREFIX0 .. PREFIX(N-1) (an amount of 1: whole units
 * suit every currency) through the C client
 * library and prints how many were allowed, denied, throttled and
 * unanswered.  Exits 1 if any went unanswered.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fxb_client.h"

int
main(int argc, char **argv)
{
	struct fxb_client *c = NULL;
	struct fxb_client_result res;
	long counts[3] = {0, 0, 0}, lost = 0;
	char product[256];

	if (argc != 4) {
		fprintf(stderr, "usage: touch_products CHECK_URL PREFIX N\n");
		return 2;
	}
	long n = strtol(argv[3], NULL, 10);
	if (fxb_client_open(argv[1], 5000, &c) != 0) {
		fprintf(stderr, "touch_products: cannot open %s\n", argv[1]);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		snprintf(product, sizeof(product), "%s%ld", argv[2], i);
		enum fxb_client_decision d =
		    fxb_client_check(c, product, "1", NULL, NULL, &res);
		if (res.by_policy || res.error != 0)
			lost++;
		else
			counts[d]++;
	}
	fxb_client_close(c);
	printf("touched %ld products: %ld allowed, %ld denied, %ld "
	       "throttled, %ld unanswered or refused\n",
	       n, counts[FXB_CLIENT_ALLOW], counts[FXB_CLIENT_DENY],
	       counts[FXB_CLIENT_THROTTLE], lost);
	return lost == 0 ? 0 : 1;
}
