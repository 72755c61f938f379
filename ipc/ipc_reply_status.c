/*
 * ipc_reply_status.c: the admin `status` reply, gathered piece by piece
 * (ipc_reply_status_new, a call per pair, product, rule, ..., then
 * ipc_reply_status_end), and the objects status shows that the live board
 * shows too (a pair, a calendar, a plan, a cluster node: one shape for
 * both, ipc_reply_impl.h).
 */
#include "ipc_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_json.h"
#include "ipc_reply_impl.h"

struct ipc_reply_status {
	json_t *service_id, *now, *clock;
	json_t *ledger, *note, *cluster;
	json_t *pairs, *products, *rules, *notices, *calendars, *plans;
	bool degraded; /* the ledger's */
};

struct ipc_reply_status *
ipc_reply_status_new(void)
{
	struct ipc_reply_status *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->pairs = json_array();
	st->products = json_array();
	st->rules = json_array();
	st->notices = json_array();
	st->calendars = json_array();
	st->plans = json_array();
	return st;
}

void
ipc_reply_status_free(struct ipc_reply_status *st)
{
	if (st == NULL)
		return;
	json_decref(st->service_id);
	json_decref(st->now);
	json_decref(st->clock);
	json_decref(st->ledger);
	json_decref(st->note);
	json_decref(st->cluster);
	json_decref(st->pairs);
	json_decref(st->products);
	json_decref(st->rules);
	json_decref(st->notices);
	json_decref(st->calendars);
	json_decref(st->plans);
	free(st);
}

static void
replace(json_t **slot, json_t *v)
{
	json_decref(*slot);
	*slot = v;
}

void
ipc_reply_status_service(struct ipc_reply_status *st, const char *service_id,
                         fxb_time now, const struct ipc_status_clock *clock)
{
	if (st == NULL)
		return;
	replace(&st->service_id, json_string(service_id));
	replace(&st->now, json_integer(now));
	json_t *c = json_object();
	json_object_set_new(c, "wall", json_integer(clock->wall));
	json_object_set_new(c, "offset_ms", json_integer(clock->offset_ms));
	json_object_set_new(c, "tolerance_ms",
	                    json_integer(clock->tolerance_ms));
	json_object_set_new(c, "started_at", json_integer(clock->started_at));
	if (clock->started_behind_ms > 0)
		json_object_set_new(c, "started_behind_ms",
		                    json_integer(clock->started_behind_ms));
	json_object_set_new(c, "steps",
	                    json_integer((json_int_t)clock->steps));
	if (clock->steps > 0)
		json_object_set_new(
		    c, "last_step",
		    json_pack("{sI sI sI sI ss}", "t",
		              (json_int_t)clock->last_step.t, "from",
		              (json_int_t)clock->last_step.from, "to",
		              (json_int_t)clock->last_step.to, "size_ms",
		              (json_int_t)clock->last_step.size_ms,
		              "direction",
		              clock->last_step.back ? "back" : "forward"));
	replace(&st->clock, c);
}

/* An operator's force: {key: value, "suspension"?, "since", "until"?,
 * "operator_reason"?, "notice"?}. */
static json_t *
force_json(const char *key, const char *value,
           const struct ipc_status_force *f)
{
	json_t *o = json_object();
	json_object_set_new(o, key, json_string(value));
	if (f->suspension > 0)
		json_object_set_new(o, "suspension",
		                    json_integer(f->suspension));
	json_object_set_new(o, "since", json_integer(f->since));
	if (f->until != FXB_NEVER)
		json_object_set_new(o, "until", json_integer(f->until));
	if (f->operator_reason != NULL)
		json_object_set_new(o, "operator_reason",
		                    json_string(f->operator_reason));
	if (f->notice != NULL)
		json_object_set_new(o, "notice", json_string(f->notice));
	return o;
}

