/*
 * status.c: what the admin socket's status shows (docs/PROTOCOL.md): the
 * pairs, products and rules with what holds them, the log's state, the
 * clocks, the descriptors, the watchdog's view of the check socket; and
 * the short "ok" answer of a ping or a tick.  A suspension id is shown
 * only once its row is written.
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"

/* A suspension id may be shown only once its row is written (status too:
 * an id that never committed could be reused after a restart). */
static bool
id_visible(struct daemon *d, int64_t id)
{
	return id > 0 && id <= atomic_load(&d->committed);
}

static void
status_rules(struct daemon *d, json_t *arr)
{
	for (size_t i = 0; i < breaker_rule_count(d->engine); i++) {
		const struct breaker_rule_conf *c = &d->cfg->rules[i];
		struct breaker_rule_status st;
		breaker_rule_status(d->engine, (int32_t)i, &st);
		json_t *o = json_object();
		json_object_set_new(o, "rule", json_string(c->id));
		json_object_set_new(o, "kind",
		                    json_string(breaker_kind_name(c->kind)));
		json_object_set_new(
		    o, "scope",
		    json_string(c->on_pair ? d->cfg->pairs[c->owner].name
		                           : d->cfg->products[c->owner].id));
		json_object_set_new(
		    o, "scope_type",
		    json_string(c->on_pair ? "pair" : "product"));
		json_object_set_new(
		    o, "mode", json_string(c->shadow ? "shadow" : "enforce"));
		json_object_set_new(
		    o, "state",
		    json_string(breaker_rule_state_name(st.state)));
		json_object_set_new(o, "since", json_integer(st.since));
		if (st.until != FXB_NEVER)
			json_object_set_new(o, "until",
			                    json_integer(st.until));
		if (id_visible(d, st.suspension))
			json_object_set_new(o, "suspension",
			                    json_integer(st.suspension));
		json_object_set_new(o, "latched", json_boolean(st.latched));
		/* Trip levels an operator changed: what is in force now
		 * differs from the file. */
		json_t *ch = json_object();
		for (size_t k = 0; k < d->nchanges; k++)
			if (!d->changes[k].notice &&
			    strcmp(d->changes[k].rule, c->id) == 0)
				json_object_set_new(
				    ch, d->changes[k].key,
				    json_string(d->changes[k].value));
		if (json_object_size(ch) > 0)
			json_object_set_new(o, "changed", ch);
		else
			json_decref(ch);
		json_array_append_new(arr, o);
	}
}

/* What ops see of a force and customers do not: the operator's reason
 * ("... (by NAME)") and the id of the notice customers are shown. */
static void
force_notes(struct daemon *d, json_t *o, bool on_pair, int32_t idx,
            int64_t susp)
{
	const char *why = breaker_force_reason(d->engine, on_pair, idx);
	const struct onotice *n = onotice_find(d, susp, NULL);
	if (why != NULL)
		json_object_set_new(o, "operator_reason", json_string(why));
	if (n != NULL)
		json_object_set_new(o, "notice", json_string(n->id));
}

/* An operator's force in status: {key: value, "suspension" (once its row
 * is written), "since", "until" (when it ends on its own),
 * "operator_reason", "notice"}. */
static json_t *
force_json(struct daemon *d, const char *key, const char *value, bool on_pair,
           int32_t idx, int64_t susp, fxb_time since, fxb_time until)
{
	json_t *f = json_object();
	json_object_set_new(f, key, json_string(value));
	if (id_visible(d, susp))
		json_object_set_new(f, "suspension", json_integer(susp));
	json_object_set_new(f, "since", json_integer(since));
	if (until != FXB_NEVER)
		json_object_set_new(f, "until", json_integer(until));
	force_notes(d, f, on_pair, idx, susp);
	return f;
}

