/*
 * ipc_reply_board.c: the live board's document (docs/PROTOCOL.md, "The
 * board's stream"): each pair with its rate, levels and chart, the open
 * suspensions, the latest rows, calendars, plans and the cluster; and a
 * page of /products.  A pair, a calendar, a plan and the cluster are
 * shaped as status shows them (ipc_reply_status.c).
 */
#include "ipc_reply.h"

#include <jansson.h>
#include <stdlib.h>

#include "breaker_decimal.h"
#include "ipc_reply_impl.h"

struct ipc_reply_board {
	json_t *pairs, *suspensions, *events, *calendars, *plans;
	json_t *cluster; /* NULL: a single node's */
};

struct ipc_reply_board *
ipc_reply_board_new(void)
{
	struct ipc_reply_board *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->pairs = json_array();
	b->suspensions = json_array();
	b->events = json_array();
	b->calendars = json_array();
	b->plans = json_array();
	return b;
}

void
ipc_reply_board_free(struct ipc_reply_board *b)
{
	if (b == NULL)
		return;
	json_decref(b->pairs);
	json_decref(b->suspensions);
	json_decref(b->events);
	json_decref(b->calendars);
	json_decref(b->plans);
	json_decref(b->cluster);
	free(b);
}

void
ipc_reply_board_calendar(struct ipc_reply_board *b,
                         const struct ipc_status_calendar *c)
{
	if (b != NULL)
		json_array_append_new(b->calendars,
		                      ipc_reply_calendar_json(c));
}

void
ipc_reply_board_plan(struct ipc_reply_board *b,
                     const struct ipc_status_plan *p)
{
	if (b != NULL)
		json_array_append_new(b->plans, ipc_reply_plan_json(p));
}

void
ipc_reply_board_cluster(struct ipc_reply_board *b,
                        const struct ipc_status_cluster *c)
{
	if (b == NULL)
		return;
	json_decref(b->cluster);
	b->cluster = ipc_reply_cluster_json(c);
}

/* A price as the config writes it ("1402.5"). */
static json_t *
px_json(int64_t px)
{
	char buf[BREAKER_DECIMAL_BUFSZ];
	return json_string(breaker_px_format(buf, px));
}

/* {"rule","lower","upper"}: a level a chart draws. */
static json_t *
level_json(const char *rule, int64_t lower, int64_t upper)
{
	json_t *o = json_object();
	json_object_set_new(o, "rule", json_string(rule));
	json_object_set_new(o, "lower", px_json(lower));
	json_object_set_new(o, "upper", px_json(upper));
	return o;
}

/* A chart point: [t, rate, lower, upper, vlower, vupper], integers in
 * 10^-9 units (exact in a browser's numbers up to 9,007,199), a level
 * not in force null. */
static json_t *
point_json(const struct ipc_board_point *pt)
{
	json_t *a = json_array();
	json_array_append_new(a, json_integer(pt->t));
	json_array_append_new(a, json_integer(pt->rate));
	json_array_append_new(a, ipc_reply_int_or_null(pt->lower, pt->band));
	json_array_append_new(a, ipc_reply_int_or_null(pt->upper, pt->band));
	json_array_append_new(a,
	                      ipc_reply_int_or_null(pt->vlower, pt->velocity));
	json_array_append_new(a,
	                      ipc_reply_int_or_null(pt->vupper, pt->velocity));
	return a;
}

void
ipc_reply_board_pair(struct ipc_reply_board *b, const struct ipc_board_pair *p)
{
	if (b == NULL)
		return;
	json_t *o = ipc_reply_pair_json(p->status);
	if (p->ticked) {
		json_object_set_new(o, "rate", px_json(p->last.rate));
		json_object_set_new(o, "rate_t", json_integer(p->last.t));
	} else {
		json_object_set_new(o, "rate", json_null());
	}
	if (p->now.band)
		json_object_set_new(
		    o, "band",
		    level_json(p->band_rule, p->now.lower, p->now.upper));
	if (p->now.velocity)
		json_object_set_new(o, "velocity",
		                    level_json(p->velocity_rule, p->now.vlower,
		                               p->now.vupper));
	json_object_set_new(o, "history", json_array());
	json_array_append_new(b->pairs, o);
}

void
ipc_reply_board_chart(struct ipc_reply_board *b, size_t index,
                      const struct ipc_board_point *pts, size_t n)
{
	json_t *o = b != NULL ? json_array_get(b->pairs, index) : NULL;
	json_t *h = json_object_get(o, "history");
	for (size_t i = 0; h != NULL && i < n; i++)
		json_array_append_new(h, point_json(&pts[i]));
}

