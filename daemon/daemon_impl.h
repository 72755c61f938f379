/*
 * daemon_impl.h: what the daemon's files share: the service's state
 * (struct daemon) and a section per file, lowest first: a file calls only
 * into the sections above its own and into daemon.h's leaf files
 * (tests/check_calls.py fails on a cycle).  A lower file that must hand
 * work back up does it through a function pointer it was given (a parked
 * check's redo, the engine's sink), never by name.
 *
 * Lock order: mu before qmu, never the reverse.
 *   mu  (the engine lock) guards the engine, the config and what derives
 *       from it (the reopening gate, open notices, changes by command,
 *       operators) and next_seq, so that rows take their seqs in the
 *       order the engine made them.  Taken by nng's task threads (check.c,
 *       status.c, command.c), the timer thread (clock.c), the watchdog's
 *       thread (events.c) and a reload (daemon.c).
 *   qmu (the queue lock) guards the row queue, the parked calls and the
 *       ledger's status.  Taken under mu to queue a row (wal_enqueue),
 *       without mu to park a call (park.c), and by the writer thread
 *       (wal.c) between commits, never across one.
 * The writer takes mu only to redo a parked check, with qmu released:
 * it sends parked replies and redoes parked checks holding no lock.
 */
#ifndef DAEMON_IMPL_H
#define DAEMON_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "breaker_config.h"
#include "config.h"
#include "breaker_decimal.h"
#include "daemon.h"
#include "ipc_reply.h"
#include "ipc_server.h"
#include "ipc_trust.h"
#include "ipc_wire.h"
#include "ledger.h"

struct commands;
struct fdwatch;
struct ipc_http;
struct daemon;
struct qrow;

static inline char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* fdwatch.c */
struct fdwatch_state {
	int open, limit; /* -1: unknown (no /proc, no limit) */
	bool high;       /* at 90 % or more, not yet below 80 % again */
	uint64_t episodes;
};
/* fdwatch_start starts the thread that warns when the descriptors near
 * their limit; NULL if it cannot start. */
struct fdwatch *fdwatch_start(void);
/* fdwatch_stop stops and frees it; NULL is a no-op. */
void fdwatch_stop(struct fdwatch *w);
/* fdwatch_read counts the descriptors now, with the watcher's state (w
 * may be NULL). */
void fdwatch_read(struct fdwatch *w, struct fdwatch_state *st);

/* board_feed.c: what the live board keeps as the service runs (its lock
 * fm is a leaf: taken under mu by a tick, nothing taken under it). */

/* Seconds of a pair's chart, one point a second at most. */
#define BOARD_HISTORY 600
/* Committed rows the board lists, the latest first. */
#define BOARD_EVENTS 50

#define BOARD_PT_RATE     1u
#define BOARD_PT_BAND     2u /* lower, upper */
#define BOARD_PT_VELOCITY 4u /* vlower, vupper */
/* A pair's rate and levels after a tick at t (10^-9 units). */
struct board_point {
	fxb_time t;
	int64_t rate, lower, upper, vlower, vupper;
	unsigned has; /* BOARD_PT_* */
};

struct board_pair {
	char pair[BREAKER_PAIR_MAX + 1];
	/* The rules whose levels the chart shows (engine indices), -1:
	 * none. */
	int32_t band_rule, velocity_rule;
	struct board_point pts[BOARD_HISTORY]; /* a ring, oldest at head */
	uint32_t head, len;
	struct board_point last; /* the latest tick */
	bool ticked;
};

/* A committed row as the board lists it. */
struct board_event {
	int64_t seq, suspension;
	fxb_time t;
	char event[32], kind[16], scope_type[12]; /* "calendar" too */
	char rule[BREAKER_ID_MAX + 1], scope[BREAKER_ID_MAX + 1];
};

struct board_feed {
	pthread_mutex_t fm;
	pthread_cond_t fcv; /* CLOCK_MONOTONIC; signalled when a row commits */
	/* The engine (and config) the pairs are indexed by: a reload
	 * re-indexes them by name. */
	const struct breaker *engine;
	const struct breaker_config *cfg;
	size_t nrules;
	struct board_pair *pairs;
	size_t npairs;
	/* Pair p's enforcing rules: prules[pfirst[p]..pfirst[p + 1]). */
	int32_t *prules;
	uint32_t *pfirst;
	struct board_event events[BOARD_EVENTS]; /* a ring */
	size_t evhead, nevents;
	uint64_t rows; /* committed rows seen */
	bool stop;     /* the board's thread is to stop */
};

/* board_feed_new: NULL on out of memory (the board then shows no
 * history); board_feed_free: NULL is a no-op. */
struct board_feed *board_feed_new(void);
void board_feed_free(struct board_feed *f);
/* board_feed_sync indexes the pairs by the engine d runs on now (after a
 * reload); false if it could not (out of memory).  mu held. */
bool board_feed_sync(struct daemon *d);
/* board_pair_levels adds bp's band and velocity levels now to pt (mu
 * held, the feed synced). */
void board_pair_levels(struct daemon *d, const struct board_pair *bp,
                       struct board_point *pt);
/* board_tick: pair's rate px applied at engine time t (mu held). */
void board_tick(struct daemon *d, int32_t pair, fxb_time t, int64_t px);
/* board_row: row committed (the writer, no lock held). */
void board_row(struct daemon *d, const struct ledger_row *row);
/* metrics.c: the counters behind GET /metrics and /status.json. */

#define METRICS_BUCKETS   16   /* histogram buckets, +Inf besides */
#define METRICS_OPS       7    /* "invalid" and the IPC_OP_* ops */
#define METRICS_VERDICTS  3    /* allow, deny, throttle */
#define METRICS_REASONS   10   /* the engine's, then ledger_unavailable */
#define METRICS_ERRS      64   /* enum fxb_err, with room for new codes */
#define METRICS_KINDS     8    /* 0 forced, then enum breaker_kind */
#define METRICS_CMDS      16   /* the commands by ipc_trust_commands order */
#define METRICS_PAIRS_MAX 1024 /* pairs counted by name */
/* Products or rules counted per hold of mu: about 60 us of it. */
#define METRICS_SLICE 1024

/* commands_total's result: judged and done, filed for a second person,
 * refused (authentication, role, args, state), a resend answered with the
 * stored reply, or a body that is not a command at all. */
enum metrics_cmd_result {
	METRICS_CMD_APPLIED = 0,
	METRICS_CMD_PENDING,
	METRICS_CMD_REJECTED,
	METRICS_CMD_REPEATED,
	METRICS_CMD_INVALID,
	METRICS_CMD_RESULTS
};

/* A histogram: counts per bucket (not cumulative) and the sum. */
struct metrics_hist {
	_Atomic uint64_t b[METRICS_BUCKETS + 1];
	_Atomic uint64_t sum_ns;
};

/* A pair's counters and last tick, kept by name across reloads. */
struct metrics_pair {
	char
	    name[BREAKER_PAIR_MAX + 1]; /* set once, before npairs counts it */
	_Atomic uint64_t checks[METRICS_VERDICTS];
	_Atomic uint64_t ticks_applied, ticks_rejected;
	_Atomic int64_t rate;       /* 10^-9 units */
	_Atomic fxb_time last_tick; /* engine time; 0: none yet */
	_Atomic bool suspended;     /* held, as of the last count */
	bool seen;                  /* a tick since start or reload (mu) */
};

