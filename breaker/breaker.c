/*
 * breaker.c: the engine's life cycle, its clock and timers, and the
 * decision of RULES.md section 3.  Per-kind rule behaviour is in
 * breaker_rules.c.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE, where there is one (Linux) */
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "breaker_impl.h"

static char *
dup_string(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* A huge page, and the size from which an arena asks for them. */
#define HUGE_PAGE  (2u << 20)
#define ARENA_HUGE (2 * HUGE_PAGE)

/*
 * Allocates a zeroed arena of `bytes` (a multiple of BREAKER_LINE).  A big
 * one is asked to live on transparent huge pages: at 100,000 products
 * every check lands on a page of its own, and under virtualisation the
 * TLB miss costs as much as the cache miss (issue 5: 251 -> 159 ns per
 * check).  Only a hint: where there is no such thing, or the system says
 * no, nothing else changes.
 */
static char *
arena_alloc(size_t bytes)
{
	size_t align = BREAKER_LINE, size = bytes;
	char *a;

#ifdef MADV_HUGEPAGE
	if (bytes >= ARENA_HUGE) {
		align = HUGE_PAGE;
		size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	}
#endif
	if ((a = aligned_alloc(align, size)) == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (align == HUGE_PAGE)
		(void)madvise(a, size, MADV_HUGEPAGE);
#endif
	memset(a, 0, size);
	return a;
}

/*
 * Lays out the arena (breaker_impl.h): the pairs' rules, then each
 * product's line followed by its own rules in config order.  Fills block[]
 * and rule[] and each product's nown.
 */
static enum fxb_err
breaker_layout(struct breaker *b, const struct breaker_config *cfg)
{
	const size_t rule_lines = sizeof(struct rule) / BREAKER_LINE;
	uint32_t *nown = calloc(b->nproducts + 1, sizeof(*nown));
	size_t lines = 0, at = 0;

	if (nown == NULL)
		return FXB_ERR_NOMEM;
	for (uint32_t i = 0; i < b->nrules; i++) {
		const struct breaker_rule_conf *c = &cfg->rules[i];
		if (c->on_pair)
			lines += rule_lines;
		else
			nown[c->owner]++;
	}
	for (uint32_t i = 0; i < b->nproducts; i++)
		lines += 1 + nown[i] * rule_lines;
	b->block = calloc(b->nproducts + 1, sizeof(*b->block));
	b->windows = calloc(b->nproducts + 1, sizeof(*b->windows));
	b->rule = calloc(b->nrules + 1, sizeof(*b->rule));
	/* Offsets are kept in lines, in 32 bits. */
	if (lines < UINT32_MAX)
		b->arena = arena_alloc((lines + 1) * BREAKER_LINE);
	if (b->block == NULL || b->windows == NULL || b->rule == NULL ||
	    b->arena == NULL) {
		/* breaker_free walks the arena only when it is laid out. */
		free(b->arena);
		b->arena = NULL;
		free(nown);
		return FXB_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < b->nrules; i++) {
		if (!cfg->rules[i].on_pair)
			continue;
		b->rule[i] =
		    (struct rule *)(void *)(b->arena + at * BREAKER_LINE);
		at += rule_lines;
	}
	for (uint32_t i = 0; i < b->nproducts; i++) {
		b->block[i] = (uint32_t)at;
		at += 1 + nown[i] * rule_lines;
		nown[i] = 0;
	}
	b->block[b->nproducts] = (uint32_t)at; /* ends the last block */
	for (uint32_t i = 0; i < b->nrules; i++) {
		const struct breaker_rule_conf *c = &cfg->rules[i];
		if (c->on_pair)
			continue;
		struct product *p = breaker_product(b, c->owner);
		if (c->kind == BREAKER_VOLUME && nown[c->owner] < 8)
			b->windows[c->owner] |=
			    (uint8_t)(1u << nown[c->owner]);
		b->rule[i] = breaker_product_own(p) + nown[c->owner]++;
		p->nown = nown[c->owner];
	}
	free(nown);
	return FXB_OK;
}

/* Builds the per-pair rule lists and the products' exemption lists. */
static enum fxb_err
breaker_link(struct breaker *b, const struct breaker_config *cfg)
{
	for (uint32_t i = 0; i < b->nrules; i++) {
		const struct breaker_rule_conf *c = b->rule[i]->c;
		if (c->on_pair)
			b->pairs[c->owner].nrules++;
	}
	for (uint32_t i = 0; i < b->npairs; i++) {
		struct pair *pr = &b->pairs[i];
		pr->rules = calloc(pr->nrules + 1, sizeof(*pr->rules));
		pr->enforcing = calloc(pr->nrules + 1, sizeof(*pr->enforcing));
		if (pr->rules == NULL || pr->enforcing == NULL)
			return FXB_ERR_NOMEM;
		pr->nrules = 0;
	}
	for (uint32_t i = 0; i < b->nrules; i++) {
		const struct breaker_rule_conf *c = b->rule[i]->c;
		if (c->on_pair) {
			struct pair *pr = &b->pairs[c->owner];
			pr->rules[pr->nrules++] = b->rule[i];
			/* Shadow rules never deny, so they stay off the lists
			 * the decision walks. */
			if (!c->shadow)
				pr->enforcing[pr->nenforcing++] = b->rule[i];
		}
	}
	/* A product without exemptions shares its pair's list: one list in
	 * cache for all of them. */
	for (uint32_t i = 0; i < b->nproducts; i++) {
		struct product *p = breaker_product(b, (int32_t)i);
		const struct pair *pr = &b->pairs[p->pair];
		const struct breaker_product_conf *pc = &cfg->products[i];
		p->pair_rules = pr->enforcing;
		p->npair_rules = pr->nenforcing;
		if (pc->nexempt == 0)
			continue;
		struct rule **list = calloc(pr->nenforcing + 1, sizeof(*list));
		if (list == NULL)
			return FXB_ERR_NOMEM;
		p->pair_rules = list;
		p->owns_pair_rules = true;
		p->npair_rules = 0;
		for (uint32_t k = 0; k < pr->nenforcing; k++) {
			bool exempt = false;
			for (size_t e = 0; e < pc->nexempt; e++)
				exempt |=
				    b->rule[pc->exempt[e]] == pr->enforcing[k];
			if (!exempt)
				list[p->npair_rules++] = pr->enforcing[k];
		}
	}
	return FXB_OK;
}

enum fxb_err
breaker_new(const struct breaker_config *cfg, fxb_time start,
            breaker_sink_fn sink, void *sink_arg, struct breaker **out)
{
	struct breaker *b;
	enum fxb_err err = FXB_ERR_NOMEM;

	if (start < FXB_TIME_MIN || start > FXB_TIME_MAX)
		return FXB_ERR_RANGE;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return FXB_ERR_NOMEM;
	b->now = start;
	b->sink = sink;
	b->sink_arg = sink_arg;
	b->npairs = (uint32_t)cfg->npairs;
	b->nproducts = (uint32_t)cfg->nproducts;
	b->nrules = (uint32_t)cfg->nrules;
	b->pairs = calloc(b->npairs + 1, sizeof(*b->pairs));
	b->rconf = calloc(b->nrules + 1, sizeof(*b->rconf));
	b->pair_names = calloc(b->npairs + 1, sizeof(char *));
	b->product_names = calloc(b->nproducts + 1, sizeof(char *));
	b->rule_names = calloc(b->nrules + 1, sizeof(char *));
	if (b->pairs == NULL || b->rconf == NULL || b->pair_names == NULL ||
	    b->product_names == NULL || b->rule_names == NULL ||
	    breaker_layout(b, cfg) != FXB_OK)
		goto fail;

	for (uint32_t i = 0; i < b->npairs; i++) {
		struct pair *pr = &b->pairs[i];
		memcpy(pr->name, cfg->pairs[i].name, sizeof(pr->name));
		pr->base_exponent = cfg->pairs[i].base_exponent;
		pr->tick = cfg->pairs[i].tick;
		b->pair_names[i] = pr->name;
	}
	for (uint32_t i = 0; i < b->nproducts; i++) {
		struct product *p = breaker_product(b, (int32_t)i);
		p->id = dup_string(cfg->products[i].id);
		if (p->id == NULL)
			goto fail;
		p->pair = cfg->products[i].pair;
		p->side = (uint8_t)cfg->products[i].side;
		b->product_names[i] = p->id;
	}
	for (uint32_t i = 0; i < b->nrules; i++) {
		struct rule *r = b->rule[i];
		b->rconf[i] = cfg->rules[i];
		r->c = &b->rconf[i];
		r->id = dup_string(r->c->id);
		if (r->id == NULL)
			goto fail;
		if (r->c->notice >= 0) {
			r->notice = dup_string(cfg->notices[r->c->notice].id);
			if (r->notice == NULL)
				goto fail;
		}
		if (r->c->max_auto_resumes > 0) {
			r->resumes = calloc((size_t)r->c->max_auto_resumes,
			                    sizeof(fxb_time));
			if (r->resumes == NULL)
				goto fail;
		}
		r->timer.idx = (int32_t)i;
		breaker_rule_init_state(b, r);
		b->rule_names[i] = r->id;
	}
	if ((err = breaker_link(b, cfg)) != FXB_OK)
		goto fail;
	err = FXB_ERR_NOMEM;
	if (!breaker_timer_heap_init(&b->heap,
	                             b->nrules + b->nproducts + b->npairs))
		goto fail;
	/* The config parser has already refused duplicate ids. */
	int32_t dup;
	err = FXB_ERR_NOMEM;
	if (breaker_index_build(&b->pair_index, b->pair_names, b->npairs,
	                        &dup) != 0 ||
	    breaker_index_build(&b->product_index, b->product_names,
	                        b->nproducts, &dup) != 0 ||
	    breaker_index_build(&b->rule_index, b->rule_names, b->nrules,
	                        &dup) != 0)
		goto fail;
	*out = b;
	return FXB_OK;
fail:
	breaker_free(b);
	return err;
}

void
breaker_free(struct breaker *b)
{
	if (b == NULL)
		return;
	for (uint32_t i = 0; b->arena != NULL && i < b->nrules; i++) {
		struct rule *r = b->rule[i];
		free(r->id);
		free(r->notice);
		free(r->resumes);
		if (r->kind == BREAKER_VOLUME || r->kind == BREAKER_BAND) {
			breaker_ring_fini(&r->win);
		} else if (r->kind == BREAKER_VELOCITY) {
			breaker_ring_fini(&r->dq_min);
			breaker_ring_fini(&r->dq_max);
		}
	}
	for (uint32_t i = 0; b->arena != NULL && i < b->nproducts; i++) {
		struct product *p = breaker_product(b, (int32_t)i);
		free(p->id);
		if (p->owns_pair_rules)
			free((void *)(uintptr_t)p->pair_rules);
		free(p->force);
	}
	for (uint32_t i = 0; b->pairs != NULL && i < b->npairs; i++) {
		free(b->pairs[i].rules);
		free(b->pairs[i].enforcing);
		free(b->pairs[i].force);
	}
	breaker_index_fini(&b->pair_index);
	breaker_index_fini(&b->product_index);
	breaker_index_fini(&b->rule_index);
	breaker_timer_heap_fini(&b->heap);
	free(b->pair_names);
	free(b->product_names);
	free(b->rule_names);
	free(b->arena);
	free(b->block);
	free(b->windows);
	free(b->rule);
	free(b->rconf);
	free(b->pairs);
	free(b);
}

fxb_time
breaker_now(const struct breaker *b)
{
	return b->now;
}

fxb_time
breaker_next_timer(const struct breaker *b)
{
	const struct timer *tm = breaker_timer_peek(&b->heap);
	return tm != NULL ? tm->at : FXB_NEVER;
}

/* An event about an operator's suspension of a product or pair. */
static void
force_event_init(struct breaker *b, struct breaker_event *ev,
                 enum breaker_event_type type, bool on_pair, int32_t idx)
{
	memset(ev, 0, sizeof(*ev));
	ev->t = b->now;
	ev->type = type;
	ev->scope_is_pair = on_pair;
	ev->scope = on_pair ? b->pairs[idx].name : breaker_product(b, idx)->id;
	ev->until = FXB_NEVER;
}

static void
force_end(struct breaker *b, struct force *f, bool on_pair, int32_t idx,
          enum breaker_lift by)
{
	struct breaker_event ev;

	force_event_init(b, &ev, BREAKER_EV_FORCE_LIFT, on_pair, idx);
	ev.suspension = f->suspension;
	ev.figs = BREAKER_FIG_SINCE;
	ev.since = f->since;
	ev.by = by;
	f->on = false;
	f->until = FXB_NEVER;
	breaker_timer_cancel(&b->heap, &f->timer);
	breaker_emit(b, &ev);
}

/* Fires the timers due by t (at least one is). */
static void
advance_timers(struct breaker *b, fxb_time t)
{
	struct timer *tm;

	while ((tm = breaker_timer_peek(&b->heap)) != NULL && tm->at <= t) {
		breaker_timer_cancel(&b->heap, tm);
		b->now = tm->at;
		switch (tm->owner) {
		case TIMER_RULE:
			breaker_rule_on_timer(b, b->rule[tm->idx]);
			break;
		case TIMER_FORCE_PRODUCT:
			force_end(b, breaker_product(b, tm->idx)->force, false,
			          tm->idx, BREAKER_LIFT_SCHEDULE);
			break;
		case TIMER_FORCE_PAIR:
			force_end(b, b->pairs[tm->idx].force, true, tm->idx,
			          BREAKER_LIFT_SCHEDULE);
			break;
		}
	}
}

/* breaker_advance's body, inline on the check and tick paths, where no
 * timer is due nearly every time. */
static inline enum fxb_err
advance(struct breaker *b, fxb_time t)
{
	const struct timer *tm = breaker_timer_peek(&b->heap);

	if (t < FXB_TIME_MIN || t > FXB_TIME_MAX)
		return FXB_ERR_RANGE;
	if (t < b->now)
		return FXB_ERR_TIME_BACKWARDS;
	if (tm != NULL && tm->at <= t)
		advance_timers(b, t);
	b->now = t;
	return FXB_OK;
}

enum fxb_err
breaker_advance(struct breaker *b, fxb_time t)
{
	return advance(b, t);
}

int32_t
breaker_product_find(const struct breaker *b, const char *id, size_t len)
{
	return breaker_index_find(&b->product_index, id, len);
}

int32_t
breaker_pair_find(const struct breaker *b, const char *name, size_t len)
{
	return breaker_index_find(&b->pair_index, name, len);
}

int32_t
breaker_rule_find(const struct breaker *b, const char *id, size_t len)
{
	return breaker_index_find(&b->rule_index, id, len);
}

static bool
valid_index(int32_t i, uint32_t n)
{
	return i >= 0 && (uint32_t)i < n;
}

int
breaker_product_exponent(const struct breaker *b, int32_t product)
{
	if (!valid_index(product, b->nproducts))
		return -1;
	return b->pairs[breaker_product(b, product)->pair].base_exponent;
}

int32_t
breaker_product_pair(const struct breaker *b, int32_t product)
{
	return valid_index(product, b->nproducts)
	           ? breaker_product(b, product)->pair
	           : -1;
}

size_t
breaker_product_count(const struct breaker *b)
{
	return b->nproducts;
}

size_t
breaker_pair_count(const struct breaker *b)
{
	return b->npairs;
}

size_t
breaker_rule_count(const struct breaker *b)
{
	return b->nrules;
}

const char *
breaker_product_id(const struct breaker *b, int32_t product)
{
	return valid_index(product, b->nproducts)
	           ? breaker_product(b, product)->id
	           : NULL;
}

const char *
breaker_pair_name(const struct breaker *b, int32_t pair)
{
	return valid_index(pair, b->npairs) ? b->pairs[pair].name : NULL;
}

const char *
breaker_rule_id(const struct breaker *b, int32_t rule)
{
	return valid_index(rule, b->nrules) ? b->rule[rule]->id : NULL;
}

/* The number of pr's enforcing rules in a holding state: what pr->nheld
 * must be (breaker_rule_set_state). */
static uint32_t
pair_count_held(const struct pair *pr)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < pr->nenforcing; i++)
		n += RS_HOLDS(pr->enforcing[i]->state);
	return n;
}

