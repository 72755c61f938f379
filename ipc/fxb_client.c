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
 */
#include "fxb_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "fxb.h"
#include "ipc_tls.h"
#include "ipc_trust.h"

/* A product id is at most this long: must match BREAKER_ID_MAX
 * (breaker/breaker_config.h), so that every product the service knows
 * fits a slot and none it cannot know takes one. */
#define FXB_CLIENT_PRODUCT_MAX 64

/* The table of fail policies is fixed: a program that sets policies in a
 * loop from untrusted data cannot make the client grow. */
#define FXB_CLIENT_POLICY_MAX 256

/* docs/PROTOCOL.md: the service drops a larger request together with its
 * connection (the one cap, ipc_trust.h's). */
#define FXB_CLIENT_REQUEST_MAX IPC_TRUST_REQUEST_MAX

/* A url is kept for "cannot connect to URL" and for matching a leader
 * hint: 255 bytes at most. */
#define FXB_CLIENT_URL_MAX 256

struct fxb_client_policy_slot {
	char product[FXB_CLIENT_PRODUCT_MAX + 1];
	enum fxb_client_policy policy;
};

/* One service to dial: a node of a cluster, or the one service. */
struct fxb_client_endpoint {
	struct fxb_client *c;         /* for the pipe events' lock */
	char url[FXB_CLIENT_URL_MAX]; /* as dialled, for "cannot connect" */
	nng_socket sock;
	bool open;  /* sock is to be closed */
	int npipes; /* connections up (handshake done): unreachable or not */
	/* The last call that asked it got no answer (cannot connect, or
	 * silence): asked after the others, and for a short share.  Calls
	 * holding `busy` only. */
	bool suspect;
};

struct fxb_client {
	/* One REQ socket per endpoint, not one socket dialling them all:
	 * nng would spread requests over every connection, and a check
	 * must go to the node that leads. */
	size_t nendpoints;
	struct fxb_client_endpoint ep[FXB_CLIENT_ENDPOINTS_MAX];
	/* The endpoint a call asks first: the last that answered (the
	 * leader, in a cluster).  Read and written only by the call that
	 * holds `busy`. */
	size_t current;
	nng_aio *aio;            /* the one operation in flight, if any */
	nng_duration timeout_ms; /* per call, lock wait included */

	/* mtx guards busy, the endpoints' npipes and the policy table.  A
	 * call holds `busy` rather than mtx across its send and receive,
	 * so that a caller queued behind a slow call can give up at its
	 * own deadline (cv) instead of waiting out every call ahead of
	 * it: the header promises each call returns within the timeout,
	 * even on a shared client. */
	nng_mtx *mtx;
	nng_cv *cv; /* signalled when busy clears */
	bool busy;
	size_t npolicies;
	struct fxb_client_policy_slot policies[FXB_CLIENT_POLICY_MAX];
};

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

/* fxb_client_slot returns the slot of product, or NULL.  Call with mtx
 * held. */
static struct fxb_client_policy_slot *
fxb_client_slot(struct fxb_client *c, const char *product)
{
	for (size_t i = 0; i < c->npolicies; i++)
		if (strcmp(c->policies[i].product, product) == 0)
			return &c->policies[i];
	return NULL;
}

int
fxb_client_set_policy(struct fxb_client *c, const char *product,
                      enum fxb_client_policy policy)
{
	struct fxb_client_policy_slot *slot;
	size_t len;
	int rv = 0;

	/* A product id longer than any the service accepts cannot be
	 * checked, so it has no policy to keep: refuse it like a full
	 * table rather than store a prefix that could match another. */
	if (c == NULL || product == NULL ||
	    (len = strlen(product)) > FXB_CLIENT_PRODUCT_MAX)
		return -1;
	/* Anything but an explicit allow is deny: fail closed. */
	if (policy != FXB_CLIENT_FAIL_ALLOW)
		policy = FXB_CLIENT_FAIL_DENY;
	nng_mtx_lock(c->mtx);
	if ((slot = fxb_client_slot(c, product)) != NULL) {
		slot->policy = policy;
	} else if (policy == FXB_CLIENT_FAIL_DENY) {
		/* The default needs no slot: a full table still takes it. */
	} else if (c->npolicies == FXB_CLIENT_POLICY_MAX) {
		rv = -1;
	} else {
		slot = &c->policies[c->npolicies++];
		memcpy(slot->product, product, len + 1);
		slot->policy = policy;
	}
	nng_mtx_unlock(c->mtx);
	return rv;
}

