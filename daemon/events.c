/*
 * events.c: what becomes a log row.  The engine's sink turns each event
 * into a queued row (with its customer notice, and the reopening gate of
 * an end); a suspension whose rule left the config is retired; the
 * service and operators log their own rows.  Every row takes its log
 * sequence number here, under mu, in the order the engine made it, and
 * every function that queues a row returns that seq: no other file
 * predicts one.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "ipc_json.h"

/* The next row's seq, taken (mu held): the one place next_seq moves. */
static int64_t
seq_take(struct daemon *d)
{
	return d->next_seq++;
}

void
events_start(struct daemon *d, int64_t last)
{
	d->next_seq = last + 1;
}

int64_t
events_last_seq(const struct daemon *d)
{
	return d->next_seq - 1;
}

void
events_gate_all_next(struct daemon *d)
{
	gate_all(&d->gate, d->next_seq);
}

static bool
opens_suspension(enum breaker_event_type t)
{
	return t == BREAKER_EV_TRIP || t == BREAKER_EV_STALE ||
	       t == BREAKER_EV_FORCE_SUSPEND;
}

static bool
ends_suspension(enum breaker_event_type t)
{
	return t == BREAKER_EV_RESUME || t == BREAKER_EV_RESET ||
	       t == BREAKER_EV_FRESH || t == BREAKER_EV_FORCE_LIFT;
}

/* A reopening is visible only once its row commits: every product the
 * ended suspension held waits for that row before an allow goes out. */
static void
gate_reopen(struct daemon *d, bool on_pair, const char *scope, int64_t seq)
{
	if (on_pair) {
		int32_t p = breaker_pair_find(d->engine, scope, strlen(scope));
		if (p < 0)
			return;
		gate_pair(&d->gate, p, seq);
	} else {
		int32_t p =
		    breaker_product_find(d->engine, scope, strlen(scope));
		if (p >= 0)
			gate_product(&d->gate, p, seq);
	}
}

/* Fills the row's notice for an opening or ending event (mu held). */
static void
row_notice(struct daemon *d, struct qrow *q, const struct breaker_event *ev)
{
	struct notice_vars v;
	if (ev->shadow)
		return; /* a shadow rule suspends nothing: no customer text */
	if (opens_suspension(ev->type)) {
		/* A plan's start shows the notice chosen when it was
		 * planned (kept by plan id: the timer has no operator). */
		const char *forced = ev->rule != NULL ? NULL
		                     : ev->plan > 0
		                         ? events_plan_notice(d, ev->plan)
		                         : d->force_notice;
		struct onotice *n =
		    onotice_open(d, q->row.seq, ev->rule, ev->kind, ev->scope,
		                 ev->t, ev->until, forced);
		if (n == NULL)
			return;
		onotice_vars(d, n, n->scope, &v);
		q->ko = notice_render(n->tpl_ko, &v, true);
		q->en = notice_render(n->tpl_en, &v, false);
		if (q->ko == NULL || q->en == NULL) {
			/* No text (out of memory): the suspension stands, and
			 * the row must not promise a notice it cannot hold. */
			free(q->ko);
			free(q->en);
			q->ko = q->en = NULL;
			return;
		}
		q->notice_id = strdup(n->id);
		q->row.notice_id = q->notice_id;
		q->notice_msg =
		    onotice_message(n, "open", ev->t, q->ko, q->en);
		return;
	}
	onotice_close(d, q, ev->suspension, ev->t);
}

/* ---- the notices of pending plans (mu held) ---- */

static struct plan_notice *
plan_notice_find(struct daemon *d, int64_t plan)
{
	for (size_t i = 0; i < d->nplan_notices; i++)
		if (d->plan_notices[i].plan == plan)
			return &d->plan_notices[i];
	return NULL;
}

bool
events_plan_notice_set(struct daemon *d, int64_t plan, const char *notice)
{
	struct plan_notice *p = plan_notice_find(d, plan);
	if (p == NULL && d->nplan_notices == d->capplan_notices) {
		size_t ncap =
		    d->capplan_notices != 0 ? d->capplan_notices * 2 : 8;
		struct plan_notice *v =
		    realloc(d->plan_notices, ncap * sizeof(*v));
		if (v == NULL)
			return false;
		d->plan_notices = v;
		d->capplan_notices = ncap;
	}
	if (p == NULL)
		p = &d->plan_notices[d->nplan_notices++];
	p->plan = plan;
	snprintf(p->notice, sizeof(p->notice), "%s", notice);
	return true;
}

