/*
 * breaker_impl.h: the engine's private structures and the prototypes shared
 * between its files.  Nothing outside breaker/ includes this.
 *
 * After the structures, a section for each file that lends something to
 * the others: breaker_util.c (rings, the timer heap, the name index),
 * breaker_rules.c (the rule kinds), breaker_operator.c (a force's record),
 * breaker_levels.c (the trip levels).  breaker.c, breaker_check.c,
 * breaker_status.c and breaker_restore.c lend nothing: they implement
 * breaker.h.
 */
#ifndef BREAKER_IMPL_H
#define BREAKER_IMPL_H

#include <stddef.h>

#include "breaker.h"

/*
 * A ring of (t, v) entries: the sliding windows and the monotonic deques.
 * It grows by doubling up to `max` entries; at the cap, pushing drops the
 * oldest entry (the documented memory cap of a window, docs/RULES-NOTES.md).
 */
struct ring_ent {
	int64_t t;
	int64_t v;
};

/* Entries a volume window keeps in its rule's own lines before it needs an
 * allocation (breaker_ring_init_inline); an allocated ring starts at twice
 * that, so that the capacity tells the two apart. */
#define RING_INLINE 16

struct ring {
	struct ring_ent *e;
	uint32_t cap;  /* a power of two or 0; at most RING_INLINE: e is the
	                  owner's inline array, else allocated */
	uint32_t head; /* index of the oldest entry */
	uint32_t len;
	uint32_t max; /* hard cap on len */
};

/* The most ticks a band or velocity window holds: 2^20 (docs/RULES-NOTES.md).
 */
#define WINDOW_TICKS_MAX (1u << 20)

/* A timer: at most one per rule and one per forced scope.  The heap holds
 * pointers; pos is the heap slot, or -1 when not armed. */
enum timer_owner {
	TIMER_RULE = 1,
	TIMER_FORCE_PRODUCT,
	TIMER_FORCE_PAIR,
	TIMER_CALENDAR,     /* a session boundary (RULES.md 9) */
	TIMER_PLAN_PRODUCT, /* a planned suspension's start */
	TIMER_PLAN_PAIR,
};

struct timer {
	fxb_time at;
	uint64_t seq; /* arming order: equal expiries fire in that order */
	int32_t pos;
	enum timer_owner owner;
	int32_t idx;
};

struct timer_heap {
	struct timer **v;
	uint32_t len, cap;
	uint64_t seq;
};

/* An id -> index hash (open addressing, linear probing). */
struct name_index {
	uint32_t *slot; /* index + 1; 0 = empty */
	uint32_t mask;
	const char *const *names;
};

/* An operator's suspension of a product or pair. */
struct force {
	bool on;
	fxb_time since, until;
	int64_t suspension;
	char reason[BREAKER_REASON_MAX + 1];
	struct timer timer;
};

/* A planned suspension of a product or pair, not started yet (RULES.md
 * 9): its timer fires at `from`.  At the start a scope that was never
 * forced takes `f`, the plan's first member, as its force record, so that
 * starting (a timer) never allocates. */
struct plan {
	struct force f;
	int64_t id;
	fxb_time from, until;
	char reason[BREAKER_REASON_MAX + 1];
	struct timer timer;
};

/* A calendar as the engine runs it: its config (the engine's own copy),
 * the session now and the next change, which its timer fires. */
struct calendar {
	struct breaker_calendar_conf c;
	int cur;             /* session now, or BREAKER_SESSION_OFF */
	fxb_time next;       /* the next change, FXB_NEVER: none */
	int next_s;          /* the session from then */
	uint32_t gen;        /* counts changes: what product caches key on */
	struct rule **rules; /* the rules whose levels follow it */
	uint32_t nrules;
	struct timer timer;
};

/* Rule states: enum breaker_rule_state (breaker.h), by the engine's short
 * names.  Not every kind uses every state. */
enum rule_state {
	RS_NORMAL = BREAKER_RULE_NORMAL,
	RS_NO_REF = BREAKER_RULE_NO_REFERENCE,
	RS_LIMIT = BREAKER_RULE_LIMIT,
	/* The states from here on hold products (RS_HOLDS): keep them last. */
	RS_TRIPPED = BREAKER_RULE_TRIPPED,
	RS_AWAITING = BREAKER_RULE_AWAITING_REFERENCE,
	RS_NO_RATE = BREAKER_RULE_NO_RATE,
	RS_STALE = BREAKER_RULE_STALE,
};

