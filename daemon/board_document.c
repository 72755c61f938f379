/*
 * board_document.c: the board's document (/board.json, the stream's
 * hello, each broadcast): the head's numbers, the pairs with their
 * charts, the suspensions from the last scan (board_scan.c), the
 * calendars and the plans not started, the latest rows, on a cluster
 * node the cluster, and the ledger's state; copied as numbers under the
 * locks, written out by ipc/ipc_reply_board.c's builder.
 *
 * Bounded whatever the config's size: the document lists the pairs, the
 * newest BOARD_GROUPS_MAX suspensions with their first BOARD_FIRST
 * products each, and the latest rows; the rest of a suspension's
 * products are paged (GET /products, board_routes.c).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "board_impl.h"

/* Suspensions the document lists (the newest), and products shown with
 * each. */
#define BOARD_GROUPS_MAX 100
#define BOARD_FIRST      20
/* Planned suspensions the document lists (status has them all). */
#define BOARD_PLANS_MAX 100
/* Pairs the document lists at most (a config has tens).  Beyond
 * BOARD_CHART_PAIRS, a whole chart (hello, /board.json) keeps every k-th
 * second (k = pairs / BOARD_CHART_PAIRS, rounded up): about 1.3 MB at
 * most, a third of IPC_HTTP_STREAM_QUEUE_MAX. */
#define BOARD_PAIRS_MAX   256
#define BOARD_CHART_PAIRS 32

/* Every check answered so far, allowed or not (metrics.c's counters,
 * read without a lock). */
static uint64_t
checks_total(const struct daemon *d)
{
	uint64_t n = 0;
	if (d->metrics == NULL)
		return 0;
	for (size_t v = 0; v < METRICS_VERDICTS; v++)
		for (size_t r = 0; r < METRICS_REASONS; r++)
			n += atomic_load_explicit(&d->metrics->checks[v][r],
			                          memory_order_relaxed);
	return n;
}

/* Decisions a second, over the last second or more (bm held); < 0 until
 * there are two readings. */
double
board_decisions_per_second(struct board *b)
{
	int64_t now = timebase_mono_ns();
	uint64_t n = checks_total(b->d);
	if (b->rate_cur.ns == 0 || now - b->rate_cur.ns >= 1000000000) {
		b->rate_prev = b->rate_cur;
		b->rate_cur.ns = now;
		b->rate_cur.checks = n;
	}
	if (b->rate_prev.ns == 0 || now <= b->rate_prev.ns)
		return -1;
	return (double)(n - b->rate_prev.checks) * 1e9 /
	       (double)(now - b->rate_prev.ns);
}

/* A suspension's row as the document shows it: names copied (mu held,
 * the scan current) into names (room for BOARD_FIRST). */
static void
group_of(struct daemon *d, const struct held *v, const struct group *g,
         const char **names, struct ipc_board_suspension *s)
{
	const struct breaker_config *cfg = d->cfg;
	const struct held *h = &v[g->head];
	*s = (struct ipc_board_suspension){
	    .suspension = h->suspension,
	    .since = h->since,
	    .until = h->until,
	    .products = g->n,
	    .first = names,
	    .nfirst = g->n < BOARD_FIRST ? g->n : BOARD_FIRST,
	};
	if (h->rule >= 0) {
		const struct breaker_rule_conf *c = &cfg->rules[h->rule];
		s->rule = c->id;
		s->kind = breaker_kind_name(c->kind);
		s->scope_type = c->on_pair ? "pair" : "product";
		s->scope = c->on_pair ? cfg->pairs[c->owner].name
		                      : cfg->products[c->owner].id;
	} else {
		s->kind = "forced";
		s->scope_type = h->pair_force ? "pair" : "product";
		s->scope = h->pair_force ? cfg->pairs[h->scope].name
		                         : cfg->products[h->scope].id;
		s->operator_reason =
		    breaker_force_reason(d->engine, h->pair_force, h->scope);
	}
	for (size_t i = 0; i < s->nfirst; i++)
		names[i] = cfg->products[v[g->first + i].product].id;
}

/* The pairs' charts, copied as numbers under the locks and written out
 * after: pts holds npairs runs of at most `per` points, n[p] of pair p's. */