struct metrics {
	_Atomic uint64_t checks[METRICS_VERDICTS][METRICS_REASONS];
	_Atomic uint64_t check_errors[METRICS_ERRS];
	_Atomic uint64_t ticks_refused[METRICS_ERRS];
	_Atomic uint64_t trips[METRICS_KINDS];
	_Atomic uint64_t commands[METRICS_CMDS + 1][METRICS_CMD_RESULTS];
	struct metrics_hist req[METRICS_OPS];
	struct metrics_hist commit;
	struct metrics_pair pairs[METRICS_PAIRS_MAX];
	_Atomic size_t npairs;
	/* The engine's pair index -> pairs[] (mu). */
	int32_t *pair_slot;
	size_t npair_slot;
	bool pairs_full;
	_Atomic uint64_t generation; /* moves at each pairs map (a reload) */
	/* Counted from the engine when dirty (a scrape, metrics.c). */
	_Atomic bool dirty;
	pthread_mutex_t recount_mu;
	_Atomic uint64_t products_open, products_suspended;
	_Atomic uint64_t susp_open[METRICS_KINDS];
};

/* metrics_new: all zero (NULL: out of memory); metrics_free of NULL is a
 * no-op. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* metrics_pairs_map maps the engine's pairs to their counters, after a
 * start or reload (mu held). */
void metrics_pairs_map(struct daemon *d);
/* metrics_check counts a check the engine decided on product (mu held);
 * metrics_checks_closed n checks answered closed instead of decided
 * (ledger_unavailable); metrics_check_error an error answer on the check
 * socket.  No lock needed for the last two. */
void metrics_check(struct daemon *d, int32_t product,
                   const struct breaker_decision *dec);
void metrics_checks_closed(struct daemon *d, unsigned n);
void metrics_check_error(struct daemon *d, enum fxb_err e);
/* metrics_tick: a tick on pair at t (px: its price, a quote's mid), e the
 * engine's answer (mu held).  metrics_tick_refused: a tick refused before
 * the engine (any lock). */
void metrics_tick(struct daemon *d, int32_t pair, fxb_time t, int64_t px,
                  enum fxb_err e);
void metrics_tick_refused(struct daemon *d, enum fxb_err e);
/* metrics_request is ipc_server's on_reply (arg: the daemon; op: the
 * IPC_OP_* the handler tagged the call with, 0 if none). */
void metrics_request(void *arg, unsigned op, uint64_t ns);
/* metrics_commit times one ledger commit. */
void metrics_commit(struct daemon *d, uint64_t ns);
/* metrics_command counts a signed command judged (cmd: its name as sent,
 * NULL if the body was not read). */
void metrics_command(struct daemon *d, const char *cmd,
                     enum metrics_cmd_result result);
/* metrics_row sees each row once committed (wal.c, publish_row): trips,
 * and whether what holds the products may have changed. */
void metrics_row(struct daemon *d, const struct ledger_row *row);
/* metrics_text: the Prometheus text exposition (malloc'ed, *len bytes;
 * NULL: out of memory).  Takes mu briefly: no lock held. */
char *metrics_text(struct daemon *d, size_t *len);
/* metrics_counters_json: the counters as status.json's "counters". */
json_t *metrics_counters_json(struct daemon *d);

/* oplog.c: the operator's lines on stderr (docs/OPERATIONS.md, "Logs"),
 * "event=NAME key=value ...".  No lock held; they call only the log. */

/* oplog_row prints the line of row q, committed (the writer, after the
 * commit: the seq it prints is a row anyone can read back). */
void oplog_row(const struct qrow *q);
/* oplog_utc writes ms as UTC to the millisecond
 * ("2026-12-04T06:30:00.000Z"); false (b untouched) before 1970. */
bool oplog_utc(char *b, size_t cap, fxb_time ms);
/* oplog_refused prints the line of a request on the admin socket refused
 * before it could be a row: a command whose envelope or body does not
 * parse (nothing to log: who sent it is not known), an unknown op. */
void oplog_refused(const char *peer, enum fxb_err code, const char *why);
/* oplog_ledger_degraded: a commit failed (queued rows wait); for_good
 * when the files are gone and only a restart helps.
 * oplog_ledger_recovered: a commit after failures wrote written rows. */
void oplog_ledger_degraded(const char *why, size_t queued, bool for_good);
void oplog_ledger_recovered(size_t written);

/* park.c: calls waiting for a commit, fail-closed answers, the gate. */

/* Calls parked at once at most: the rest of the contexts keep serving
 * settled answers while the disk is slow (the others fail closed). */
#define PARKED_MAX 48

/* A parked check is decided again, once its row is written, by this
 * (the check socket's handler, which daemon.c registers). */
typedef void (*park_redo_fn)(void *arg, struct ipc_call *call,
                             const char *request, size_t len);
struct park_redo {
	park_redo_fn fn;
	void *arg;
	const char *request; /* copied when the call parks */
	size_t len;
	unsigned checks; /* the checks it holds (metrics, if closed) */
};

/*
 * A call waiting for the commit of the row it depends on: a reply to send
 * (a deny quoting a new suspension), or a request to decide only then (a
 * check on a product whose reopening is not written yet: deciding it now
 * would count it as volume even if the reopening never commits).
 */
struct parked {
	struct ipc_call *call;
	struct daemon *d;
	unsigned checks; /* a request's checks (park_redo) */
	int64_t wait_seq;
	char *reply;       /* send this, or ... */
	park_redo_fn redo; /* ... decide request again with redo(redo_arg) */
	void *redo_arg;
	char *request;
	size_t request_len;
	char *ref;
	char *fail; /* the fail-closed answer; NULL: a check's deny (ref) */
	struct parked *next;
};

/* The parked calls, in the order they parked: a commit sends (or
 * decides again) the ready ones in that order, so checks parked on one
 * product are decided in the order they came. */
struct parkq {
	struct parked *head, **tail;
	size_t n;
};
void parkq_init(struct parkq *q);
/* parkq_push appends p (q owns it from here). */
void parkq_push(struct parkq *q, struct parked *p);
/* parkq_take unlinks and returns, in their order, the calls whose row
 * has committed (wait_seq <= committed), or every call when `all`. */
struct parked *parkq_take(struct parkq *q, int64_t committed, bool all);

/* What park does with a call waiting for row wait_seq. */
enum park_way {
	PARK_NOW,  /* the row is written: answer now */
	PARK_FAIL, /* the log is failing, the writer gone, or too many
	            * wait: the fail-closed answer */
	PARK_WAIT, /* park it */
};
enum park_way park_way(int64_t wait_seq, int64_t committed, bool degraded,
                       bool writer_done, size_t nparked);

/*
 * The reopening gate: a reopening is visible only once its row commits,
 * so each product keeps the seq of its last reopening row and a check on
 * it waits until that row is written.  Products are grouped by pair, for
 * a pair's reopening.  Under mu.
 */
