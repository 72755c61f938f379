/*
 * calendar_test.c: calendars (RULES.md section 9): the value parsers,
 * the session at an instant and the exact instants where it changes, by
 * hand-computed epoch ms, then random calendars against a reference that
 * looks at every occurrence directly.
 *
 * Days since 1970-01-01 used below, by hand: 1970..2025 is 56 years with
 * 14 leap days (1972..2024), so 2026-01-01 is day 56 * 365 + 14 = 20454;
 * January to November of 2026 hold 334 days, so 2026-12-01 is day 20788
 * and 2026-12-04 day 20791, a Friday ((20791 + 3) % 7 = 4, Monday = 0,
 * 1970-01-01 being a Thursday).  Day D starts at D * 86,400,000 ms UTC;
 * 20791 * 86,400,000 = 1,796,342,400,000.
 */
#include <stdlib.h>
#include <string.h>

#include "breaker_calendar.h"
#include "testlib.h"
#include "xorshift.h"

#define DAY_MS  INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)
#define MIN_MS  INT64_C(60000)
#define D_FRI   INT64_C(20791) /* 2026-12-04, a Friday */
#define KRX_OFF (9 * HOUR_MS)  /* KST = UTC + 9 h */

/* kst: epoch ms of local KST wall time on day D (since 1970) at h:m. */
static fxb_time
kst(int64_t day, int h, int m)
{
	return day * DAY_MS + h * HOUR_MS + m * MIN_MS - KRX_OFF;
}

struct cal {
	struct breaker_calendar_conf c;
	struct breaker_session_conf s[BREAKER_CAL_SESSIONS_MAX];
	char msg[256];
	int a, b;
};

/* cal_make builds a calendar from its values as a config gives them:
 * sessions is "NAME=VALUE" strings, NULL-terminated.  Returns the first
 * refusal (a parser's or finish's), NULL when built. */
static const char *
cal_make(struct cal *k, const char *off, const char *hol,
         const char *const *sessions)
{
	const char *err;
	memset(k, 0, sizeof(*k));
	if ((err = breaker_calendar_parse_offset(off, &k->c.utc_offset_min)) !=
	    NULL)
		return err;
	if ((err = breaker_calendar_parse_holidays(hol, &k->c.holidays,
	                                           &k->c.nholidays)) != NULL)
		return err;
	for (size_t i = 0; sessions[i] != NULL; i++) {
		const char *eq = strchr(sessions[i], '=');
		size_t n = (size_t)(eq - sessions[i]);
		memcpy(k->s[i].name, sessions[i], n);
		k->s[i].name[n] = '\0';
		if ((err = breaker_calendar_parse_session(eq + 1, &k->s[i])) !=
		    NULL)
			return err;
		k->c.nsessions++;
	}
	k->c.sessions = k->s;
	return breaker_calendar_finish(&k->c, &k->a, &k->b, k->msg,
	                               sizeof(k->msg));
}

static const char *const krx_sessions[] = {"day=mon-fri 09:00-15:30",
                                           "night=mon-fri 15:30-02:00", NULL};

/* change: next_change from t must be want, into session want_to. */
#define CHECK_CHANGE(k, t, want, want_to)                                     \
	do {                                                                  \
		int to_ = -9;                                                 \
		CHECK_INT(breaker_calendar_next_change(&(k)->c, (t), &to_),   \
		          (want));                                            \
		CHECK_INT(to_, (want_to));                                    \
	} while (0)

enum { DAY = 0, NIGHT = 1, OFF = BREAKER_SESSION_OFF };

static void
test_parse_offset(void)
{
	static const struct {
		const char *in, *err;
		int32_t want;
	} cases[] = {
	    {"+09:00", NULL, 540},
	    {"-05:00", NULL, -300},
	    {"+00:00", NULL, 0},
	    {"-00:00", NULL, 0},
	    {"+05:45", NULL, 345},
	    {"+23:59", NULL, 1439},
	    {"-23:59", NULL, -1439},
	    {"Z", "expected +HH:MM or -HH:MM", 0},
	    {"09:00", "expected +HH:MM or -HH:MM", 0},
	    {"+9:00", "expected +HH:MM or -HH:MM", 0},
	    {"+0900", "expected +HH:MM or -HH:MM", 0},
	    {"+09:00 ", "expected +HH:MM or -HH:MM", 0},
	    {"", "expected +HH:MM or -HH:MM", 0},
	    {"+24:00", "hours above 23", 0},
	    {"-09:60", "minutes above 59", 0},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		int32_t v = 12345;
		const char *err =
		    breaker_calendar_parse_offset(cases[i].in, &v);
		CHECK_STR(err, cases[i].err);
		CHECK_INT(v, cases[i].err == NULL ? cases[i].want : 12345);
	}
}

