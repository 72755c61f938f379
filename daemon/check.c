/*
 * check.c: where a check, a batch of checks and a tick are decided and
 * answered (the check and tick sockets).  A check moves the engine's
 * clock, waits (parks) if its product's reopening is not written yet,
 * asks the engine, and answers: an allow at once, a deny quoting a new
 * suspension only once that suspension's row is written (park.c).  A
 * full log queue fails every check closed.  The answers' bytes are
 * ipc/ipc_reply.c's: this file decides, and fills in what they say.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_decimal.h"
#include "daemon_impl.h"
#include "ipc_wire.h"
#include "ipc_reply.h"

/* A decimal error as the client should read it. */
static void
decimal_message(char *msg, size_t cap, const char *field, const char *val,
                enum fxb_err e, int exponent)
{
	if (e == FXB_ERR_PRECISION && exponent >= 0)
		snprintf(msg, cap,
		         "%s \"%.40s\": at most %d fractional digits for this "
		         "product's currency",
		         field, val, exponent);
	else if (e == FXB_ERR_PRECISION)
		snprintf(msg, cap, "%s \"%.40s\": at most 8 fractional digits",
		         field, val);
	else if (e == FXB_ERR_RANGE && strpbrk(val, "123456789") == NULL)
		snprintf(msg, cap, "%s \"%.40s\": out of range (above 0)",
		         field, val);
	else if (e == FXB_ERR_RANGE) {
		/* Too large for int64 minor units (an amount) or 10^-9
		 * units with 8 digits kept (a price): say the real bound. */
		char max[BREAKER_DECIMAL_BUFSZ];
		if (exponent >= 0)
			breaker_decimal_format(max, INT64_MAX,
			                       (unsigned)exponent,
			                       (unsigned)exponent);
		else
			breaker_px_format(max, INT64_MAX / 10 * 10);
		snprintf(msg, cap, "%s \"%.40s\": out of range (at most %s)",
		         field, val, max);
	} else
		snprintf(msg, cap,
		         "%s \"%.40s\": not a decimal (digits[.digits])",
		         field, val);
}

/*
 * The notice a planned suspension will show its customers, rendered for
 * product as its deny will be once it starts: the [notice] it was
 * planned with, else the default forced one, {start} its start.  *ko and
 * *en are new; false if they could not be rendered (out of memory): the
 * answer goes without.
 */
static bool
upcoming_notice(struct daemon *d, const struct breaker_plan *p,
                const char *product, struct ipc_reply_notice *out, char **ko,
                char **en)
{
	const char *id = events_plan_notice(d, p->plan);
	const struct breaker_notice_conf *nc =
	    id != NULL ? onotice_conf(d->cfg, id) : NULL;
	struct notice_vars v = {
	    product, p->from, p->until, 0, NULL, NULL, d->svc.notice_tz_min};
	notice_reason(0, &v.reason_ko, &v.reason_en);
	*ko = notice_render(nc != NULL ? nc->ko : notice_default_ko, &v, true);
	*en =
	    notice_render(nc != NULL ? nc->en : notice_default_en, &v, false);
	*out =
	    (struct ipc_reply_notice){nc != NULL ? nc->id : "default-forced",
	                              *ko, *en, p->from, p->until};
	if (*ko != NULL && *en != NULL)
		return true;
	free(*ko);
	free(*en);
	*ko = *en = NULL;
	return false;
}

/* The reply to a check (mu held: reads the notice table). */
static char *
check_reply(struct daemon *d, const struct breaker_decision *dec,
            const char *product, const char *ref)
{
	const struct onotice *n =
	    dec->verdict == BREAKER_VERDICT_DENY && dec->suspension > 0
	        ? onotice_find(d, dec->suspension, NULL)
	        : NULL;
	struct ipc_reply_notice up;
	char *up_ko = NULL, *up_en = NULL;
	bool has_up =
	    dec->upcoming.plan > 0 &&
	    upcoming_notice(d, &dec->upcoming, product, &up, &up_ko, &up_en);
	char *ko = NULL, *en = NULL;
	struct ipc_reply_notice no;
	if (n != NULL) {
		struct notice_vars v;
		onotice_vars(d, n, product, &v);
		ko = notice_render(n->tpl_ko, &v, true);
		en = notice_render(n->tpl_en, &v, false);
		no = (struct ipc_reply_notice){n->id, ko, en, n->since,
		                               n->until};
	}
	/* A text that could not be rendered leaves the notice out, not the
	 * answer. */
	char *s = ipc_reply_check_upcoming(
	    dec, ko != NULL && en != NULL ? &no : NULL, has_up ? &up : NULL,
	    ref);
	free(ko);
	free(en);
	free(up_ko);
	free(up_en);
	return s;
}