static enum fxb_client_policy
fxb_client_policy_of(struct fxb_client *c, const char *product)
{
	const struct fxb_client_policy_slot *slot;
	enum fxb_client_policy policy = FXB_CLIENT_FAIL_DENY;

	if (c == NULL || product == NULL)
		return policy;
	nng_mtx_lock(c->mtx);
	if ((slot = fxb_client_slot(c, product)) != NULL)
		policy = slot->policy;
	nng_mtx_unlock(c->mtx);
	return policy;
}

/*
 * fxb_client_fail lets the product's fail policy decide: res says
 * by_policy, the error code and why (a printf format).
 */
static enum fxb_client_decision
fxb_client_fail(struct fxb_client *c, const char *product, int err,
                struct fxb_client_result *res, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum fxb_client_decision
fxb_client_fail(struct fxb_client *c, const char *product, int err,
                struct fxb_client_result *res, const char *fmt, ...)
{
	va_list ap;

	res->decision =
	    fxb_client_policy_of(c, product) == FXB_CLIENT_FAIL_ALLOW
	        ? FXB_CLIENT_ALLOW
	        : FXB_CLIENT_DENY;
	res->by_policy = true;
	res->error = err;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return res->decision;
}

/* Error codes that say the request was wrong, not the service
 * (docs/PROTOCOL.md): syntax, decimal, precision, range, unknown product or
 * pair, crossed, missing, unknown op, type. */
static bool
fxb_client_is_request_error(int err)
{
	switch (err) {
	case FXB_ERR_SYNTAX:
	case FXB_ERR_DECIMAL:
	case FXB_ERR_PRECISION:
	case FXB_ERR_RANGE:
	case FXB_ERR_UNKNOWN_PRODUCT:
	case FXB_ERR_UNKNOWN_PAIR:
	case FXB_ERR_CROSSED:
	case FXB_ERR_MISSING:
	case FXB_ERR_UNKNOWN_OP:
	case FXB_ERR_TYPE:
		return true;
	default:
		return false;
	}
}

/*
 * fxb_client_copy copies len bytes of src into dst (size bytes, always
 * terminated), cutting a text too long for dst at a character boundary: a
 * notice cut inside a Hangul syllable would be invalid UTF-8 on a
 * customer's screen.
 */
static void
fxb_client_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* fxb_client_get_str copies obj[key] into dst if it is a string. */
static void
fxb_client_get_str(const json_t *obj, const char *key, char *dst, size_t size)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		fxb_client_copy(dst, size, json_string_value(v),
		                json_string_length(v));
}

/* fxb_client_get_int returns obj[key] if it is an integer >= min, else
 * dflt. */
static int64_t
fxb_client_get_int(const json_t *obj, const char *key, int64_t min,
                   int64_t dflt)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) >= min)
		return (int64_t)json_integer_value(v);
	return dflt;
}

/*
 * fxb_client_error_reply applies the fail policy to an `error` reply,
 * keeping the service's code and message.  A code that is not a positive
 * integer makes the reply malformed (syntax): there is no right number to
 * pass on.
 */
static enum fxb_client_decision
fxb_client_error_reply(struct fxb_client *c, const char *product,
                       const json_t *error, struct fxb_client_result *res)
{
	const json_t *code = json_object_get(error, "code");
	const json_t *text = json_object_get(error, "message");
	enum fxb_client_decision d;

	if (!json_is_integer(code) || json_integer_value(code) <= 0 ||
	    json_integer_value(code) > INT32_MAX)
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "error reply without a valid code");
	if (!json_is_string(text))
		text = json_object_get(error, "name");
	int err = (int)json_integer_value(code);
	if (fxb_client_is_request_error(err)) {
		/* The request itself is wrong (a bad amount, an unknown
		 * product): that is an answer, and the answer is no.  The
		 * fail policy is for a service that cannot answer, never a
		 * way for bad input to be allowed. */
		res->decision = d = FXB_CLIENT_DENY;
		res->by_policy = false;
		res->error = err;
	} else {
		d = fxb_client_fail(c, product, err, res, "%s", "");
	}
	if (json_is_string(text))
		fxb_client_copy(res->message, sizeof(res->message),
		                json_string_value(text),
		                json_string_length(text));
	return d;
}

