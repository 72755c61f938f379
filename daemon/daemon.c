/*
 * daemon.c: the service.  It wires the pure engine to the clock, the log
 * and the sockets, and keeps DESIGN.md's rules that hold everywhere:
 *
 * - Write ahead.  Every engine event gets its log sequence number when it
 *   happens (under the engine lock) and is queued for the writer thread,
 *   which commits batches (WAL, synchronous=FULL).  A reply that reflects a
 *   state whose row has not committed yet -- a deny quoting a suspension
 *   just opened, an allow on a product just reopened -- is parked and sent
 *   by the writer right after the commit.  Events are published only after
 *   their commit.  An allowed check on a settled product never waits.
 * - Fail closed.  When a commit fails the rows stay queued and are retried;
 *   the status says degraded; parked replies and any reply that would
 *   depend on an unwritten row become denies (`ledger_unavailable`); a full
 *   queue refuses checks the same way.
 * - State survives restart: open suspensions live in breaker_state and are
 *   restored into a new engine; ends that passed while down fire at their
 *   own time.
 *
 * Threads: nng's task threads run the request handlers; one writer thread
 * owns the ledger; one timer thread moves the engine's clock when no
 * request does, so timed trips and resumes are logged and published on
 * time.  Lock order: mu (engine) before qmu (queue), never the reverse.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "breaker_decimal.h"
#include "config_file.h"
#include "daemon.h"
#include "daemon_impl.h"
#include "ipc_json.h"
#include "ipc_server.h"
#include "ipc_wire.h"
#include "ledger.h"

/* Rows whose chain the daemon checks on start. */
#define VERIFY_TAIL_ROWS 1000

static void
on_admin(void *arg, struct ipc_call *call, const char *buf, size_t len)
{
	struct daemon *d = arg;
	struct ipc_request r;
	char msg[256];
	enum fxb_err e = ipc_request_parse(buf, len, IPC_SOCKET_ADMIN, &r, msg,
	                                   sizeof(msg));
	if (e != FXB_OK) {
		daemon_reply_error(call, e, msg, r.ref);
	} else if (r.op == IPC_OP_STATUS) {
		char *s = status_reply(d, r.ref);
		daemon_send_reply(call, s);
		free(s);
		/* A status of 100,000 products builds about 300 MB of JSON
		 * objects; give the freed pages back rather than keep the
		 * peak resident for the daemon's life (glibc). */
		malloc_trim(0);
	} else if (r.op == IPC_OP_COMMAND) {
		commands_handle(d, call, &r);
	} else {
		status_ok_reply(d, call, r.ref, true);
	}
	ipc_request_free(&r);
}

/* ---- start, restore, reload, stop ---- */

/* The config's scope of rule ri: its pair or product, and which. */
static const char *
rule_scope(struct daemon *d, int32_t ri, bool *on_pair)
{
	const struct breaker_rule_conf *c = &d->cfg->rules[ri];
	*on_pair = c->on_pair;
	return c->on_pair ? d->cfg->pairs[c->owner].name
	                  : d->cfg->products[c->owner].id;
}

/* The last service_stop row: its seq and detail (strdup). */
struct last_stop {
	int64_t seq;
	char *detail;
};

static int
last_stop_row(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct last_stop *ls = arg;
	(void)logged_at;
	free(ls->detail);
	ls->seq = row->seq;
	ls->detail = strdup(row->detail);
	return 0;
}

/*
 * carried_load reads what the last runs left of each open suspension's
 * denied count: a clean stop wrote them in its service_stop row.  If that
 * row is the log's last, the counts are whole; if not, a run crashed
 * since and its denials are lost: the counts of the latest clean stop
 * (or 0) are only lower bounds (denied_lost).  Before restore.
 */
static void
carried_load(struct daemon *d)
{
	struct ledger_filter f;
	struct last_stop ls = {0, NULL};
	int64_t last = events_last_seq(d);
	memset(&f, 0, sizeof(f));
	f.event = "service_stop";
	f.newest_first = true;
	f.limit = 1;
	if (last == 0)
		return; /* a new log: nothing to carry */
	ledger_query(d->ledger, &f, last_stop_row, &ls);
	json_error_t jerr;
	json_t *o = ls.detail != NULL ? json_loads(ls.detail, 0, &jerr) : NULL;
	json_t *a = json_object_get(o, "denied");
	free(ls.detail);
	/* No clean stop last, or one from before counts were carried. */
	d->denied_lost = ls.seq != last || !json_is_array(a);
	size_t n = json_array_size(a);
	d->carried = n > 0 ? calloc(n, sizeof(*d->carried)) : NULL;
	for (size_t i = 0; d->carried != NULL && i < n; i++) {
		json_t *e = json_array_get(a, i);
		d->carried[i].suspension =
		    json_integer_value(json_object_get(e, "suspension"));
		d->carried[i].denied =
		    json_integer_value(json_object_get(e, "denied"));
		d->carried[i].partial =
		    json_is_true(json_object_get(e, "denied_partial"));
	}
	/* Out of memory: the counts are unknown, so say partial. */
	if (n > 0 && d->carried == NULL)
		d->denied_lost = true;
	else
		d->ncarried = n;
	json_decref(o);
}

