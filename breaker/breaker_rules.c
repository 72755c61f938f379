/*
 * breaker_rules.c: what each rule kind does with a tick, a check and its
 * timer (RULES.md section 4), and the trip / resume mechanics shared by all
 * kinds (section 4.8).  breaker_check.c decides; this file keeps rule state.
 *
 * Every comparison is exact integer arithmetic in 128 bits.  Prices are in
 * 10^-9 units (< 2^63), percentages in 10^-4 % (100 % = 10^6), and windows
 * hold at most WINDOW_TICKS_MAX ticks, so a band sum is < 2^83 and every
 * product below stays under 2^127 (worked bounds in docs/RULES-NOTES.md).
 */
#include <stdlib.h>
#include <string.h>

#include "breaker_decimal.h"
#include "breaker_impl.h"

#define DAY_MS 86400000LL
#define MILLI  BREAKER_MILLI

int64_t
breaker_emit(struct breaker *b, const struct breaker_event *ev)
{
	return b->sink != NULL ? b->sink(b->sink_arg, ev) : 0;
}

void
breaker_rule_event_init(struct breaker *b, struct rule *r,
                        struct breaker_event *ev, enum breaker_event_type type,
                        fxb_time t)
{
	memset(ev, 0, sizeof(*ev));
	ev->t = t;
	ev->type = type;
	ev->rule = r->id;
	ev->kind = (enum breaker_kind)r->kind;
	ev->shadow = r->shadow;
	ev->scope_is_pair = r->c->on_pair;
	ev->scope = r->c->on_pair ? b->pairs[r->c->owner].name
	                          : breaker_product(b, r->c->owner)->id;
	ev->until = FXB_NEVER;
}

static int64_t
clamp64(fxb_i128 v)
{
	if (v > INT64_MAX)
		return INT64_MAX;
	if (v < INT64_MIN)
		return INT64_MIN;
	return (int64_t)v;
}

static void
window_push(struct ring *w, fxb_i128 *sum, fxb_time t, int64_t v)
{
	breaker_window_push(w, sum, t, v);
}

/* Drops entries with time <= edge. */
static void
window_evict(struct ring *w, fxb_i128 *sum, fxb_time edge)
{
	struct ring_ent *e;
	while ((e = breaker_ring_front(w)) != NULL && e->t <= edge) {
		*sum -= e->v;
		breaker_ring_pop_front(w);
	}
}

static void
window_clear(struct ring *w, fxb_i128 *sum)
{
	breaker_ring_clear(w);
	*sum = 0;
}

/* Number of automatic resumes in (t - 24 h, t]. */
static uint32_t
recent_resumes(const struct rule *r, fxb_time t)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->nresumes; i++)
		if (r->resumes[i] > t - DAY_MS)
			n++;
	return n;
}

void
breaker_rule_record_resume(struct rule *r, fxb_time t)
{
	uint32_t cap = (uint32_t)r->c->max_auto_resumes;
	if (r->resumes == NULL || cap == 0)
		return;
	if (r->nresumes < cap) {
		r->resumes[r->nresumes++] = t;
	} else {
		r->resumes[r->resume_head] = t;
		r->resume_head = (r->resume_head + 1) % cap;
	}
}

/*
 * rule_trip suspends r at t.  ev carries the figures that explain the trip;
 * this adds the trip's own fields.  A rule with suspend_for > 0 resumes by
 * timer unless it has already resumed max_auto_resumes times in 24 h, in
 * which case the trip latches (4.8).
 */
static void
rule_trip(struct breaker *b, struct rule *r, fxb_time t, int dir,
          struct breaker_event *ev)
{
	const struct breaker_rule_conf *c = r->c;
	bool timed = c->suspend_for > 0;
	bool latched = timed && c->max_auto_resumes >= 0 &&
	               recent_resumes(r, t) >= (uint32_t)c->max_auto_resumes;