struct charts {
	struct board_point *pts;
	size_t *n;
	size_t npairs, per;
	size_t stride; /* every stride-th point, the newest kept */
};

/* The pairs (mu held, the feed synced, fm taken here): what holds each,
 * its rate and levels; its chart's points (the last `recent`, or all
 * with 0) copied into c, to be written once the locks are released. */
static void
board_pairs(struct board *b, struct ipc_reply_board *rep, size_t recent,
            struct charts *c, struct ipc_status_hold *holds)
{
	struct daemon *d = b->d;
	struct board_feed *f = d->feed;
	pthread_mutex_lock(&f->fm);
	for (size_t p = 0; p < c->npairs && p < f->npairs; p++) {
		const struct board_pair *bp = &f->pairs[p];
		struct ipc_status_pair st;
		struct ipc_status_force forced;
		status_pair(d, (int32_t)p, f->prules + f->pfirst[p],
		            f->pfirst[p + 1] - f->pfirst[p], holds, &forced,
		            &st);
		struct board_point now = {0};
		board_pair_levels(d, bp, &now);
		size_t from =
		    recent > 0 && bp->len > recent ? bp->len - recent : 0;
		c->n[p] = 0;
		for (size_t i = from; i < bp->len && c->n[p] < c->per; i++)
			if ((bp->len - 1 - i) % c->stride == 0)
				c->pts[p * c->per + c->n[p]++] =
				    bp->pts[(bp->head + i) % BOARD_HISTORY];
		const struct ipc_board_pair bpair = {
		    .status = &st,
		    .ticked = bp->ticked,
		    .last = {.t = bp->last.t, .rate = bp->last.rate},
		    .now = {.band = (now.has & BOARD_PT_BAND) != 0,
		            .lower = now.lower,
		            .upper = now.upper,
		            .velocity = (now.has & BOARD_PT_VELOCITY) != 0,
		            .vlower = now.vlower,
		            .vupper = now.vupper},
		    .band_rule = bp->band_rule >= 0
		                     ? d->cfg->rules[bp->band_rule].id
		                     : NULL,
		    .velocity_rule = bp->velocity_rule >= 0
		                         ? d->cfg->rules[bp->velocity_rule].id
		                         : NULL,
		};
		ipc_reply_board_pair(rep, &bpair);
	}
	pthread_mutex_unlock(&f->fm);
}

/* Each listed pair's chart into its entry (no lock held). */
static void
board_charts(const struct charts *c, size_t npairs,
             struct ipc_reply_board *rep)
{
	struct ipc_board_point pts[BOARD_HISTORY];
	for (size_t p = 0; p < npairs; p++) {
		for (size_t i = 0; i < c->n[p]; i++) {
			const struct board_point *q = &c->pts[p * c->per + i];
			pts[i] = (struct ipc_board_point){
			    q->t,
			    q->rate,
			    (q->has & BOARD_PT_BAND) != 0,
			    q->lower,
			    q->upper,
			    (q->has & BOARD_PT_VELOCITY) != 0,
			    q->vlower,
			    q->vupper};
		}
		ipc_reply_board_chart(rep, p, pts, c->n[p]);
	}
}

/* The latest rows, newest first (fm taken here). */
static void
board_events(struct board_feed *f, struct ipc_reply_board *rep)
{
	pthread_mutex_lock(&f->fm);
	for (size_t i = 0; i < f->nevents; i++) {
		const struct board_event *e =
		    &f->events[(f->evhead + BOARD_EVENTS - 1 - i) %
		               BOARD_EVENTS];
		const struct ipc_board_event ev = {
		    e->seq,  e->suspension, e->t,     e->event,
		    e->rule, e->kind,       e->scope, e->scope_type};
		ipc_reply_board_event(rep, &ev);
	}
	pthread_mutex_unlock(&f->fm);
}

/* The calendars, and the plans not started (pairs' first, then
 * products', at most BOARD_PLANS_MAX), as status lists them (mu held). */
