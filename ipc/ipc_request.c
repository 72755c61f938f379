/*
 * ipc_request.c: one-shot requests for the command-line tools.
 */
#include "ipc_request.h"

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
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
	if ((rv = nng_dial(s, url, NULL, 0)) != 0) {
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
	if ((rv = nng_dial(s, url, NULL, 0)) != 0)
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
