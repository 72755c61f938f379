/*
 * ipc_reply.h: every reply of the wire protocol (docs/PROTOCOL.md) as
 * bytes, built from plain structs: a check's allow, deny and fail-closed
 * answers, errors, a batch, ok and ping, the answers to signed commands,
 * the admin status and the live board.  The daemon decides and fills the
 * structs; only the builders (ipc_reply*.c, a file per role:
 * ipc_reply_impl.h) know the key order, the number formats and the
 * escaping, so that the protocol is written in one place.  No sockets and
 * no locks: every builder copies what it is given before it returns, so a
 * caller may pass strings it holds only under its own lock.
 *
 * Error codes and names come only from the fxb_err table (fxb_errname,
 * fxb_strerror): no reply writes a code by hand.
 *
 * Ownership, for every builder: a returned string is new (free() it) and
 * NULL means out of memory; the exceptions say so (ipc_reply_allow may
 * return the caller's buffer, ipc_reply_nomem always does).
 */
#ifndef IPC_REPLY_H
#define IPC_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "fxb.h"
#include "ipc_wire.h"

/* ---- a check ---- */

/* Room for an allow with the longest ref, written in place. */
#define IPC_REPLY_ALLOW_MAX (40 + IPC_REF_MAX)

/*
 * ipc_reply_allow returns {"decision":"allow"} with ref (NULL: none).  An
 * allow is most replies, so it is written by hand into buf (no JSON library,
 * no allocation) and buf is returned; a ref that needs escaping (only one
 * the general parser read can) is written by jansson into a new string
 * instead.  Free the result only if it is not buf.
 */
char *ipc_reply_allow(const char *ref, char buf[IPC_REPLY_ALLOW_MAX]);

/* The customer notice a deny quotes, rendered for the product checked. */
struct ipc_reply_notice {
	const char *id;      /* the [notice] id, or default-KIND */
	const char *ko, *en; /* the texts */
	fxb_time since;
	fxb_time until; /* FXB_NEVER: it ends on no clock of its own */
};

/*
 * ipc_reply_check returns a check's decision (ipc_decision_json's shape,
 * without the engine's notice id), then the notice object when notice is
 * non-NULL and dec denies quoting a suspension, then ref (NULL: none).
 */
char *ipc_reply_check(const struct breaker_decision *dec,
                      const struct ipc_reply_notice *notice, const char *ref);

/*
 * ipc_reply_check_upcoming is ipc_reply_check with, when dec carries a
 * planned suspension ahead (dec->upcoming.plan > 0, on any decision),
 * "upcoming":{"plan","from","until"?,"notice"?} after the decision's own
 * keys: the notice (id, ko, en of upcoming; NULL: left out) that its
 * customers will read once it starts, rendered for the product checked.
 */
char *ipc_reply_check_upcoming(const struct breaker_decision *dec,
                               const struct ipc_reply_notice *notice,
                               const struct ipc_reply_notice *upcoming,
                               const char *ref);

/* ipc_reply_fail_closed returns the deny of a check whose answer would
 * rest on a row that cannot be written: reason ledger_unavailable, no
 * suspension id, and ref (NULL: none). */
char *ipc_reply_fail_closed(const char *ref);

/* ---- errors, ok, ping ---- */

/*
 * ipc_reply_error returns {"error":{"code","name","message"},"ref"}
 * (ipc_error_reply).  A message that cut a quoted name in the middle of a
 * character keeps its text, the stray bytes written as U+FFFD
 * (ipc_json_text); the code's own text from fxb_strerror stands in only
 * if the reply cannot be built at all.
 */
char *ipc_reply_error(enum fxb_err code, const char *msg, const char *ref);

/* Room for ipc_reply_nomem's answer. */
#define IPC_REPLY_NOMEM_MAX 96

/* ipc_reply_nomem writes the out-of-memory error (no ref) into buf and
 * returns buf: it allocates nothing, for when nothing could be. */
const char *ipc_reply_nomem(char buf[IPC_REPLY_NOMEM_MAX]);

/* ipc_reply_ok returns {"ok":true} with ref (NULL: none): a tick's. */
char *ipc_reply_ok(const char *ref);

/* ipc_reply_ping returns {"ok":true,"service_id","now"} with ref: now is
 * the clock signed commands are judged by. */
char *ipc_reply_ping(const char *service_id, fxb_time now, const char *ref);

/* ---- a batch ---- */

