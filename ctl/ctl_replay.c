/*
 * ctl_replay.c: `fxbreakerctl replay --config FILE [--decisions] TAPE`
 * (RULES.md section 7).  Runs the engine on the tape's virtual time: no
 * daemon, no clock.  Writes every event as one JSON line, the decisions
 * too with --decisions, and a summary line at the end.  A line that cannot
 * be parsed or applied stops the replay with its number and the reason:
 * nothing is guessed.
 *
 * In a replay the suspension id of a trip, stale or force_suspend is the
 * event's ordinal among the output's events (1, 2, ...): the daemon uses
 * the log's sequence number instead.
 *
 * A line is taken in two steps: parsed into a record (struct ctl_rec: its
 * names resolved to the engine's indexes, its prices and amounts to
 * numbers), then applied to the engine.  replay does both, line by line;
 * calibrate parses a tape once (ctl_tape_load) and applies it to one
 * engine per setting (ctl_tape_play): parsing is nine tenths of a
 * replay's time.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_decimal.h"
#include "ctl.h"
#include "ipc_json.h"

#define TAPE_LINE_MAX (64u << 10)
/* The longest gap between two records of a tape with calendars. */
#define REPLAY_GAP_MAX_MS (400LL * 86400000LL)

/* An engine run over a tape: the line being read, the engine (made at
 * the first line, at its time), and who hears of what happens. */
struct replay {
	const char *tape_name;
	long line;
	const struct breaker_config *cfg;
	struct breaker *b;
	bool started;
	fxb_time last_t;
	int64_t nevents;
	const struct ctl_play_hooks *h;
};

static int64_t
replay_sink(void *arg, const struct breaker_event *ev)
{
	struct replay *rp = arg;
	int64_t id = ++rp->nevents;
	if (rp->h->event != NULL)
		rp->h->event(rp->h->arg, ev, id);
	return id;
}

static int tape_error(struct replay *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
tape_error(struct replay *rp, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s:%ld: ", rp->tape_name, rp->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_DATA;
}

/* Checks that obj has only the keys listed (NULL-terminated). */
static const char *
unknown_key(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		size_t i;
		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return key;
	}
	return NULL;
}

/* A required or optional string member; returns NULL and reports. */
static const char *
get_string(struct replay *rp, json_t *obj, const char *what, const char *key,
           bool required, int *rc)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL) {
		if (required)
			*rc =
			    tape_error(rp, "%s: \"%s\" is missing", what, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		/* Only the decimal fields get the hint. */
		bool decimal =
		    strcmp(key, "amount") == 0 || strcmp(key, "rate") == 0 ||
		    strcmp(key, "px") == 0 || strcmp(key, "bid") == 0 ||
		    strcmp(key, "ask") == 0;
		*rc = tape_error(
		    rp, "%s: \"%s\" must be a string%s", what, key,
		    decimal && json_is_number(v)
		        ? (strcmp(key, "amount") == 0
		               ? " (amounts are strings: \"100.00\")"
		               : " (prices are strings: \"1421.00\")")
		        : "");
		return NULL;
	}
	return json_string_value(v);
}

/* A price that did not parse: say what a good one looks like. */
static int
decimal_error(struct replay *rp, const char *what, const char *s,
              enum fxb_err e)
{
	const char *why =
	    e == FXB_ERR_PRECISION ? "at most 8 fractional digits"
	    : e == FXB_ERR_RANGE ? "a price is above 0 and below 9223372036.85"
	                         : "a price is digits[.digits]";
	return tape_error(rp, "%s \"%s\": %s (%s)", what, s, fxb_strerror(e),
	                  why);
}

