/*
 * fuzz_entry.c: libFuzzer target for a replicated entry as every
 * cluster node's FSM applies it (ledger_entry_apply, ledger/
 * ledger_entry.c): the input is an entry's bytes, applied to a real
 * ledger holding one row.  Any input is either applied, skipped (rows
 * already held) or refused with a code; nothing may crash, leak or hit
 * undefined behaviour (ASan, UBSan), and a refused entry must leave the
 * log as it was.  The first input bytes may claim any row count or
 * string length: the decoder must believe none of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ledger *lg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fxb-fuzz-entry.XXXXXX", path[64], err[256];
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(path, sizeof(path), "%s/f.db", dir);
	if (ledger_open(path, false, &lg, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "fuzz_entry: %s\n", err);
		exit(1);
	}
	ledger_set_durable(lg, false);
	struct ledger_row r;
	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.t = 1;
	r.event = "service_start";
	r.kind = "service";
	r.until = FXB_NEVER;
	if (ledger_append(lg, &r, 1, 1, false, NULL, err, sizeof(err)) !=
	    FXB_OK)
		exit(1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *note = NULL;
	int64_t before = ledger_last_seq(lg), last = 0;
	enum fxb_err rc =
	    ledger_entry_apply(lg, data, size, &last, &note, err, sizeof(err));
	free(note);
	if (rc != FXB_OK && ledger_last_seq(lg) != before)
		abort(); /* a refused entry wrote rows */
	return 0;
}