/* Seeds a restored notice's denied count with what the last run left. */
static void
carry_denied(struct daemon *d, struct onotice *n)
{
	n->denied_partial = d->denied_lost;
	for (size_t i = 0; i < d->ncarried; i++)
		if (d->carried[i].suspension == n->suspension) {
			n->denied = d->carried[i].denied;
			n->denied_partial |= d->carried[i].partial;
		}
}

static int
restore_one(void *arg, const struct ledger_state *st)
{
	struct daemon *d = arg;
	enum fxb_err e = FXB_ERR_UNKNOWN_RULE;
	enum breaker_kind kind = 0;
	bool st_pair = strcmp(st->scope_type, "pair") == 0;
	const char *why = "not in the config";

	if (st->rule != NULL) {
		int32_t ri =
		    breaker_rule_find(d->engine, st->rule, strlen(st->rule));
		bool on_pair = false;
		const char *scope =
		    ri >= 0 ? rule_scope(d, ri, &on_pair) : NULL;
		/* The same id on another scope, of another kind or mode is
		 * another rule: its old suspension ends, it starts fresh. */
		if (ri >= 0 &&
		    (strcmp(scope, st->scope) != 0 || on_pair != st_pair ||
		     strcmp(breaker_kind_name(d->cfg->rules[ri].kind),
		            st->kind) != 0 ||
		     d->cfg->rules[ri].shadow != st->shadow)) {
			why = "its rule changed scope, kind or mode";
		} else if (ri >= 0) {
			kind = d->cfg->rules[ri].kind;
			e = breaker_restore_trip(d->engine, ri, st->since,
			                         st->until, st->suspension,
			                         st->dir, st->latched);
		}
	} else {
		int32_t idx = st_pair
		                  ? breaker_pair_find(d->engine, st->scope,
		                                      strlen(st->scope))
		                  : breaker_product_find(d->engine, st->scope,
		                                         strlen(st->scope));
		if (idx >= 0)
			e = breaker_restore_force(d->engine, st_pair, idx,
			                          st->since, st->until,
			                          st->suspension, st->reason);
		else
			e = FXB_ERR_UNKNOWN_PRODUCT;
	}
	if (e == FXB_ERR_NOMEM) {
		/* Never end a live suspension for want of memory. */
		log_warn("out of memory restoring suspension %lld",
		         (long long)st->suspension);
		d->restore_failed = true;
		return 1;
	}
	if (e != FXB_OK) {
		events_retire(d, st->rule, st->scope, st_pair, st->suspension,
		              why);
		return 0;
	}
	struct onotice *n =
	    st->shadow
	        ? NULL
	        : onotice_open(d, st->suspension, st->rule, kind, st->scope,
	                       st->since, st->until, st->notice_id);
	if (n != NULL)
		carry_denied(d, n);
	log_info("restored suspension %lld: %s %s%s",
	         (long long)st->suspension,
	         st->rule != NULL ? st->rule : "forced", st->scope,
	         st->until != FXB_NEVER ? " (timed)" : "");
	return 0;
}

struct resume_arg {
	struct daemon *d;
	int32_t rule;
};

static int
restore_resume(void *arg, int64_t t)
{
	struct resume_arg *ra = arg;
	breaker_restore_resume(ra->d->engine, ra->rule, t);
	return 0;
}

static enum fxb_err
restore(struct daemon *d)
{
	carried_load(d);
	enum fxb_err e = ledger_states(d->ledger, restore_one, d);
	free(d->carried);
	d->carried = NULL;
	d->ncarried = 0;
	if (e != FXB_OK || d->restore_failed)
		return e != FXB_OK ? e : FXB_ERR_NOMEM;
	fxb_time day_ago = breaker_now(d->engine) - 86400000;
	for (size_t i = 0; i < d->cfg->nrules; i++) {
		struct resume_arg ra = {d, (int32_t)i};
		if (d->cfg->rules[i].max_auto_resumes > 0 &&
		    (e = ledger_resumes(d->ledger, d->cfg->rules[i].id,
		                        day_ago, restore_resume, &ra)) !=
		        FXB_OK)
			return e;
	}
	return FXB_OK;
}