static int
do_tick(struct replay *rp, json_t *tk, struct ctl_rec *rec)
{
	static const char *const keys[] = {"pair", "px", "bid", "ask", NULL};
	const char *k, *pair, *spx, *sbid, *sask;
	int rc = 0;
	enum fxb_err e;

	if (!json_is_object(tk))
		return tape_error(rp, "tick must be an object");
	if ((k = unknown_key(tk, keys)) != NULL)
		return tape_error(rp, "tick: unknown key \"%s\"", k);
	pair = get_string(rp, tk, "tick", "pair", true, &rc);
	if (pair == NULL)
		return rc;
	rec->idx = breaker_pair_find(rp->b, pair, strlen(pair));
	if (rec->idx < 0)
		return tape_error(rp, "tick: unknown pair \"%s\"", pair);
	spx = get_string(rp, tk, "tick", "px", false, &rc);
	sbid = get_string(rp, tk, "tick", "bid", false, &rc);
	sask = get_string(rp, tk, "tick", "ask", false, &rc);
	if (rc != 0)
		return rc;
	if (spx != NULL && sbid == NULL && sask == NULL) {
		if ((e = breaker_px_parse(spx, strlen(spx), &rec->a)) !=
		    FXB_OK)
			return decimal_error(rp, "tick: px", spx, e);
		rec->op = CTL_REC_TICK;
	} else if (spx == NULL && sbid != NULL && sask != NULL) {
		if ((e = breaker_px_parse(sbid, strlen(sbid), &rec->a)) !=
		    FXB_OK)
			return decimal_error(rp, "tick: bid", sbid, e);
		if ((e = breaker_px_parse(sask, strlen(sask), &rec->b)) !=
		    FXB_OK)
			return decimal_error(rp, "tick: ask", sask, e);
		rec->op = CTL_REC_QUOTE;
	} else {
		return tape_error(rp, "tick: give px, or bid and ask");
	}
	return 0;
}

static int
do_check(struct replay *rp, json_t *ck, struct ctl_rec *rec)
{
	static const char *const keys[] = {"product", "amount", "rate", "ref",
	                                   NULL};
	const char *k, *prod, *samount, *srate;
	int rc = 0;
	enum fxb_err e;

	if (!json_is_object(ck))
		return tape_error(rp, "check must be an object");
	if ((k = unknown_key(ck, keys)) != NULL)
		return tape_error(rp, "check: unknown key \"%s\"", k);
	prod = get_string(rp, ck, "check", "product", true, &rc);
	if (prod == NULL)
		return rc;
	samount = get_string(rp, ck, "check", "amount", true, &rc);
	srate = get_string(rp, ck, "check", "rate", false, &rc);
	get_string(rp, ck, "check", "ref", false, &rc);
	if (rc != 0)
		return rc;
	int32_t pi = breaker_product_find(rp->b, prod, strlen(prod));
	if (pi < 0)
		return tape_error(rp, "check: unknown product \"%s\"", prod);
	int exponent = breaker_product_exponent(rp->b, pi);
	if ((e = breaker_amount_parse(samount, strlen(samount), exponent,
	                              &rec->a)) != FXB_OK)
		return tape_error(
		    rp,
		    "check: amount \"%s\": %s (an amount is above 0, in %.3s "
		    "with at most %d fractional digits)",
		    samount, fxb_strerror(e),
		    breaker_pair_name(rp->b, breaker_product_pair(rp->b, pi)),
		    exponent);
	if (srate != NULL &&
	    (e = breaker_px_parse(srate, strlen(srate), &rec->b)) != FXB_OK)
		return decimal_error(rp, "check: rate", srate, e);
	rec->op = CTL_REC_CHECK;
	rec->idx = pi;
	return 0;
}

/* Operator actions on a tape: {"force_suspend": {"product"|"pair": ID,
 * "from": T0, "until": T, "reason": TEXT}} (with "from": planned),
 * {"force_lift": {...}}, {"force_cancel": {...}}, {"reset": {"rule":
 * ID}}. */
static int
do_scope(struct replay *rp, json_t *obj, const char *what, bool *on_pair,
         int32_t *idx)
{
	int rc = 0;
	const char *prod = get_string(rp, obj, what, "product", false, &rc);
	const char *pair = get_string(rp, obj, what, "pair", false, &rc);
	if (rc != 0)
		return rc;
	if ((prod == NULL) == (pair == NULL))
		return tape_error(rp, "%s: give either product or pair%s",
		                  what, prod != NULL ? ", not both" : "");
	*on_pair = pair != NULL;
	*idx = pair != NULL ? breaker_pair_find(rp->b, pair, strlen(pair))
	                    : breaker_product_find(rp->b, prod, strlen(prod));
	if (*idx < 0)
		return tape_error(rp, "%s: unknown %s \"%s\"", what,
		                  pair != NULL ? "pair" : "product",
		                  pair != NULL ? pair : prod);
	return 0;
}

