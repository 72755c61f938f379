/*
 * board.c: the live board (docs/OPERATIONS.md, "The board"): its page,
 * its document, the paging of a suspension's products, and the thread
 * that keeps every open board live through the HTTP side's event stream
 * (ipc_http.h).  What the daemon kept as it ran (rates, levels, the
 * latest rows) is in board_feed.c; the JSON is ipc/ipc_reply_board.c's.
 *
 * Bounded whatever the config's size: the document lists the pairs, the
 * newest BOARD_GROUPS_MAX suspensions with their first BOARD_FIRST
 * products each, and the latest rows; the rest of a suspension's
 * products are paged (GET /products).
 *
 * Every open suspension is listed, with every product it holds: a
 * product held by two (its pair's velocity trip and its stale rule, a
 * trip and an operator's force) counts under both, though its checks
 * quote one.  The engine lock is held only to copy numbers.  The scan
 * reads every product's holds (breaker_product_holds), every rule's and
 * every pair's force (a suspension that holds no product: a trip whose
 * side or exemptions leave none, a forced pair with none), made again
 * only after a row commits, in chunks of BOARD_SCAN_CHUNK under mu, so
 * that 100,000 products never hold a check up for more than a moment.
 *
 * Lock order: bm (this file's: the scan's result, and one build at a
 * time) before mu before the feed's fm.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_impl.h"
#include "ipc_http.h"
#include "ipc_reply.h"

/* Suspensions the document lists (the newest), and products shown with
 * each; products a page holds at most. */
#define BOARD_GROUPS_MAX 100
#define BOARD_FIRST      20
/* Planned suspensions the document lists (status has them all). */
#define BOARD_PLANS_MAX  100
#define BOARD_PAGE_MAX   1000
#define BOARD_PAGE_DEF   200
#define BOARD_SCAN_CHUNK 1024
/* Pairs the document lists at most (a config has tens).  Beyond
 * BOARD_CHART_PAIRS, a whole chart (hello, /board.json) keeps every k-th
 * second (k = pairs / BOARD_CHART_PAIRS, rounded up): about 1.3 MB at
 * most, a third of IPC_HTTP_STREAM_QUEUE_MAX. */
#define BOARD_PAIRS_MAX   256
#define BOARD_CHART_PAIRS 32
/* Chart points a broadcast carries per pair: a board that missed one
 * still has every second (a client too slow for that is dropped and
 * starts again from its hello). */
#define BOARD_RECENT 5
/* A row's broadcast waits this long for the rows committed after it. */
#define BOARD_EVENT_DELAY_MS 200

/* The page: build/gen/board_html.c, from daemon/board.html. */
extern const size_t board_html_len;

/* A suspension and one product it holds (product -1: the suspension
 * itself, so that one holding no product is listed too). */
struct held {
	int64_t suspension; /* 0: none shown (no id, or not written yet) */
	fxb_time since, until;
	int32_t rule;    /* -1: an operator's */
	int32_t scope;   /* an operator's: the pair's or product's index */
	int32_t product; /* -1: none */
	bool pair_force;
};

/* A suspension: a run of the sorted scan, its products last. */
struct group {
	size_t head;     /* held[head]: the suspension */
	size_t first, n; /* its products: held[first .. first + n) */
};

/* A product's holds read at once; one with more is read again into a
 * buffer of its size. */
#define BOARD_HOLDS 16

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

struct board {
	struct daemon *d;
	struct ipc_http *http;
	pthread_t thread;
	bool running;

	pthread_mutex_t bm;
	/* The last scan: what engine it read, which rows it had seen. */
	const struct breaker *engine;
	const struct breaker_config *cfg;
	uint64_t rows;
	bool scanned;
	struct held *held; /* sorted: newest suspension first */
	size_t nheld;
	size_t nproducts, nrules;
	size_t suspended; /* products held by any */
	struct group *groups;
	size_t ngroups;
	/* Decisions a second: the checks counted at two readings a second
	 * or more apart (bm). */
	struct {
		int64_t ns;
		uint64_t checks;
	} rate_prev, rate_cur;
};

