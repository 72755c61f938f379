/*
 * fxb_client_call.c: the transport of one call: its bytes sent to an
 * endpoint and the reply taken within the call's one deadline, the
 * client's turn (a call holds `busy`, not the mutex), why no answer came
 * (unreachable or unavailable), and, with several endpoints, which to ask
 * next: failover to the node that leads.  It reads a reply only as far as
 * a node's refusal; fxb_client_wire.c reads the answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fxb_client_impl.h"

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
int
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