const char *
events_plan_notice(struct daemon *d, int64_t plan)
{
	const struct plan_notice *p = plan_notice_find(d, plan);
	return p != NULL ? p->notice : NULL;
}

static void
plan_notice_drop(struct daemon *d, int64_t plan)
{
	struct plan_notice *p = plan_notice_find(d, plan);
	if (p != NULL)
		*p = d->plan_notices[--d->nplan_notices];
}

void
events_plan_notices_free(struct daemon *d)
{
	free(d->plan_notices);
	d->plan_notices = NULL;
	d->nplan_notices = d->capplan_notices = 0;
}

/* A calendar's `session` row: no rule and no product, the calendar its
 * scope (topic calendar/ID). */
static int64_t
session_row(struct daemon *d, const struct breaker_event *ev, int64_t seq)
{
	struct qrow q;
	memset(&q, 0, sizeof(q));
	q.denied = -1;
	json_t *j = ipc_event_json(ev, 0);
	q.scope = dup_or_null(ev->calendar);
	q.row.seq = seq;
	q.row.t = ev->t;
	q.row.event = breaker_event_name(ev->type);
	q.row.kind = "calendar";
	q.row.scope = q.scope;
	q.row.scope_type = "calendar";
	q.row.until = FXB_NEVER;
	q.detail = j != NULL
	               ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)
	               : NULL;
	json_decref(j);
	q.row.detail = q.detail;
	snprintf(q.topic, sizeof(q.topic), "calendar/%s",
	         ev->calendar != NULL ? ev->calendar : "");
	wal_enqueue(d, &q);
	return seq;
}

int64_t
events_sink(void *arg, const struct breaker_event *ev)
{
	struct daemon *d = arg;
	struct qrow q;
	int64_t seq = seq_take(d);
	if (ev->type == BREAKER_EV_SESSION)
		return session_row(d, ev, seq);
	bool opens = opens_suspension(ev->type);
	bool ends = ends_suspension(ev->type);

	memset(&q, 0, sizeof(q));
	q.denied = -1;
	int64_t susp = opens ? seq : ev->suspension;
	/* A plan's id is its force_scheduled row's seq, known only here
	 * (ipc_event_json takes it where a suspension's would go); the row
	 * opens no suspension. */
	json_t *j = ipc_event_json(
	    ev, ev->type == BREAKER_EV_FORCE_SCHEDULED ? seq : susp);
	q.rule = dup_or_null(ev->rule);
	q.scope = dup_or_null(ev->scope);
	q.reason = dup_or_null(ev->reason);
	q.row.seq = seq;
	q.row.t = ev->t;
	q.row.event = breaker_event_name(ev->type);
	q.row.rule = q.rule;
	q.row.kind = ev->rule != NULL ? breaker_kind_name(ev->kind) : "forced";
	q.row.scope = q.scope;
	q.row.scope_type = ev->scope_is_pair ? "pair" : "product";
	q.row.suspension = susp;
	q.row.shadow = ev->shadow;
	q.row.effect = opens  ? LEDGER_OPENS
	               : ends ? LEDGER_CLOSES
	                      : LEDGER_NONE;
	q.row.until = ev->until;
	q.row.dir = ev->dir;
	q.row.latched = ev->latched;
	q.row.reason = q.reason;
	snprintf(q.topic, sizeof(q.topic), "%s/%s",
	         ev->scope_is_pair ? "pair" : "product", ev->scope);
	if (opens || ends)
		row_notice(d, &q, ev);
	/* The notice's text is part of the chained row: an audit can prove
	 * what customers were shown. */
	if (j != NULL && q.ko != NULL && q.en != NULL) {
		json_t *n = json_object();
		json_object_set_new(n, "state",
		                    json_string(opens ? "open" : "closed"));
		json_object_set_new(n, "ko", json_string(q.ko));
		json_object_set_new(n, "en", json_string(q.en));
		json_object_set_new(j, "notice", n);
	}
	/* The notice a plan will show, so that a restart keeps it. */
	if (j != NULL && ev->type == BREAKER_EV_FORCE_SCHEDULED &&
	    d->force_notice != NULL) {
		json_object_set_new(j, "notice", json_string(d->force_notice));
		if (!events_plan_notice_set(d, seq, d->force_notice))
			log_warn("out of memory: plan %lld will show the "
			         "default notice",
			         (long long)seq);
	}
	if (ev->type == BREAKER_EV_FORCE_CANCEL ||
	    (ev->type == BREAKER_EV_FORCE_SUSPEND && ev->plan > 0))
		plan_notice_drop(d, ev->plan);
	if (j != NULL && q.denied >= 0)
		json_object_set_new(j, "denied", json_integer(q.denied));
	if (j != NULL && q.denied >= 0 && q.denied_partial)
		json_object_set_new(j, "denied_partial", json_true());
	q.detail = j != NULL
	               ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)
	               : NULL;
	json_decref(j);
	q.row.detail = q.detail;
	q.row.notice_ko = q.ko;
	q.row.notice_en = q.en;
	if (ends && !ev->shadow)
		gate_reopen(d, ev->scope_is_pair, ev->scope, seq);
	wal_enqueue(d, &q);
	return seq;
}

