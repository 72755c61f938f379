/*
 * ipc_reply.c: the wire protocol's replies (see ipc_reply.h).  jansson
 * writes them, compact and in insertion order, except an allow and the
 * out-of-memory error, written by hand: the first because it is most
 * replies, the second because it must not allocate.  A key whose value
 * jansson refuses (a string that is not UTF-8) is left out, as it always
 * has been, except an error's message, whose stray bytes are written as
 * U+FFFD (ipc_json_text): each builder makes the same calls in the same
 * order as the daemon did when it wrote these itself.
 */
#include "ipc_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_decimal.h"
#include "ipc_json.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* A check's answer when the log cannot be written: not an engine reason,
 * the service's own (docs/PROTOCOL.md, "Fail closed"). */
static const char ledger_unavailable[] = "ledger_unavailable";

/* Dumps o and drops it; NULL in, NULL out. */
static char *
dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, DUMP_FLAGS) : NULL;
	json_decref(o);
	return s;
}

static void
set_ref(json_t *o, const char *ref)
{
	if (ref != NULL)
		json_object_set_new(o, "ref", json_string(ref));
}

static json_t *
int_or_null(int64_t v, bool shown)
{
	return shown ? json_integer((json_int_t)v) : json_null();
}

/* ---- a check ---- */

char *
ipc_reply_allow(const char *ref, char buf[IPC_REPLY_ALLOW_MAX])
{
	static const char head[] = "{\"decision\":\"allow\"";
	static const char with_ref[] = ",\"ref\":\"";
	size_t h = sizeof(head) - 1, w = sizeof(with_ref) - 1;
	if (ref == NULL) {
		memcpy(buf, head, h);
		memcpy(buf + h, "}", 2);
		return buf;
	}
	size_t n = strlen(ref);
	bool plain = n <= IPC_REF_MAX;
	for (size_t i = 0; plain && i < n; i++)
		plain = ref[i] != '"' && ref[i] != '\\' &&
		        (unsigned char)ref[i] >= 0x20;
	if (!plain)
		return dump(
		    json_pack("{ssss}", "decision", "allow", "ref", ref));
	memcpy(buf, head, h);
	memcpy(buf + h, with_ref, w);
	memcpy(buf + h + w, ref, n);
	memcpy(buf + h + w + n, "\"}", 3);
	return buf;
}

/* The planned suspension ahead (dec's upcoming, plan 0: none): its id,
 * start, end, and the notice its customers will read (NULL: none). */
static void
set_upcoming(json_t *o, const struct breaker_plan *p,
             const struct ipc_reply_notice *n)
{
	json_object_del(o, "upcoming");
	if (p->plan <= 0)
		return;
	json_t *u = json_object();
	if (u == NULL)
		return;
	json_object_set_new(u, "plan", json_integer(p->plan));
	json_object_set_new(u, "from", json_integer(p->from));
	if (p->until != FXB_NEVER)
		json_object_set_new(u, "until", json_integer(p->until));
	if (n != NULL) {
		json_t *no = json_object();
		if (no != NULL) {
			json_object_set_new(no, "id", json_string(n->id));
			json_object_set_new(no, "ko", json_string(n->ko));
			json_object_set_new(no, "en", json_string(n->en));
			json_object_set_new(u, "notice", no);
		}
	}
	json_object_set_new(o, "upcoming", u);
}

char *
ipc_reply_check(const struct breaker_decision *dec,
                const struct ipc_reply_notice *notice, const char *ref)
{
	return ipc_reply_check_upcoming(dec, notice, NULL, ref);
}

char *
ipc_reply_check_upcoming(const struct breaker_decision *dec,
                         const struct ipc_reply_notice *notice,
                         const struct ipc_reply_notice *upcoming,
                         const char *ref)
{
	json_t *o = ipc_decision_json(dec);
	if (o == NULL)
		return NULL;
	/* Customers read the open notice's texts, not the rule's id. */
	json_object_del(o, "notice");
	if (notice != NULL && dec->verdict == BREAKER_VERDICT_DENY &&
	    dec->suspension > 0) {
		json_t *no = json_object();
		if (no != NULL) {
			json_object_set_new(no, "id", json_string(notice->id));
			json_object_set_new(no, "ko", json_string(notice->ko));
			json_object_set_new(no, "en", json_string(notice->en));
			json_object_set_new(no, "since",
			                    json_integer(notice->since));
			if (notice->until != FXB_NEVER)
				json_object_set_new(
				    no, "until", json_integer(notice->until));
			json_object_set_new(o, "notice", no);
		}
	}
	set_upcoming(o, &dec->upcoming, upcoming);
	set_ref(o, ref);
	return dump(o);
}