/* Does a rule in state s hold the products it reaches (hold_rule)? */
#define RS_HOLDS(s) ((s) >= RS_TRIPPED)

/*
 * A rule's state.  Line 0 holds everything a check reads of an own rule
 * that lets the check through, with copies of the parameters it needs:
 * the kind-specific part is a union, volume (and band) or throttle, since
 * a rule never changes kind; keep those fields there when adding some.
 * Lines 1-4 are a volume window's first RING_INLINE entries, so that a
 * product checked now and then keeps its whole window in its own block;
 * pair kinds, which never use them, keep their own state there instead.
 * The config (c) is read only on events.  Every access to a union member
 * must be of the rule's kind.
 */
struct rule {
	/* Line 0, hot. */
	_Alignas(64) uint8_t kind; /* enum breaker_kind */
	uint8_t state;             /* enum rule_state */
	bool shadow : 1;
	bool notional : 1; /* volume measure */
	bool warned : 1;   /* volume */
	uint32_t window;   /* volume: c->window (at most 1 h) */
	union {
		struct {                    /* volume and band */
			int64_t trip, warn; /* volume */
			/* volume (t, measure); band (t, px) */
			struct ring win;
		};
		struct { /* throttle */
			int64_t rate, burst;
			int64_t tokens; /* milli-tokens */
			fxb_time refill_t;
			int64_t throttled; /* checks refused this episode */
		};
	};
	fxb_i128 sum; /* volume, band: sum over win */
	/* Lines 1-4. */
	union {
		struct ring_ent win_inline[RING_INLINE]; /* volume */
		struct {                                 /* pair kinds */
			/* band: the reference is ref_num / ref_den; a
			 * price px is inside when px * band_den lies in
			 * [band_down, band_up] (band_set_ref) */
			fxb_i128 ref_num;
			int64_t ref_den;
			fxb_time ref_since;
			fxb_i128 band_up, band_down;
			int64_t band_den;
			/* band, deviation, stale: the last price seen */
			int64_t last_px;
			/* velocity: the monotonic deques */
			struct ring dq_min, dq_max;
			bool pend; /* velocity: a group of ticks at pend_t */
			fxb_time pend_t;
			int64_t pend_min, pend_max;
			int64_t velocity; /* V, 10^-9 units */
			fxb_time clock_t; /* deviation, spread: clock start */
			fxb_time last_t;  /* stale: time of the last tick */
			int64_t last_bid, last_ask; /* spread */
		};
	};
	/* Cold. */
	int8_t dir; /* direction of the current trip or limit */
	bool latched;
	bool clock;         /* deviation/spread: the hold clock runs */
	int8_t exponent;    /* volume: minor units of the base currency */
	fxb_time until;     /* TRIPPED: automatic end or FXB_NEVER */
	int64_t suspension; /* id of the current (or last) suspension */
	fxb_time since;     /* when the current state began */
	const struct breaker_rule_conf *c; /* points into the engine's copy */
	char *id;
	char *notice; /* notice id, or NULL */
	struct timer timer;
	/* 4.8 escalation: times of the last auto resumes, a small ring. */
	fxb_time *resumes;
	uint32_t nresumes, resume_head;
};

_Static_assert(offsetof(struct rule, sum) + sizeof(fxb_i128) <= 64 &&
                   offsetof(struct rule, throttled) + sizeof(int64_t) <= 64,
               "a check's own-rule state is line 0 of the rule");
_Static_assert(offsetof(struct rule, win_inline) == 64,
               "the inline window entries follow line 0");

/* Window entries in a line, and the lines of a rule's inline entries. */
#define RING_LINE_ENTRIES (64 / sizeof(struct ring_ent))
#define RING_INLINE_LINES (RING_INLINE / RING_LINE_ENTRIES)

struct pair {
	char name[BREAKER_PAIR_MAX + 1];
	int base_exponent;
	int64_t tick;
	struct rule **rules; /* every rule on the pair, config order */
	uint32_t nrules;
	struct rule **enforcing; /* its enforcing rules: the list products
	                            without exemptions share */
	uint32_t nenforcing;
	uint32_t nheld;      /* enforcing rules in a holding state: while 0, a
	                        check need not look at them */
	struct force *force; /* NULL until first forced */
	struct plan *plan;   /* NULL: none pending */
};

