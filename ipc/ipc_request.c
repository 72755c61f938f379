/*
 * ipc_request.c: one-shot requests for the command-line tools.
 */
#include "ipc_request.h"

#include <errno.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdint.h>
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

/* Milliseconds on a clock that does not jump. */
static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A node's refusal that another node may not give (37 not_leader, 38
 * no_quorum, 23 shutdown); *hint is a not_leader's leader, copied into
 * hint (cap bytes), "" if none.  The library's rule
 * (ipc/fxb_client_call.c).
 */
static bool
refusal(const char *reply, char *hint, size_t cap)
{
	json_t *r = json_loads(reply, 0, NULL);
	json_t *e = json_object_get(r, "error");
	json_t *code = json_object_get(e, "code");
	const char *leader = json_string_value(json_object_get(e, "leader"));
	json_int_t v = json_is_integer(code) ? json_integer_value(code) : 0;
	bool refused = v == FXB_ERR_NOT_LEADER || v == FXB_ERR_NO_QUORUM ||
	               v == FXB_ERR_SHUTDOWN;

	snprintf(hint, cap, "%s",
	         v == FXB_ERR_NOT_LEADER && leader != NULL ? leader : "");
	json_decref(r);
	return refused;
}

/* Appends line to err (errlen bytes), after a '\n' unless it is the
 * first. */
static void
add_line(char *err, size_t errlen, const char *line)
{
	size_t len = strlen(err);
	if (len + 1 < errlen)
		snprintf(err + len, errlen - len, "%s%s", len > 0 ? "\n" : "",
		         line);
}

enum fxb_err
ipc_request_any(const char *urls, const char *req, int timeout_ms,
                char **reply, char *err, size_t errlen)
{
	const char *url[IPC_REQUEST_URLS_MAX];
	bool asked[IPC_REQUEST_URLS_MAX] = {false};
	char *copy, *p, *kept = NULL, *r, one[512], hint[512] = "";
	size_t n = 0, nasked = 0, i = 0;
	enum fxb_err rc, got = FXB_ERR_IO;
	int64_t deadline = mono_ms() + timeout_ms;

	if (strchr(urls, ',') == NULL)
		return ipc_request_once(urls, req, timeout_ms, reply, err,
		                        errlen);
	if ((copy = strdup(urls)) == NULL)
		return FXB_ERR_NOMEM;
	for (p = copy;; p++) {
		if (n == IPC_REQUEST_URLS_MAX || *p == '\0' || *p == ',') {
			snprintf(err, errlen,
			         "%s: a list of at most %d URLs, with commas "
			         "between them and nothing else",
			         urls, IPC_REQUEST_URLS_MAX);
			free(copy);
			return FXB_ERR_SYNTAX;
		}
		url[n++] = p;
		if ((p = strchr(p, ',')) == NULL)
			break;
		*p = '\0';
	}
	err[0] = '\0';
	for (;;) {
		int64_t left = deadline - mono_ms();
		int share = left > 0 ? (int)(left / (int64_t)(n - nasked)) : 0;

		asked[i] = true;
		nasked++;
		r = NULL;
		rc = ipc_request_once(url[i], req, share > 0 ? share : 1, &r,
		                      one, sizeof(one));
		hint[0] = '\0';
		if (rc == FXB_OK && !refusal(r, hint, sizeof(hint))) {
			free(kept);
			free(copy);
			*reply = r;
			return FXB_OK;
		}
		if (rc == FXB_OK) {
			free(kept);
			kept = r;
		} else if (rc == FXB_ERR_NOMEM) {
			got = FXB_ERR_NOMEM;
			break;
		} else {
			if (rc == FXB_ERR_UNAVAILABLE)
				got = rc;
			add_line(err, errlen, one);
		}
		if (nasked == n || deadline - mono_ms() <= 0)
			break;
		/* The hint only within the list: see fxb_client_next. */
		size_t next = n;
		for (size_t j = 0; hint[0] != '\0' && j < n; j++)
			if (!asked[j] && strcmp(url[j], hint) == 0)
				next = j;
		for (size_t j = (i + 1) % n; next == n; j = (j + 1) % n)
			if (!asked[j])
				next = j;
		i = next;
	}
	free(copy);
	if (got == FXB_ERR_IO && kept != NULL) {
		*reply = kept;
		return FXB_OK;
	}
	free(kept);
	return got;
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
