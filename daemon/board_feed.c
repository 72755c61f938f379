/*
 * board_feed.c: what the live board (board.c) keeps as the service runs,
 * so that a board opened now draws at once: each pair's rate and levels,
 * one point a second for the last ten minutes, as ticks apply; the latest
 * committed rows, as the writer publishes them; and a wake-up for the
 * board's thread when a row commits.
 *
 * It sits low (the tick path and the writer call it) and calls no other
 * daemon file.  Its lock (fm) is a leaf: taken under mu by a tick, alone
 * by the writer and the board, and nothing is taken under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"

struct board_feed *
board_feed_new(void)
{
	struct board_feed *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&f->fm, NULL);
	pthread_cond_init(&f->fcv, &ca);
	pthread_condattr_destroy(&ca);
	return f;
}

void
board_feed_free(struct board_feed *f)
{
	if (f == NULL)
		return;
	free(f->pairs);
	free(f->prules);
	free(f->pfirst);
	pthread_mutex_destroy(&f->fm);
	pthread_cond_destroy(&f->fcv);
	free(f);
}

/* The rule whose levels a pair's chart shows, of kind k: its first
 * enforcing rule of that kind, else its first in shadow mode; -1 if none. */
static int32_t
chart_rule(const struct breaker_config *cfg, int32_t pair, enum breaker_kind k)
{
	int32_t shadow = -1;
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct breaker_rule_conf *c = &cfg->rules[i];
		if (!c->on_pair || c->owner != pair || c->kind != k)
			continue;
		if (!c->shadow)
			return (int32_t)i;
		if (shadow < 0)
			shadow = (int32_t)i;
	}
	return shadow;
}

/*
 * The engine d runs on now: pairs indexed by it, their chart rules found
 * in its config, and each pair's history kept from the engine before when
 * its name is still there (a reload).  mu and fm held.  False on out of
 * memory (the feed then keeps nothing until the next try).
 */
static bool
feed_sync(struct daemon *d, struct board_feed *f)
{
	/* The engine and config pointers, and their sizes: a freed
	 * engine's address may come back for the next one. */
	if (f->engine == d->engine && f->cfg == d->cfg &&
	    f->nrules == breaker_rule_count(d->engine) && f->pairs != NULL &&
	    f->npairs == breaker_pair_count(d->engine))
		return true;
	size_t n = breaker_pair_count(d->engine);
	struct board_pair *v = calloc(n > 0 ? n : 1, sizeof(*v));
	if (v == NULL)
		return false;
	for (size_t p = 0; p < n; p++) {
		struct board_pair *bp = &v[p];
		snprintf(bp->pair, sizeof(bp->pair), "%s",
		         d->cfg->pairs[p].name);
		bp->band_rule = chart_rule(d->cfg, (int32_t)p, BREAKER_BAND);
		bp->velocity_rule =
		    chart_rule(d->cfg, (int32_t)p, BREAKER_VELOCITY);
		for (size_t o = 0; o < f->npairs; o++) {
			if (strcmp(f->pairs[o].pair, bp->pair) != 0)
				continue;
			memcpy(bp->pts, f->pairs[o].pts, sizeof(bp->pts));
			bp->head = f->pairs[o].head;
			bp->len = f->pairs[o].len;
			bp->ticked = f->pairs[o].ticked;
			bp->last = f->pairs[o].last;
			break;
		}
	}
	/* Each pair's enforcing rules, grouped by pair: what may hold it,
	 * without walking every rule of the config (a product's own rules
	 * may be 100,000) each time the board is drawn.  Counted, then
	 * placed (at: each pair's next free slot). */
	uint32_t *first = calloc(n + 1, sizeof(*first));
	uint32_t *at = calloc(n + 1, sizeof(*at));
	int32_t *list = NULL;
	size_t nlist = 0;
	for (size_t i = 0; first != NULL && i < d->cfg->nrules; i++) {
		const struct breaker_rule_conf *c = &d->cfg->rules[i];
		if (c->on_pair && !c->shadow && (size_t)c->owner < n) {
			first[c->owner + 1]++;
			nlist++;
		}
	}
	if (first != NULL && at != NULL)
		list = calloc(nlist > 0 ? nlist : 1, sizeof(*list));
	if (list == NULL) {
		free(first);
		free(at);
		free(v);
		return false;
	}
	for (size_t p = 0; p < n; p++)
		at[p + 1] = first[p + 1] += first[p];
	for (size_t i = 0; i < d->cfg->nrules; i++) {
		const struct breaker_rule_conf *c = &d->cfg->rules[i];
		if (c->on_pair && !c->shadow && (size_t)c->owner < n)
			list[at[c->owner]++] = (int32_t)i;
	}
	free(at);
	free(f->prules);
	free(f->pfirst);
	f->prules = list;
	f->pfirst = first;
	free(f->pairs);
	f->pairs = v;
	f->npairs = n;
	f->engine = d->engine;
	f->cfg = d->cfg;
	f->nrules = breaker_rule_count(d->engine);
	return true;
}

