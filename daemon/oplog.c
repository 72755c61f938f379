/*
 * oplog.c: the operator's log.  Every row the service commits gets one
 * line on stderr, once it is written (its seq is then a row anyone can
 * read back with `fxbreakerctl log`), so `journalctl -u fxbreakerd |
 * grep event=trip` sees what the log holds and nothing it might not:
 *
 *	... fxbreakerd: warning: event=trip seq=42 t=2024-12-03T13:25:00.000Z
 *	    rule=usdkrw-band kind=band scope=USD/KRW scope_type=pair
 *	    suspension=42 ...
 *
 * The row's columns come first, in a fixed order, then the top-level
 * fields of its JSON detail in the detail's own order (an object one
 * level down as parent.key), so a new detail field shows up without a
 * change here.  A command refused before it could be a row, and the
 * ledger failing or recovering (which writes no row: that is the
 * failure), get lines of the same shape.  docs/OPERATIONS.md ("Logs")
 * is the contract: the prefix, the quoting and every event= value.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon_impl.h"

/* A line's text after the prefix, under the log's own cap (a longer
 * one ends " (cut)"), and one value at most VALUE_MAX bytes of it. */
#define OPLOG_LINE_MAX 8000
#define VALUE_MAX      512
#define CUT            " (cut)"

struct line {
	char buf[OPLOG_LINE_MAX];
	size_t len;
	bool cut;
};

