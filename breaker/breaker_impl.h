/*
 * breaker_impl.h: the engine's private structures and the prototypes shared
 * between its files.  Nothing outside breaker/ includes this.
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

/* Rule states.  Not every kind uses every state. */
enum rule_state {
	RS_NORMAL = 0, /* watching */
	RS_NO_REF,     /* band: no tick yet, no band in force */
	RS_LIMIT,      /* band: limit state, trip timer armed */
	RS_TRIPPED,    /* suspended (denies when enforcing) */
	RS_AWAITING,   /* band: resumed, waiting for a reference tick */
	RS_NO_RATE,    /* stale: no tick ever */
	RS_STALE,      /* stale: tripped by age */
};

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
			struct ring
			    win; /* volume (t, measure); band (t, px) */
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
			fxb_i128
			    ref_num; /* band reference = ref_num / ref_den */
			int64_t ref_den;
			fxb_time ref_since;
			int64_t
			    last_px; /* band, deviation, stale: last price */
			struct ring dq_min,
			    dq_max; /* velocity monotonic deques */
			bool pend;  /* velocity: a group of ticks at pend_t */
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

struct pair {
	char name[BREAKER_PAIR_MAX + 1];
	int base_exponent;
	int64_t tick;
	int32_t *rules; /* every rule on the pair, config order */
	uint32_t nrules;
	int32_t *enforcing; /* its enforcing rules: the list products without
	                       exemptions share */
	uint32_t nenforcing;
	struct force *force; /* NULL until first forced */
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
	uint32_t nown;             /* own rules: the rules after this line */
	const int32_t *pair_rules; /* enforcing pair rules not exempted */
	struct force *force;       /* NULL until first forced */
	char *id;
};

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
	 * lines (4 bytes a product: the table stays in cache); rule[i] points
	 * at rule i. */
	char *arena;
	uint32_t *block;
	struct rule **rule;
	struct timer_heap heap;
	struct name_index product_index, pair_index, rule_index;
	const char **product_names, **pair_names, **rule_names;
};

#define BREAKER_LINE 64

/* breaker_product returns product i (a valid index). */
static inline struct product *
breaker_product(const struct breaker *b, int32_t i)
{
	return (struct product *)(void *)(b->arena +
	                                  (size_t)b->block[i] * BREAKER_LINE);
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
bool breaker_ring_reserve(struct ring *r);
int breaker_ring_push(struct ring *r, int64_t t, int64_t v, int64_t *dropped);
struct ring_ent *breaker_ring_front(struct ring *r);
struct ring_ent *breaker_ring_back(struct ring *r);
void breaker_ring_pop_front(struct ring *r);
void breaker_ring_pop_back(struct ring *r);
void breaker_ring_clear(struct ring *r);

bool breaker_timer_heap_init(struct timer_heap *h, uint32_t cap);
void breaker_timer_heap_fini(struct timer_heap *h);
void breaker_timer_arm(struct timer_heap *h, struct timer *tm, fxb_time at);
void breaker_timer_cancel(struct timer_heap *h, struct timer *tm);
struct timer *breaker_timer_peek(const struct timer_heap *h);

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
bool breaker_rule_band_excludes(const struct rule *r, int64_t rate);
bool breaker_volume_evaluate(struct breaker *b, struct rule *r, fxb_time t,
                             int64_t measure);
void breaker_volume_count(struct rule *r, fxb_time t, int64_t measure);
bool breaker_throttle_has_token(struct breaker *b, struct rule *r, fxb_time t,
                                int64_t *retry_after);
void breaker_throttle_consume(struct breaker *b, struct rule *r);

#endif /* BREAKER_IMPL_H */
