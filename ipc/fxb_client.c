/*
 * fxb_client.c: the client library core banking links (fxb_client.h).  One
 * nng REQ socket per client; each call builds a `check` request with
 * jansson, waits for the reply within the client's timeout, and turns the
 * reply into a struct fxb_client_result.  Whatever cannot be turned into a
 * service answer (no answer in time, a dropped connection, an `error`
 * reply, bytes that are not a reply) goes to the product's fail policy.
 *
 * It is not a server and keeps no state between calls but the socket and
 * the policy table.  It prints nothing: the result says everything.  It
 * uses only the header-only parts of breaker/fxb.h (the error numbers),
 * so libfxbclient needs nothing of libbreaker.
 *
 * This file opens and closes a client and takes each public call from its
 * arguments to its results; the fail policies are fxb_client_policy.c's,
 * the JSON fxb_client_wire.c's, the transport and failover
 * fxb_client_call.c's (fxb_client_impl.h).
 */
#include "fxb_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "fxb_client_impl.h"
#include "ipc_tls.h"
#include "ipc_trust.h"

/* docs/PROTOCOL.md: the service drops a larger request together with its
 * connection (the one cap, ipc_trust.h's). */
#define FXB_CLIENT_REQUEST_MAX IPC_TRUST_REQUEST_MAX

/* Counts the connections up: a call that never had one could not
 * connect (unreachable); one that had one got no answer (unavailable).
 * nng runs REM_POST only for a pipe that saw ADD_PRE, so they pair. */
static void
fxb_client_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct fxb_client_endpoint *ep = arg;
	(void)p;
	nng_mtx_lock(ep->c->mtx);
	ep->npipes += ev == NNG_PIPE_EV_ADD_PRE ? 1 : -1;
	nng_mtx_unlock(ep->c->mtx);
}

/* fxb_client_dial opens ep's socket and starts its dialer (tls: NULL for
 * none).  Returns 0 or the nng error; ep->open says whether there is a
 * socket to close. */
