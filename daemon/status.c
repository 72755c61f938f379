/*
 * status.c: what the admin socket's status shows (docs/PROTOCOL.md): the
 * pairs, products and rules with what holds them, the log's state, the
 * clocks, the descriptors, the watchdog's view of the check socket; and
 * the short "ok" answer of a ping or a tick.  A suspension id is shown
 * only once its row is written.  This file reads the state, each part
 * under the lock that guards it; ipc/ipc_reply_status.c writes the JSON
 * (ipc/ipc_reply.c the "ok").
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "ipc_reply.h"

/* A suspension id may be shown only once its row is written (status too:
 * an id that never committed could be reused after a restart). */
static bool
id_visible(struct daemon *d, int64_t id)
{
	return id > 0 && id <= atomic_load(&d->committed);
}

/* A suspension id as status may show it: 0 (none) until its row is
 * written. */
static int64_t
visible(struct daemon *d, int64_t id)
{
	return id_visible(d, id) ? id : 0;
}

/* The rules, each with the trip levels an operator changed (ch: room for
 * every change). */
static void
status_rules(struct daemon *d, struct ipc_reply_status *rep,
             struct ipc_status_change *ch)
{
	for (size_t i = 0; i < breaker_rule_count(d->engine); i++) {
		const struct breaker_rule_conf *c = &d->cfg->rules[i];
		struct breaker_rule_status st;
		breaker_rule_status(d->engine, (int32_t)i, &st);
		/* Trip levels an operator changed: what is in force now
		 * differs from the file. */
		size_t nch = 0;
		for (size_t k = 0; k < d->nchanges; k++)
			if (!d->changes[k].notice &&
			    strcmp(d->changes[k].rule, c->id) == 0)
				ch[nch++] = (struct ipc_status_change){
				    d->changes[k].key, d->changes[k].value};
		const struct ipc_status_rule r = {
		    .rule = c->id,
		    .kind = breaker_kind_name(c->kind),
		    .scope = c->on_pair ? d->cfg->pairs[c->owner].name
		                        : d->cfg->products[c->owner].id,
		    .on_pair = c->on_pair,
		    .shadow = c->shadow,
		    .state = breaker_rule_state_name(st.state),
		    .since = st.since,
		    .until = st.until,
		    .suspension = visible(d, st.suspension),
		    .latched = st.latched,
		    .changed = ch,
		    .nchanged = nch,
		};
		ipc_reply_status_rule(rep, &r);
	}
}

/* What ops see of a force and customers do not: the operator's reason
 * ("... (by NAME)") and the id of the notice customers are shown. */
static void
force_notes(struct daemon *d, bool on_pair, int32_t idx, int64_t susp,
            const char **why, const char **notice)
{
	const struct onotice *n = onotice_find(d, susp, NULL);
	*why = breaker_force_reason(d->engine, on_pair, idx);
	*notice = n != NULL ? n->id : NULL;
}

/* An operator's force in status. */
static struct ipc_status_force
force_of(struct daemon *d, bool on_pair, int32_t idx, int64_t susp,
         fxb_time since, fxb_time until)
{
	struct ipc_status_force f = {
	    on_pair, visible(d, susp), since, until, NULL, NULL};
	force_notes(d, on_pair, idx, susp, &f.operator_reason, &f.notice);
	return f;
}

static void
status_products(struct daemon *d, struct ipc_reply_status *rep)
{
	for (size_t i = 0; i < breaker_product_count(d->engine); i++) {
		struct breaker_decision dec;
		fxb_time since;
		breaker_product_status(d->engine, (int32_t)i, &dec, &since);
		bool held = dec.verdict != BREAKER_VERDICT_ALLOW;
		struct ipc_status_product p = {
		    .product = d->cfg->products[i].id,
		    .pair = d->cfg->pairs[d->cfg->products[i].pair].name,
		    .held = held,
		    /* Reopened in memory but not yet in the log: not open. */
		    .unlogged =
		        !held && !gate_open(&d->gate, (int32_t)i,
		                            atomic_load(&d->committed)),
		    .reason = breaker_reason_name(dec.reason),
		    .rule = dec.rule,
		    .kind = breaker_kind_name(dec.kind),
		    .suspension = visible(d, dec.suspension),
		    .since = since,
		    .until = dec.retry_after_ms >= 0
		                 ? breaker_now(d->engine) + dec.retry_after_ms
		                 : FXB_NEVER,
		};
		/* Forced suspensions behind the one quoted (the product's
		 * own, its pair's): lifting the quoted one alone would not
		 * reopen the product. */
		struct ipc_status_force also[2];
		for (int on_pair = 0; on_pair <= 1; on_pair++) {
			int64_t fs;
			fxb_time fsince, funtil;
			int32_t idx =
			    on_pair ? d->cfg->products[i].pair : (int32_t)i;
			if (!breaker_force_status(d->engine, on_pair, idx, &fs,
			                          &fsince, &funtil))
				continue;
			if (held && fs == dec.suspension)
				force_notes(d, on_pair, idx, fs,
				            &p.operator_reason, &p.notice);
			if (fs == dec.suspension || !id_visible(d, fs))
				continue;
			also[p.nalso++] =
			    force_of(d, on_pair, idx, fs, fsince, funtil);
		}
		p.also = also;
		ipc_reply_status_product(rep, &p);
	}
}