/* A row of the service's own (not the engine's): its seq, taken here,
 * and the engine's time.  mu held. */
static void
row_start(struct daemon *d, struct qrow *q)
{
	memset(q, 0, sizeof(*q));
	q->row.seq = seq_take(d);
	q->row.t = breaker_now(d->engine);
}

/*
 * events_retire ends a suspension whose rule or scope left the config (a
 * reload, or a restart with a new config): a `retired` row that closes its
 * notice, names its rule and scope, reopens its products only once written,
 * and is published like any end.  mu held.
 */
int64_t
events_retire(struct daemon *d, const char *rule, const char *scope,
              bool on_pair, int64_t suspension, const char *why)
{
	struct qrow q;
	row_start(d, &q);
	q.row.event = "retired";
	q.row.kind = "service";
	q.rule = dup_or_null(rule);
	q.scope = dup_or_null(scope);
	q.row.rule = q.rule;
	q.row.scope = q.scope;
	q.row.scope_type = on_pair ? "pair" : "product";
	q.row.suspension = suspension;
	q.row.effect = LEDGER_CLOSES;
	q.denied = -1;
	onotice_close(d, &q, suspension, q.row.t);
	q.row.notice_ko = q.ko;
	q.row.notice_en = q.en;
	json_t *o = json_object();
	json_object_set_new(o, "t", json_integer(q.row.t));
	json_object_set_new(o, "event", json_string("retired"));
	if (rule != NULL)
		json_object_set_new(o, "rule", json_string(rule));
	json_object_set_new(o, "scope", json_string(scope));
	json_object_set_new(o, "scope_type", json_string(q.row.scope_type));
	json_object_set_new(o, "suspension", json_integer(suspension));
	json_object_set_new(o, "reason", json_string(why));
	if (q.denied >= 0)
		json_object_set_new(o, "denied", json_integer(q.denied));
	if (q.denied >= 0 && q.denied_partial)
		json_object_set_new(o, "denied_partial", json_true());
	q.detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	q.row.detail = q.detail;
	snprintf(q.topic, sizeof(q.topic), "%s/%s", q.row.scope_type, scope);
	gate_reopen(d, on_pair, scope, q.row.seq);
	wal_enqueue(d, &q);
	return q.row.seq;
}

/* A plan closed without running: kind service (it signs a checkpoint),
 * the plan's scope, its window, and why. */
int64_t
events_plan_lapsed(struct daemon *d, const char *scope, bool on_pair,
                   int64_t plan, fxb_time from, fxb_time until,
                   const char *why)
{
	struct qrow q;
	row_start(d, &q);
	q.row.event = "plan_lapsed";
	q.row.kind = "service";
	q.scope = dup_or_null(scope);
	q.row.scope = q.scope;
	q.row.scope_type = on_pair ? "pair" : "product";
	json_t *o = json_object();
	json_object_set_new(o, "t", json_integer(q.row.t));
	json_object_set_new(o, "event", json_string("plan_lapsed"));
	json_object_set_new(o, "scope", json_string(scope));
	json_object_set_new(o, "scope_type", json_string(q.row.scope_type));
	json_object_set_new(o, "plan", json_integer(plan));
	json_object_set_new(o, "from", json_integer(from));
	if (until != FXB_NEVER)
		json_object_set_new(o, "until", json_integer(until));
	json_object_set_new(o, "reason", json_string(why));
	q.detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (q.detail == NULL)
		q.detail = strdup("{}");
	q.row.detail = q.detail;
	snprintf(q.topic, sizeof(q.topic), "%s/%s", q.row.scope_type, scope);
	plan_notice_drop(d, plan);
	wal_enqueue(d, &q);
	return q.row.seq;
}

/* A service row: start, stop, reload, degraded start, changes by command
 * (with the rule they change).  mu held. */