/* A batch's reply, built as text as its answers are decided: each answer
 * is already JSON, so the batch is their concatenation,
 * {"results":[a,b,...],"ref":...}.  Start from IPC_REPLY_BATCH_INIT. */
struct ipc_reply_batch {
	char *buf;
	size_t len, cap;
	size_t n; /* answers added */
	bool oom;
};
#define IPC_REPLY_BATCH_INIT                                                  \
	{                                                                     \
		NULL, 0, 0, 0, false                                          \
	}

/* ipc_reply_batch_add appends one answer; NULL (it could not be built)
 * puts the out-of-memory error in its place. */
void ipc_reply_batch_add(struct ipc_reply_batch *b, const char *answer);

/* ipc_reply_batch_end closes the reply with ref (NULL: none) and returns
 * it, or NULL (and frees it) if any step ran out of memory. */
char *ipc_reply_batch_end(struct ipc_reply_batch *b, const char *ref);

/* ipc_reply_batch_fail_closed returns r's fail-closed answer: each check
 * denied ledger_unavailable with its own ref, and r's ref. */
char *ipc_reply_batch_fail_closed(const struct ipc_request *r);

/* ---- signed commands ---- */

enum ipc_cmd_result {
	IPC_CMD_APPLIED = 1,
	IPC_CMD_PENDING, /* a request, waiting for an approval */
};

/*
 * What a command did.  Each number is a log seq, which is never 0: 0 is
 * absent.  The keys come out in the order the commands have always
 * answered: {"result","suspension"} (suspend), {"result","request"} (a
 * request), {"result","change"} (tightening, notice), and for an approval
 * (applied, with its request) {"change"?,"result","request",
 * "suspension"?}.  A planned suspension's id comes last: {"result","plan"}
 * (suspend with from), {"result","request","plan"} (a cancel request, and
 * its approval).
 */
struct ipc_reply_cmd {
	enum ipc_cmd_result result;
	int64_t suspension; /* the suspension made, or an approval's */
	int64_t request;    /* the request made, or the one approved */
	int64_t change;     /* the change row (threshold, notice, operator) */
	int64_t plan;       /* the plan made, or the one a cancel names */
};

char *ipc_reply_cmd(const struct ipc_reply_cmd *c);

/* ipc_reply_cmd_rejected returns {"result":"rejected","error":{...}}: the
 * command did nothing.  A msg that is not UTF-8 is kept, as in
 * ipc_reply_error. */
char *ipc_reply_cmd_rejected(enum fxb_err code, const char *msg);

/* ipc_reply_cmd_unconfirmed returns the answer to a command whose row is
 * not written: "unconfirmed", with the ledger error and what to do. */
char *ipc_reply_cmd_unconfirmed(void);

/* ---- the admin status ---- */

/* The wall clock against the service's (docs/OPERATIONS.md, "The clock"). */
struct ipc_status_clock {
	fxb_time wall;
	int64_t offset_ms; /* wall minus the service's now */
	int64_t tolerance_ms;
	fxb_time started_at;
	int64_t started_behind_ms; /* > 0: shown */
	uint64_t steps;
	struct {                   /* shown when steps > 0 */
		fxb_time t;        /* the service's clock when seen */
		fxb_time from, to; /* the wall clock, expected and read */
		int64_t size_ms;
		bool back;
	} last_step;
};

/* An operator's force: in a pair's held_by, or behind a product's quoted
 * suspension (also_forced). */
struct ipc_status_force {
	bool on_pair;       /* also_forced's "scope" */
	int64_t suspension; /* 0: not shown (its row is not written) */
	fxb_time since;
	fxb_time until;              /* FXB_NEVER: until lifted */
	const char *operator_reason; /* "REASON (by NAME)", or NULL */
	const char *notice;          /* the notice customers read, or NULL */
};

/* An enforcing rule on a pair that holds it. */
struct ipc_status_hold {
	const char *rule, *kind, *state;
	int64_t suspension; /* 0: not shown */
	fxb_time since;
	fxb_time until; /* FXB_NEVER: none */
};

struct ipc_status_pair {
	const char *pair;
	const struct ipc_status_force *forced; /* NULL: not forced */
	const struct ipc_status_hold *holds;
	size_t nholds;
};

struct ipc_status_product {
	const char *product, *pair;
	bool held;     /* the engine holds it (reason and what follows) */
	bool unlogged; /* open in memory, its reopening not yet written */
	/* When held, as in a deny: */
	const char *reason;
	const char *rule, *kind; /* rule NULL: none (a force) */
	int64_t suspension;      /* 0: not shown */
	fxb_time since;
	fxb_time until; /* FXB_NEVER: none */
	/* The quoted suspension's, when it is an operator's force: */
	const char *operator_reason, *notice; /* NULL: none */
	/* Forces behind the quoted one. */
	const struct ipc_status_force *also;
	size_t nalso;
};

