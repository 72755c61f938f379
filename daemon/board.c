/*
 * board.c: the live board (docs/OPERATIONS.md, "The board"): made and
 * freed with the HTTP side, and the thread that keeps every open board
 * live through the HTTP side's event stream (ipc_http.h): the document
 * broadcast every second while a board is open and soon after a row
 * commits, and on a cluster follower the leader's rows taken in first
 * (board_follow.c).  The document is board_document.c's, the routes
 * board_routes.c's; board_impl.h lists the board's files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board_impl.h"

/* Chart points a broadcast carries per pair: a board that missed one
 * still has every second (a client too slow for that is dropped and
 * starts again from its hello). */
#define BOARD_RECENT 5
/* A row's broadcast waits this long for the rows committed after it. */
#define BOARD_EVENT_DELAY_MS 200

static void
deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Broadcasts the document every second while a board is open, and soon
 * after a row commits (BOARD_EVENT_DELAY_MS later, so that a burst of
 * rows is one broadcast). */
static void *
board_main(void *arg)
{
	struct board *b = arg;
	struct board_feed *f = b->d->feed;
	struct timespec next;
	deadline_in(&next, 1000);
	pthread_mutex_lock(&f->fm);
	uint64_t seen = f->rows;
	while (!f->stop) {
		int rc = pthread_cond_timedwait(&f->fcv, &f->fm, &next);
		if (f->stop)
			break;
		bool row = f->rows != seen;
		if (rc != ETIMEDOUT && !row)
			continue;
		seen = f->rows;
		pthread_mutex_unlock(&f->fm);
		/* Read the counters each second, watched or not, so that a
		 * board opened now shows a rate in its first picture. */
		pthread_mutex_lock(&b->bm);
		(void)board_decisions_per_second(b);
		pthread_mutex_unlock(&b->bm);
		board_follow(b);
		if (row) {
			struct timespec ts = {0,
			                      BOARD_EVENT_DELAY_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (ipc_http_stream_clients(b->http) > 0) {
			char *doc = board_document(b, BOARD_RECENT);
			if (doc != NULL)
				ipc_http_broadcast(b->http, "board", doc,
				                   strlen(doc));
			free(doc);
		}
		deadline_in(&next, 1000);
		pthread_mutex_lock(&f->fm);
	}
	pthread_mutex_unlock(&f->fm);
	return NULL;
}

bool
board_new(struct daemon *d)
{
	struct board *b = d->feed != NULL ? calloc(1, sizeof(*b)) : NULL;
	if (b == NULL)
		return false;
	b->d = d;
	pthread_mutex_init(&b->bm, NULL);
	d->board = b;
	return true;
}

bool
board_start(struct daemon *d, struct ipc_http *http)
{
	struct board *b = d->board;
	if (b == NULL)
		return false;
	b->http = http;
	pthread_mutex_lock(&d->feed->fm);
	d->feed->stop = false;
	pthread_mutex_unlock(&d->feed->fm);
	b->running = pthread_create(&b->thread, NULL, board_main, b) == 0;
	return b->running;
}

void
board_stop(struct daemon *d)
{
	struct board *b = d->board;
	if (b == NULL)
		return;
	if (b->running) {
		pthread_mutex_lock(&d->feed->fm);
		d->feed->stop = true;
		pthread_cond_broadcast(&d->feed->fcv);
		pthread_mutex_unlock(&d->feed->fm);
		pthread_join(b->thread, NULL);
		b->running = false;
	}
}

void
board_free(struct daemon *d)
{
	struct board *b = d->board;
	if (b == NULL)
		return;
	board_stop(d);
	d->board = NULL;
	pthread_mutex_destroy(&b->bm);
	free(b->held);
	free(b->groups);
	free(b);
}
