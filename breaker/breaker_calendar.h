/*
 * breaker_calendar.h: calendars (RULES.md section 9): a fixed UTC offset,
 * named weekly sessions in local wall time, holidays.  Pure functions of
 * time: no clock, no I/O, no allocation after breaker_calendar_finish.
 *
 * Time stays UTC epoch ms everywhere; a calendar only maps an instant to
 * local wall time (t + utc_offset) to say which session holds it.  Local
 * time is whole minutes (offsets too), so the session is constant over
 * each local minute and every boundary falls on a local minute.
 *
 * Session indexes: 0 .. nsessions-1 in file order; BREAKER_SESSION_OFF
 * (-1) is `off`, the calendar's state when no session holds the instant.
 */
#ifndef BREAKER_CALENDAR_H
#define BREAKER_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fxb.h"

#define BREAKER_SESSION_OFF      (-1)
#define BREAKER_CAL_SESSIONS_MAX 32 /* sessions per calendar */
#define BREAKER_CAL_HOLIDAYS_MAX 4096
#define BREAKER_WEEK_MIN         (7 * 1440)

/* One weekly session: on each day whose bit is set in `days` (bit 0 =
 * Monday .. bit 6 = Sunday), from start_min to end_min (minutes after local
 * midnight, 0..1439); end_min <= start_min means it ends the next day
 * (09:00-09:00 lasts 24 h). */
struct breaker_session_conf {
	char name[65];
	uint8_t days;
	int16_t start_min, end_min;
	int line;
};

struct breaker_calendar_conf {
	char id[65];
	int32_t utc_offset_min; /* local = UTC + this, -1439..1439 */
	struct breaker_session_conf *sessions;
	size_t nsessions;
	int32_t *holidays; /* local days since 1970-01-01, sorted, unique */
	size_t nholidays;
	int line;
	/* Made by breaker_calendar_finish. */
	int8_t week[BREAKER_WEEK_MIN]; /* local minute of the week (Monday
	                                  00:00 = 0) -> session or OFF,
	                                  holidays aside */
	int16_t *edges; /* minutes of the week where a session starts or
	                   ends, sorted, unique */
	size_t nedges;
};

/* ---- parsing values (each returns NULL, or why the value is refused,
 * for the caller's "FILE:LINE: [calendar ID] key: WHY (\"value\")"; a
 * refusal quoting part of the value is in a per-thread buffer that the
 * next parser call overwrites.  Nothing is written to the outputs on a
 * refusal.) ---- */

/* "+09:00", "-05:00", "+00:00" ("Z" and "09:00" refused: a sign and two
 * digits each, hours <= 23, minutes <= 59). */
const char *breaker_calendar_parse_offset(const char *s, int32_t *min);

/* "DAYS HH:MM-HH:MM": DAYS is `daily`, a range `mon-fri` (wrapping
 * `fri-mon` allowed), or a comma list of days and ranges `sat,sun`,
 * `mon,wed-fri` (three-letter English names, lower case; a day given twice
 * refused); HH:MM is 00:00..23:59 (24:00 refused: use 00:00).  Fills
 * days, start_min and end_min of out. */
const char *breaker_calendar_parse_session(const char *s,
                                           struct breaker_session_conf *out);

/* "2026-12-25, 2027-01-01": a comma list (spaces around commas allowed,
 * empty list allowed) of real dates YYYY-MM-DD, 1970..9999.  *out is
 * malloc'd (NULL when empty), sorted and unique (a date twice is
 * refused).  At most BREAKER_CAL_HOLIDAYS_MAX. */
const char *breaker_calendar_parse_holidays(const char *s, int32_t **out,
                                            size_t *n);

/* breaker_calendar_finish checks a calendar whose sessions, offset and
 * holidays are set, and builds week[] and edges (none without sessions:
 * such a calendar is always off).  Two sessions that overlap in any week
 * (holidays aside) are refused: *a and *b get their indexes (a < b, a the
 * one in file order first) and the message, in msg, says where they first
 * meet, "sessions day and night overlap on mon at 15:00".  Two sessions
 * of one name, or one named `off`, are refused too (*a, *b: the two, or
 * that one twice); otherwise *a = *b = BREAKER_SESSION_OFF.  NULL on
 * success; on error the text is static or in msg (msglen bytes), and c
 * holds no edges and an all-off week. */
const char *breaker_calendar_finish(struct breaker_calendar_conf *c, int *a,
                                    int *b, char *msg, size_t msglen);

/* breaker_calendar_fini frees what parse_holidays and finish made. */
void breaker_calendar_fini(struct breaker_calendar_conf *c);

/* ---- queries (t in [FXB_TIME_MIN, FXB_TIME_MAX]) ---- */

/* The session holding t, or BREAKER_SESSION_OFF.  A session's occurrence
 * starting on a local holiday date does not occur.  O(log holidays). */
int breaker_calendar_session_at(const struct breaker_calendar_conf *c,
                                fxb_time t);

/* The first instant b > t at which the session changes, with the session
 * from b in *to; FXB_NEVER if it never changes again (no sessions, or a
 * pattern that is the same at every minute and no holiday ahead). */
fxb_time breaker_calendar_next_change(const struct breaker_calendar_conf *c,
                                      fxb_time t, int *to);

/* The first instant b > t at which the calendar enters one of the
 * sessions in `mask` (bit s+1 for session s, bit 0 for off) from one not
 * in it, searching up to t + horizon (b = t + horizon included);
 * FXB_NEVER if none. */
fxb_time breaker_calendar_next_open(const struct breaker_calendar_conf *c,
                                    fxb_time t, uint64_t mask,
                                    fxb_time horizon);

/* The name of session s of c, "off" for BREAKER_SESSION_OFF (and for an
 * index c has not). */
const char *
breaker_calendar_session_name(const struct breaker_calendar_conf *c, int s);

/* The index of the session named name (len bytes), BREAKER_SESSION_OFF for
 * "off", or -2 if c has none so named. */
int breaker_calendar_session_find(const struct breaker_calendar_conf *c,
                                  const char *name, size_t len);

#endif /* BREAKER_CALENDAR_H */
