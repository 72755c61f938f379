/*
 * ipc_tls.c: a tls+tcp:// dialer's TLS files (see ipc_tls.h).
 */
#include "ipc_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>

/* A PEM file's text, NUL-terminated (NULL, *rv set: unreadable, empty,
 * over 1 MiB, or with a NUL byte, which no PEM has). */
static char *
pem_read(const char *path, int *rv)
{
	enum { PEM_MAX = 1 << 20 };
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		*rv = NNG_ESYSERR | errno;
		return NULL;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		fclose(f);
		*rv = NNG_ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	*rv = ferror(f) ? NNG_ESYSERR | errno : 0;
	fclose(f);
	if (*rv == 0 && (n == 0 || n > PEM_MAX || memchr(buf, '\0', n)))
		*rv = NNG_EINVAL;
	if (*rv != 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

int
ipc_tls_dialer(nng_dialer d, const char *ca_file, const char *cert_file,
               const char *key_file, const char *server_name,
               enum ipc_tls_file *bad)
{
	nng_tls_config *cfg;
	char *ca = NULL, *cert = NULL, *key = NULL;
	int rv;

	*bad = IPC_TLS_NONE;
	if (ca_file == NULL || (cert_file == NULL) != (key_file == NULL))
		return NNG_EINVAL;
	/* A hold on the config, given back below. */
	if ((rv = nng_dialer_get_ptr(d, NNG_OPT_TLS_CONFIG, (void **)&cfg)) !=
	    0)
		return rv; /* NNG_ENOTSUP: not a tls+tcp:// URL */
	*bad = IPC_TLS_CA;
	if ((ca = pem_read(ca_file, &rv)) == NULL ||
	    (rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0)
		goto out;
	*bad = IPC_TLS_NONE;
	if (server_name != NULL &&
	    (rv = nng_tls_config_server_name(cfg, server_name)) != 0)
		goto out;
	if (cert_file != NULL) {
		*bad = IPC_TLS_CERT;
		if ((cert = pem_read(cert_file, &rv)) == NULL)
			goto out;
		*bad = IPC_TLS_KEY;
		if ((key = pem_read(key_file, &rv)) == NULL)
			goto out;
		/* nng cannot tell which of the two it refused. */
		*bad = IPC_TLS_CERT;
		if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0)
			goto out;
	}
	*bad = IPC_TLS_NONE;
out:
	if (key != NULL)
		memset(key, 0, strlen(key)); /* no copy of a key left behind */
	free(ca);
	free(cert);
	free(key);
	nng_tls_config_free(cfg);
	return rv;
}