struct gate {
	int64_t *reopen; /* per product: its last reopening row */
	int32_t *list;   /* products grouped by pair ... */
	uint32_t *first; /* ... pair p's are list[first[p]..first[p+1]) */
	size_t npairs, nproducts;
};
/* gate_build builds the gate of npairs pairs and nproducts products
 * (pair_of(arg, i): product i's pair) with every product at seq; false
 * on out of memory (g then empty). */
bool gate_build(struct gate *g, size_t npairs, size_t nproducts,
                int32_t (*pair_of)(const void *arg, int32_t product),
                const void *arg, int64_t seq);
/* gate_build_engine: gate_build for an engine's products and pairs. */
bool gate_build_engine(struct gate *g, const struct breaker *engine,
                       int64_t seq);
void gate_free(struct gate *g);
/* gate_product, gate_pair, gate_all: the product, every product of the
 * pair, every product reopens with row seq. */
void gate_product(struct gate *g, int32_t product, int64_t seq);
void gate_pair(struct gate *g, int32_t pair, int64_t seq);
void gate_all(struct gate *g, int64_t seq);
/* gate_seq: the row product's reopening waits for. */
int64_t gate_seq(const struct gate *g, int32_t product);
/* gate_open: product's reopening is written once committed is. */
bool gate_open(const struct gate *g, int32_t product, int64_t committed);

/*
 * park holds a call until row wait_seq has committed, then sends reply or,
 * with redo, decides redo->request again.  Now if the row is already
 * written; the fail-closed answer if the log is failing: fail, or for
 * NULL a check's deny echoing ref.  Takes ownership of reply and fail.
 * No lock held (takes qmu).
 */
void park(struct daemon *d, struct ipc_call *call, int64_t wait_seq,
          char *reply, const struct park_redo *redo, const char *ref,
          char *fail);
/* daemon_park: park with no fail answer of its own; a request is decided
 * again by d->check_redo. */
void daemon_park(struct daemon *d, struct ipc_call *call, int64_t wait_seq,
                 char *reply, const char *request, size_t request_len,
                 const char *ref);
/* daemon_park_command parks a signed command's reply until its row
 * commits.  If the log is failing, a refusal (did_nothing) is sent as it
 * is; any other answer says the command is not confirmed (a check-shaped
 * deny would make no sense to fxbreakerctl). */
void daemon_park_command(struct daemon *d, struct ipc_call *call,
                         int64_t wait_seq, char *reply, bool did_nothing);
/* park_reply sends reply to call once row wait_seq has committed: now if
 * it has, later (from the writer) if not; a fail-closed deny echoing ref
 * when the log is failing.  Takes ownership of reply. */
void park_reply(struct daemon *d, struct ipc_call *call, char *reply,
                int64_t wait_seq, const char *ref);
/* park_take takes the parked calls ready at committed (or all), qmu
 * held; park_send then answers them (no lock held): closed, or as
 * parked. */
struct parked *park_take(struct daemon *d, int64_t committed, bool all);
void park_send(struct parked *p, bool fail_closed);
/* daemon_send_reply sends reply, built by ipc/ipc_reply.h (NULL: it
 * could not be, and the out-of-memory error goes instead);
 * daemon_reply_error sends ipc_reply_error's answer. */
void daemon_send_reply(struct ipc_call *call, const char *reply);
void daemon_reply_error(struct ipc_call *call, enum fxb_err code,
                        const char *msg, const char *ref);

/* onotice.c: the open customer notices (mu held). */

/* An open customer notice, rendered per product on every deny. */
struct onotice {
	int64_t suspension;
	char *id;
	char *scope;
	fxb_time since, until;
	char *tpl_ko, *tpl_en;
	char *reason_ko, *reason_en;
	/* Checks denied quoting it: since it opened, carried across clean
	 * stops (the service_stop row); partial once a crash lost some. */
	int64_t denied;
	bool denied_partial;
};

/* onotice_find: the open notice of suspension, or NULL; *at (if not
 * NULL) gets its place in d->notices, or where it would go. */
struct onotice *onotice_find(struct daemon *d, int64_t suspension, size_t *at);
/*
 * onotice_open records the notice of a new suspension: the rule's
 * [notice] templates, for a forced one the [notice forced] the operator
 * chose (NULL: none), or the defaults.  An operator's reason is not an
 * argument: it is for the log, never for customers.  Returns the entry,
 * or NULL on out of memory (the suspension stands; only its text is
 * missing).
 */
struct onotice *onotice_open(struct daemon *d, int64_t suspension,
                             const char *rule, enum breaker_kind kind,
                             const char *scope, fxb_time since, fxb_time until,
                             const char *forced);
/* onotice_vars: the template variables of n shown for product. */
void onotice_vars(struct daemon *d, const struct onotice *n,
                  const char *product, struct notice_vars *v);
/* onotice_message: the events socket's notice message (state "open" or
 * "closed"), malloc'ed; NULL on out of memory. */
char *onotice_message(const struct onotice *n, const char *state, fxb_time t,
                      const char *ko, const char *en);
/* onotice_close closes suspension's notice with the row q ending it at t:
 * the "service restored" texts and the denied count go into the row, the
 * message to publish after it into q->notice_msg. */
void onotice_close(struct daemon *d, struct qrow *q, int64_t suspension,
                   fxb_time t);
/* onotice_conf: the config's [notice id], or NULL. */
const struct breaker_notice_conf *
onotice_conf(const struct breaker_config *cfg, const char *id);
/* daemon_notice_known: the running config has [notice id] (mu held). */
bool daemon_notice_known(struct daemon *d, const char *id);
/* onotice_refresh: every open suspension showing [notice id] takes the
 * running config's text from its next deny on (after an edit, or when
 * the file wins).  Returns how many. */
int64_t onotice_refresh(struct daemon *d, const char *id);
void onotice_free(struct onotice *n);
void onotice_free_all(struct daemon *d);

/* wal.c: the row queue and the writer thread. */
/* wal_retire_queue moves the queue aside for the writer to free (a
 * demotion: the rows are not this node's to write), qmu held. */
void wal_retire_queue(struct daemon *d);
/* wal_export_note writes a signed checkpoint's note file (and frees
 * nothing): the writer's, or in a cluster every node's FSM. */
void wal_export_note(struct daemon *d, int64_t size, const char *note);

/* Rows waiting for the disk before new checks are refused (fail closed). */
#define QUEUE_SOFT_CAP 65536

/* A log row waiting for its commit; it owns its strings. */
struct qrow {
	struct ledger_row row;
	char *rule, *scope, *detail, *reason, *ko, *en, *notice_id;
	char topic[BREAKER_ID_MAX + 16];
	char *notice_msg; /* a notice to publish after the commit, or NULL */
	int64_t denied;   /* the ended suspension's denied checks, or -1 */
	bool denied_partial; /* ... a lower bound: a crash lost some */
};

/* wal_enqueue queues a row (mu held, so rows queue in sequence order).
 * The queue takes ownership of the row's strings; out of memory stops
 * the process (its seq is taken: a gap must not be committed over). */
