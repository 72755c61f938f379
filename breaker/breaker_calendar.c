/*
 * breaker_calendar.c: calendars (RULES.md section 9).  A calendar maps a
 * UTC instant to local wall time by a fixed offset and says which weekly
 * session holds it.  finish lays the sessions out once on a week of
 * minutes (week[]) and lists every minute where an occurrence starts or
 * ends (edges); the queries then need no allocation: session_at is a
 * table look-up plus a binary search of the holidays, next_change walks
 * the edges forward.
 *
 * Holidays make the calendar aperiodic, but only near them: a holiday
 * cancels occurrences that start on its local date, and an occurrence
 * lasts at most 24 h, so a holiday D can only matter over local days D and
 * D + 1.  Away from every holiday the weekly pattern repeats, so a walk
 * that has seen a whole clean week go by without the wanted change can
 * skip to the next holiday (or stop).
 */
#include <stdlib.h>
#include <string.h>

#include "breaker_calendar.h"

#define DAY_MS  INT64_C(86400000)
#define MIN_MS  INT64_C(60000)
#define DAY_MIN 1440
/* A walk that has seen this long go by with no holiday near and nothing
 * it wanted has seen the whole weekly pattern (a week and a day: margin
 * for the minute it started in). */
#define CLEAN_MIN (8 * DAY_MIN)

static const char day_names[7][4] = {"mon", "tue", "wed", "thu",
                                     "fri", "sat", "sun"};

/* Refusals that quote the value are built here: the parsers take no
 * buffer, and the caller copies the text into its own message before the
 * next call. */
static _Thread_local char why_buf[128];

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ---- bounded text building (breaker/ has no stdio) ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sb_str(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++)
		if (b->len + 1 < b->cap)
			b->p[b->len++] = *s;
	if (b->cap > 0)
		b->p[b->len] = '\0';
}

/* sb_quoted appends "s[0..n)", at most 24 bytes of it, so that a refusal
 * quoting a long token stays short. */
static void
sb_quoted(struct sbuf *b, const char *s, size_t n)
{
	char tmp[32];
	size_t k = n < 24 ? n : 24;
	memcpy(tmp, s, k);
	if (n > k) {
		memcpy(tmp + k, "...", 3);
		k += 3;
	}
	tmp[k] = '\0';
	sb_str(b, "\"");
	sb_str(b, tmp);
	sb_str(b, "\"");
}

static void
sb_hhmm(struct sbuf *b, int min)
{
	char t[6];
	t[0] = (char)('0' + min / 60 / 10);
	t[1] = (char)('0' + min / 60 % 10);
	t[2] = ':';
	t[3] = (char)('0' + min % 60 / 10);
	t[4] = (char)('0' + min % 10);
	t[5] = '\0';
	sb_str(b, t);
}

/* why builds "PREFIX\"TOKEN\"SUFFIX" in why_buf. */
static const char *
why(const char *prefix, const char *tok, size_t n, const char *suffix)
{
	struct sbuf b = {why_buf, 0, sizeof(why_buf)};
	sb_str(&b, prefix);
	sb_quoted(&b, tok, n);
	sb_str(&b, suffix);
	return why_buf;
}

/* ---- parsers ---- */

static bool
isdig(char c)
{
	return c >= '0' && c <= '9';
}

static bool
isblank_(char c)
{
	return c == ' ' || c == '\t';
}

static int
two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

const char *
breaker_calendar_parse_offset(const char *s, int32_t *min)
{
	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || !isdig(s[1]) ||
	    !isdig(s[2]) || s[3] != ':' || !isdig(s[4]) || !isdig(s[5]))
		return "expected +HH:MM or -HH:MM";
	int h = two(s + 1), m = two(s + 4);
	if (h > 23)
		return "hours above 23";
	if (m > 59)
		return "minutes above 59";
	*min = (int32_t)((s[0] == '-' ? -1 : 1) * (h * 60 + m));
	return NULL;
}

/* parse_hhmm reads exactly HH:MM, 00:00..23:59. */
static bool
parse_hhmm(const char *s, size_t n, int *min)
{
	if (n != 5 || !isdig(s[0]) || !isdig(s[1]) || s[2] != ':' ||
	    !isdig(s[3]) || !isdig(s[4]))
		return false;
	int h = two(s), m = two(s + 3);
	if (h > 23 || m > 59)
		return false;
	*min = h * 60 + m;
	return true;
}