/* Decisions a second, over the last second or more (bm held); < 0 until
 * there are two readings. */
static double
decisions_per_second(struct board *b)
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

/* A suspension id shown only once its row is written (status's rule). */
static int64_t
visible(struct daemon *d, int64_t id)
{
	return id > 0 && id <= atomic_load(&d->committed) ? id : 0;
}

static int
held_cmp(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	if (x->suspension != y->suspension)
		return x->suspension > y->suspension ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	if (x->pair_force != y->pair_force)
		return x->pair_force ? -1 : 1;
	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	return x->product < y->product ? -1 : x->product > y->product;
}

/* Entries of one suspension: the same id, or, with none shown, the same
 * rule or force (a stale rule before its first tick holds its pair with
 * no id; a force's row may not be written yet). */
static bool
same_group(const struct held *x, const struct held *y)
{
	return x->suspension == y->suspension && x->rule == y->rule &&
	       x->pair_force == y->pair_force && x->scope == y->scope;
}

/* A scan under way: its entries so far, and the newest row written when
 * it began (an id is shown once its row is written: one cut for every
 * entry, so that a suspension's entries all show its id or none do). */
struct scan {
	struct daemon *d;
	int64_t upto;
	struct held *v;
	size_t cap, n;
	size_t held; /* products held by any */
};

/* Room for n more entries; false on out of memory. */
static bool
scan_room(struct scan *sc, size_t n)
{
	if (sc->n + n <= sc->cap)
		return true;
	size_t c = sc->cap > 0 ? sc->cap : 1024;
	while (c < sc->n + n)
		c *= 2;
	struct held *nv = realloc(sc->v, c * sizeof(*nv));
	if (nv == NULL)
		return false;
	sc->v = nv;
	sc->cap = c;
	return true;
}

/* A hold appended as the scan keeps it (room made); scope: a force's
 * pair or product index. */
static void
scan_put(struct scan *sc, const struct breaker_hold *h, int32_t scope,
         int32_t product)
{
	sc->v[sc->n++] = (struct held){
	    .suspension = h->suspension > 0 && h->suspension <= sc->upto
	                      ? h->suspension
	                      : 0,
	    .since = h->since,
	    .until = h->until,
	    .rule = h->rule,
	    .scope = h->rule >= 0 ? -1 : scope,
	    .product = product,
	    .pair_force = h->rule < 0 && h->on_pair,
	};
}

/* Products [from, to), each with every suspension that holds it, mu
 * held.  False on out of memory. */
static bool
scan_products(struct scan *sc, size_t from, size_t to)
{
	struct daemon *d = sc->d;
	struct breaker_hold one[BOARD_HOLDS];
	for (size_t i = from; i < to; i++) {
		struct breaker_hold *hs = one;
		size_t n = breaker_product_holds(d->engine, (int32_t)i, one,
		                                 BOARD_HOLDS);
		if (n > BOARD_HOLDS) {
			if ((hs = malloc(n * sizeof(*hs))) == NULL)
				return false;
			breaker_product_holds(d->engine, (int32_t)i, hs, n);
		}
		bool ok = scan_room(sc, n);
		for (size_t k = 0; ok && k < n; k++)
			scan_put(sc, &hs[k],
			         hs[k].on_pair ? d->cfg->products[i].pair
			                       : (int32_t)i,
			         (int32_t)i);
		sc->held += n > 0;
		if (hs != one)
			free(hs);
		if (!ok)
			return false;
	}
	return true;
}

/* Rules [from, to) in a suspension, as themselves, mu held.  False on out
 * of memory. */
static bool
scan_rules(struct scan *sc, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct breaker_hold h;
		if (!breaker_rule_hold(sc->d->engine, (int32_t)i, &h))
			continue;
		if (!scan_room(sc, 1))
			return false;
		scan_put(sc, &h, -1, -1);
	}
	return true;
}

