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

struct fxb_client_policy_slot {
	char product[FXB_CLIENT_PRODUCT_MAX + 1];
	enum fxb_client_policy policy;
};

struct fxb_client {
	char url[256]; /* as dialled, for "cannot connect to URL" */
	nng_socket sock;
	nng_aio *aio;            /* the one operation in flight, if any */
	nng_duration timeout_ms; /* per call, lock wait included */

	/* mtx guards busy and the policy table.  A call holds `busy` rather
	 * than mtx across its send and receive, so that a caller queued
	 * behind a slow call can give up at its own deadline (cv) instead of
	 * waiting out every call ahead of it: the header promises each call
	 * returns within the timeout, even on a shared client. */
	nng_mtx *mtx;
	nng_cv *cv; /* signalled when busy clears */
	bool busy;
	int npipes; /* connections up (handshake done): unreachable or not */
	size_t npolicies;
	struct fxb_client_policy_slot policies[FXB_CLIENT_POLICY_MAX];
};

/* Counts the connections up: a call that never had one could not
 * connect (unreachable); one that had one got no answer (unavailable).
 * nng runs REM_POST only for a pipe that saw ADD_PRE, so they pair. */
static void
fxb_client_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct fxb_client *c = arg;
	(void)p;
	nng_mtx_lock(c->mtx);
	c->npipes += ev == NNG_PIPE_EV_ADD_PRE ? 1 : -1;
	nng_mtx_unlock(c->mtx);
}

/* fxb_client_open, with TLS settings for a tls+tcp:// url (tls NULL:
 * none). */
