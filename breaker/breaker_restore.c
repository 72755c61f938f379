/*
 * breaker_restore.c: state carried into a new engine.  At start the daemon
 * restores from the log the suspensions still open (breaker_restore_*);
 * on reload the running engine hands its state to the engine built from
 * the new config (breaker_transfer), rule by rule: whatever still means
 * the same thing carries over whole, an open suspension always stays open,
 * and what has no place in the new config is reported as an orphan.
 * At a cluster promotion the leader's new engine, restored from the log,
 * takes from the follower's warm engine what the rate feed taught it
 * (breaker_adopt_feed), and nothing of its suspensions.
 */
#include <string.h>

#include "breaker_impl.h"

/* ---- from the log, at start ---- */

enum fxb_err
breaker_restore_trip(struct breaker *b, int32_t rule, fxb_time since,
                     fxb_time until, int64_t suspension, int dir, bool latched)
{
	if (!breaker_valid_index(rule, b->nrules))
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
	if (!breaker_valid_index(rule, b->nrules))
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
	struct force *f = breaker_force_of(b, on_pair, idx, true, &err);
	if (f == NULL)
		return err;
	f->on = true;
	f->since = since;
	f->until = until;
	f->suspension = suspension;
	breaker_reason_copy(f->reason, reason);
	if (until != FXB_NEVER)
		breaker_timer_arm(&b->heap, &f->timer, until);
	return FXB_OK;
}

/* ---- from the running engine, on reload ---- */

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

/* Do two rule configs say the same thing (identity and every
 * parameter)?  Field by field: padding is no part of a rule.  Indexes are
 * compared by the names they point at, since the two configs may order
 * things apart. */
/* Do two rules follow the same calendar (by id), with the same levels by
 * session?  Levels of the same pointer are the same (same_but_levels). */
static bool
same_calendar(const struct breaker *a, const struct breaker_rule_conf *cx,
              const struct breaker *b, const struct breaker_rule_conf *cy)
{
	if (cx->calendar < 0 || cy->calendar < 0)
		return cx->calendar == cy->calendar;
	const struct breaker_calendar_conf *ka = &a->cals[cx->calendar].c,
	                                   *kb = &b->cals[cy->calendar].c;
	if (strcmp(ka->id, kb->id) != 0)
		return false;
	return cx->levels == cy->levels ||
	       (ka->nsessions == kb->nsessions &&
	        memcmp(cx->levels, cy->levels,
	               (ka->nsessions + 1) * sizeof(*cx->levels)) == 0);
}