/* The pairs' forces, as themselves, mu held.  False on out of memory. */
static bool
scan_pair_forces(struct scan *sc)
{
	size_t np = breaker_pair_count(sc->d->engine);
	for (size_t p = 0; p < np; p++) {
		struct breaker_hold h = {.reason = BREAKER_REASON_FORCED,
		                         .rule = -1,
		                         .on_pair = true};
		if (!breaker_force_status(sc->d->engine, true, (int32_t)p,
		                          &h.suspension, &h.since, &h.until))
			continue;
		if (!scan_room(sc, 1))
			return false;
		scan_put(sc, &h, (int32_t)p, -1);
	}
	return true;
}

/* The scan still names products and rules by this engine's indices (the
 * sizes too: a freed engine's and config's addresses may come back). */
static bool
scan_current(const struct board *b, const struct daemon *d)
{
	return b->scanned && b->engine == d->engine && b->cfg == d->cfg &&
	       b->nproducts == d->cfg->nproducts &&
	       b->nrules == d->cfg->nrules;
}

/*
 * Scans every product, rule and pair again if a row committed (or the
 * engine changed) since the last scan: bm held.  The products first, then
 * the rules, BOARD_SCAN_CHUNK of them at a time under mu, then the pairs'
 * forces; a reload in the middle starts it over.  False on out of memory
 * (the last scan stays).
 */
static bool
board_scan(struct board *b)
{
	struct daemon *d = b->d;
	uint64_t rows;
	pthread_mutex_lock(&d->feed->fm);
	rows = d->feed->rows;
	pthread_mutex_unlock(&d->feed->fm);
	pthread_mutex_lock(&d->mu);
	bool same = scan_current(b, d) && b->rows == rows;
	pthread_mutex_unlock(&d->mu);
	if (same)
		return true;

	struct scan sc = {.d = d, .upto = atomic_load(&d->committed)};
	size_t np = 0, nr = 0;
	const struct breaker *engine = NULL;
	const struct breaker_config *cfg = NULL;
	bool ok = true;
	for (size_t at = 0; ok;) {
		pthread_mutex_lock(&d->mu);
		if (at == 0 || d->engine != engine || d->cfg != cfg) {
			at = sc.n = sc.held = 0; /* the start, or a reload */
			engine = d->engine;
			cfg = d->cfg;
			np = breaker_product_count(engine);
			nr = breaker_rule_count(engine);
		}
		size_t to = at + BOARD_SCAN_CHUNK < np + nr
		                ? at + BOARD_SCAN_CHUNK
		                : np + nr;
		if (at < np)
			ok = scan_products(&sc, at, to < np ? to : np);
		if (ok && to > np)
			ok = scan_rules(&sc, at > np ? at - np : 0, to - np);
		bool done = (at = to) >= np + nr;
		if (ok && done)
			ok = scan_pair_forces(&sc);
		pthread_mutex_unlock(&d->mu);
		if (done)
			break;
	}
	struct held *v = sc.v;
	size_t n = sc.n;
	if (!ok) {
		free(v);
		return false;
	}
	if (n > 0) /* nothing held: v may be NULL, which qsort must not get */
		qsort(v, n, sizeof(*v), held_cmp);
	size_t ng = 0;
	for (size_t i = 0; i < n; i++)
		ng += i == 0 || !same_group(&v[i], &v[i - 1]);
	struct group *g = calloc(ng > 0 ? ng : 1, sizeof(*g));
	if (g == NULL) {
		free(v);
		return false;
	}
	/* The suspension's own entries (product -1) sort before its
	 * products. */
	for (size_t i = 0, k = 0; i < n; i++) {
		bool start = i == 0 || !same_group(&v[i], &v[i - 1]);
		if (start && i > 0)
			k++;
		if (start)
			g[k].head = g[k].first = i;
		if (v[i].product < 0)
			g[k].first = i + 1;
		else
			g[k].n++;
	}
	free(b->held);
	free(b->groups);
	b->held = v;
	b->nheld = n;
	b->suspended = sc.held;
	b->nproducts = np;
	b->nrules = cfg->nrules;
	b->groups = g;
	b->ngroups = ng;
	b->engine = engine;
	b->cfg = cfg;
	b->rows = rows;
	b->scanned = true;
	return true;
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

/*
 * The board's document: every chart point with recent 0, else the last
 * `recent` of each pair (a broadcast).  NULL on out of memory.  Takes bm,
 * then mu for the copies, then qmu for the ledger's state.
 */
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

static char *
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
	head.decisions_per_second = decisions_per_second(b);
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
		for (size_t k = 0; scan_current(b, d) && k < b->ngroups &&
		                   k < BOARD_GROUPS_MAX;
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
	const struct ipc_status_ledger lg = {
	    .degraded = d->degraded,
	    .committed_seq = atomic_load(&d->committed),
	    .queued = d->nqueue,
	    .last_error = d->last_error,
	};
	char *s = ipc_reply_board_end(rep, &head, &lg);
	pthread_mutex_unlock(&d->qmu);
	return s;
}

/* ---- the routes (ipc_http_get_fn: nng's threads) ---- */

static void
text_answer(struct ipc_http_response *res, int status, const char *msg)
{
	res->status = status;
	res->content_type = "text/plain; charset=utf-8";
	res->body = strdup(msg);
	res->len = res->body != NULL ? strlen(res->body) : 0;
	if (res->body == NULL)
		res->status = 503;
}

static void
json_answer(struct ipc_http_response *res, char *body)
{
	if (body == NULL) {
		text_answer(res, 503, "out of memory\n");
		return;
	}
	res->status = 200;
	res->content_type = "application/json";
	res->body = body;
	res->len = strlen(body);
}

void
board_get_page(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)arg;
	(void)query;
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
	res->body = malloc(board_html_len);
	res->len = board_html_len;
	if (res->body == NULL)
		text_answer(res, 503, "out of memory\n");
	else
		memcpy(res->body, board_html, board_html_len);
}

