/*
 * notice.c: customer notices, rendered in Korean and English from the
 * config's [notice ID] templates or the built-in defaults.
 *
 * Placeholders: {product} (the product, or the pair for a pair-wide
 * notice), {start} (when the suspension began), {until} (a phrase: "until
 * 2024-12-04 00:33 (UTC+09:00)" or "until further notice"), {reason} (why,
 * in the customer's words: the rule's kind, never an operator's own text),
 * {end} (when it ended: closing notices).  Times
 * are shown in the service's notice time zone (config: notice_utc_offset).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"

static const struct {
	const char *ko, *en;
} kind_reason[] = {
    [0] = {"운영상의 사유", "operational reasons"},
    [BREAKER_VOLUME] = {"이용량 급증", "very heavy use"},
    [BREAKER_BAND] = {"환율 급변동", "a rapid exchange-rate movement"},
    [BREAKER_VELOCITY] = {"환율 급변동", "a rapid exchange-rate movement"},
    [BREAKER_DEVIATION] = {"환율 급등락", "a large exchange-rate move"},
    [BREAKER_STALE] = {"환율 정보 지연", "no current exchange rate"},
    [BREAKER_SPREAD] = {"시장 호가 불안정", "unstable market quotes"},
    [BREAKER_THROTTLE] = {"이용량 급증", "very heavy use"},
};

const char *const notice_default_ko =
    "{product}: {start}부터 {until} 환전이 일시 중단됩니다 ({reason}).";
const char *const notice_default_en =
    "{product}: exchange is temporarily unavailable {until} ({reason}), "
    "since {start}.";
static const char *const closed_ko =
    "{product}: {end}부터 환전이 재개되었습니다. 이용에 불편을 드려 "
    "죄송합니다.";
static const char *const closed_en =
    "{product}: exchange has resumed at {end}. Thank you for your "
    "patience.";

void
notice_reason(enum breaker_kind kind, const char **ko, const char **en)
{
	/* A forced suspension's reason is the operator's, written for the
	 * log (and signed "by NAME"): never a customer's text.  Customers
	 * read "operational reasons", or the [notice] the operator chose. */
	*ko = kind_reason[kind].ko;
	*en = kind_reason[kind].en;
}

/* "2024-12-04 00:33 (UTC+09:00)" */
static void
format_time(char *buf, size_t cap, fxb_time t, int offset_min)
{
	time_t secs = (time_t)(t / 1000 + (fxb_time)offset_min * 60);
	struct tm tm;
	gmtime_r(&secs, &tm);
	int off = offset_min < 0 ? -offset_min : offset_min;
	snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d (UTC%c%02d:%02d)",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

/* Appends s to the buffer, growing it; false on out of memory. */
static bool
put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *b = realloc(*buf, ncap);
		if (b == NULL)
			return false;
		*buf = b;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

char *
notice_render(const char *tpl, const struct notice_vars *v, bool ko)
{
	char *buf = NULL, tbuf[64];
	size_t len = 0, cap = 0;
	const char *p = tpl;

	if (!put(&buf, &len, &cap, "", 0))
		return NULL;
	while (*p != '\0') {
		const char *open = strchr(p, '{');
		const char *close = open != NULL ? strchr(open, '}') : NULL;
		if (open == NULL || close == NULL) {
			if (!put(&buf, &len, &cap, p, strlen(p)))
				goto fail;
			break;
		}
		if (!put(&buf, &len, &cap, p, (size_t)(open - p)))
			goto fail;
		size_t n = (size_t)(close - open - 1);
		const char *name = open + 1, *val = NULL;
		if (n == 7 && memcmp(name, "product", 7) == 0) {
			val = v->product;
		} else if (n == 5 && memcmp(name, "start", 5) == 0) {
			format_time(tbuf, sizeof(tbuf), v->start, v->tz_min);
			val = tbuf;
		} else if (n == 3 && memcmp(name, "end", 3) == 0) {
			format_time(tbuf, sizeof(tbuf), v->end, v->tz_min);
			val = tbuf;
		} else if (n == 5 && memcmp(name, "until", 5) == 0) {
			char t[48];
			if (v->until == FXB_NEVER) {
				val = ko ? "추후 공지 시까지"
				         : "until further notice";
			} else {
				format_time(t, sizeof(t), v->until, v->tz_min);
				snprintf(tbuf, sizeof(tbuf),
				         ko ? "%s까지" : "until %s", t);
				val = tbuf;
			}
		} else if (n == 6 && memcmp(name, "reason", 6) == 0) {
			val = ko ? v->reason_ko : v->reason_en;
		}
		/* Not a placeholder (the config refuses those; a default
		 * never has one): keep it as written. */
		if (val == NULL ? !put(&buf, &len, &cap, open,
		                       (size_t)(close - open + 1))
		                : !put(&buf, &len, &cap, val, strlen(val)))
			goto fail;
		p = close + 1;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

char *
notice_render_closed(const struct notice_vars *v, bool ko)
{
	return notice_render(ko ? closed_ko : closed_en, v, ko);
}
