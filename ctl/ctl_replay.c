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

struct tally {
	int64_t allow, deny, throttle;
};

struct replay {
	const char *tape_name;
	long line;
	struct breaker_config *cfg;
	struct breaker *b;
	bool decisions;
	bool started;
	fxb_time last_t;
	int64_t nevents;
	struct tally *tally;
	bool write_failed;
};

static void
emit_json(struct replay *rp, json_t *o)
{
	if (o == NULL ||
	    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
	    putchar('\n') == EOF)
		rp->write_failed = true;
	json_decref(o);
}

static int64_t
replay_sink(void *arg, const struct breaker_event *ev)
{
	struct replay *rp = arg;
	int64_t id = ++rp->nevents;
	/* An event that opens a suspension, or plans one, is known by its
	 * ordinal from then on. */
	bool opens = ev->type == BREAKER_EV_TRIP ||
	             ev->type == BREAKER_EV_STALE ||
	             ev->type == BREAKER_EV_FORCE_SUSPEND ||
	             ev->type == BREAKER_EV_FORCE_SCHEDULED;
	emit_json(rp, ipc_event_json(ev, opens ? id : ev->suspension));
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
do_tick(struct replay *rp, fxb_time t, json_t *tk)
{
	static const char *const keys[] = {"pair", "px", "bid", "ask", NULL};
	const char *k, *pair, *spx, *sbid, *sask;
	int rc = 0;
	int64_t px, bid, ask;
	enum fxb_err e;

	if (!json_is_object(tk))
		return tape_error(rp, "tick must be an object");
	if ((k = unknown_key(tk, keys)) != NULL)
		return tape_error(rp, "tick: unknown key \"%s\"", k);
	pair = get_string(rp, tk, "tick", "pair", true, &rc);
	if (pair == NULL)
		return rc;
	int32_t pi = breaker_pair_find(rp->b, pair, strlen(pair));
	if (pi < 0)
		return tape_error(rp, "tick: unknown pair \"%s\"", pair);
	spx = get_string(rp, tk, "tick", "px", false, &rc);
	sbid = get_string(rp, tk, "tick", "bid", false, &rc);
	sask = get_string(rp, tk, "tick", "ask", false, &rc);
	if (rc != 0)
		return rc;
	if (spx != NULL && sbid == NULL && sask == NULL) {
		if ((e = breaker_px_parse(spx, strlen(spx), &px)) != FXB_OK)
			return decimal_error(rp, "tick: px", spx, e);
		e = breaker_tick(rp->b, t, pi, px);
	} else if (spx == NULL && sbid != NULL && sask != NULL) {
		if ((e = breaker_px_parse(sbid, strlen(sbid), &bid)) != FXB_OK)
			return decimal_error(rp, "tick: bid", sbid, e);
		if ((e = breaker_px_parse(sask, strlen(sask), &ask)) != FXB_OK)
			return decimal_error(rp, "tick: ask", sask, e);
		e = breaker_quote(rp->b, t, pi, bid, ask);
	} else {
		return tape_error(rp, "tick: give px, or bid and ask");
	}
	if (e != FXB_OK)
		return tape_error(rp, "tick: %s", fxb_strerror(e));
	return 0;
}

static int
do_check(struct replay *rp, fxb_time t, json_t *ck)
{
	static const char *const keys[] = {"product", "amount", "rate", "ref",
	                                   NULL};
	const char *k, *prod, *samount, *srate;
	int rc = 0;
	int64_t amount, rate = 0;
	struct breaker_decision d;
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
	                              &amount)) != FXB_OK)
		return tape_error(
		    rp,
		    "check: amount \"%s\": %s (an amount is above 0, in %.3s "
		    "with at most %d fractional digits)",
		    samount, fxb_strerror(e),
		    breaker_pair_name(rp->b, breaker_product_pair(rp->b, pi)),
		    exponent);
	if (srate != NULL &&
	    (e = breaker_px_parse(srate, strlen(srate), &rate)) != FXB_OK)
		return decimal_error(rp, "check: rate", srate, e);
	if ((e = breaker_check(rp->b, t, pi, amount, rate, &d)) != FXB_OK)
		return tape_error(rp, "check: %s", fxb_strerror(e));
	struct tally *ty = &rp->tally[pi];
	if (d.verdict == BREAKER_VERDICT_ALLOW)
		ty->allow++;
	else if (d.verdict == BREAKER_VERDICT_DENY)
		ty->deny++;
	else
		ty->throttle++;
	if (rp->decisions) {
		json_t *o = json_object();
		json_t *dj = ipc_decision_json(&d);
		if (o == NULL || dj == NULL ||
		    json_object_set_new(o, "t", json_integer(t)) != 0 ||
		    json_object_set_new(o, "product", json_string(prod)) !=
		        0 ||
		    json_object_update(o, dj) != 0) {
			json_decref(o);
			json_decref(dj);
			return tape_error(rp, "out of memory");
		}
		json_decref(dj);
		emit_json(rp, o);
	}
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
do_operator(struct replay *rp, fxb_time t, const char *op, json_t *obj)
{
	bool on_pair = false;
	int32_t idx = -1;
	int rc = 0;
	enum fxb_err e;
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
		int32_t ri = breaker_rule_find(rp->b, id, strlen(id));
		if (ri < 0)
			return tape_error(rp, "reset: unknown rule \"%s\"",
			                  id);
		e = breaker_reset(rp->b, t, ri);
	} else if (strcmp(op, "force_lift") == 0 ||
	           strcmp(op, "force_cancel") == 0) {
		static const char *const keys[] = {"product", "pair", NULL};
		if ((k = unknown_key(obj, keys)) != NULL)
			return tape_error(rp, "%s: unknown key \"%s\"", op, k);
		if ((rc = do_scope(rp, obj, op, &on_pair, &idx)) != 0)
			return rc;
		e = op[6] == 'l'
		        ? breaker_force_lift(rp->b, t, on_pair, idx)
		        : breaker_force_cancel(rp->b, t, on_pair, idx);
	} else {
		static const char *const keys[] = {"product", "pair",   "from",
		                                   "until",   "reason", NULL};
		if ((k = unknown_key(obj, keys)) != NULL)
			return tape_error(
			    rp, "force_suspend: unknown key \"%s\"", k);
		if ((rc = do_scope(rp, obj, op, &on_pair, &idx)) != 0)
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
		const char *reason =
		    get_string(rp, obj, op, "reason", false, &rc);
		if (rc != 0)
			return rc;
		fxb_time until =
		    ju != NULL ? (fxb_time)json_integer_value(ju) : FXB_NEVER;
		e = jf != NULL ? breaker_force_plan(rp->b, t, on_pair, idx,
		                                    from, until, reason)
		               : breaker_force_suspend(rp->b, t, on_pair, idx,
		                                       until, reason);
	}
	if (e != FXB_OK)
		return tape_error(rp, "%s: %s", op, fxb_strerror(e));
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