/* ---- the decision (section 3) ---- */

/* Does a pair rule's suspension reach a product of this side?  A rule
 * without a direction (stale, spread, no_rate) suspends both sides under
 * with-move. */
static bool
scope_hits(const struct rule *r, int dir, unsigned side)
{
	switch (r->c->suspends) {
	case BREAKER_SUSPENDS_BUY:
		return side != BREAKER_SIDE_SELL;
	case BREAKER_SUSPENDS_SELL:
		return side != BREAKER_SIDE_BUY;
	case BREAKER_SUSPENDS_WITH_MOVE:
		if (dir > 0)
			return side != BREAKER_SIDE_SELL;
		if (dir < 0)
			return side != BREAKER_SIDE_BUY;
		return true;
	default:
		return true;
	}
}

/*
 * What holds a product.  When several suspensions hold it, the one that
 * ends last is quoted (an operator's wait counts as never): that is when
 * the product can reopen, so its reason and retry_after are the true ones.
 * Ties keep the first found: forced, then pair rules, then the product's
 * own rules, each in config order.
 */
struct hold {
	enum breaker_reason reason;
	const struct rule *rule;
	int64_t suspension;
	fxb_time end;
	fxb_time since;
};

static void
hold_consider(struct hold *h, enum breaker_reason reason, const struct rule *r,
              int64_t suspension, fxb_time end, fxb_time since)
{
	if (h->reason != BREAKER_REASON_NONE && end <= h->end)
		return;
	h->reason = reason;
	h->rule = r;
	h->suspension = suspension;
	h->end = end;
	h->since = since;
}