void wal_enqueue(struct daemon *d, struct qrow *q);
/* wal_start starts the writer thread; false if it cannot. */
bool wal_start(struct daemon *d);
/* wal_stop lets the writer drain the queue, joins it, and answers closed
 * whatever parked after its last look. */
void wal_stop(struct daemon *d);
/* wal_free_queue frees what is still queued (the writer not running). */
void wal_free_queue(struct daemon *d);

/* events.c: rows, and their seqs (mu held). */

/* events_start: the log's last row is last; the next row is last + 1. */
void events_start(struct daemon *d, int64_t last);
/* events_last_seq: the newest seq handed out (queued, maybe not yet
 * written). */
int64_t events_last_seq(const struct daemon *d);
/* events_gate_all_next: every product's reopening waits for the next
 * row queued (a new config: which reopening each waited for is not
 * carried). */
void events_gate_all_next(struct daemon *d);
/* events_sink is the engine's sink (breaker_sink_fn): each event becomes
 * a queued row; returns its seq. */
int64_t events_sink(void *arg, const struct breaker_event *ev);
/*
 * events_retire ends a suspension whose rule or scope left the config (a
 * reload, or a restart with a new config): a `retired` row that closes
 * its notice, names its rule and scope, reopens its products only once
 * written, and is published like any end.  Returns its seq.
 */
int64_t events_retire(struct daemon *d, const char *rule, const char *scope,
                      bool on_pair, int64_t suspension, const char *why);
/*
 * events_plan_lapsed closes a planned suspension that can never run
 * (RULES-NOTES.md 9): a `plan_lapsed` row naming the plan, its scope and
 * window, and why; ledger_plans no longer returns it.  Returns its seq.
 */
int64_t events_plan_lapsed(struct daemon *d, const char *scope, bool on_pair,
                           int64_t plan, fxb_time from, fxb_time until,
                           const char *why);
/* events_service, events_service_rule: a service row (start, stop,
 * reload, degraded start, a change by command with the rule it
 * changes); returns its seq. */
/* events_service queues a service row; detail NULL (not built: no
 * memory) logs "{}". */
int64_t events_service(struct daemon *d, const char *event,
                       const char *detail);
int64_t events_service_rule(struct daemon *d, const char *event,
                            const char *rule, const char *detail);
/* daemon_log_command queues a `command` row (mu held) and returns its seq. */
int64_t daemon_log_command(struct daemon *d, const char *scope,
                           int64_t suspension, const char *detail);
/* daemon_log_command_with: the same, for a row whose text quotes its own
 * seq (a four-eyes request's id is its command row): detail(arg, seq)
 * builds the text (a malloc'ed string; NULL logs "{}"). */
int64_t daemon_log_command_with(struct daemon *d, const char *scope,
                                int64_t suspension,
                                char *(*detail)(void *arg, int64_t seq),
                                void *arg);
/*
 * daemon_force_suspend forces a suspension of product or pair idx
 * (breaker_force_suspend) whose customer notice is [notice notice], or,
 * NULL, the default forced notice.  reason is for the log, status and
 * report only: no notice shows it.  mu held; notice must be one
 * daemon_notice_known knows.  Returns the new suspension's id (the
 * force_suspend row's seq), 0 if the engine refused.
 */
int64_t daemon_force_suspend(struct daemon *d, fxb_time now, bool on_pair,
                             int32_t idx, fxb_time until, const char *reason,
                             const char *notice);
/*
 * daemon_force_plan plans a suspension of product or pair idx from `from`
 * until `until` (FXB_NEVER: none) (breaker_force_plan: force_scheduled
 * now, force_suspend at `from` by timer).  notice is the [notice] its
 * customers will read, or NULL for the default forced notice: shown as
 * `upcoming` on checks before it starts and on denies once it has,
 * and kept in the force_scheduled row so that a restart keeps it.
 * *plan gets the plan's id (its force_scheduled row's seq).  mu held;
 * notice must be one daemon_notice_known knows; the caller pokes the
 * timer after (daemon_timer_poke: the start is a new timer), as
 * command.c does after every command.  Errors: the engine's
 * (FXB_ERR_RANGE, FXB_ERR_ALREADY_PLANNED, FXB_ERR_UNKNOWN_*,
 * FXB_ERR_NOMEM, FXB_ERR_TIME_BACKWARDS).
 */
enum fxb_err daemon_force_plan(struct daemon *d, fxb_time now, bool on_pair,
                               int32_t idx, fxb_time from, fxb_time until,
                               const char *reason, const char *notice,
                               int64_t *plan);
/* daemon_force_cancel cancels idx's plan before it starts (a
 * force_cancel row); *plan gets the cancelled plan's id.  mu held.
 * Errors: FXB_ERR_NOT_PLANNED, FXB_ERR_UNKNOWN_*, FXB_ERR_RANGE,
 * FXB_ERR_TIME_BACKWARDS. */
enum fxb_err daemon_force_cancel(struct daemon *d, fxb_time now, bool on_pair,
                                 int32_t idx, int64_t *plan);
/* The notice ids of pending plans, by plan id (mu held): set when a plan
 * is made or restored, read when it starts, dropped then or when it is
 * cancelled.  events_plan_notice: NULL for the default forced notice. */
bool events_plan_notice_set(struct daemon *d, int64_t plan,
                            const char *notice);
const char *events_plan_notice(struct daemon *d, int64_t plan);
void events_plan_notices_free(struct daemon *d);
/* events_watchdog is the watchdog's callback (watchdog_fn, its thread):
 * one `watchdog` row per change, so that an episode is a row when it
 * starts and one when it ends. */
void events_watchdog(void *arg, const struct watchdog_state *st);

/* clock.c: the engine's clock and the timer thread. */

/* daemon_engine_now returns the engine's clock (mu held): never back,
 * and never behind the engine's own time. */
fxb_time daemon_engine_now(struct daemon *d);
/* daemon_timer_poke wakes the timer after a call that may have armed an
 * earlier timer (mu held). */
void daemon_timer_poke(struct daemon *d);
/* clock_log_behind logs the clock_behind row at start, when the wall
 * clock read earlier than the log's latest row (mu held); its seq. */
int64_t clock_log_behind(struct daemon *d);
/* clock_start starts the timer thread; false if it cannot (clock_join
 * then has nothing to join). */
bool clock_start(struct daemon *d);
/* clock_stop asks the timer to stop (mu held); clock_join waits for it
 * (mu not held). */
void clock_stop(struct daemon *d);
void clock_join(struct daemon *d);

/* status.c: the admin socket's status, and "ok". */

/* status_reply: the status (docs/PROTOCOL.md) echoing ref, malloc'ed;
 * NULL on out of memory.  Takes mu, then qmu. */
char *status_reply(struct daemon *d, const char *ref);
/* status_ledger: the ledger's state for status and the board (qmu held). */
void status_ledger(struct daemon *d, struct ipc_status_ledger *lg);
/* status_pair: pair p as status shows it, into o: forced (into
 * *forced) and the enforcing rules that hold it (into holds: room for
 * each of rules, or with rules NULL for every rule of the config, all
 * of which it then walks).  mu held. */