/* The ledger's state as status and the board show it (qmu held: the
 * strings are the daemon's until it is released). */
void
status_ledger(struct daemon *d, struct ipc_status_ledger *lg)
{
	*lg = (struct ipc_status_ledger){
	    .degraded = d->degraded,
	    .committed_seq = atomic_load(&d->committed),
	    .queued = d->nqueue,
	    .last_error = d->last_error,
	    .note_ok_seq = d->note_ok_seq,
	    .note_failed = d->note_failed,
	    .note_error = d->note_error,
	};
}

/* A pair is suspended when an enforcing rule on it holds (for some side
 * or all) or an operator forced it; it lists what holds it (holds: room
 * for every rule it is given). */
void
status_pair(struct daemon *d, int32_t p, const int32_t *rules, size_t nrules,
            struct ipc_status_hold *holds, struct ipc_status_force *forced,
            struct ipc_status_pair *o)
{
	*o = (struct ipc_status_pair){d->cfg->pairs[p].name, NULL, holds, 0};
	int64_t susp;
	fxb_time since, until;
	if (breaker_force_status(d->engine, true, p, &susp, &since, &until)) {
		*forced = force_of(d, true, p, susp, since, until);
		o->forced = forced;
	}
	for (size_t k = 0; k < (rules != NULL ? nrules : d->cfg->nrules);
	     k++) {
		size_t i = rules != NULL ? (size_t)rules[k] : k;
		const struct breaker_rule_conf *c = &d->cfg->rules[i];
		struct breaker_rule_status st;
		if (!c->on_pair || c->owner != p || c->shadow)
			continue;
		breaker_rule_status(d->engine, (int32_t)i, &st);
		if (st.state != BREAKER_RULE_TRIPPED &&
		    st.state != BREAKER_RULE_STALE &&
		    st.state != BREAKER_RULE_NO_RATE &&
		    st.state != BREAKER_RULE_AWAITING_REFERENCE)
			continue;
		holds[o->nholds++] = (struct ipc_status_hold){
		    .rule = c->id,
		    .kind = breaker_kind_name(c->kind),
		    .state = breaker_rule_state_name(st.state),
		    .suspension = visible(d, st.suspension),
		    .since = st.since,
		    .until = st.until,
		};
	}
}

static void
status_pairs(struct daemon *d, struct ipc_reply_status *rep,
             struct ipc_status_hold *holds)
{
	for (size_t p = 0; p < breaker_pair_count(d->engine); p++) {
		struct ipc_status_pair o;
		struct ipc_status_force forced;
		status_pair(d, (int32_t)p, NULL, 0, holds, &forced, &o);
		ipc_reply_status_pair(rep, &o);
	}
}

/* The wall clock against the engine's: its offset now, the steps seen,
 * the latest, and how the clock started (mu held). */
static void
status_clock(struct daemon *d, struct ipc_status_clock *c)
{
	const struct timebase *tb = &d->tb;
	fxb_time wall = clock_now_ms();
	*c = (struct ipc_status_clock){
	    .wall = wall,
	    .offset_ms = wall - breaker_now(d->engine),
	    .tolerance_ms = d->svc.clock_step_tolerance,
	    .started_at = tb->anchor,
	    .started_behind_ms =
	        tb->anchor > tb->start_wall ? tb->anchor - tb->start_wall : 0,
	    .steps = tb->steps,
	    .last_step = {tb->last.at, tb->last.from, tb->last.to,
	                  tb->last.size_ms, tb->last.back},
	};
}

void
status_calendar(struct daemon *d, size_t i, struct ipc_status_calendar *out)
{
	const struct breaker_calendar_conf *c =
	    breaker_calendar_conf(d->engine, i);
	fxb_time next = FXB_NEVER;
	int to = BREAKER_SESSION_OFF;
	int now = breaker_calendar_state(d->engine, i, &next, &to);
	*out = (struct ipc_status_calendar){
	    .calendar = c->id,
	    .utc_offset_min = c->utc_offset_min,
	    .session = breaker_calendar_session_name(c, now),
	    .next = next,
	    .next_session = breaker_calendar_session_name(c, to),
	};
}

bool
status_plan(struct daemon *d, bool on_pair, int32_t idx,
            struct ipc_status_plan *out)
{
	struct breaker_plan p;
	if (!breaker_plan_status(d->engine, on_pair, idx, &p))
		return false;
	*out = (struct ipc_status_plan){
	    .plan = visible(d, p.plan),
	    .scope =
	        on_pair ? d->cfg->pairs[idx].name : d->cfg->products[idx].id,
	    .on_pair = on_pair,
	    .from = p.from,
	    .until = p.until,
	    .reason = p.reason,
	    .notice = events_plan_notice(d, p.plan),
	};
	return true;
}