/* mkdir -p with mode 0750 for the directories fxbreakerd owns. */
static int
make_dirs(const char *path)
{
	char buf[BREAKER_TEXT_MAX + 1];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* The directory of an ipc:// socket file. */
static int
make_socket_dir(const char *url)
{
	if (strncmp(url, "ipc://", 6) != 0)
		return 0;
	char dir[BREAKER_TEXT_MAX + 1];
	snprintf(dir, sizeof(dir), "%s", url + 6);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return make_dirs(dir);
}

static char *
service_detail(struct daemon *d, const char *what)
{
	json_t *o = json_object();
	json_object_set_new(o, "config", json_string(d->config_path));
	json_object_set_new(o, "config_hash", json_string(d->config_hash));
	json_object_set_new(o, "service_id",
	                    json_string(d->cfg->service.service_id));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "what", json_string(what));
	json_object_set_new(o, "thresholds_changed",
	                    json_integer((json_int_t)d->nchanges));
	/* A clean stop carries each open suspension's denied count to the
	 * next start (carried_load): the report's count survives it. */
	if (strcmp(what, "stop") == 0) {
		json_t *a = json_array();
		for (size_t i = 0; i < d->nnotices; i++) {
			const struct onotice *n = &d->notices[i];
			json_t *e = json_pack("{sIsI}", "suspension",
			                      (json_int_t)n->suspension,
			                      "denied", (json_int_t)n->denied);
			if (n->denied_partial)
				json_object_set_new(e, "denied_partial",
				                    json_true());
			json_array_append_new(a, e);
		}
		json_object_set_new(o, "denied", a);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/*
 * The log failed its check at start: someone edited, deleted or inserted
 * rows.  Suspend every product (fail closed) and say so in the log itself;
 * reopening needs operators (the signed reset of issue 4's commands).
 */
static void
degraded_start(struct daemon *d, const char *why)
{
	char detail[1400], reason[BREAKER_REASON_MAX + 1];
	json_t *o = json_object();
	json_object_set_new(o, "reason", json_string(why));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(detail, sizeof(detail), "%s", s != NULL ? s : "{}");
	free(s);
	log_warn("the suspension log failed its check (%s): every product is "
	         "suspended until operators reset it",
	         why);
	events_service(d, "degraded_start", detail);
	snprintf(reason, sizeof(reason), "log check failed at start: %.200s",
	         why);
	for (size_t i = 0; i < breaker_product_count(d->engine); i++)
		breaker_force_suspend(d->engine, breaker_now(d->engine), false,
		                      (int32_t)i, FXB_NEVER, reason);
}

/* How many untrusted notes the start's check goes past. */
#define NOTES_UNTRUSTED_MAX 16

/*
 * At start, the newest exported checkpoint note against the log: the
 * note names a row the log acknowledged.  If the log lacks it (a -wal
 * file removed before a crash, an old copy restored), rows were lost
 * that no chain check can see: the caller starts degraded.  Notes beyond
 * the log's end are renamed lost-*, so that rows written at the reused
 * seqs cannot overwrite them: `fxbreakerctl verify --checkpoint-dir`
 * keeps reporting the loss.  A note that is not the log key's is
 * ignored (it proves nothing), with a warning.  false and why if rows
 * are missing.
 */
static bool
notes_check(struct daemon *d, char *why, size_t cap)
{
	char note[BREAKER_TEXT_MAX + 64], msg[1024];
	int64_t size, below = INT64_MAX, last = ledger_last_seq(d->ledger);
	int rc = -1;
	/* A planted or damaged note must not hide the real newest one: go
	 * down past a few that are not the log key's. */
	for (int tries = 0; rc < 0 && tries < NOTES_UNTRUSTED_MAX; tries++) {
		if (!ledger_note_newest(d->checkpoint_dir, below, note,
		                        sizeof(note), &size))
			return true;
		rc = ledger_note_compare(d->ledger, note, msg, sizeof(msg));
		if (rc < 0)
			log_warn("checkpoint note ignored: %s", msg);
		below = size;
	}
	if (rc <= 0)
		return true;
	/* The note itself goes too when it names a seq the log has with
	 * another hash. */
	long n = ledger_notes_set_aside(
	    d->checkpoint_dir, size <= last ? size - 1 : last, clock_now_ms());
	if (n < 0)
		log_warn("%s: cannot set the notes for lost rows aside: %s",
		         d->checkpoint_dir, strerror(errno));
	snprintf(why, cap, "%s (%ld notes renamed lost-*)", msg, n);
	log_warn("acknowledged rows are missing from the log: %s; the next "
	         "rows take their sequence numbers",
	         why);
	return false;
}

/* The changes by command in force, as overrides for the config parser. */
static size_t
overrides_of(const struct daemon *d, struct breaker_override *ov)
{
	for (size_t i = 0; i < d->nchanges; i++)
		ov[i] = (struct breaker_override){
		    d->changes[i].rule, d->changes[i].key, d->changes[i].value,
		    d->changes[i].notice};
	return d->nchanges;
}

/* A threshold_change or threshold_dropped row; returns its seq. */
static int64_t
log_threshold(struct daemon *d, const char *event, const struct cmd_change *t,
              const struct threshold_change *tc, int64_t by, const char *who,
              const char *why)
{
	json_t *o = json_object();
	json_object_set_new(o, t->notice ? "notice" : "rule",
	                    json_string(t->rule));
	json_object_set_new(o, "key", json_string(t->key));
	json_object_set_new(o, "value", json_string(t->value));
	if (tc != NULL) {
		json_object_set_new(o, "from", json_string(tc->from));
		json_object_set_new(o, "to", json_string(tc->to));
		json_object_set_new(o, "loosens",
		                    json_boolean(tc->to_cmp > tc->from_cmp));
	}
	json_object_set_new(o, "config_hash", json_string(d->config_hash));
	if (who != NULL)
		json_object_set_new(o, "by", json_string(who));
	if (by > 0)
		json_object_set_new(o, "request", json_integer(by));
	if (why != NULL)
		json_object_set_new(o, "why", json_string(why));
	/* A change that puts the file's value back ends the change. */
	if (tc != NULL && why != NULL)
		json_object_set_new(o, "ends", json_true());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	int64_t seq = events_service_rule(d, event, t->notice ? NULL : t->rule,
	                                  s != NULL ? s : "{}");
	free(s);
	return seq;
}

/* The changes by command the log holds in force (changed, not dropped
 * since), each with the hash of the file it was made over. */
struct change_log {
	struct cmd_change t[CHANGES_MAX];
	char hash[CHANGES_MAX][65];
	size_t n;
};

static int
change_log_row(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct change_log *tl = arg;
	bool notice = strncmp(row->event, "notice_", 7) == 0;
	bool change = strcmp(row->event, "threshold_change") == 0 ||
	              strcmp(row->event, "notice_change") == 0;
	json_error_t jerr;
	(void)logged_at;
	if (!change && strcmp(row->event, "threshold_dropped") != 0 &&
	    strcmp(row->event, "notice_dropped") != 0)
		return 0;
	json_t *o = json_loads(row->detail, 0, &jerr);
	const char *rule =
	    json_string_value(json_object_get(o, notice ? "notice" : "rule"));
	const char *key = json_string_value(json_object_get(o, "key"));
	const char *value = json_string_value(json_object_get(o, "value"));
	const char *hash =
	    json_string_value(json_object_get(o, "config_hash"));
	/* A change back to the file's value ends the change, like a drop. */
	if (json_is_true(json_object_get(o, "ends")))
		change = false;
	if (rule != NULL && key != NULL && value != NULL && hash != NULL) {
		size_t i = 0;
		while (i < tl->n && (tl->t[i].notice != notice ||
		                     strcmp(tl->t[i].rule, rule) != 0 ||
		                     strcmp(tl->t[i].key, key) != 0))
			i++;
		if (!change && i < tl->n) {
			tl->n--;
			tl->t[i] = tl->t[tl->n];
			memcpy(tl->hash[i], tl->hash[tl->n], 65);
		} else if (change && i < CHANGES_MAX) {
			snprintf(tl->t[i].rule, sizeof(tl->t[i].rule), "%s",
			         rule);
			snprintf(tl->t[i].key, sizeof(tl->t[i].key), "%s",
			         key);
			snprintf(tl->t[i].value, sizeof(tl->t[i].value), "%s",
			         value);
			tl->t[i].notice = notice;
			snprintf(tl->hash[i], 65, "%s", hash);
			if (i == tl->n)
				tl->n++;
		}
	}
	json_decref(o);
	return 0;
}

/*
 * At start, before the engine exists: lays the changes by command the log
 * holds in force over the config, if they were made over this very file.
 * Leaves in tl those that were not (the file changed while the service
 * was down), to be logged as dropped once rows can be written.  false if
 * the log or the file cannot be read: starting on the file's values would
 * silently undo a tightening.
 */
static bool
restore_changes(struct daemon *d, struct change_log *tl)
{
	struct breaker_override ov[CHANGES_MAX];
	struct breaker_config *cfg = NULL;
	struct ledger_filter f;
	char hash[65], err[512];
	size_t stale = 0;

	memset(&f, 0, sizeof(f));
	f.kind = "service";
	if (ledger_query(d->ledger, &f, change_log_row, tl) != FXB_OK) {
		log_warn("cannot read the changes by command from the log");
		return false;
	}
	for (size_t i = 0; i < tl->n; i++)
		if (strcmp(tl->hash[i], d->config_hash) == 0)
			d->changes[d->nchanges++] = tl->t[i];
		else
			tl->t[stale++] = tl->t[i];
	tl->n = stale;
	if (d->nchanges == 0)
		return true;
	err[0] = '\0';
	if (config_file_load_over(d->config_path, ov, overrides_of(d, ov),
	                          &cfg, hash, err, sizeof(err)) != FXB_OK ||
	    strcmp(hash, d->config_hash) != 0) {
		log_warn(
		    "cannot lay the logged changes by command over %s%s%s",
		    d->config_path, err[0] != '\0' ? ": " : "", err);
		breaker_config_free(cfg);
		return false;
	}
	breaker_config_free(d->cfg);
	d->cfg = cfg;
	log_info("%zu changes by command from the log are in force "
	         "(thresholds, notices)",
	         d->nchanges);
	return true;
}

struct daemon *
daemon_start(const struct daemon_opts *opts)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct change_log *tl = NULL;
	char err[512], path[BREAKER_TEXT_MAX + 32];
	enum fxb_err e;

	if (d == NULL)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->qmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->qcv, &ca);
	pthread_cond_init(&d->tcv, &ca);
	pthread_condattr_destroy(&ca);
	parkq_init(&d->parked);
	/* What a check parked on a reopening is decided again by. */
	d->check_redo = check_on_request;
	d->lock_fd = -1;
	d->config_path = strdup(opts->config_path);
	e = config_file_load(opts->config_path, &d->cfg, d->config_hash, err,
	                     sizeof(err));
	if (e != FXB_OK) {
		log_warn("%s", err);
		goto fail;
	}
	const struct breaker_service_conf *sv = &d->cfg->service;
	if (make_dirs(sv->data_dir) != 0) {
		log_warn("%s: %s", sv->data_dir, strerror(errno));
		goto fail;
	}
	/* One daemon per data_dir, decided before anything is opened or
	 * listened on: a second daemon must not touch the ledger, the key
	 * or the first one's sockets. */
	if ((d->lock_fd = daemon_lock_take(sv->data_dir, path, sizeof(path),
	                                   err, sizeof(err))) < 0) {
		log_warn("%s", err);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/fxbreaker.db", sv->data_dir);
	if (ledger_open(path, false, &d->ledger, err, sizeof(err)) != FXB_OK) {
		log_warn("ledger %s: %s", path, err);
		goto fail;
	}
	if (ledger_quick_checked(d->ledger))
		log_info("ledger %s: quick_check ok (the last run did not "
		         "stop cleanly)",
		         path);
	/* The log key signs checkpoints; made on first start. */
	unsigned char pk[32], sk[64];
	if (ledger_key_load(sv->data_dir, true, pk, sk, err, sizeof(err)) !=
	    FXB_OK) {
		log_warn("%s", err);
		goto fail;
	}
	ledger_set_key(d->ledger, pk, sk);
	if (sv->checkpoint_dir[0] != '\0')
		snprintf(d->checkpoint_dir, sizeof(d->checkpoint_dir), "%s",
		         sv->checkpoint_dir);
	else if (snprintf(d->checkpoint_dir, sizeof(d->checkpoint_dir),
	                  "%.1000s/checkpoints", sv->data_dir) < 0)
		goto fail;
	if (make_dirs(d->checkpoint_dir) != 0) {
		log_warn("%s: %s", d->checkpoint_dir, strerror(errno));
		goto fail;
	}
	bool chain_ok = ledger_verify_tail(d->ledger, pk, VERIFY_TAIL_ROWS,
	                                   err, sizeof(err));
	/* The ledger keeps its copy; wipe this one. */
	memset(sk, 0, sizeof(sk));
	char lost[1200];
	bool notes_ok = notes_check(d, lost, sizeof(lost));
	events_start(d, ledger_last_seq(d->ledger));
	atomic_store(&d->committed, events_last_seq(d));
	if ((tl = calloc(1, sizeof(*tl))) == NULL || !restore_changes(d, tl))
		goto fail;
	sv = &d->cfg->service; /* the config may be a new one */
	/* The clock never starts before the log's latest row. */
	bool behind =
	    timebase_start(&d->tb, clock_now_ms(), ledger_last_time(d->ledger),
	                   sv->clock_step_tolerance);
	if (breaker_new(d->cfg, d->tb.anchor, events_sink, d, &d->engine) !=
	        FXB_OK ||
	    !gate_build_engine(&d->gate, d->engine, events_last_seq(d))) {
		log_warn("out of memory");
		goto fail;
	}
	d->cmds = commands_new();
	if (d->cmds == NULL ||
	    !commands_load_operators(d, sv->operators_file)) {
		log_warn("cannot load the operators (%s)",
		         sv->operators_file[0] != '\0' ? sv->operators_file
		                                       : "none configured");
		goto fail;
	}
	commands_restore(d);
	if (restore(d) != FXB_OK) {
		log_warn("ledger %s: cannot restore the open suspensions",
		         path);
		goto fail;
	}
	/* Whatever restore queued (ends of retired suspensions) must be
	 * written before any product reopens. */
	gate_all(&d->gate, events_last_seq(d));
	if (behind)
		clock_log_behind(d);
	char *detail = service_detail(d, "start");
	events_service(d, "service_start", detail != NULL ? detail : "{}");
	free(detail);
	for (size_t i = 0; i < tl->n; i++)
		log_threshold(d,
		              tl->t[i].notice ? "notice_dropped"
		                              : "threshold_dropped",
		              &tl->t[i], NULL, 0, NULL,
		              "the config file changed while the service was "
		              "down");
	free(tl);
	tl = NULL;
	if (!chain_ok)
		degraded_start(d, err);
	else if (!notes_ok)
		degraded_start(d, lost);
	if (make_socket_dir(sv->check_url) != 0 ||
	    make_socket_dir(sv->tick_url) != 0 ||
	    make_socket_dir(sv->admin_url) != 0 ||
	    make_socket_dir(sv->events_url) != 0) {
		log_warn("socket directory: %s", strerror(errno));
		goto fail;
	}
	struct ipc_server_conf ic = {
	    .check_url = sv->check_url,
	    .admin_url = sv->admin_url,
	    .tick_url = sv->tick_url,
	    .events_url = sv->events_url,
	    .check_contexts = opts->check_contexts,
	    .on_check = check_on_request,
	    .on_admin = on_admin,
	    .on_tick = check_on_tick,
	    .arg = d,
	};
	/* Sockets before threads: the writer publishes every row it
	 * commits, and a restored suspension may end (and be written) at
	 * once.  A request that arrives first just waits for the writer. */
	if (ipc_server_open(&ic, &d->ipc, err, sizeof(err)) != FXB_OK) {
		log_warn("%s", err);
		goto fail;
	}
	if (!wal_start(d)) {
		log_warn("cannot start the writer thread");
		goto fail; /* nothing written or acknowledged yet */
	}
	if (!clock_start(d)) {
		log_warn("cannot start the timer thread");
		daemon_stop(d);
		return NULL;
	}
	/* Not fatal: it only tells (status shows the count either way). */
	if ((d->fdw = fdwatch_start()) == NULL)
		log_warn("cannot start the file descriptor watch");
	/* ipc_probe speaks plain SP: a tls+tcp:// check socket is not
	 * watched (status says "unwatched"). */
	bool probeable = strncmp(sv->check_url, "ipc://", 6) == 0 ||
	                 strncmp(sv->check_url, "tcp://", 6) == 0;
	if (sv->watchdog_interval > 0 && !probeable)
		log_info("watchdog: %s is not watched (only ipc:// and "
		         "tcp:// are)",
		         sv->check_url);
	if (sv->watchdog_interval > 0 && probeable) {
		struct watchdog_conf wc = {
		    .url = sv->check_url,
		    .service_id = sv->service_id,
		    .interval_ms = sv->watchdog_interval,
		    /* A healthy check answers in well under 1 ms; 1 s
		     * leaves room for a loaded machine, not for a core
		     * banking client's patience. */
		    .timeout_ms = 1000,
		    .on_change = events_watchdog,
		    .arg = d,
		};
		if ((d->wd = watchdog_start(&wc)) == NULL)
			log_warn("cannot start the watchdog: the check socket "
			         "is not watched");
	}
	log_info("serving %s (config %s, hash %.16s, ledger %s, next seq "
	         "%lld)",
	         sv->service_id, opts->config_path, d->config_hash, path,
	         (long long)events_last_seq(d) + 1);
	return d;
fail:
	/* No thread started yet: close and free. */
	free(tl);
	ipc_server_close(d->ipc);
	wal_free_queue(d);
	onotice_free_all(d);
	breaker_free(d->engine);
	breaker_config_free(d->cfg);
	ledger_close(d->ledger);
	gate_free(&d->gate);
	free(d->config_path);
	commands_free(d->cmds);
	daemon_lock_release(d->lock_fd);
	free(d);
	return NULL;
}

static void
orphan_row(void *arg, const char *rule, const char *scope, bool on_pair,
           int64_t susp)
{
	events_retire(
	    arg, rule, scope, on_pair, susp,
	    "its rule or scope left the config, or changed scope, kind "
	    "or mode");
}

/* Fields of [service] a reload cannot change: the sockets are open and
 * the ledger is in use. */
static bool
same_service(const struct breaker_service_conf *a,
             const struct breaker_service_conf *b)
{
	return strcmp(a->data_dir, b->data_dir) == 0 &&
	       strcmp(a->check_url, b->check_url) == 0 &&
	       strcmp(a->tick_url, b->tick_url) == 0 &&
	       strcmp(a->admin_url, b->admin_url) == 0 &&
	       strcmp(a->events_url, b->events_url) == 0 &&
	       strcmp(a->service_id, b->service_id) == 0 &&
	       strcmp(a->checkpoint_dir, b->checkpoint_dir) == 0 &&
	       a->watchdog_interval == b->watchdog_interval;
}

/*
 * swap_config runs cfg (whose file has this hash) in place of the running
 * config: a new engine takes over every rule's state.  Every product then
 * waits for the next row, which the caller logs now (the reload or the
 * threshold change).  mu held.  Frees cfg and returns false on out of
 * memory, with nothing changed.
 */
static bool
swap_config(struct daemon *d, struct breaker_config *cfg, const char *hash)
{
	struct breaker *engine = NULL;
	struct gate gate;
	if (breaker_new(cfg, breaker_now(d->engine), events_sink, d,
	                &engine) != FXB_OK ||
	    !gate_build_engine(&gate, engine, 0)) {
		breaker_free(engine);
		breaker_config_free(cfg);
		return false;
	}
	struct breaker *old = d->engine;
	struct breaker_config *oldcfg = d->cfg;
	/* Orphans are retired against the old engine and its index. */
	breaker_transfer(old, engine, orphan_row, d);
	d->engine = engine;
	d->cfg = cfg;
	/* Every product waits for what is queued now (retired ends, the
	 * caller's row): which reopening each waited for is not carried. */
	gate_free(&d->gate);
	d->gate = gate;
	events_gate_all_next(d);
	memcpy(d->config_hash, hash, sizeof(d->config_hash));
	breaker_free(old);
	breaker_config_free(oldcfg);
	return true;
}

static const struct breaker_rule_conf *
rule_conf(const struct breaker_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nrules; i++)
		if (strcmp(cfg->rules[i].id, id) == 0)
			return &cfg->rules[i];
	return NULL;
}