void status_pair(struct daemon *d, int32_t p, const int32_t *rules,
                 size_t nrules, struct ipc_status_hold *holds,
                 struct ipc_status_force *forced, struct ipc_status_pair *o);
/* status_calendar: calendar i's session now and its next change, as
 * status and the board show them (mu held). */
void status_calendar(struct daemon *d, size_t i,
                     struct ipc_status_calendar *out);
/* status_plan: the plan of pair or product idx, if it has one (mu
 * held); its id shown only once its row is written. */
bool status_plan(struct daemon *d, bool on_pair, int32_t idx,
                 struct ipc_status_plan *out);
/* status_ok_reply answers {"ok":true}: for a ping with the service id and
 * the clock signed commands are judged by. */
void status_ok_reply(struct daemon *d, struct ipc_call *call, const char *ref,
                     bool ping);

/* board.c: the live board (docs/OPERATIONS.md, "The board"): its
 * document, product pages and stream, with board_scan.c,
 * board_document.c and board_follow.c (board_impl.h, their private
 * header). */
struct ipc_http;
struct ipc_http_response;
/* The page and its Content-Security-Policy (its inline style and script
 * named by their SHA-256): build/gen/board_html.c, made from
 * daemon/board.html by daemon/board_embed.sh. */
extern const char board_html[], board_csp[];
/* board_new makes the board its routes read (before they can be
 * called); false on out of memory or without d->feed (they then answer
 * 503).  board_start then starts the thread that keeps http's stream
 * clients live; false if it cannot. */
bool board_new(struct daemon *d);
bool board_start(struct daemon *d, struct ipc_http *http);
/* board_stop stops the thread (before the HTTP side closes: it
 * broadcasts); board_free then frees the board (after: routes read it).
 * NULL board: no-ops. */
void board_stop(struct daemon *d);
void board_free(struct daemon *d);

/* board_routes.c: the board's routes, ipc_http_get_fns whose arg is
 * the daemon.  GET / (the page), /board.json (the document), /products
 * (a page of a suspension's products, or a product id prefix's), and the
 * stream's hello (the document). */
void board_get_page(void *arg, const char *query,
                    struct ipc_http_response *res);
void board_get_json(void *arg, const char *query,
                    struct ipc_http_response *res);
void board_get_products(void *arg, const char *query,
                        struct ipc_http_response *res);
void board_stream_hello(void *arg, const char *query,
                        struct ipc_http_response *res);

/* cluster.c: three nodes on Raft (docs/ARCHITECTURE.md), with
 * cluster_fsm.c, cluster_lease.c and cluster_members.c (cluster_impl.h,
 * their private header: only these call raft or libuv). */

/* What this node is (struct daemon's role). */
enum cluster_role {
	ROLE_SINGLE = 0, /* no [cluster]: decides and writes, as always */
	ROLE_FOLLOWER,   /* applies the leader's entries; refuses checks */
	ROLE_PROMOTING,  /* elected: rebuilt from the log, leader_elected
	                    not yet committed */
	ROLE_LEADER,
};

/* What status shows of the cluster. */
struct cluster_state {
	unsigned node, leader; /* leader: 0 when none is known */
	uint64_t term;
	int role;
	int64_t lease_ms; /* left of the leader's lease */
	int64_t applied;  /* the ledger's last seq */
	uint64_t elections, snapshots_taken, snapshots_installed;
};

/* What the cluster's loop thread calls back into the daemon with (given
 * as pointers: the daemon's files call the cluster's, never the
 * reverse). */
struct cluster_hooks {
	/* Elected: rebuild from the log, log leader_elected, return its
	 * seq (0: could not).  Not the leader any more. */
	int64_t (*promote)(struct daemon *d, unsigned node, uint64_t term);
	void (*demote)(struct daemon *d, unsigned leader);
	/* A reopened ledger (a snapshot installed), mu and qmu held. */
	void (*ledger_ready)(struct daemon *d);
	/* A checkpoint's note, written by every node's FSM. */
	void (*export_note)(struct daemon *d, int64_t size, const char *note);
};

/* cluster_new sets up raft for this node (d->svc.cluster, d->ledger
 * open): its I/O in DATA_DIR/raft, bootstrapped with the config's voters
 * on first start.  NULL with err on failure. */
struct cluster *cluster_new(struct daemon *d, const struct cluster_hooks *h,
                            char *err, size_t errlen);
/* cluster_start starts the loop thread; false if it cannot. */
bool cluster_start(struct cluster *c);
/* cluster_stop stops and frees it (NULL: no-op); after the writer. */
void cluster_stop(struct cluster *c);
/* cluster_commit, the writer thread's: rows as one entry, returning once
 * a majority has it and this node's ledger holds it.  Errors:
 * FXB_ERR_NOT_LEADER (this node may not write: the rows are dropped),
 * FXB_ERR_LEDGER (err says why). */
enum fxb_err cluster_commit(struct cluster *c, const struct ledger_row *rows,
                            size_t n, int64_t now, bool sign, char *err,
                            size_t errlen);

/* cluster_lease.c: the role, the leader, the lease. */

/* cluster_gate says whether this node may answer a check now: FXB_OK,
 * FXB_ERR_NOT_LEADER (*leader: the leader's check_url, or NULL) or
 * FXB_ERR_NO_QUORUM, msg saying why.  Any thread; FXB_OK when single. */
enum fxb_err cluster_gate(struct daemon *d, char *msg, size_t cap,
                          const char **leader);
/* cluster_status fills st (zeros when single). */
void cluster_status(struct daemon *d, struct cluster_state *st);

/* cluster_members.c: membership changes, and the member list. */

/* A member of raft's configuration, as the loop last saw it. */
struct cluster_member {
	unsigned id;
	const char *role; /* voter, standby, spare */
	char raft_address[BREAKER_TEXT_MAX + 1];
};
/* cluster_members copies up to cap members into out; how many. */
size_t cluster_members(struct cluster *c, struct cluster_member *out,
                       size_t cap);
/*
 * cluster_change adds node id (its [peer id]'s raft_address: as a spare,
 * then a voter once libraft has caught it up) or removes it, and returns
 * once the change is committed or has failed.  The leader only; never
 * with mu held (the loop thread may need it).  Errors: FXB_ERR_CONFIG
 * (no such [peer]), FXB_ERR_NOT_LEADER, FXB_ERR_BUSY (another change
 * under way), FXB_ERR_STALE_APPROVAL (raft refused it: err says why,
 * e.g. already a member, or not one).
 */
enum fxb_err cluster_change(struct cluster *c, bool add, unsigned id,
                            char *err, size_t errlen);

/* cluster_view.c: the cluster as status, the board and /metrics show
 * it; the view's copies are what c points into. */
struct cluster_view {
	struct cluster_state state;
	struct cluster_member mem[CLUSTER_PEERS_MAX + 4];
	struct ipc_status_member im[CLUSTER_PEERS_MAX + 4];
	struct ipc_status_cluster c;
};
/* status_cluster fills v; false for a single node (v untouched). */
bool cluster_view(struct daemon *d, struct cluster_view *v);

/* check.c: checks, batches and ticks. */

/* check_on_request is the check socket's handler (ipc_server_conf's
 * on_check), and what a parked check is decided again by. */
