/*
 * fxb_client_impl.h: the client library's private header (fxb_client.h is
 * its API).  The client's structs, and a section per file for what the
 * others call:
 *
 *   fxb_client_policy.c  the fail policy table, and a result it decides
 *   fxb_client_wire.c    a request's JSON out, a reply's JSON in
 *   fxb_client_call.c    the transport: one call's deadline over the
 *                        endpoints, the client's turn, failover
 *   fxb_client.c         open and close, and each public call from its
 *                        arguments to its results
 *
 * A file calls only files listed before its own: fxb_client_wire.c calls
 * fxb_client_policy.c, fxb_client.c calls all three, fxb_client_call.c
 * and fxb_client_policy.c none.
 *
 * Every function declared here is FXB_CLIENT_INTERNAL: libfxbclient.so
 * exports the fxb_client.h API and nothing else, so that nothing here
 * becomes an ABI (the Makefile, "client library").
 *
 * One lock, c->mtx, a leaf held briefly (never across a send or a
 * receive); struct fxb_client says what it guards, and why a call holds
 * `busy` instead.
 */
#ifndef FXB_CLIENT_IMPL_H
#define FXB_CLIENT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "fxb.h"
#include "fxb_client.h"

/* Inside libfxbclient.so only: not exported. */
#define FXB_CLIENT_INTERNAL __attribute__((visibility("hidden")))

/* A product id is at most this long: must match BREAKER_ID_MAX
 * (breaker/breaker_config.h), so that every product the service knows
 * fits a slot and none it cannot know takes one. */
#define FXB_CLIENT_PRODUCT_MAX 64

/* The table of fail policies is fixed: a program that sets policies in a
 * loop from untrusted data cannot make the client grow. */
#define FXB_CLIENT_POLICY_MAX 256

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

/* fxb_client_policy.c */
FXB_CLIENT_INTERNAL enum fxb_client_decision
fxb_client_fail(struct fxb_client *c, const char *product, int err,
                struct fxb_client_result *res, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
FXB_CLIENT_INTERNAL size_t fxb_client_fail_all(
    struct fxb_client *c, const struct fxb_client_check *ck, size_t n,
    struct fxb_client_result *res, int err, const char *why);

/* fxb_client_wire.c */
FXB_CLIENT_INTERNAL void fxb_client_copy(char *dst, size_t size,
                                         const char *src, size_t len);
FXB_CLIENT_INTERNAL enum fxb_client_decision
fxb_client_answer(struct fxb_client *c, const char *product,
                  const json_t *reply, struct fxb_client_result *res,
                  struct fxb_client_upcoming *up);
FXB_CLIENT_INTERNAL enum fxb_err
fxb_client_request(const struct fxb_client_check *checks, size_t n,
                   char **out);

/* fxb_client_call.c */
FXB_CLIENT_INTERNAL int fxb_client_ask(struct fxb_client *c, const char *text,
                                       nng_time deadline, bool remember,
                                       nng_msg **reply, json_t **root,
                                       size_t *refused, char *why, size_t cap);

#endif /* FXB_CLIENT_IMPL_H */