static int
do_operator(struct replay *rp, fxb_time t, const char *op, json_t *obj,
            struct ctl_rec *rec)
{
	int rc = 0;
	const char *k;

	if (!json_is_object(obj))
		return tape_error(rp, "%s must be an object", op);
	if (strcmp(op, "reset") == 0) {
		static const char *const keys[] = {"rule", NULL};
		if ((k = unknown_key(obj, keys)) != NULL)
			return tape_error(rp, "reset: unknown key \"%s\"", k);
		const char *id = get_string(rp, obj, op, "rule", true, &rc);
		if (id == NULL)
			return rc;
		rec->idx = breaker_rule_find(rp->b, id, strlen(id));
		if (rec->idx < 0)
			return tape_error(rp, "reset: unknown rule \"%s\"",
			                  id);
		rec->op = CTL_REC_RESET;
	} else if (strcmp(op, "force_lift") == 0 ||
	           strcmp(op, "force_cancel") == 0) {
		static const char *const keys[] = {"product", "pair", NULL};
		if ((k = unknown_key(obj, keys)) != NULL)
			return tape_error(rp, "%s: unknown key \"%s\"", op, k);
		if ((rc = do_scope(rp, obj, op, &rec->on_pair, &rec->idx)) !=
		    0)
			return rc;
		rec->op =
		    op[6] == 'l' ? CTL_REC_FORCE_LIFT : CTL_REC_FORCE_CANCEL;
	} else {
		static const char *const keys[] = {"product", "pair",   "from",
		                                   "until",   "reason", NULL};
		if ((k = unknown_key(obj, keys)) != NULL)
			return tape_error(
			    rp, "force_suspend: unknown key \"%s\"", k);
		if ((rc = do_scope(rp, obj, op, &rec->on_pair, &rec->idx)) !=
		    0)
			return rc;
		json_t *ju = json_object_get(obj, "until");
		if (ju != NULL && (!json_is_integer(ju) ||
		                   json_integer_value(ju) > FXB_TIME_MAX))
			return tape_error(rp, "force_suspend: \"until\" must "
			                      "be an integer time");
		json_t *jf = json_object_get(obj, "from");
		if (jf != NULL && (!json_is_integer(jf) ||
		                   json_integer_value(jf) > FXB_TIME_MAX))
			return tape_error(rp, "force_suspend: \"from\" must "
			                      "be an integer time");
		fxb_time from = jf != NULL ? json_integer_value(jf) : t;
		if (jf != NULL && from <= t)
			return tape_error(
			    rp,
			    "force_suspend: \"from\" (%lld) must "
			    "be after the line's time (%lld)",
			    (long long)from, (long long)t);
		if (ju != NULL && json_integer_value(ju) <= from)
			return tape_error(
			    rp,
			    "force_suspend: \"until\" (%lld) must "
			    "be after %s (%lld)",
			    (long long)json_integer_value(ju),
			    jf != NULL ? "\"from\"" : "the line's time",
			    (long long)from);
		rec->reason = get_string(rp, obj, op, "reason", false, &rc);
		if (rc != 0)
			return rc;
		rec->until =
		    ju != NULL ? (fxb_time)json_integer_value(ju) : FXB_NEVER;
		rec->from = from;
		rec->op =
		    jf != NULL ? CTL_REC_FORCE_PLAN : CTL_REC_FORCE_SUSPEND;
	}
	return 0;
}

/* The line's one record besides "t": its key (*op) and value (*body).
 * 0, or an exit code (said why) for an unknown key, two records or
 * none. */
