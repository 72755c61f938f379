/*
 * fxb_client.h: the C client library core banking links to ask fxbreakerd
 * "may this conversion go ahead?" before every FX conversion.
 *
 * One client is one nng REQ socket per endpoint (one service, or the nodes
 * of a cluster); calls on one client are serialised by
 * the library (a mutex), so a program may share a client between threads
 * or open one per thread for parallelism.  Every call returns within the
 * timeout given at open: when the service does not answer in time, or
 * answers with an error, the product's fail policy decides (deny unless
 * the bank chose allow for that product) and the result says so.
 *
 * Two codes tell an outage apart (docs/PROTOCOL.md, "Errors"):
 * FXB_ERR_UNREACHABLE (36, "unreachable"): no connection came up before
 * the deadline: no socket file, connection refused, permission denied on
 * the socket, no route (the message says which for ipc://);
 * FXB_ERR_UNAVAILABLE (24, "unavailable"): connected, but no answer in
 * time (a stopped or hung service, or the connection dropped).  The
 * codes are breaker/fxb.h's numbers; this header does not need it.
 *
 * Link with `pkg-config --libs fxbreaker-client`.
 */
#ifndef FXB_CLIENT_H
#define FXB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fxb_client;

enum fxb_client_decision {
	FXB_CLIENT_ALLOW = 0,
	FXB_CLIENT_DENY = 1,
	FXB_CLIENT_THROTTLE = 2,
};

/* What the product's fail policy does when the service cannot answer. */
enum fxb_client_policy {
	FXB_CLIENT_FAIL_DENY = 0, /* the default */
	FXB_CLIENT_FAIL_ALLOW = 1,
};

#define FXB_CLIENT_TEXT_MAX 1024

struct fxb_client_result {
	enum fxb_client_decision decision;
	/* true when the service gave no usable answer (timeout, connection
	 * lost, an error reply) and the fail policy decided. */
	bool by_policy;
	int error; /* the error code (docs/PROTOCOL.md), 0; 24 unavailable,
	            * 36 unreachable when the service could not answer */
	char reason[32]; /* "suspended", "forced", ... or "" */
	char rule[65];   /* the rule holding the product, or "" */
	char kind[16];
	int64_t suspension;     /* 0 if none */
	int64_t retry_after_ms; /* -1 if absent */
	char notice_ko[FXB_CLIENT_TEXT_MAX];
	char notice_en[FXB_CLIENT_TEXT_MAX];
	char message[256]; /* the error message, if any */
};

/*
 * A planned suspension of the product that has not started yet
 * (docs/PROTOCOL.md, "upcoming"): the service names it on every
 * decision, an allow too, so that customers can be told in advance.
 * Kept apart from struct fxb_client_result, whose size programs built
 * against 1.1 rely on.
 */
struct fxb_client_upcoming {
	bool has_upcoming; /* false: none (the rest is zero) */
	int64_t plan;      /* its id (a log seq) */
	int64_t from;      /* when it starts, UTC epoch ms */
	int64_t until;     /* when it ends, or -1: until lifted */
	/* What its customers will read once it starts ("" if not sent). */
	char notice_ko[FXB_CLIENT_TEXT_MAX];
	char notice_en[FXB_CLIENT_TEXT_MAX];
};

/* Most endpoints (the nodes of a cluster) one client dials. */
#define FXB_CLIENT_ENDPOINTS_MAX 16

/*
 * fxb_client_open dials url (e.g. "ipc:///run/fxbreaker/check.ipc") and
 * returns a client whose calls wait at most timeout_ms.  The dial does not
 * need the service to be up: nng keeps redialling in the background.
 * Returns 0 or an nng error number (NNG_EINVAL for a url of 256 bytes
 * or more); *out is written only on success.
 *
 * url may also be a comma-separated list, no spaces, of the check URLs
 * of a cluster's nodes ("tcp://10.0.0.1:9711,tcp://10.0.0.2:9711,..."),
 * at most FXB_CLIENT_ENDPOINTS_MAX, each spelt exactly as the nodes'
 * check_url (a not_leader reply names the leader by it).  Each call then
 * asks the node that last answered, and within the same timeout_ms
 * moves on to the others: straight to the leader a not_leader reply
 * names (only if it is in the list), else to the next node, when a node
 * cannot be reached, does not answer in its share of the time left, or
 * answers 37 not_leader, 38 no_quorum or 23 shutdown.  Each node is
 * asked at most once per call; when none answers, the fail policy
 * decides as for one service (docs/PROTOCOL.md, "A cluster: a list of
 * endpoints").  An empty item, a url twice or more than
 * FXB_CLIENT_ENDPOINTS_MAX urls is NNG_EINVAL.  A single url (no comma)
 * is one service, exactly as before lists existed.
 */
int fxb_client_open(const char *url, int timeout_ms, struct fxb_client **out);

/* fxb_client_close closes the client; NULL is a no-op. */
void fxb_client_close(struct fxb_client *c);

/* fxb_client_set_policy sets the fail policy of one product (default:
 * deny).  Returns 0, or -1 if the table of policies is full (256). */
int fxb_client_set_policy(struct fxb_client *c, const char *product,
                          enum fxb_client_policy policy);