/*
 * fxb_client_answer turns one answer object into *res.  The decision is
 * the only field that must be right: once the service said allow, deny or
 * throttle, that stands, and an optional field of the wrong type reads as
 * absent.  Being stricter would hand a service's deny to the fail policy,
 * which may be allow.
 */
/* The answer's "upcoming" into *up (NULL: not wanted); one without a
 * plan id and a start reads as none. */
static void
fxb_client_upcoming_get(const json_t *reply, struct fxb_client_upcoming *up)
{
	const json_t *u = json_object_get(reply, "upcoming"), *notice;
	if (up == NULL || !json_is_object(u))
		return;
	up->plan = fxb_client_get_int(u, "plan", 1, 0);
	up->from = fxb_client_get_int(u, "from", 0, -1);
	up->until = fxb_client_get_int(u, "until", 0, -1);
	if (up->plan == 0 || up->from < 0) {
		memset(up, 0, sizeof(*up));
		return;
	}
	up->has_upcoming = true;
	notice = json_object_get(u, "notice");
	if (json_is_object(notice)) {
		fxb_client_get_str(notice, "ko", up->notice_ko,
		                   sizeof(up->notice_ko));
		fxb_client_get_str(notice, "en", up->notice_en,
		                   sizeof(up->notice_en));
	}
}

static enum fxb_client_decision
fxb_client_answer(struct fxb_client *c, const char *product,
                  const json_t *reply, struct fxb_client_result *res,
                  struct fxb_client_upcoming *up)
{
	static const struct {
		const char *name;
		enum fxb_client_decision decision;
	} decisions[] = {
	    {"allow", FXB_CLIENT_ALLOW},
	    {"deny", FXB_CLIENT_DENY},
	    {"throttle", FXB_CLIENT_THROTTLE},
	};
	const json_t *v, *notice;
	size_t i;

	if (!json_is_object(reply))
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "reply is not a JSON object");
	if ((v = json_object_get(reply, "error")) != NULL)
		return fxb_client_error_reply(c, product, v, res);
	v = json_object_get(reply, "decision");
	for (i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), decisions[i].name) == 0)
			break;
	if (i == sizeof(decisions) / sizeof(decisions[0]))
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "reply has no valid decision");
	res->decision = decisions[i].decision;
	fxb_client_get_str(reply, "reason", res->reason, sizeof(res->reason));
	fxb_client_get_str(reply, "rule", res->rule, sizeof(res->rule));
	fxb_client_get_str(reply, "kind", res->kind, sizeof(res->kind));
	res->suspension = fxb_client_get_int(reply, "suspension", 1, 0);
	res->retry_after_ms =
	    fxb_client_get_int(reply, "retry_after_ms", 0, -1);
	notice = json_object_get(reply, "notice");
	if (json_is_object(notice)) {
		fxb_client_get_str(notice, "ko", res->notice_ko,
		                   sizeof(res->notice_ko));
		fxb_client_get_str(notice, "en", res->notice_en,
		                   sizeof(res->notice_en));
	}
	fxb_client_upcoming_get(reply, up);
	return res->decision;
}

/*
 * fxb_client_set_field sets obj[key] to the string s.  jansson refuses a
 * string that is not UTF-8 (NULL) the same way it reports out of memory;
 * the unchecked constructor tells the two apart.
 */
static enum fxb_err
fxb_client_set_field(json_t *obj, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL) {
		if ((v = json_string_nocheck(s)) == NULL)
			return FXB_ERR_NOMEM;
		json_decref(v);
		return FXB_ERR_SYNTAX;
	}
	return json_object_set_new(obj, key, v) == 0 ? FXB_OK : FXB_ERR_NOMEM;
}

