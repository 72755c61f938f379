/*
 * board_follow.c: a cluster follower's rows on its board, read from its
 * own ledger once a second by the board's thread (board_follow, below)
 * and handed to the feed (board_feed.c) as the writer's rows are on the
 * leader.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "board_impl.h"

/* The rows after `after`, newest first, at most BOARD_EVENTS. */
struct follow {
	int64_t after;
	struct board_event ev[BOARD_EVENTS];
	size_t n;
};

static int
follow_row(void *arg, const struct ledger_row *r, int64_t logged_at)
{
	struct follow *fw = arg;
	(void)logged_at;
	if (r->seq <= fw->after || fw->n == BOARD_EVENTS)
		return 1;
	struct board_event *e = &fw->ev[fw->n++];
	e->seq = r->seq;
	e->suspension = r->suspension;
	e->t = r->t;
	snprintf(e->event, sizeof(e->event), "%s", r->event ? r->event : "");
	snprintf(e->rule, sizeof(e->rule), "%s", r->rule ? r->rule : "");
	snprintf(e->kind, sizeof(e->kind), "%s", r->kind ? r->kind : "");
	snprintf(e->scope, sizeof(e->scope), "%s", r->scope ? r->scope : "");
	snprintf(e->scope_type, sizeof(e->scope_type), "%s",
	         r->scope_type ? r->scope_type : "");
	return 0;
}

/*
 * A cluster node that is not (yet) serving as leader writes no row of
 * its own: the leader's rows reach its ledger through the cluster's log,
 * not its writer.  The board reads the ones it has not listed from the
 * ledger, on a connection of its own (read-only: the apply path's is
 * never shared), so that a follower's board lists the same rows as the
 * leader's, a second later at most.  The board's thread, no lock held.
 */
void
board_follow(struct board *b)
{
	struct daemon *d = b->d;
	struct board_feed *f = d->feed;
	int role = atomic_load(&d->role);
	if (d->cluster == NULL ||
	    (role != ROLE_FOLLOWER && role != ROLE_PROMOTING))
		return;
	struct follow *fw = calloc(1, sizeof(*fw));
	if (fw == NULL)
		return;
	pthread_mutex_lock(&f->fm);
	fw->after =
	    f->nevents > 0
	        ? f->events[(f->evhead + BOARD_EVENTS - 1) % BOARD_EVENTS].seq
	        : 0;
	pthread_mutex_unlock(&f->fm);
	if (atomic_load(&d->applied) <= fw->after) {
		free(fw);
		return;
	}
	char path[BREAKER_TEXT_MAX + 32], err[512];
	struct ledger *lg = NULL;
	snprintf(path, sizeof(path), "%s/fxbreaker.db", d->svc.data_dir);
	/* A failed read (a snapshot being installed) is tried again at the
	 * next second. */
	if (ledger_open(path, true, &lg, err, sizeof(err)) == FXB_OK) {
		const struct ledger_filter q = {.limit = BOARD_EVENTS,
		                                .newest_first = true};
		(void)ledger_query(lg, &q, follow_row, fw);
	}
	ledger_close(lg);
	for (size_t i = fw->n; i > 0; i--) {
		const struct board_event *e = &fw->ev[i - 1];
		const struct ledger_row r = {
		    .seq = e->seq,
		    .t = e->t,
		    .event = e->event,
		    .rule = e->rule[0] != '\0' ? e->rule : NULL,
		    .kind = e->kind,
		    .scope = e->scope[0] != '\0' ? e->scope : NULL,
		    .scope_type =
		        e->scope_type[0] != '\0' ? e->scope_type : NULL,
		    .suspension = e->suspension,
		};
		board_row(d, &r);
	}
	free(fw);
}
