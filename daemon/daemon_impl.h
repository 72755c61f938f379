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
#include "daemon.h"
#include "ipc_server.h"
#include "ipc_wire.h"
#include "ledger.h"

struct commands;

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
};

/* A log row waiting for its commit; it owns its strings. */
struct qrow {
	struct ledger_row row;
	char *rule, *scope, *detail, *reason, *ko, *en, *notice_id;
	char topic[BREAKER_ID_MAX + 16];
	char *notice_msg; /* a notice to publish after the commit, or NULL */
	int64_t denied;   /* the ended suspension's denied checks, or -1 */
};

/* An open customer notice, rendered per product on every deny. */
struct onotice {
	int64_t suspension;
	char *id;
	char *scope;
	fxb_time since, until;
	char *tpl_ko, *tpl_en;
	char *reason_ko, *reason_en;
	int64_t denied; /* checks denied quoting it (since this start) */
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
	char checkpoint_dir[BREAKER_TEXT_MAX + 1];
	char config_hash[65];
	struct breaker_config *cfg;
	struct breaker *engine;
	/* mu guards the engine and everything derived from the config. */
	pthread_mutex_t mu;
	int64_t next_seq;
	int64_t *reopen_seq;     /* per product: its last reopening row */
	int32_t *pair_products;  /* products grouped by pair ... */
	uint32_t *pair_first;    /* ... pair p's are [first[p], first[p+1]) */
	struct onotice *notices; /* sorted by suspension */
	size_t nnotices, capnotices;

	/* qmu guards the queue, the parked replies and the ledger status. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	struct ledger *ledger;
	pthread_t writer;
	struct qrow *queue;
	size_t nqueue, capqueue;
	_Atomic size_t queued;
	_Atomic int64_t committed;
	_Atomic bool degraded;
	char last_error[256];
	struct parked *parked;
	size_t nparked;
	bool writer_stop;
	bool writer_done; /* the writer has exited: nothing parks any more */

	pthread_t timer;
	pthread_cond_t tcv; /* with mu */
	fxb_time timer_target;
	bool timer_stop;
	bool no_timer; /* the timer thread never started */
	bool restore_failed;

	struct ipc_server *ipc;
	struct commands *cmds; /* operators, nonces, pending requests (mu) */
	struct cmd_change changes[CHANGES_MAX]; /* in force (mu) */
	size_t nchanges;
	_Atomic bool stopping;
	_Atomic uint64_t bad_ticks; /* refused on tick_url */
	_Atomic uint64_t ticks;     /* applied, from either socket */
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
fxb_time daemon_engine_now(struct daemon *d);
char *daemon_fail_closed_reply(const char *ref);
void daemon_send_reply(struct ipc_call *call, const char *reply);
void daemon_reply_error(struct ipc_call *call, enum fxb_err code,
                        const char *msg, const char *ref);
void daemon_timer_poke(struct daemon *d);
/* daemon_log_command queues a `command` row (mu held) and returns its seq. */
int64_t daemon_log_command(struct daemon *d, const char *scope,
                           int64_t suspension, const char *detail);

/*
 * daemon_threshold checks setting rule's trip level key to value on top of
 * the running config (the file, unchanged since it was loaded, plus the
 * changes in force) and fills tc.  With apply, it also swaps the engine to
 * the new config, keeping every rule's state, and logs a
 * `threshold_change` row (the last row queued) saying who (`who`) and
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
 * `notice_change` row (the last row queued).  mu held.  Errors:
 * FXB_ERR_UNKNOWN_NOTICE, FXB_ERR_RANGE (lang, or no change),
 * FXB_ERR_CONFIG (msg: the text's error, or the file changed),
 * FXB_ERR_LIMIT, FXB_ERR_LEDGER, FXB_ERR_NOMEM.
 */
enum fxb_err daemon_notice_edit(struct daemon *d, const char *id,
                                const char *lang, const char *text,
                                const char *who, char *msg, size_t cap);

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