/*
 * The running config with ch laid over it as well (in place of an earlier
 * change of the same key): *out, and *slot, ch's place in d->changes.  The
 * file must be the one running: laid over a file nobody has reloaded, a
 * change would also put that file's unreviewed edits in force.
 */
static enum fxb_err
config_with(struct daemon *d, const struct breaker_override *ch,
            struct breaker_config **out, char *hash, size_t *slot, char *msg,
            size_t cap)
{
	struct breaker_override ov[CHANGES_MAX];
	char err[512];
	size_t n = overrides_of(d, ov), i = 0;

	/* A change needs its row: none while the log cannot be written. */
	if (atomic_load(&d->degraded)) {
		snprintf(msg, cap,
		         "the suspension log cannot be written: no "
		         "changes by command");
		return FXB_ERR_LEDGER;
	}
	if (ch->value[0] == '\0' ||
	    strlen(ch->value) >= sizeof(d->changes[0].value)) {
		snprintf(msg, cap, "value: 1 to %zu characters",
		         sizeof(d->changes[0].value) - 1);
		return FXB_ERR_RANGE;
	}
	while (i < n && (ov[i].notice != ch->notice ||
	                 strcmp(ov[i].rule, ch->rule) != 0 ||
	                 strcmp(ov[i].key, ch->key) != 0))
		i++;
	if (i == n && n == CHANGES_MAX) {
		snprintf(msg, cap,
		         "%d changes by command are in force: put them in "
		         "the config file and reload",
		         CHANGES_MAX);
		return FXB_ERR_LIMIT;
	}
	ov[i] = *ch;
	enum fxb_err e =
	    config_file_load_over(d->config_path, ov, i == n ? n + 1 : n, out,
	                          hash, err, sizeof(err));
	if (e != FXB_OK) {
		/* The file is fine: it is the change that is not. */
		snprintf(msg, cap, "with this change, %s", err);
		return e;
	}
	if (strcmp(hash, d->config_hash) != 0) {
		breaker_config_free(*out);
		*out = NULL;
		snprintf(msg, cap,
		         "the config file changed since it was loaded: "
		         "reload it first, then ask again");
		return FXB_ERR_CONFIG;
	}
	*slot = i;
	return FXB_OK;
}