static void
test_parse_session(void)
{
	static const struct {
		const char *in, *err;
		int days, start, end;
	} cases[] = {
	    {"mon-fri 09:00-15:30", NULL, 0x1f, 540, 930},
	    {"mon-fri 15:30-02:00", NULL, 0x1f, 930, 120},
	    {"sat,sun 00:00-00:00", NULL, 0x60, 0, 0},
	    {"mon,wed 10:00-11:00", NULL, 0x05, 600, 660},
	    {"mon,wed-fri 10:00-11:00", NULL, 0x1d, 600, 660},
	    {"fri-mon 22:00-06:00", NULL, 0x71, 1320, 360},
	    {"daily 09:00-09:00", NULL, 0x7f, 540, 540},
	    {"sun  23:59-00:00", NULL, 0x40, 1439, 0},
	    {"mon-fri\t09:00-15:30", NULL, 0x1f, 540, 930},
	    {"", "expected DAYS HH:MM-HH:MM", 0, 0, 0},
	    {"mon-fri", "expected DAYS HH:MM-HH:MM", 0, 0, 0},
	    {"09:00-15:30", "expected DAYS HH:MM-HH:MM", 0, 0, 0},
	    {" mon 09:00-15:30", "expected DAYS HH:MM-HH:MM", 0, 0, 0},
	    {"mon 09:00", "expected HH:MM-HH:MM after the days", 0, 0, 0},
	    {"fro 09:00-10:00", "unknown day \"fro\"", 0, 0, 0},
	    {"Mon 09:00-10:00", "unknown day \"Mon\"", 0, 0, 0},
	    {"monday 09:00-10:00", "unknown day \"monday\"", 0, 0, 0},
	    {"mon-fro 09:00-10:00", "unknown day \"fro\"", 0, 0, 0},
	    {"mon,mon 09:00-10:00", "day mon given twice", 0, 0, 0},
	    {"mon-fri,wed 09:00-10:00", "day wed given twice", 0, 0, 0},
	    {"mon-mon 09:00-10:00",
	     "range \"mon-mon\" is one day: write it alone", 0, 0, 0},
	    {"mon,,tue 09:00-10:00", "empty day in the list", 0, 0, 0},
	    {"mon, 09:00-10:00", "empty day in the list", 0, 0, 0},
	    {"daily,sat 09:00-10:00", "daily stands alone", 0, 0, 0},
	    {"mon 25:00-10:00", "bad time \"25:00\"", 0, 0, 0},
	    {"mon 09:00-24:00", "bad time \"24:00\" (use 00:00)", 0, 0, 0},
	    {"mon 9:00-10:00", "bad time \"9:00\"", 0, 0, 0},
	    {"mon 09:60-10:00", "bad time \"09:60\"", 0, 0, 0},
	    {"mon 09:00-10:00 x", "bad time \"10:00 x\"", 0, 0, 0},
	    {"mon 09:00-10:00-11:00", "bad time \"10:00-11:00\"", 0, 0, 0},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		struct breaker_session_conf s;
		memset(&s, 0x5a, sizeof(s));
		const char *err =
		    breaker_calendar_parse_session(cases[i].in, &s);
		CHECK_STR(err, cases[i].err);
		if (cases[i].err != NULL) {
			CHECK_INT(s.days, 0x5a); /* untouched on error */
			continue;
		}
		CHECK_INT(s.days, cases[i].days);
		CHECK_INT(s.start_min, cases[i].start);
		CHECK_INT(s.end_min, cases[i].end);
	}
}

