/*
 * fuzz_tape.c: libFuzzer target for the tape reader of `fxbreakerctl
 * replay` (ctl/ctl_replay.c, RULES.md section 7): the input is a tape,
 * run line by line by ctl_replay_run on the engine built from
 * examples/fxbreaker.conf (every rule kind), as `fxbreakerctl replay`
 * would.  Any line is either applied or stops the replay with an error
 * naming it; nothing may crash, leak or hit undefined behaviour (ASan,
 * UBSan).  The replay's output goes to /dev/null.  Run from the source
 * tree's root (make fuzz does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "breaker.h"
#include "ctl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct breaker_config *cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char path[] = "examples/fxbreaker.conf";
	char err[512];
	(void)argc;
	(void)argv;
	FILE *f = fopen(path, "r");
	static char text[1 << 16];
	size_t n = f != NULL ? fread(text, 1, sizeof(text), f) : 0;
	if (f == NULL || n == 0 || n == sizeof(text) ||
	    config_parse(text, n, path, NULL, 0, NULL, &cfg, err,
	                 sizeof(err)) != FXB_OK) {
		fprintf(stderr,
		        "fuzz_tape: cannot load %s (run from the "
		        "source root)\n",
		        path);
		exit(1);
	}
	fclose(f);
	if (freopen("/dev/null", "w", stdout) == NULL)
		exit(1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *in = fmemopen((void *)(uintptr_t)data, size, "r");
	if (in == NULL)
		return 0;
	ctl_replay_run(cfg, "fuzz", in, (size & 1) != 0);
	fclose(in);
	return 0;
}