/*
 * Puts cfg (from config_with) in force and keeps ch at slot in d->changes, or,
 * when ch puts back the file's own value (ends), forgets it: a change
 * that changes nothing would otherwise stand.  Frees cfg.  t gets ch.
 */
static enum fxb_err
config_commit(struct daemon *d, struct breaker_config *cfg, const char *hash,
              const struct breaker_override *ch, size_t slot, bool ends,
              struct cmd_change *t, char *msg, size_t cap)
{
	if (!swap_config(d, cfg, hash)) {
		snprintf(msg, cap, "out of memory");
		return FXB_ERR_NOMEM;
	}
	snprintf(t->rule, sizeof(t->rule), "%s", ch->rule);
	snprintf(t->key, sizeof(t->key), "%s", ch->key);
	snprintf(t->value, sizeof(t->value), "%s", ch->value);
	t->notice = ch->notice;
	if (ends && slot < d->nchanges)
		d->changes[slot] = d->changes[--d->nchanges];
	else if (!ends) {
		d->changes[slot] = *t;
		if (slot == d->nchanges)
			d->nchanges++;
	}
	daemon_timer_poke(d);
	return FXB_OK;
}

/* The config file as written, without the changes by command. */
static struct breaker_config *
file_config(struct daemon *d)
{
	struct breaker_config *file = NULL;
	char err[512];
	if (config_file_load(d->config_path, &file, NULL, err, sizeof(err)) !=
	    FXB_OK)
		return NULL;
	return file;
}