char *
ipc_reply_fail_closed(const char *ref)
{
	json_t *o = json_object();
	char *s = NULL;
	if (o != NULL &&
	    json_object_set_new(o, "decision",
	                        json_string(breaker_verdict_name(
	                            BREAKER_VERDICT_DENY))) == 0 &&
	    json_object_set_new(o, "reason",
	                        json_string(ledger_unavailable)) == 0 &&
	    (ref == NULL ||
	     json_object_set_new(o, "ref", json_string(ref)) == 0))
		s = json_dumps(o, DUMP_FLAGS);
	json_decref(o);
	return s;
}

/* ---- errors, ok, ping ---- */

char *
ipc_reply_error(enum fxb_err code, const char *msg, const char *ref)
{
	char *r = ipc_error_reply(code, msg, ref);
	return r != NULL ? r : ipc_error_reply(code, fxb_strerror(code), ref);
}

const char *
ipc_reply_nomem(char buf[IPC_REPLY_NOMEM_MAX])
{
	/* The table's name and text need no escaping (tests/reply_test.c
	 * holds this equal to what jansson writes). */
	snprintf(
	    buf, IPC_REPLY_NOMEM_MAX,
	    "{\"error\":{\"code\":%d,\"name\":\"%s\",\"message\":\"%s\"}}",
	    (int)FXB_ERR_NOMEM, fxb_errname(FXB_ERR_NOMEM),
	    fxb_strerror(FXB_ERR_NOMEM));
	return buf;
}

static char *
ok_reply(bool ping, const char *service_id, fxb_time now, const char *ref)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	if (ping) {
		json_object_set_new(o, "service_id", json_string(service_id));
		json_object_set_new(o, "now", json_integer(now));
	}
	set_ref(o, ref);
	return dump(o);
}

char *
ipc_reply_ok(const char *ref)
{
	return ok_reply(false, NULL, 0, ref);
}

char *
ipc_reply_ping(const char *service_id, fxb_time now, const char *ref)
{
	return ok_reply(true, service_id, now, ref);
}

/* ---- a batch ---- */

static void
batch_put(struct ipc_reply_batch *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(b->buf, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static const char batch_head[] = "{\"results\":[";

void
ipc_reply_batch_add(struct ipc_reply_batch *b, const char *answer)
{
	char nomem[IPC_REPLY_NOMEM_MAX];
	if (b->n++ == 0)
		batch_put(b, batch_head, sizeof(batch_head) - 1);
	else
		batch_put(b, ",", 1);
	if (answer == NULL)
		answer = ipc_reply_nomem(nomem);
	batch_put(b, answer, strlen(answer));
}

char *
ipc_reply_batch_end(struct ipc_reply_batch *b, const char *ref)
{
	/* A batch has at least one check (ipc_request_parse); an empty one
	 * still reads as JSON. */
	if (b->n == 0)
		batch_put(b, batch_head, sizeof(batch_head) - 1);
	batch_put(b, "]", 1);
	if (ref != NULL) {
		json_t *j = json_string(ref);
		char *s = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		batch_put(b, ",\"ref\":", 7);
		if (s == NULL)
			b->oom = true;
		else
			batch_put(b, s, strlen(s));
		free(s);
	}
	batch_put(b, "}", 1);
	if (b->oom) {
		free(b->buf);
		return NULL;
	}
	return b->buf;
}

char *
ipc_reply_batch_fail_closed(const struct ipc_request *r)
{
	struct ipc_reply_batch b = IPC_REPLY_BATCH_INIT;
	for (size_t i = 0; i < r->nchecks; i++) {
		char *s = ipc_reply_fail_closed(r->checks[i].ref);
		ipc_reply_batch_add(&b, s);
		free(s);
	}
	return ipc_reply_batch_end(&b, r->ref);
}

/* ---- signed commands ---- */

/* The error object of a command's answer. */
static json_t *
cmd_error(enum fxb_err code, const char *msg)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "name", json_string(fxb_errname(code)));
	json_object_set_new(e, "message", ipc_json_text(msg));
	return e;
}