static int
line_record(struct replay *rp, json_t *rec, const char **op, json_t **body)
{
	static const char *const ops[] = {
	    "tick",       "check",        "end",  "force_suspend",
	    "force_lift", "force_cancel", "reset"};
	const char *key;
	json_t *v;

	*op = NULL;
	json_object_foreach(rec, key, v)
	{
		size_t i;
		if (strcmp(key, "t") == 0)
			continue;
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strcmp(key, ops[i]) == 0)
				break;
		if (i == sizeof(ops) / sizeof(ops[0]))
			return tape_error(rp, "unknown key \"%s\"", key);
		if (*op != NULL)
			return tape_error(rp,
			                  "one record per line: both \"%s\" "
			                  "and \"%s\"",
			                  *op, key);
		*op = key;
		*body = v;
	}
	if (*op == NULL)
		return tape_error(rp,
		                  "no record: expected tick, check or end");
	return 0;
}

/* The engine, made at the first record's time. */
static int
replay_start(struct replay *rp, fxb_time t)
{
	enum fxb_err e = breaker_new(rp->cfg, t, replay_sink, rp, &rp->b);
	if (e != FXB_OK)
		return tape_error(rp, "%s", fxb_strerror(e));
	rp->started = true;
	return 0;
}

/*
 * Parses one tape line into *out; returns 0 or an exit code.  *json
 * gets the line's JSON, which a force_suspend's reason points into: the
 * caller frees it once done with *out.  The engine is made here, at the
 * first line's time: its names resolve the line's.
 */
static int
parse_line(struct replay *rp, const char *text, size_t len,
           struct ctl_rec *out, json_t **json)
{
	json_error_t jerr;
	json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *op = NULL;
	json_t *body = NULL;
	int rc;

	*json = rec;
	memset(out, 0, sizeof(*out));
	out->line = rp->line;
	if (len == 0 || (len == 1 && text[0] == '\n'))
		return tape_error(rp, "empty line (a tape has one JSON object "
		                      "per line)");
	if (rec == NULL)
		return tape_error(rp, "not JSON: %s", jerr.text);
	if (!json_is_object(rec))
		return tape_error(rp, "a tape line is a JSON object");
	json_t *jt = json_object_get(rec, "t");
	if (jt == NULL || !json_is_integer(jt))
		return tape_error(rp, "\"t\" %s (an integer time in ms)",
		                  jt == NULL ? "is missing"
		                             : "must be an integer");
	fxb_time t = (fxb_time)json_integer_value(jt);
	if (t < FXB_TIME_MIN || t > FXB_TIME_MAX)
		return tape_error(rp, "\"t\" out of range (at most 2^62 ms "
		                      "either side of 0)");
	if ((rc = line_record(rp, rec, &op, &body)) != 0)
		return rc;
	if (rp->started && t < rp->last_t)
		return tape_error(rp,
		                  "time goes backwards (%lld after %lld): a "
		                  "tape is in time order",
		                  (long long)t, (long long)rp->last_t);
	/* Each session boundary crossed is an event: a gap of centuries
	 * would print billions of them.  A year and more is no tape. */
	if (rp->started && rp->cfg->ncalendars > 0 &&
	    t - rp->last_t > REPLAY_GAP_MAX_MS)
		return tape_error(
		    rp,
		    "a gap of more than 400 days (%lld after %lld): "
		    "with calendars every session boundary in it "
		    "is an event; split the tape",
		    (long long)t, (long long)rp->last_t);
	if (!rp->started && (rc = replay_start(rp, t)) != 0)
		return rc;
	rp->last_t = t;
	out->t = t;
	if (strcmp(op, "tick") == 0)
		return do_tick(rp, body, out);
	if (strcmp(op, "check") == 0)
		return do_check(rp, body, out);
	if (strcmp(op, "end") == 0) {
		if (!json_is_true(body))
			return tape_error(rp, "\"end\" must be true");
		out->op = CTL_REC_END;
		return 0;
	}
	return do_operator(rp, t, op, body, out);
}

/* The engine's answer to an operator's record. */
static enum fxb_err
apply_operator(struct replay *rp, const struct ctl_rec *rec)
{
	switch (rec->op) {
	case CTL_REC_RESET:
		return breaker_reset(rp->b, rec->t, rec->idx);
	case CTL_REC_FORCE_LIFT:
		return breaker_force_lift(rp->b, rec->t, rec->on_pair,
		                          rec->idx);
	case CTL_REC_FORCE_CANCEL:
		return breaker_force_cancel(rp->b, rec->t, rec->on_pair,
		                            rec->idx);
	case CTL_REC_FORCE_PLAN:
		return breaker_force_plan(rp->b, rec->t, rec->on_pair,
		                          rec->idx, rec->from, rec->until,
		                          rec->reason);
	default:
		return breaker_force_suspend(rp->b, rec->t, rec->on_pair,
		                             rec->idx, rec->until,
		                             rec->reason);
	}
}