/*
 * decide_check decides one check on product pi at now (mu held, the clock
 * advanced, pi's reopening written) and returns its answer: buf (an allow)
 * or a new string; *wait is the row the answer must wait for (a deny
 * quoting a new suspension), else 0.
 */
static char *
decide_check(struct daemon *d, fxb_time now, int32_t pi,
             const struct ipc_check *c, int64_t *wait,
             char buf[IPC_REPLY_ALLOW_MAX])
{
	char msg[256];
	int64_t amount, rate = 0;
	struct breaker_decision dec;
	enum fxb_err e = FXB_OK;

	*wait = 0;
	int exponent = breaker_product_exponent(d->engine, pi);
	if (c->rate != NULL &&
	    (e = breaker_px_parse(c->rate, strlen(c->rate), &rate)) != FXB_OK)
		decimal_message(msg, sizeof(msg), "rate", c->rate, e, -1);
	else if ((e = breaker_amount_parse(c->amount, strlen(c->amount),
	                                   exponent, &amount)) != FXB_OK)
		decimal_message(msg, sizeof(msg), "amount", c->amount, e,
		                exponent);
	else if ((e = breaker_check(d->engine, now, pi, amount, rate, &dec)) !=
	         FXB_OK)
		snprintf(msg, sizeof(msg), "%s", fxb_strerror(e));
	if (e != FXB_OK) {
		metrics_check_error(d, e);
		return ipc_reply_error(e, msg, c->ref);
	}
	metrics_check(d, pi, &dec);
	/* An allow before a planned suspension tells what is coming. */
	if (dec.verdict == BREAKER_VERDICT_ALLOW && dec.upcoming.plan <= 0)
		return ipc_reply_allow(c->ref, buf);
	if (dec.verdict == BREAKER_VERDICT_DENY && dec.suspension > 0) {
		*wait = dec.suspension;
		struct onotice *n = onotice_find(d, dec.suspension, NULL);
		if (n != NULL)
			n->denied++;
	}
	return check_reply(d, &dec, c->product, c->ref);
}

/* The product a check names, or -1 with its error answer in *err. */
static int32_t
check_product(struct daemon *d, const struct ipc_check *c, char **err)
{
	int32_t pi =
	    breaker_product_find(d->engine, c->product, strlen(c->product));
	if (pi < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "unknown product \"%.64s\"",
		         c->product);
		*err = ipc_reply_error(FXB_ERR_UNKNOWN_PRODUCT, msg, c->ref);
	}
	return pi;
}

/*
 * A cluster node that may not decide now (cluster_gate) answers the call
 * itself and returns true.  Asked once before parsing more of the
 * request, and again under mu just before deciding: a check that waited
 * for mu (a status build, a promotion) may find the lease run out or the
 * node demoted meanwhile.
 */
static bool
cluster_refused(struct daemon *d, struct ipc_call *call, const char *ref)
{
	char msg[256];
	const char *leader = NULL;
	enum fxb_err e = cluster_gate(d, msg, sizeof(msg), &leader);
	if (e == FXB_OK)
		return false;
	/* Only the leader decides; a follower says who does. */
	metrics_check_error(d, e);
	char *rep = ipc_error_reply_leader(e, msg, leader, ref);
	if (rep != NULL)
		daemon_send_reply(call, rep);
	else
		daemon_reply_error(call, e, msg, ref);
	free(rep);
	return true;
}

static void
do_check(struct daemon *d, struct ipc_call *call, const struct ipc_request *r,
         const char *raw, size_t rawlen)
{
	const struct ipc_check c = {r->product, r->amount, r->rate, r->ref};
	char *reply = NULL;
	int64_t wait = 0;

	if (atomic_load(&d->queued) >= QUEUE_SOFT_CAP) {
		/* The log is far behind: nothing new could be recorded, so
		 * fail closed for every check (docs/PROTOCOL.md). */
		metrics_checks_closed(d, 1);
		reply = ipc_reply_fail_closed(r->ref);
		daemon_send_reply(call, reply);
		free(reply);
		return;
	}
	pthread_mutex_lock(&d->mu);
	if (d->cluster != NULL && cluster_refused(d, call, r->ref)) {
		pthread_mutex_unlock(&d->mu);
		return;
	}
	int32_t pi = check_product(d, &c, &reply);
	if (pi < 0) {
		pthread_mutex_unlock(&d->mu);
		metrics_check_error(d, FXB_ERR_UNKNOWN_PRODUCT);
		daemon_send_reply(call, reply);
		free(reply);
		return;
	}
	/* Move the clock first: a timed end due now must gate this very
	 * check (its reopening row is queued by the advance). */
	fxb_time now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	int64_t gate = gate_seq(&d->gate, pi);
	if (gate > atomic_load(&d->committed)) {
		/* The product's reopening is not written yet: decide this
		 * check only once it is, so that an answer that might be a
		 * fail-closed deny is never counted as volume. */
		pthread_mutex_unlock(&d->mu);
		daemon_park(d, call, gate, NULL, raw, rawlen, r->ref);
		return;
	}
	char buf[IPC_REPLY_ALLOW_MAX];
	reply = decide_check(d, now, pi, &c, &wait, buf);
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	if (wait == 0) { /* nothing to wait for: no queue lock either */
		daemon_send_reply(call, reply);
		if (reply != buf)
			free(reply);
		return;
	}
	park_reply(d, call, reply, wait, r->ref);
}