/* A trip level an operator changed: the value in force. */
struct ipc_status_change {
	const char *key, *value;
};

struct ipc_status_rule {
	const char *rule, *kind, *scope;
	bool on_pair, shadow;
	const char *state;
	fxb_time since;
	fxb_time until;     /* FXB_NEVER: none */
	int64_t suspension; /* 0: not shown */
	bool latched;
	const struct ipc_status_change *changed;
	size_t nchanged;
};

/* The log and its checkpoint note. */
struct ipc_status_ledger {
	bool degraded;
	int64_t committed_seq;
	size_t queued;
	const char *last_error; /* degraded: why */
	int64_t note_ok_seq;
	uint64_t note_failed;   /* notes lost since the last written */
	const char *note_error; /* note_failed > 0: the last failure */
};

struct ipc_status_fds {
	int open, limit; /* -1: unknown */
	bool high;
	uint64_t episodes;
};

/* What the watchdog last found of the check socket. */
struct ipc_status_socket {
	bool watched; /* false: watchdog_interval = 0 */
	bool silent;
	fxb_time last_answer; /* 0: none yet */
	fxb_time since;       /* silent */
	const char *error;    /* silent */
};

/* A member of the cluster, as raft's configuration holds it. */
struct ipc_status_member {
	unsigned id;
	const char *role; /* voter, standby, spare */
	const char *raft_address;
	const char *check_url; /* NULL: no [peer] for it in the config */
};

/* A cluster node's part of status (docs/PROTOCOL.md, "status"). */
struct ipc_status_cluster {
	unsigned node, leader;        /* leader 0: none known */
	const char *role;             /* follower, promoting, leader */
	const char *leader_check_url; /* NULL: none known */
	uint64_t term;
	int64_t lease_ms, applied_seq;
	uint64_t elections, snapshots_taken, snapshots_installed;
	const struct ipc_status_member *members;
	size_t nmembers;
};

struct ipc_status_ticks {
	uint64_t applied, refused, waits;
};

/* A calendar (RULES.md 9): its session now and its next change. */
struct ipc_status_calendar {
	const char *calendar;
	int32_t utc_offset_min;
	const char *session;      /* "off" when none holds now */
	fxb_time next;            /* FXB_NEVER: never changes again */
	const char *next_session; /* the session from next */
};

/* A planned suspension not started yet. */
struct ipc_status_plan {
	int64_t plan; /* 0: not shown (its row is not written) */
	const char *scope;
	bool on_pair;
	fxb_time from;
	fxb_time until;     /* FXB_NEVER: until lifted */
	const char *reason; /* the operator's, "REASON (by NAME)" */
	const char *notice; /* the [notice] it will show, or NULL: default */
};

/*
 * A status reply is built in parts, each under the lock that guards what
 * it reads; every part is copied at once.  The parts may come in any order
 * except that pairs, products, rules and changed notices are listed in the
 * order they are added.  ipc_reply_status_end puts the keys in the
 * protocol's order and frees the builder.  Out of memory along the way
 * loses the part (as a failed jansson set does); a NULL builder is a
 * no-op everywhere and ends in NULL.
 */
struct ipc_reply_status;

struct ipc_reply_status *ipc_reply_status_new(void);
void ipc_reply_status_free(struct ipc_reply_status *st);
void ipc_reply_status_service(struct ipc_reply_status *st,
                              const char *service_id, fxb_time now,
                              const struct ipc_status_clock *clock);
void ipc_reply_status_pair(struct ipc_reply_status *st,
                           const struct ipc_status_pair *p);
void ipc_reply_status_product(struct ipc_reply_status *st,
                              const struct ipc_status_product *p);
void ipc_reply_status_rule(struct ipc_reply_status *st,
                           const struct ipc_status_rule *r);
/* A notice text an operator edited, in force instead of the file's. */
void ipc_reply_status_notice_changed(struct ipc_reply_status *st,
                                     const char *notice, const char *lang,
                                     const char *text);
void ipc_reply_status_ledger(struct ipc_reply_status *st,
                             const struct ipc_status_ledger *lg);
/* Calendars and plans, listed in the order added. */
void ipc_reply_status_calendar(struct ipc_reply_status *st,
                               const struct ipc_status_calendar *c);
