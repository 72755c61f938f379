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
	char key_id[17];
	char name[65]; /* the person: two keys, one name, one person */
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

/* A lift, reset, loosening or operator change waiting for a second
 * person. */
struct request {
	int64_t seq; /* the request's command row: its id */
	char operator[17], name[65];
	char cmd[12]; /* "lift", "reset", "threshold", "enrol", "revoke" */
	char rule[BREAKER_ID_MAX + 1];
	char scope[BREAKER_ID_MAX + 1];
	bool on_pair;
	int64_t suspension; /* 0 for a threshold or an operator change */
	/* threshold: the key, the value asked for, and the value it was
	 * asked over (an approval after another change is stale). */
	struct cmd_change change;
	char from[BREAKER_DECIMAL_BUFSZ];
	struct operator subject; /* enrol, revoke: whom */
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
#define CMD_ARGS_MAX 6
/* The latest time a command may name, 9999-12-31T23:59:59.999Z: no
 * arithmetic on a time up to it can overflow. */
#define CMD_TIME_MAX_MS 253402300799999LL

/* One command: the role it takes (any of these bits; 0: the handler
 * decides, by what the command would do), the args it takes, and what
 * it does. */
struct cmd_ctx;
struct cmd_outcome;
struct cmd_spec {
	const char *name;
	unsigned role;
	const char *const args[CMD_ARGS_MAX]; /* NULL-terminated if short */
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
	json_t *reply; /* the reply; NULL: refused (code, msg) */
	enum fxb_err code;
	char msg[256];
	const char *scope;  /* the row's scope, or NULL */
	int64_t suspension; /* the row's suspension, or 0 */
	/* A four-eyes request to file under the command row's seq (its
	 * id, which the reply quotes). */
	bool pending;
	struct request request;
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
};

struct commands *commands_new(void);
void commands_free(struct commands *c);
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

#endif /* DAEMON_IMPL_H */