/* Applies one tape line; returns 0, an exit code, or -1 at "end". */
static int
replay_line(struct replay *rp, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *op = NULL;
	json_t *body = NULL;
	int rc = 0;

	if (len == 0 || (len == 1 && text[0] == '\n'))
		return tape_error(rp, "empty line (a tape has one JSON object "
		                      "per line)");
	if (rec == NULL)
		return tape_error(rp, "not JSON: %s", jerr.text);
	if (!json_is_object(rec)) {
		rc = tape_error(rp, "a tape line is a JSON object");
		goto out;
	}
	json_t *jt = json_object_get(rec, "t");
	if (jt == NULL || !json_is_integer(jt)) {
		rc = tape_error(rp, "\"t\" %s (an integer time in ms)",
		                jt == NULL ? "is missing"
		                           : "must be an integer");
		goto out;
	}
	fxb_time t = (fxb_time)json_integer_value(jt);
	if (t < FXB_TIME_MIN || t > FXB_TIME_MAX) {
		rc = tape_error(rp, "\"t\" out of range (at most 2^62 ms "
		                    "either side of 0)");
		goto out;
	}
	if ((rc = line_record(rp, rec, &op, &body)) != 0)
		goto out;
	if (rp->started && t < rp->last_t) {
		rc = tape_error(rp,
		                "time goes backwards (%lld after %lld): a "
		                "tape is in time order",
		                (long long)t, (long long)rp->last_t);
		goto out;
	}
	/* Each session boundary crossed is an event: a gap of centuries
	 * would print billions of them.  A year and more is no tape. */
	if (rp->started && rp->cfg->ncalendars > 0 &&
	    t - rp->last_t > REPLAY_GAP_MAX_MS) {
		rc = tape_error(
		    rp,
		    "a gap of more than 400 days (%lld after %lld): "
		    "with calendars every session boundary in it "
		    "is an event; split the tape",
		    (long long)t, (long long)rp->last_t);
		goto out;
	}
	if (!rp->started) {
		enum fxb_err e =
		    breaker_new(rp->cfg, t, replay_sink, rp, &rp->b);
		if (e != FXB_OK) {
			rc = tape_error(rp, "%s", fxb_strerror(e));
			goto out;
		}
		rp->started = true;
	}
	rp->last_t = t;
	if (strcmp(op, "tick") == 0) {
		rc = do_tick(rp, t, body);
	} else if (strcmp(op, "check") == 0) {
		rc = do_check(rp, t, body);
	} else if (strcmp(op, "end") == 0) {
		if (!json_is_true(body)) {
			rc = tape_error(rp, "\"end\" must be true");
			goto out;
		}
		breaker_advance(rp->b, t);
		rc = -1;
	} else {
		rc = do_operator(rp, t, op, body);
	}
out:
	json_decref(rec);
	return rc;
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

static void
print_summary(struct replay *rp)
{
	json_t *all = json_object();
	json_t *top = json_object();
	for (size_t i = 0; i < rp->cfg->nproducts; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "allow",
		                    json_integer(rp->tally[i].allow));
		json_object_set_new(o, "deny",
		                    json_integer(rp->tally[i].deny));
		json_object_set_new(o, "throttle",
		                    json_integer(rp->tally[i].throttle));
		json_object_set_new(all, rp->cfg->products[i].id, o);
	}
	json_object_set_new(top, "summary", all);
	emit_json(rp, top);
}