void ipc_reply_status_plan(struct ipc_reply_status *st,
                           const struct ipc_status_plan *p);
/* Only a cluster node's status has "cluster". */
void ipc_reply_status_cluster(struct ipc_reply_status *st,
                              const struct ipc_status_cluster *c);
/* The top-level "state" is degraded when the ledger is or the check
 * socket is silent. */
char *ipc_reply_status_end(struct ipc_reply_status *st,
                           const struct ipc_status_fds *fds,
                           const struct ipc_status_socket *check_socket,
                           const struct ipc_status_ticks *ticks,
                           const char *ref);

/* ---- the live board (docs/PROTOCOL.md, "The board's stream") ---- */

/* A pair's rate and levels at t (10^-9 units); a level not in force is
 * null. */
struct ipc_board_point {
	fxb_time t;
	int64_t rate;
	bool band;
	int64_t lower, upper;
	bool velocity;
	int64_t vlower, vupper;
};

struct ipc_board_pair {
	const struct ipc_status_pair *status; /* what holds it */
	bool ticked;                          /* last: its latest tick */
	struct ipc_board_point last;
	/* The levels now, and the rules they are of (NULL: none). */
	struct ipc_board_point now;
	const char *band_rule, *velocity_rule;
};

/* A suspension and the products whose checks it answers. */
struct ipc_board_suspension {
	int64_t suspension;      /* 0: its row is not written yet */
	const char *rule, *kind; /* rule NULL: an operator's */
	const char *scope, *scope_type;
	fxb_time since;
	fxb_time until;              /* FXB_NEVER: none */
	const char *operator_reason; /* NULL: none */
	size_t products;
	const char *const *first; /* the first product ids */
	size_t nfirst;
};

/* A committed row as the board lists it (strings "" when absent). */
struct ipc_board_event {
	int64_t seq, suspension;
	fxb_time t;
	const char *event, *rule, *kind, *scope, *scope_type;
};

struct ipc_board_head {
	const char *service_id;
	fxb_time now;
	int notice_tz_min;
	double decisions_per_second; /* < 0: not measured */
	size_t products, suspended;
	size_t suspensions; /* listed or not */
	size_t pairs;       /* listed or not */
};

/*
 * The board's document is built in parts, like status: the pairs, the
 * suspensions (newest first) and the events in the order added, then
 * ipc_reply_board_end puts the keys in order and frees the builder.  A
 * NULL builder is a no-op everywhere and ends in NULL.
 */
struct ipc_reply_board;
struct ipc_reply_board *ipc_reply_board_new(void);
void ipc_reply_board_free(struct ipc_reply_board *b);
void ipc_reply_board_pair(struct ipc_reply_board *b,
                          const struct ipc_board_pair *p);
/* ipc_reply_board_chart sets the chart of the pair added index-th
 * (points oldest first): added after the pairs, so that the caller
 * builds it with no lock held. */
void ipc_reply_board_chart(struct ipc_reply_board *b, size_t index,
                           const struct ipc_board_point *pts, size_t n);
void ipc_reply_board_suspension(struct ipc_reply_board *b,
                                const struct ipc_board_suspension *s);
void ipc_reply_board_event(struct ipc_reply_board *b,
                           const struct ipc_board_event *e);
/* The calendars and plans, as status shows them. */
void ipc_reply_board_calendar(struct ipc_reply_board *b,
                              const struct ipc_status_calendar *c);
void ipc_reply_board_plan(struct ipc_reply_board *b,
                          const struct ipc_status_plan *p);
/* Only a cluster node's document has "cluster" (status's object). */
void ipc_reply_board_cluster(struct ipc_reply_board *b,
                             const struct ipc_status_cluster *c);
char *ipc_reply_board_end(struct ipc_reply_board *b,
                          const struct ipc_board_head *h,
                          const struct ipc_status_ledger *lg);

/* A page of products (GET /products): each held one with the
 * suspension its checks quote. */
struct ipc_board_product {
	const char *product, *pair;
	bool held;
	int64_t suspension; /* 0: none shown */
	const char *rule;   /* NULL: none */
	fxb_time until;     /* FXB_NEVER: none */
};
struct ipc_board_page {
	int64_t suspension; /* the one asked for, 0: any */
	const char *prefix; /* NULL: none */
	size_t offset, limit, total;
	const struct ipc_board_product *products;
	size_t n;
};
char *ipc_reply_board_page(const struct ipc_board_page *pg);

#endif /* IPC_REPLY_H */
