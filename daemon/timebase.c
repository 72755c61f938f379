/*
 * timebase.c: the engine's clock (docs/OPERATIONS.md, "The clock").
 *
 * Engine time is the wall clock read once at start (or the ledger's last
 * row time, when the wall clock is behind it), carried forward by
 * CLOCK_MONOTONIC: it never goes back, and a duration -- a suspension's
 * five minutes, a stale rule's max_age -- lasts what it says whatever the
 * wall clock does.  The wall clock is only read against it: a step larger
 * than the tolerance is reported once, and the caller logs it.
 *
 * It is never re-anchored while the daemon runs.  Re-anchoring forward
 * would end timed suspensions early (the red team's finding), backward
 * would write rows going back in time, and slewing would make every
 * duration wrong by the slew rate.  What auditors need instead is the
 * offset: every clock_step row says how far the wall clock moved, status
 * shows the offset now, and the next start takes the wall clock again if
 * it is not behind the log.  Not a time source for stderr lines or
 * logged_at: those keep the wall clock, as evidence of what it said.
 */
#include <time.h>

#include "daemon.h"

int64_t
timebase_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool
timebase_start(struct timebase *tb, fxb_time wall, fxb_time ledger_last,
               int64_t tolerance_ms)
{
	tb->anchor_ns = timebase_mono_ns();
	tb->start_wall = wall;
	tb->ledger_last = ledger_last;
	tb->anchor = wall >= ledger_last ? wall : ledger_last;
	tb->offset_ms = wall - tb->anchor;
	tb->steps = 0;
	/* Behind by less than the tolerance is a previous run's unlogged
	 * drift, not news; the clock starts at the log's time all the
	 * same. */
	return tb->offset_ms < -tolerance_ms;
}

fxb_time
timebase_now(const struct timebase *tb)
{
	return tb->anchor + (timebase_mono_ns() - tb->anchor_ns) / 1000000;
}

bool
timebase_check(struct timebase *tb, fxb_time engine, fxb_time wall,
               int64_t tolerance_ms, struct timebase_step *out)
{
	int64_t offset = wall - engine, moved = offset - tb->offset_ms;
	if (moved <= tolerance_ms && moved >= -tolerance_ms)
		return false;
	out->at = engine;
	out->from = engine + tb->offset_ms;
	out->to = wall;
	out->size_ms = moved < 0 ? -moved : moved;
	out->back = moved < 0;
	out->offset_ms = offset;
	tb->offset_ms = offset;
	tb->steps++;
	tb->last = *out;
	return true;
}

void
timebase_deadline(const struct timebase *tb, fxb_time t, struct timespec *ts)
{
	int64_t ns = tb->anchor_ns + (t - tb->anchor) * 1000000;
	if (ns < 0)
		ns = 0;
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}
