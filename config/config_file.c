/*
 * config_file.c: reading configuration files (see config_file.h).
 */
#include "config_file.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
config_file_read(const char *path, size_t max, size_t *len, char *err,
                 size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	size_t n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (n > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
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

enum fxb_err
config_file_load(const char *path, struct service_conf *svc,
                 struct breaker_config **out, char *hash, char *err,
                 size_t errlen)
{
	return config_file_load_over(path, NULL, 0, svc, out, hash, err,
	                             errlen);
}

enum fxb_err
config_file_load_over(const char *path, const struct config_override *ov,
                      size_t nov, struct service_conf *svc,
                      struct breaker_config **out, char *hash, char *err,
                      size_t errlen)
{
	size_t len;
	char *text =
	    config_file_read(path, CONFIG_FILE_MAX, &len, err, errlen);
	if (text == NULL)
		return FXB_ERR_IO;
	if (hash != NULL) {
		/* BLAKE2b-256: the log records which file was running. */
		unsigned char h[32];
		crypto_generichash(h, sizeof(h), (const unsigned char *)text,
		                   len, NULL, 0);
		sodium_bin2hex(hash, 65, h, sizeof(h));
	}
	enum fxb_err rc =
	    config_parse(text, len, path, ov, nov, svc, out, err, errlen);
	free(text);
	return rc;
}

enum fxb_err
config_file_load_service(const char *path, struct service_conf *svc, char *err,
                         size_t errlen)
{
	size_t len;
	char *text =
	    config_file_read(path, CONFIG_FILE_MAX, &len, err, errlen);
	if (text == NULL)
		return FXB_ERR_IO;
	enum fxb_err rc =
	    config_parse_service(text, len, path, svc, err, errlen);
	free(text);
	return rc;
}