/*
 * A product heads its block in the engine's arena: this one line, then its
 * own rules (struct rule, config order), so that a check reads one
 * contiguous stretch of memory whose every address follows from the
 * product's index (breaker.c, breaker_product).  The lines of a block can
 * then be fetched together instead of one after the other.
 */
struct product {
	_Alignas(64) int32_t pair;
	uint8_t side;         /* enum breaker_side */
	bool owns_pair_rules; /* pair_rules is its own, not the pair's */
	uint32_t npair_rules;
	uint32_t nown; /* own rules: the rules after this line */
	struct rule *const *pair_rules; /* enforcing pair rules not exempted */
	struct force *force;            /* NULL until first forced */
	char *id;
	/* Opening hours (RULES.md 9): open while calendar hours_cal (-1:
	 * none) is in a session whose bit (s + 1) is set in hours_mask. */
	int32_t hours_cal;
	uint64_t hours_mask;
	struct plan *plan; /* NULL: none pending */
};

_Static_assert(sizeof(struct product) == 64, "a product is one line");

struct breaker {
	fxb_time now;
	breaker_sink_fn sink;
	void *sink_arg;
	struct breaker_rule_conf *rconf; /* private copy of rule params */
	struct pair *pairs;
	uint32_t npairs;
	uint32_t nproducts;
	uint32_t nrules;
	/* Every product and rule lives in the arena: the pairs' rules first,
	 * then one block per product.  block[i] is product i's offset in
	 * lines (4 bytes a product: the table stays in cache), block[n] the
	 * arena's end.  Bit k of windows[i]: product i's own rule k (k < 8)
	 * keeps a volume window, whose inline entries a check will read.
	 * rule[i] points at rule i. */
	char *arena;
	uint32_t *block;
	uint8_t *windows;
	struct rule **rule;
	struct timer_heap heap;
	struct name_index product_index, pair_index, rule_index;
	const char **product_names, **pair_names, **rule_names;
	/* Calendars (RULES.md 9), and for each product with opening hours
	 * the next opening, valid while open_gen matches its calendar's
	 * gen + 1 (0: never computed). */
	struct calendar *cals;
	uint32_t ncals;
	fxb_time *open_at;
	uint32_t *open_gen;
	uint32_t nplans; /* plans pending: while 0 a check looks for none */
};

#define BREAKER_LINE 64

/* breaker_product returns product i (a valid index). */
static inline struct product *
breaker_product(const struct breaker *b, int32_t i)
{
	return (struct product *)(void *)(b->arena +
	                                  (size_t)b->block[i] * BREAKER_LINE);
}

/*
 * breaker_rule_set_state sets r's state.  Every change of a rule's state
 * goes through here, so that a pair's nheld stays the number of its
 * enforcing rules in a holding state (breaker_transfer, which copies
 * states wholesale, counts afresh).
 */
static inline void
breaker_rule_set_state(struct breaker *b, struct rule *r, enum rule_state s)
{
	if (RS_HOLDS(r->state) != RS_HOLDS(s) && r->c->on_pair && !r->shadow) {
		struct pair *pr = &b->pairs[r->c->owner];
		if (RS_HOLDS(s))
			pr->nheld++;
		else
			pr->nheld--;
	}
	r->state = (uint8_t)s;
}

/* The number of pr's enforcing rules in a holding state: what pr->nheld
 * must be (breaker_rule_set_state). */
static inline uint32_t
breaker_pair_count_held(const struct pair *pr)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < pr->nenforcing; i++)
		n += RS_HOLDS(pr->enforcing[i]->state);
	return n;
}

/* Is i an index into a table of n (a product, pair or rule)? */
static inline bool
breaker_valid_index(int32_t i, uint32_t n)
{
	return i >= 0 && (uint32_t)i < n;
}

/* breaker_product_own returns the first of p's own rules. */
static inline struct rule *
breaker_product_own(struct product *p)
{
	return (struct rule *)(void *)(p + 1);
}

/* breaker_util.c */
void breaker_ring_init(struct ring *r, uint32_t max);
void breaker_ring_init_inline(struct ring *r, struct ring_ent *buf,
                              uint32_t max);
void breaker_ring_fini(struct ring *r);
bool breaker_ring_grow(struct ring *r);

/* The ring's and the heap's every-call operations are inline: a check or a
 * tick makes several, each a few instructions. */

static inline struct ring_ent *
breaker_ring_front(struct ring *r)
{
	return r->len != 0 ? &r->e[r->head] : NULL;
}