/* A pair as status shows it: {"pair","state","held_by"}. */
json_t *
ipc_reply_pair_json(const struct ipc_status_pair *p)
{
	json_t *o = json_object(), *held = json_array();
	if (p->forced != NULL)
		json_array_append_new(held,
		                      force_json("kind", "forced", p->forced));
	for (size_t i = 0; i < p->nholds; i++) {
		const struct ipc_status_hold *r = &p->holds[i];
		json_t *h = json_object();
		json_object_set_new(h, "rule", json_string(r->rule));
		json_object_set_new(h, "kind", json_string(r->kind));
		json_object_set_new(h, "state", json_string(r->state));
		if (r->suspension > 0)
			json_object_set_new(h, "suspension",
			                    json_integer(r->suspension));
		json_object_set_new(h, "since", json_integer(r->since));
		if (r->until != FXB_NEVER)
			json_object_set_new(h, "until",
			                    json_integer(r->until));
		json_array_append_new(held, h);
	}
	json_object_set_new(o, "pair", json_string(p->pair));
	json_object_set_new(
	    o, "state",
	    json_string(json_array_size(held) > 0 ? "suspended" : "open"));
	json_object_set_new(o, "held_by", held);
	return o;
}

void
ipc_reply_status_pair(struct ipc_reply_status *st,
                      const struct ipc_status_pair *p)
{
	if (st == NULL)
		return;
	json_array_append_new(st->pairs, ipc_reply_pair_json(p));
}

void
ipc_reply_status_product(struct ipc_reply_status *st,
                         const struct ipc_status_product *p)
{
	if (st == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "product", json_string(p->product));
	json_object_set_new(o, "pair", json_string(p->pair));
	/* Outside its opening hours a product is closed, not suspended:
	 * nothing holds it, and `until` is when it opens. */
	bool closed =
	    p->held && p->reason != NULL && strcmp(p->reason, "closed") == 0;
	json_object_set_new(o, "state",
	                    json_string(closed                   ? "closed"
	                                : p->held || p->unlogged ? "suspended"
	                                                         : "open"));
	if (p->unlogged)
		json_object_set_new(o, "reason",
		                    json_string("reopening_not_logged"));
	if (closed) {
		json_object_set_new(o, "reason", json_string(p->reason));
		if (p->until != FXB_NEVER)
			json_object_set_new(o, "until",
			                    json_integer(p->until));
	} else if (p->held) {
		json_object_set_new(o, "reason", json_string(p->reason));
		if (p->rule != NULL) {
			json_object_set_new(o, "rule", json_string(p->rule));
			json_object_set_new(o, "kind", json_string(p->kind));
		}
		if (p->suspension > 0)
			json_object_set_new(o, "suspension",
			                    json_integer(p->suspension));
		json_object_set_new(o, "since", json_integer(p->since));
		if (p->until != FXB_NEVER)
			json_object_set_new(o, "until",
			                    json_integer(p->until));
	}
	if (p->operator_reason != NULL)
		json_object_set_new(o, "operator_reason",
		                    json_string(p->operator_reason));
	if (p->notice != NULL)
		json_object_set_new(o, "notice", json_string(p->notice));
	json_t *also = json_array();
	for (size_t i = 0; i < p->nalso; i++)
		json_array_append_new(
		    also, force_json("scope",
		                     p->also[i].on_pair ? "pair" : "product",
		                     &p->also[i]));
	if (json_array_size(also) > 0)
		json_object_set_new(o, "also_forced", also);
	else
		json_decref(also);
	json_array_append_new(st->products, o);
}

void
ipc_reply_status_rule(struct ipc_reply_status *st,
                      const struct ipc_status_rule *r)
{
	if (st == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "rule", json_string(r->rule));
	json_object_set_new(o, "kind", json_string(r->kind));
	json_object_set_new(o, "scope", json_string(r->scope));
	json_object_set_new(o, "scope_type",
	                    json_string(r->on_pair ? "pair" : "product"));
	json_object_set_new(o, "mode",
	                    json_string(r->shadow ? "shadow" : "enforce"));
	json_object_set_new(o, "state", json_string(r->state));
	json_object_set_new(o, "since", json_integer(r->since));
	if (r->until != FXB_NEVER)
		json_object_set_new(o, "until", json_integer(r->until));
	if (r->suspension > 0)
		json_object_set_new(o, "suspension",
		                    json_integer(r->suspension));
	json_object_set_new(o, "latched", json_boolean(r->latched));
	/* Trip levels an operator changed: what is in force now differs
	 * from the file. */
	json_t *ch = json_object();
	for (size_t k = 0; k < r->nchanged; k++)
		json_object_set_new(ch, r->changed[k].key,
		                    json_string(r->changed[k].value));
	if (json_object_size(ch) > 0)
		json_object_set_new(o, "changed", ch);
	else
		json_decref(ch);
	json_array_append_new(st->rules, o);
}