	breaker_rule_set_state(b, r, RS_TRIPPED);
	r->since = t;
	r->dir = (int8_t)dir;
	r->latched = latched;
	r->clock = false;
	r->until = timed && !latched ? t + c->suspend_for : FXB_NEVER;
	if (r->until != FXB_NEVER)
		breaker_timer_arm(&b->heap, &r->timer, r->until);
	else
		breaker_timer_cancel(&b->heap, &r->timer);
	ev->type = BREAKER_EV_TRIP;
	ev->t = t;
	ev->dir = dir;
	ev->latched = latched;
	ev->until = r->until;
	r->suspension = breaker_emit(b, ev);
}

/*
 * breaker_rule_end_suspension ends r's suspension: `how` is RESUME (its own
 * timer or condition), RESET (an operator) or FRESH (a stale rule's tick). The
 * rule then starts over as the kind says: a volume window is cleared, a
 * band awaits a new reference, a velocity window restarts, a hold clock
 * waits for the next qualifying tick.
 */
void
breaker_rule_end_suspension(struct breaker *b, struct rule *r,
                            enum breaker_event_type how)
{
	struct breaker_event ev;
	fxb_time t = b->now;

	breaker_rule_event_init(b, r, &ev, how, t);
	ev.suspension = r->suspension;
	ev.since = r->since;
	ev.figs = BREAKER_FIG_SINCE;
	ev.dir = r->dir;

	if (how == BREAKER_EV_RESUME && r->c->suspend_for > 0)
		breaker_rule_record_resume(r, t);
	if (how == BREAKER_EV_RESET) {
		r->nresumes = 0;
		r->resume_head = 0;
	}
	breaker_timer_cancel(&b->heap, &r->timer);
	r->latched = false;
	r->until = FXB_NEVER;
	r->since = t;
	r->clock = false;
	switch (r->c->kind) {
	case BREAKER_VOLUME:
		window_clear(&r->win, &r->sum);
		r->warned = false;
		breaker_rule_set_state(b, r, RS_NORMAL);
		break;
	case BREAKER_BAND:
		window_clear(&r->win, &r->sum);
		breaker_rule_set_state(b, r, RS_AWAITING);
		break;
	case BREAKER_VELOCITY:
		breaker_ring_clear(&r->dq_min);
		breaker_ring_clear(&r->dq_max);
		r->pend = false;
		breaker_rule_set_state(b, r, RS_NORMAL);
		break;
	default:
		breaker_rule_set_state(b, r, RS_NORMAL);
		break;
	}
	breaker_emit(b, &ev);
}

void
breaker_rule_init_state(struct breaker *b, struct rule *r)
{
	const struct breaker_rule_conf *c = r->c;

	r->timer.pos = -1;
	r->timer.owner = TIMER_RULE;
	r->kind = (uint8_t)c->kind;
	r->shadow = c->shadow;
	r->notional = c->measure == BREAKER_MEASURE_NOTIONAL;
	if (!c->on_pair)
		r->exponent =
		    (int8_t)b->pairs[breaker_product(b, c->owner)->pair]
		        .base_exponent;
	r->until = FXB_NEVER;
	r->since = b->now;
	breaker_rule_set_state(b, r, RS_NORMAL);
	switch (c->kind) {
	case BREAKER_VOLUME:
		/* The parser keeps a volume window within 1 h. */
		r->window = (uint32_t)c->window;
		r->trip = c->trip;
		r->warn = c->warn;
		/* One entry per distinct millisecond: never more than the
		 * window holds, so the cap is the window itself. */
		breaker_ring_init_inline(&r->win, r->win_inline,
		                         r->window + 1);
		break;
	case BREAKER_BAND:
		breaker_ring_init(&r->win, WINDOW_TICKS_MAX);
		breaker_rule_set_state(b, r, RS_NO_REF);
		break;
	case BREAKER_VELOCITY: {
		int64_t tick = b->pairs[c->owner].tick;
		breaker_ring_init(&r->dq_min, WINDOW_TICKS_MAX);
		breaker_ring_init(&r->dq_max, WINDOW_TICKS_MAX);
		if (c->max_move > 0) {
			r->velocity = c->max_move;
		} else {
			r->velocity = clamp64((fxb_i128)c->base * c->pct /
			                      BREAKER_PCT_100);
			if (tick > 0)
				r->velocity -= r->velocity % tick;
		}
		break;
	}
	case BREAKER_STALE:
		breaker_rule_set_state(b, r, RS_NO_RATE);
		break;
	case BREAKER_THROTTLE:
		r->rate = c->rate;
		r->burst = c->burst;
		r->tokens = c->burst * MILLI;
		r->refill_t = b->now;
		break;
	default:
		break;
	}
}