static inline struct ring_ent *
breaker_ring_back(struct ring *r)
{
	return r->len != 0 ? &r->e[(r->head + r->len - 1) & (r->cap - 1)]
	                   : NULL;
}

static inline void
breaker_ring_pop_front(struct ring *r)
{
	r->head = (r->head + 1) & (r->cap - 1);
	r->len--;
}

static inline void
breaker_ring_pop_back(struct ring *r)
{
	r->len--;
}

static inline void
breaker_ring_clear(struct ring *r)
{
	r->head = 0;
	r->len = 0;
}

/*
 * breaker_ring_reserve makes sure the next push stores its entry without
 * allocating: there is a free slot, or the ring is at its cap (where a push
 * drops the oldest entry by design).  False on out of memory.
 */
static inline bool
breaker_ring_reserve(struct ring *r)
{
	return r->len < r->cap || r->len >= r->max || breaker_ring_grow(r);
}

/*
 * breaker_ring_push appends (t, v) and returns 0.  At the cap, or when memory
 * runs out, the oldest entry is dropped to make room: it returns 1 and writes
 * the dropped value to *dropped, so that the caller's running sum stays the
 * sum of what the ring holds (the window is then capped, as documented).  It
 * returns -1, storing nothing, only if the ring could never allocate.
 */
static inline int
breaker_ring_push(struct ring *r, int64_t t, int64_t v, int64_t *dropped)
{
	int rc = 0;
	if (r->len == r->cap && (r->len >= r->max || !breaker_ring_grow(r))) {
		if (r->cap == 0)
			return -1;
		*dropped = r->e[r->head].v;
		breaker_ring_pop_front(r);
		rc = 1;
	}
	struct ring_ent *e = &r->e[(r->head + r->len) & (r->cap - 1)];
	e->t = t;
	e->v = v;
	r->len++;
	return rc;
}

bool breaker_timer_heap_init(struct timer_heap *h, uint32_t cap);
void breaker_timer_heap_fini(struct timer_heap *h);
void breaker_timer_arm(struct timer_heap *h, struct timer *tm, fxb_time at);
/* breaker_timer_arm_first arms tm to fire at `at` before every timer
 * breaker_timer_arm arms for that instant, and after those armed first
 * with a lower rank (a session boundary: RULES.md 9). */
void breaker_timer_arm_first(struct timer_heap *h, struct timer *tm,
                             fxb_time at, uint32_t rank);
/* breaker_timer_arm_seq arms tm at `at` with the place `seq` it had in
 * another heap (a reload): timers of one instant keep their order. */
void breaker_timer_arm_seq(struct timer_heap *h, struct timer *tm, fxb_time at,
                           uint64_t seq);
void breaker_timer_cancel(struct timer_heap *h, struct timer *tm);

static inline struct timer *
breaker_timer_peek(const struct timer_heap *h)
{
	return h->len != 0 ? h->v[0] : NULL;
}

int breaker_index_build(struct name_index *ix, const char *const *names,
                        uint32_t n, int32_t *dup);
void breaker_index_fini(struct name_index *ix);
int32_t breaker_index_find(const struct name_index *ix, const char *s,
                           size_t len);

/* breaker_rules.c */
bool breaker_rule_reserve(struct rule *r);
void breaker_rule_record_resume(struct rule *r, fxb_time t);
void breaker_rule_init_state(struct breaker *b, struct rule *r);
void breaker_rule_on_tick(struct breaker *b, struct rule *r, fxb_time t,
                          int64_t px, bool quote, int64_t bid, int64_t ask);
void breaker_rule_on_timer(struct breaker *b, struct rule *r);
void breaker_rule_end_suspension(struct breaker *b, struct rule *r,
                                 enum breaker_event_type how);
void breaker_rule_event_init(struct breaker *b, struct rule *r,
                             struct breaker_event *ev,
                             enum breaker_event_type type, fxb_time t);
int64_t breaker_emit(struct breaker *b, const struct breaker_event *ev);
bool breaker_volume_trip(struct breaker *b, struct rule *r, fxb_time t,
                         fxb_i128 n);
void breaker_volume_warn(struct breaker *b, struct rule *r, fxb_time t,
                         fxb_i128 n);
bool breaker_throttle_refuse(struct breaker *b, struct rule *r, fxb_time t,
                             int64_t *retry_after);
void breaker_throttle_rearm(struct breaker *b, struct rule *r);