void check_on_request(void *arg, struct ipc_call *call, const char *buf,
                      size_t len);
/* check_on_tick is the tick socket's handler (no reply on PULL). */
void check_on_tick(void *arg, const char *buf, size_t len);

/* restore.c: start-up from the log. */

/* A restored suspension's denied count, as the last clean stop left it. */
struct carried_denied {
	int64_t suspension, denied;
	bool partial;
};
/* restore_suspensions restores the log's open suspensions into the new
 * engine, with their notices and denied counts, the planned suspensions
 * still pending with the notices they will show, and the rules' recent
 * automatic resumes; a suspension whose rule or scope left the config is
 * retired (mu held, before serving). */
enum fxb_err restore_suspensions(struct daemon *d);
/* restore_degraded: the log failed its check at start (why): someone
 * edited, deleted or inserted rows.  Every product is suspended (fail
 * closed) and the log says so itself; reopening needs operators (a
 * signed reset). */
void restore_degraded(struct daemon *d, const char *why);
/*
 * restore_notes_check holds, at start, the newest exported checkpoint
 * note against the log: the note names a row the log acknowledged.  If
 * the log lacks it (a -wal file removed before a crash, an old copy
 * restored), rows were lost that no chain check can see: the caller
 * starts degraded.  Notes beyond the log's end are renamed lost-*, so
 * that rows written at the reused seqs cannot overwrite them:
 * `fxbreakerctl verify --checkpoint-dir` keeps reporting the loss.  A
 * note that is not the log key's is ignored (it proves nothing), with a
 * warning.  false and why if rows are missing.
 */
bool restore_notes_check(struct daemon *d, char *why, size_t cap);

/* override.c: changes by command laid over the config file (mu held). */

/* A change by command in force, laid over the config file's value: a
 * rule's trip level, or (notice) a [notice]'s ko or en text. */
#define CHANGES_MAX 256
struct cmd_change {
	char rule[BREAKER_ID_MAX + 1]; /* the rule, or the notice's id */
	char key[BREAKER_ID_MAX + 16]; /* "max_move@" and a session name */
	char value[BREAKER_TEXT_MAX + 1];
	bool notice;
};

/* What a threshold change would do: the key's value before and after, as
 * text and as numbers that grow as the rule loosens. */
struct threshold_change {
	char from[BREAKER_DECIMAL_BUFSZ], to[BREAKER_DECIMAL_BUFSZ];
	int64_t from_cmp, to_cmp;
	int64_t seq; /* applied: the threshold_change row's seq */
};

/*
 * daemon_threshold checks setting rule's trip level key to value on top of
 * the running config (the file, unchanged since it was loaded, plus the
 * changes in force) and fills tc.  With apply, it also swaps the engine to
 * the new config, keeping every rule's state, and logs a
 * `threshold_change` row (its seq in tc->seq) saying who (`who`) and
 * the four-eyes request it carries out (`by`, or 0).  A value equal to
 * the file's own ends the change instead.  mu held.  Errors:
 * FXB_ERR_UNKNOWN_RULE, FXB_ERR_RANGE (not a trip level; msg says),
 * FXB_ERR_CONFIG (msg: the value's error, or the file changed),
 * FXB_ERR_LIMIT, FXB_ERR_LEDGER (the log cannot be written),
 * FXB_ERR_NOMEM.
 */
enum fxb_err daemon_threshold(struct daemon *d, const char *rule,
                              const char *key, const char *value, bool apply,
                              int64_t by, const char *who,
                              struct threshold_change *tc, char *msg,
                              size_t cap);

/*
 * daemon_notice_edit sets the ko or en (lang) text of [notice id] on top
 * of the running config, as daemon_threshold does a trip level, and puts
 * it on every open suspension showing that notice.  Logs a
 * `notice_change` row (its seq in *seq).  mu held.  Errors:
 * FXB_ERR_UNKNOWN_NOTICE, FXB_ERR_RANGE (lang, or no change),
 * FXB_ERR_CONFIG (msg: the text's error, or the file changed),
 * FXB_ERR_LIMIT, FXB_ERR_LEDGER, FXB_ERR_NOMEM.
 */
enum fxb_err daemon_notice_edit(struct daemon *d, const char *id,
                                const char *lang, const char *text,
                                const char *who, int64_t *seq, char *msg,
                                size_t cap);

/* The changes by command the log holds in force (changed, not dropped
 * since), each with the hash of the file it was made over. */
struct change_log {
	struct cmd_change t[CHANGES_MAX];
	char hash[CHANGES_MAX][65];
	size_t n;
};
/*
 * override_restore, at start, before the engine exists: lays the changes
 * by command the log holds in force over the config, if they were made
 * over this very file.  Leaves in tl those that were not (the file
 * changed while the service was down), to be logged as dropped once rows
 * can be written (override_log_dropped).  false if the log or the file
 * cannot be read: starting on the file's values would silently undo a
 * tightening.
 */
bool override_restore(struct daemon *d, struct change_log *tl);
void override_log_dropped(struct daemon *d, const struct change_log *tl);
/* override_reload runs cfg, the config file just read (its hash), in
 * place of the running config: the changes by command stay if the file
 * is the one they were made over, else they are logged as dropped.
 * Every product then waits for the next row, which the caller logs.
 * false (cfg freed, nothing changed) on out of memory. */
bool override_reload(struct daemon *d, struct breaker_config *cfg,
                     const char *hash);

/*
 * The service's state, grouped by the file that owns each part (the
 * others read it).
 */
struct daemon {
	/* daemon.c: what start read and opened. */
	char *config_path;
	unsigned node; /* --node, selected again at every reload */
	int lock_fd;   /* holds DATA_DIR/fxbreakerd.lock (datadir_lock.c) */
	struct ipc_server *ipc;
	park_redo_fn check_redo; /* decides a parked check (check.c's) */
	_Atomic bool stopping;
	struct fdwatch *fdw;     /* NULL if its thread did not start */
	struct board_feed *feed; /* board_feed.c; NULL: no board history */
	struct board *board;     /* board.c; NULL: no HTTP side */
	struct watchdog *wd;     /* NULL: watchdog_interval = 0 */

	/* mu guards the engine and everything derived from the config. */
	pthread_mutex_t mu;
	struct breaker_config *cfg;
	struct service_conf svc; /* the file's [service] (mu: a reload) */
	struct breaker *engine;
	char config_hash[65];
	int64_t next_seq; /* events.c alone moves it */
	struct gate gate; /* park.c */
	/* onotice.c: sorted by suspension. */
	struct onotice *notices;
	size_t nnotices, capnotices;
	/* events.c: the [notice] of the forced suspension being opened or
	 * planned, or NULL: set by daemon_force_suspend and daemon_force_plan
	 * for the length of the engine call. */
	const char *force_notice;
	/* events.c: the [notice] each pending plan will show (plans made
	 * with the default have none). */
	struct plan_notice {
		int64_t plan;
		char notice[BREAKER_ID_MAX + 1];
	} * plan_notices;
	size_t nplan_notices, capplan_notices;
	/* override.c: the changes by command in force. */
	struct cmd_change changes[CHANGES_MAX];
	size_t nchanges;
	struct commands *cmds; /* operators, nonces, pending requests */