static void
status_products(struct daemon *d, json_t *arr)
{
	for (size_t i = 0; i < breaker_product_count(d->engine); i++) {
		struct breaker_decision dec;
		fxb_time since;
		breaker_product_status(d->engine, (int32_t)i, &dec, &since);
		/* Reopened in memory but not yet in the log: not open. */
		bool unlogged = dec.verdict == BREAKER_VERDICT_ALLOW &&
		                !gate_open(&d->gate, (int32_t)i,
		                           atomic_load(&d->committed));
		json_t *o = json_object();
		json_object_set_new(o, "product",
		                    json_string(d->cfg->products[i].id));
		json_object_set_new(
		    o, "pair",
		    json_string(d->cfg->pairs[d->cfg->products[i].pair].name));
		bool held = dec.verdict != BREAKER_VERDICT_ALLOW;
		json_object_set_new(
		    o, "state",
		    json_string(held || unlogged ? "suspended" : "open"));
		if (unlogged)
			json_object_set_new(
			    o, "reason", json_string("reopening_not_logged"));
		if (held) {
			json_object_set_new(
			    o, "reason",
			    json_string(breaker_reason_name(dec.reason)));
			if (dec.rule != NULL) {
				json_object_set_new(o, "rule",
				                    json_string(dec.rule));
				json_object_set_new(
				    o, "kind",
				    json_string(breaker_kind_name(dec.kind)));
			}
			if (id_visible(d, dec.suspension))
				json_object_set_new(
				    o, "suspension",
				    json_integer(dec.suspension));
			json_object_set_new(o, "since", json_integer(since));
			if (dec.retry_after_ms >= 0)
				json_object_set_new(
				    o, "until",
				    json_integer(breaker_now(d->engine) +
				                 dec.retry_after_ms));
		}
		/* Forced suspensions behind the one quoted (the product's
		 * own, its pair's): lifting the quoted one alone would not
		 * reopen the product. */
		json_t *also = json_array();
		for (int on_pair = 0; on_pair <= 1; on_pair++) {
			int64_t fs;
			fxb_time fsince, funtil;
			int32_t idx =
			    on_pair ? d->cfg->products[i].pair : (int32_t)i;
			if (!breaker_force_status(d->engine, on_pair, idx, &fs,
			                          &fsince, &funtil))
				continue;
			if (held && fs == dec.suspension)
				force_notes(d, o, on_pair, idx, fs);
			if (fs == dec.suspension || !id_visible(d, fs))
				continue;
			json_array_append_new(
			    also, force_json(
			              d, "scope", on_pair ? "pair" : "product",
			              on_pair, idx, fs, fsince, funtil));
		}
		if (json_array_size(also) > 0)
			json_object_set_new(o, "also_forced", also);
		else
			json_decref(also);
		json_array_append_new(arr, o);
	}
}

/* A pair is suspended when an enforcing rule on it holds (for some side
 * or all) or an operator forced it; it lists what holds it. */
static void
status_pairs(struct daemon *d, json_t *arr)
{
	for (size_t p = 0; p < breaker_pair_count(d->engine); p++) {
		json_t *o = json_object(), *held = json_array();
		int64_t susp;
		fxb_time since, until;
		if (breaker_force_status(d->engine, true, (int32_t)p, &susp,
		                         &since, &until)) {
			json_array_append_new(
			    held, force_json(d, "kind", "forced", true,
			                     (int32_t)p, susp, since, until));
		}
		for (size_t i = 0; i < d->cfg->nrules; i++) {
			const struct breaker_rule_conf *c = &d->cfg->rules[i];
			struct breaker_rule_status st;
			if (!c->on_pair || c->owner != (int32_t)p || c->shadow)
				continue;
			breaker_rule_status(d->engine, (int32_t)i, &st);
			if (st.state != BREAKER_RULE_TRIPPED &&
			    st.state != BREAKER_RULE_STALE &&
			    st.state != BREAKER_RULE_NO_RATE &&
			    st.state != BREAKER_RULE_AWAITING_REFERENCE)
				continue;
			json_t *h = json_object();
			json_object_set_new(h, "rule", json_string(c->id));
			json_object_set_new(
			    h, "kind",
			    json_string(breaker_kind_name(c->kind)));
			json_object_set_new(
			    h, "state",
			    json_string(breaker_rule_state_name(st.state)));
			if (id_visible(d, st.suspension))
				json_object_set_new(
				    h, "suspension",
				    json_integer(st.suspension));
			json_object_set_new(h, "since",
			                    json_integer(st.since));
			if (st.until != FXB_NEVER)
				json_object_set_new(h, "until",
				                    json_integer(st.until));
			json_array_append_new(held, h);
		}
		json_object_set_new(o, "pair",
		                    json_string(d->cfg->pairs[p].name));
		json_object_set_new(o, "state",
		                    json_string(json_array_size(held) > 0
		                                    ? "suspended"
		                                    : "open"));
		json_object_set_new(o, "held_by", held);
		json_array_append_new(arr, o);
	}
}

/* The wall clock against the engine's: its offset now, the steps seen,
 * the latest, and how the clock started (mu held). */
static json_t *
status_clock(struct daemon *d)
{
	const struct timebase *tb = &d->tb;
	fxb_time wall = clock_now_ms();
	json_t *c = json_object();
	json_object_set_new(c, "wall", json_integer(wall));
	json_object_set_new(c, "offset_ms",
	                    json_integer(wall - breaker_now(d->engine)));
	json_object_set_new(c, "tolerance_ms",
	                    json_integer(d->svc.clock_step_tolerance));
	json_object_set_new(c, "started_at", json_integer(tb->anchor));
	if (tb->anchor > tb->start_wall)
		json_object_set_new(c, "started_behind_ms",
		                    json_integer(tb->anchor - tb->start_wall));
	json_object_set_new(c, "steps", json_integer((json_int_t)tb->steps));
	if (tb->steps > 0)
		json_object_set_new(
		    c, "last_step",
		    json_pack("{sI sI sI sI ss}", "t", (json_int_t)tb->last.at,
		              "from", (json_int_t)tb->last.from, "to",
		              (json_int_t)tb->last.to, "size_ms",
		              (json_int_t)tb->last.size_ms, "direction",
		              tb->last.back ? "back" : "forward"));
	return c;
}