static int
fxb_client_dial(struct fxb_client_endpoint *ep,
                const struct fxb_client_tls *tls)
{
	nng_dialer d;
	enum ipc_tls_file bad; /* the library returns the code alone */
	int rv;

	if ((rv = nng_req0_open(&ep->sock)) != 0)
		return rv;
	ep->open = true;
	/* No resends: the call's own timeout bounds the wait, and the
	 * default resend timer costs a global lock on every request
	 * (measured: -10-28 % at 4 or more in flight).  It also means a
	 * dropped connection fails the call at once (NNG_ECONNRESET) instead
	 * of resending: in a cluster, a leader killed mid-call sends the
	 * call on to the next node at once. */
	rv = nng_socket_set_ms(ep->sock, NNG_OPT_REQ_RESENDTIME,
	                       NNG_DURATION_INFINITE);
	if (rv != 0 ||
	    (rv = nng_pipe_notify(ep->sock, NNG_PIPE_EV_ADD_PRE,
	                          fxb_client_pipe_event, ep)) != 0 ||
	    (rv = nng_pipe_notify(ep->sock, NNG_PIPE_EV_REM_POST,
	                          fxb_client_pipe_event, ep)) != 0)
		return rv;
	/* Non-blocking: the service need not be up yet; the dialer keeps
	 * redialling in the background and a call meanwhile times out.
	 * TLS settings go on the dialer before it starts: it takes its TLS
	 * config when each attempt begins. */
	if ((rv = nng_dialer_create(&d, ep->sock, ep->url)) != 0 ||
	    (tls != NULL &&
	     (rv = ipc_tls_dialer(d, tls->ca_file, tls->cert_file,
	                          tls->key_file, tls->server_name, &bad)) !=
	         0) ||
	    (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
		return rv;
	return 0;
}

/*
 * fxb_client_new opens a client on urls[0..n) (tls: NULL for none).  A
 * tls+tcp:// url without tls is refused: nng's client would verify the
 * service against no CA, and every handshake would fail, silently, for
 * good.
 */
static int
fxb_client_new(const char *const *urls, size_t n, int timeout_ms,
               const struct fxb_client_tls *tls, struct fxb_client **out)
{
	struct fxb_client *c;
	int rv;

	if (urls == NULL || n == 0 || n > FXB_CLIENT_ENDPOINTS_MAX ||
	    out == NULL || timeout_ms <= 0)
		return NNG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (urls[i] == NULL || urls[i][0] == '\0' ||
		    strlen(urls[i]) >= FXB_CLIENT_URL_MAX ||
		    (tls == NULL && strncmp(urls[i], "tls+tcp://", 10) == 0))
			return NNG_EINVAL;
		/* The same node twice is a typo that would cost a dead
		 * node two turns of every call's deadline. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(urls[i], urls[j]) == 0)
				return NNG_EINVAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NNG_ENOMEM;
	c->nendpoints = n;
	for (size_t i = 0; i < n; i++) {
		c->ep[i].c = c;
		memcpy(c->ep[i].url, urls[i], strlen(urls[i]) + 1);
	}
	c->timeout_ms = timeout_ms;
	if ((rv = nng_mtx_alloc(&c->mtx)) != 0)
		goto out_free;
	if ((rv = nng_cv_alloc(&c->cv, c->mtx)) != 0)
		goto out_mtx;
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0)
		goto out_cv;
	for (size_t i = 0; i < n; i++)
		if ((rv = fxb_client_dial(&c->ep[i], tls)) != 0)
			goto out_sock;
	*out = c;
	return 0;

out_sock:
	for (size_t i = 0; i < n; i++)
		if (c->ep[i].open)
			nng_close(c->ep[i].sock);
	nng_aio_free(c->aio);
out_cv:
	nng_cv_free(c->cv);
out_mtx:
	nng_mtx_free(c->mtx);
out_free:
	free(c);
	return rv;
}

/*
 * fxb_client_split opens a client on a comma-separated list of urls.  A
 * list without a comma is one url, given to nng as it is.
 */
static int
fxb_client_split(const char *list, int timeout_ms,
                 const struct fxb_client_tls *tls, struct fxb_client **out)
{
	const char *urls[FXB_CLIENT_ENDPOINTS_MAX];
	char *copy, *p;
	size_t n = 0;
	int rv;

	if (list == NULL)
		return NNG_EINVAL;
	if (strchr(list, ',') == NULL)
		return fxb_client_new(&list, 1, timeout_ms, tls, out);
	if ((copy = strdup(list)) == NULL)
		return NNG_ENOMEM;
	for (p = copy;; p++) {
		if (n == FXB_CLIENT_ENDPOINTS_MAX) {
			free(copy);
			return NNG_EINVAL;
		}
		urls[n++] = p;
		if ((p = strchr(p, ',')) == NULL)
			break;
		*p = '\0';
	}
	/* An empty item (",," or a comma at either end) is refused by
	 * fxb_client_new. */
	rv = fxb_client_new(urls, n, timeout_ms, tls, out);
	free(copy);
	return rv;
}

int
fxb_client_open(const char *url, int timeout_ms, struct fxb_client **out)
{
	return fxb_client_split(url, timeout_ms, NULL, out);
}

int
fxb_client_open_list(const char *const *urls, size_t n, int timeout_ms,
                     const struct fxb_client_tls *tls, struct fxb_client **out)
{
	return fxb_client_new(urls, n, timeout_ms, tls, out);
}

int
fxb_client_open_tls(const char *url, int timeout_ms,
                    const struct fxb_client_tls *tls, struct fxb_client **out)
{
	if (tls == NULL)
		return NNG_EINVAL;
	return fxb_client_split(url, timeout_ms, tls, out);
}

void
fxb_client_close(struct fxb_client *c)
{
	if (c == NULL)
		return;
	/* Closing the socket first ends anything still in flight (a caller
	 * bug: close must not race a call), so the aio is idle when freed. */
	for (size_t i = 0; i < c->nendpoints; i++)
		nng_close(c->ep[i].sock);
	nng_aio_stop(c->aio);
	nng_aio_free(c->aio);
	nng_cv_free(c->cv);
	nng_mtx_free(c->mtx);
	free(c);
}

/* fxb_client_asked appends to each res[0..n)'s message how many of c's
 * endpoints a call asked before a refusal went to its fail policy. */
static void
fxb_client_asked(const struct fxb_client *c, size_t asked,
                 struct fxb_client_result *res, size_t n)
{
	char buf[sizeof(res->message) + 64];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf),
		                   "%s (asked %zu of %zu endpoints)",
		                   res[i].message, asked, c->nendpoints);
		if (len < 0)
			continue;
		if ((size_t)len >= sizeof(buf))
			len = (int)sizeof(buf) - 1;
		fxb_client_copy(res[i].message, sizeof(res[i].message), buf,
		                (size_t)len);
	}
}

