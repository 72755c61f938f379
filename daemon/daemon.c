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

/* ---- the clock ---- */

/* "3h0m0.250s": a step's size for a person reading stderr. */
static void
step_size_text(char *buf, size_t cap, int64_t ms)
{
	snprintf(buf, cap, "%lldh%lldm%lld.%03llds", (long long)(ms / 3600000),
	         (long long)(ms / 60000 % 60), (long long)(ms / 1000 % 60),
	         (long long)(ms % 1000));
}

/* A clock_step row: the wall clock moved against the engine's (mu held).
 * Rows keep engine time; this row is how a reader maps them back to the
 * wall clock of the moment. */
static void
log_clock_step(struct daemon *d, const struct timebase_step *st)
{
	char size[48];
	json_t *o = json_object();
	json_object_set_new(o, "from", json_integer(st->from));
	json_object_set_new(o, "to", json_integer(st->to));
	json_object_set_new(o, "size_ms", json_integer(st->size_ms));
	json_object_set_new(o, "direction",
	                    json_string(st->back ? "back" : "forward"));
	json_object_set_new(o, "engine", json_integer(st->at));
	json_object_set_new(o, "offset_ms", json_integer(st->offset_ms));
	json_object_set_new(
	    o, "tolerance_ms",
	    json_integer(d->cfg->service.clock_step_tolerance));
	char *detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	step_size_text(size, sizeof(size), st->size_ms);
	log_warn("the wall clock stepped %s by %s (wall now %+lld ms from the "
	         "service's clock): the service keeps its own clock, so rows "
	         "stay in order and timed ends keep their durations",
	         st->back ? "back" : "forward", size,
	         (long long)st->offset_ms);
	events_service(d, "clock_step", detail != NULL ? detail : "{}");
	free(detail);
}

/* A clock_behind row at start: the wall clock reads earlier than the
 * log's latest row, so the engine starts at the log's time (mu held). */
static void
log_clock_behind(struct daemon *d)
{
	const struct timebase *tb = &d->tb;
	char size[48];
	json_t *o = json_object();
	json_object_set_new(o, "wall", json_integer(tb->start_wall));
	json_object_set_new(o, "ledger_last", json_integer(tb->ledger_last));
	json_object_set_new(o, "behind_ms",
	                    json_integer(tb->ledger_last - tb->start_wall));
	json_object_set_new(o, "engine", json_integer(tb->anchor));
	char *detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	step_size_text(size, sizeof(size), tb->ledger_last - tb->start_wall);
	log_warn("the wall clock is %s behind the log's latest row: the "
	         "service starts its clock at the log's time",
	         size);
	events_service(d, "clock_behind", detail != NULL ? detail : "{}");
	free(detail);
}

/* The engine's clock runs on CLOCK_MONOTONIC from its start anchor
 * (timebase.c): it never goes back.  The wall clock is read against it
 * by the timer thread, not here: this is every check's path. */
fxb_time
daemon_engine_now(struct daemon *d)
{
	fxb_time now = timebase_now(&d->tb), t = breaker_now(d->engine);
	return now > t ? now : t;
}

/* A wall clock step is logged within the timer's second (mu held). */
static void
clock_watch(struct daemon *d, fxb_time now)
{
	struct timebase_step st;
	if (timebase_check(&d->tb, now, clock_now_ms(),
	                   d->cfg->service.clock_step_tolerance, &st))
		log_clock_step(d, &st);
}

/* After a call that may have armed an earlier timer (mu held). */
void
daemon_timer_poke(struct daemon *d)
{
	if (breaker_next_timer(d->engine) < d->timer_target)
		pthread_cond_signal(&d->tcv);
}

static void *
timer_main(void *arg)
{
	struct daemon *d = arg;
	pthread_mutex_lock(&d->mu);
	while (!d->timer_stop) {
		fxb_time now = daemon_engine_now(d);
		clock_watch(d, now);
		breaker_advance(d->engine, now);
		fxb_time next = breaker_next_timer(d->engine);
		d->timer_target = next < now + 1000 ? next : now + 1000;
		/* A monotonic deadline: a wall clock step neither wakes
		 * the timer early nor holds it for hours. */
		struct timespec ts;
		timebase_deadline(&d->tb, d->timer_target, &ts);
		pthread_cond_timedwait(&d->tcv, &d->mu, &ts);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- requests ---- */

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
	if (!gate_open(&d->gate, pi, atomic_load(&d->committed))) {
		/* The product's reopening is not written yet: decide this
		 * check only once it is, so that an answer that might be a
		 * fail-closed deny is never counted as volume. */
		pthread_mutex_unlock(&d->mu);
		daemon_park(d, call, gate_seq(&d->gate, pi), NULL, raw, rawlen,
		            r->ref);
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

static void
reply_ok(struct daemon *d, struct ipc_call *call, const char *ref, bool ping)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	if (ping) {
		/* Under mu: a reload frees the old config. */
		pthread_mutex_lock(&d->mu);
		json_object_set_new(o, "service_id",
		                    json_string(d->cfg->service.service_id));
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

static void
on_check(void *arg, struct ipc_call *call, const char *buf, size_t len)
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
			reply_ok(d, call, r.ref, false);
	} else {
		reply_ok(d, call, r.ref, true);
	}
	ipc_request_free(&r);
}

static void
on_tick(void *arg, const char *buf, size_t len)
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
		json_object_set_new(o, "state", json_string(st.state));
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
			if (strcmp(st.state, "tripped") != 0 &&
			    strcmp(st.state, "stale") != 0 &&
			    strcmp(st.state, "no_rate") != 0 &&
			    strcmp(st.state, "awaiting_reference") != 0)
				continue;
			json_t *h = json_object();
			json_object_set_new(h, "rule", json_string(c->id));
			json_object_set_new(
			    h, "kind",
			    json_string(breaker_kind_name(c->kind)));
			json_object_set_new(h, "state", json_string(st.state));
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
	json_object_set_new(
	    c, "tolerance_ms",
	    json_integer(d->cfg->service.clock_step_tolerance));
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

static char *
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
	json_object_set_new(o, "service_id",
	                    json_string(d->cfg->service.service_id));
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
		reply_ok(d, call, r.ref, true);
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
	d->check_redo = on_check;
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
		log_clock_behind(d);
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
	    .on_check = on_check,
	    .on_admin = on_admin,
	    .on_tick = on_tick,
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
	if (pthread_create(&d->timer, NULL, timer_main, d) != 0) {
		log_warn("cannot start the timer thread");
		d->timer_stop = true; /* daemon_stop joins only what ran */
		d->no_timer = true;
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
	d->timer_stop = true;
	pthread_cond_signal(&d->tcv);
	pthread_mutex_unlock(&d->mu);
	if (!d->no_timer)
		pthread_join(d->timer, NULL);
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
