/*
 * fdwatch.c: watches the daemon's file descriptors against its limit
 * (RLIMIT_NOFILE).  When they run out, nng's listeners fail to accept
 * (EMFILE) and back off without a word to the application: new clients
 * are refused, and nothing else would say so.  A thread counts
 * /proc/self/fd every FDWATCH_EVERY_MS; at 90 % of the limit it warns on
 * stderr (once, until the count falls below 80 % again, which it says
 * too); status shows the count, the limit and the episodes
 * (docs/OPERATIONS.md).  It is not a limiter: it only tells.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "daemon_impl.h"

#define FDWATCH_EVERY_MS 1000
#define FDWATCH_HIGH_PCT 90 /* warn at or above */
#define FDWATCH_LOW_PCT  80 /* the episode ends below */

struct fdwatch {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool stop;
	_Atomic bool high;
	_Atomic uint64_t episodes;
};

/* The soft limit, or -1 if there is none to speak of. */
static int
fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT32_MAX)
		return -1;
	return (int)rl.rlim_cur;
}

/* Descriptors open now, not counting the one that reads them; the limit
 * if none is left to read them with; -1 if /proc cannot tell. */
static int
fd_count(int limit)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;
	if (dir == NULL)
		return (errno == EMFILE || errno == ENFILE) ? limit : -1;
	for (struct dirent *e; (e = readdir(dir)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;
}

static void
fdwatch_tick(struct fdwatch *w)
{
	int limit = fd_limit();
	int open = limit > 0 ? fd_count(limit) : -1;
	if (open < 0)
		return;
	bool high = atomic_load(&w->high);
	if (!high &&
	    (int64_t)open * 100 >= (int64_t)limit * FDWATCH_HIGH_PCT) {
		atomic_store(&w->high, true);
		atomic_fetch_add(&w->episodes, 1);
		log_warn("file descriptors: %d of %d in use (%d %% or more): "
		         "new connections will be refused at the limit; "
		         "raise it (ulimit -n, systemd LimitNOFILE=)",
		         open, limit, FDWATCH_HIGH_PCT);
	} else if (high &&
	           (int64_t)open * 100 < (int64_t)limit * FDWATCH_LOW_PCT) {
		atomic_store(&w->high, false);
		log_info("file descriptors: %d of %d in use (below %d %% "
		         "again)",
		         open, limit, FDWATCH_LOW_PCT);
	}
}

static void *
fdwatch_main(void *arg)
{
	struct fdwatch *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		pthread_mutex_unlock(&w->mu);
		fdwatch_tick(w);
		pthread_mutex_lock(&w->mu);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)FDWATCH_EVERY_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (!w->stop)
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct fdwatch *
fdwatch_start(void)
{
	struct fdwatch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	if (w == NULL)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, fdwatch_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void
fdwatch_stop(struct fdwatch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void
fdwatch_read(struct fdwatch *w, struct fdwatch_state *st)
{
	st->limit = fd_limit();
	st->open = st->limit > 0 ? fd_count(st->limit) : -1;
	st->high = w != NULL && atomic_load(&w->high);
	st->episodes = w != NULL ? atomic_load(&w->episodes) : 0;
}