static void
test_parse_holidays(void)
{
	static const struct {
		const char *in, *err;
		size_t n;
		int32_t first, last;
	} cases[] = {
	    {"", NULL, 0, 0, 0},
	    {"  ", NULL, 0, 0, 0},
	    {"1970-01-01", NULL, 1, 0, 0},
	    {"2026-12-25", NULL, 1, 20812, 20812},
	    {"2027-01-01, 2026-12-25", NULL, 2, 20812, 20819},
	    {"2026-12-25 ,2027-01-01 ", NULL, 2, 20812, 20819},
	    {"2024-02-29,2000-02-29", NULL, 2, 11016, 19782},
	    {"9999-12-31", NULL, 1, 2932896, 2932896},
	    {"2026-02-30", "not a date: \"2026-02-30\"", 0, 0, 0},
	    {"2025-02-29", "not a date: \"2025-02-29\"", 0, 0, 0},
	    {"1900-02-29", "not a date: \"1900-02-29\"", 0, 0, 0},
	    {"2026-13-01", "not a date: \"2026-13-01\"", 0, 0, 0},
	    {"2026-00-10", "not a date: \"2026-00-10\"", 0, 0, 0},
	    {"2026-1-01", "not a date: \"2026-1-01\"", 0, 0, 0},
	    {"2026/12/25", "not a date: \"2026/12/25\"", 0, 0, 0},
	    {"20261225", "not a date: \"20261225\"", 0, 0, 0},
	    {"1969-12-31", "before 1970: \"1969-12-31\"", 0, 0, 0},
	    {"2026-12-25,,2027-01-01", "empty date in the list", 0, 0, 0},
	    {"2026-12-25,", "empty date in the list", 0, 0, 0},
	    {"2026-12-25, 2027-01-01, 2026-12-25",
	     "\"2026-12-25\" given twice", 0, 0, 0},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		int32_t dummy, *v = &dummy; /* must be replaced */
		size_t n = 99;
		const char *err =
		    breaker_calendar_parse_holidays(cases[i].in, &v, &n);
		CHECK_STR(err, cases[i].err);
		CHECK_INT(n, cases[i].n);
		if (cases[i].n == 0) {
			CHECK(v == NULL);
			continue;
		}
		CHECK(v != NULL);
		if (v == NULL)
			continue;
		CHECK_INT(v[0], cases[i].first);
		CHECK_INT(v[n - 1], cases[i].last);
		free(v);
	}
	/* 4096 is the most; 4097 refused. */
	size_t cap = 4097 * 11 + 1;
	char *big = malloc(cap);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	for (int pass = 0; pass < 2; pass++) {
		size_t len = 0, want = pass == 0 ? 4096 : 4097;
		for (size_t d = 0; d < want; d++) {
			/* 1 January of 1970 + d years: distinct real dates */
			int y = 1970 + (int)(d % 8000);
			int mo = 1 + (int)(d / 8000);
			big[len++] = (char)('0' + y / 1000);
			big[len++] = (char)('0' + y / 100 % 10);
			big[len++] = (char)('0' + y / 10 % 10);
			big[len++] = (char)('0' + y % 10);
			memcpy(big + len, "-0", 2);
			len += 2;
			big[len++] = (char)('0' + mo);
			memcpy(big + len, "-01,", 4);
			len += 4;
		}
		big[len - 1] = '\0';
		int32_t *v = NULL;
		size_t n = 0;
		const char *err = breaker_calendar_parse_holidays(big, &v, &n);
		if (pass == 0) {
			CHECK_STR(err, NULL);
			CHECK_INT(n, 4096);
			CHECK_INT(v[0], 0);
		} else {
			CHECK_STR(err, "more than 4096 holidays");
			CHECK(v == NULL);
		}
		free(v);
	}
	free(big);
}

/* The onshore USD/KRW calendar: day 09:00-15:30, night 15:30-02:00 KST,
 * Monday to Friday. */