/*
 * fxb_client_exchange sends checks[0..n) as one request (a check, or a
 * batch) and fills res[0..n); returns how many were allowed.  res is
 * reset first; n is 1 to FXB_CLIENT_BATCH_MAX.
 */
static size_t
fxb_client_exchange(struct fxb_client *c, const struct fxb_client_check *ck,
                    size_t n, struct fxb_client_result *res,
                    struct fxb_client_upcoming *up)
{
	nng_time deadline;
	nng_msg *reply = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	char *text = NULL, why[384];
	enum fxb_err err;
	size_t len, allowed = 0, refused;
	int rv;

	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].decision = FXB_CLIENT_DENY;
		res[i].retry_after_ms = -1;
		if (up != NULL)
			memset(&up[i], 0, sizeof(up[i]));
	}
	for (size_t i = 0; i < n; i++) {
		if (c == NULL || ck[i].product == NULL || ck[i].amount == NULL)
			return fxb_client_fail_all(
			    c, ck, n, res, FXB_ERR_MISSING,
			    c == NULL               ? "no client"
			    : ck[i].product == NULL ? "no product"
			                            : "no amount");
	}
	/* The deadline starts now, before any wait for the client. */
	deadline = nng_clock() + (nng_time)c->timeout_ms;

	if ((err = fxb_client_request(ck, n, &text)) != FXB_OK)
		return fxb_client_fail_all(
		    c, ck, n, res, (int)err,
		    err == FXB_ERR_NOMEM ? "out of memory building the request"
		                         : "a request field is not UTF-8");
	/* The service would drop this request and its connection: fail it
	 * here, at once, rather than after a reconnect. */
	if ((len = strlen(text)) > FXB_CLIENT_REQUEST_MAX) {
		free(text);
		snprintf(why, sizeof(why), "request of %zu bytes exceeds %d",
		         len, FXB_CLIENT_REQUEST_MAX);
		return fxb_client_fail_all(c, ck, n, res, FXB_ERR_LIMIT, why);
	}

	rv = fxb_client_ask(c, text, deadline, true, &reply, &root, &refused,
	                    why, sizeof(why));
	free(text);
	if (rv != FXB_OK)
		return fxb_client_fail_all(c, ck, n, res, rv, why);
	if (root == NULL)
		root = json_loadb(nng_msg_body(reply), nng_msg_len(reply),
		                  JSON_REJECT_DUPLICATES, &jerr);
	nng_msg_free(reply);
	if (n == 1) {
		if (root == NULL)
			return fxb_client_fail(c, ck[0].product,
			                       FXB_ERR_SYNTAX, &res[0],
			                       "reply is not JSON: %s",
			                       jerr.text) == FXB_CLIENT_ALLOW;
		allowed = fxb_client_answer(c, ck[0].product, root, &res[0],
		                            up) == FXB_CLIENT_ALLOW;
		goto out;
	}
	/* A batch: {"results":[...]} in order, or one error for all. */
	json_t *results = json_object_get(root, "results");
	if (json_is_array(results) && json_array_size(results) == n) {
		for (size_t i = 0; i < n; i++)
			allowed +=
			    fxb_client_answer(
			        c, ck[i].product, json_array_get(results, i),
			        &res[i], up != NULL ? &up[i] : NULL) ==
			    FXB_CLIENT_ALLOW;
	} else if (json_is_object(root) &&
	           json_object_get(root, "error") != NULL) {
		for (size_t i = 0; i < n; i++)
			allowed +=
			    fxb_client_answer(c, ck[i].product, root, &res[i],
			                      NULL) == FXB_CLIENT_ALLOW;
	} else {
		allowed = fxb_client_fail_all(c, ck, n, res, FXB_ERR_SYNTAX,
		                              "reply is not a batch's answer");
	}