static int
day_index(const char *s, size_t n)
{
	if (n != 3)
		return -1;
	for (int i = 0; i < 7; i++)
		if (memcmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* add_day sets day d in *days; a day already set is refused by name. */
static const char *
add_day(uint8_t *days, int d)
{
	if ((*days & (1u << d)) != 0) {
		struct sbuf b = {why_buf, 0, sizeof(why_buf)};
		sb_str(&b, "day ");
		sb_str(&b, day_names[d]);
		sb_str(&b, " given twice");
		return why_buf;
	}
	*days = (uint8_t)(*days | (1u << d));
	return NULL;
}

static const char *
parse_days(const char *s, size_t n, uint8_t *days)
{
	*days = 0;
	if (n == 5 && memcmp(s, "daily", 5) == 0) {
		*days = 0x7f;
		return NULL;
	}
	size_t i = 0;
	for (;;) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		const char *e = s + i;
		size_t len = j - i;
		if (len == 0)
			return "empty day in the list";
		if (len == 5 && memcmp(e, "daily", 5) == 0)
			return "daily stands alone";
		const char *dash = memchr(e, '-', len);
		const char *err;
		if (dash == NULL) {
			int d = day_index(e, len);
			if (d < 0)
				return why("unknown day ", e, len, "");
			if ((err = add_day(days, d)) != NULL)
				return err;
		} else {
			size_t l1 = (size_t)(dash - e), l2 = len - l1 - 1;
			int a = day_index(e, l1), b = day_index(dash + 1, l2);
			if (a < 0)
				return why("unknown day ", e, l1, "");
			if (b < 0)
				return why("unknown day ", dash + 1, l2, "");
			if (a == b)
				return why("range ", e, len,
				           " is one day: write it alone");
			for (int d = a;; d = (d + 1) % 7) {
				if ((err = add_day(days, d)) != NULL)
					return err;
				if (d == b)
					break;
			}
		}
		if (j == n)
			return NULL;
		i = j + 1;
	}
}

const char *
breaker_calendar_parse_session(const char *s, struct breaker_session_conf *out)
{
	size_t n = strlen(s), i = 0;
	while (i < n && !isblank_(s[i]))
		i++;
	size_t dn = i;
	while (i < n && isblank_(s[i]))
		i++;
	if (dn == 0 || i == dn || i == n)
		return "expected DAYS HH:MM-HH:MM";
	const char *times = s + i;
	size_t tn = n - i;
	const char *dash = memchr(times, '-', tn);
	if (dash == NULL)
		return "expected HH:MM-HH:MM after the days";
	uint8_t days;
	const char *err = parse_days(s, dn, &days);
	if (err != NULL)
		return err;
	size_t l1 = (size_t)(dash - times), l2 = tn - l1 - 1;
	int start, end;
	if (!parse_hhmm(times, l1, &start))
		return why("bad time ", times, l1,
		           l1 == 5 && memcmp(times, "24:00", 5) == 0
		               ? " (use 00:00)"
		               : "");
	if (!parse_hhmm(dash + 1, l2, &end))
		return why("bad time ", dash + 1, l2,
		           l2 == 5 && memcmp(dash + 1, "24:00", 5) == 0
		               ? " (use 00:00)"
		               : "");
	out->days = days;
	out->start_min = (int16_t)start;
	out->end_min = (int16_t)end;
	return NULL;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date
 * (Howard Hinnant's algorithm). */
static int32_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = y / 400; /* y >= 1969 here: no negative division */
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + doe - 719468);
}

static const char *
parse_date(const char *s, size_t n, int32_t *day)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
	                              31, 31, 30, 31, 30, 31};
	if (n != 10 || s[4] != '-' || s[7] != '-')
		return why("not a date: ", s, n, "");
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdig(s[i]))
			return why("not a date: ", s, n, "");
	int y = two(s) * 100 + two(s + 2), m = two(s + 5), d = two(s + 8);
	if (m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap(y) ? 1 : 0))
		return why("not a date: ", s, n, "");
	if (y < 1970)
		return why("before 1970: ", s, n, "");
	*day = days_from_civil(y, m, d);
	return NULL;
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

