/*
 * daemon_impl.h: what daemon.c shares with the daemon's other files
 * (commands.c): the service's state and the few helpers that reach it.
 * Lock order everywhere: mu (engine) before qmu (queue).
 */
#ifndef DAEMON_IMPL_H
#define DAEMON_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "breaker.h"
#include "breaker_config.h"
#include "breaker_decimal.h"
#include "config.h"
#include "daemon.h"
#include "ipc_server.h"
#include "ipc_wire.h"
#include "ledger.h"

struct commands;
struct fdwatch;

/* A change by command in force, laid over the config file's value: a
 * rule's trip level, or (notice) a [notice]'s ko or en text. */
#define CHANGES_MAX 256
struct cmd_change {
	char rule[BREAKER_ID_MAX + 1]; /* the rule, or the notice's id */
	char key[24];
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

/* A log row waiting for its commit; it owns its strings. */
struct qrow {
	struct ledger_row row;
	char *rule, *scope, *detail, *reason, *ko, *en, *notice_id;
	char topic[BREAKER_ID_MAX + 16];
	char *notice_msg; /* a notice to publish after the commit, or NULL */
	int64_t denied;   /* the ended suspension's denied checks, or -1 */
	bool denied_partial; /* ... a lower bound: a crash lost some */
};

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

/* A restored suspension's denied count, as the last clean stop left it. */
struct carried_denied {
	int64_t suspension, denied;
	bool partial;
};

/*
 * A call waiting for the commit of the row it depends on: a reply to send
 * (a deny quoting a new suspension), or a request to decide only then (a
 * check on a product whose reopening is not written yet: deciding it now
 * would count it as volume even if the reopening never commits).
 */
struct parked {
	struct ipc_call *call;
	int64_t wait_seq;
	char *reply;   /* send this, or ... */
	char *request; /* ... decide this again */
	size_t request_len;
	char *ref;
	char *fail; /* the fail-closed answer; NULL: a check's deny (ref) */
	struct parked *next;
};

struct daemon {
	char *config_path;
	int lock_fd; /* holds DATA_DIR/fxbreakerd.lock (datadir_lock.c) */
	char checkpoint_dir[BREAKER_TEXT_MAX + 1];
	char config_hash[65];
	struct breaker_config *cfg;
	struct service_conf svc; /* the file's [service] (mu: a reload) */
	struct breaker *engine;
	/* mu guards the engine and everything derived from the config. */
	pthread_mutex_t mu;
	int64_t next_seq;
	int64_t *reopen_seq;     /* per product: its last reopening row */
	int32_t *pair_products;  /* products grouped by pair ... */
	uint32_t *pair_first;    /* ... pair p's are [first[p], first[p+1]) */
	struct onotice *notices; /* sorted by suspension */
	size_t nnotices, capnotices;
	/* The [notice] of the forced suspension being opened, or NULL:
	 * set by daemon_force_suspend for the length of the engine call. */
	const char *force_notice;

	/* qmu guards the queue, the parked replies and the ledger status. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv; /* CLOCK_MONOTONIC */
	struct ledger *ledger;
	pthread_t writer;
	struct qrow *queue;
	size_t nqueue, capqueue;
	_Atomic size_t queued;
	_Atomic int64_t committed;
	_Atomic bool degraded;
	char last_error[512];
	/* Checkpoint note files (export_note): the last one written, and
	 * the failures since (0: the last try worked). */
	int64_t note_ok_seq;
	uint64_t note_failed;
	char note_error[256];
	struct parked *parked;
	size_t nparked;
	bool writer_stop;
	bool writer_done; /* the writer has exited: nothing parks any more */

	/* The engine's clock (timebase.c); its step record under mu. */
	struct timebase tb;
	pthread_t timer;
	pthread_cond_t tcv; /* with mu; CLOCK_MONOTONIC */
	fxb_time timer_target;
	bool timer_stop;
	bool no_timer; /* the timer thread never started */
	bool restore_failed;
	/* At start only: the counts the last run's service_stop carried,
	 * or denied_lost when it did not stop cleanly (restore_one). */
	struct carried_denied *carried;
	size_t ncarried;
	bool denied_lost;

	struct ipc_server *ipc;
	struct commands *cmds; /* operators, nonces, pending requests (mu) */
	struct cmd_change changes[CHANGES_MAX]; /* in force (mu) */
	size_t nchanges;
	_Atomic bool stopping;
	_Atomic uint64_t bad_ticks; /* refused on tick_url */
	_Atomic uint64_t ticks;     /* applied, from either socket */
	struct fdwatch *fdw;        /* NULL if its thread did not start */
	struct watchdog *wd;        /* NULL: watchdog_interval = 0 */
};

/* daemon.c */
void daemon_park(struct daemon *d, struct ipc_call *call, int64_t wait_seq,
                 char *reply, const char *request, size_t request_len,
                 const char *ref);
/* daemon_park_command parks a signed command's reply until its row
 * commits.  If the log is failing, a refusal (did_nothing) is sent as it
 * is; any other answer says the command is not confirmed (a check-shaped
 * deny would make no sense to fxbreakerctl). */
void daemon_park_command(struct daemon *d, struct ipc_call *call,
                         int64_t wait_seq, char *reply, bool did_nothing);
/* daemon_engine_now returns the engine's clock (mu held) and logs a
 * clock_step row when the wall clock stepped since the last call. */
fxb_time daemon_engine_now(struct daemon *d);
char *daemon_fail_closed_reply(const char *ref);
void daemon_send_reply(struct ipc_call *call, const char *reply);
void daemon_reply_error(struct ipc_call *call, enum fxb_err code,
                        const char *msg, const char *ref);
void daemon_timer_poke(struct daemon *d);
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
/* daemon_notice_known: the running config has [notice id] (mu held). */
bool daemon_notice_known(struct daemon *d, const char *id);
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

/* commands.c */
struct commands *commands_new(void);
void commands_free(struct commands *c);
/* commands_load_operators (re)reads the operators file (mu held); logs
 * enrolments and revocations against what the log knew.  Prints why and
 * returns false on a bad file. */
bool commands_load_operators(struct daemon *d, const char *path);
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
/* commands_handle serves one signed command on the admin socket. */
void commands_handle(struct daemon *d, struct ipc_call *call,
                     const struct ipc_request *r);

#endif /* DAEMON_IMPL_H */
