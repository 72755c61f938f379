/*
 * ctl_logkey.c: `fxbreakerctl logkey DIR`: a new log key (DIR/log.key,
 * mode 0400, and DIR/log.pub), as a single node makes on its first start.
 * Cluster nodes share one and never make their own (any node may lead
 * and sign the log's checkpoints): it is made once and copied to each
 * node's data_dir (docs/OPERATIONS.md, "Three nodes").  An existing key
 * is never replaced: it is read and its public half printed.
 *
 * Exit codes: 0 written (or there already), 3 usage or I/O.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ledger.h"

int
ctl_logkey(int argc, char **argv)
{
	unsigned char pk[32], sk[64];
	char err[512], hex[65];

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: fxbreakerctl logkey DIR\n");
		return 3;
	}
	if (ledger_key_load(argv[1], true, pk, sk, err, sizeof(err)) !=
	    FXB_OK) {
		fprintf(stderr, "fxbreakerctl: %s\n", err);
		return 3;
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
	printf("%s/log.pub %s\n", argv[1], hex);
	return 0;
}