enum fxb_err
daemon_threshold(struct daemon *d, const char *rule, const char *key,
                 const char *value, bool apply, int64_t by, const char *who,
                 struct threshold_change *tc, char *msg, size_t cap)
{
	const struct breaker_override ch = {rule, key, value, false};
	const struct breaker_rule_conf *rc = rule_conf(d->cfg, rule);
	struct breaker_config *cfg = NULL;
	char hash[65];
	size_t slot;

	if (rc == NULL) {
		snprintf(msg, cap, "no such rule \"%.64s\"", rule);
		return FXB_ERR_UNKNOWN_RULE;
	}
	if (strlen(key) >= sizeof(d->changes[0].key) ||
	    !breaker_threshold(d->cfg, rc, key, &tc->from_cmp, tc->from)) {
		snprintf(msg, cap,
		         "\"%.23s\" is not a trip level a command may change "
		         "on a %s rule: change it in the file and reload "
		         "(docs/PROTOCOL.md, \"threshold\")",
		         key, breaker_kind_name(rc->kind));
		return FXB_ERR_RANGE;
	}
	enum fxb_err e = config_with(d, &ch, &cfg, hash, &slot, msg, cap);
	if (e != FXB_OK)
		return e;
	breaker_threshold(cfg, rule_conf(cfg, rule), key, &tc->to_cmp, tc->to);
	if (!apply) {
		breaker_config_free(cfg);
		return FXB_OK;
	}
	struct breaker_config *file = file_config(d);
	char file_value[BREAKER_DECIMAL_BUFSZ] = "";
	int64_t file_cmp;
	if (file != NULL && rule_conf(file, rule) != NULL)
		breaker_threshold(file, rule_conf(file, rule), key, &file_cmp,
		                  file_value);
	breaker_config_free(file);
	bool ends = strcmp(file_value, tc->to) == 0;
	struct cmd_change t;
	e = config_commit(d, cfg, hash, &ch, slot, ends, &t, msg, cap);
	if (e == FXB_OK)
		tc->seq = log_threshold(
		    d, "threshold_change", &t, tc, by, who,
		    ends ? "back to the file's value: the change ends" : NULL);
	return e;
}