static void
test_krx_week(void)
{
	struct cal k;
	CHECK_STR(cal_make(&k, "+09:00", "", krx_sessions), NULL);
	/* Friday 2026-12-04 15:30 KST = 06:30Z =
	 * 1,796,342,400,000 + 6.5 * 3,600,000 = 1,796,365,800,000. */
	fxb_time fri1530 = 1796365800000;
	CHECK_INT(kst(D_FRI, 15, 30), fri1530);
	CHECK_INT(breaker_calendar_session_at(&k.c, fri1530 - 1), DAY);
	CHECK_INT(breaker_calendar_session_at(&k.c, fri1530), NIGHT);
	CHECK_CHANGE(&k, kst(D_FRI, 9, 0), fri1530, NIGHT);
	CHECK_CHANGE(&k, fri1530 - 1, fri1530, NIGHT);
	/* Friday night runs into Saturday 02:00 KST = Friday 17:00Z =
	 * 1,796,342,400,000 + 17 * 3,600,000 = 1,796,403,600,000. */
	fxb_time sat0200 = 1796403600000;
	CHECK_INT(kst(D_FRI + 1, 2, 0), sat0200);
	CHECK_INT(breaker_calendar_session_at(&k.c, sat0200 - 1), NIGHT);
	CHECK_INT(breaker_calendar_session_at(&k.c, sat0200), OFF);
	CHECK_CHANGE(&k, fri1530, sat0200, OFF);
	/* Then off until Monday 2026-12-07 09:00 KST = 00:00Z =
	 * (20791 + 3) * 86,400,000 = 1,796,601,600,000. */
	fxb_time mon0900 = 1796601600000;
	CHECK_INT(kst(D_FRI + 3, 9, 0), mon0900);
	CHECK_CHANGE(&k, sat0200, mon0900, DAY);
	CHECK_CHANGE(&k, kst(D_FRI + 2, 23, 59), mon0900, DAY);
	CHECK_INT(breaker_calendar_session_at(&k.c, mon0900 - 1), OFF);
	/* Sunday night holds no session (mon-fri nights only). */
	CHECK_INT(breaker_calendar_session_at(&k.c, kst(D_FRI + 3, 1, 0)),
	          OFF);
	/* Monday night: 15:30 KST = 06:30Z = 1,796,601,600,000 +
	 * 23,400,000 = 1,796,625,000,000; then Tuesday 02:00 KST. */
	CHECK_CHANGE(&k, mon0900, 1796625000000, NIGHT);
	CHECK_CHANGE(&k, 1796625000000, kst(D_FRI + 4, 2, 0), OFF);
	CHECK_STR(breaker_calendar_session_name(&k.c, DAY), "day");
	CHECK_STR(breaker_calendar_session_name(&k.c, NIGHT), "night");
	CHECK_STR(breaker_calendar_session_name(&k.c, OFF), "off");
	CHECK_INT(breaker_calendar_session_find(&k.c, "night", 5), NIGHT);
	CHECK_INT(breaker_calendar_session_find(&k.c, "nightly", 5), NIGHT);
	CHECK_INT(breaker_calendar_session_find(&k.c, "off", 3), OFF);
	CHECK_INT(breaker_calendar_session_find(&k.c, "da", 2), -2);
	CHECK_INT(breaker_calendar_session_find(&k.c, "Day", 3), -2);
	/* edges: day and night starts and night ends, Monday to Friday:
	 * 09:00, 15:30 and 02:00 the next day, 15 in all. */
	CHECK_INT(k.c.nedges, 15);
	CHECK_INT(k.c.edges[0], 540);             /* Monday 09:00 */
	CHECK_INT(k.c.edges[1], 930);             /* Monday 15:30 */
	CHECK_INT(k.c.edges[2], 1440 + 120);      /* Tuesday 02:00 */
	CHECK_INT(k.c.edges[14], 5 * 1440 + 120); /* Saturday 02:00 */
	breaker_calendar_fini(&k.c);
}

/* A holiday Monday (2026-12-07) cancels Monday's day and night sessions;
 * the Friday before runs its night to Saturday 02:00 as always.  A
 * holiday Thursday (2026-12-10) keeps Wednesday's night running to
 * Thursday 02:00: it started on Wednesday. */
static void
test_krx_holidays(void)
{
	struct cal k;
	CHECK_STR(
	    cal_make(&k, "+09:00", "2026-12-10, 2026-12-07", krx_sessions),
	    NULL);
	CHECK_INT(k.c.nholidays, 2);
	CHECK_INT(k.c.holidays[0], D_FRI + 3);
	CHECK_INT(k.c.holidays[1], D_FRI + 6);
	fxb_time sat0200 = 1796403600000;
	CHECK_CHANGE(&k, 1796365800000, sat0200, OFF);
	/* Monday off all day: next is Tuesday 2026-12-08 09:00 KST =
	 * 00:00Z = 1,796,601,600,000 + 86,400,000 = 1,796,688,000,000. */
	CHECK_CHANGE(&k, sat0200, 1796688000000, DAY);
	CHECK_INT(breaker_calendar_session_at(&k.c, kst(D_FRI + 3, 10, 0)),
	          OFF);
	CHECK_INT(breaker_calendar_session_at(&k.c, kst(D_FRI + 3, 16, 0)),
	          OFF);
	CHECK_INT(breaker_calendar_session_at(&k.c, kst(D_FRI + 4, 1, 0)),
	          OFF);
	/* Wednesday 15:30 night -> Thursday 2026-12-10 02:00 KST =
	 * Wednesday 17:00Z = 20796 * 86,400,000 + 17 * 3,600,000 =
	 * 1,796,774,400,000 + 61,200,000 = 1,796,835,600,000. */
	fxb_time thu0200 = 1796835600000;
	CHECK_INT(kst(D_FRI + 6, 2, 0), thu0200);
	CHECK_INT(breaker_calendar_session_at(&k.c, thu0200 - 1), NIGHT);
	CHECK_CHANGE(&k, kst(D_FRI + 5, 15, 30), thu0200, OFF);
	/* Thursday: no day, no night (it would start on the holiday);
	 * Friday 2026-12-11 09:00 KST = 00:00Z = 20798 * 86,400,000 =
	 * 1,796,947,200,000. */
	CHECK_CHANGE(&k, thu0200, 1796947200000, DAY);
	CHECK_INT(breaker_calendar_session_at(&k.c, kst(D_FRI + 6, 9, 0)),
	          OFF);
	CHECK_INT(breaker_calendar_session_at(&k.c, kst(D_FRI + 7, 1, 0)),
	          OFF);
	/* The opening: from Saturday 03:00 KST, day or night next starts
	 * on Tuesday 09:00 KST (the Monday is a holiday). */
	CHECK_INT(breaker_calendar_next_open(&k.c, kst(D_FRI + 1, 3, 0), 0x6,
	                                     14 * DAY_MS),
	          1796688000000);
	breaker_calendar_fini(&k.c);
}