/* fxb_client_check_fields sets a check's fields on obj.  Decimals go as
 * the caller's strings, untouched: the service validates them exactly and
 * nothing here may round them. */
static enum fxb_err
fxb_client_check_fields(json_t *obj, const struct fxb_client_check *ck)
{
	enum fxb_err err;

	if ((err = fxb_client_set_field(obj, "product", ck->product)) !=
	        FXB_OK ||
	    (err = fxb_client_set_field(obj, "amount", ck->amount)) !=
	        FXB_OK ||
	    (ck->rate != NULL &&
	     (err = fxb_client_set_field(obj, "rate", ck->rate)) != FXB_OK) ||
	    (ck->ref != NULL &&
	     (err = fxb_client_set_field(obj, "ref", ck->ref)) != FXB_OK))
		return err;
	return FXB_OK;
}

/* fxb_client_request builds the text of a check (n == 1) or a check_batch
 * (n > 1); *out is the caller's to free() on success. */
static enum fxb_err
fxb_client_request(const struct fxb_client_check *checks, size_t n, char **out)
{
	json_t *req = json_object(), *arr = NULL;
	enum fxb_err err = FXB_ERR_NOMEM;

	if (req == NULL)
		return FXB_ERR_NOMEM;
	if (n == 1) {
		if ((err = fxb_client_set_field(req, "op", "check")) !=
		        FXB_OK ||
		    (err = fxb_client_check_fields(req, &checks[0])) != FXB_OK)
			goto out;
	} else {
		if ((err = fxb_client_set_field(req, "op", "check_batch")) !=
		        FXB_OK ||
		    (arr = json_array()) == NULL ||
		    json_object_set_new(req, "checks", arr) != 0) {
			err = FXB_ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				err = FXB_ERR_NOMEM;
				goto out;
			}
			if ((err = fxb_client_check_fields(o, &checks[i])) !=
			    FXB_OK)
				goto out;
		}
	}
	err = (*out = json_dumps(req, JSON_COMPACT)) != NULL ? FXB_OK
	                                                     : FXB_ERR_NOMEM;
out:
	json_decref(req);
	return err;
}

/* fxb_client_left returns the ms left until deadline, 0 if none. */
static nng_duration
fxb_client_left(nng_time deadline)
{
	nng_time now = nng_clock();

	return now < deadline ? (nng_duration)(deadline - now) : 0;
}

/*
 * fxb_client_call sends text to ep and waits for the reply until deadline.
 * Returns 0 and the reply in *reply (the caller's to free), or the nng
 * error.  The REQ socket matches a reply to its request by id, so a late
 * reply to an earlier, timed-out call is dropped by nng, never taken for
 * this one.
 */
static int
fxb_client_call(struct fxb_client *c, struct fxb_client_endpoint *ep,
                const char *text, nng_time deadline, nng_msg **reply,
                bool *sent)
{
	nng_msg *msg;
	int rv;

	*sent = false;
	if ((rv = nng_msg_alloc(&msg, 0)) != 0)
		return rv;
	if ((rv = nng_msg_append(msg, text, strlen(text))) != 0) {
		nng_msg_free(msg);
		return rv;
	}
	/* The send waits while no connection is up (the dialer retrying). */
	nng_aio_set_msg(c->aio, msg);
	nng_aio_set_timeout(c->aio, fxb_client_left(deadline));
	nng_send_aio(ep->sock, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0) {
		/* A failed send gives the message back. */
		if ((msg = nng_aio_get_msg(c->aio)) != NULL)
			nng_msg_free(msg);
		nng_aio_set_msg(c->aio, NULL);
		return rv;
	}
	*sent = true;
	/* A time left of 0 still polls: the reply may be there already. */
	nng_aio_set_timeout(c->aio, fxb_client_left(deadline));
	nng_recv_aio(ep->sock, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0)
		return rv;
	*reply = nng_aio_get_msg(c->aio);
	nng_aio_set_msg(c->aio, NULL);
	return *reply != NULL ? 0 : NNG_EINTERNAL;
}