const char *
breaker_calendar_parse_holidays(const char *s, int32_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t len = strlen(s), i = 0, cnt = 0;
	while (i < len && isblank_(s[i]))
		i++;
	if (i == len)
		return NULL;
	int32_t *v = malloc(BREAKER_CAL_HOLIDAYS_MAX * sizeof(*v));
	if (v == NULL)
		return "out of memory";
	const char *err = NULL;
	for (size_t p = 0;;) {
		size_t q = p;
		while (q < len && s[q] != ',')
			q++;
		size_t a = p, b = q;
		while (a < b && isblank_(s[a]))
			a++;
		while (b > a && isblank_(s[b - 1]))
			b--;
		if (a == b) {
			err = "empty date in the list";
			break;
		}
		if (cnt == BREAKER_CAL_HOLIDAYS_MAX) {
			err = "more than 4096 holidays";
			break;
		}
		if ((err = parse_date(s + a, b - a, &v[cnt])) != NULL)
			break;
		cnt++;
		if (q == len)
			break;
		p = q + 1;
	}
	if (err == NULL) {
		qsort(v, cnt, sizeof(*v), cmp_i32);
		for (size_t k = 1; k < cnt; k++)
			if (v[k] == v[k - 1]) {
				/* Quote it as written: find it again. */
				int32_t want = v[k];
				for (size_t p = 0; p < len; p++) {
					int32_t d;
					if (p + 10 <= len &&
					    parse_date(s + p, 10, &d) ==
					        NULL &&
					    d == want) {
						err = why("", s + p, 10,
						          " given twice");
						break;
					}
				}
				break;
			}
	}
	if (err != NULL) {
		free(v);
		return err;
	}
	*out = v;
	*n = cnt;
	return NULL;
}

/* ---- finish ---- */

static int
cmp_i16(const void *a, const void *b)
{
	int16_t x = *(const int16_t *)a, y = *(const int16_t *)b;
	return (x > y) - (x < y);
}

static int
duration_min(const struct breaker_session_conf *se)
{
	return se->end_min > se->start_min
	           ? se->end_min - se->start_min
	           : se->end_min - se->start_min + DAY_MIN;
}

static const char *
overlap(const struct breaker_calendar_conf *c, int a, int b, int m, char *msg,
        size_t msglen)
{
	struct sbuf sb = {msg, 0, msglen};
	if (msg == NULL || msglen == 0)
		return "sessions overlap";
	sb_str(&sb, "sessions ");
	sb_str(&sb, c->sessions[a].name);
	sb_str(&sb, " and ");
	sb_str(&sb, c->sessions[b].name);
	sb_str(&sb, " overlap on ");
	sb_str(&sb, day_names[m / DAY_MIN]);
	sb_str(&sb, " at ");
	sb_hhmm(&sb, m % DAY_MIN);
	return msg;
}