/* ---- band (4.2) ---- */

/*
 * band_set_ref sets r's reference to num / den and the edges a price is
 * tested against (band_position), computed once here rather than on every
 * tick and quoted rate: px * ref_den * 10^6 is tested against ref_num *
 * (10^6 +- band).  With px < 2^63, ref_den <= 2^20 and 10^6 < 2^20 the
 * left side is < 2^103; ref_num is a sum of at most 2^20 prices (< 2^83)
 * times at most 2 * 10^6 (< 2^21), so < 2^104.  Both fit fxb_i128 with
 * room to spare, and ref_den * 10^6 < 2^40 fits int64_t.
 */
static void
band_set_ref(struct rule *r, fxb_i128 num, int64_t den)
{
	r->ref_num = num;
	r->ref_den = den;
	r->band_den = den * BREAKER_PCT_100;
	r->band_up = num * (BREAKER_PCT_100 + r->c->band_pct);
	r->band_down = num * (BREAKER_PCT_100 - r->c->band_pct);
}

/*
 * Where px lies against the band: +1 above the upper edge, -1 below the
 * lower, 0 inside.  A price exactly on an edge counts as outside when
 * edge_is_outside (a tick entering LIMIT, 4.2) and inside otherwise (a
 * quoted rate, RULES-NOTES 3: breaker_rule_band_excludes).
 */
static int
band_position(const struct rule *r, int64_t px, bool edge_is_outside)
{
	fxb_i128 lhs = (fxb_i128)px * r->band_den;
	if (lhs > r->band_up || (edge_is_outside && lhs == r->band_up))
		return 1;
	if (lhs < r->band_down || (edge_is_outside && lhs == r->band_down))
		return -1;
	return 0;
}

static void
band_figures(const struct rule *r, struct breaker_event *ev, int64_t px)
{
	fxb_i128 den = (fxb_i128)r->ref_den * BREAKER_PCT_100;
	ev->figs |= BREAKER_FIG_PX | BREAKER_FIG_REF | BREAKER_FIG_BAND;
	ev->px = px;
	ev->ref_num = r->ref_num;
	ev->ref_den = r->ref_den;
	ev->lower = breaker_ratio_round(
	    r->ref_num * (BREAKER_PCT_100 - r->c->band_pct), den);
	ev->upper = breaker_ratio_round(
	    r->ref_num * (BREAKER_PCT_100 + r->c->band_pct), den);
}

static void
band_trip(struct breaker *b, struct rule *r, fxb_time t)
{
	struct breaker_event ev;
	breaker_rule_event_init(b, r, &ev, BREAKER_EV_TRIP, t);
	band_figures(r, &ev, r->last_px);
	ev.figs |= BREAKER_FIG_SINCE;
	ev.since = r->since;
	window_clear(&r->win, &r->sum);
	rule_trip(b, r, t, r->dir, &ev);
}

