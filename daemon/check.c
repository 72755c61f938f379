/*
 * check.c: where a check, a batch of checks and a tick are decided and
 * answered (the check and tick sockets).  A check moves the engine's
 * clock, waits (parks) if its product's reopening is not written yet,
 * asks the engine, and answers: an allow at once, a deny quoting a new
 * suspension only once that suspension's row is written (park.c).  A
 * full log queue fails every check closed.
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_decimal.h"
#include "daemon_impl.h"
#include "ipc_json.h"

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

/* The reply to a check (mu held: reads the notice table). */
static char *
check_reply(struct daemon *d, const struct breaker_decision *dec,
            const char *product, const char *ref)
{
	json_t *o = ipc_decision_json(dec);
	char *s = NULL;
	if (o == NULL)
		return NULL;
	json_object_del(o, "notice");
	const struct onotice *n =
	    dec->verdict == BREAKER_VERDICT_DENY && dec->suspension > 0
	        ? onotice_find(d, dec->suspension, NULL)
	        : NULL;
	if (n != NULL) {
		struct notice_vars v;
		onotice_vars(d, n, product, &v);
		char *ko = notice_render(n->tpl_ko, &v, true);
		char *en = notice_render(n->tpl_en, &v, false);
		json_t *no = json_object();
		if (no != NULL && ko != NULL && en != NULL) {
			json_object_set_new(no, "id", json_string(n->id));
			json_object_set_new(no, "ko", json_string(ko));
			json_object_set_new(no, "en", json_string(en));
			json_object_set_new(no, "since",
			                    json_integer(n->since));
			if (n->until != FXB_NEVER)
				json_object_set_new(no, "until",
				                    json_integer(n->until));
			json_object_set_new(o, "notice", no);
		} else {
			json_decref(no);
		}
		free(ko);
		free(en);
	}
	if (ref != NULL)
		json_object_set_new(o, "ref", json_string(ref));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* An error answer as text: ipc_error_reply, and if msg cannot be encoded
 * (not UTF-8), the code's own text. */
static char *
error_text(enum fxb_err code, const char *msg, const char *ref)
{
	char *r = ipc_error_reply(code, msg, ref);
	return r != NULL ? r : ipc_error_reply(code, fxb_strerror(code), ref);
}

/* Room for an allow's reply with the longest ref. */
#define ALLOW_REPLY_MAX (40 + IPC_REF_MAX)

/*
 * An allow is most replies: written by hand into buf (no JSON library, no
 * allocation), unless the ref needs escaping -- only a ref the general
 * parser read can -- when jansson writes it.  Returns buf or a new string.
 */
static char *
allow_reply(const char *ref, char buf[ALLOW_REPLY_MAX])
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
	if (!plain) {
		char *s = NULL;
		json_t *o =
		    json_pack("{ssss}", "decision", "allow", "ref", ref);
		if (o != NULL)
			s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		return s;
	}
	memcpy(buf, head, h);
	memcpy(buf + h, with_ref, w);
	memcpy(buf + h + w, ref, n);
	memcpy(buf + h + w + n, "\"}", 3);
	return buf;
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
             char buf[ALLOW_REPLY_MAX])
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
	if (e != FXB_OK)
		return error_text(e, msg, c->ref);
	if (dec.verdict == BREAKER_VERDICT_ALLOW)
		return allow_reply(c->ref, buf);
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
		*err = error_text(FXB_ERR_UNKNOWN_PRODUCT, msg, c->ref);
	}
	return pi;
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
		reply = daemon_fail_closed_reply(r->ref);
		daemon_send_reply(call, reply);
		free(reply);
		return;
	}
	pthread_mutex_lock(&d->mu);
	int32_t pi = check_product(d, &c, &reply);
	if (pi < 0) {
		pthread_mutex_unlock(&d->mu);
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
	char buf[ALLOW_REPLY_MAX];
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

/* A batch's reply, built as text: each answer is already JSON, so the
 * batch is their concatenation ({"results":[a,b,...],"ref":...}). */
struct batch_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void
batch_put(struct batch_out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap == 0 ? 4096 : o->cap;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (b == NULL) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* Appends one answer (NULL: out of memory, said in its place). */
static void
batch_add(struct batch_out *o, size_t i, const char *s)
{
	static const char nomem[] =
	    "{\"error\":{\"code\":1,\"name\":\"nomem\",\"message\":\"out of "
	    "memory\"}}";
	if (i == 0)
		batch_put(o, "{\"results\":[", 12);
	else
		batch_put(o, ",", 1);
	if (s == NULL)
		s = nomem;
	batch_put(o, s, strlen(s));
}

/* Ends the reply and returns it (NULL on out of memory). */
static char *
batch_end(struct batch_out *o, const char *ref)
{
	batch_put(o, "]", 1);
	if (ref != NULL) {
		json_t *j = json_string(ref);
		char *s = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		batch_put(o, ",\"ref\":", 7);
		if (s == NULL)
			o->oom = true;
		else
			batch_put(o, s, strlen(s));
		free(s);
	}
	batch_put(o, "}", 1);
	if (o->oom) {
		free(o->buf);
		return NULL;
	}
	return o->buf;
}

/* A batch's fail-closed answer: each check denied, ledger_unavailable. */
static char *
batch_fail_closed(const struct ipc_request *r)
{
	struct batch_out o = {NULL, 0, 0, false};
	for (size_t i = 0; i < r->nchecks; i++) {
		char *s = daemon_fail_closed_reply(r->checks[i].ref);
		batch_add(&o, i, s);
		free(s);
	}
	return batch_end(&o, r->ref);
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
		char *reply = batch_fail_closed(r);
		daemon_send_reply(call, reply);
		free(reply);
		return;
	}
	pthread_mutex_lock(&d->mu);
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
		struct park_redo redo = {d->check_redo, d, raw, rawlen};
		park(d, call, gate, NULL, &redo, r->ref, batch_fail_closed(r));
		return;
	}
	struct batch_out out = {NULL, 0, 0, false};
	for (size_t i = 0; i < r->nchecks; i++) {
		int64_t w = 0;
		char buf[ALLOW_REPLY_MAX];
		char *one = pi[i] < 0 ? err[i]
		                      : decide_check(d, now, pi[i],
		                                     &r->checks[i], &w, buf);
		batch_add(&out, i, one);
		if (one != buf)
			free(one);
		if (w > wait)
			wait = w;
	}
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	char *reply = batch_end(&out, r->ref);
	park(d, call, wait, reply, NULL, r->ref,
	     wait > 0 ? batch_fail_closed(r) : NULL);
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
		return e;
	}
	if (atomic_load(&d->stopping)) {
		snprintf(msg, cap, "the service is stopping");
		return FXB_ERR_SHUTDOWN;
	}
	if (atomic_load(&d->queued) >= QUEUE_SOFT_CAP) {
		snprintf(msg, cap, "the suspension log queue is full");
		return FXB_ERR_BUSY;
	}
	pthread_mutex_lock(&d->mu);
	int32_t pi = breaker_pair_find(d->engine, r->pair, strlen(r->pair));
	if (pi < 0) {
		pthread_mutex_unlock(&d->mu);
		snprintf(msg, cap, "unknown pair \"%.16s\"", r->pair);
		return FXB_ERR_UNKNOWN_PAIR;
	}
	fxb_time now = daemon_engine_now(d);
	e = r->px != NULL ? breaker_tick(d->engine, now, pi, px)
	                  : breaker_quote(d->engine, now, pi, bid, ask);
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

	if (e == FXB_OK && atomic_load(&d->stopping)) {
		e = FXB_ERR_SHUTDOWN;
		snprintf(msg, sizeof(msg), "the service is stopping");
	}
	if (e != FXB_OK) {
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
	enum fxb_err e =
	    ipc_request_parse(buf, len, IPC_SOCKET_TICK, &r, msg, sizeof(msg));
	if (e == FXB_OK)
		e = apply_tick(d, &r, msg, sizeof(msg));
	ipc_request_free(&r);
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