static void
test_next_open(void)
{
	struct cal k;
	CHECK_STR(cal_make(&k, "+09:00", "", krx_sessions), NULL);
	fxb_time sat0300 = kst(D_FRI + 1, 3, 0), mon0900 = 1796601600000;
	uint64_t both = 1u << (DAY + 1) | 1u << (NIGHT + 1);
	/* Saturday 03:00 KST -> Monday 09:00 KST exactly. */
	CHECK_INT(breaker_calendar_next_open(&k.c, sat0300, both, 14 * DAY_MS),
	          mon0900);
	/* The horizon is inclusive: exactly the distance still finds it,
	 * a ms less does not. */
	CHECK_INT(
	    breaker_calendar_next_open(&k.c, sat0300, both, mon0900 - sat0300),
	    mon0900);
	CHECK_INT(breaker_calendar_next_open(&k.c, sat0300, both,
	                                     mon0900 - sat0300 - 1),
	          FXB_NEVER);
	/* Night only: Monday 15:30 KST (day -> night is an entry). */
	CHECK_INT(breaker_calendar_next_open(&k.c, sat0300, 1u << (NIGHT + 1),
	                                     14 * DAY_MS),
	          1796625000000);
	/* From inside day, day|night: the next entry is Tuesday 09:00
	 * (Monday's night follows day with no gap: no entry at 15:30). */
	CHECK_INT(breaker_calendar_next_open(&k.c, mon0900, both, 14 * DAY_MS),
	          kst(D_FRI + 4, 9, 0));
	/* off: entered at Saturday 02:00 from Friday night. */
	CHECK_INT(
	    breaker_calendar_next_open(&k.c, 1796365800000, 1u, 14 * DAY_MS),
	    1796403600000);
	/* A mask holding every state is never entered. */
	CHECK_INT(breaker_calendar_next_open(&k.c, sat0300, 0x7, FXB_NEVER),
	          FXB_NEVER);
	CHECK_INT(breaker_calendar_next_open(&k.c, sat0300, 0, FXB_NEVER),
	          FXB_NEVER);
	breaker_calendar_fini(&k.c);
}

/* Negative offsets and instants before 1970 (floor, not truncation). */
static void
test_negative(void)
{
	static const char *const wk[] = {"wk=mon-fri 09:00-17:00", NULL};
	static const char *const dl[] = {"day=daily 09:00-17:00", NULL};
	struct cal k;
	CHECK_STR(cal_make(&k, "-05:00", "", dl), NULL);
	/* t = -1: 1969-12-31 23:59:59.999Z = 18:59:59.999 local: off;
	 * next 1970-01-01 09:00 local = 14:00Z = 50,400,000. */
	CHECK_INT(breaker_calendar_session_at(&k.c, -1), OFF);
	CHECK_CHANGE(&k, -1, 50400000, DAY);
	/* 1969-12-31 12:00 local = 17:00Z = -7 * 3,600,000 = -25,200,000:
	 * day, until 17:00 local = 22:00Z = -7,200,000. */
	CHECK_INT(breaker_calendar_session_at(&k.c, -25200000), DAY);
	CHECK_CHANGE(&k, -25200000, -7200000, OFF);
	CHECK_INT(breaker_calendar_session_at(&k.c, -7200001), DAY);
	CHECK_INT(breaker_calendar_session_at(&k.c, -7200000), OFF);
	breaker_calendar_fini(&k.c);

	CHECK_STR(cal_make(&k, "-05:00", "", wk), NULL);
	/* Friday 1969-12-26 is day -6: 12:00 local = 17:00Z =
	 * -6 * 86,400,000 + 17 * 3,600,000 = -457,200,000. */
	CHECK_INT(breaker_calendar_session_at(&k.c, -457200000), 0);
	/* 17:00 local = 22:00Z = -518,400,000 + 79,200,000. */
	CHECK_CHANGE(&k, -457200000, -439200000, OFF);
	/* Monday 1969-12-29 (day -3) 09:00 local = 14:00Z =
	 * -259,200,000 + 50,400,000 = -208,800,000. */
	CHECK_CHANGE(&k, -439200000, -208800000, 0);
	CHECK_INT(breaker_calendar_session_at(&k.c, -208800001), OFF);
	/* Saturday 1969-12-27 12:00 local: off. */
	CHECK_INT(breaker_calendar_session_at(&k.c, -457200000 + DAY_MS), OFF);
	/* The far edges of time. */
	CHECK(breaker_calendar_next_change(&k.c, FXB_TIME_MIN, NULL) >
	      FXB_TIME_MIN);
	CHECK(breaker_calendar_next_change(&k.c, FXB_TIME_MAX, NULL) >
	      FXB_TIME_MAX);
	breaker_calendar_fini(&k.c);
}