void
board_get_json(void *arg, const char *query, struct ipc_http_response *res)
{
	struct daemon *d = arg;
	(void)query;
	json_answer(res,
	            d->board != NULL ? board_document(d->board, 0) : NULL);
}

void
board_stream_hello(void *arg, const char *query, struct ipc_http_response *res)
{
	board_get_json(arg, query, res);
}

/* The value of key in a query string ("a=1&b=2"), percent-decoded into
 * out; false if absent or too long. */
static bool
query_value(const char *query, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *p = query; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&');
		size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			size_t n = 0;
			for (size_t i = klen + 1; i < len; i++) {
				unsigned c = (unsigned char)p[i];
				unsigned hi, lo;
				if (c == '%' && i + 2 < len + 0 &&
				    sscanf(p + i + 1, "%1x%1x", &hi, &lo) ==
				        2) {
					c = hi * 16 + lo;
					i += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (n + 1 >= cap)
					return false;
				out[n++] = (char)c;
			}
			out[n] = '\0';
			return true;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return false;
}

/* A query's non-negative integer (absent: def); false if malformed. */
static bool
query_size(const char *query, const char *key, size_t def, size_t max,
           size_t *out)
{
	char buf[24], *end;
	if (!query_value(query, key, buf, sizeof(buf))) {
		*out = def;
		return true;
	}
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || *end != '\0' || errno != 0 ||
	    v > max)
		return false;
	*out = (size_t)v;
	return true;
}

/* One product of a page (mu held): as a check would meet it. */
static void
page_product(struct daemon *d, int32_t i, struct ipc_board_product *p)
{
	struct breaker_decision dec;
	fxb_time since;
	breaker_product_status(d->engine, i, &dec, &since);
	bool held = dec.verdict == BREAKER_VERDICT_DENY;
	*p = (struct ipc_board_product){
	    .product = d->cfg->products[i].id,
	    .pair = d->cfg->pairs[d->cfg->products[i].pair].name,
	    .held = held,
	    .suspension = held ? visible(d, dec.suspension) : 0,
	    .rule = held ? dec.rule : NULL,
	    .until = held && dec.retry_after_ms >= 0
	                 ? breaker_now(d->engine) + dec.retry_after_ms
	                 : FXB_NEVER,
	};
}