static void
band_tick(struct breaker *b, struct rule *r, fxb_time t, int64_t px)
{
	const struct breaker_rule_conf *c = r->c;
	struct breaker_event ev;

	if (r->state == RS_TRIPPED)
		return;
	r->last_px = px;
	if (r->state == RS_NO_REF || r->state == RS_AWAITING) {
		/* The first tick (or the first after a resume) seeds the
		 * reference and a fresh history; no band test on it. */
		window_clear(&r->win, &r->sum);
		window_push(&r->win, &r->sum, t, px);
		band_set_ref(r, px, 1);
		r->ref_since = t;
		breaker_rule_set_state(b, r, RS_NORMAL);
		r->since = t;
		breaker_rule_event_init(b, r, &ev, BREAKER_EV_REF_SET, t);
		band_figures(r, &ev, px);
		breaker_emit(b, &ev);
		return;
	}
	window_evict(&r->win, &r->sum, t - c->window);
	window_push(&r->win, &r->sum, t, px);
	if (r->state == RS_NORMAL) {
		fxb_i128 n = r->win.len;
		fxb_i128 diff = r->sum * r->ref_den - r->ref_num * n;
		if (diff < 0)
			diff = -diff;
		if (t - r->ref_since >= c->ref_min_life &&
		    diff * BREAKER_PCT_100 >=
		        c->ref_move_pct * r->ref_num * n) {
			band_set_ref(r, r->sum, (int64_t)n);
			r->ref_since = t;
			breaker_rule_event_init(b, r, &ev,
			                        BREAKER_EV_REF_UPDATE, t);
			band_figures(r, &ev, px);
			breaker_emit(b, &ev);
		}
		int dir = band_position(r, px, true);
		if (dir == 0)
			return;
		breaker_rule_set_state(b, r, RS_LIMIT);
		r->since = t;
		r->dir = (int8_t)dir;
		breaker_rule_event_init(b, r, &ev, BREAKER_EV_LIMIT_ENTER, t);
		band_figures(r, &ev, px);
		ev.dir = dir;
		ev.until = t + c->limit_for;
		breaker_emit(b, &ev);
		if (c->limit_for == 0)
			band_trip(b, r, t);
		else
			breaker_timer_arm(&b->heap, &r->timer,
			                  t + c->limit_for);
		return;
	}
	/* RS_LIMIT: the first tick strictly inside leaves it. */
	int dir = band_position(r, px, true);
	if (dir != 0) {
		r->dir = (int8_t)dir;
		return;
	}
	breaker_timer_cancel(&b->heap, &r->timer);
	breaker_rule_event_init(b, r, &ev, BREAKER_EV_LIMIT_EXIT, t);
	band_figures(r, &ev, px);
	ev.figs |= BREAKER_FIG_SINCE;
	ev.since = r->since;
	breaker_rule_set_state(b, r, RS_NORMAL);
	r->since = t;
	breaker_emit(b, &ev);
}

/* ---- velocity (4.3) ---- */

/*
 * A monotonic deque keeps, oldest first, the entries that can still be the
 * window's minimum (sign -1) or maximum (sign +1): pushing drops from the
 * back every entry the new one dominates, so the front is the extreme.
 */
static void
deque_push(struct ring *dq, fxb_time t, int64_t v, int sign)
{
	struct ring_ent *e;
	int64_t dropped;
	while ((e = breaker_ring_back(dq)) != NULL &&
	       (sign < 0 ? e->v >= v : e->v <= v))
		breaker_ring_pop_back(dq);
	breaker_ring_push(dq, t, v, &dropped);
}

/* Drops the entries older than lo. */
static void
deque_evict_before(struct ring *dq, fxb_time lo)
{
	struct ring_ent *e;
	while ((e = breaker_ring_front(dq)) != NULL && e->t < lo)
		breaker_ring_pop_front(dq);
}

/* Moves the group of ticks at pend_t (all earlier than the tick being
 * tested) into the monotonic deques. */
static void
velocity_flush(struct rule *r)
{
	deque_push(&r->dq_min, r->pend_t, r->pend_min, -1);
	deque_push(&r->dq_max, r->pend_t, r->pend_max, 1);
	r->pend = false;
}