char *
ipc_reply_cmd(const struct ipc_reply_cmd *c)
{
	json_t *r = json_object();
	const char *result =
	    c->result == IPC_CMD_PENDING ? "pending" : "applied";
	if (c->result == IPC_CMD_APPLIED && c->request > 0) {
		/* An approval: the change it made was always said first. */
		if (c->change > 0)
			json_object_set_new(r, "change",
			                    json_integer(c->change));
		json_object_set_new(r, "result", json_string(result));
		json_object_set_new(r, "request", json_integer(c->request));
		if (c->suspension > 0)
			json_object_set_new(r, "suspension",
			                    json_integer(c->suspension));
		return dump(r);
	}
	json_object_set_new(r, "result", json_string(result));
	if (c->suspension > 0)
		json_object_set_new(r, "suspension",
		                    json_integer(c->suspension));
	if (c->request > 0)
		json_object_set_new(r, "request", json_integer(c->request));
	if (c->change > 0)
		json_object_set_new(r, "change", json_integer(c->change));
	return dump(r);
}

char *
ipc_reply_cmd_rejected(enum fxb_err code, const char *msg)
{
	json_t *o = json_object(), *e = cmd_error(code, msg);
	json_object_set_new(o, "result", json_string("rejected"));
	json_object_set_new(o, "error", e);
	return dump(o);
}

char *
ipc_reply_cmd_unconfirmed(void)
{
	/* Its effect, if any, is in force in memory and is logged when the
	 * log recovers; resending the same signed request gets the answer. */
	json_t *o = json_object();
	json_object_set_new(o, "result", json_string("unconfirmed"));
	json_object_set_new(
	    o, "error",
	    cmd_error(FXB_ERR_LEDGER,
	              "this command's row is not written (the log is "
	              "failing, or the service is stopping or overloaded), "
	              "so it is not confirmed; resend the same signed "
	              "request once status says the ledger is ok for its "
	              "answer"));
	return dump(o);
}

/* ---- the admin status ---- */

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
static json_t *
pair_json(const struct ipc_status_pair *p)
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
	json_array_append_new(st->pairs, pair_json(p));
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
static json_t *
calendar_json(const struct ipc_status_calendar *c)
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
static json_t *
plan_json(const struct ipc_status_plan *p)
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
		json_array_append_new(st->calendars, calendar_json(c));
}

void
ipc_reply_status_plan(struct ipc_reply_status *st,
                      const struct ipc_status_plan *p)
{
	if (st != NULL)
		json_array_append_new(st->plans, plan_json(p));
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
	json_object_set_new(o, "open", int_or_null(fs->open, fs->open >= 0));
	json_object_set_new(o, "limit",
	                    int_or_null(fs->limit, fs->limit >= 0));
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
	json_object_set_new(o, "last_answer",
	                    int_or_null(s->last_answer, s->last_answer > 0));
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
static json_t *
cluster_json(const struct ipc_status_cluster *c)
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
	st->cluster = cluster_json(c);
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
	set_ref(o, ref);
	ipc_reply_status_free(st);
	return dump(o);
}

/* ---- the live board ---- */

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
		json_array_append_new(b->calendars, calendar_json(c));
}

void
ipc_reply_board_plan(struct ipc_reply_board *b,
                     const struct ipc_status_plan *p)
{
	if (b != NULL)
		json_array_append_new(b->plans, plan_json(p));
}

void
ipc_reply_board_cluster(struct ipc_reply_board *b,
                        const struct ipc_status_cluster *c)
{
	if (b == NULL)
		return;
	json_decref(b->cluster);
	b->cluster = cluster_json(c);
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
	json_array_append_new(a, int_or_null(pt->lower, pt->band));
	json_array_append_new(a, int_or_null(pt->upper, pt->band));
	json_array_append_new(a, int_or_null(pt->vlower, pt->velocity));
	json_array_append_new(a, int_or_null(pt->vupper, pt->velocity));
	return a;
}

void
ipc_reply_board_pair(struct ipc_reply_board *b, const struct ipc_board_pair *p)
{
	if (b == NULL)
		return;
	json_t *o = pair_json(p->status);
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
	json_object_set_new(o, "suspension",
	                    int_or_null(s->suspension, s->suspension > 0));
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
	char *s = o != NULL
	              ? json_dumps(o, DUMP_FLAGS | JSON_REAL_PRECISION(6))
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
	return dump(o);
}