static void
hold_force(struct hold *h, const struct force *f)
{
	if (f != NULL && f->on)
		hold_consider(h, BREAKER_REASON_FORCED, NULL, f->suspension,
		              f->until, f->since);
}

static void
hold_rule(struct hold *h, const struct rule *r, unsigned side)
{
	switch (r->state) {
	case RS_TRIPPED:
		if (scope_hits(r, r->dir, side))
			hold_consider(h, BREAKER_REASON_SUSPENDED, r,
			              r->suspension, r->until, r->since);
		break;
	case RS_AWAITING:
		if (scope_hits(r, r->dir, side))
			hold_consider(h, BREAKER_REASON_AWAITING_REFERENCE, r,
			              r->suspension, FXB_NEVER, r->since);
		break;
	case RS_NO_RATE:
		if (scope_hits(r, 0, side))
			hold_consider(h, BREAKER_REASON_NO_RATE, r, 0,
			              FXB_NEVER, r->since);
		break;
	case RS_STALE:
		if (scope_hits(r, 0, side))
			hold_consider(h, BREAKER_REASON_STALE, r,
			              r->suspension, FXB_NEVER, r->since);
		break;
	default:
		break;
	}
}

static void
decide(struct breaker_decision *out, enum breaker_verdict verdict,
       enum breaker_reason reason, const struct rule *r, int64_t suspension,
       int64_t retry_after)
{
	out->verdict = verdict;
	out->reason = reason;
	out->rule = r != NULL ? r->id : NULL;
	out->kind = r != NULL ? (enum breaker_kind)r->kind : 0;
	out->notice = r != NULL ? r->notice : NULL;
	out->suspension = suspension;
	out->retry_after_ms = retry_after;
}