static void
velocity_tick(struct breaker *b, struct rule *r, fxb_time t, int64_t px)
{
	fxb_time lo = t - r->c->window;

	if (r->state == RS_TRIPPED)
		return;
	if (r->pend && r->pend_t < t)
		velocity_flush(r);
	/* W = ticks in [t - window, t): drop those before the lower edge. */
	deque_evict_before(&r->dq_min, lo);
	deque_evict_before(&r->dq_max, lo);
	if (r->dq_min.len != 0) {
		int64_t wmin = breaker_ring_front(&r->dq_min)->v;
		int64_t wmax = breaker_ring_front(&r->dq_max)->v;
		fxb_i128 up = (fxb_i128)wmin + r->velocity;
		fxb_i128 down = (fxb_i128)wmax - r->velocity;
		int dir = px > up ? 1 : px < down ? -1 : 0;
		if (dir != 0) {
			struct breaker_event ev;
			breaker_rule_event_init(b, r, &ev, BREAKER_EV_TRIP, t);
			ev.figs = BREAKER_FIG_PX | BREAKER_FIG_WINDOW;
			ev.px = px;
			ev.wmin = wmin;
			ev.wmax = wmax;
			ev.limit = clamp64(dir > 0 ? up : down);
			breaker_ring_clear(&r->dq_min);
			breaker_ring_clear(&r->dq_max);
			r->pend = false;
			rule_trip(b, r, t, dir, &ev);
			return;
		}
	}
	if (r->pend) {
		if (px < r->pend_min)
			r->pend_min = px;
		if (px > r->pend_max)
			r->pend_max = px;
	} else {
		r->pend = true;
		r->pend_t = t;
		r->pend_min = r->pend_max = px;
	}
}

/* ---- deviation (4.4) ---- */

static void
deviation_trip(struct breaker *b, struct rule *r, fxb_time t)
{
	struct breaker_event ev;
	breaker_rule_event_init(b, r, &ev, BREAKER_EV_TRIP, t);
	ev.figs = BREAKER_FIG_PX | BREAKER_FIG_BASE | BREAKER_FIG_SINCE;
	ev.px = r->last_px;
	ev.base = r->c->base;
	ev.since = r->clock_t;
	rule_trip(b, r, t, r->dir, &ev);
}

static void
deviation_tick(struct breaker *b, struct rule *r, fxb_time t, int64_t px)
{
	const struct breaker_rule_conf *c = r->c;

	if (r->state == RS_TRIPPED)
		return;
	r->last_px = px;
	fxb_i128 dist = (fxb_i128)px - c->base;
	if (dist < 0)
		dist = -dist;
	if (dist * BREAKER_PCT_100 < (fxb_i128)c->pct * c->base) {
		/* The condition broke: the clock starts again from the next
		 * qualifying tick. */
		r->clock = false;
		breaker_timer_cancel(&b->heap, &r->timer);
		return;
	}
	r->dir = (int8_t)(px >= c->base ? 1 : -1);
	if (r->clock)
		return;
	r->clock = true;
	r->clock_t = t;
	if (c->hold == 0)
		deviation_trip(b, r, t);
	else
		breaker_timer_arm(&b->heap, &r->timer, t + c->hold);
}

/* ---- stale (4.5) ---- */

static void
stale_tick(struct breaker *b, struct rule *r, fxb_time t, int64_t px)
{
	r->last_px = px;
	r->last_t = t;
	if (r->state == RS_STALE)
		breaker_rule_end_suspension(b, r, BREAKER_EV_FRESH);
	breaker_rule_set_state(b, r, RS_NORMAL);
	breaker_timer_arm(&b->heap, &r->timer, t + r->c->max_age);
}

static void
stale_trip(struct breaker *b, struct rule *r, fxb_time t)
{
	struct breaker_event ev;
	breaker_rule_event_init(b, r, &ev, BREAKER_EV_STALE, t);
	ev.figs = BREAKER_FIG_PX | BREAKER_FIG_SINCE;
	ev.px = r->last_px;
	ev.since = r->last_t;
	breaker_rule_set_state(b, r, RS_STALE);
	r->since = t;
	r->dir = 0;
	r->until = FXB_NEVER;
	r->suspension = breaker_emit(b, &ev);
}