/*
 * GET /products?suspension=ID&prefix=P&offset=N&limit=N: the products a
 * suspension holds (from the last scan, in the config's order), or every
 * product whose id starts with P (held or not), or both; limit at most
 * BOARD_PAGE_MAX.
 */
void
board_get_products(void *arg, const char *query, struct ipc_http_response *res)
{
	struct daemon *d = arg;
	struct board *b = d->board;
	char susp_s[24], prefix[BREAKER_ID_MAX + 1], *end;
	struct ipc_board_page pg = {0};
	bool by_susp =
	    query_value(query, "suspension", susp_s, sizeof(susp_s));
	bool by_prefix = query_value(query, "prefix", prefix, sizeof(prefix));
	if (by_susp) {
		errno = 0;
		long long v = strtoll(susp_s, &end, 10);
		if (susp_s[0] < '1' || susp_s[0] > '9' || *end != '\0' ||
		    errno != 0) {
			text_answer(res, 400,
			            "suspension: a suspension id (a positive "
			            "integer)\n");
			return;
		}
		pg.suspension = v;
	}
	if (!query_size(query, "offset", 0, SIZE_MAX / 2, &pg.offset) ||
	    !query_size(query, "limit", BOARD_PAGE_DEF, BOARD_PAGE_MAX,
	                &pg.limit)) {
		text_answer(res, 400,
		            "offset: a number from 0; limit: a number from 0 "
		            "to 1000\n");
		return;
	}
	if (!by_susp && !by_prefix) {
		text_answer(
		    res, 400,
		    "name a suspension (suspension=ID) or a product id "
		    "prefix (prefix=P), or both\n");
		return;
	}
	if (by_prefix)
		pg.prefix = prefix;
	struct ipc_board_product *out =
	    calloc(pg.limit > 0 ? pg.limit : 1, sizeof(*out));
	if (b == NULL || out == NULL) {
		free(out);
		text_answer(res, 503, "out of memory\n");
		return;
	}
	pg.products = out;
	size_t plen = by_prefix ? strlen(prefix) : 0;
	pthread_mutex_lock(&b->bm);
	bool ok = board_scan(b);
	pthread_mutex_lock(&d->mu);
	if (ok && scan_current(b, d) && by_susp) {
		/* The suspension's run of the sorted scan, filtered by the
		 * prefix if one was given. */
		size_t k = 0;
		while (k < b->ngroups &&
		       b->held[b->groups[k].head].suspension != pg.suspension)
			k++;
		for (size_t i = 0; k < b->ngroups && i < b->groups[k].n; i++) {
			int32_t pi = b->held[b->groups[k].first + i].product;
			if (plen > 0 && strncmp(d->cfg->products[pi].id,
			                        prefix, plen) != 0)
				continue;
			if (pg.total >= pg.offset && pg.n < pg.limit)
				page_product(d, pi, &out[pg.n++]);
			pg.total++;
		}
	} else if (ok && scan_current(b, d)) {
		for (size_t i = 0; i < d->cfg->nproducts; i++) {
			if (strncmp(d->cfg->products[i].id, prefix, plen) != 0)
				continue;
			if (pg.total >= pg.offset && pg.n < pg.limit)
				page_product(d, (int32_t)i, &out[pg.n++]);
			pg.total++;
		}
	}
	/* Built under mu: the names point into the running config. */
	char *s = ok ? ipc_reply_board_page(&pg) : NULL;
	pthread_mutex_unlock(&d->mu);
	pthread_mutex_unlock(&b->bm);
	free(out);
	json_answer(res, s);
}

/* ---- a follower's rows ---- */

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
static void
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

/* ---- the stream's thread ---- */

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
		(void)decisions_per_second(b);
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