/*
 * do_check_batch decides r's checks in order, as if each came alone, and
 * answers them in one reply.  Every product's reopening must be written
 * first (else the whole batch waits and is decided afterwards); the reply
 * waits for the newest row any of its denies quotes.
 */
static void
do_check_batch(struct daemon *d, struct ipc_call *call,
               const struct ipc_request *r, const char *raw, size_t rawlen)
{
	int32_t pi[IPC_BATCH_MAX];
	char *err[IPC_BATCH_MAX] = {NULL};
	int64_t gate = 0, wait = 0;

	if (atomic_load(&d->queued) >= QUEUE_SOFT_CAP) {
		metrics_checks_closed(d, (unsigned)r->nchecks);
		char *reply = ipc_reply_batch_fail_closed(r);
		daemon_send_reply(call, reply);
		free(reply);
		return;
	}
	pthread_mutex_lock(&d->mu);
	if (d->cluster != NULL && cluster_refused(d, call, r->ref)) {
		pthread_mutex_unlock(&d->mu);
		return;
	}
	fxb_time now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	for (size_t i = 0; i < r->nchecks; i++) {
		pi[i] = check_product(d, &r->checks[i], &err[i]);
		/* Their cache misses overlap instead of queueing. */
		breaker_prefetch(d->engine, pi[i]);
		if (pi[i] >= 0 && gate_seq(&d->gate, pi[i]) > gate)
			gate = gate_seq(&d->gate, pi[i]);
	}
	if (gate > atomic_load(&d->committed)) {
		pthread_mutex_unlock(&d->mu);
		for (size_t i = 0; i < r->nchecks; i++)
			free(err[i]);
		struct park_redo redo = {d->check_redo, d, raw, rawlen,
		                         (unsigned)r->nchecks};
		park(d, call, gate, NULL, &redo, r->ref,
		     ipc_reply_batch_fail_closed(r));
		return;
	}
	struct ipc_reply_batch out = IPC_REPLY_BATCH_INIT;
	for (size_t i = 0; i < r->nchecks; i++) {
		int64_t w = 0;
		char buf[IPC_REPLY_ALLOW_MAX];
		if (pi[i] < 0) /* counted here, not if the batch parks */
			metrics_check_error(d, FXB_ERR_UNKNOWN_PRODUCT);
		char *one = pi[i] < 0 ? err[i]
		                      : decide_check(d, now, pi[i],
		                                     &r->checks[i], &w, buf);
		ipc_reply_batch_add(&out, one);
		if (one != buf)
			free(one);
		if (w > wait)
			wait = w;
	}
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	char *reply = ipc_reply_batch_end(&out, r->ref);
	park(d, call, wait, reply, NULL, r->ref,
	     wait > 0 ? ipc_reply_batch_fail_closed(r) : NULL);
}