/* A session of the whole day, every day: constant but for a holiday,
 * where it changes at midnight; and the same at 09:00-09:00, where each
 * occurrence meets the next (the edge at 09:00 changes nothing until a
 * holiday makes it). */
static void
test_daily_holiday(void)
{
	static const char *const all[] = {"all=daily 00:00-00:00", NULL};
	static const char *const h24[] = {"open=daily 09:00-09:00", NULL};
	struct cal k;
	/* 2026-12-25 is day 20791 + 21 = 20812: 00:00Z =
	 * 20812 * 86,400,000 = 1,798,156,800,000; the 26th is
	 * 1,798,243,200,000. */
	fxb_time xmas = 1798156800000, boxing = 1798243200000;
	CHECK_STR(cal_make(&k, "+00:00", "2026-12-25", all), NULL);
	CHECK_INT(k.c.nedges, 7);
	CHECK_INT(breaker_calendar_session_at(&k.c, xmas - 1), 0);
	CHECK_INT(breaker_calendar_session_at(&k.c, xmas), OFF);
	CHECK_INT(breaker_calendar_session_at(&k.c, boxing - 1), OFF);
	CHECK_INT(breaker_calendar_session_at(&k.c, boxing), 0);
	CHECK_CHANGE(&k, xmas - 12 * HOUR_MS, xmas, OFF);
	CHECK_CHANGE(&k, INT64_C(0), xmas, OFF); /* 57 years ahead */
	CHECK_CHANGE(&k, xmas, boxing, 0);
	CHECK_CHANGE(&k, boxing, FXB_NEVER, 0);
	CHECK_INT(breaker_calendar_next_open(&k.c, 0, 1u, FXB_NEVER), xmas);
	CHECK_INT(breaker_calendar_next_open(&k.c, 0, 2u, FXB_NEVER), boxing);
	CHECK_INT(breaker_calendar_next_open(&k.c, boxing, 1u, FXB_NEVER),
	          FXB_NEVER);
	breaker_calendar_fini(&k.c);

	CHECK_STR(cal_make(&k, "+00:00", "", all), NULL);
	CHECK_CHANGE(&k, xmas, FXB_NEVER, 0);
	breaker_calendar_fini(&k.c);

	/* Six whole days in a row: the walk must not give up before the
	 * week is out.  Monday 2026-12-07 is day 20794; Sunday the 13th
	 * 00:00Z is 20800 * 86,400,000 = 1,797,120,000,000. */
	static const char *const six[] = {"wk=mon-sat 00:00-00:00", NULL};
	CHECK_STR(cal_make(&k, "+00:00", "", six), NULL);
	CHECK_CHANGE(&k, 20794 * DAY_MS + 1, 1797120000000, OFF);
	CHECK_CHANGE(&k, 1797120000000, 1797120000000 + DAY_MS, 0);
	breaker_calendar_fini(&k.c);

	CHECK_STR(cal_make(&k, "+09:00", "2026-12-25", h24), NULL);
	/* Dec 24's occurrence runs to Dec 25 09:00 KST = Dec 25 00:00Z;
	 * Dec 25's does not occur; Dec 26's starts at Dec 26 00:00Z. */
	CHECK_INT(breaker_calendar_session_at(&k.c, xmas - 1), 0);
	CHECK_CHANGE(&k, xmas - 5 * DAY_MS, xmas, OFF);
	CHECK_CHANGE(&k, xmas, boxing, 0);
	CHECK_CHANGE(&k, boxing, FXB_NEVER, 0);
	breaker_calendar_fini(&k.c);
}