bool
board_feed_sync(struct daemon *d)
{
	struct board_feed *f = d->feed;
	if (f == NULL)
		return false;
	pthread_mutex_lock(&f->fm);
	bool ok = feed_sync(d, f);
	pthread_mutex_unlock(&f->fm);
	return ok;
}

void
board_pair_levels(struct daemon *d, const struct board_pair *bp,
                  struct board_point *pt)
{
	struct breaker_rule_levels lv;
	if (bp->band_rule >= 0 &&
	    breaker_rule_levels(d->engine, bp->band_rule, &lv) && lv.band) {
		pt->has |= BOARD_PT_BAND;
		pt->lower = lv.lower;
		pt->upper = lv.upper;
	}
	if (bp->velocity_rule >= 0 &&
	    breaker_rule_levels(d->engine, bp->velocity_rule, &lv) &&
	    lv.velocity) {
		pt->has |= BOARD_PT_VELOCITY;
		pt->vlower = lv.vlower;
		pt->vupper = lv.vupper;
	}
}

void
board_tick(struct daemon *d, int32_t pair, fxb_time t, int64_t px)
{
	struct board_feed *f = d->feed;
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->fm);
	if (!feed_sync(d, f) || pair < 0 || (size_t)pair >= f->npairs) {
		pthread_mutex_unlock(&f->fm);
		return;
	}
	struct board_pair *bp = &f->pairs[pair];
	struct board_point pt = {.t = t, .rate = px, .has = BOARD_PT_RATE};
	board_pair_levels(d, bp, &pt);
	bp->last = pt;
	bp->ticked = true;
	/* One point a second: a later tick in the same second replaces it,
	 * so each point is the second's last word. */
	struct board_point *back =
	    bp->len > 0 ? &bp->pts[(bp->head + bp->len - 1) % BOARD_HISTORY]
	                : NULL;
	if (back != NULL && back->t / 1000 == t / 1000) {
		*back = pt;
	} else if (bp->len < BOARD_HISTORY) {
		bp->pts[(bp->head + bp->len++) % BOARD_HISTORY] = pt;
	} else {
		bp->pts[bp->head] = pt;
		bp->head = (bp->head + 1) % BOARD_HISTORY;
	}
	pthread_mutex_unlock(&f->fm);
}

/* A row's text field, cut to fit (a NULL is ""). */
static void
copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

void
board_row(struct daemon *d, const struct ledger_row *row)
{
	struct board_feed *f = d->feed;
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->fm);
	/* A cluster node's rows come from its writer and from its ledger
	 * (board_follow.c), in seq order each: a row at or below
	 * the newest listed is one the board has. */
	if (f->nevents > 0 &&
	    row->seq <=
	        f->events[(f->evhead + BOARD_EVENTS - 1) % BOARD_EVENTS].seq) {
		pthread_mutex_unlock(&f->fm);
		return;
	}
	struct board_event *e = &f->events[f->evhead];
	f->evhead = (f->evhead + 1) % BOARD_EVENTS;
	if (f->nevents < BOARD_EVENTS)
		f->nevents++;
	e->seq = row->seq;
	e->t = row->t;
	e->suspension = row->suspension;
	copy_field(e->event, sizeof(e->event), row->event);
	copy_field(e->rule, sizeof(e->rule), row->rule);
	copy_field(e->kind, sizeof(e->kind), row->kind);
	copy_field(e->scope, sizeof(e->scope), row->scope);
	copy_field(e->scope_type, sizeof(e->scope_type), row->scope_type);
	f->rows++;
	pthread_cond_signal(&f->fcv);
	pthread_mutex_unlock(&f->fm);
}
