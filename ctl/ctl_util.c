/*
 * ctl_util.c: file helpers shared by fxbreakerctl's subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "ctl.h"

struct breaker_config *
ctl_load_config(const char *path, int *exit_code)
{
	return ctl_load_config_over(path, NULL, 0, NULL, exit_code);
}

struct breaker_config *
ctl_load_config_over(const char *path, const struct config_override *ov,
                     size_t nov, const char *what, int *exit_code)
{
	char err[512];
	struct breaker_config *cfg = NULL;
	enum fxb_err rc = config_file_load_over(path, ov, nov, NULL, &cfg,
	                                        NULL, err, sizeof(err));

	if (rc == FXB_ERR_CONFIG) {
		if (what != NULL)
			fprintf(stderr, "%s: ", what);
		fprintf(stderr, "%s\n", err);
		*exit_code = CTL_EXIT_CONFIG;
		return NULL;
	}
	if (rc != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: %s\n",
		        rc == FXB_ERR_IO ? err : fxb_strerror(rc));
		*exit_code = CTL_EXIT_USAGE;
		return NULL;
	}
	return cfg;
}
