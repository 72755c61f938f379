/*
 * watchdog.c: the daemon asks its own check socket "ping" every few
 * seconds, over a fresh connection (ipc_probe), as core banking would,
 * and says when it stops answering and when it answers again.
 *
 * A silent check socket is the worst failure a pre-trade check can have:
 * every client times out and falls back to its fail policy while the
 * admin socket and `status` look healthy (issue 9: nng #1518 did exactly
 * that).  The watchdog only observes and reports, through a callback the
 * daemon turns into a stderr line, a log row and the status; it does not
 * restart anything.
 *
 * It has its own thread and its own lock (mu, a leaf: nothing else is
 * taken while it is held).  The probe runs holding no lock at all; the
 * callback runs on the watchdog's thread with no watchdog lock held, so
 * it may take the engine lock.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ipc_probe.h"

struct watchdog {
	char *url, *service_id;
	fxb_time interval_ms, timeout_ms;
	watchdog_fn on_change;
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC: a clock step is no tick */
	bool stop;         /* mu */
	struct watchdog_state st; /* mu */
};

/* The answer a live check socket gives to ping: ok, and this service's
 * id (docs/PROTOCOL.md).  Anything else is no answer. */
static bool
right_answer(const struct watchdog *w, const char *reply, char *err,
             size_t errlen)
{
	json_t *o = json_loads(reply, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "service_id"));
	bool ok = json_is_true(json_object_get(o, "ok")) && id != NULL &&
	          strcmp(id, w->service_id) == 0;
	if (!ok)
		snprintf(err, errlen, "%s: a wrong answer to ping: %.120s",
		         w->url, reply);
	json_decref(o);
	return ok;
}

/* One probe; on a miss, one more at once, so that a single lost
 * connection is not reported as a silent socket. */
static bool
probe(struct watchdog *w, char *err, size_t errlen)
{
	char reply[512];
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ipc_probe(w->url, "{\"op\":\"ping\"}", (int)w->timeout_ms,
		              reply, sizeof(reply), err, errlen) == FXB_OK &&
		    right_answer(w, reply, err, errlen))
			return true;
	}
	return false;
}

static void *
watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	char err[sizeof(w->st.error)];

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		pthread_mutex_unlock(&w->mu);
		bool answered = probe(w, err, sizeof(err));
		fxb_time now = clock_now_ms();

		pthread_mutex_lock(&w->mu);
		bool changed = answered == w->st.silent;
		if (answered) {
			w->st.silent = false;
			w->st.last_answer = now;
			w->st.error[0] = '\0';
		} else {
			if (!w->st.silent)
				w->st.since = now;
			w->st.silent = true;
			snprintf(w->st.error, sizeof(w->st.error), "%s", err);
		}
		w->st.probes++;
		struct watchdog_state st = w->st;
		bool stopping = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (changed && !stopping)
			w->on_change(w->arg, &st);

		pthread_mutex_lock(&w->mu);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(w->interval_ms / 1000);
		ts.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu,
		                                          &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct watchdog *
watchdog_start(const struct watchdog_conf *conf)
{
	struct watchdog *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (w == NULL)
		return NULL;
	w->url = strdup(conf->url);
	w->service_id = strdup(conf->service_id);
	w->interval_ms = conf->interval_ms;
	w->timeout_ms = conf->timeout_ms;
	w->on_change = conf->on_change;
	w->arg = conf->arg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (w->url == NULL || w->service_id == NULL ||
	    pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w->url);
		free(w->service_id);
		free(w);
		return NULL;
	}
	return w;
}

void
watchdog_get(struct watchdog *w, struct watchdog_state *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	pthread_mutex_unlock(&w->mu);
}

void
watchdog_stop(struct watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	/* A probe under way ends within twice its timeout. */
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->url);
	free(w->service_id);
	free(w);
}