static void
test_refused(void)
{
	static const struct {
		const char *sessions[4], *err;
		int a, b;
	} cases[] = {
	    {{"day=mon-fri 09:00-15:30", "night=mon-fri 15:00-02:00", NULL},
	     "sessions day and night overlap on mon at 15:00",
	     0,
	     1},
	    {{"late=sun 22:00-02:00", "early=mon 01:00-03:00", NULL},
	     "sessions late and early overlap on mon at 01:00",
	     0,
	     1},
	    {{"early=mon 01:00-03:00", "late=sun 22:00-02:00", NULL},
	     "sessions early and late overlap on mon at 01:00",
	     0,
	     1},
	    {{"a=daily 09:00-09:00", "b=wed 23:59-00:00", NULL},
	     "sessions a and b overlap on wed at 23:59",
	     0,
	     1},
	    {{"a=mon 09:00-10:00", "b=tue 09:00-10:00",
	      "c=sat,mon 09:59-10:30"},
	     "sessions a and c overlap on mon at 09:59",
	     0,
	     2},
	    {{"a=mon 09:00-10:00", "a=tue 09:00-10:00", NULL},
	     "two sessions with the same name",
	     0,
	     1},
	    {{"off=mon 09:00-10:00", NULL},
	     "a session may not be named off",
	     0,
	     0},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		struct cal k;
		CHECK_STR(cal_make(&k, "+09:00", "", cases[i].sessions),
		          cases[i].err);
		CHECK_INT(k.a, cases[i].a);
		CHECK_INT(k.b, cases[i].b);
		CHECK(k.c.edges == NULL);
		CHECK_INT(k.c.week[0], OFF);
		CHECK_INT(k.c.week[540], OFF);
		breaker_calendar_fini(&k.c);
	}
	/* Back to back is not an overlap. */
	static const char *const meet[] = {"a=daily 09:00-17:00",
	                                   "b=daily 17:00-09:00", NULL};
	struct cal k;
	CHECK_STR(cal_make(&k, "+09:00", "", meet), NULL);
	CHECK_CHANGE(&k, kst(D_FRI, 16, 0), kst(D_FRI, 17, 0), 1);
	CHECK_CHANGE(&k, kst(D_FRI, 17, 0), kst(D_FRI + 1, 9, 0), 0);
	breaker_calendar_fini(&k.c);
}

static void
test_no_sessions(void)
{
	struct cal k;
	static const char *const none[] = {NULL};
	CHECK_STR(cal_make(&k, "+09:00", "2026-12-25", none), NULL);
	CHECK_INT(k.c.nedges, 0);
	CHECK_INT(breaker_calendar_session_at(&k.c, 1796365800000), OFF);
	CHECK_CHANGE(&k, 1796365800000, FXB_NEVER, OFF);
	CHECK_CHANGE(&k, FXB_TIME_MIN, FXB_NEVER, OFF);
	CHECK_INT(breaker_calendar_next_open(&k.c, 0, 1u, FXB_NEVER),
	          FXB_NEVER);
	breaker_calendar_fini(&k.c);
}

/* ---- random calendars against a reference ---- */

static int
ref_session_at(const struct breaker_calendar_conf *c, fxb_time t)
{
	int64_t l = t + (int64_t)c->utc_offset_min * MIN_MS;
	int64_t lm = l / MIN_MS - (l % MIN_MS < 0);
	int64_t day = lm / 1440 - (lm % 1440 < 0);
	for (int64_t d = day - 1; d <= day; d++) {
		int wd = (int)(((d % 7) + 7 + 3) % 7);
		bool hol = false;
		for (size_t h = 0; h < c->nholidays; h++)
			hol |= c->holidays[h] == d;
		if (hol)
			continue;
		for (size_t i = 0; i < c->nsessions; i++) {
			const struct breaker_session_conf *s = &c->sessions[i];
			int dur = s->end_min > s->start_min
			              ? s->end_min - s->start_min
			              : s->end_min - s->start_min + 1440;
			int64_t a = d * 1440 + s->start_min;
			if ((s->days >> wd & 1) != 0 && a <= lm &&
			    lm < a + dur)
				return (int)i;
		}
	}
	return OFF;
}

static int64_t
rnd(uint64_t *x, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(xorshift64(x) % (uint64_t)(hi - lo + 1));
}