static const char *
rec_op_name(enum ctl_rec_op op)
{
	return op == CTL_REC_RESET          ? "reset"
	       : op == CTL_REC_FORCE_LIFT   ? "force_lift"
	       : op == CTL_REC_FORCE_CANCEL ? "force_cancel"
	                                    : "force_suspend";
}

/*
 * Applies one record: first each timer due by its time, one instant at a
 * time (the hooks' `after` sees the engine at each), then the record.
 * Returns 0, an exit code, or -1 at "end".
 */
static int
apply_rec(struct replay *rp, const struct ctl_rec *rec)
{
	const struct ctl_play_hooks *h = rp->h;
	struct breaker_decision d;
	enum fxb_err e = FXB_OK;
	fxb_time next;

	rp->line = rec->line;
	while ((next = breaker_next_timer(rp->b)) <= rec->t) {
		breaker_advance(rp->b, next);
		if (h->after != NULL)
			h->after(h->arg, rp->b, next);
	}
	if (h->before != NULL)
		h->before(h->arg, rp->b, rec);
	switch (rec->op) {
	case CTL_REC_TICK:
		e = breaker_tick(rp->b, rec->t, rec->idx, rec->a);
		break;
	case CTL_REC_QUOTE:
		e = breaker_quote(rp->b, rec->t, rec->idx, rec->a, rec->b);
		break;
	case CTL_REC_CHECK:
		e = breaker_check(rp->b, rec->t, rec->idx, rec->a, rec->b, &d);
		if (e == FXB_OK && h->decision != NULL)
			h->decision(h->arg, rp->b, rec, &d);
		break;
	case CTL_REC_END:
		breaker_advance(rp->b, rec->t);
		break;
	default:
		e = apply_operator(rp, rec);
		if (e == FXB_ERR_NOT_TRIPPED && h->skipped != NULL) {
			h->skipped(h->arg, rec);
			e = FXB_OK;
		}
		if (e != FXB_OK)
			return tape_error(rp, "%s: %s", rec_op_name(rec->op),
			                  fxb_strerror(e));
		break;
	}
	if (e != FXB_OK)
		return tape_error(rp, "%s: %s",
		                  rec->op == CTL_REC_CHECK ? "check" : "tick",
		                  fxb_strerror(e));
	if (h->after != NULL)
		h->after(h->arg, rp->b, rec->t);
	return rec->op == CTL_REC_END ? -1 : 0;
}

/*
 * read_tape_line reads one line, newline included, into buf (cap bytes):
 * returns its length, 0 at the end of the file, or -1 when the line does
 * not fit (the rest is not read: a runaway line costs no memory).
 */
static long
read_tape_line(FILE *in, char *buf, size_t cap)
{
	size_t n = 0;
	int c;
	while ((c = getc(in)) != EOF) {
		if (n == cap)
			return -1;
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	return (long)n;
}

/*
 * tape_read reads the tape in line by line, each line parsed and handed
 * to each(), until "end", the end of the file, the first bad line or
 * each() saying stop (its exit code, or -1 for stop at "end").  Returns
 * an exit code.
 */
static int
tape_read(struct replay *rp, FILE *in,
          int (*each)(struct replay *, const struct ctl_rec *, void *),
          void *arg)
{
	int code = CTL_EXIT_OK;
	char *buf = malloc(TAPE_LINE_MAX + 1);
	long n;

	if (buf == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		return CTL_EXIT_USAGE;
	}
	while ((n = read_tape_line(in, buf, TAPE_LINE_MAX + 1)) != 0) {
		struct ctl_rec rec;
		json_t *json;
		rp->line++;
		if (n < 0) {
			code = tape_error(rp, "line longer than %u bytes",
			                  TAPE_LINE_MAX);
			break;
		}
		int rc = parse_line(rp, buf, (size_t)n, &rec, &json);
		if (rc == 0)
			rc = each(rp, &rec, arg);
		json_decref(json);
		if (rc == -1)
			break;
		if (rc != 0) {
			code = rc;
			break;
		}
	}
	if (code == CTL_EXIT_OK && ferror(in)) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", rp->tape_name,
		        strerror(errno));
		code = CTL_EXIT_USAGE;
	}
	free(buf);
	return code;
}