enum fxb_err
daemon_notice_edit(struct daemon *d, const char *id, const char *lang,
                   const char *text, const char *who, int64_t *seq, char *msg,
                   size_t cap)
{
	const struct breaker_override ch = {id, lang, text, true};
	const struct breaker_notice_conf *nc = onotice_conf(d->cfg, id);
	struct breaker_config *cfg = NULL;
	char hash[65];
	size_t slot;

	if (nc == NULL) {
		snprintf(msg, cap, "no such notice \"%.64s\"", id);
		return FXB_ERR_UNKNOWN_NOTICE;
	}
	bool ko = strcmp(lang, "ko") == 0;
	if (!ko && strcmp(lang, "en") != 0) {
		snprintf(msg, cap, "lang: ko or en");
		return FXB_ERR_RANGE;
	}
	char *from = strdup(ko ? nc->ko : nc->en);
	if (from == NULL)
		return FXB_ERR_NOMEM;
	enum fxb_err e = config_with(d, &ch, &cfg, hash, &slot, msg, cap);
	if (e != FXB_OK) {
		free(from);
		return e;
	}
	const struct breaker_notice_conf *nn = onotice_conf(cfg, id);
	const char *to = ko ? nn->ko : nn->en;
	if (strcmp(to, from) == 0) {
		breaker_config_free(cfg);
		free(from);
		snprintf(msg, cap, "no change: that is the %s text already",
		         lang);
		return FXB_ERR_RANGE;
	}
	char *to_copy = strdup(to);
	struct breaker_config *file = file_config(d);
	const struct breaker_notice_conf *fn =
	    file != NULL ? onotice_conf(file, id) : NULL;
	bool ends = fn != NULL && to_copy != NULL &&
	            strcmp(ko ? fn->ko : fn->en, to_copy) == 0;
	breaker_config_free(file);
	struct cmd_change t;
	if (to_copy == NULL ||
	    (e = config_commit(d, cfg, hash, &ch, slot, ends, &t, msg, cap)) !=
	        FXB_OK) {
		if (to_copy == NULL)
			breaker_config_free(cfg);
		free(from);
		free(to_copy);
		return to_copy == NULL ? FXB_ERR_NOMEM : e;
	}
	int64_t shown = onotice_refresh(d, id);
	json_t *o = json_object();
	json_object_set_new(o, "notice", json_string(id));
	json_object_set_new(o, "key", json_string(lang));
	json_object_set_new(o, "value", json_string(text));
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "to", json_string(to_copy));
	json_object_set_new(o, "open_suspensions", json_integer(shown));
	json_object_set_new(o, "config_hash", json_string(d->config_hash));
	json_object_set_new(o, "by", json_string(who));
	if (ends)
		json_object_set_new(o, "ends", json_true());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	*seq = events_service(d, "notice_change", s != NULL ? s : "{}");
	free(s);
	free(from);
	free(to_copy);
	return FXB_OK;
}