static void
test_random_reference(void)
{
	uint64_t x = 13;
	int built = 0, changes = 0, nevers = 0, opens = 0;
	for (int round = 0; round < 400; round++) {
		struct cal k;
		memset(&k, 0, sizeof(k));
		k.c.utc_offset_min = (int32_t)rnd(&x, -1439, 1439);
		k.c.nsessions = (size_t)rnd(&x, 0, 4);
		k.c.sessions = k.s;
		for (size_t i = 0; i < k.c.nsessions; i++) {
			k.s[i].name[0] = (char)('a' + i);
			k.s[i].days = (uint8_t)rnd(&x, 1, 127);
			/* coarse times, so that sessions meet and gaps of
			 * zero happen */
			k.s[i].start_min = (int16_t)(rnd(&x, 0, 23) * 60);
			k.s[i].end_min = (int16_t)(rnd(&x, 0, 47) * 30);
			if (rnd(&x, 0, 2) == 0) /* whole days: long runs */
				k.s[i].start_min = k.s[i].end_min = 0;
		}
		int64_t base = round % 2 == 0 ? 20780 : -30; /* days */
		int32_t hol[6];
		size_t nh = (size_t)rnd(&x, 0, 5);
		for (size_t i = 0; i < nh; i++)
			hol[i] = (int32_t)((i == 0 ? base : hol[i - 1]) +
			                   rnd(&x, 1, 4));
		if (base < 0)
			nh = 0; /* holidays are 1970 or later */
		k.c.holidays = nh > 0 ? hol : NULL;
		k.c.nholidays = nh;
		if (breaker_calendar_finish(&k.c, &k.a, &k.b, k.msg,
		                            sizeof(k.msg)) != NULL)
			continue;
		built++;
		for (int j = 0; j < 4; j++) {
			fxb_time t =
			    base * DAY_MS + rnd(&x, -DAY_MS, 20 * DAY_MS);
			int s0 = breaker_calendar_session_at(&k.c, t), to;
			CHECK_INT(s0, ref_session_at(&k.c, t));
			fxb_time b =
			    breaker_calendar_next_change(&k.c, t, &to);
			/* every minute boundary from t to b (or 3 weeks)
			 * holds s0 */
			fxb_time end = b != FXB_NEVER && b - t < 21 * DAY_MS
			                   ? b
			                   : t + 21 * DAY_MS;
			fxb_time m = t - (t % MIN_MS + MIN_MS) % MIN_MS;
			int bad = 0;
			for (m += MIN_MS; m < end; m += MIN_MS)
				bad += ref_session_at(&k.c, m) != s0;
			if (bad != 0)
				test_fail(
				    __FILE__, __LINE__,
				    "round %d: %d minutes changed before "
				    "next_change %lld",
				    round, bad, (long long)b);
			if (b == FXB_NEVER) {
				nevers++;
				continue;
			}
			changes++;
			CHECK(b > t);
			CHECK_INT(b % MIN_MS, 0); /* whole minutes */
			CHECK_INT(ref_session_at(&k.c, b), to);
			CHECK(to != s0);
			CHECK_INT(ref_session_at(&k.c, b - 1), s0);
			/* next_open agrees with a walk of next_change */
			uint64_t mask = (uint64_t)rnd(&x, 1, 31);
			fxb_time o = breaker_calendar_next_open(&k.c, t, mask,
			                                        14 * DAY_MS);
			/* the first minute that enters mask, looked for one
			 * by one */
			fxb_time want = FXB_NEVER;
			m = t - (t % MIN_MS + MIN_MS) % MIN_MS;
			int prev = ref_session_at(&k.c, m);
			for (m += MIN_MS; m <= t + 14 * DAY_MS; m += MIN_MS) {
				int s = ref_session_at(&k.c, m);
				if ((mask >> (s + 1) & 1) != 0 &&
				    (mask >> (prev + 1) & 1) == 0) {
					want = m;
					break;
				}
				prev = s;
			}
			CHECK_INT(o, want);
			opens += o != FXB_NEVER;
		}
		free(k.c.edges); /* the holidays are on the stack */
	}
	/* the draw really covered both outcomes */
	CHECK(built > 150);
	CHECK(changes > 200);
	CHECK(nevers > 5);
	CHECK(opens > 100);
}

static const struct test tests[] = {
    {"parse_offset", test_parse_offset},
    {"parse_session", test_parse_session},
    {"parse_holidays", test_parse_holidays},
    {"krx_week", test_krx_week},
    {"krx_holidays", test_krx_holidays},
    {"next_open", test_next_open},
    {"negative", test_negative},
    {"daily_holiday", test_daily_holiday},
    {"refused", test_refused},
    {"no_sessions", test_no_sessions},
    {"random_reference", test_random_reference},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
