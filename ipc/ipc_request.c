/*
 * ipc_request.c: one-shot requests for the command-line tools.
 */
#include "ipc_request.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc_tls.h"

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

/*
 * The TLS files into the dialer (ipc_tls.c).  -1 with err naming the
 * option whose file is at fault.
 */
static int
tls_apply(nng_dialer d, const char *url, char *err, size_t errlen)
{
	enum ipc_tls_file bad;
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
	int rv = ipc_tls_dialer(d, tls_ca, tls_cert, tls_key, NULL, &bad);
	if (rv == 0)
		return 0;
	/* What each file was meant to be, for the words of a refusal. */
	static const char *const opt[] = {
	    [IPC_TLS_CA] = "--tls-ca",
	    [IPC_TLS_CERT] = "--tls-cert",
	    [IPC_TLS_KEY] = "--tls-key",
	};
	const char *path = bad == IPC_TLS_CA     ? tls_ca
	                   : bad == IPC_TLS_CERT ? tls_cert
	                                         : tls_key;
	if (bad == IPC_TLS_NONE)
		fail(err, errlen, url, "tls", rv);
	else if (rv == NNG_EINVAL)
		snprintf(err, errlen, "%s %s: not a PEM file", opt[bad], path);
	else if ((rv & NNG_ESYSERR) != 0)
		snprintf(err, errlen, "%s %s: %s", opt[bad], path,
		         nng_strerror(rv));
	else if (bad == IPC_TLS_CA)
		snprintf(err, errlen,
		         "--tls-ca %s: not a PEM certificate (%s)", tls_ca,
		         nng_strerror(rv));
	else
		snprintf(err, errlen,
		         "--tls-cert %s, --tls-key %s: not a PEM certificate "
		         "and its unencrypted key (%s)",
		         tls_cert, tls_key, nng_strerror(rv));
	return -1;
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