/* fxb_client_acquire waits until c is free or deadline passes. */
static bool
fxb_client_acquire(struct fxb_client *c, nng_time deadline)
{
	bool got;

	nng_mtx_lock(c->mtx);
	while (c->busy && nng_clock() < deadline)
		(void)nng_cv_until(c->cv, deadline);
	if ((got = !c->busy))
		c->busy = true;
	nng_mtx_unlock(c->mtx);
	return got;
}

static void
fxb_client_release(struct fxb_client *c)
{
	nng_mtx_lock(c->mtx);
	c->busy = false;
	nng_cv_wake1(c->cv);
	nng_mtx_unlock(c->mtx);
}

static int
fxb_client_pipes(struct fxb_client_endpoint *ep)
{
	nng_mtx_lock(ep->c->mtx);
	int n = ep->npipes;
	nng_mtx_unlock(ep->c->mtx);
	return n;
}

/*
 * fxb_client_unreachable says why no connection to ep came up during a
 * wait of ms (why, cap bytes) and returns the code: FXB_ERR_UNREACHABLE,
 * or, for an ipc:// socket that does take a connection (a service
 * stopped before its handshake: SIGSTOP, a hung process),
 * FXB_ERR_UNAVAILABLE.  For ipc:// the reason is one connect(2) away and
 * never blocks (a full backlog is EAGAIN); a tcp:// connect could, so it
 * is not tried.
 */
static int
fxb_client_unreachable(const struct fxb_client_endpoint *ep, int ms, char *why,
                       size_t cap)
{
	const char *path = ep->url + 6, *how = NULL;
	struct sockaddr_un sa;
	int fd, e = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strncmp(ep->url, "ipc://", 6) == 0 &&
	    strlen(path) < sizeof(sa.sun_path) &&
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0) {
		memcpy(sa.sun_path, path, strlen(path) + 1);
		if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			e = errno;
		close(fd);
		if (e == 0 || e == EAGAIN || e == EINPROGRESS) {
			snprintf(why, cap,
			         "no answer within %d ms (%s takes "
			         "connections but the service does not "
			         "answer)",
			         ms, ep->url);
			return FXB_ERR_UNAVAILABLE;
		}
		how = e == ENOENT         ? "no such socket file"
		      : e == ECONNREFUSED ? "connection refused"
		      : e == EACCES || e == EPERM
		          ? "permission denied (the socket's owner, group "
		            "and mode)"
		          : strerror(e);
	}
	if (how != NULL)
		snprintf(why, cap, "cannot connect to %s: %s", ep->url, how);
	else
		snprintf(why, cap, "cannot connect to %s within %d ms",
		         ep->url, ms);
	return FXB_ERR_UNREACHABLE;
}

/*
 * fxb_client_attempt sends text to ep and takes its reply (*reply, the
 * caller's to free) by until; ms is that wait, for the messages.
 * Returns FXB_OK, or why not (why, cap bytes): FXB_ERR_UNREACHABLE when
 * no connection came up (the send never left), FXB_ERR_UNAVAILABLE when
 * one did and no answer came in time (or it dropped).  With several
 * endpoints, a message names the one it is about.
 */
static int
fxb_client_attempt(struct fxb_client *c, struct fxb_client_endpoint *ep,
                   const char *text, nng_time until, int ms, nng_msg **reply,
                   char *why, size_t cap)
{
	const char *who = c->nendpoints > 1 ? ep->url : "";
	const char *sep = c->nendpoints > 1 ? ": " : "";
	bool sent;
	int rv;

	rv = fxb_client_call(c, ep, text, until, reply, &sent);
	if (rv == 0)
		return FXB_OK;
	if (!sent && rv == NNG_ETIMEDOUT && fxb_client_pipes(ep) == 0)
		return fxb_client_unreachable(ep, ms, why, cap);
	if (rv == NNG_ETIMEDOUT)
		snprintf(why, cap, "%s%sno answer within %d ms", who, sep, ms);
	else
		snprintf(why, cap, "%s%sno answer: %s", who, sep,
		         nng_strerror(rv));
	return FXB_ERR_UNAVAILABLE;
}