/*
 * fxb_client_ping asks whether the service answers ({"op":"ping"}, on
 * the check socket or the admin socket), within the client's timeout:
 * for a health check at start, or before trusting a reconnect.  Returns
 * 0 when it answered ok, else the code: 36 (unreachable: no connection
 * could be made), 24 (unavailable: connected, no answer in time), or the
 * service's own error code (23 shutdown: it is stopping).  msg (cap
 * bytes, may be NULL) says why; "" on success.  Serialised with the
 * client's other calls like any call.
 */
int fxb_client_ping(struct fxb_client *c, char *msg, size_t cap);

/*
 * fxb_client_check asks for a decision.  amount and rate are decimal
 * strings as in docs/PROTOCOL.md (rate and ref may be NULL).  Always fills
 * *res and returns its decision: a service answer, or the product's fail
 * policy with by_policy set.  An error reply that says the request itself
 * is wrong (bad amount, unknown product, ...: codes 2-7, 10, 17, 19, 20)
 * is a deny with res->error set, never the fail policy: bad input is not
 * allowed through.
 */
enum fxb_client_decision fxb_client_check(struct fxb_client *c,
                                          const char *product,
                                          const char *amount, const char *rate,
                                          const char *ref,
                                          struct fxb_client_result *res);

/*
 * fxb_client_check_upcoming is fxb_client_check that also fills *up
 * (NULL: not wanted) with the planned suspension the answer names, if
 * any; when the service did not answer, up->has_upcoming is false.
 * (Since 1.2.0.)
 */
enum fxb_client_decision
fxb_client_check_upcoming(struct fxb_client *c, const char *product,
                          const char *amount, const char *rate,
                          const char *ref, struct fxb_client_result *res,
                          struct fxb_client_upcoming *up);

/* One check of a batch: the arguments of fxb_client_check. */
struct fxb_client_check {
	const char *product, *amount, *rate, *ref; /* rate, ref may be NULL */
};

/* Most checks in one batch (the service's limit, docs/PROTOCOL.md). */
#define FXB_CLIENT_BATCH_MAX 64

/*
 * fxb_client_check_batch asks for n decisions in one round trip: the
 * service decides them in order, as if each came alone.  Fills res[0..n)
 * exactly as fxb_client_check would for each (a check with bad input is
 * a deny with its error; when the service cannot answer, each product's
 * fail policy decides) and returns how many were allowed.  n above
 * FXB_CLIENT_BATCH_MAX denies every check with error 15 (limit): split
 * the batch.
 */
size_t fxb_client_check_batch(struct fxb_client *c,
                              const struct fxb_client_check *checks, size_t n,
                              struct fxb_client_result *res);

/* fxb_client_check_batch_upcoming is fxb_client_check_batch that also
 * fills up[0..n) (NULL: not wanted) as fxb_client_check_upcoming does.
 * (Since 1.2.0.) */
size_t fxb_client_check_batch_upcoming(struct fxb_client *c,
                                       const struct fxb_client_check *checks,
                                       size_t n, struct fxb_client_result *res,
                                       struct fxb_client_upcoming *up);

/* TLS settings of a client that dials tls+tcp:// (docs/OPERATIONS.md,
 * "Who may connect").  Files are PEM; the key unencrypted. */
struct fxb_client_tls {
	/* The CA that signed the service's certificate: required (the
	 * service is always verified). */
	const char *ca_file;
	/* This client's certificate and its key, both or neither: needed
	 * when the service asks for client certificates (its
	 * tls_ca_file). */
	const char *cert_file, *key_file;
	/* The name the service's certificate must carry; NULL: the URL's
	 * host. */
	const char *server_name;
};

/*
 * fxb_client_open_tls is fxb_client_open for a tls+tcp://HOST:PORT url,
 * with tls's settings (copied: tls and its strings may go once it
 * returns).  The files are read here, once; the handshake happens when
 * the dial connects, so a service whose certificate does not verify
 * makes calls fail like an unreachable one (the fail policy decides).
 * Returns 0 or an nng error number: NNG_EINVAL (no ca_file, a
 * certificate without its key, an empty or binary file), NNG_ENOTSUP
 * (url is not tls+tcp://), NNG_ECRYPTO (a file that is not PEM), or a
 * system error (NNG_ESYSERR | errno) for a file that cannot be read;
 * *out is written only on success.  fxb_client_open refuses a
 * tls+tcp:// url (NNG_EINVAL): it has no CA to verify the service with.
 */
int fxb_client_open_tls(const char *url, int timeout_ms,
                        const struct fxb_client_tls *tls,
                        struct fxb_client **out);

/*
 * fxb_client_open_list is fxb_client_open (tls NULL) or
 * fxb_client_open_tls (tls given: every url tls+tcp://, one set of
 * files for all) on urls[0..n), for a program that holds its endpoints
 * as an array, or a url that contains a comma.  Same returns; n of 0 or
 * above FXB_CLIENT_ENDPOINTS_MAX is NNG_EINVAL.
 */
int fxb_client_open_list(const char *const *urls, size_t n, int timeout_ms,
                         const struct fxb_client_tls *tls,
                         struct fxb_client **out);

#endif /* FXB_CLIENT_H */