void
ipc_reply_board_suspension(struct ipc_reply_board *b,
                           const struct ipc_board_suspension *s)
{
	if (b == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(
	    o, "suspension",
	    ipc_reply_int_or_null(s->suspension, s->suspension > 0));
	json_object_set_new(
	    o, "rule", s->rule != NULL ? json_string(s->rule) : json_null());
	json_object_set_new(o, "kind", json_string(s->kind));
	json_object_set_new(o, "scope", json_string(s->scope));
	json_object_set_new(o, "scope_type", json_string(s->scope_type));
	json_object_set_new(o, "since", json_integer(s->since));
	if (s->until != FXB_NEVER)
		json_object_set_new(o, "until", json_integer(s->until));
	if (s->operator_reason != NULL)
		json_object_set_new(o, "operator_reason",
		                    json_string(s->operator_reason));
	json_object_set_new(o, "products",
	                    json_integer((json_int_t)s->products));
	json_t *first = json_array();
	for (size_t i = 0; i < s->nfirst; i++)
		json_array_append_new(first, json_string(s->first[i]));
	json_object_set_new(o, "first", first);
	json_array_append_new(b->suspensions, o);
}

/* Sets o[key] to s, or leaves it out when s is empty. */
static void
set_text(json_t *o, const char *key, const char *s)
{
	if (s != NULL && s[0] != '\0')
		json_object_set_new(o, key, json_string(s));
}

void
ipc_reply_board_event(struct ipc_reply_board *b,
                      const struct ipc_board_event *e)
{
	if (b == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer(e->seq));
	json_object_set_new(o, "t", json_integer(e->t));
	json_object_set_new(o, "event", json_string(e->event));
	set_text(o, "rule", e->rule);
	set_text(o, "kind", e->kind);
	set_text(o, "scope", e->scope);
	set_text(o, "scope_type", e->scope_type);
	if (e->suspension > 0)
		json_object_set_new(o, "suspension",
		                    json_integer(e->suspension));
	json_array_append_new(b->events, o);
}

char *
ipc_reply_board_end(struct ipc_reply_board *b, const struct ipc_board_head *h,
                    const struct ipc_status_ledger *lg)
{
	if (b == NULL)
		return NULL;
	json_t *o = json_object(), *ledger = json_object();
	json_object_set_new(o, "service_id", json_string(h->service_id));
	json_object_set_new(o, "now", json_integer(h->now));
	json_object_set_new(o, "notice_utc_offset_min",
	                    json_integer(h->notice_tz_min));
	json_object_set_new(o, "state",
	                    json_string(lg->degraded ? "degraded" : "ok"));
	json_object_set_new(ledger, "state",
	                    json_string(lg->degraded ? "degraded" : "ok"));
	json_object_set_new(ledger, "committed_seq",
	                    json_integer(lg->committed_seq));
	json_object_set_new(ledger, "queued",
	                    json_integer((json_int_t)lg->queued));
	if (lg->degraded)
		json_object_set_new(ledger, "last_error",
		                    json_string(lg->last_error));
	json_object_set_new(o, "ledger", ledger);
	json_object_set_new(o, "decisions_per_second",
	                    h->decisions_per_second >= 0
	                        ? json_real(h->decisions_per_second)
	                        : json_null());
	json_object_set_new(o, "products",
	                    json_pack("{sIsIsI}", "total",
	                              (json_int_t)h->products, "open",
	                              (json_int_t)(h->products - h->suspended),
	                              "suspended", (json_int_t)h->suspended));
	json_object_set_new(o, "pairs_total",
	                    json_integer((json_int_t)h->pairs));
	json_object_set_new(o, "suspensions_total",
	                    json_integer((json_int_t)h->suspensions));
	json_object_set_new(o, "pairs", b->pairs);
	json_object_set_new(o, "suspensions", b->suspensions);
	json_object_set_new(o, "events", b->events);
	json_object_set_new(o, "calendars", b->calendars);
	json_object_set_new(o, "plans", b->plans);
	if (b->cluster != NULL)
		json_object_set_new(o, "cluster", b->cluster);
	b->pairs = b->suspensions = b->events = b->cluster = NULL;
	b->calendars = b->plans = NULL;
	ipc_reply_board_free(b);
	char *s =
	    o != NULL
	        ? json_dumps(o, IPC_REPLY_DUMP_FLAGS | JSON_REAL_PRECISION(6))
	        : NULL;
	json_decref(o);
	return s;
}

char *
ipc_reply_board_page(const struct ipc_board_page *pg)
{
	json_t *o = json_object(), *a = json_array();
	if (pg->suspension > 0)
		json_object_set_new(o, "suspension",
		                    json_integer(pg->suspension));
	if (pg->prefix != NULL)
		json_object_set_new(o, "prefix", json_string(pg->prefix));
	json_object_set_new(o, "offset", json_integer((json_int_t)pg->offset));
	json_object_set_new(o, "limit", json_integer((json_int_t)pg->limit));
	json_object_set_new(o, "total", json_integer((json_int_t)pg->total));
	for (size_t i = 0; i < pg->n; i++) {
		const struct ipc_board_product *p = &pg->products[i];
		json_t *e = json_object();
		json_object_set_new(e, "product", json_string(p->product));
		json_object_set_new(e, "pair", json_string(p->pair));
		json_object_set_new(
		    e, "state", json_string(p->held ? "suspended" : "open"));
		if (p->suspension > 0)
			json_object_set_new(e, "suspension",
			                    json_integer(p->suspension));
		if (p->rule != NULL)
			json_object_set_new(e, "rule", json_string(p->rule));
		if (p->held && p->until != FXB_NEVER)
			json_object_set_new(e, "until",
			                    json_integer(p->until));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "products", a);
	return ipc_reply_dump(o);
}