	/* wal.c: qmu guards the queue, the parked calls and the ledger's
	 * status. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv; /* CLOCK_MONOTONIC */
	struct ledger *ledger;
	char checkpoint_dir[BREAKER_TEXT_MAX + 1];
	pthread_t writer;
	struct qrow *queue;
	size_t nqueue, capqueue;
	/* A demoted node's queue (daemon_demote), freed by the writer, whose
	 * batch in flight may point into it; qgen counts demotions. */
	struct qrow *dead;
	size_t ndead;
	uint64_t qgen;
	_Atomic size_t queued;
	_Atomic int64_t committed;
	_Atomic bool degraded;
	char last_error[512];
	/* Checkpoint note files (export_note): the last one written, and
	 * the failures since (0: the last try worked). */
	int64_t note_ok_seq;
	uint64_t note_failed;
	char note_error[256];
	struct parkq parked; /* park.c */
	bool writer_stop;
	bool writer_done; /* the writer has exited: nothing parks any more */

	/* clock.c: the engine's clock (timebase.c); its step record under
	 * mu. */
	struct timebase tb;
	pthread_t timer;
	pthread_cond_t tcv; /* with mu; CLOCK_MONOTONIC */
	fxb_time timer_target;
	bool timer_stop;
	bool no_timer; /* the timer thread never started */

	/* restore.c, at start only: the counts the last run's service_stop
	 * carried, or denied_lost when it did not stop cleanly. */
	bool restore_failed;
	struct carried_denied *carried;
	size_t ncarried;
	bool denied_lost;

	struct metrics *metrics; /* metrics.c */
	struct ipc_http *http;   /* http.c; NULL: no http_url */

	/* cluster.c: NULL when single. */
	struct cluster *cluster;
	_Atomic int role;        /* enum cluster_role */
	_Atomic int64_t applied; /* the ledger's last seq, as applied */

	/* check.c */
	_Atomic uint64_t bad_ticks; /* refused on tick_url */
	_Atomic uint64_t ticks;     /* applied, from either socket */
};

/*
 * The signed commands, one file per job, each calling only the ones below
 * it: command.c (a command verified: envelope, key, signature, service,
 * time window, replay) -> cmd_apply.c (what a command does, by table) ->
 * roster.c (who may sign) -> foureyes.c (requests waiting for a second
 * person).  All of their state is under mu.
 */

/* roster.c */
#define OPERATORS_MAX 256

/* An operator's roles (docs/PROTOCOL.md lists the role each command
 * takes).  admin: enrols and revokes operators by command (four eyes:
 * another admin approves). */
enum role {
	ROLE_SUSPEND = 1,
	ROLE_RESET = 2,
	ROLE_APPROVE = 4,
	ROLE_ADMIN = 8
};

struct operator
{
	char key_id[IPC_TRUST_KEY_ID_SIZE];
	char name[IPC_TRUST_NAME_MAX +
	          1]; /* the person: two keys, one name, one person */
	unsigned char pk[32];
	unsigned roles;
	bool from_file; /* else enrolled by command */
};

struct request;

/* Who may sign: the operators file's people and those enrolled by
 * command, as the log records them. */
struct roster {
	struct operator ops[OPERATORS_MAX];
	size_t nops;
};

/* roster_parse_roles: "suspend,reset,..." as role bits; 0 for an
 * unknown or empty role. */
unsigned roster_parse_roles(const char *s);
/* roster_roles_str: "suspend,reset,approve,admin" or the subset held,
 * in that order. */
void roster_roles_str(unsigned roles, char out[32]);
/* roster_find returns key_id's operator in r, or NULL. */
const struct operator* roster_find(const struct roster *r, const char *key_id);
/* roster_enrol_subject reads whom an enrol names (args name, roles,
 * pubkey) into who, checked against r.  Errors: FXB_ERR_MISSING,
 * FXB_ERR_SYNTAX, FXB_ERR_OPERATOR_EXISTS (msg says). */
enum fxb_err roster_enrol_subject(const struct roster *r, json_t *args,
                                  struct operator* who, char *msg, size_t cap);
/* roster_revoke_subject reads whom a revoke names (args operator: a key
 * id) into who.  Errors: FXB_ERR_MISSING, FXB_ERR_UNKNOWN_OPERATOR,
 * FXB_ERR_FORBIDDEN (one of the file's people). */
enum fxb_err roster_revoke_subject(const struct roster *r, json_t *args,
                                   struct operator* who, char *msg,
                                   size_t cap);
/* roster_apply carries out an approved enrol or revoke q: the roster
 * changes, and an operator_enrolled or operator_revoked row (its seq in
 * *seq) says on whose word.  mu held.  Errors: FXB_ERR_STALE_APPROVAL,
 * FXB_ERR_LIMIT. */
enum fxb_err roster_apply(struct daemon *d, const struct request *q,
                          const char *approver, int64_t *seq, char *msg,
                          size_t cap);
/* commands_check_operators is in daemon.h: fxbreakerd.c calls it. */
/* commands_load_operators (re)reads the operators file (mu held); logs
 * enrolments and revocations against what the log knew.  Prints why and
 * returns false on a bad file. */
bool commands_load_operators(struct daemon *d, const char *path);

/* foureyes.c */
#define REQUESTS_MAX 1024 /* pending four-eyes requests */

/* A lift, reset, loosening, cancel of a plan or operator change waiting
 * for a second person. */
struct request {
	int64_t seq; /* the request's command row: its id */
	char operator[IPC_TRUST_KEY_ID_SIZE], name[IPC_TRUST_NAME_MAX + 1];
	/* "lift", "reset", "threshold", "enrol", "revoke", "cluster_add",
	 * "cluster_remove", "cancel" */
	char cmd[16];
	char rule[BREAKER_ID_MAX + 1];
	char scope[BREAKER_ID_MAX + 1];
	bool on_pair;
	int64_t suspension; /* 0 for a threshold or an operator change */
	/* cancel: the planned suspension it cancels (an approval once that
	 * plan started or is gone is stale), else 0 */
	int64_t plan;
	/* threshold: the key, the value asked for, and the value it was
	 * asked over (an approval after another change is stale). */
	struct cmd_change change;
	char from[BREAKER_DECIMAL_BUFSZ];
	struct operator subject; /* enrol, revoke: whom */
	unsigned node;           /* cluster_add, cluster_remove: which */
	fxb_time expires;        /* engine time */
	bool done;
};

/* The requests, oldest first; the oldest finished one makes room. */
struct foureyes {
	struct request reqs[REQUESTS_MAX];
	size_t n;
};

/* What an approve command's args say. */
struct approval {
	bool request_given; /* args.request is an integer: ... */
	int64_t request;    /* ... this one (else 0) */
	bool suspension_given, suspension_integer; /* args.suspension */
	int64_t suspension;   /* its value if an integer, else 0 */
	const char *operator; /* args.operator (whom), or NULL */
};

/* What an approval asks of the world outside the requests: the daemon
 * answers from the engine and the roster, a test from a table. */