void
ipc_reply_status_notice_changed(struct ipc_reply_status *st,
                                const char *notice, const char *lang,
                                const char *text)
{
	if (st == NULL)
		return;
	json_array_append_new(st->notices,
	                      json_pack("{ss ss ss}", "notice", notice, "lang",
	                                lang, "text", text));
}

/* A calendar as status and the board show it. */
json_t *
ipc_reply_calendar_json(const struct ipc_status_calendar *c)
{
	char off[8];
	int32_t m =
	    c->utc_offset_min < 0 ? -c->utc_offset_min : c->utc_offset_min;
	snprintf(off, sizeof(off), "%c%02d:%02d",
	         c->utc_offset_min < 0 ? '-' : '+', (int)(m / 60 % 100),
	         (int)(m % 60));
	json_t *o = json_pack("{ss ss ss}", "calendar", c->calendar,
	                      "utc_offset", off, "session", c->session);
	if (o != NULL && c->next != FXB_NEVER) {
		json_object_set_new(o, "next", json_integer(c->next));
		json_object_set_new(o, "next_session",
		                    json_string(c->next_session));
	}
	return o;
}

/* A plan as status and the board show it. */
json_t *
ipc_reply_plan_json(const struct ipc_status_plan *p)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (p->plan > 0)
		json_object_set_new(o, "plan", json_integer(p->plan));
	json_object_set_new(o, "scope", json_string(p->scope));
	json_object_set_new(o, "scope_type",
	                    json_string(p->on_pair ? "pair" : "product"));
	json_object_set_new(o, "from", json_integer(p->from));
	if (p->until != FXB_NEVER)
		json_object_set_new(o, "until", json_integer(p->until));
	if (p->reason != NULL && p->reason[0] != '\0')
		json_object_set_new(o, "operator_reason",
		                    ipc_json_text(p->reason));
	if (p->notice != NULL)
		json_object_set_new(o, "notice", json_string(p->notice));
	return o;
}

void
ipc_reply_status_calendar(struct ipc_reply_status *st,
                          const struct ipc_status_calendar *c)
{
	if (st != NULL)
		json_array_append_new(st->calendars,
		                      ipc_reply_calendar_json(c));
}

void
ipc_reply_status_plan(struct ipc_reply_status *st,
                      const struct ipc_status_plan *p)
{
	if (st != NULL)
		json_array_append_new(st->plans, ipc_reply_plan_json(p));
}

void
ipc_reply_status_ledger(struct ipc_reply_status *st,
                        const struct ipc_status_ledger *lg)
{
	if (st == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "state",
	                    json_string(lg->degraded ? "degraded" : "ok"));
	json_object_set_new(o, "committed_seq",
	                    json_integer(lg->committed_seq));
	json_object_set_new(o, "queued", json_integer((json_int_t)lg->queued));
	if (lg->degraded)
		json_object_set_new(o, "last_error",
		                    json_string(lg->last_error));
	json_t *cn = json_pack("{sbsI}", "ok", lg->note_failed == 0,
	                       "last_ok_seq", (json_int_t)lg->note_ok_seq);
	if (lg->note_failed > 0) {
		json_object_set_new(cn, "error", json_string(lg->note_error));
		json_object_set_new(cn, "failed",
		                    json_integer((json_int_t)lg->note_failed));
	}
	replace(&st->ledger, o);
	replace(&st->note, cn);
	st->degraded = lg->degraded;
}

static json_t *
fds_json(const struct ipc_status_fds *fs)
{
	json_t *o = json_object();
	json_object_set_new(o, "open",
	                    ipc_reply_int_or_null(fs->open, fs->open >= 0));
	json_object_set_new(o, "limit",
	                    ipc_reply_int_or_null(fs->limit, fs->limit >= 0));
	json_object_set_new(o, "state", json_string(fs->high ? "high" : "ok"));
	json_object_set_new(o, "high_episodes",
	                    json_integer((json_int_t)fs->episodes));
	return o;
}

