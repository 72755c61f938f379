/*
 * fuzz_calendar.c: libFuzzer target for calendars (breaker/
 * breaker_calendar.c).  The input is a 10-byte head, then text lines:
 * utc_offset, holidays, and up to 32 session values.  Head: bytes 0-7 an
 * instant t (low bit 0: within 400 days of 2026-01-01, where seeds put
 * their holidays; 1: anywhere in [FXB_TIME_MIN, FXB_TIME_MAX]), byte 8
 * a mask of sessions for next_open, byte 9 its horizon in days.  A value
 * a parser refuses is left out (an offset refused is +00:00) so that the
 * queries still run.  Nothing may crash, leak or hit undefined
 * behaviour, and the answers must agree with each other: the session
 * holds from t to just before next_change, next_change's session is the
 * one at the change, next_open lands on an entry into the mask.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_calendar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY_MS INT64_C(86400000)

static bool
in(uint64_t mask, int s)
{
	return (mask >> (s + 1) & 1) != 0;
}

/* line copies the next '\n'-ended line of [*p, end) into buf. */
static bool
line(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
	if (*p >= end)
		return false;
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl != NULL ? nl : end) - *p);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return true;
}

static void
query(const struct breaker_calendar_conf *c, fxb_time t, uint64_t mask,
      fxb_time horizon)
{
	int n = (int)c->nsessions;
	for (int step = 0; step < 4; step++) {
		int s0 = breaker_calendar_session_at(c, t), to = -9;
		if (s0 < BREAKER_SESSION_OFF || s0 >= n)
			abort();
		fxb_time b = breaker_calendar_next_change(c, t, &to);
		if (b == FXB_NEVER)
			break;
		if (b <= t || to == s0 || to < BREAKER_SESSION_OFF ||
		    to >= n || b % 60000 != 0 ||
		    breaker_calendar_session_at(c, b) != to ||
		    breaker_calendar_session_at(c, b - 1) != s0 ||
		    breaker_calendar_session_at(c, t + (b - t) / 2) != s0)
			abort();
		t = b;
	}
	int prev = breaker_calendar_session_at(c, t);
	fxb_time o = breaker_calendar_next_open(c, t, mask, horizon);
	if (o != FXB_NEVER &&
	    (o <= t || o - t > horizon ||
	     !in(mask, breaker_calendar_session_at(c, o)) ||
	     in(mask, breaker_calendar_session_at(c, o - 1))))
		abort();
	/* entering from t's own session at the first change */
	int to;
	fxb_time b = breaker_calendar_next_change(c, t, &to);
	if (b != FXB_NEVER && b - t <= horizon && in(mask, to) &&
	    !in(mask, prev) && o != b)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct breaker_calendar_conf c;
	static struct breaker_session_conf ss[BREAKER_CAL_SESSIONS_MAX];
	char buf[512], msg[256];
	if (size < 10)
		return 0;
	uint64_t raw = 0;
	for (int i = 0; i < 8; i++)
		raw |= (uint64_t)data[i] << (8 * i);
	int64_t half = (int64_t)(raw >> 1) - (int64_t)(UINT64_C(1) << 62);
	fxb_time t = (raw & 1) != 0 ? half /* [-2^62, 2^62) */
	                            : 20454 * DAY_MS + half % (400 * DAY_MS);
	uint64_t mask = data[8];
	fxb_time horizon = (fxb_time)data[9] * DAY_MS;
	const uint8_t *p = data + 10, *end = data + size;

	memset(&c, 0, sizeof(c));
	c.sessions = ss;
	if (line(&p, end, buf, sizeof(buf)) &&
	    breaker_calendar_parse_offset(buf, &c.utc_offset_min) != NULL)
		c.utc_offset_min = 0;
	if (line(&p, end, buf, sizeof(buf))) {
		const char *e = breaker_calendar_parse_holidays(
		    buf, &c.holidays, &c.nholidays);
		if (e != NULL && (c.holidays != NULL || *e == '\0'))
			abort();
		for (size_t i = 1; i < c.nholidays; i++)
			if (c.holidays[i] <= c.holidays[i - 1])
				abort();
	}
	while (c.nsessions < BREAKER_CAL_SESSIONS_MAX &&
	       line(&p, end, buf, sizeof(buf))) {
		struct breaker_session_conf *s = &ss[c.nsessions];
		memset(s, 0, sizeof(*s));
		const char *e = breaker_calendar_parse_session(buf, s);
		if (e != NULL) {
			if (*e == '\0')
				abort();
			continue;
		}
		if (s->days == 0 || s->days > 0x7f || s->start_min < 0 ||
		    s->start_min >= 1440 || s->end_min < 0 ||
		    s->end_min >= 1440)
			abort();
		s->name[0] = (char)('a' + c.nsessions % 26);
		s->name[1] = (char)('0' + c.nsessions / 26);
		c.nsessions++;
	}
	int a, b;
	const char *e = breaker_calendar_finish(&c, &a, &b, msg, sizeof(msg));
	if (e != NULL) {
		bool oom = a == BREAKER_SESSION_OFF && b == a;
		if (*e == '\0' ||
		    (!oom && (a < 0 || b <= a || (size_t)b >= c.nsessions)))
			abort();
	} else {
		query(&c, t, mask, horizon);
		query(&c, FXB_TIME_MIN, mask, horizon);
		query(&c, FXB_TIME_MAX - 8 * DAY_MS, mask, horizon);
	}
	breaker_calendar_fini(&c);
	return 0;
}
