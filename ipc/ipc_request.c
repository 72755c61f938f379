/*
 * ipc_request.c: one-shot requests for the command-line tools.
 */
#include "ipc_request.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum fxb_err
fail(char *err, size_t errlen, const char *url, const char *what, int rv)
{
	snprintf(err, errlen, "%s: %s: %s", url, what, nng_strerror(rv));
	return rv == NNG_ETIMEDOUT ? FXB_ERR_UNAVAILABLE : FXB_ERR_IO;
}

/* The TLS files ipc_request_tls set (the tool's options). */
static const char *tls_ca, *tls_cert, *tls_key;

void
ipc_request_tls(const char *ca, const char *cert, const char *key)
{
	tls_ca = ca;
	tls_cert = cert;
	tls_key = key;
}

/* A PEM file's text, NUL-terminated, in a new buffer; NULL with err
 * naming the file (what names it: the option). */
static char *
pem_read(const char *opt, const char *path, char *err, size_t errlen)
{
	enum { PEM_MAX = 1 << 20 };
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;
	if (f == NULL) {
		snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s %s: out of memory", opt, path);
		return NULL;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > PEM_MAX || memchr(buf, '\0', n) != NULL) {
		snprintf(err, errlen, "%s %s: not a PEM file", opt, path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * The TLS files into the dialer's own config (nng made it for the URL:
 * the server verified, the URL's host the name its certificate must
 * carry).  -1 with err set.
 */
static int
tls_apply(nng_dialer d, const char *url, char *err, size_t errlen)
{
	nng_tls_config *cfg;
	char *ca = NULL, *cert = NULL, *key = NULL;
	int rv, ret = -1;
	if (tls_ca == NULL) {
		snprintf(err, errlen,
		         "%s: give --tls-ca FILE (the CA that signed the "
		         "service's certificate)",
		         url);
		return -1;
	}
	if ((tls_cert == NULL) != (tls_key == NULL)) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together");
		return -1;
	}
	if ((rv = nng_dialer_get_ptr(d, NNG_OPT_TLS_CONFIG, (void **)&cfg)) !=
	    0) {
		fail(err, errlen, url, "tls", rv);
		return -1;
	}
	if ((ca = pem_read("--tls-ca", tls_ca, err, errlen)) == NULL)
		goto out;
	if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
		snprintf(err, errlen,
		         "--tls-ca %s: not a PEM certificate (%s)", tls_ca,
		         nng_strerror(rv));
		goto out;
	}
	if (tls_cert != NULL &&
	    ((cert = pem_read("--tls-cert", tls_cert, err, errlen)) == NULL ||
	     (key = pem_read("--tls-key", tls_key, err, errlen)) == NULL))
		goto out;
	if (cert != NULL &&
	    (rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		snprintf(
		    err, errlen,
		    "--tls-cert %s, --tls-key %s: not a PEM certificate and "
		    "its unencrypted key (%s)",
		    tls_cert, tls_key, nng_strerror(rv));
		goto out;
	}
	ret = 0;
out:
	if (key != NULL)
		memset(key, 0, strlen(key));
	free(ca);
	free(cert);
	free(key);
	nng_tls_config_free(cfg); /* the hold nng_dialer_get_ptr took */
	return ret;
}

/* nng_dial, with the TLS files on a tls+tcp:// dialer before it starts.
 * -1 with err set, or an nng error. */
static int
dial(nng_socket s, const char *url, char *err, size_t errlen)
{
	nng_dialer d;
	int rv;
	if ((rv = nng_dialer_create(&d, s, url)) != 0)
		return rv;
	if (strncmp(url, "tls+tcp://", 10) == 0 &&
	    tls_apply(d, url, err, errlen) != 0)
		return -1;
	return nng_dialer_start(d, 0);
}

enum fxb_err
ipc_request_once(const char *url, const char *req, int timeout_ms,
                 char **reply, char *err, size_t errlen)
{
	nng_socket s;
	char *buf = NULL;
	size_t len = 0;
	int rv;
	enum fxb_err rc;

	if ((rv = nng_req0_open(&s)) != 0)
		return fail(err, errlen, url, "socket", rv);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
	/* A blocking dial fails at once when the service is down: that is
	 * what a tool wants to say. */
	if ((rv = dial(s, url, err, errlen)) == -1) {
		rc = FXB_ERR_IO;
		goto out;
	}
	if (rv != 0) {
		rc = fail(err, errlen, url,
		          "cannot connect (is fxbreakerd "
		          "running?)",
		          rv);
		goto out;
	}
	if ((rv = nng_send(s, (void *)(uintptr_t)req, strlen(req), 0)) != 0) {
		rc = fail(err, errlen, url, "send", rv);
		goto out;
	}
	if ((rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC)) != 0) {
		rc = fail(err, errlen, url, "no reply", rv);
		goto out;
	}
	*reply = malloc(len + 1);
	if (*reply == NULL) {
		rc = FXB_ERR_NOMEM;
		goto out;
	}
	memcpy(*reply, buf, len);
	(*reply)[len] = '\0';
	rc = FXB_OK;
out:
	if (buf != NULL)
		nng_free(buf, len);
	nng_close(s);
	return rc;
}

enum fxb_err
ipc_push_once(const char *url, const char *msg, int timeout_ms, char *err,
              size_t errlen)
{
	nng_socket s;
	int rv;
	enum fxb_err rc = FXB_OK;

	if ((rv = nng_push0_open(&s)) != 0)
		return fail(err, errlen, url, "socket", rv);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout_ms);
	if ((rv = dial(s, url, err, errlen)) == -1)
		rc = FXB_ERR_IO;
	else if (rv != 0)
		rc = fail(err, errlen, url,
		          "cannot connect (is fxbreakerd "
		          "running?)",
		          rv);
	else if ((rv = nng_send(s, (void *)(uintptr_t)msg, strlen(msg), 0)) !=
	         0)
		rc = fail(err, errlen, url, "send", rv);
	/* Let the message leave before the socket goes (PUSH is
	 * fire-and-forget; closing at once can drop it). */
	struct timespec ts = {0, 20 * 1000000L};
	nanosleep(&ts, NULL);
	nng_close(s);
	return rc;
}
