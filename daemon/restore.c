/*
 * restore.c: start-up from the log.  The open suspensions in the log
 * come back into a new engine (their notices and denied counts too);
 * one whose rule or scope left the config is retired.  The planned
 * suspensions not yet started or cancelled come back too.  Before that, the
 * newest checkpoint note is held against the log: rows the log
 * acknowledged and no longer has mean a degraded start, every product
 * suspended until operators reset it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"

/* How many untrusted notes the start's check goes past. */
#define NOTES_UNTRUSTED_MAX 16

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

/*
 * A pending plan back into the engine, with the notice it will show.  A
 * plan that can never run is closed in the log (plan_lapsed, with why):
 * its whole window passed while the service was down, or its scope left
 * the config (as a reload would close it).
 */
static int
restore_plan(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct daemon *d = arg;
	json_error_t jerr;
	(void)logged_at;
	if (row->scope == NULL || row->scope_type == NULL ||
	    row->detail == NULL) {
		log_warn("plan %lld: its row names no scope: not restored",
		         (long long)row->seq);
		return 0;
	}
	bool on_pair = strcmp(row->scope_type, "pair") == 0;
	int32_t idx = on_pair ? breaker_pair_find(d->engine, row->scope,
	                                          strlen(row->scope))
	                      : breaker_product_find(d->engine, row->scope,
	                                             strlen(row->scope));
	json_t *o = json_loads(row->detail, 0, &jerr);
	json_t *from = json_object_get(o, "from");
	json_t *until = json_object_get(o, "until");
	const char *reason = json_string_value(json_object_get(o, "reason"));
	const char *notice = json_string_value(json_object_get(o, "notice"));
	enum fxb_err e = FXB_ERR_UNKNOWN_PRODUCT;
	fxb_time start = json_integer_value(from);
	if (!json_is_integer(from)) {
		log_warn("plan %lld: its row has no start: not restored",
		         (long long)row->seq);
		json_decref(o);
		return 0;
	}
	fxb_time end =
	    json_is_integer(until) ? json_integer_value(until) : FXB_NEVER;
	if (idx >= 0)
		e = breaker_restore_plan(d->engine, on_pair, idx, start, end,
		                         row->seq,
		                         reason != NULL ? reason : "");
	/* Its notice, while the config still has it (else the default). */
	if (e == FXB_OK && notice != NULL && daemon_notice_known(d, notice) &&
	    !events_plan_notice_set(d, row->seq, notice))
		e = FXB_ERR_NOMEM;
	json_decref(o);
	const char *why = NULL;
	switch (e) {
	case FXB_OK:
		log_info("restored plan %lld: %s %s from %lld",
		         (long long)row->seq, row->scope_type, row->scope,
		         (long long)start);
		return 0;
	case FXB_ERR_NOMEM:
		log_warn("out of memory restoring plan %lld",
		         (long long)row->seq);
		d->restore_failed = true;
		return 1;
	case FXB_ERR_RANGE:
		/* A cluster runs on while a node is down: its plans lapse
		 * only in a gap with no leader. */
		why = d->svc.cluster.node_id != 0
		          ? "its window passed while no node led"
		          : "its window passed while the service was down";
		break;
	case FXB_ERR_UNKNOWN_PRODUCT:
	case FXB_ERR_UNKNOWN_PAIR:
		why = on_pair ? "its pair is not in the config"
		              : "its product is not in the config";
		break;
	default: /* a second plan of one scope: a log from before 0005 */
		log_warn("plan %lld of %s %s not restored: %s",
		         (long long)row->seq, row->scope_type, row->scope,
		         fxb_strerror(e));
		return 0;
	}
	/* A follower writes no row (the leader does, from the same log):
	 * it only learns the plan is not its to run now. */
	if (atomic_load(&d->role) == ROLE_FOLLOWER) {
		log_info(
		    "plan %lld of %s %s not restored on this follower: %s",
		    (long long)row->seq, row->scope_type, row->scope, why);
		return 0;
	}
	log_warn("plan %lld of %s %s lapsed: %s", (long long)row->seq,
	         row->scope_type, row->scope, why);
	events_plan_lapsed(d, row->scope, on_pair, row->seq, start, end, why);
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

enum fxb_err
restore_suspensions(struct daemon *d)
{
	carried_load(d);
	enum fxb_err e = ledger_states(d->ledger, restore_one, d);
	free(d->carried);
	d->carried = NULL;
	d->ncarried = 0;
	if (e != FXB_OK || d->restore_failed)
		return e != FXB_OK ? e : FXB_ERR_NOMEM;
	/* Then the plans: one starting on a scope already forced replaces
	 * that force, as it would have running. */
	events_plan_notices_free(d);
	e = ledger_plans(d->ledger, restore_plan, d);
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

/* Every product suspended until operators reset it (the header says
 * when). */
void
restore_degraded(struct daemon *d, const char *why)
{
	char detail[1400], reason[BREAKER_REASON_MAX + 1];
	json_t *o = json_object();
	json_object_set_new(o, "reason", json_string(why));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(detail, sizeof(detail), "%s", s != NULL ? s : "{}");
	free(s);
	events_service(d, "degraded_start", detail);
	snprintf(reason, sizeof(reason), "log check failed at start: %.200s",
	         why);
	for (size_t i = 0; i < breaker_product_count(d->engine); i++)
		breaker_force_suspend(d->engine, breaker_now(d->engine), false,
		                      (int32_t)i, FXB_NEVER, reason);
}

/*
 * restore_notes_check holds, at start, the newest exported checkpoint note
 * against the log: the
 * note names a row the log acknowledged.  If the log lacks it (a -wal
 * file removed before a crash, an old copy restored), rows were lost
 * that no chain check can see: the caller starts degraded.  Notes beyond
 * the log's end are renamed lost-*, so that rows written at the reused
 * seqs cannot overwrite them: `fxbreakerctl verify --checkpoint-dir`
 * keeps reporting the loss.  A note that is not the log key's is
 * ignored (it proves nothing), with a warning.  false and why if rows
 * are missing.
 */
bool
restore_notes_check(struct daemon *d, char *why, size_t cap)
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