/* A deny quoting the hold: retry_after is absent when it never ends. */
static void
decide_hold(struct breaker_decision *out, const struct hold *h, fxb_time t)
{
	decide(out, BREAKER_VERDICT_DENY, h->reason, h->rule, h->suspension,
	       h->end == FXB_NEVER ? -1 : h->end - t);
}

/*
 * Step 1 of the decision: the suspensions that hold product p (into h), in
 * the order ties are broken: forced, pair rules, own rules.  own_holds:
 * whether an own rule may hold it (false when the caller has seen none).
 */
static void
check_holds(const struct breaker *b, struct product *p, bool own_holds,
            struct hold *h)
{
	struct rule *const *pr = p->pair_rules, *const *pend =
	                                            pr + p->npair_rules;

	hold_force(h, p->force);
	hold_force(h, b->pairs[p->pair].force);
	for (; pr < pend; pr++)
		if (RS_HOLDS((*pr)->state))
			hold_rule(h, *pr, p->side);
	if (!own_holds)
		return;
	const struct rule *r = breaker_product_own(p), *end = r + p->nown;
	for (; r < end; r++)
		if (RS_HOLDS(r->state) && !r->shadow)
			hold_rule(h, r, p->side);
}

/* The first enforcing band of p that excludes the quoted rate, or NULL. */
static const struct rule *
check_band(const struct product *p, int64_t rate)
{
	struct rule *const *pr = p->pair_rules, *const *pend =
	                                            pr + p->npair_rules;

	for (; pr < pend; pr++)
		if ((*pr)->kind == BREAKER_BAND &&
		    breaker_rule_band_excludes(*pr, rate))
			return *pr;
	return NULL;
}

/*
 * Step 2: flow control.  Returns the enforcing throttle whose next token is
 * furthest away (*retry), or NULL.  Shadow buckets count their episodes
 * but never throttle.
 */
static const struct rule *
check_throttles(struct breaker *b, struct product *p, fxb_time t,
                int64_t *retry)
{
	struct rule *r = breaker_product_own(p), *end = r + p->nown;
	const struct rule *throttled = NULL;

	for (; r < end; r++) {
		int64_t wait = 0;
		if (r->kind != BREAKER_THROTTLE ||
		    breaker_throttle_has_token(b, r, t, &wait) || r->shadow)
			continue;
		if (throttled == NULL || wait > *retry) {
			throttled = r;
			*retry = wait;
		}
	}
	return throttled;
}

/*
 * Step 3: every volume rule in NORMAL counts the arriving check; those
 * that trip on it are held in h like any other suspension, so the deny
 * quotes the one that ends last.
 */
static void
check_volumes(struct breaker *b, struct product *p, fxb_time t, int64_t amount,
              struct hold *h)
{
	struct rule *r = breaker_product_own(p), *end = r + p->nown;

	for (; r < end; r++) {
		if (r->kind != BREAKER_VOLUME || r->state != RS_NORMAL)
			continue;
		if (breaker_volume_evaluate(b, r, t,
		                            r->notional ? amount : 1) &&
		    !r->shadow)
			hold_consider(h, BREAKER_REASON_SUSPENDED, r,
			              r->suspension, r->until, r->since);
	}
}

/* Step 4: an allowed check counts as volume and takes its tokens. */
static void
check_count(struct breaker *b, struct product *p, fxb_time t, int64_t amount)
{
	struct rule *r = breaker_product_own(p), *end = r + p->nown;

	for (; r < end; r++) {
		if (r->kind == BREAKER_THROTTLE)
			breaker_throttle_consume(b, r, t);
		else if (r->kind == BREAKER_VOLUME && r->state == RS_NORMAL)
			breaker_volume_count(r, t, r->notional ? amount : 1);
	}
}

/*
 * PREFETCH_WINDOWS starts loading the lines of the inline entries of the
 * volume windows (windows[]) of the own rules at own: which entry is
 * the oldest is known only once a rule's line 0 is read, so all of them.
 * A macro, not a function: gcc deems a function that only prefetches free
 * of effects and drops its calls.
 */
