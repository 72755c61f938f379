/*
 * ctl_validate.c: `fxbreakerctl validate FILE`: check a configuration file
 * the way the daemon will, before it goes through a change process.
 */
#include <stdio.h>

#include "ctl.h"

int
ctl_validate(int argc, char **argv)
{
	int code = CTL_EXIT_OK;

	if (argc != 2) {
		fprintf(stderr, "usage: fxbreakerctl validate FILE\n");
		return CTL_EXIT_USAGE;
	}
	struct breaker_config *cfg = ctl_load_config(argv[1], &code);
	if (cfg == NULL)
		return code;
	printf("%s: ok: %zu pairs, %zu products, %zu rules, %zu notices\n",
	       argv[1], cfg->npairs, cfg->nproducts, cfg->nrules,
	       cfg->nnotices);
	breaker_config_free(cfg);
	return CTL_EXIT_OK;
}