/* ---- spread (4.6) ---- */

/* The spread in 10^-4 % of the mid, rounded down: display only. */
static int64_t
spread_pct(int64_t bid, int64_t ask)
{
	return clamp64((fxb_i128)2 * (ask - bid) * BREAKER_PCT_100 /
	               ((fxb_i128)bid + ask));
}

static void
spread_tick(struct breaker *b, struct rule *r, fxb_time t, int64_t bid,
            int64_t ask)
{
	const struct breaker_rule_conf *c = r->c;
	/* (ask - bid) / mid * 100 > max  <=>  2 (ask - bid) 10^6 > max (bid +
	 * ask), with max in 10^-4 % units. */
	bool wide = (fxb_i128)2 * (ask - bid) * BREAKER_PCT_100 >
	            (fxb_i128)c->max_spread_pct * ((fxb_i128)bid + ask);

	r->last_bid = bid;
	r->last_ask = ask;
	if (r->state != RS_TRIPPED) {
		if (!wide)
			return;
		struct breaker_event ev;
		breaker_rule_event_init(b, r, &ev, BREAKER_EV_TRIP, t);
		ev.figs = BREAKER_FIG_QUOTE | BREAKER_FIG_SPREAD;
		ev.bid = bid;
		ev.ask = ask;
		ev.pct = spread_pct(bid, ask);
		ev.limit_pct = c->max_spread_pct;
		rule_trip(b, r, t, 0, &ev);
		return;
	}
	if (wide) {
		r->clock = false;
		breaker_timer_cancel(&b->heap, &r->timer);
		return;
	}
	if (r->clock)
		return;
	r->clock = true;
	r->clock_t = t;
	if (c->hold == 0)
		breaker_rule_end_suspension(b, r, BREAKER_EV_RESUME);
	else
		breaker_timer_arm(&b->heap, &r->timer, t + c->hold);
}

/* Makes room for what a tick may add to r's windows (false: no memory). */
bool
breaker_rule_reserve(struct rule *r)
{
	switch (r->kind) {
	case BREAKER_BAND:
		return breaker_ring_reserve(&r->win);
	case BREAKER_VELOCITY:
		return breaker_ring_reserve(&r->dq_min) &&
		       breaker_ring_reserve(&r->dq_max);
	default:
		return true;
	}
}

void
breaker_rule_on_tick(struct breaker *b, struct rule *r, fxb_time t, int64_t px,
                     bool quote, int64_t bid, int64_t ask)
{
	switch (r->c->kind) {
	case BREAKER_BAND:
		band_tick(b, r, t, px);
		break;
	case BREAKER_VELOCITY:
		velocity_tick(b, r, t, px);
		break;
	case BREAKER_DEVIATION:
		deviation_tick(b, r, t, px);
		break;
	case BREAKER_STALE:
		stale_tick(b, r, t, px);
		break;
	case BREAKER_SPREAD:
		if (quote)
			spread_tick(b, r, t, bid, ask);
		break;
	default:
		break;
	}
}

/* ---- volume (4.1) ---- */

/* A volume event (warn or trip) with N and the threshold it reached. */
static void
volume_event_init(struct breaker *b, struct rule *r, struct breaker_event *ev,
                  enum breaker_event_type type, fxb_time t, fxb_i128 n,
                  int64_t threshold)
{
	breaker_rule_event_init(b, r, ev, type, t);
	ev->figs = BREAKER_FIG_N;
	ev->notional = r->notional;
	ev->amount_exponent = r->exponent;
	ev->n = clamp64(n);
	ev->threshold = threshold;
}

/* The out-of-line ends of breaker_volume_evaluate (breaker_impl.h): r
 * trips on n... */