const char *
breaker_calendar_finish(struct breaker_calendar_conf *c, int *a, int *b,
                        char *msg, size_t msglen)
{
	*a = *b = BREAKER_SESSION_OFF;
	c->edges = NULL;
	c->nedges = 0;
	memset(c->week, BREAKER_SESSION_OFF, sizeof(c->week));
	if (c->utc_offset_min < -1439 || c->utc_offset_min > 1439)
		return "utc_offset out of range";
	if (c->nsessions > BREAKER_CAL_SESSIONS_MAX)
		return "more than 32 sessions";
	for (size_t i = 0; i < c->nsessions; i++) {
		const struct breaker_session_conf *se = &c->sessions[i];
		if (se->days == 0 || se->days > 0x7f || se->start_min < 0 ||
		    se->start_min >= DAY_MIN || se->end_min < 0 ||
		    se->end_min >= DAY_MIN)
			return "a session without days or with a bad time";
		/* "off" names the state between sessions (levels@off,
		 * hours = CAL:off): a session so named could not be told
		 * apart from it. */
		if (strcmp(se->name, "off") == 0) {
			*a = *b = (int)i;
			return "a session may not be named off";
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->sessions[j].name, se->name) == 0) {
				*a = (int)j;
				*b = (int)i;
				return "two sessions with the same name";
			}
	}
	if (c->nsessions == 0)
		return NULL;
	/* One pass over the week's occurrences fills the minute table and
	 * collects each occurrence's start and end (the edges). */
	int16_t *e = malloc(c->nsessions * 14 * sizeof(*e));
	if (e == NULL)
		return "out of memory";
	size_t n = 0;
	for (size_t i = 0; i < c->nsessions; i++) {
		const struct breaker_session_conf *se = &c->sessions[i];
		int dur = duration_min(se);
		for (int d = 0; d < 7; d++) {
			if ((se->days & (1u << d)) == 0)
				continue;
			int m0 = d * DAY_MIN + se->start_min;
			for (int k = 0; k < dur; k++) {
				int m = (m0 + k) % BREAKER_WEEK_MIN;
				if (c->week[m] != BREAKER_SESSION_OFF) {
					*a = c->week[m];
					*b = (int)i;
					memset(c->week, BREAKER_SESSION_OFF,
					       sizeof(c->week));
					free(e);
					return overlap(c, *a, *b, m, msg,
					               msglen);
				}
				c->week[m] = (int8_t)i;
			}
			e[n++] = (int16_t)m0;
			e[n++] = (int16_t)((m0 + dur) % BREAKER_WEEK_MIN);
		}
	}
	qsort(e, n, sizeof(*e), cmp_i16);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || e[u - 1] != e[i])
			e[u++] = e[i];
	c->edges = e;
	c->nedges = u;
	return NULL;
}

void
breaker_calendar_fini(struct breaker_calendar_conf *c)
{
	free(c->holidays);
	c->holidays = NULL;
	c->nholidays = 0;
	free(c->edges);
	c->edges = NULL;
	c->nedges = 0;
}

/* ---- queries ---- */

/* local_min: t's local minute since 1970-01-01 00:00 local. */
static int64_t
local_min(const struct breaker_calendar_conf *c, fxb_time t)
{
	return floordiv(t + (int64_t)c->utc_offset_min * MIN_MS, MIN_MS);
}

/* utc_of: the first ms of local minute lm, in UTC. */
static fxb_time
utc_of(const struct breaker_calendar_conf *c, int64_t lm)
{
	return (lm - c->utc_offset_min) * MIN_MS;
}

/* week_min: minute of the week (Monday 00:00 = 0) of local minute lm;
 * 1970-01-01 was a Thursday (3). */
static int
week_min(int64_t lm)
{
	int64_t day = floordiv(lm, DAY_MIN);
	int64_t wd = ((day % 7) + 7 + 3) % 7;
	return (int)(wd * DAY_MIN + (lm - day * DAY_MIN));
}