int64_t
events_service_rule(struct daemon *d, const char *event, const char *rule,
                    const char *detail)
{
	struct qrow q;
	row_start(d, &q);
	q.row.event = event;
	q.row.kind = "service";
	q.rule = dup_or_null(rule);
	q.row.rule = q.rule;
	/* A detail that could not be built (no memory) logs "{}". */
	q.detail = strdup(detail != NULL ? detail : "{}");
	q.row.detail = q.detail;
	wal_enqueue(d, &q);
	return q.row.seq;
}

int64_t
events_service(struct daemon *d, const char *event, const char *detail)
{
	return events_service_rule(d, event, NULL, detail);
}

int64_t
daemon_log_command_with(struct daemon *d, const char *scope,
                        int64_t suspension,
                        char *(*detail)(void *arg, int64_t seq), void *arg)
{
	struct qrow q;
	row_start(d, &q);
	q.row.event = "command";
	q.row.kind = "operator";
	q.scope = dup_or_null(scope);
	q.row.scope = q.scope;
	q.row.suspension = suspension;
	q.detail = detail(arg, q.row.seq);
	if (q.detail == NULL)
		q.detail = strdup("{}");
	q.row.detail = q.detail;
	wal_enqueue(d, &q);
	return q.row.seq;
}

static char *
fixed_detail(void *arg, int64_t seq)
{
	(void)seq;
	return strdup(arg);
}

int64_t
daemon_log_command(struct daemon *d, const char *scope, int64_t suspension,
                   const char *detail)
{
	return daemon_log_command_with(d, scope, suspension, fixed_detail,
	                               (void *)(uintptr_t)detail);
}

int64_t
daemon_force_suspend(struct daemon *d, fxb_time now, bool on_pair, int32_t idx,
                     fxb_time until, const char *reason, const char *notice)
{
	int64_t suspension = 0;
	fxb_time since, end;
	/* The engine's sink (events_sink, row_notice) runs inside this
	 * call, under mu: it reads the notice from here. */
	d->force_notice = notice;
	breaker_force_suspend(d->engine, now, on_pair, idx, until, reason);
	d->force_notice = NULL;
	if (!breaker_force_status(d->engine, on_pair, idx, &suspension, &since,
	                          &end))
		return 0;
	return suspension;
}

enum fxb_err
daemon_force_plan(struct daemon *d, fxb_time now, bool on_pair, int32_t idx,
                  fxb_time from, fxb_time until, const char *reason,
                  const char *notice, int64_t *plan)
{
	struct breaker_plan p;
	*plan = 0;
	/* As daemon_force_suspend: the sink reads the notice from here and
	 * keeps it with the plan (and in its row) for the timer's start. */
	d->force_notice = notice;
	enum fxb_err e = breaker_force_plan(d->engine, now, on_pair, idx, from,
	                                    until, reason);
	d->force_notice = NULL;
	if (e != FXB_OK)
		return e;
	if (breaker_plan_status(d->engine, on_pair, idx, &p))
		*plan = p.plan;
	return FXB_OK;
}

enum fxb_err
daemon_force_cancel(struct daemon *d, fxb_time now, bool on_pair, int32_t idx,
                    int64_t *plan)
{
	struct breaker_plan p;
	*plan = 0;
	if (breaker_plan_status(d->engine, on_pair, idx, &p))
		*plan = p.plan;
	enum fxb_err e = breaker_force_cancel(d->engine, now, on_pair, idx);
	if (e != FXB_OK)
		*plan = 0;
	return e;
}

/*
 * The watchdog saw the check socket go silent or answer again (its own
 * thread, daemon/watchdog.c): one `watchdog` row per change (and its
 * line on stderr once written, oplog.c), so that an episode is one row
 * when it starts and one when it ends, however long it lasts.
 */
void
events_watchdog(void *arg, const struct watchdog_state *st)
{
	struct daemon *d = arg;
	/* Under mu from here: a reload frees the config it reads. */
	pthread_mutex_lock(&d->mu);
	json_t *o = json_pack("{ss ss}", "check_socket",
	                      st->silent ? "silent" : "answering", "url",
	                      d->svc.check_url);
	if (st->silent) {
		json_object_set_new(o, "last_answer",
		                    st->last_answer > 0
		                        ? json_integer(st->last_answer)
		                        : json_null());
		json_object_set_new(o, "error", json_string(st->error));
	} else {
		json_object_set_new(o, "silent_since",
		                    json_integer(st->since));
		json_object_set_new(o, "last_answer",
		                    json_integer(st->last_answer));
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	events_service(d, "watchdog", s);
	pthread_mutex_unlock(&d->mu);
	free(s);
}