static int
fxb_client_new(const char *url, int timeout_ms,
               const struct fxb_client_tls *tls, struct fxb_client **out)
{
	struct fxb_client *c;
	nng_dialer d;
	enum ipc_tls_file bad; /* the library returns the code alone */
	int rv;

	if (url == NULL || out == NULL || timeout_ms <= 0)
		return NNG_EINVAL;
	if (strlen(url) >= sizeof(c->url))
		return NNG_EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NNG_ENOMEM;
	memcpy(c->url, url, strlen(url) + 1);
	c->timeout_ms = timeout_ms;
	if ((rv = nng_mtx_alloc(&c->mtx)) != 0)
		goto out_free;
	if ((rv = nng_cv_alloc(&c->cv, c->mtx)) != 0)
		goto out_mtx;
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0)
		goto out_cv;
	if ((rv = nng_req0_open(&c->sock)) != 0)
		goto out_aio;
	/* No resends: the call's own timeout bounds the wait, and the
	 * default resend timer costs a global lock on every request
	 * (measured: -10-28 % at 4 or more in flight).  It also means a
	 * dropped connection fails the call at once (NNG_ECONNRESET) instead
	 * of resending. */
	rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	                       NNG_DURATION_INFINITE);
	if (rv != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_PRE,
	                          fxb_client_pipe_event, c)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST,
	                          fxb_client_pipe_event, c)) != 0)
		goto out_sock;
	/* Non-blocking: the service need not be up yet; the dialer keeps
	 * redialling in the background and a call meanwhile times out.
	 * TLS settings go on the dialer before it starts: it takes its TLS
	 * config when each attempt begins. */
	if ((rv = nng_dialer_create(&d, c->sock, url)) != 0 ||
	    (tls != NULL &&
	     (rv = ipc_tls_dialer(d, tls->ca_file, tls->cert_file,
	                          tls->key_file, tls->server_name, &bad)) !=
	         0) ||
	    (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
		goto out_sock;
	*out = c;
	return 0;

out_sock:
	nng_close(c->sock);
out_aio:
	nng_aio_free(c->aio);
out_cv:
	nng_cv_free(c->cv);
out_mtx:
	nng_mtx_free(c->mtx);
out_free:
	free(c);
	return rv;
}

int
fxb_client_open(const char *url, int timeout_ms, struct fxb_client **out)
{
	/* Without a CA nng's client verifies the service against nothing:
	 * every handshake would fail, silently, for good. */
	if (url != NULL && strncmp(url, "tls+tcp://", 10) == 0)
		return NNG_EINVAL;
	return fxb_client_new(url, timeout_ms, NULL, out);
}

void
fxb_client_close(struct fxb_client *c)
{
	if (c == NULL)
		return;
	/* Closing the socket first ends anything still in flight (a caller
	 * bug: close must not race a call), so the aio is idle when freed. */
	nng_close(c->sock);
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
static enum fxb_client_decision
fxb_client_answer(struct fxb_client *c, const char *product,
                  const json_t *reply, struct fxb_client_result *res)
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
	return res->decision;
}

/* fxb_client_reply turns the reply bytes into *res. */
static enum fxb_client_decision
fxb_client_reply(struct fxb_client *c, const char *product, const char *buf,
                 size_t len, struct fxb_client_result *res)
{
	json_error_t jerr;
	json_t *reply = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (reply == NULL)
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "reply is not JSON: %s", jerr.text);
	enum fxb_client_decision d = fxb_client_answer(c, product, reply, res);
	json_decref(reply);
	return d;
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
 * fxb_client_call sends text and waits for the reply until deadline.
 * Returns 0 and the reply in *reply (the caller's to free), or the nng
 * error.  The REQ socket matches a reply to its request by id, so a late
 * reply to an earlier, timed-out call is dropped by nng, never taken for
 * this one.
 */
static int
fxb_client_call(struct fxb_client *c, const char *text, nng_time deadline,
                nng_msg **reply, bool *sent)
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
	nng_send_aio(c->sock, c->aio);
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
	nng_recv_aio(c->sock, c->aio);
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
fxb_client_pipes(struct fxb_client *c)
{
	nng_mtx_lock(c->mtx);
	int n = c->npipes;
	nng_mtx_unlock(c->mtx);
	return n;
}

/*
 * fxb_client_unreachable says why no connection came up during a call
 * (why, cap bytes) and returns the code: FXB_ERR_UNREACHABLE, or, for an
 * ipc:// socket that does take a connection (a service stopped before
 * its handshake: SIGSTOP, a hung process), FXB_ERR_UNAVAILABLE.  For
 * ipc:// the reason is one connect(2) away and never blocks (a full
 * backlog is EAGAIN); a tcp:// connect could, so it is not tried.
 */
static int
fxb_client_unreachable(struct fxb_client *c, char *why, size_t cap)
{
	const char *path = c->url + 6, *how = NULL;
	struct sockaddr_un sa;
	int fd, e = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strncmp(c->url, "ipc://", 6) == 0 &&
	    strlen(path) < sizeof(sa.sun_path) &&
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0) {
		memcpy(sa.sun_path, path, strlen(path) + 1);
		if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			e = errno;
		close(fd);
		if (e == 0 || e == EAGAIN || e == EINPROGRESS) {
			snprintf(
			    why, cap,
			    "no answer within %d ms (%s takes connections "
			    "but the service does not answer)",
			    (int)c->timeout_ms, c->url);
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
		snprintf(why, cap, "cannot connect to %s: %s", c->url, how);
	else
		snprintf(why, cap, "cannot connect to %s within %d ms", c->url,
		         (int)c->timeout_ms);
	return FXB_ERR_UNREACHABLE;
}

/*
 * fxb_client_roundtrip sends text and takes its reply (*reply, the
 * caller's to free) by deadline, waiting its turn on a shared client.
 * Returns FXB_OK, or why not (why, cap bytes): FXB_ERR_UNREACHABLE when
 * no connection came up (the send never left), FXB_ERR_UNAVAILABLE when
 * one did and no answer came in time (or it dropped).
 */
static int
fxb_client_roundtrip(struct fxb_client *c, const char *text, nng_time deadline,
                     nng_msg **reply, char *why, size_t cap)
{
	bool sent;
	int rv;

	if (!fxb_client_acquire(c, deadline)) {
		snprintf(why, cap, "no answer within %d ms (client busy)",
		         (int)c->timeout_ms);
		return FXB_ERR_UNAVAILABLE;
	}
	rv = fxb_client_call(c, text, deadline, reply, &sent);
	fxb_client_release(c);
	if (rv == 0)
		return FXB_OK;
	if (!sent && rv == NNG_ETIMEDOUT && fxb_client_pipes(c) == 0)
		return fxb_client_unreachable(c, why, cap);
	if (rv == NNG_ETIMEDOUT)
		snprintf(why, cap, "no answer within %d ms",
		         (int)c->timeout_ms);
	else
		snprintf(why, cap, "no answer: %s", nng_strerror(rv));
	return FXB_ERR_UNAVAILABLE;
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
                    size_t n, struct fxb_client_result *res)
{
	nng_time deadline;
	nng_msg *reply = NULL;
	char *text = NULL, why[384];
	enum fxb_err err;
	size_t len, allowed = 0;
	int rv;

	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].decision = FXB_CLIENT_DENY;
		res[i].retry_after_ms = -1;
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

	rv = fxb_client_roundtrip(c, text, deadline, &reply, why, sizeof(why));
	free(text);
	if (rv != FXB_OK)
		return fxb_client_fail_all(c, ck, n, res, rv, why);
	if (n == 1) {
		allowed = fxb_client_reply(
		              c, ck[0].product, nng_msg_body(reply),
		              nng_msg_len(reply), &res[0]) == FXB_CLIENT_ALLOW;
		nng_msg_free(reply);
		return allowed;
	}
	/* A batch: {"results":[...]} in order, or one error for all. */
	json_error_t jerr;
	json_t *root = json_loadb(nng_msg_body(reply), nng_msg_len(reply),
	                          JSON_REJECT_DUPLICATES, &jerr);
	json_t *results = json_object_get(root, "results");
	nng_msg_free(reply);
	if (json_is_array(results) && json_array_size(results) == n) {
		for (size_t i = 0; i < n; i++)
			allowed +=
			    fxb_client_answer(c, ck[i].product,
			                      json_array_get(results, i),
			                      &res[i]) == FXB_CLIENT_ALLOW;
	} else if (json_is_object(root) &&
	           json_object_get(root, "error") != NULL) {
		for (size_t i = 0; i < n; i++)
			allowed +=
			    fxb_client_answer(c, ck[i].product, root,
			                      &res[i]) == FXB_CLIENT_ALLOW;
	} else {
		allowed = fxb_client_fail_all(c, ck, n, res, FXB_ERR_SYNTAX,
		                              "reply is not a batch's answer");
	}
	json_decref(root);
	return allowed;
}

enum fxb_client_decision
fxb_client_check(struct fxb_client *c, const char *product, const char *amount,
                 const char *rate, const char *ref,
                 struct fxb_client_result *res)
{
	struct fxb_client_result scratch;
	const struct fxb_client_check ck = {product, amount, rate, ref};

	/* The header promises *res is always filled; a NULL res still gets
	 * an answer, in the return value. */
	if (res == NULL)
		res = &scratch;
	fxb_client_exchange(c, &ck, 1, res);
	return res->decision;
}

int
fxb_client_ping(struct fxb_client *c, char *msg, size_t cap)
{
	char why[384] = "";
	nng_msg *reply = NULL;
	json_error_t jerr;
	int rv;

	if (c == NULL) {
		rv = FXB_ERR_MISSING;
		snprintf(why, sizeof(why), "no client");
		goto out;
	}
	rv = fxb_client_roundtrip(c, "{\"op\":\"ping\"}",
	                          nng_clock() + (nng_time)c->timeout_ms,
	                          &reply, why, sizeof(why));
	if (rv != FXB_OK)
		goto out;
	json_t *o = json_loadb(nng_msg_body(reply), nng_msg_len(reply),
	                       JSON_REJECT_DUPLICATES, &jerr);
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
		}
		return 0;
	}
	return fxb_client_exchange(c, checks, n, res);
}

/* ---- TLS (tls+tcp://) ---- */

int
fxb_client_open_tls(const char *url, int timeout_ms,
                    const struct fxb_client_tls *tls, struct fxb_client **out)
{
	if (tls == NULL)
		return NNG_EINVAL;
	return fxb_client_new(url, timeout_ms, tls, out);
}