#define PREFETCH_WINDOWS(own, windows)                                        \
	do {                                                                  \
		for (uint32_t w_ = (windows); w_ != 0; w_ &= w_ - 1) {        \
			const char *r_ =                                      \
			    (const char *)(own) +                             \
			    (size_t)__builtin_ctz(w_) * sizeof(struct rule);  \
			for (size_t k_ = 1; k_ <= RING_INLINE_LINES; k_++)    \
				__builtin_prefetch(r_ + k_ * BREAKER_LINE,    \
				                   1);                        \
		}                                                             \
	} while (0)

enum fxb_err
breaker_check(struct breaker *b, fxb_time t, int32_t product, int64_t amount,
              int64_t rate, struct breaker_decision *out)
{
	struct hold h = {BREAKER_REASON_NONE, NULL, 0, 0, 0};
	int64_t retry = 0;
	enum fxb_err err;

	if (product < 0 || (uint32_t)product >= b->nproducts)
		return FXB_ERR_UNKNOWN_PRODUCT;
	if (amount <= 0 || rate < 0)
		return FXB_ERR_RANGE;
	if ((err = advance(b, t)) != FXB_OK)
		return err;
	struct product *p = breaker_product(b, product);
	struct rule *r = breaker_product_own(p), *end = r + p->nown;
	const struct pair *pr = &b->pairs[p->pair];
	bool own_holds = false, short_of_tokens = false;

	/* The loads of the product's line and its rules' lines 0 start on
	 * their own (their addresses follow from the index); the window
	 * entries' would wait for line 0. */
	PREFETCH_WINDOWS(r, b->windows[product]);

	/* The first pass changes nothing but room: room, before anything
	 * changes, for the entry an allowed check adds to each volume window
	 * (out of memory refuses the check whole instead of silently
	 * undercounting a window); whether an own rule may hold the product;
	 * whether every bucket has a token. */
	for (; r < end; r++) {
		if (r->kind == BREAKER_VOLUME) {
			if (!breaker_ring_reserve(&r->win))
				return FXB_ERR_NOMEM;
		} else if (r->kind == BREAKER_THROTTLE) {
			short_of_tokens |= !breaker_throttle_ready(r, t);
		}
		own_holds |= RS_HOLDS(r->state) && !r->shadow;
	}
	if (own_holds || p->force != NULL || pr->force != NULL ||
	    pr->nheld != 0) {
		check_holds(b, p, own_holds, &h);
		if (h.reason != BREAKER_REASON_NONE) {
			decide_hold(out, &h, t);
			return FXB_OK;
		}
	}
	const struct rule *outside = rate > 0 ? check_band(p, rate) : NULL;
	if (outside != NULL) {
		decide(out, BREAKER_VERDICT_DENY,
		       BREAKER_REASON_RATE_OUTSIDE_BAND, outside, 0, -1);
		return FXB_OK;
	}
	/* Flow control before volume: a throttled check is not allowed, so it
	 * is not counted and cannot trip a volume rule.  Only a bucket short
	 * of a token has anything to do here (an episode, a timer); the
	 * others are refilled as they give their token. */
	if (short_of_tokens) {
		const struct rule *throttled =
		    check_throttles(b, p, t, &retry);
		if (throttled != NULL) {
			decide(out, BREAKER_VERDICT_THROTTLE,
			       BREAKER_REASON_THROTTLED, throttled, 0, retry);
			return FXB_OK;
		}
	}
	check_volumes(b, p, t, amount, &h);
	if (h.reason != BREAKER_REASON_NONE) {
		decide_hold(out, &h, t);
		return FXB_OK;
	}
	check_count(b, p, t, amount);
	decide(out, BREAKER_VERDICT_ALLOW, BREAKER_REASON_NONE, NULL, 0, -1);
	return FXB_OK;
}

void
breaker_prefetch(const struct breaker *b, int32_t product)
{
	if (product < 0 || (uint32_t)product >= b->nproducts)
		return;
	/* What a check reads: the product's line, each own rule's line 0 and
	 * a volume window's inline entries. */
	const struct product *p = breaker_product(b, product);
	const char *q = (const char *)p,
	           *end =
	               b->arena + (size_t)b->block[product + 1] * BREAKER_LINE;
	__builtin_prefetch(q, 1);
	for (q += BREAKER_LINE; q < end; q += sizeof(struct rule))
		__builtin_prefetch(q, 1);
	PREFETCH_WINDOWS(p + 1, b->windows[product]);
}

static enum fxb_err
pair_feed(struct breaker *b, fxb_time t, int32_t pair, int64_t px, bool quote,
          int64_t bid, int64_t ask)
{
	enum fxb_err err = advance(b, t);
	if (err != FXB_OK)
		return err;
	const struct pair *pr = &b->pairs[pair];
	/* Room first, so that out of memory changes nothing. */
	for (uint32_t i = 0; i < pr->nrules; i++)
		if (!breaker_rule_reserve(pr->rules[i]))
			return FXB_ERR_NOMEM;
	for (uint32_t i = 0; i < pr->nrules; i++)
		breaker_rule_on_tick(b, pr->rules[i], t, px, quote, bid, ask);
	return FXB_OK;
}

enum fxb_err
breaker_tick(struct breaker *b, fxb_time t, int32_t pair, int64_t px)
{
	if (pair < 0 || (uint32_t)pair >= b->npairs)
		return FXB_ERR_UNKNOWN_PAIR;
	if (px <= 0)
		return FXB_ERR_RANGE;
	return pair_feed(b, t, pair, px, false, 0, 0);
}

enum fxb_err
breaker_quote(struct breaker *b, fxb_time t, int32_t pair, int64_t bid,
              int64_t ask)
{
	if (pair < 0 || (uint32_t)pair >= b->npairs)
		return FXB_ERR_UNKNOWN_PAIR;
	if (bid <= 0 || ask <= 0)
		return FXB_ERR_RANGE;
	if (bid > ask)
		return FXB_ERR_CROSSED;
	int64_t mid = (int64_t)(((fxb_i128)bid + ask) / 2);
	return pair_feed(b, t, pair, mid, true, bid, ask);
}