static bool
same_rule(const struct breaker *a, const struct rule *x,
          const struct breaker *b, const struct rule *y)
{
	const struct breaker_rule_conf *cx = x->c, *cy = y->c;
	if (!same_identity(a, x, b, y) || !same_calendar(a, cx, b, cy) ||
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
 * and ticks already in the window.  Which fields are levels is
 * breaker_levels.c's, the same list a threshold command may change.
 */
static bool
same_but_levels(const struct breaker *a, const struct rule *x,
                const struct breaker *b, const struct rule *y)
{
	struct breaker_rule_conf levels = *y->c;
	struct rule ly = *y;
	if (!breaker_levels_copy(&levels, x->c))
		return false;
	/* Levels by session are levels too. */
	levels.levels = x->c->levels;
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
	uint64_t seq = tf->seq;
	breaker_timer_cancel(from, tf);
	/* Its place among the timers of its instant too (section 5:
	 * arming order), so a reload changes no order of events. */
	breaker_timer_arm_seq(to, tt, at, seq);
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
	uint64_t seq = f->timer.seq;
	bool armed = f->timer.pos >= 0;
	breaker_timer_cancel(&from->heap, &f->timer);
	f->timer.idx = j;
	if (armed)
		breaker_timer_arm_seq(&to->heap, &f->timer, f->until, seq);
	*fy = f;
	*fx = NULL;
}

void
breaker_transfer(struct breaker *from, struct breaker *to,
                 breaker_orphan_fn orphan, breaker_plan_orphan_fn plan_orphan,
                 void *arg)
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
	/* Plans go to their scopes; a scope the new config dropped takes
	 * its plan with it (nothing is left to suspend). */
	breaker_plans_transfer(from, to, plan_orphan, arg);
	/* Rule states were copied, not set: count afresh. */
	for (uint32_t i = 0; i < to->npairs; i++)
		to->pairs[i].nheld = breaker_pair_count_held(&to->pairs[i]);
	/* The clock was set, not moved: each calendar's session is the
	 * one at the new now, and its rules take that session's levels. */
	breaker_sessions_sync(to);
}

/* ---- from a follower's engine, at promotion ---- */

/* Arms y's timer where x's is, or leaves it disarmed if x's is not
 * armed.  x's timer stays in from's heap: `from` stays whole. */
static void
timer_copy(const struct timer *tx, struct breaker *to, struct timer *ty)
{
	breaker_timer_cancel(&to->heap, ty);
	if (tx->pos >= 0)
		breaker_timer_arm(&to->heap, ty, tx->at);
}

/* Swaps two rings: each engine then frees exactly one of them. */
static void
ring_swap(struct ring *a, struct ring *b)
{
	struct ring t = *a;
	*a = *b;
	*b = t;
}

/*
 * A band in force (normal or limit) moves its reference, window and
 * state, and a limit its timer: a tick then finds the band the leader
 * had, and a limit trips when it would have.  One in a suspension on
 * either side moves nothing: its window was cleared at the trip, and the
 * first tick after its resume seeds a new reference anyway.
 */
static void
adopt_band(struct rule *x, struct breaker *to, struct rule *y)
{
	fxb_i128 sum = y->sum;

	if ((x->state != RS_NORMAL && x->state != RS_LIMIT) ||
	    RS_HOLDS(y->state))
		return;
	ring_swap(&x->win, &y->win);
	y->sum = x->sum;
	x->sum = sum;
	y->ref_num = x->ref_num;
	y->ref_den = x->ref_den;
	y->ref_since = x->ref_since;
	y->band_up = x->band_up;
	y->band_down = x->band_down;
	y->band_den = x->band_den;
	y->last_px = x->last_px;
	/* Neither state holds products: nheld does not move. */
	breaker_rule_set_state(to, y, (enum rule_state)x->state);
	y->since = x->since;
	y->dir = x->dir;
	timer_copy(&x->timer, to, &y->timer);
}

/* A velocity rule's deques and pending group, outside a trip on either
 * side (a trip clears them).  V is a level: y keeps its own. */
static void
adopt_velocity(struct rule *x, struct rule *y)
{
	if (x->state == RS_TRIPPED || y->state == RS_TRIPPED)
		return;
	ring_swap(&x->dq_min, &y->dq_min);
	ring_swap(&x->dq_max, &y->dq_max);
	y->pend = x->pend;
	y->pend_t = x->pend_t;
	y->pend_min = x->pend_min;
	y->pend_max = x->pend_max;
}

/*
 * A deviation rule's last price and its running hold clock, with the
 * side of base the price is on (what a trip's dir will say).  The clock
 * runs toward a trip: starting it again on the next tick would let the
 * price stay out by up to a whole hold longer than the leader would
 * have.  A rule tripped on either side ignores ticks: nothing moves.
 */
static void
adopt_deviation(struct rule *x, struct breaker *to, struct rule *y)
{
	if (x->state == RS_TRIPPED || y->state == RS_TRIPPED)
		return;
	y->last_px = x->last_px;
	y->dir = x->dir;
	y->clock = x->clock;
	y->clock_t = x->clock_t;
	timer_copy(&x->timer, to, &y->timer);
}

/*
 * A stale rule's last tick.  One with no tick yet (no_rate: never a
 * logged suspension) counts from x's last tick, as a tick would have
 * made it: normal, its timer at last_t + max_age, which fires at that
 * instant even if it has passed.  A stale suspension restored from the
 * log is left to end on the next tick, as after a restart.
 */
static void
adopt_stale(struct rule *x, struct breaker *to, struct rule *y)
{
	if (x->state == RS_NO_RATE)
		return;
	y->last_px = x->last_px;
	y->last_t = x->last_t;
	if (y->state == RS_STALE)
		return;
	breaker_rule_set_state(to, y, RS_NORMAL);
	breaker_timer_arm(&to->heap, &y->timer, x->last_t + y->c->max_age);
}

/*
 * A spread rule's last quote only.  Its hold clock runs only in a trip,
 * toward a resume: moving it would end a suspension restored from the
 * log on the follower's word.  It starts again on the next narrow quote,
 * which keeps the suspension at most one hold longer.
 */
static void
adopt_spread(struct rule *x, struct rule *y)
{
	y->last_bid = x->last_bid;
	y->last_ask = x->last_ask;
}

void
breaker_adopt_feed(struct breaker *from, struct breaker *to)
{
	for (uint32_t i = 0; i < from->nrules; i++) {
		struct rule *x = from->rule[i];
		if (!x->c->on_pair)
			continue; /* volume, throttle: fed by checks */
		int32_t j = breaker_rule_find(to, x->id, strlen(x->id));
		if (j < 0)
			continue;
		struct rule *y = to->rule[j];
		if (!same_identity(from, x, to, y) ||
		    (!same_rule(from, x, to, y) &&
		     !same_but_levels(from, x, to, y)))
			continue;
		switch (y->kind) {
		case BREAKER_BAND:
			adopt_band(x, to, y);
			break;
		case BREAKER_VELOCITY:
			adopt_velocity(x, y);
			break;
		case BREAKER_DEVIATION:
			adopt_deviation(x, to, y);
			break;
		case BREAKER_STALE:
			adopt_stale(x, to, y);
			break;
		case BREAKER_SPREAD:
			adopt_spread(x, y);
			break;
		default:
			break;
		}
	}
	/* Time never goes back: what moved is stamped up to from->now.
	 * Moving first, on to's states as restored, keeps a window from
	 * crossing a restored end that passed meanwhile; then to's due
	 * timers, its own and any moved, fire in expiry order. */
	if (from->now > to->now)
		(void)breaker_advance(to, from->now);
}