/* ---- replay: events and decisions as JSON lines ---- */

struct tally {
	int64_t allow, deny, throttle;
};

struct replay_out {
	bool decisions;
	struct tally *tally;
	bool write_failed;
};

static void
emit_json(struct replay_out *ro, json_t *o)
{
	if (o == NULL ||
	    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
	    putchar('\n') == EOF)
		ro->write_failed = true;
	json_decref(o);
}

static void
out_event(void *arg, const struct breaker_event *ev, int64_t id)
{
	/* An event that opens a suspension, or plans one, is known by its
	 * ordinal from then on. */
	bool opens = ev->type == BREAKER_EV_TRIP ||
	             ev->type == BREAKER_EV_STALE ||
	             ev->type == BREAKER_EV_FORCE_SUSPEND ||
	             ev->type == BREAKER_EV_FORCE_SCHEDULED;
	emit_json(arg, ipc_event_json(ev, opens ? id : ev->suspension));
}

static void
out_decision(void *arg, const struct breaker *b, const struct ctl_rec *rec,
             const struct breaker_decision *d)
{
	struct replay_out *ro = arg;
	struct tally *ty = &ro->tally[rec->idx];
	if (d->verdict == BREAKER_VERDICT_ALLOW)
		ty->allow++;
	else if (d->verdict == BREAKER_VERDICT_DENY)
		ty->deny++;
	else
		ty->throttle++;
	if (!ro->decisions)
		return;
	json_t *o = json_object();
	json_t *dj = ipc_decision_json(d);
	if (o == NULL || dj == NULL ||
	    json_object_set_new(o, "t", json_integer(rec->t)) != 0 ||
	    json_object_set_new(
	        o, "product", json_string(breaker_product_id(b, rec->idx))) !=
	        0 ||
	    json_object_update(o, dj) != 0) {
		json_decref(o);
		json_decref(dj);
		ro->write_failed = true;
		return;
	}
	json_decref(dj);
	emit_json(ro, o);
}

/* A record read is a record applied. */
static int
apply_each(struct replay *rp, const struct ctl_rec *rec, void *arg)
{
	(void)arg;
	return apply_rec(rp, rec);
}

static void
print_summary(const struct breaker_config *cfg, struct replay_out *ro)
{
	json_t *all = json_object();
	json_t *top = json_object();
	for (size_t i = 0; i < cfg->nproducts; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "allow",
		                    json_integer(ro->tally[i].allow));
		json_object_set_new(o, "deny",
		                    json_integer(ro->tally[i].deny));
		json_object_set_new(o, "throttle",
		                    json_integer(ro->tally[i].throttle));
		json_object_set_new(all, cfg->products[i].id, o);
	}
	json_object_set_new(top, "summary", all);
	emit_json(ro, top);
}

int
ctl_replay_run(struct breaker_config *cfg, const char *name, FILE *in,
               bool decisions)
{
	struct replay_out ro = {.decisions = decisions};
	struct ctl_play_hooks h = {
	    .arg = &ro, .event = out_event, .decision = out_decision};
	struct replay rp = {.tape_name = name, .cfg = cfg, .h = &h};
	int code;

	ro.tally = calloc(cfg->nproducts + 1, sizeof(*ro.tally));
	if (ro.tally == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		return CTL_EXIT_USAGE;
	}
	code = tape_read(&rp, in, apply_each, NULL);
	if (code == CTL_EXIT_OK)
		print_summary(cfg, &ro);
	if (fflush(stdout) != 0 || ro.write_failed) {
		fprintf(stderr, "fxbreakerctl: write error on stdout\n");
		code = CTL_EXIT_USAGE;
	}
	free(ro.tally);
	breaker_free(rp.b);
	return code;
}