/*
 * fxb_client_refusal says whether root is a node's refusal that another
 * node may not give: 37 not_leader, 38 no_quorum (a leader cut off from
 * its majority), 23 shutdown (a node stopping, as in a rolling restart).
 * *hint is a not_leader's error.leader, NULL if it has none.
 */
static bool
fxb_client_refusal(const json_t *root, const char **hint)
{
	const json_t *e = json_object_get(root, "error");
	const json_t *code = json_object_get(e, "code");

	*hint = NULL;
	if (!json_is_integer(code))
		return false;
	switch (json_integer_value(code)) {
	case FXB_ERR_NOT_LEADER:
		*hint = json_string_value(json_object_get(e, "leader"));
		return true;
	case FXB_ERR_NO_QUORUM:
	case FXB_ERR_SHUTDOWN:
		return true;
	default:
		return false;
	}
}

/*
 * fxb_client_next picks the endpoint to ask after i: the one hint names,
 * if it is in the list and not yet asked by this call, else the next in
 * the list not yet asked.  A hint is matched to the list exactly, and
 * never followed outside it: the list is what the bank configured and
 * vetted (and, over TLS, what its CA and names were checked against); a
 * reply must not be able to send checks, whose allows the bank acts on,
 * to a host nobody chose (a misconfigured or compromised node), nor
 * make the client open sockets without bound.
 */
static size_t
fxb_client_next(const struct fxb_client *c, size_t i, const char *hint,
                const bool *asked)
{
	size_t n = c->nendpoints;

	for (size_t j = 0; hint != NULL && j < n; j++)
		if (!asked[j] && strcmp(c->ep[j].url, hint) == 0)
			return j;
	/* A node that last gave no answer (a leader that died) comes
	 * after the ones that did. */
	for (size_t k = 1; k <= n; k++) {
		size_t j = (i + k) % n;
		if (!asked[j] && !c->ep[j].suspect)
			return j;
	}
	for (size_t j = (i + 1) % n;; j = (j + 1) % n)
		if (!asked[j])
			return j;
}

/*
 * fxb_client_ask sends text to c's endpoints, the current one first,
 * until one answers, all within the call's one deadline, waiting its
 * turn on a shared client.  With one endpoint it is one attempt, as it
 * always was.  With several, each attempt may take its share of the time
 * left (the time left over the endpoints not yet asked), so that a dead
 * or hung node leaves the others time to answer; a node that refuses
 * (fxb_client_refusal) or cannot be reached sends the call to the next,
 * a not_leader with a hint straight to the leader it names.  Each
 * endpoint is asked at most once per call, so that nodes with stale
 * views of who leads cannot bounce a call between them.  The endpoint
 * that answers is asked first by the next call (when remember: a ping
 * is answered by any node, not only the leader).
 *
 * The very same bytes (the same ref) go to each node.  A check the old
 * leader decided but did not answer (it died between the two) is so
 * decided again by the new one: that is safe, because a check is a
 * decision, not a transfer.  Nothing moves until the bank acts on an
 * allow it received, and it receives one answer per call.  If the lost
 * decision wrote a row (a trip) that a majority has, the new leader has
 * it too and the check asked again meets the suspension it caused; if
 * not, nothing of it remains and the new leader decides afresh.
 *
 * Returns FXB_OK with the reply (*reply, the caller's to free; *root its
 * parse when choosing needed one, else NULL), or FXB_ERR_UNREACHABLE /
 * FXB_ERR_UNAVAILABLE with why (cap bytes).  When no node answered but
 * one refused, the last refusal is the reply (*refused is then how many
 * endpoints were asked, else 0: the caller's fail policy decides on it),
 * unless a node took the request and never answered: unavailable (24) wins, as
 * the only outcome in which the request may have been decided; unreachable
 * (36) is only when no node could be reached at all.  With several endpoints,
 * why says how many were asked.
 */
