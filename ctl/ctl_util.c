/*
 * ctl_util.c: file helpers shared by fxbreakerctl's subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define CONFIG_MAX_BYTES (4u << 20)

char *
ctl_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", path,
		        strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		goto fail;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", path,
		        strerror(errno));
		goto fail;
	}
	if (n > max) {
		fprintf(stderr, "fxbreakerctl: %s: larger than %zu bytes\n",
		        path, max);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

struct breaker_config *
ctl_load_config(const char *path, int *exit_code)
{
	size_t len;
	char err[512];
	struct breaker_config *cfg = NULL;
	char *text = ctl_read_file(path, CONFIG_MAX_BYTES, &len);

	if (text == NULL) {
		*exit_code = CTL_EXIT_USAGE;
		return NULL;
	}
	enum fxb_err rc =
	    breaker_config_parse(text, len, path, &cfg, err, sizeof(err));
	free(text);
	if (rc == FXB_ERR_CONFIG) {
		fprintf(stderr, "%s\n", err);
		*exit_code = CTL_EXIT_CONFIG;
		return NULL;
	}
	if (rc != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", path,
		        fxb_strerror(rc));
		*exit_code = CTL_EXIT_USAGE;
		return NULL;
	}
	return cfg;
}