/* Logs each change by command in force as dropped, and forgets them. */
static void
drop_changes(struct daemon *d, const char *why)
{
	for (size_t i = 0; i < d->nchanges; i++) {
		log_threshold(d,
		              d->changes[i].notice ? "notice_dropped"
		                                   : "threshold_dropped",
		              &d->changes[i], NULL, 0, NULL, why);
		if (d->changes[i].notice)
			onotice_refresh(d, d->changes[i].rule);
	}
	d->nchanges = 0;
}

void
daemon_reload(struct daemon *d)
{
	struct breaker_config *cfg = NULL, *over = NULL;
	struct breaker_override ov[CHANGES_MAX];
	char err[512], hash[65], hash2[65];

	if (config_file_load(d->config_path, &cfg, hash, err, sizeof(err)) !=
	    FXB_OK) {
		log_warn("reload refused, keeping the running config: %s",
		         err);
		return;
	}
	pthread_mutex_lock(&d->mu);
	if (!same_service(&cfg->service, &d->cfg->service)) {
		pthread_mutex_unlock(&d->mu);
		breaker_config_free(cfg);
		log_warn("reload refused, keeping the running config: "
		         "[service] changed (addresses, data, service id): "
		         "restart to change it");
		return;
	}
	/* Threshold changes hold while the file is the one they were made
	 * over; once it changes, the file wins. */
	bool keep =
	    d->nchanges > 0 && strcmp(hash, d->config_hash) == 0 &&
	    config_file_load_over(d->config_path, ov, overrides_of(d, ov),
	                          &over, hash2, err, sizeof(err)) == FXB_OK &&
	    strcmp(hash2, hash) == 0;
	if (keep) {
		breaker_config_free(cfg);
		cfg = over;
	} else
		breaker_config_free(over);
	if (!swap_config(d, cfg, hash)) {
		pthread_mutex_unlock(&d->mu);
		log_warn("reload refused: out of memory");
		return;
	}
	if (!keep)
		drop_changes(d, "the config file changed");
	if (!commands_load_operators(d, d->cfg->service.operators_file))
		log_warn("reload: the operators file is bad: keeping the "
		         "operators as they were");
	char *detail = service_detail(d, "reload");
	events_service(d, "config_reload", detail != NULL ? detail : "{}");
	free(detail);
	daemon_timer_poke(d);
	size_t nchanges = d->nchanges;
	pthread_mutex_unlock(&d->mu);
	log_info("reloaded %s (hash %.16s, %zu changes by command in force)",
	         d->config_path, hash, nchanges);
}

void
daemon_stop(struct daemon *d)
{
	/* First: a probe answered "stopping" is no answer. */
	watchdog_stop(d->wd);
	atomic_store(&d->stopping, true);
	pthread_mutex_lock(&d->mu);
	char *detail = service_detail(d, "stop");
	events_service(d, "service_stop", detail != NULL ? detail : "{}");
	free(detail);
	clock_stop(d);
	pthread_mutex_unlock(&d->mu);
	clock_join(d);
	fdwatch_stop(d->fdw);

	wal_stop(d);
	ipc_server_close(d->ipc);
	ledger_close(d->ledger);
	/* Last: the next daemon may start once the log and sockets are
	 * closed. */
	daemon_lock_release(d->lock_fd);
	onotice_free_all(d);
	wal_free_queue(d);
	breaker_free(d->engine);
	breaker_config_free(d->cfg);
	gate_free(&d->gate);
	free(d->config_path);
	commands_free(d->cmds);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->qmu);
	pthread_cond_destroy(&d->qcv);
	pthread_cond_destroy(&d->tcv);
	log_info("stopped");
	free(d);
}