/* ---- calibrate's tape: read once, played many times ---- */

/* A record read is a record kept, its reason copied out of the line
 * into the tape's own strings. */
static int
keep_each(struct replay *rp, const struct ctl_rec *rec, void *arg)
{
	struct ctl_tape *tp = arg;
	if (tp->n == tp->cap) {
		size_t ncap = tp->cap != 0 ? tp->cap * 2 : 4096;
		struct ctl_rec *v = realloc(tp->rec, ncap * sizeof(*v));
		if (v == NULL)
			return tape_error(rp, "out of memory");
		tp->rec = v;
		tp->cap = ncap;
	}
	struct ctl_rec *r = &tp->rec[tp->n];
	*r = *rec;
	if (rec->reason != NULL) {
		char **v = realloc(tp->reasons,
		                   (tp->nreasons + 1) * sizeof(*tp->reasons));
		if (v == NULL)
			return tape_error(rp, "out of memory");
		tp->reasons = v;
		if ((v[tp->nreasons] = strdup(rec->reason)) == NULL)
			return tape_error(rp, "out of memory");
		r->reason = v[tp->nreasons++];
	}
	tp->n++;
	return 0;
}

int
ctl_tape_load(const struct breaker_config *cfg, const char *name, FILE *in,
              struct ctl_tape *tp)
{
	static const struct ctl_play_hooks none;
	struct replay rp = {.tape_name = name, .cfg = cfg, .h = &none};

	memset(tp, 0, sizeof(*tp));
	int code = tape_read(&rp, in, keep_each, tp);
	breaker_free(rp.b);
	if (code == CTL_EXIT_OK && tp->n == 0) {
		fprintf(stderr, "fxbreakerctl: %s: no record\n", name);
		code = CTL_EXIT_DATA;
	}
	if (code != CTL_EXIT_OK)
		ctl_tape_free(tp);
	return code;
}

void
ctl_tape_free(struct ctl_tape *tp)
{
	for (size_t i = 0; i < tp->nreasons; i++)
		free(tp->reasons[i]);
	free(tp->reasons);
	free(tp->rec);
	memset(tp, 0, sizeof(*tp));
}

int
ctl_tape_play(const struct ctl_tape *tp, const char *name,
              const struct breaker_config *cfg, const struct ctl_play_hooks *h)
{
	struct replay rp = {.tape_name = name, .cfg = cfg, .h = h};
	int code = CTL_EXIT_OK;

	for (size_t i = 0; i < tp->n && code == CTL_EXIT_OK; i++) {
		int rc;
		rp.line = tp->rec[i].line;
		if (!rp.started && (rc = replay_start(&rp, tp->rec[i].t)) != 0)
			code = rc;
		else if ((rc = apply_rec(&rp, &tp->rec[i])) == -1)
			break;
		else
			code = rc;
	}
	breaker_free(rp.b);
	return code;
}

int
ctl_replay(int argc, char **argv)
{
	const char *config = NULL, *tape = NULL;
	struct breaker_config *cfg;
	bool decisions = false;
	int code = CTL_EXIT_OK;
	FILE *in;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--decisions") == 0)
			decisions = true;
		else if (tape == NULL &&
		         (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			tape = argv[i];
		else {
			fprintf(stderr, "fxbreakerctl replay: %s '%s'\n",
			        argv[i][0] == '-' ? "unknown option"
			                          : "unexpected argument",
			        argv[i]);
			config = tape = NULL;
			break;
		}
	}
	if (config == NULL || tape == NULL) {
		fprintf(stderr, "usage: fxbreakerctl replay --config FILE "
		                "[--decisions] TAPE (- for stdin)\n");
		return CTL_EXIT_USAGE;
	}
	if ((cfg = ctl_load_config(config, &code)) == NULL)
		return code;
	in = strcmp(tape, "-") == 0 ? stdin : fopen(tape, "r");
	if (in == NULL) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", tape,
		        strerror(errno));
		breaker_config_free(cfg);
		return CTL_EXIT_USAGE;
	}
	code = ctl_replay_run(cfg, tape, in, decisions);
	if (in != stdin)
		fclose(in);
	breaker_config_free(cfg);
	return code;
}