/*
 * breaker_rule_band_excludes: is the quoted rate strictly outside band r?
 * A band is in force for quoted rates only in NORMAL and LIMIT.  Tripped or
 * awaiting a new reference there is none: the market has left the old band
 * by definition, and the side a with-move suspension keeps open must be
 * able to convert at the market's rate (RULES-NOTES 3).  A rate exactly on
 * an edge is inside.
 */
static inline bool
breaker_rule_band_excludes(const struct rule *r, int64_t rate)
{
	if (r->state != RS_NORMAL && r->state != RS_LIMIT)
		return false;
	fxb_i128 lhs = (fxb_i128)rate * r->band_den;
	return lhs > r->band_up || lhs < r->band_down;
}

/*
 * What a check does to its product's own rules (4.1, 4.7).  A check makes
 * each of these once per own rule, so the paths that let it through are
 * inline here; whatever emits an event is out of line in breaker_rules.c.
 */

#define BREAKER_MILLI 1000 /* milli-tokens per token */

/* Keeps `sum` equal to the sum of the ring's values across a push. */
static inline void
breaker_window_push(struct ring *w, fxb_i128 *sum, fxb_time t, int64_t v)
{
	int64_t dropped = 0;
	int rc = breaker_ring_push(w, t, v, &dropped);
	if (rc == 1)
		*sum -= dropped;
	if (rc >= 0)
		*sum += v;
}

/*
 * breaker_volume_evaluate tests the arriving check (measure m) against r;
 * returns true if r tripped on it.  Warns once per excursion above `warn`.
 */
static inline bool
breaker_volume_evaluate(struct breaker *b, struct rule *r, fxb_time t,
                        int64_t m)
{
	struct ring *w = &r->win;
	fxb_time edge = t - r->window;

	while (w->len != 0 && w->e[w->head].t <= edge) {
		r->sum -= w->e[w->head].v;
		breaker_ring_pop_front(w);
	}
	/* The lines after the oldest entry and after the newest: for a
	 * product checked often, whose window has a ring of its own, they
	 * are there by its next check. */
	__builtin_prefetch(
	    &w->e[(w->head + RING_LINE_ENTRIES) & (w->cap - 1)]);
	__builtin_prefetch(
	    &w->e[(w->head + w->len + RING_LINE_ENTRIES) & (w->cap - 1)], 1);
	fxb_i128 n = r->sum + m;
	if (n >= r->trip)
		return breaker_volume_trip(b, r, t, n);
	if (r->warn == 0)
		return false;
	if (n < r->warn) {
		if (r->warned)
			r->warned = false;
	} else if (!r->warned) {
		breaker_volume_warn(b, r, t, n);
	}
	return false;
}

/* breaker_volume_count adds an allowed check to r's window. */
static inline void
breaker_volume_count(struct rule *r, fxb_time t, int64_t m)
{
	struct ring_ent *e = breaker_ring_back(&r->win);
	int64_t v;
	if (e != NULL && e->t == t && !__builtin_add_overflow(e->v, m, &v)) {
		e->v = v;
		r->sum += m;
		return;
	}
	breaker_window_push(&r->win, &r->sum, t, m);
}

/* The milli-tokens r's bucket holds at t: min(full, tokens + (t - refill_t)
 * x rate), exactly (a result past INT64_MAX is past full). */
static inline int64_t
breaker_throttle_level(const struct rule *r, fxb_time t)
{
	int64_t full = r->burst * BREAKER_MILLI, dt, add, v;
	if (t <= r->refill_t)
		return r->tokens;
	if (__builtin_sub_overflow(t, r->refill_t, &dt) ||
	    __builtin_mul_overflow(dt, r->rate, &add) ||
	    __builtin_add_overflow(add, r->tokens, &v) || v > full)
		return full;
	return v;
}

/* breaker_throttle_ready says whether r has a token for a check at t,
 * changing nothing. */
static inline bool
breaker_throttle_ready(const struct rule *r, fxb_time t)
{
	/* A refill only adds. */
	return r->tokens >= BREAKER_MILLI ||
	       breaker_throttle_level(r, t) >= BREAKER_MILLI;
}

/* breaker_throttle_refill brings r's bucket to t. */
static inline void
breaker_throttle_refill(struct rule *r, fxb_time t)
{
	if (t > r->refill_t) {
		r->tokens = breaker_throttle_level(r, t);
		r->refill_t = t;
	}
}

/*
 * breaker_throttle_has_token refills r's bucket to t and says whether a token
 * is there.  A refusal counts toward the episode (throttle_start on the first)
 * and *retry_after gets the time to the next token.  The episode ends, by
 * timer, when the bucket is full again: demand has fallen below the rate.
 */