struct foureyes_world {
	/* The suspension q's lift or reset would end now, 0 if none. */
	int64_t (*current)(void *arg, const struct request *q);
	/* The operator who holds key_id now, or NULL. */
	const struct operator* (*find)(void *arg, const char *key_id);
	void *arg;
};

/* foureyes_add files a copy of q (its seq set: its command row's),
 * forgetting the oldest finished request if the table is full (the
 * oldest of all if none is finished).  Returns the filed request. */
struct request *foureyes_add(struct foureyes *fe, const struct request *q);
/* foureyes_find returns the request whose id is seq, or NULL. */
struct request *foureyes_find(struct foureyes *fe, int64_t seq);
/* foureyes_is_operator_change: an enrol or revoke (approved by admins;
 * the rest by approvers). */
bool foureyes_is_operator_change(const struct request *q);
/* foureyes_is_cluster_change: a cluster_add or cluster_remove (approved
 * by admins, and carried out outside mu: command.c). */
bool foureyes_is_cluster_change(const struct request *q);
/* foureyes_supersede ends every pending enrol or revoke of key_id: a
 * roster change for that key means each was asked about a roster no
 * longer in force. */
void foureyes_supersede(struct foureyes *fe, const char *key_id);
/*
 * foureyes_approve decides whether approver may approve what a says at
 * now, and returns the request to carry out in *out (the caller marks it
 * done once its effect is in force).  It checks that the request is
 * pending, unexpired and names the suspension in force; that the approver
 * holds the role it takes and is neither its requester nor (an operator
 * change) its subject; that an operator change names its key; and that
 * the requester still holds the authority it asked under.  Pure.  Errors
 * (msg says which): FXB_ERR_MISSING, FXB_ERR_STALE_APPROVAL,
 * FXB_ERR_FORBIDDEN, FXB_ERR_SELF_APPROVAL.
 */
enum fxb_err foureyes_approve(struct foureyes *fe, const struct approval *a,
                              const struct operator* approver, fxb_time now,
                              const struct foureyes_world *w,
                              struct request **out, char *msg, size_t cap);
/* foureyes_from_row reads back the request a `pending` command row
 * (its detail o, its seq and time t) filed.  Whom an enrol or revoke
 * names is the caller's (the roster's) to read. */
void foureyes_from_row(json_t *o, int64_t seq, fxb_time t, struct request *q);

/* cmd_apply.c */
/* The latest time a command may name, 9999-12-31T23:59:59.999Z: no
 * arithmetic on a time up to it can overflow. */
#define CMD_TIME_MAX_MS 253402300799999LL

/* One command: the role it takes (any of these bits; 0: the handler
 * decides, by what the command would do), the args it takes (the shared
 * table of ipc_trust.h, which fxbreakerctl offers options from), and
 * what it does. */
struct cmd_ctx;
struct cmd_outcome;
struct cmd_spec {
	const char *name;
	unsigned role;
	enum fxb_err (*handler)(const struct cmd_ctx *x,
	                        struct cmd_outcome *out);
};

/* A command whose envelope checked out, as cmd_apply sees it. */
struct cmd_ctx {
	struct daemon *d;
	const struct operator* op; /* the signer */
	const char *cmd;
	json_t *args;
	fxb_time now;     /* the engine's */
	fxb_time expires; /* in engine time */
	int64_t shift;    /* turns the signer's clock into the engine's */
	json_t *row;      /* the command row: a handler adds what it did */
};

/* What a command did, for its row and its reply. */
struct cmd_outcome {
	/* The reply (ipc_reply.h); result 0: refused (code, msg). */
	struct ipc_reply_cmd reply;
	enum fxb_err code;
	char msg[256];
	const char *scope;  /* the row's scope, or NULL */
	int64_t suspension; /* the row's suspension, or 0 */
	/* A four-eyes request to file under the command row's seq (its
	 * id, which the reply quotes). */
	bool pending;
	struct request request;
	/* An approved cluster_add or cluster_remove: carried out by
	 * command.c once mu is released (cluster_change blocks, and the
	 * loop thread may need mu). */
	struct {
		bool deferred, add;
		unsigned node;
		int64_t request; /* its request's seq */
		char raft_address[BREAKER_TEXT_MAX + 1];
		char requested_by[IPC_TRUST_NAME_MAX + 1];
	} member;
};

/* cmd_apply_table returns the commands (*n of them). */
const struct cmd_spec *cmd_apply_table(size_t *n);
/* cmd_apply_find returns the command named name, or NULL. */
const struct cmd_spec *cmd_apply_find(const char *name);
/* cmd_apply does what x asks, after its envelope checked out: its args
 * and reason, the role its table entry names, then its handler.  Fills
 * out (out->reply, or out->code and out->msg).  mu held. */
void cmd_apply(const struct cmd_ctx *x, struct cmd_outcome *out);
/* cmd_apply_filed: out's command row is seq: a pending request is filed
 * under it, and the reply says so.  mu held. */
void cmd_apply_filed(struct daemon *d, struct cmd_outcome *out, int64_t seq);

/* command.c */
struct nonce;

struct commands {
	struct roster roster;
	bool roster_loaded; /* roster seeded from the log's */
	struct foureyes requests;
	struct nonce *nonces; /* a ring, oldest first */
	size_t nnonces, nonce_head;
	/* A membership change being carried out (one at a time), the
	 * nonce of the approval that asked for it, and the threads that
	 * carry one out still running (under mu; member_cv with mu). */
	bool member_busy;
	char member_nonce[64];
	unsigned member_live;
	pthread_cond_t member_cv;
};

struct commands *commands_new(void);
void commands_free(struct commands *c);
/* commands_stop waits for a membership change being carried out to
 * finish (d->stopping set first, so that no other starts). */
void commands_stop(struct daemon *d);
/* commands_restore rebuilds the nonce memory and pending requests from
 * the log's recent command rows (at start, mu held). */
void commands_restore(struct daemon *d);
/*
 * commands_body_parse parses a signed command's body (docs/PROTOCOL.md):
 * JSON, an object, with v, service_id, operator, issued_at, expires_at,
 * nonce, cmd and args of their types.  Pure (no daemon state, no lock):
 * commands_handle and tests/fuzz/fuzz_command.c call it.  Returns the
 * parsed body, which the strings and *args point into (the caller
 * json_decrefs it), or NULL with msg (cap bytes) saying why if text is
 * not a command.
 */
json_t *commands_body_parse(const char *text, const char **service,
                            const char **opid, json_int_t *issued,
                            json_int_t *expires, const char **nonce,
                            const char **cmd, json_t **args, char *msg,
                            size_t cap);
/* commands_handle serves one signed command on the admin socket: it
 * takes mu, and answers once it has released it. */
void commands_handle(struct daemon *d, struct ipc_call *call,
                     const struct ipc_request *r);

/* http.c: the read-only HTTP side (its routes table). */

/* http_start serves [service] http_url (nothing if it is ""); says where
 * on stderr.  false (said why) if it cannot listen. */
bool http_start(struct daemon *d);
/* http_stop stops serving and waits for routes in flight; nothing to stop
 * is a no-op. */
void http_stop(struct daemon *d);

#endif /* DAEMON_IMPL_H */