bool
breaker_volume_trip(struct breaker *b, struct rule *r, fxb_time t, fxb_i128 n)
{
	struct breaker_event ev;

	volume_event_init(b, r, &ev, BREAKER_EV_TRIP, t, n, r->trip);
	window_clear(&r->win, &r->sum);
	r->warned = false;
	rule_trip(b, r, t, 0, &ev);
	return true;
}

/* ... or n reached warn. */
void
breaker_volume_warn(struct breaker *b, struct rule *r, fxb_time t, fxb_i128 n)
{
	struct breaker_event ev;

	r->warned = true;
	volume_event_init(b, r, &ev, BREAKER_EV_WARN, t, n, r->warn);
	breaker_emit(b, &ev);
}

/* ---- throttle (4.7) ---- */

/* Time until the bucket holds `want` milli-tokens, from refill_t. */
static fxb_time
throttle_wait(const struct rule *r, int64_t want)
{
	int64_t missing = want - r->tokens;
	if (missing <= 0)
		return 0;
	return (missing + r->rate - 1) / r->rate;
}

/* The out-of-line end of breaker_throttle_has_token (breaker_impl.h): r
 * has no token for the check at t. */
bool
breaker_throttle_refuse(struct breaker *b, struct rule *r, fxb_time t,
                        int64_t *retry_after)
{
	int64_t full = r->burst * MILLI;

	*retry_after = throttle_wait(r, MILLI);
	if (r->throttled++ == 0) {
		struct breaker_event ev;
		breaker_rule_event_init(b, r, &ev, BREAKER_EV_THROTTLE_START,
		                        t);
		ev.figs = BREAKER_FIG_BUCKET;
		ev.rate = r->rate;
		ev.burst = r->burst;
		r->since = t;
		breaker_emit(b, &ev);
	}
	breaker_timer_arm(&b->heap, &r->timer, t + throttle_wait(r, full));
	return false;
}

/* The out-of-line end of breaker_throttle_consume: an episode is under
 * way, so its end moves with the bucket. */
void
breaker_throttle_rearm(struct breaker *b, struct rule *r)
{
	breaker_timer_arm(&b->heap, &r->timer,
	                  r->refill_t + throttle_wait(r, r->burst * MILLI));
}

static void
throttle_end(struct breaker *b, struct rule *r, fxb_time t)
{
	struct breaker_event ev;
	breaker_rule_event_init(b, r, &ev, BREAKER_EV_THROTTLE_END, t);
	ev.figs = BREAKER_FIG_COUNT | BREAKER_FIG_SINCE;
	ev.n = r->throttled;
	ev.since = r->since;
	r->throttled = 0;
	breaker_emit(b, &ev);
}

/* breaker_rule_on_timer runs r's timer, already disarmed, at b->now. */
void
breaker_rule_on_timer(struct breaker *b, struct rule *r)
{
	fxb_time t = b->now;

	switch (r->c->kind) {
	case BREAKER_BAND:
		if (r->state == RS_LIMIT)
			band_trip(b, r, t);
		else if (r->state == RS_TRIPPED)
			breaker_rule_end_suspension(b, r, BREAKER_EV_RESUME);
		break;
	case BREAKER_DEVIATION:
		if (r->state == RS_TRIPPED)
			breaker_rule_end_suspension(b, r, BREAKER_EV_RESUME);
		else if (r->clock)
			deviation_trip(b, r, t);
		break;
	case BREAKER_STALE:
		if (r->state == RS_NORMAL)
			stale_trip(b, r, t);
		break;
	case BREAKER_SPREAD:
		if (r->state == RS_TRIPPED && r->clock)
			breaker_rule_end_suspension(b, r, BREAKER_EV_RESUME);
		break;
	case BREAKER_THROTTLE:
		if (r->throttled > 0)
			throttle_end(b, r, t);
		break;
	default: /* volume, velocity */
		if (r->state == RS_TRIPPED)
			breaker_rule_end_suspension(b, r, BREAKER_EV_RESUME);
		break;
	}
}
