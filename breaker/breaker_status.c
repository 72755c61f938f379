/*
 * breaker_status.c: a rule's state and an operator's suspension read out
 * for the daemon's status reply, by the names the API gives them.  A
 * product's status is what a check would meet first, so it is decided
 * with the check (breaker_check.c, breaker_product_status).
 */
#include <stddef.h>

#include "breaker_decimal.h"
#include "breaker_impl.h"

const char *
breaker_rule_state_name(enum breaker_rule_state state)
{
	static const char *const names[] = {
	    [BREAKER_RULE_NORMAL] = "normal",
	    [BREAKER_RULE_NO_REFERENCE] = "no_reference",
	    [BREAKER_RULE_LIMIT] = "limit",
	    [BREAKER_RULE_TRIPPED] = "tripped",
	    [BREAKER_RULE_AWAITING_REFERENCE] = "awaiting_reference",
	    [BREAKER_RULE_NO_RATE] = "no_rate",
	    [BREAKER_RULE_STALE] = "stale",
	};
	if ((size_t)state >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[state];
}

void
breaker_rule_status(const struct breaker *b, int32_t rule,
                    struct breaker_rule_status *out)
{
	const struct rule *r = b->rule[rule];
	out->state = (enum breaker_rule_state)r->state;
	out->since = r->since;
	out->until = r->state == RS_TRIPPED ? r->until : FXB_NEVER;
	out->suspension = r->suspension;
	out->latched = r->latched;
	out->dir = r->dir;
}

bool
breaker_force_status(const struct breaker *b, bool on_pair, int32_t idx,
                     int64_t *suspension, fxb_time *since, fxb_time *until)
{
	const struct force *f = NULL;
	if (on_pair && breaker_valid_index(idx, b->npairs))
		f = b->pairs[idx].force;
	else if (!on_pair && breaker_valid_index(idx, b->nproducts))
		f = breaker_product(b, idx)->force;
	if (f == NULL || !f->on)
		return false;
	*suspension = f->suspension;
	*since = f->since;
	*until = f->until;
	return true;
}

const char *
breaker_force_reason(const struct breaker *b, bool on_pair, int32_t idx)
{
	const struct force *f = NULL;
	if (on_pair && breaker_valid_index(idx, b->npairs))
		f = b->pairs[idx].force;
	else if (!on_pair && breaker_valid_index(idx, b->nproducts))
		f = breaker_product(b, idx)->force;
	return f != NULL && f->on ? f->reason : NULL;
}

/* A level that fits int64_t (an extreme price plus a move may not). */
static int64_t
clamp_levels(fxb_i128 v)
{
	return v > INT64_MAX   ? INT64_MAX
	       : v < INT64_MIN ? INT64_MIN
	                       : (int64_t)v;
}

/* The first entry of a monotonic deque at or after lo: the window's
 * extreme once the older entries are left out (they come first). */
static const struct ring_ent *
deque_first_from(const struct ring *dq, fxb_time lo)
{
	for (uint32_t i = 0; i < dq->len; i++) {
		const struct ring_ent *e =
		    &dq->e[(dq->head + i) & (dq->cap - 1)];
		if (e->t >= lo)
			return e;
	}
	return NULL;
}

bool
breaker_rule_levels(const struct breaker *b, int32_t rule,
                    struct breaker_rule_levels *out)
{
	const struct rule *r = b->rule[rule];
	*out = (struct breaker_rule_levels){0};
	if (r->kind == BREAKER_BAND &&
	    (r->state == RS_NORMAL || r->state == RS_LIMIT)) {
		fxb_i128 den = (fxb_i128)r->ref_den * BREAKER_PCT_100;
		out->band = true;
		out->lower = breaker_ratio_round(
		    r->ref_num * (BREAKER_PCT_100 - r->c->band_pct), den);
		out->upper = breaker_ratio_round(
		    r->ref_num * (BREAKER_PCT_100 + r->c->band_pct), den);
		return true;
	}
	if (r->kind != BREAKER_VELOCITY || r->state == RS_TRIPPED)
		return false;
	/* The next tick's window: the deques' entries not yet too old, and
	 * the group of ticks still pending at pend_t. */
	fxb_time lo = b->now - r->c->window;
	const struct ring_ent *mn = deque_first_from(&r->dq_min, lo);
	const struct ring_ent *mx = deque_first_from(&r->dq_max, lo);
	bool any = mn != NULL && mx != NULL;
	int64_t wmin = any ? mn->v : 0, wmax = any ? mx->v : 0;
	if (r->pend && r->pend_t >= lo) {
		wmin = any && wmin < r->pend_min ? wmin : r->pend_min;
		wmax = any && wmax > r->pend_max ? wmax : r->pend_max;
		any = true;
	}
	if (!any)
		return false;
	out->velocity = true;
	out->vlower = clamp_levels((fxb_i128)wmax - r->velocity);
	out->vupper = clamp_levels((fxb_i128)wmin + r->velocity);
	return true;
}

bool
breaker_pair_band(const struct breaker *b, int32_t pair, int64_t *lower,
                  int64_t *upper)
{
	bool any = false;
	if (!breaker_valid_index(pair, b->npairs))
		return false;
	const struct pair *p = &b->pairs[pair];
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct rule *r = p->rules[i];
		if (r->kind != BREAKER_BAND || r->shadow ||
		    (r->state != RS_NORMAL && r->state != RS_LIMIT))
			continue;
		/* The edges as the rule's events show them (band_figures). */
		fxb_i128 den = (fxb_i128)r->ref_den * BREAKER_PCT_100;
		int64_t lo = breaker_ratio_round(
		    r->ref_num * (BREAKER_PCT_100 - r->c->band_pct), den);
		int64_t up = breaker_ratio_round(
		    r->ref_num * (BREAKER_PCT_100 + r->c->band_pct), den);
		if (!any || lo > *lower)
			*lower = lo;
		if (!any || up < *upper)
			*upper = up;
		any = true;
	}
	return any;
}
