/*
 * clock.c: the engine's clock and the timer thread.  The engine runs on
 * its own clock (timebase.c: CLOCK_MONOTONIC from a start anchor, never
 * back); the wall clock is compared with it once a second by the timer,
 * which logs a clock_step row when it stepped.  The timer also moves the
 * engine's clock when no request does, so that timed trips and resumes
 * are logged and published on time.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon_impl.h"

/* A clock_step row: the wall clock moved against the engine's (mu held).
 * Rows keep engine time; this row is how a reader maps them back to the
 * wall clock of the moment. */
static int64_t
log_clock_step(struct daemon *d, const struct timebase_step *st)
{
	json_t *o = json_object();
	json_object_set_new(o, "from", json_integer(st->from));
	json_object_set_new(o, "to", json_integer(st->to));
	json_object_set_new(o, "size_ms", json_integer(st->size_ms));
	json_object_set_new(o, "direction",
	                    json_string(st->back ? "back" : "forward"));
	json_object_set_new(o, "engine", json_integer(st->at));
	json_object_set_new(o, "offset_ms", json_integer(st->offset_ms));
	json_object_set_new(o, "tolerance_ms",
	                    json_integer(d->svc.clock_step_tolerance));
	char *detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	int64_t seq = events_service(d, "clock_step", detail);
	free(detail);
	return seq;
}

/* The clock_behind row at start (the header says when). */
int64_t
clock_log_behind(struct daemon *d)
{
	const struct timebase *tb = &d->tb;
	json_t *o = json_object();
	json_object_set_new(o, "wall", json_integer(tb->start_wall));
	json_object_set_new(o, "ledger_last", json_integer(tb->ledger_last));
	json_object_set_new(o, "behind_ms",
	                    json_integer(tb->ledger_last - tb->start_wall));
	json_object_set_new(o, "engine", json_integer(tb->anchor));
	char *detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	int64_t seq = events_service(d, "clock_behind", detail);
	free(detail);
	return seq;
}

/* The engine's clock runs on CLOCK_MONOTONIC from its start anchor
 * (timebase.c): it never goes back.  The wall clock is read against it
 * by the timer thread, not here: this is every check's path. */
fxb_time
daemon_engine_now(struct daemon *d)
{
	fxb_time now = timebase_now(&d->tb), t = breaker_now(d->engine);
	return now > t ? now : t;
}

/* A wall clock step is logged within the timer's second (mu held). */
static void
clock_watch(struct daemon *d, fxb_time now)
{
	struct timebase_step st;
	if (timebase_check(&d->tb, now, clock_now_ms(),
	                   d->svc.clock_step_tolerance, &st))
		log_clock_step(d, &st);
}

/* After a call that may have armed an earlier timer (mu held). */
void
daemon_timer_poke(struct daemon *d)
{
	if (breaker_next_timer(d->engine) < d->timer_target)
		pthread_cond_signal(&d->tcv);
}

static void *
timer_main(void *arg)
{
	struct daemon *d = arg;
	pthread_mutex_lock(&d->mu);
	while (!d->timer_stop) {
		fxb_time now = daemon_engine_now(d);
		clock_watch(d, now);
		breaker_advance(d->engine, now);
		fxb_time next = breaker_next_timer(d->engine);
		d->timer_target = next < now + 1000 ? next : now + 1000;
		/* A monotonic deadline: a wall clock step neither wakes
		 * the timer early nor holds it for hours. */
		struct timespec ts;
		timebase_deadline(&d->tb, d->timer_target, &ts);
		pthread_cond_timedwait(&d->tcv, &d->mu, &ts);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

bool
clock_start(struct daemon *d)
{
	if (pthread_create(&d->timer, NULL, timer_main, d) == 0)
		return true;
	d->timer_stop = true; /* clock_join joins only what ran */
	d->no_timer = true;
	return false;
}

void
clock_stop(struct daemon *d)
{
	d->timer_stop = true;
	pthread_cond_signal(&d->tcv);
}

void
clock_join(struct daemon *d)
{
	if (!d->no_timer)
		pthread_join(d->timer, NULL);
}