static void
board_calendars_plans(struct daemon *d, struct ipc_reply_board *rep)
{
	struct ipc_status_calendar c;
	struct ipc_status_plan p;
	size_t n = 0;
	for (size_t i = 0; i < breaker_calendar_count(d->engine); i++) {
		status_calendar(d, i, &c);
		ipc_reply_board_calendar(rep, &c);
	}
	/* A follower's engine never saw a command: its plans are the
	 * leader's to show. */
	if (atomic_load(&d->role) == ROLE_FOLLOWER)
		return;
	for (size_t i = 0;
	     i < breaker_pair_count(d->engine) && n < BOARD_PLANS_MAX; i++)
		if (status_plan(d, true, (int32_t)i, &p)) {
			ipc_reply_board_plan(rep, &p);
			n++;
		}
	for (size_t i = 0;
	     i < breaker_product_count(d->engine) && n < BOARD_PLANS_MAX; i++)
		if (status_plan(d, false, (int32_t)i, &p)) {
			ipc_reply_board_plan(rep, &p);
			n++;
		}
}

/*
 * The board's document: every chart point with recent 0, else the last
 * `recent` of each pair (a broadcast).  NULL on out of memory.  Takes bm,
 * then mu for the copies, then qmu for the ledger's state.
 */
char *
board_document(struct board *b, size_t recent)
{
	struct daemon *d = b->d;
	struct ipc_reply_board *rep = ipc_reply_board_new();
	struct ipc_status_hold *holds = NULL;
	struct ipc_board_head head = {0};
	struct charts c = {.per = recent > 0 ? recent : BOARD_HISTORY,
	                   .stride = 1};
	bool ok = rep != NULL;

	pthread_mutex_lock(&b->bm);
	head.decisions_per_second = board_decisions_per_second(b);
	ok = ok && board_scan(b);
	pthread_mutex_lock(&d->mu);
	ok = ok && board_feed_sync(d);
	if (ok) {
		struct board_feed *f = d->feed;
		c.npairs =
		    f->npairs < BOARD_PAIRS_MAX ? f->npairs : BOARD_PAIRS_MAX;
		/* A whole chart of many pairs: every k-th second, so that
		 * the hello stays well inside a stream client's queue. */
		if (recent == 0 && c.npairs > BOARD_CHART_PAIRS)
			c.stride = (c.npairs + BOARD_CHART_PAIRS - 1) /
			           BOARD_CHART_PAIRS;
		holds =
		    calloc(f->pfirst[f->npairs] > 0 ? f->pfirst[f->npairs] : 1,
		           sizeof(*holds));
		c.pts = malloc((c.npairs > 0 ? c.npairs : 1) * c.per *
		               sizeof(*c.pts));
		c.n = calloc(c.npairs > 0 ? c.npairs : 1, sizeof(*c.n));
		ok = holds != NULL && c.pts != NULL && c.n != NULL;
	}
	if (ok) {
		breaker_advance(d->engine, daemon_engine_now(d));
		head.service_id = d->svc.service_id;
		head.now = breaker_now(d->engine);
		head.notice_tz_min = d->svc.notice_tz_min;
		head.pairs = d->feed->npairs;
		board_pairs(b, rep, recent, &c, holds);
		head.products = b->nproducts;
		head.suspended = b->suspended;
		head.suspensions = b->ngroups;
		const char *names[BOARD_FIRST];
		for (size_t k = 0; board_scan_current(b, d) &&
		                   k < b->ngroups && k < BOARD_GROUPS_MAX;
		     k++) {
			struct ipc_board_suspension s;
			group_of(d, b->held, &b->groups[k], names, &s);
			ipc_reply_board_suspension(rep, &s);
		}
		board_calendars_plans(d, rep);
	}
	pthread_mutex_unlock(&d->mu);
	pthread_mutex_unlock(&b->bm);
	free(holds);
	if (ok)
		board_charts(&c, c.npairs, rep);
	free(c.pts);
	free(c.n);
	if (!ok) {
		ipc_reply_board_free(rep);
		return NULL;
	}
	board_events(d->feed, rep);
	/* Who leads, read as status reads it: the stream's broadcast each
	 * second carries a failover to every open board. */
	struct cluster_view cv;
	if (cluster_view(d, &cv))
		ipc_reply_board_cluster(rep, &cv.c);

	pthread_mutex_lock(&d->qmu);
	struct ipc_status_ledger lg;
	status_ledger(d, &lg);
	char *s = ipc_reply_board_end(rep, &head, &lg);
	pthread_mutex_unlock(&d->qmu);
	return s;
}