static json_t *
socket_json(const struct ipc_status_socket *s)
{
	if (!s->watched)
		return json_pack("{ss}", "state", "unwatched");
	json_t *o =
	    json_pack("{ss}", "state", s->silent ? "silent" : "answering");
	json_object_set_new(
	    o, "last_answer",
	    ipc_reply_int_or_null(s->last_answer, s->last_answer > 0));
	if (s->silent) {
		json_object_set_new(o, "since", json_integer(s->since));
		json_object_set_new(o, "error", json_string(s->error));
	}
	return o;
}

/* Sets o[key] to *slot, which o now owns. */
static void
take(json_t *o, const char *key, json_t **slot)
{
	json_object_set_new(o, key, *slot);
	*slot = NULL;
}

/* A cluster node's object, as status and the board's document show it
 * (NULL on out of memory). */
json_t *
ipc_reply_cluster_json(const struct ipc_status_cluster *c)
{
	json_t *o =
	    json_pack("{sIsssIsIsIsIsIs{sIsI}}", "node", (json_int_t)c->node,
	              "role", c->role, "leader", (json_int_t)c->leader, "term",
	              (json_int_t)c->term, "lease_ms", (json_int_t)c->lease_ms,
	              "applied_seq", (json_int_t)c->applied_seq, "elections",
	              (json_int_t)c->elections, "snapshots", "taken",
	              (json_int_t)c->snapshots_taken, "installed",
	              (json_int_t)c->snapshots_installed);
	if (o != NULL)
		json_object_set_new(o, "leader_check_url",
		                    c->leader_check_url != NULL
		                        ? ipc_json_text(c->leader_check_url)
		                        : json_null());
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < c->nmembers; i++) {
		const struct ipc_status_member *m = &c->members[i];
		json_t *e = json_pack("{sIssso}", "id", (json_int_t)m->id,
		                      "role", m->role, "raft_address",
		                      ipc_json_text(m->raft_address));
		if (e != NULL)
			json_object_set_new(e, "check_url",
			                    m->check_url != NULL
			                        ? ipc_json_text(m->check_url)
			                        : json_null());
		json_array_append_new(a, e);
	}
	if (o != NULL && a != NULL)
		json_object_set_new(o, "members", a);
	else
		json_decref(a);
	return o;
}

void
ipc_reply_status_cluster(struct ipc_reply_status *st,
                         const struct ipc_status_cluster *c)
{
	if (st == NULL)
		return;
	json_decref(st->cluster);
	st->cluster = ipc_reply_cluster_json(c);
}

char *
ipc_reply_status_end(struct ipc_reply_status *st,
                     const struct ipc_status_fds *fds,
                     const struct ipc_status_socket *check_socket,
                     const struct ipc_status_ticks *ticks, const char *ref)
{
	if (st == NULL)
		return NULL;
	json_t *o = json_object();
	take(o, "service_id", &st->service_id);
	take(o, "now", &st->now);
	take(o, "clock", &st->clock);
	take(o, "ledger", &st->ledger);
	take(o, "checkpoint_note", &st->note);
	json_object_set_new(o, "fds", fds_json(fds));
	json_object_set_new(o, "check_socket", socket_json(check_socket));
	/* One word for a dashboard: anything an operator must look at. */
	bool silent = check_socket->watched && check_socket->silent;
	json_object_set_new(
	    o, "state",
	    json_string(st->degraded || silent ? "degraded" : "ok"));
	if (st->cluster != NULL)
		take(o, "cluster", &st->cluster);
	json_object_set_new(o, "ticks",
	                    json_pack("{sIsIsI}", "applied",
	                              (json_int_t)ticks->applied, "refused",
	                              (json_int_t)ticks->refused, "waits",
	                              (json_int_t)ticks->waits));
	take(o, "pairs", &st->pairs);
	take(o, "products", &st->products);
	take(o, "rules", &st->rules);
	take(o, "notices_changed", &st->notices);
	take(o, "calendars", &st->calendars);
	take(o, "plans", &st->plans);
	ipc_reply_set_ref(o, ref);
	ipc_reply_status_free(st);
	return ipc_reply_dump(o);
}
