/*
 * ipc_json.c: engine events and decisions as JSON objects.  Prices go out as
 * decimal strings, never as JSON numbers, so that no reader turns them into
 * binary floating point.  Key order is fixed (the output is diffed in
 * tests and read by people).
 */
#include "ipc_json.h"

#include <stdlib.h>
#include <string.h>

#include "breaker_decimal.h"

int
ipc_json_set_px(json_t *obj, const char *key, int64_t px)
{
	char buf[BREAKER_DECIMAL_BUFSZ];
	return json_object_set_new(obj, key,
	                           json_string(breaker_px_format(buf, px)));
}

static int
set_int(json_t *obj, const char *key, int64_t v)
{
	return json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static int
set_str(json_t *obj, const char *key, const char *s)
{
	return json_object_set_new(obj, key, json_string(s));
}

json_t *
ipc_event_json(const struct breaker_event *ev, int64_t suspension)
{
	char buf[BREAKER_DECIMAL_BUFSZ];
	json_t *o = json_object();
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= set_int(o, "t", ev->t);
	rc |= set_str(o, "event", breaker_event_name(ev->type));
	if (ev->type == BREAKER_EV_SESSION) {
		rc |= set_str(o, "calendar", ev->calendar);
		rc |= set_str(o, "from", ev->from_session);
		rc |= set_str(o, "to", ev->to_session);
		goto out;
	}
	if (ev->type == BREAKER_EV_FORCE_SCHEDULED ||
	    ev->type == BREAKER_EV_FORCE_CANCEL) {
		/* A plan's id is its force_scheduled event's own. */
		rc |= set_str(o, "scope", ev->scope);
		rc |= set_str(o, "scope_type",
		              ev->scope_is_pair ? "pair" : "product");
		rc |=
		    set_int(o, "plan",
		            ev->type == BREAKER_EV_FORCE_SCHEDULED ? suspension
		                                                   : ev->plan);
		rc |= set_int(o, "from", ev->from);
		if (ev->until != FXB_NEVER)
			rc |= set_int(o, "until", ev->until);
		if (ev->reason != NULL && ev->reason[0] != '\0')
			rc |= set_str(o, "reason", ev->reason);
		goto out;
	}
	if (ev->rule != NULL) {
		rc |= set_str(o, "rule", ev->rule);
		rc |= set_str(o, "kind", breaker_kind_name(ev->kind));
	}
	rc |= set_str(o, "scope", ev->scope);
	rc |= set_str(o, "scope_type", ev->scope_is_pair ? "pair" : "product");
	if (ev->shadow)
		rc |= set_str(o, "mode", "shadow");
	if (suspension > 0)
		rc |= set_int(o, "suspension", suspension);
	if (ev->dir != 0)
		rc |= set_str(o, "dir", ev->dir > 0 ? "up" : "down");
	if (ev->type == BREAKER_EV_TRIP)
		rc |= json_object_set_new(o, "latched",
		                          json_boolean(ev->latched));
	if (ev->type == BREAKER_EV_FORCE_LIFT)
		rc |= set_str(o, "by",
		              ev->by == BREAKER_LIFT_SCHEDULE   ? "schedule"
		              : ev->by == BREAKER_LIFT_REPLACED ? "replaced"
		                                                : "operator");
	if (ev->until != FXB_NEVER)
		rc |= set_int(o, "until", ev->until);
	if (ev->figs & BREAKER_FIG_PX)
		rc |= ipc_json_set_px(o, "px", ev->px);
	if (ev->figs & BREAKER_FIG_QUOTE) {
		rc |= ipc_json_set_px(o, "bid", ev->bid);
		rc |= ipc_json_set_px(o, "ask", ev->ask);
	}
	if (ev->figs & BREAKER_FIG_SPREAD) {
		rc |= set_str(o, "spread_pct",
		              breaker_decimal_format(buf, ev->pct, 4, 0));
		rc |=
		    set_str(o, "max_spread_pct",
		            breaker_decimal_format(buf, ev->limit_pct, 4, 0));
	}
	if (ev->figs & BREAKER_FIG_BUCKET) {
		rc |= set_int(o, "rate", ev->rate);
		rc |= set_int(o, "burst", ev->burst);
	}
	if (ev->figs & BREAKER_FIG_REF)
		rc |= set_str(
		    o, "ref",
		    breaker_ratio_format(buf, ev->ref_num, ev->ref_den));
	if (ev->figs & BREAKER_FIG_BAND) {
		rc |= ipc_json_set_px(o, "lower", ev->lower);
		rc |= ipc_json_set_px(o, "upper", ev->upper);
	}
	if (ev->figs & BREAKER_FIG_WINDOW) {
		rc |= ipc_json_set_px(o, "window_min", ev->wmin);
		rc |= ipc_json_set_px(o, "window_max", ev->wmax);
		rc |= ipc_json_set_px(o, "limit", ev->limit);
	}
	if (ev->figs & BREAKER_FIG_BASE)
		rc |= ipc_json_set_px(o, "base", ev->base);
	if ((ev->figs & BREAKER_FIG_N) && ev->notional) {
		/* Amounts, like every amount on the wire, are decimal strings
		 * in the currency's major unit. */
		unsigned e = (unsigned)ev->amount_exponent;
		rc |=
		    set_str(o, "n", breaker_decimal_format(buf, ev->n, e, e));
		rc |=
		    set_str(o, "threshold",
		            breaker_decimal_format(buf, ev->threshold, e, e));
	} else if (ev->figs & BREAKER_FIG_N) {
		rc |= set_int(o, "n", ev->n);
		rc |= set_int(o, "threshold", ev->threshold);
	}
	if (ev->figs & BREAKER_FIG_COUNT)
		rc |= set_int(o, "throttled", ev->n);
	if (ev->figs & BREAKER_FIG_SINCE)
		rc |= set_int(o, "since", ev->since);
	if (ev->reason != NULL && ev->reason[0] != '\0')
		rc |= set_str(o, "reason", ev->reason);
	if (ev->plan > 0)
		rc |= set_int(o, "plan", ev->plan);
out:
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
ipc_decision_json(const struct breaker_decision *d)
{
	json_t *o = json_object();
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= set_str(o, "decision", breaker_verdict_name(d->verdict));
	if (d->verdict != BREAKER_VERDICT_ALLOW) {
		rc |= set_str(o, "reason", breaker_reason_name(d->reason));
		if (d->rule != NULL) {
			rc |= set_str(o, "rule", d->rule);
			rc |= set_str(o, "kind", breaker_kind_name(d->kind));
		}
		if (d->suspension > 0)
			rc |= set_int(o, "suspension", d->suspension);
		if (d->notice != NULL)
			rc |= set_str(o, "notice", d->notice);
		if (d->retry_after_ms >= 0)
			rc |= set_int(o, "retry_after_ms", d->retry_after_ms);
	}
	if (d->upcoming.plan > 0) {
		json_t *u = json_object();
		int urc = u == NULL;
		urc |= set_int(u, "plan", d->upcoming.plan);
		urc |= set_int(u, "from", d->upcoming.from);
		if (d->upcoming.until != FXB_NEVER)
			urc |= set_int(u, "until", d->upcoming.until);
		if (urc != 0)
			json_decref(u);
		rc |= urc != 0 || json_object_set_new(o, "upcoming", u) != 0;
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

size_t
ipc_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	unsigned cp = c & (0x7fu >> len);
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *
ipc_json_text(const char *s)
{
	json_t *j = json_string(s);
	if (j != NULL || s == NULL)
		return j;
	/* Not UTF-8 (or no memory): each byte that starts no valid sequence
	 * becomes U+FFFD, 3 bytes, so the text is kept, not dropped. */
	size_t n = strlen(s), o = 0;
	char *t = malloc(3 * n + 1);
	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = ipc_utf8_len((const unsigned char *)s + i, n - i);
		if (l == 0) {
			memcpy(t + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(t + o, s + i, l);
		o += l;
		i += l;
	}
	j = json_stringn(t, o);
	free(t);
	return j;
}
