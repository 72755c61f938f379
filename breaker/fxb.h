/*
 * fxb.h: what every fxbreaker module shares: error codes and time.
 *
 * The error codes cross the wire and appear in logs, so each is numbered
 * explicitly and only ever appended; a retired code keeps its number.
 * docs/PROTOCOL.md lists them with the same names; the two must match.
 */
#ifndef FXB_H
#define FXB_H

#include <stdint.h>

/* The service's version: fxbreakerd -V, fxbreakerctl -V, the metrics'
 * build_info and the installed files all take it from here. */
#define FXB_VERSION "0.11.0"

/* Time is integer milliseconds: UTC epoch ms in the service, any integer
 * on a replay tape. */
typedef int64_t fxb_time;

/* Exact 128-bit intermediates for threshold comparisons (RULES.md 1);
 * __extension__ keeps -Wpedantic quiet about a GNU type gcc and clang share.
 */
__extension__ typedef __int128 fxb_i128;

/* "No end": a suspension that waits for an operator. */
#define FXB_NEVER INT64_MAX

/* The engine accepts times in [FXB_TIME_MIN, FXB_TIME_MAX] (about +-146
 * million years): far from the int64 edges, so that a time plus any
 * duration, or minus any window, cannot overflow. */
#define FXB_TIME_MAX (INT64_C(1) << 62)
#define FXB_TIME_MIN (-FXB_TIME_MAX)

enum fxb_err {
	FXB_OK = 0,
	FXB_ERR_NOMEM = 1,           /* out of memory */
	FXB_ERR_SYNTAX = 2,          /* malformed input (JSON, INI line) */
	FXB_ERR_DECIMAL = 3,         /* not a decimal number */
	FXB_ERR_PRECISION = 4,       /* more fractional digits than allowed */
	FXB_ERR_RANGE = 5,           /* a number outside its range */
	FXB_ERR_UNKNOWN_PRODUCT = 6, /* no such product */
	FXB_ERR_UNKNOWN_PAIR = 7,    /* no such pair */
	FXB_ERR_UNKNOWN_RULE = 8,    /* no such rule */
	FXB_ERR_TIME_BACKWARDS = 9,  /* a record older than the engine's now */
	FXB_ERR_CROSSED = 10,        /* a quote with bid > ask */
	FXB_ERR_NOT_TRIPPED = 11,    /* reset of a rule that is not tripped */
	FXB_ERR_NOT_RESETTABLE = 12, /* reset of a rule that ends on a tick */
	FXB_ERR_NOT_FORCED = 13,     /* lift of a scope that is not forced */
	FXB_ERR_CONFIG = 14,         /* the configuration is invalid */
	FXB_ERR_LIMIT = 15,          /* a documented capacity limit was hit */
	FXB_ERR_CURRENCY = 16,       /* not an ISO 4217 currency we know */
	FXB_ERR_MISSING = 17,        /* a required field is absent */
	FXB_ERR_IO = 18,             /* an I/O error (file, socket) */
	FXB_ERR_UNKNOWN_OP = 19,     /* a request with an unknown "op" */
	FXB_ERR_TYPE = 20,           /* a field of the wrong JSON type */
	FXB_ERR_LEDGER = 21,         /* the ledger cannot be written: closed */
	FXB_ERR_BUSY = 22,           /* the ledger queue is full: closed */
	FXB_ERR_SHUTDOWN = 23,       /* the service is stopping */
	FXB_ERR_UNAVAILABLE = 24,    /* no answer in time (client library) */
	FXB_ERR_DEGRADED = 25,       /* refused while the ledger is degraded */
	FXB_ERR_BAD_SIGNATURE = 26, /* a command's signature does not verify */
	FXB_ERR_UNKNOWN_OPERATOR = 27, /* no such operator, or revoked */
	FXB_ERR_FORBIDDEN = 28,        /* the operator lacks the role */
	FXB_ERR_EXPIRED = 29,        /* issued too far from now, or expired */
	FXB_ERR_WRONG_SERVICE = 30,  /* signed for another deployment */
	FXB_ERR_SELF_APPROVAL = 31,  /* approver is the requester */
	FXB_ERR_STALE_APPROVAL = 32, /* request gone, done, or superseded */
	FXB_ERR_REPLAYED = 33,       /* reserved: replays get stored replies */
	FXB_ERR_UNKNOWN_NOTICE = 34, /* no such [notice] */
	FXB_ERR_OPERATOR_EXISTS = 35, /* enrol of a key already enrolled */
	FXB_ERR_UNREACHABLE = 36,     /* no connection (client library) */
	FXB_ERR_NOT_LEADER = 37,  /* a cluster node that is not the leader */
	FXB_ERR_NO_QUORUM = 38,   /* a leader cut off from its majority */
	FXB_ERR_NOT_PLANNED = 39, /* cancel of a scope with no plan */
	FXB_ERR_ALREADY_PLANNED = 40, /* a plan of a scope that has one */
};

/* fxb_strerror returns a static one-line meaning of err, never NULL. */
const char *fxb_strerror(enum fxb_err err);

/* fxb_errname returns the stable symbolic name of err ("unknown_product"),
 * as used on the wire, never NULL. */
const char *fxb_errname(enum fxb_err err);

#endif /* FXB_H */