/* Keeps at most BREAKER_REASON_MAX bytes of the operator's reason, cut on
 * a UTF-8 character boundary so that the text stays valid wherever it is
 * shown. */
static void
force_set_reason(struct force *f, const char *reason)
{
	if (reason == NULL)
		reason = "";
	size_t n = strlen(reason);
	if (n > BREAKER_REASON_MAX) {
		n = BREAKER_REASON_MAX;
		while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(f->reason, reason, n);
	f->reason[n] = '\0';
}

/* The force record of a scope, made on first use (*err says why not). */
static struct force *
force_of(struct breaker *b, bool on_pair, int32_t idx, bool create,
         enum fxb_err *err)
{
	struct force **fp;
	if (on_pair && idx >= 0 && (uint32_t)idx < b->npairs)
		fp = &b->pairs[idx].force;
	else if (!on_pair && idx >= 0 && (uint32_t)idx < b->nproducts)
		fp = &breaker_product(b, idx)->force;
	else {
		*err =
		    on_pair ? FXB_ERR_UNKNOWN_PAIR : FXB_ERR_UNKNOWN_PRODUCT;
		return NULL;
	}
	if (*fp == NULL && create) {
		if ((*fp = calloc(1, sizeof(**fp))) == NULL) {
			*err = FXB_ERR_NOMEM;
			return NULL;
		}
		(*fp)->timer.pos = -1;
		(*fp)->timer.owner =
		    on_pair ? TIMER_FORCE_PAIR : TIMER_FORCE_PRODUCT;
		(*fp)->timer.idx = idx;
		(*fp)->until = FXB_NEVER;
	}
	if (*fp == NULL)
		*err = FXB_ERR_NOT_FORCED;
	return *fp;
}

enum fxb_err
breaker_force_suspend(struct breaker *b, fxb_time t, bool on_pair, int32_t idx,
                      fxb_time until, const char *reason)
{
	struct breaker_event ev;
	enum fxb_err err = FXB_OK;
	struct force *f = force_of(b, on_pair, idx, true, &err);

	if (f == NULL)
		return err;
	if (until <= t || (until > FXB_TIME_MAX && until != FXB_NEVER))
		return FXB_ERR_RANGE;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	/* A new force replaces the old one: close the old suspension first,
	 * so that every suspension in the log has its end. */
	if (f->on)
		force_end(b, f, on_pair, idx, BREAKER_LIFT_REPLACED);
	f->on = true;
	f->since = t;
	f->until = until;
	force_set_reason(f, reason);
	if (until != FXB_NEVER)
		breaker_timer_arm(&b->heap, &f->timer, until);
	else
		breaker_timer_cancel(&b->heap, &f->timer);
	force_event_init(b, &ev, BREAKER_EV_FORCE_SUSPEND, on_pair, idx);
	ev.until = until;
	ev.reason = f->reason;
	f->suspension = breaker_emit(b, &ev);
	return FXB_OK;
}

enum fxb_err
breaker_force_lift(struct breaker *b, fxb_time t, bool on_pair, int32_t idx)
{
	enum fxb_err err = FXB_OK;
	struct force *f = force_of(b, on_pair, idx, false, &err);

	if (f == NULL && err != FXB_ERR_NOT_FORCED)
		return err;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	if (f == NULL || !f->on)
		return FXB_ERR_NOT_FORCED;
	force_end(b, f, on_pair, idx, BREAKER_LIFT_OPERATOR);
	return FXB_OK;
}

enum fxb_err
breaker_reset(struct breaker *b, fxb_time t, int32_t rule)
{
	enum fxb_err err;

	if (rule < 0 || (uint32_t)rule >= b->nrules)
		return FXB_ERR_UNKNOWN_RULE;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	struct rule *r = b->rule[rule];
	if (r->c->kind == BREAKER_STALE)
		return FXB_ERR_NOT_RESETTABLE;
	if (r->state != RS_TRIPPED)
		return FXB_ERR_NOT_TRIPPED;
	breaker_rule_end_suspension(b, r, BREAKER_EV_RESET);
	return FXB_OK;
}

/* ---- status, restore and reload ---- */

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

void
breaker_product_status(const struct breaker *b, int32_t product,
                       struct breaker_decision *out, fxb_time *since)
{
	struct hold h = {BREAKER_REASON_NONE, NULL, 0, 0, 0};
	struct product *p = breaker_product(b, product);

	/* A check trusts nheld to skip a quiet pair's rules; status, which
	 * walks them all anyway, makes sure it may. */
	if (b->pairs[p->pair].nheld != pair_count_held(&b->pairs[p->pair]))
		abort();
	check_holds(b, p, true, &h);
	if (h.reason != BREAKER_REASON_NONE) {
		decide_hold(out, &h, b->now);
		*since = h.since;
	} else {
		decide(out, BREAKER_VERDICT_ALLOW, BREAKER_REASON_NONE, NULL,
		       0, -1);
		*since = 0;
	}
}

bool
breaker_force_status(const struct breaker *b, bool on_pair, int32_t idx,
                     int64_t *suspension, fxb_time *since, fxb_time *until)
{
	const struct force *f = NULL;
	if (on_pair && valid_index(idx, b->npairs))
		f = b->pairs[idx].force;
	else if (!on_pair && valid_index(idx, b->nproducts))
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
	if (on_pair && valid_index(idx, b->npairs))
		f = b->pairs[idx].force;
	else if (!on_pair && valid_index(idx, b->nproducts))
		f = breaker_product(b, idx)->force;
	return f != NULL && f->on ? f->reason : NULL;
}

enum fxb_err
breaker_restore_trip(struct breaker *b, int32_t rule, fxb_time since,
                     fxb_time until, int64_t suspension, int dir, bool latched)
{
	if (!valid_index(rule, b->nrules))
		return FXB_ERR_UNKNOWN_RULE;
	struct rule *r = b->rule[rule];
	r->since = since;
	r->suspension = suspension;
	r->dir = (int8_t)dir;
	r->latched = latched;
	r->clock = false;
	breaker_timer_cancel(&b->heap, &r->timer);
	if (r->kind == BREAKER_STALE) {
		/* The first tick will end it with `fresh`. */
		breaker_rule_set_state(b, r, RS_STALE);
		r->until = FXB_NEVER;
		return FXB_OK;
	}
	breaker_rule_set_state(b, r, RS_TRIPPED);
	r->until = until;
	if (until != FXB_NEVER)
		breaker_timer_arm(&b->heap, &r->timer, until);
	return FXB_OK;
}

enum fxb_err
breaker_restore_resume(struct breaker *b, int32_t rule, fxb_time t)
{
	if (!valid_index(rule, b->nrules))
		return FXB_ERR_UNKNOWN_RULE;
	breaker_rule_record_resume(b->rule[rule], t);
	return FXB_OK;
}

enum fxb_err
breaker_restore_force(struct breaker *b, bool on_pair, int32_t idx,
                      fxb_time since, fxb_time until, int64_t suspension,
                      const char *reason)
{
	enum fxb_err err = FXB_OK;
	struct force *f = force_of(b, on_pair, idx, true, &err);
	if (f == NULL)
		return err;
	f->on = true;
	f->since = since;
	f->until = until;
	f->suspension = suspension;
	force_set_reason(f, reason);
	if (until != FXB_NEVER)
		breaker_timer_arm(&b->heap, &f->timer, until);
	return FXB_OK;
}

static const char *
scope_of(const struct breaker *b, const struct breaker_rule_conf *c)
{
	return c->on_pair ? b->pairs[c->owner].name
	                  : breaker_product(b, c->owner)->id;
}

/* Is y the same rule as x (same scope, kind and mode), whatever its
 * thresholds?  Otherwise x's suspension cannot carry over. */
static bool
same_identity(const struct breaker *a, const struct rule *x,
              const struct breaker *b, const struct rule *y)
{
	return x->c->on_pair == y->c->on_pair && x->c->kind == y->c->kind &&
	       x->c->shadow == y->c->shadow &&
	       strcmp(scope_of(a, x->c), scope_of(b, y->c)) == 0;
}

/* Do two rule configs say the same thing?  Indexes are compared by the
 * names they point at, since the two configs may order things apart. */
/* Do two rule configs say the same thing (identity and every
 * parameter)?  Field by field: padding is no part of a rule. */
static bool
same_rule(const struct breaker *a, const struct rule *x,
          const struct breaker *b, const struct rule *y)
{
	const struct breaker_rule_conf *cx = x->c, *cy = y->c;
	if (!same_identity(a, x, b, y) ||
	    (x->notice == NULL) != (y->notice == NULL) ||
	    (x->notice != NULL && strcmp(x->notice, y->notice) != 0))
		return false;
	return cx->suspends == cy->suspends && cx->window == cy->window &&
	       cx->suspend_for == cy->suspend_for &&
	       cx->ref_min_life == cy->ref_min_life &&
	       cx->limit_for == cy->limit_for && cx->hold == cy->hold &&
	       cx->max_age == cy->max_age && cx->warn == cy->warn &&
	       cx->trip == cy->trip && cx->measure == cy->measure &&
	       cx->max_auto_resumes == cy->max_auto_resumes &&
	       cx->band_pct == cy->band_pct &&
	       cx->ref_move_pct == cy->ref_move_pct && cx->pct == cy->pct &&
	       cx->max_spread_pct == cy->max_spread_pct &&
	       cx->base == cy->base && cx->max_move == cy->max_move &&
	       cx->velocity == cy->velocity && cx->rate == cy->rate &&
	       cx->burst == cy->burst;
}

/*
 * Is y x with only its trip levels changed (an operator's threshold
 * change, or the file's): a volume rule's trip or warn, a velocity rule's
 * V?  Those are tested only as checks and ticks arrive, never by a timer,
 * so the whole state carries over: a tightened level bites on the checks
 * and ticks already in the window.
 */
static bool
same_but_levels(const struct breaker *a, const struct rule *x,
                const struct breaker *b, const struct rule *y)
{
	if (x->c->kind != BREAKER_VOLUME && x->c->kind != BREAKER_VELOCITY)
		return false;
	struct breaker_rule_conf levels = *y->c;
	struct rule ly = *y;
	levels.trip = x->c->trip;
	levels.warn = x->c->warn;
	levels.max_move = x->c->max_move;
	levels.pct = x->c->pct;
	levels.velocity = x->c->velocity;
	ly.c = &levels;
	return same_rule(a, x, b, &ly);
}

/* Moves a timer from one heap to another, armed at the same instant. */
static void
timer_move(struct timer_heap *from, struct timer *tf, struct timer_heap *to,
           struct timer *tt)
{
	if (tf->pos < 0)
		return;
	fxb_time at = tf->at;
	breaker_timer_cancel(from, tf);
	breaker_timer_arm(to, tt, at);
}

static void
transfer_rule(struct breaker *from, struct rule *x, struct breaker *to,
              struct rule *y)
{
	if (same_rule(from, x, to, y) || same_but_levels(from, x, to, y)) {
		/* Everything but identity and levels moves: windows,
		 * reference, timer, suspension and history. */
		struct rule keep = *y;
		*y = *x;
		y->c = keep.c;
		y->id = keep.id;
		y->notice = keep.notice;
		y->timer = keep.timer;
		timer_move(&from->heap, &x->timer, &to->heap, &y->timer);
		/* y now owns x's buffers; x gets y's unused history array
		 * (same size: same parameters) so that each engine frees
		 * exactly what it owns.  The union members touched are
		 * those of the rule's kind. */
		switch (y->kind) {
		case BREAKER_VOLUME:
			y->trip = keep.trip;
			y->warn = keep.warn;
			if (y->warn != x->warn)
				y->warned = false;
			/* An inline window came with the copy: its entries
			 * are now y's own. */
			if (y->win.cap <= RING_INLINE)
				y->win.e = y->win_inline;
			memset(&x->win, 0, sizeof(x->win));
			break;
		case BREAKER_BAND:
			memset(&x->win, 0, sizeof(x->win));
			break;
		case BREAKER_VELOCITY:
			y->velocity = keep.velocity;
			memset(&x->dq_min, 0, sizeof(x->dq_min));
			memset(&x->dq_max, 0, sizeof(x->dq_max));
			break;
		default:
			break;
		}
		x->resumes = keep.resumes;
		x->nresumes = 0;
		return;
	}
	/* Changed parameters: an open suspension stays open (only an
	 * operator or its own timer may end it); windows start afresh. */
	if (x->state == RS_TRIPPED || x->state == RS_STALE) {
		y->state = x->state;
		y->since = x->since;
		y->until = x->until;
		y->suspension = x->suspension;
		y->dir = x->dir;
		y->latched = x->latched;
		if (x->state == RS_TRIPPED && x->until != FXB_NEVER)
			breaker_timer_arm(&to->heap, &y->timer, x->until);
	}
}

/* Moves an operator's suspension to scope index j of the new engine. */
static void
transfer_force(struct breaker *from, struct force **fx, struct breaker *to,
               struct force **fy, int32_t j)
{
	struct force *f = *fx;
	if (f == NULL || !f->on)
		return;
	breaker_timer_cancel(&from->heap, &f->timer);
	f->timer.idx = j;
	if (f->until != FXB_NEVER)
		breaker_timer_arm(&to->heap, &f->timer, f->until);
	*fy = f;
	*fx = NULL;
}

void
breaker_transfer(struct breaker *from, struct breaker *to,
                 breaker_orphan_fn orphan, void *arg)
{
	to->now = from->now;
	for (uint32_t i = 0; i < from->nrules; i++) {
		struct rule *x = from->rule[i];
		int32_t j = breaker_rule_find(to, x->id, strlen(x->id));
		if (j >= 0 && same_identity(from, x, to, to->rule[j])) {
			transfer_rule(from, x, to, to->rule[j]);
		} else if (x->state == RS_TRIPPED || x->state == RS_STALE) {
			const struct breaker_rule_conf *c = x->c;
			orphan(arg, x->id, scope_of(from, c), c->on_pair,
			       x->suspension);
		}
	}
	for (uint32_t i = 0; i < from->nproducts; i++) {
		struct product *p = breaker_product(from, (int32_t)i);
		int32_t j = breaker_product_find(to, p->id, strlen(p->id));
		if (j >= 0)
			transfer_force(from, &p->force, to,
			               &breaker_product(to, j)->force, j);
		else if (p->force != NULL && p->force->on)
			orphan(arg, NULL, p->id, false, p->force->suspension);
	}
	for (uint32_t i = 0; i < from->npairs; i++) {
		struct pair *pr = &from->pairs[i];
		int32_t j = breaker_pair_find(to, pr->name, strlen(pr->name));
		if (j >= 0)
			transfer_force(from, &pr->force, to,
			               &to->pairs[j].force, j);
		else if (pr->force != NULL && pr->force->on)
			orphan(arg, NULL, pr->name, true,
			       pr->force->suspension);
	}
	/* Rule states were copied, not set: count afresh. */
	for (uint32_t i = 0; i < to->npairs; i++)
		to->pairs[i].nheld = pair_count_held(&to->pairs[i]);
}

const char *
breaker_event_name(enum breaker_event_type type)
{
	static const char *const names[] = {
	    [BREAKER_EV_REF_SET] = "ref_set",
	    [BREAKER_EV_REF_UPDATE] = "ref_update",
	    [BREAKER_EV_LIMIT_ENTER] = "limit_enter",
	    [BREAKER_EV_LIMIT_EXIT] = "limit_exit",
	    [BREAKER_EV_WARN] = "warn",
	    [BREAKER_EV_TRIP] = "trip",
	    [BREAKER_EV_RESUME] = "resume",
	    [BREAKER_EV_RESET] = "reset",
	    [BREAKER_EV_STALE] = "stale",
	    [BREAKER_EV_FRESH] = "fresh",
	    [BREAKER_EV_THROTTLE_START] = "throttle_start",
	    [BREAKER_EV_THROTTLE_END] = "throttle_end",
	    [BREAKER_EV_FORCE_SUSPEND] = "force_suspend",
	    [BREAKER_EV_FORCE_LIFT] = "force_lift",
	};
	if ((size_t)type >= sizeof(names) / sizeof(names[0]) ||
	    names[type] == NULL)
		return "unknown";
	return names[type];
}

const char *
breaker_reason_name(enum breaker_reason reason)
{
	static const char *const names[] = {
	    [BREAKER_REASON_NONE] = "none",
	    [BREAKER_REASON_SUSPENDED] = "suspended",
	    [BREAKER_REASON_FORCED] = "forced",
	    [BREAKER_REASON_AWAITING_REFERENCE] = "awaiting_reference",
	    [BREAKER_REASON_NO_RATE] = "no_rate",
	    [BREAKER_REASON_STALE] = "stale",
	    [BREAKER_REASON_RATE_OUTSIDE_BAND] = "rate_outside_band",
	    [BREAKER_REASON_THROTTLED] = "throttled",
	};
	if ((size_t)reason >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[reason];
}

const char *
breaker_verdict_name(enum breaker_verdict verdict)
{
	switch (verdict) {
	case BREAKER_VERDICT_ALLOW:
		return "allow";
	case BREAKER_VERDICT_DENY:
		return "deny";
	case BREAKER_VERDICT_THROTTLE:
		return "throttle";
	}
	return "unknown";
}