/* A tick from either socket; returns 0 or an error (msg says why). */
static enum fxb_err
apply_tick(struct daemon *d, const struct ipc_request *r, char *msg,
           size_t cap)
{
	int64_t px = 0, bid = 0, ask = 0;
	enum fxb_err e = FXB_OK;
	const char *bad = NULL, *field = NULL;

	if (r->px != NULL && (e = breaker_px_parse(r->px, strlen(r->px), &px)))
		bad = r->px, field = "px";
	else if (r->bid != NULL &&
	         (e = breaker_px_parse(r->bid, strlen(r->bid), &bid)))
		bad = r->bid, field = "bid";
	else if (r->ask != NULL &&
	         (e = breaker_px_parse(r->ask, strlen(r->ask), &ask)))
		bad = r->ask, field = "ask";
	if (bad != NULL) {
		decimal_message(msg, cap, field, bad, e, -1);
		metrics_tick_refused(d, e);
		return e;
	}
	if (atomic_load(&d->stopping)) {
		snprintf(msg, cap, "the service is stopping");
		metrics_tick_refused(d, FXB_ERR_SHUTDOWN);
		return FXB_ERR_SHUTDOWN;
	}
	if (atomic_load(&d->queued) >= QUEUE_SOFT_CAP) {
		snprintf(msg, cap, "the suspension log queue is full");
		metrics_tick_refused(d, FXB_ERR_BUSY);
		return FXB_ERR_BUSY;
	}
	pthread_mutex_lock(&d->mu);
	int32_t pi = breaker_pair_find(d->engine, r->pair, strlen(r->pair));
	if (pi < 0) {
		pthread_mutex_unlock(&d->mu);
		snprintf(msg, cap, "unknown pair \"%.16s\"", r->pair);
		metrics_tick_refused(d, FXB_ERR_UNKNOWN_PAIR);
		return FXB_ERR_UNKNOWN_PAIR;
	}
	fxb_time now = daemon_engine_now(d);
	e = r->px != NULL ? breaker_tick(d->engine, now, pi, px)
	                  : breaker_quote(d->engine, now, pi, bid, ask);
	/* A quote's rate is its mid, as the engine's events show it. */
	int64_t rate =
	    r->px != NULL ? px : (int64_t)(((fxb_i128)bid + ask) / 2);
	metrics_tick(d, pi, now, rate, e);
	if (e == FXB_OK) /* the board's chart */
		board_tick(d, pi, now, rate);
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	if (e != FXB_OK)
		snprintf(msg, cap, "%s", fxb_strerror(e));
	else
		atomic_fetch_add_explicit(&d->ticks, 1, memory_order_relaxed);
	return e;
}

void
check_on_request(void *arg, struct ipc_call *call, const char *buf, size_t len)
{
	struct daemon *d = arg;
	struct ipc_request r;
	char msg[256];
	enum fxb_err e = ipc_request_parse(buf, len, IPC_SOCKET_CHECK, &r, msg,
	                                   sizeof(msg));

	if (e == FXB_OK)
		ipc_call_set_tag(call, (unsigned)r.op);
	if (e == FXB_OK && atomic_load(&d->stopping)) {
		e = FXB_ERR_SHUTDOWN;
		snprintf(msg, sizeof(msg), "the service is stopping");
	}
	if (e == FXB_OK &&
	    (r.op == IPC_OP_CHECK || r.op == IPC_OP_CHECK_BATCH) &&
	    cluster_refused(d, call, r.ref)) {
		ipc_request_free(&r);
		return;
	}
	if (e != FXB_OK) {
		/* A tick's refusals are the ticks' (ticks_refused). */
		if (r.op == IPC_OP_TICK)
			metrics_tick_refused(d, e);
		else
			metrics_check_error(d, e);
		daemon_reply_error(call, e, msg, r.ref);
	} else if (r.op == IPC_OP_CHECK) {
		do_check(d, call, &r, buf, len);
	} else if (r.op == IPC_OP_CHECK_BATCH) {
		do_check_batch(d, call, &r, buf, len);
	} else if (r.op == IPC_OP_TICK) {
		if ((e = apply_tick(d, &r, msg, sizeof(msg))) != FXB_OK)
			daemon_reply_error(call, e, msg, r.ref);
		else
			status_ok_reply(d, call, r.ref, false);
	} else {
		status_ok_reply(d, call, r.ref, true);
	}
	ipc_request_free(&r);
}

void
check_on_tick(void *arg, const char *buf, size_t len)
{
	struct daemon *d = arg;
	struct ipc_request r;
	char msg[256];
	int64_t t0 = timebase_mono_ns();
	enum fxb_err e =
	    ipc_request_parse(buf, len, IPC_SOCKET_TICK, &r, msg, sizeof(msg));
	if (e == FXB_OK)
		e = apply_tick(d, &r, msg, sizeof(msg));
	else
		metrics_tick_refused(d, e);
	ipc_request_free(&r);
	/* No reply on PULL: timed to the tick applied. */
	metrics_request(d, IPC_OP_TICK, (uint64_t)(timebase_mono_ns() - t0));
	if (e != FXB_OK) {
		/* No reply on PULL: count, and say so at most once a
		 * second. */
		static _Atomic fxb_time last_said;
		uint64_t n = atomic_fetch_add(&d->bad_ticks, 1) + 1;
		fxb_time now = timebase_mono_ns() / 1000000;
		if (now - atomic_load(&last_said) >= 1000) {
			atomic_store(&last_said, now);
			/* The message quotes the sender's bytes: no control
			 * characters reach the log (no forged lines). */
			for (char *c = msg; *c != '\0'; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
			log_warn("bad tick (%llu so far): %s",
			         (unsigned long long)n, msg);
		}
	}
}