int
ctl_replay_run(struct breaker_config *cfg, const char *name, FILE *in,
               bool decisions)
{
	struct replay rp;
	int code = CTL_EXIT_OK;
	char *buf = NULL;
	long n;

	memset(&rp, 0, sizeof(rp));
	rp.cfg = cfg;
	rp.decisions = decisions;
	rp.tape_name = name;
	rp.tally = calloc(rp.cfg->nproducts + 1, sizeof(*rp.tally));
	buf = malloc(TAPE_LINE_MAX + 1);
	if (rp.tally == NULL || buf == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		code = CTL_EXIT_USAGE;
		goto out;
	}
	while ((n = read_tape_line(in, buf, TAPE_LINE_MAX + 1)) != 0) {
		rp.line++;
		if (n < 0) {
			code = tape_error(&rp, "line longer than %u bytes",
			                  TAPE_LINE_MAX);
			break;
		}
		int rc = replay_line(&rp, buf, (size_t)n);
		if (rc == -1)
			break;
		if (rc != 0) {
			code = rc;
			break;
		}
	}
	if (code == CTL_EXIT_OK && ferror(in)) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", name,
		        strerror(errno));
		code = CTL_EXIT_USAGE;
	}
	if (code == CTL_EXIT_OK)
		print_summary(&rp);
	if (fflush(stdout) != 0 || rp.write_failed) {
		fprintf(stderr, "fxbreakerctl: write error on stdout\n");
		code = CTL_EXIT_USAGE;
	}
out:
	free(buf);
	free(rp.tally);
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