static int
fxb_client_ask(struct fxb_client *c, const char *text, nng_time deadline,
               bool remember, nng_msg **reply, json_t **root, size_t *refused,
               char *why, size_t cap)
{
	bool asked[FXB_CLIENT_ENDPOINTS_MAX] = {false};
	size_t n = c->nendpoints, nasked = 0, i;
	nng_msg *msg, *kept = NULL;
	json_t *r, *kept_root = NULL;
	const char *hint;
	char one[320];
	int rv, got = FXB_ERR_UNREACHABLE;

	*reply = NULL;
	*root = NULL;
	*refused = 0;
	if (!fxb_client_acquire(c, deadline)) {
		snprintf(why, cap, "no answer within %d ms (client busy)",
		         (int)c->timeout_ms);
		return FXB_ERR_UNAVAILABLE;
	}
	if (n == 1) {
		rv = fxb_client_attempt(c, &c->ep[0], text, deadline,
		                        (int)c->timeout_ms, reply, why, cap);
		fxb_client_release(c);
		return rv;
	}
	i = c->current;
	if (c->ep[i].suspect)
		i = fxb_client_next(c, (i + n - 1) % n, NULL, asked);
	for (;;) {
		nng_duration share =
		    fxb_client_left(deadline) / (nng_duration)(n - nasked);
		/* A node that gave no answer last time gets no more than its
		 * even share of the whole deadline: a dead one must not take
		 * every call's remaining time while the others elect. */
		if (c->ep[i].suspect &&
		    share > c->timeout_ms / (nng_duration)n)
			share = c->timeout_ms / (nng_duration)n;

		asked[i] = true;
		nasked++;
		msg = NULL;
		rv = fxb_client_attempt(c, &c->ep[i], text,
		                        nng_clock() + (nng_time)share,
		                        (int)share, &msg, one, sizeof(one));
		c->ep[i].suspect = rv != FXB_OK;
		hint = NULL;
		if (rv == FXB_OK) {
			r = json_loadb(nng_msg_body(msg), nng_msg_len(msg),
			               JSON_REJECT_DUPLICATES, NULL);
			if (!fxb_client_refusal(r, &hint)) {
				if (remember)
					c->current = i;
				*reply = msg;
				*root = r;
				got = FXB_OK;
				break;
			}
			if (kept != NULL)
				nng_msg_free(kept);
			json_decref(kept_root);
			kept = msg;
			kept_root = r;
		} else if (rv == FXB_ERR_UNAVAILABLE ||
		           got == FXB_ERR_UNREACHABLE) {
			got = rv;
			snprintf(why, cap, "%s", one);
		}
		if (nasked == n || fxb_client_left(deadline) == 0)
			break;
		i = fxb_client_next(c, i, hint, asked);
	}
	/* No node answered this call: the next one starts past the node
	 * this one started with, which may be a leader that died (it would
	 * cost every call its share of the deadline first). */
	if (got != FXB_OK && remember)
		c->current = (c->current + 1) % n;
	fxb_client_release(c);
	if (got == FXB_OK) {
		if (kept != NULL)
			nng_msg_free(kept);
		json_decref(kept_root);
		return FXB_OK;
	}
	if (got == FXB_ERR_UNREACHABLE && kept != NULL) {
		*reply = kept;
		*root = kept_root;
		*refused = nasked;
		return FXB_OK;
	}
	if (kept != NULL)
		nng_msg_free(kept);
	json_decref(kept_root);
	snprintf(one, sizeof(one), "%s", why);
	snprintf(why, cap, "%s (asked %zu of %zu endpoints)", one, nasked, n);
	return got;
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

/* fxb_client_fail_all lets each check's fail policy decide (the same
 * error for all); returns how many were allowed. */
static size_t
fxb_client_fail_all(struct fxb_client *c, const struct fxb_client_check *ck,
                    size_t n, struct fxb_client_result *res, int err,
                    const char *why)
{
	size_t allowed = 0;
	for (size_t i = 0; i < n; i++)
		allowed += fxb_client_fail(c, ck[i].product, err, &res[i],
		                           "%s", why) == FXB_CLIENT_ALLOW;
	return allowed;
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

/* ---- TLS (tls+tcp://) ---- */

int
fxb_client_open_tls(const char *url, int timeout_ms,
                    const struct fxb_client_tls *tls, struct fxb_client **out)
{
	if (tls == NULL)
		return NNG_EINVAL;
	return fxb_client_split(url, timeout_ms, tls, out);
}
