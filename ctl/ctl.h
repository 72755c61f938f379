/*
 * ctl.h: fxbreakerctl's private header.  One section per file.
 *
 * Exit codes are shared by every subcommand (docs/OPERATIONS.md):
 * 0 success, 1 bad input data (a tape line), 2 bad configuration,
 * 3 usage or I/O error.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>

#include "breaker.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_DATA = 1,
	CTL_EXIT_CONFIG = 2,
	CTL_EXIT_USAGE = 3,
};

/* ctl_util.c */
/* ctl_load_config reads and validates a config file; prints the error and
 * returns NULL on failure (*exit_code says which). */
struct breaker_config *ctl_load_config(const char *path, int *exit_code);

/* ctl_replay.c */
int ctl_replay(int argc, char **argv);

/* ctl_validate.c */
int ctl_validate(int argc, char **argv);

#endif /* CTL_H */