out:
	if (refused > 0)
		fxb_client_asked(c, refused, res, n);
	json_decref(root);
	return allowed;
}

enum fxb_client_decision
fxb_client_check_upcoming(struct fxb_client *c, const char *product,
                          const char *amount, const char *rate,
                          const char *ref, struct fxb_client_result *res,
                          struct fxb_client_upcoming *up)
{
	struct fxb_client_result scratch;
	const struct fxb_client_check ck = {product, amount, rate, ref};

	/* The header promises *res is always filled; a NULL res still gets
	 * an answer, in the return value. */
	if (res == NULL)
		res = &scratch;
	fxb_client_exchange(c, &ck, 1, res, up);
	return res->decision;
}

enum fxb_client_decision
fxb_client_check(struct fxb_client *c, const char *product, const char *amount,
                 const char *rate, const char *ref,
                 struct fxb_client_result *res)
{
	return fxb_client_check_upcoming(c, product, amount, rate, ref, res,
	                                 NULL);
}

int
fxb_client_ping(struct fxb_client *c, char *msg, size_t cap)
{
	char why[384] = "";
	nng_msg *reply = NULL;
	json_t *o = NULL;
	size_t refused;
	int rv;

	if (c == NULL) {
		rv = FXB_ERR_MISSING;
		snprintf(why, sizeof(why), "no client");
		goto out;
	}
	rv = fxb_client_ask(c, "{\"op\":\"ping\"}",
	                    nng_clock() + (nng_time)c->timeout_ms, false,
	                    &reply, &o, &refused, why, sizeof(why));
	if (rv != FXB_OK)
		goto out;
	if (o == NULL)
		o = json_loadb(nng_msg_body(reply), nng_msg_len(reply),
		               JSON_REJECT_DUPLICATES, NULL);
	nng_msg_free(reply);
	const json_t *e = json_object_get(o, "error");
	const json_t *code = json_object_get(e, "code");
	const json_t *text = json_object_get(e, "message");
	if (json_is_true(json_object_get(o, "ok"))) {
		rv = FXB_OK;
	} else if (json_is_integer(code) && json_integer_value(code) > 0 &&
	           json_integer_value(code) <= INT32_MAX) {
		rv = (int)json_integer_value(code);
		snprintf(why, sizeof(why), "%s",
		         json_is_string(text) ? json_string_value(text) : "");
		if (refused > 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			         " (asked %zu of %zu endpoints)", refused,
			         c->nendpoints);
	} else {
		rv = FXB_ERR_SYNTAX;
		snprintf(why, sizeof(why), "not an answer to ping");
	}
	json_decref(o);
out:
	if (msg != NULL && cap > 0)
		fxb_client_copy(msg, cap, why, strlen(why));
	return rv;
}

size_t
fxb_client_check_batch(struct fxb_client *c,
                       const struct fxb_client_check *checks, size_t n,
                       struct fxb_client_result *res)
{
	return fxb_client_check_batch_upcoming(c, checks, n, res, NULL);
}

size_t
fxb_client_check_batch_upcoming(struct fxb_client *c,
                                const struct fxb_client_check *checks,
                                size_t n, struct fxb_client_result *res,
                                struct fxb_client_upcoming *up)
{
	if (n == 0 || checks == NULL || res == NULL)
		return 0;
	if (n > FXB_CLIENT_BATCH_MAX) {
		char why[64];
		snprintf(why, sizeof(why), "a batch holds at most %d checks",
		         FXB_CLIENT_BATCH_MAX);
		/* A caller's mistake, not the service's: deny, no policy. */
		for (size_t i = 0; i < n; i++) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].retry_after_ms = -1;
			res[i].decision = FXB_CLIENT_DENY;
			res[i].error = FXB_ERR_LIMIT;
			snprintf(res[i].message, sizeof(res[i].message), "%s",
			         why);
			if (up != NULL)
				memset(&up[i], 0, sizeof(up[i]));
		}
		return 0;
	}
	return fxb_client_exchange(c, checks, n, res, up);
}