/* What the watchdog says of the check socket (docs/PROTOCOL.md). */
static json_t *
check_socket_json(struct daemon *d, bool *silent)
{
	struct watchdog_state st;
	if (d->wd == NULL)
		return json_pack("{ss}", "state", "unwatched");
	watchdog_get(d->wd, &st);
	json_t *o =
	    json_pack("{ss}", "state", st.silent ? "silent" : "answering");
	json_object_set_new(o, "last_answer",
	                    st.last_answer > 0 ? json_integer(st.last_answer)
	                                       : json_null());
	if (st.silent) {
		json_object_set_new(o, "since", json_integer(st.since));
		json_object_set_new(o, "error", json_string(st.error));
	}
	*silent = st.silent;
	return o;
}

char *
status_reply(struct daemon *d, const char *ref)
{
	json_t *o = json_object(), *lg = json_object();
	json_t *products = json_array(), *rules = json_array();
	json_t *pairs = json_array(), *notices = json_array();

	pthread_mutex_lock(&d->mu);
	breaker_advance(d->engine, daemon_engine_now(d));
	/* Notice texts an operator edited: what customers see differs from
	 * the file. */
	for (size_t k = 0; k < d->nchanges; k++)
		if (d->changes[k].notice)
			json_array_append_new(
			    notices, json_pack("{ss ss ss}", "notice",
			                       d->changes[k].rule, "lang",
			                       d->changes[k].key, "text",
			                       d->changes[k].value));
	json_object_set_new(o, "service_id", json_string(d->svc.service_id));
	json_object_set_new(o, "now", json_integer(breaker_now(d->engine)));
	json_object_set_new(o, "clock", status_clock(d));
	status_pairs(d, pairs);
	status_products(d, products);
	status_rules(d, rules);
	pthread_mutex_unlock(&d->mu);

	pthread_mutex_lock(&d->qmu);
	bool ledger_degraded = d->degraded;
	json_object_set_new(lg, "state",
	                    json_string(d->degraded ? "degraded" : "ok"));
	json_object_set_new(lg, "committed_seq",
	                    json_integer(atomic_load(&d->committed)));
	json_object_set_new(lg, "queued", json_integer((json_int_t)d->nqueue));
	if (d->degraded)
		json_object_set_new(lg, "last_error",
		                    json_string(d->last_error));
	json_t *cn = json_pack("{sbsI}", "ok", d->note_failed == 0,
	                       "last_ok_seq", (json_int_t)d->note_ok_seq);
	if (d->note_failed > 0) {
		json_object_set_new(cn, "error", json_string(d->note_error));
		json_object_set_new(cn, "failed",
		                    json_integer((json_int_t)d->note_failed));
	}
	pthread_mutex_unlock(&d->qmu);

	json_object_set_new(o, "ledger", lg);
	json_object_set_new(o, "checkpoint_note", cn);
	struct fdwatch_state fs;
	fdwatch_read(d->fdw, &fs);
	json_t *fo = json_object();
	json_object_set_new(
	    fo, "open", fs.open >= 0 ? json_integer(fs.open) : json_null());
	json_object_set_new(
	    fo, "limit", fs.limit >= 0 ? json_integer(fs.limit) : json_null());
	json_object_set_new(fo, "state", json_string(fs.high ? "high" : "ok"));
	json_object_set_new(fo, "high_episodes",
	                    json_integer((json_int_t)fs.episodes));
	json_object_set_new(o, "fds", fo);
	bool silent = false;
	json_object_set_new(o, "check_socket", check_socket_json(d, &silent));
	/* One word for a dashboard: anything an operator must look at. */
	json_object_set_new(
	    o, "state",
	    json_string(ledger_degraded || silent ? "degraded" : "ok"));
	json_object_set_new(
	    o, "ticks",
	    json_pack(
	        "{sIsIsI}", "applied", (json_int_t)atomic_load(&d->ticks),
	        "refused", (json_int_t)atomic_load(&d->bad_ticks), "waits",
	        (json_int_t)(d->ipc != NULL ? ipc_server_tick_waits(d->ipc)
	                                    : 0)));
	json_object_set_new(o, "pairs", pairs);
	json_object_set_new(o, "products", products);
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "notices_changed", notices);
	if (ref != NULL)
		json_object_set_new(o, "ref", json_string(ref));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

void
status_ok_reply(struct daemon *d, struct ipc_call *call, const char *ref,
                bool ping)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	if (ping) {
		/* Under mu: a reload frees the old config. */
		pthread_mutex_lock(&d->mu);
		json_object_set_new(o, "service_id",
		                    json_string(d->svc.service_id));
		pthread_mutex_unlock(&d->mu);
		/* The clock signed commands are judged by. */
		json_object_set_new(o, "now",
		                    json_integer(timebase_now(&d->tb)));
	}
	if (ref != NULL)
		json_object_set_new(o, "ref", json_string(ref));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	daemon_send_reply(call, s);
	free(s);
}