/* Each calendar's session, and every plan not started: pairs' first,
 * then products', each in config order (mu held). */
static void
status_calendars_plans(struct daemon *d, struct ipc_reply_status *rep)
{
	struct ipc_status_calendar c;
	struct ipc_status_plan p;
	for (size_t i = 0; i < breaker_calendar_count(d->engine); i++) {
		status_calendar(d, i, &c);
		ipc_reply_status_calendar(rep, &c);
	}
	for (size_t i = 0; i < breaker_pair_count(d->engine); i++)
		if (status_plan(d, true, (int32_t)i, &p))
			ipc_reply_status_plan(rep, &p);
	for (size_t i = 0; i < breaker_product_count(d->engine); i++)
		if (status_plan(d, false, (int32_t)i, &p))
			ipc_reply_status_plan(rep, &p);
}

/* What the engine holds, in parts (mu held); false if out of memory. */
static bool
status_engine(struct daemon *d, struct ipc_reply_status *rep)
{
	/* Room for a pair's holds and a rule's changes, reused by each. */
	struct ipc_status_hold *holds =
	    calloc(d->cfg->nrules > 0 ? d->cfg->nrules : 1, sizeof(*holds));
	struct ipc_status_change *ch =
	    calloc(d->nchanges > 0 ? d->nchanges : 1, sizeof(*ch));
	bool ok = holds != NULL && ch != NULL;
	if (ok) {
		struct ipc_status_clock clock;
		/* Notice texts an operator edited: what customers see
		 * differs from the file. */
		for (size_t k = 0; k < d->nchanges; k++)
			if (d->changes[k].notice)
				ipc_reply_status_notice_changed(
				    rep, d->changes[k].rule, d->changes[k].key,
				    d->changes[k].value);
		status_clock(d, &clock);
		ipc_reply_status_service(rep, d->svc.service_id,
		                         breaker_now(d->engine), &clock);
		/* A follower's engine sees the feed, not the checks, and
		 * its events are not the log's: what holds a product is the
		 * leader's to say (its status; "cluster" names it). */
		if (atomic_load(&d->role) != ROLE_FOLLOWER) {
			status_pairs(d, rep, holds);
			status_products(d, rep);
			status_rules(d, rep, ch);
			status_calendars_plans(d, rep);
		}
	}
	free(holds);
	free(ch);
	return ok;
}

char *
status_reply(struct daemon *d, const char *ref)
{
	struct ipc_reply_status *rep = ipc_reply_status_new();
	if (rep == NULL)
		return NULL;

	pthread_mutex_lock(&d->mu);
	breaker_advance(d->engine, daemon_engine_now(d));
	bool ok = status_engine(d, rep);
	pthread_mutex_unlock(&d->mu);
	if (!ok) {
		ipc_reply_status_free(rep);
		return NULL;
	}

	pthread_mutex_lock(&d->qmu);
	struct ipc_status_ledger lg;
	status_ledger(d, &lg);
	ipc_reply_status_ledger(rep, &lg);
	pthread_mutex_unlock(&d->qmu);

	struct cluster_view cv;
	if (cluster_view(d, &cv))
		ipc_reply_status_cluster(rep, &cv.c);

	struct fdwatch_state fs;
	fdwatch_read(d->fdw, &fs);
	const struct ipc_status_fds fds = {fs.open, fs.limit, fs.high,
	                                   fs.episodes};
	/* What the watchdog says of the check socket (docs/PROTOCOL.md). */
	struct ipc_status_socket sock = {false, false, 0, 0, NULL};
	struct watchdog_state ws;
	if (d->wd != NULL) {
		watchdog_get(d->wd, &ws);
		sock = (struct ipc_status_socket){
		    true, ws.silent, ws.last_answer, ws.since, ws.error};
	}
	const struct ipc_status_ticks ticks = {
	    atomic_load(&d->ticks), atomic_load(&d->bad_ticks),
	    d->ipc != NULL ? ipc_server_tick_waits(d->ipc) : 0};
	return ipc_reply_status_end(rep, &fds, &sock, &ticks, ref);
}

void
status_ok_reply(struct daemon *d, struct ipc_call *call, const char *ref,
                bool ping)
{
	char *s;
	if (ping) {
		/* The clock signed commands are judged by; the service id
		 * under mu, as a reload replaces it. */
		fxb_time now = timebase_now(&d->tb);
		pthread_mutex_lock(&d->mu);
		s = ipc_reply_ping(d->svc.service_id, now, ref);
		pthread_mutex_unlock(&d->mu);
	} else {
		s = ipc_reply_ok(ref);
	}
	daemon_send_reply(call, s);
	free(s);
}