static inline bool
breaker_throttle_has_token(struct breaker *b, struct rule *r, fxb_time t,
                           int64_t *retry_after)
{
	breaker_throttle_refill(r, t);
	if (r->tokens >= BREAKER_MILLI)
		return true;
	return breaker_throttle_refuse(b, r, t, retry_after);
}

/* breaker_throttle_consume takes the token of a check allowed at t. */
static inline void
breaker_throttle_consume(struct breaker *b, struct rule *r, fxb_time t)
{
	breaker_throttle_refill(r, t);
	if (r->tokens < BREAKER_MILLI)
		return;
	r->tokens -= BREAKER_MILLI;
	if (r->throttled > 0)
		breaker_throttle_rearm(b, r);
}

/* breaker_operator.c */

/*
 * breaker_force_of returns the force record of product or pair idx, made
 * on first use when create is set; NULL with *err set to why not (an
 * unknown scope, out of memory, or FXB_ERR_NOT_FORCED: none yet).
 */
struct force *breaker_force_of(struct breaker *b, bool on_pair, int32_t idx,
                               bool create, enum fxb_err *err);
/* breaker_force_start forces scope idx at b->now until `until`, ending a
 * force in place first; plan: the plan it starts, 0 for none. */
void breaker_force_start(struct breaker *b, struct force *f, bool on_pair,
                         int32_t idx, fxb_time until, const char *reason,
                         int64_t plan);
/* breaker_reason_copy keeps an operator's reason (a force's, a plan's)
 * in dst, cut to fit on a UTF-8 character boundary. */
void breaker_reason_copy(char dst[BREAKER_REASON_MAX + 1], const char *reason);
/* breaker_force_end ends force f now (force_lift, saying `by`): an
 * operator's lift, a replacement, or its own time (the clock's timer). */
void breaker_force_end(struct breaker *b, struct force *f, bool on_pair,
                       int32_t idx, enum breaker_lift by);

/* breaker_session.c: calendars, opening hours and plans (RULES.md 9) */

/* breaker_sessions_new copies cfg's calendars, hours and levels into b
 * and sets each calendar's session at b->now, silently (no event). */
enum fxb_err breaker_sessions_new(struct breaker *b,
                                  const struct breaker_config *cfg);
void breaker_sessions_free(struct breaker *b);
/* breaker_sessions_sync puts each calendar in its session at b->now,
 * silently: after the clock was set, not moved (a transfer). */
void breaker_sessions_sync(struct breaker *b);
/* A calendar's boundary, or a plan's start, came due (the timer's). */
void breaker_calendar_on_timer(struct breaker *b, struct calendar *cal);
void breaker_plan_on_timer(struct breaker *b, bool on_pair, int32_t idx);
/* The next opening of product p's hours after t (FXB_NEVER: none within
 * 14 days), and the `closed` decision it makes at t. */
fxb_time breaker_product_next_open(const struct breaker *b,
                                   const struct product *p, fxb_time t);
void breaker_closed_decision(struct breaker_decision *out, fxb_time open,
                             fxb_time t);
/* The `closed` decision for product i (its calendar is in a session its
 * hours do not list), at t, the next opening kept for the stretch. */
void breaker_decide_closed(struct breaker *b, int32_t i, fxb_time t,
                           struct breaker_decision *out);
/* The plan that covers product p first into out->upcoming. */
void breaker_attach_upcoming(const struct breaker *b, const struct product *p,
                             struct breaker_decision *out);
/* Is product p closed now? */
static inline bool
breaker_product_closed(const struct breaker *b, const struct product *p)
{
	return p->hours_cal >= 0 &&
	       !((p->hours_mask >> (b->cals[p->hours_cal].cur + 1)) & 1u);
}
/* Moves from's plans to the same scopes of `to` (by name). */
void breaker_plans_transfer(struct breaker *from, struct breaker *to,
                            breaker_plan_orphan_fn orphan, void *arg);

/* breaker_levels.c */

/*
 * breaker_levels_copy copies src's trip levels (the fields a threshold
 * command may change, and the fields they make, such as a velocity rule's
 * V) into dst, a rule of the same kind.  false, copying nothing: src's
 * kind has no such levels.
 */
bool breaker_levels_copy(struct breaker_rule_conf *dst,
                         const struct breaker_rule_conf *src);

#endif /* BREAKER_IMPL_H */
