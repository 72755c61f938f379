/*
 * breaker_check.c: the decision path, in the order of RULES.md section 5.
 * At a record's time t the clock first fires every timer due by t, each
 * at its own instant (advance); then a check is decided (section 3: what
 * holds the product, the quoted rate against the bands, flow control,
 * volume) or a tick is fed to its pair's rules.  A product's status is the
 * decision's first step asked without a check, so it is here too.  What
 * each rule kind does with a tick, a check or its timer is breaker_rules.c's.
 */
#include <stdlib.h>

#include "breaker_impl.h"

/* ---- the clock (section 5: timers first) ---- */

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
			breaker_force_end(
			    b, breaker_product(b, tm->idx)->force, false,
			    tm->idx, BREAKER_LIFT_SCHEDULE);
			break;
		case TIMER_FORCE_PAIR:
			breaker_force_end(b, b->pairs[tm->idx].force, true,
			                  tm->idx, BREAKER_LIFT_SCHEDULE);
			break;
		case TIMER_CALENDAR:
			breaker_calendar_on_timer(b, &b->cals[tm->idx]);
			break;
		case TIMER_PLAN_PRODUCT:
		case TIMER_PLAN_PAIR:
			breaker_plan_on_timer(b, tm->owner == TIMER_PLAN_PAIR,
			                      tm->idx);
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

/* Whether rule r is in a suspension that holds products now: how a check
 * would quote it (into q), and the direction its scope follows (*dir:
 * scope_hits says which sides it reaches). */
static inline bool
rule_holding(const struct rule *r, struct hold *q, int *dir)
{
	switch (r->state) {
	case RS_TRIPPED:
		*q = (struct hold){BREAKER_REASON_SUSPENDED, r, r->suspension,
		                   r->until, r->since};
		*dir = r->dir;
		return true;
	case RS_AWAITING:
		*q = (struct hold){BREAKER_REASON_AWAITING_REFERENCE, r,
		                   r->suspension, FXB_NEVER, r->since};
		*dir = r->dir;
		return true;
	case RS_NO_RATE:
		*q = (struct hold){BREAKER_REASON_NO_RATE, r, 0, FXB_NEVER,
		                   r->since};
		*dir = 0;
		return true;
	case RS_STALE:
		*q = (struct hold){BREAKER_REASON_STALE, r, r->suspension,
		                   FXB_NEVER, r->since};
		*dir = 0;
		return true;
	default:
		return false;
	}
}

static void
hold_rule(struct hold *h, const struct rule *r, unsigned side)
{
	struct hold q;
	int dir;
	if (rule_holding(r, &q, &dir) && scope_hits(r, dir, side))
		hold_consider(h, q.reason, r, q.suspension, q.end, q.since);
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
	out->upcoming.plan = 0; /* breaker_check adds one */
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

/* The decision; breaker_check adds what is planned. */
static inline enum fxb_err
check_decide(struct breaker *b, fxb_time t, int32_t product, int64_t amount,
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

	/* Outside its opening hours a product is closed, before anything
	 * else is asked or counted (RULES.md 9). */
	if (p->hours_cal >= 0 && breaker_product_closed(b, p)) {
		breaker_decide_closed(b, product, t, out);
		return FXB_OK;
	}

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

enum fxb_err
breaker_check(struct breaker *b, fxb_time t, int32_t product, int64_t amount,
              int64_t rate, struct breaker_decision *out)
{
	enum fxb_err e = check_decide(b, t, product, amount, rate, out);
	/* Every decision on a product a plan covers says so, so that the
	 * customer is told ahead. */
	if (e == FXB_OK && b->nplans != 0)
		breaker_attach_upcoming(b, breaker_product(b, product), out);
	return e;
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

/* ---- a tick: its pair's rules, in config order ---- */

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

/* ---- a product's status: the decision's first step, without a check ---- */

void
breaker_product_status(const struct breaker *b, int32_t product,
                       struct breaker_decision *out, fxb_time *since)
{
	struct hold h = {BREAKER_REASON_NONE, NULL, 0, 0, 0};
	struct product *p = breaker_product(b, product);

	/* A check trusts nheld to skip a quiet pair's rules; status, which
	 * walks them all anyway, makes sure it may. */
	if (b->pairs[p->pair].nheld !=
	    breaker_pair_count_held(&b->pairs[p->pair]))
		abort();
	check_holds(b, p, true, &h);
	if (breaker_product_closed(b, p)) {
		breaker_closed_decision(
		    out, breaker_product_next_open(b, p, b->now), b->now);
		*since = 0;
	} else if (h.reason != BREAKER_REASON_NONE) {
		decide_hold(out, &h, b->now);
		*since = h.since;
	} else {
		decide(out, BREAKER_VERDICT_ALLOW, BREAKER_REASON_NONE, NULL,
		       0, -1);
		*since = 0;
	}
	if (b->nplans != 0)
		breaker_attach_upcoming(b, p, out);
}

/* A rule's hold as the API shows it (its index from its config's place
 * in the engine's copy). */
static void
hold_out(const struct breaker *b, const struct hold *q,
         struct breaker_hold *out)
{
	*out = (struct breaker_hold){
	    .reason = q->reason,
	    .rule = (int32_t)(q->rule->c - b->rconf),
	    .suspension = q->suspension,
	    .since = q->since,
	    .until = q->end,
	};
}

/* An operator's suspension f (on_pair: its pair's) into out[*n] if there
 * is room; counted either way. */
static void
force_out(const struct force *f, bool on_pair, struct breaker_hold *out,
          size_t cap, size_t *n)
{
	if (f == NULL || !f->on)
		return;
	if (*n < cap)
		out[*n] = (struct breaker_hold){
		    .reason = BREAKER_REASON_FORCED,
		    .rule = -1,
		    .on_pair = on_pair,
		    .suspension = f->suspension,
		    .since = f->since,
		    .until = f->until,
		};
	(*n)++;
}

size_t
breaker_product_holds(const struct breaker *b, int32_t product,
                      struct breaker_hold *out, size_t cap)
{
	size_t n = 0;
	if (!breaker_valid_index(product, b->nproducts))
		return 0;
	struct product *p = breaker_product(b, product);
	struct rule *const *pr = p->pair_rules, *const *pend =
	                                            pr + p->npair_rules;
	struct hold q;
	int dir;

	/* In check_holds' order: forced, pair rules, own rules. */
	force_out(p->force, false, out, cap, &n);
	force_out(b->pairs[p->pair].force, true, out, cap, &n);
	for (; pr < pend; pr++) {
		if (!rule_holding(*pr, &q, &dir) ||
		    !scope_hits(*pr, dir, p->side))
			continue;
		if (n < cap)
			hold_out(b, &q, &out[n]);
		n++;
	}
	const struct rule *r = breaker_product_own(p), *end = r + p->nown;
	for (; r < end; r++) {
		if (r->shadow || !rule_holding(r, &q, &dir) ||
		    !scope_hits(r, dir, p->side))
			continue;
		if (n < cap)
			hold_out(b, &q, &out[n]);
		n++;
	}
	return n;
}

bool
breaker_rule_hold(const struct breaker *b, int32_t rule,
                  struct breaker_hold *out)
{
	struct hold q;
	int dir;
	if (!breaker_valid_index(rule, b->nrules) || b->rule[rule]->shadow ||
	    !rule_holding(b->rule[rule], &q, &dir))
		return false;
	hold_out(b, &q, out);
	return true;
}
