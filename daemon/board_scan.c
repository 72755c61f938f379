/*
 * board_scan.c: which open suspension holds which product, for the
 * board's document and its /products pages (board_scan).  Every open
 * suspension is listed, with every product it holds: a product held by
 * two (its pair's velocity trip and its stale rule, a trip and an
 * operator's force) counts under both, though its checks quote one.  The
 * engine lock is held only to copy numbers.  The scan reads every
 * product's holds (breaker_product_holds), every rule's and every pair's
 * force (a suspension that holds no product: a trip whose side or
 * exemptions leave none, a forced pair with none), made again only after
 * a row commits, in chunks of BOARD_SCAN_CHUNK under mu, so that 100,000
 * products never hold a check up for more than a moment.  Not here: what
 * the document says of it (board_document.c).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "board_impl.h"

/* Products and rules scanned per hold of mu. */
#define BOARD_SCAN_CHUNK 1024
/* A product's holds read at once; one with more is read again into a
 * buffer of its size. */
#define BOARD_HOLDS 16

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
bool
board_scan_current(const struct board *b, const struct daemon *d)
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
bool
board_scan(struct board *b)
{
	struct daemon *d = b->d;
	uint64_t rows;
	pthread_mutex_lock(&d->feed->fm);
	rows = d->feed->rows;
	pthread_mutex_unlock(&d->feed->fm);
	pthread_mutex_lock(&d->mu);
	bool same = board_scan_current(b, d) && b->rows == rows;
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