static void
put_raw(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - sizeof(CUT) - l->len;
	if (l->cut)
		return;
	if (n > room) {
		n = room;
		l->cut = true;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	if (l->cut) {
		memcpy(l->buf + l->len, CUT, sizeof(CUT));
		l->len += sizeof(CUT) - 1;
	}
	l->buf[l->len] = '\0';
}

/* A value is bare when it is printable ASCII with no space, quote,
 * backslash or '=' (and not empty): then `cut -d= -f2` and a plain grep
 * work.  Else it is quoted, with \" \\ \n \r \t and \xHH for other
 * control bytes; UTF-8 passes as it is, inside the quotes. */
static bool
bare(const char *s)
{
	if (*s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' ||
		    *p == '=')
			return false;
	return true;
}

static void
put_kv(struct line *l, const char *key, const char *v)
{
	char out[VALUE_MAX * 4 + 8];
	size_t n = 0, in = 0;
	if (l->len > 0)
		put_raw(l, " ", 1);
	/* Keys are the service's own or a detail's; anything but
	 * [A-Za-z0-9_.-] would break the key=value grammar. */
	for (const char *k = key; *k != '\0'; k++) {
		char c = *k;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		          c == '-';
		put_raw(l, ok ? &c : "_", 1);
	}
	put_raw(l, "=", 1);
	if (bare(v) && strlen(v) <= VALUE_MAX) {
		put_raw(l, v, strlen(v));
		return;
	}
	out[n++] = '"';
	for (; in < VALUE_MAX && v[in] != '\0'; in++) {
		unsigned char c = (unsigned char)v[in];
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			out[n++] = '\\';
			out[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < ' ' || c == 0x7f) {
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	if (v[in] != '\0') {
		/* Cut at a character's start, not inside one. */
		while (n > 1 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 1 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
			n--;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '"';
	put_raw(l, out, n);
}

static void
put_int(struct line *l, const char *key, int64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRId64, v);
	put_kv(l, key, b);
}

bool
oplog_utc(char *b, size_t cap, fxb_time ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (ms < 0 || gmtime_r(&secs, &tm) == NULL)
		return false;
	snprintf(b, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return true;
}

/* UTC, to the millisecond, as the wire and `fxbreakerctl log` print. */
static void
put_time(struct line *l, const char *key, fxb_time ms)
{
	char b[96];
	if (!oplog_utc(b, sizeof(b), ms)) {
		put_int(l, key, ms);
		return;
	}
	put_kv(l, key, b);
}

/* A scalar JSON value; false for what has no one-word form (an array,
 * an object, null). */
static bool
put_json(struct line *l, const char *key, json_t *v)
{
	char b[40];
	switch (json_typeof(v)) {
	case JSON_STRING:
		put_kv(l, key, json_string_value(v));
		return true;
	case JSON_INTEGER:
		put_int(l, key, (int64_t)json_integer_value(v));
		return true;
	case JSON_REAL:
		snprintf(b, sizeof(b), "%.17g", json_real_value(v));
		put_kv(l, key, b);
		return true;
	case JSON_TRUE:
	case JSON_FALSE:
		put_kv(l, key, json_is_true(v) ? "true" : "false");
		return true;
	default:
		return false;
	}
}

/* Detail fields the line leaves out: the row's columns, printed
 * already; a command's stored reply and nonce (the log has them; a
 * line is for reading); a public key (long, and in the log). */
static bool
skipped(const char *k)
{
	static const char *const skip[] = {
	    "t",    "event",      "rule",  "kind",  "scope", "scope_type",
	    "mode", "suspension", "until", "reply", "nonce", "pubkey",
	};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(k, skip[i]) == 0)
			return true;
	return false;
}

static void
put_detail(struct line *l, json_t *o, bool command)
{
	const char *k;
	json_t *v;
	/* A command row's own event (operator_enrolled, ...) would clash
	 * with the row's event=command: it is change=. */
	json_t *ev = json_object_get(o, "event");
	if (command && json_is_string(ev))
		put_kv(l, "change", json_string_value(ev));
	json_object_foreach(o, k, v)
	{
		/* An engine row's notice object: its id is on the line
		 * (notice=); its texts are long, and in the log. */
		if (skipped(k) ||
		    (strcmp(k, "notice") == 0 && json_is_object(v)))
			continue;
		/* Instants read as times, like t: a suspension's since, and
		 * a plan's from (a clock_step's from is a wall clock's
		 * reading, beside its to: both stay numbers). */
		if (json_is_integer(v) &&
		    (strcmp(k, "since") == 0 ||
		     (strcmp(k, "from") == 0 &&
		      json_object_get(o, "plan") != NULL))) {
			put_time(l, k, json_integer_value(v));
			continue;
		}
		if (put_json(l, k, v) || !json_is_object(v))
			continue;
		const char *k2;
		json_t *v2;
		json_object_foreach(v, k2, v2)
		{
			char key[128];
			snprintf(key, sizeof(key), "%s.%s", k, k2);
			put_json(l, key, v2);
		}
	}
}

/* Rows an operator must look at: a suspension that opens (not a
 * shadow one), the service in trouble, a refused command, a planned
 * suspension that will never run. */
static bool
warns(const struct ledger_row *r, json_t *o)
{
	static const char *const ev[] = {
	    "trip",       "stale",        "force_suspend", "degraded_start",
	    "clock_step", "clock_behind", "retired",       "plan_lapsed",
	};
	const char *cs = json_string_value(json_object_get(o, "check_socket"));
	const char *res = json_string_value(json_object_get(o, "result"));
	if (strcmp(r->event, "watchdog") == 0)
		return cs != NULL && strcmp(cs, "silent") == 0;
	if (strcmp(r->event, "command") == 0)
		return res != NULL && strcmp(res, "rejected") == 0;
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		if (strcmp(r->event, ev[i]) == 0)
			return !r->shadow;
	return false;
}

void
oplog_row(const struct qrow *q)
{
	const struct ledger_row *r = &q->row;
	struct line l = {{0}, 0, false};
	json_error_t jerr;
	json_t *o = r->detail != NULL ? json_loads(r->detail, 0, &jerr) : NULL;

	put_kv(&l, "event", r->event);
	put_int(&l, "seq", r->seq);
	put_time(&l, "t", r->t);
	if (r->rule != NULL)
		put_kv(&l, "rule", r->rule);
	if (r->kind != NULL)
		put_kv(&l, "kind", r->kind);
	if (r->scope != NULL)
		put_kv(&l, "scope", r->scope);
	if (r->scope_type != NULL)
		put_kv(&l, "scope_type", r->scope_type);
	if (r->suspension > 0)
		put_int(&l, "suspension", r->suspension);
	json_t *ju = json_object_get(o, "until");
	if (r->effect == LEDGER_OPENS && r->until != FXB_NEVER && r->until > 0)
		put_time(&l, "until", r->until);
	else if (r->effect != LEDGER_OPENS && json_is_integer(ju))
		put_time(&l, "until", json_integer_value(ju)); /* a plan's */
	if (r->shadow)
		put_kv(&l, "mode", "shadow");
	if (r->notice_id != NULL)
		put_kv(&l, "notice", r->notice_id);
	if (json_is_object(o))
		put_detail(&l, o, strcmp(r->event, "command") == 0);
	if (r->reason != NULL &&
	    (o == NULL || json_object_get(o, "reason") == NULL))
		put_kv(&l, "reason", r->reason);
	if (json_is_object(o) && warns(r, o))
		log_warn("%s", l.buf);
	else
		log_info("%s", l.buf);
	json_decref(o);
}

void
oplog_refused(const char *peer, enum fxb_err code, const char *why)
{
	struct line l = {{0}, 0, false};
	put_kv(&l, "event", "admin_refused");
	put_kv(&l, "from", peer != NULL ? peer : "");
	put_kv(&l, "error", fxb_errname(code));
	put_kv(&l, "why", why);
	log_warn("%s", l.buf);
}

void
oplog_ledger_degraded(const char *why, size_t queued, bool for_good)
{
	struct line l = {{0}, 0, false};
	put_kv(&l, "event", "ledger_degraded");
	put_kv(&l, "why", why);
	put_int(&l, "queued", (int64_t)queued);
	put_kv(&l, "retrying", for_good ? "false" : "true");
	if (for_good)
		put_kv(&l, "action",
		       "stop, investigate, restore, restart "
		       "(docs/OPERATIONS.md); breakers stay as "
		       "they are, nothing is written, resets are "
		       "refused");
	log_warn("%s", l.buf);
}

void
oplog_ledger_recovered(size_t written)
{
	struct line l = {{0}, 0, false};
	put_kv(&l, "event", "ledger_recovered");
	put_int(&l, "written", (int64_t)written);
	log_info("%s", l.buf);
}