static bool
is_holiday(const struct breaker_calendar_conf *c, int64_t day)
{
	size_t lo = 0, hi = c->nholidays;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->holidays[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nholidays && c->holidays[lo] == day;
}

static int
session_at_lm(const struct breaker_calendar_conf *c, int64_t lm)
{
	int s = c->week[week_min(lm)];
	if (s == BREAKER_SESSION_OFF || c->nholidays == 0)
		return s;
	int64_t day = floordiv(lm, DAY_MIN);
	if (lm - day * DAY_MIN < c->sessions[s].start_min)
		day--; /* the occurrence began yesterday */
	return is_holiday(c, day) ? BREAKER_SESSION_OFF : s;
}

int
breaker_calendar_session_at(const struct breaker_calendar_conf *c, fxb_time t)
{
	return session_at_lm(c, local_min(c, t));
}

/* clean_since: is local minute lm clear of every holiday's reach (local
 * days D and D + 1 of holiday D)?  If so, *since is where the clear
 * stretch began (or `from`, whichever is later) and *next the local
 * minute where the next holiday's reach begins (INT64_MAX: none). */
static bool
clean_since(const struct breaker_calendar_conf *c, int64_t lm, int64_t from,
            int64_t *since, int64_t *next)
{
	size_t lo = 0, hi = c->nholidays;
	while (lo < hi) { /* first holiday whose reach ends after lm */
		size_t mid = lo + (hi - lo) / 2;
		if (((int64_t)c->holidays[mid] + 2) * DAY_MIN <= lm)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nholidays && (int64_t)c->holidays[lo] * DAY_MIN <= lm)
		return false;
	*since = from;
	if (lo > 0 && ((int64_t)c->holidays[lo - 1] + 2) * DAY_MIN > from)
		*since = ((int64_t)c->holidays[lo - 1] + 2) * DAY_MIN;
	*next =
	    lo < c->nholidays ? (int64_t)c->holidays[lo] * DAY_MIN : INT64_MAX;
	return true;
}

/* first_edge: index of the first edge after minute of the week m
 * (nedges: none this week). */
static size_t
first_edge(const struct breaker_calendar_conf *c, int m)
{
	size_t i = 0;
	while (i < c->nedges && c->edges[i] <= m)
		i++;
	return i;
}

fxb_time
breaker_calendar_next_change(const struct breaker_calendar_conf *c, fxb_time t,
                             int *to)
{
	int64_t lm = local_min(c, t);
	int s0 = session_at_lm(c, lm);
	if (to != NULL)
		*to = s0;
	if (c->nsessions == 0 || c->nedges == 0)
		return FXB_NEVER;
	int m = week_min(lm);
	int64_t wk = lm - m; /* this week's Monday 00:00, local minute */
	size_t i = first_edge(c, m);
	for (;;) {
		if (i == c->nedges) {
			wk += BREAKER_WEEK_MIN;
			i = 0;
		}
		int64_t cand = wk + c->edges[i++];
		int s = session_at_lm(c, cand);
		if (s != s0) {
			if (to != NULL)
				*to = s;
			return utc_of(c, cand);
		}
		int64_t since, next;
		if (!clean_since(c, cand, lm, &since, &next) ||
		    cand - since <= CLEAN_MIN)
			continue;
		/* A clean week went by all in s0: so is every minute up to
		 * the next holiday's reach. */
		if (next == INT64_MAX)
			return FXB_NEVER;
		int64_t p = next - 1;
		m = week_min(p);
		wk = p - m;
		i = first_edge(c, m);
	}
}

fxb_time
breaker_calendar_next_open(const struct breaker_calendar_conf *c, fxb_time t,
                           uint64_t mask, fxb_time horizon)
{
	if (horizon < 0)
		return FXB_NEVER;
	fxb_time limit =
	    t > 0 && horizon > FXB_NEVER - t ? FXB_NEVER : t + horizon;
	int64_t lm0 = local_min(c, t);
	int prev = session_at_lm(c, lm0);
	fxb_time cur = t;
	for (;;) {
		int to;
		fxb_time b = breaker_calendar_next_change(c, cur, &to);
		if (b == FXB_NEVER || b > limit)
			return FXB_NEVER;
		if ((mask >> (to + 1) & 1) != 0 &&
		    (mask >> (prev + 1) & 1) == 0)
			return b;
		prev = to;
		cur = b;
		/* A clean week with no entry: none until the next holiday's
		 * reach, where the walk resumes. */
		int64_t lm = local_min(c, b), since, next;
		if (!clean_since(c, lm, lm0, &since, &next) ||
		    lm - since <= CLEAN_MIN)
			continue;
		if (next == INT64_MAX)
			return FXB_NEVER;
		cur = utc_of(c, next - 1);
		if (cur > limit)
			return FXB_NEVER;
		prev = session_at_lm(c, next - 1);
	}
}

const char *
breaker_calendar_session_name(const struct breaker_calendar_conf *c, int s)
{
	if (s < 0 || (size_t)s >= c->nsessions)
		return "off";
	return c->sessions[s].name;
}

int
breaker_calendar_session_find(const struct breaker_calendar_conf *c,
                              const char *name, size_t len)
{
	if (len == 3 && memcmp(name, "off", 3) == 0)
		return BREAKER_SESSION_OFF;
	for (size_t i = 0; i < c->nsessions; i++)
		if (strlen(c->sessions[i].name) == len &&
		    memcmp(c->sessions[i].name, name, len) == 0)
			return (int)i;
	return -2;
}
