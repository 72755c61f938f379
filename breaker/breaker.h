/*
 * breaker.h: the fxbreaker engine.
 *
 * The engine decides, exactly as docs/RULES.md (the contract) says, when a
 * product's conversions are suspended.  It is pure: no I/O, no clock, no
 * threads, no globals.  Time comes in as an argument (fxb_time, ms) and must
 * never go backwards; events go out through the caller's sink, synchronously,
 * in the order they happen.  One engine is not thread-safe: the caller
 * serialises calls.
 *
 * Ownership: breaker_new copies everything it needs from the config; strings
 * in events and decisions point into the engine and live until
 * breaker_free.
 *
 * Timing: every call first fires each timer whose expiry is <= t, in expiry
 * order, each event stamped with its own expiry time (RULES.md section 5).
 * breaker_advance does only that, for a caller whose clock moved with no
 * record (the daemon).
 */
#ifndef BREAKER_H
#define BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker_config.h"
#include "fxb.h"

struct breaker;

enum breaker_event_type {
	BREAKER_EV_REF_SET = 1,
	BREAKER_EV_REF_UPDATE,
	BREAKER_EV_LIMIT_ENTER,
	BREAKER_EV_LIMIT_EXIT,
	BREAKER_EV_WARN,
	BREAKER_EV_TRIP,
	BREAKER_EV_RESUME,
	BREAKER_EV_RESET,
	BREAKER_EV_STALE,
	BREAKER_EV_FRESH,
	BREAKER_EV_THROTTLE_START,
	BREAKER_EV_THROTTLE_END,
	BREAKER_EV_FORCE_SUSPEND,
	BREAKER_EV_FORCE_LIFT,
	BREAKER_EV_SESSION,         /* a calendar's session changed (9) */
	BREAKER_EV_FORCE_SCHEDULED, /* a planned suspension, as requested */
	BREAKER_EV_FORCE_CANCEL,    /* a planned suspension cancelled */
};

/* Which figures of an event are set. */
#define BREAKER_FIG_PX     0x001u /* px: the price (tick px or quote mid) */
#define BREAKER_FIG_QUOTE  0x002u /* bid, ask */
#define BREAKER_FIG_REF    0x004u /* ref_num / ref_den */
#define BREAKER_FIG_BAND   0x008u /* lower, upper (display-rounded) */
#define BREAKER_FIG_WINDOW 0x010u /* wmin, wmax, limit (velocity) */
#define BREAKER_FIG_N      0x020u /* n, threshold (volume) */
#define BREAKER_FIG_SINCE  0x040u /* since: when the condition began */
#define BREAKER_FIG_BASE   0x080u /* base (deviation) */
#define BREAKER_FIG_COUNT  0x100u /* n: checks throttled (throttle_end) */
#define BREAKER_FIG_SPREAD 0x200u /* pct: the spread (display), limit_pct */
#define BREAKER_FIG_BUCKET 0x400u /* rate, burst (throttle_start) */

/* Why a forced suspension ended. */
enum breaker_lift {
	BREAKER_LIFT_OPERATOR = 0, /* force_lift by an operator */
	BREAKER_LIFT_SCHEDULE,     /* its `until` passed */
	BREAKER_LIFT_REPLACED,     /* a new force_suspend of the same scope */
};

struct breaker_event {
	fxb_time t;
	enum breaker_event_type type;
	const char *rule;       /* NULL for force_suspend / force_lift */
	enum breaker_kind kind; /* 0 for force_* */
	const char *scope;      /* pair name or product id */
	bool scope_is_pair;
	bool shadow;          /* the rule is in shadow mode */
	bool latched;         /* trip: waits for an operator (4.8) */
	enum breaker_lift by; /* force_lift: who or what ended it */
	int dir;              /* +1 up, -1 down, 0 no direction */
	int64_t suspension;   /* resume/reset/fresh/force_lift: the id
	                         of the suspension this ends */
	fxb_time until;       /* trip/stale/force_suspend: automatic end,
	                         or FXB_NEVER */
	unsigned figs;        /* BREAKER_FIG_* */
	int64_t px, bid, ask; /* prices, 10^-9 units */
	fxb_i128 ref_num;     /* reference = ref_num / ref_den */
	int64_t ref_den;
	int64_t lower, upper; /* band edges, rounded to 10^-9 */
	int64_t wmin, wmax, limit;
	int64_t n, threshold;
	int64_t base;
	int64_t pct;       /* spread: measured pct, 10^-4 % units */
	int64_t limit_pct; /* spread: the rule's max_spread_pct */
	int64_t rate, burst;
	/* volume: n and threshold are amounts in minor units of the base
	 * currency when notional (amount_exponent digits), else counts */
	bool notional;
	int amount_exponent;
	fxb_time since;
	const char *reason; /* force_suspend, force_scheduled: the reason */
	/* session: the calendar and the sessions ("off" when none) */
	const char *calendar, *from_session, *to_session;
	/* force_scheduled, force_cancel, and force_suspend that starts a
	 * plan: the plan's id (the force_scheduled event's), its start
	 * (`from`) and its end (`until`, FXB_NEVER: none) */
	int64_t plan;
	fxb_time from;
};

/*
 * breaker_sink_fn receives every event.  For an event that opens a
 * suspension (trip, stale, force_suspend) it returns the suspension id the
 * engine will quote on every deny (the daemon: the log sequence number of
 * the row; replay: the event's ordinal).  Other return values are ignored.
 */
typedef int64_t (*breaker_sink_fn)(void *arg, const struct breaker_event *ev);

enum breaker_verdict {
	BREAKER_VERDICT_ALLOW = 0,
	BREAKER_VERDICT_DENY = 1,
	BREAKER_VERDICT_THROTTLE = 2,
};

enum breaker_reason {
	BREAKER_REASON_NONE = 0,
	BREAKER_REASON_SUSPENDED,          /* a rule tripped */
	BREAKER_REASON_FORCED,             /* an operator's suspension */
	BREAKER_REASON_AWAITING_REFERENCE, /* band resumed, no tick yet */
	BREAKER_REASON_NO_RATE,            /* stale rule, no tick ever */
	BREAKER_REASON_STALE,              /* stale rule tripped */
	BREAKER_REASON_RATE_OUTSIDE_BAND,  /* quoted rate outside the band */
	BREAKER_REASON_THROTTLED,          /* flow control */
	BREAKER_REASON_CLOSED,             /* outside the opening hours (9) */
};

/* A planned suspension not yet started (RULES.md 9): the check result's
 * `upcoming`.  plan 0: none. */
struct breaker_plan {
	int64_t plan; /* its id: the force_scheduled event's */
	fxb_time from, until;
	bool on_pair;
	const char *reason; /* owned by the engine */
};

struct breaker_decision {
	enum breaker_verdict verdict;
	enum breaker_reason reason;
	const char *rule;       /* the rule that holds the product, or NULL */
	enum breaker_kind kind; /* its kind, 0 for forced */
	const char *notice;     /* the rule's notice id, or NULL */
	int64_t suspension;     /* suspension id, 0 if none */
	int64_t retry_after_ms; /* -1: absent (waits for an operator/tick) */
	/* The planned suspension that will cover the product first, if
	 * any: every decision on a covered product carries it, a deny too.
	 * upcoming.plan 0: none. */
	struct breaker_plan upcoming;
};

/*
 * breaker_new builds an engine from a validated config, with its clock at
 * `start`.  Errors: FXB_ERR_NOMEM, FXB_ERR_RANGE (start).  *out is
 * written only on success.
 */
enum fxb_err breaker_new(const struct breaker_config *cfg, fxb_time start,
                         breaker_sink_fn sink, void *sink_arg,
                         struct breaker **out);

/* breaker_free frees the engine; NULL is a no-op. */
void breaker_free(struct breaker *b);

/* breaker_now returns the engine's clock. */
fxb_time breaker_now(const struct breaker *b);

/* breaker_next_timer returns the earliest pending timer, or FXB_NEVER. */
fxb_time breaker_next_timer(const struct breaker *b);

/* breaker_advance fires timers up to t and sets the clock to t.
 * Errors: FXB_ERR_TIME_BACKWARDS, FXB_ERR_RANGE (t outside
 * [FXB_TIME_MIN, FXB_TIME_MAX]; every call taking a time says the same). */
enum fxb_err breaker_advance(struct breaker *b, fxb_time t);

/* Lookups by id: a hash, O(1).  Return the index or -1. */
int32_t breaker_product_find(const struct breaker *b, const char *id,
                             size_t len);
int32_t breaker_pair_find(const struct breaker *b, const char *name,
                          size_t len);
int32_t breaker_rule_find(const struct breaker *b, const char *id, size_t len);

/* breaker_product_exponent returns the minor-unit exponent of the product's
 * base currency: the amount of a check is parsed with it. */
int breaker_product_exponent(const struct breaker *b, int32_t product);

/* breaker_product_pair returns the index of the product's pair. */
int32_t breaker_product_pair(const struct breaker *b, int32_t product);

/* breaker_product_count / breaker_pair_count / breaker_rule_count. */
size_t breaker_product_count(const struct breaker *b);
size_t breaker_pair_count(const struct breaker *b);
size_t breaker_rule_count(const struct breaker *b);
const char *breaker_product_id(const struct breaker *b, int32_t product);
const char *breaker_pair_name(const struct breaker *b, int32_t pair);
const char *breaker_rule_id(const struct breaker *b, int32_t rule);

/*
 * breaker_check decides a conversion of `amount` (minor units of the base
 * currency, > 0) on `product` at time t; `rate` is the quoted rate in
 * 10^-9 units, or 0 when none is quoted.  Only an allowed check counts as
 * volume.  Errors: FXB_ERR_TIME_BACKWARDS, FXB_ERR_UNKNOWN_PRODUCT,
 * FXB_ERR_RANGE (amount <= 0, rate < 0, t), FXB_ERR_NOMEM (a volume window
 * could not grow); on error nothing changed except timers that fired up to
 * t.
 */
enum fxb_err breaker_check(struct breaker *b, fxb_time t, int32_t product,
                           int64_t amount, int64_t rate,
                           struct breaker_decision *out);

/*
 * breaker_prefetch says that product will be checked soon: it starts
 * bringing the product's state into the cache and returns at once.  It
 * changes nothing and decides nothing; an unknown product is ignored.  For
 * a caller holding a batch of checks: prefetch every product of the batch,
 * then check them in order, so that their cache misses overlap instead of
 * coming one after the other.
 */
void breaker_prefetch(const struct breaker *b, int32_t product);

/* breaker_tick feeds a traded or indicative price of a pair.  Errors:
 * FXB_ERR_UNKNOWN_PAIR, FXB_ERR_RANGE (px <= 0, t), FXB_ERR_TIME_BACKWARDS,
 * FXB_ERR_NOMEM (a window could not grow; nothing changed). */
enum fxb_err breaker_tick(struct breaker *b, fxb_time t, int32_t pair,
                          int64_t px);

/* breaker_quote feeds a bid and ask; the price for band, velocity and
 * deviation rules is the mid (bid + ask) / 2, which is exact in 10^-9 units
 * for inputs with 8 fractional digits.  Errors: FXB_ERR_CROSSED (bid >
 * ask). */
enum fxb_err breaker_quote(struct breaker *b, fxb_time t, int32_t pair,
                           int64_t bid, int64_t ask);

/*
 * breaker_force_suspend suspends a product (or, with on_pair, every product
 * of a pair) until `until` (FXB_NEVER: until lifted), with a reason copied
 * into the engine (at most BREAKER_REASON_MAX bytes kept).  Forcing an
 * already forced scope replaces its end and reason and opens a new
 * suspension.  Errors: FXB_ERR_RANGE (until <= t), FXB_ERR_UNKNOWN_*.
 */
#define BREAKER_REASON_MAX 255
enum fxb_err breaker_force_suspend(struct breaker *b, fxb_time t, bool on_pair,
                                   int32_t idx, fxb_time until,
                                   const char *reason);

/*
 * breaker_force_plan plans an operator's suspension of a product (or a
 * pair) from `from` (> t) until `until` (> from, or FXB_NEVER): event
 * force_scheduled now; at `from`, by timer, force_suspend exactly as
 * breaker_force_suspend would (replacing a force in place).  Until then
 * checks of the products it covers carry it as `upcoming`.  One plan per
 * scope.  Errors: FXB_ERR_RANGE (from <= t, until <= from, t),
 * FXB_ERR_ALREADY_PLANNED, FXB_ERR_UNKNOWN_*, FXB_ERR_NOMEM,
 * FXB_ERR_TIME_BACKWARDS.
 */
enum fxb_err breaker_force_plan(struct breaker *b, fxb_time t, bool on_pair,
                                int32_t idx, fxb_time from, fxb_time until,
                                const char *reason);

/* breaker_force_cancel cancels a scope's plan before it starts (event
 * force_cancel).  Errors: FXB_ERR_NOT_PLANNED, FXB_ERR_UNKNOWN_*,
 * FXB_ERR_RANGE (t), FXB_ERR_TIME_BACKWARDS. */
enum fxb_err breaker_force_cancel(struct breaker *b, fxb_time t, bool on_pair,
                                  int32_t idx);

/* breaker_plan_status: the scope's plan, if any, into out. */
bool breaker_plan_status(const struct breaker *b, bool on_pair, int32_t idx,
                         struct breaker_plan *out);

/* breaker_force_lift lifts an operator's suspension.  Errors:
 * FXB_ERR_NOT_FORCED, FXB_ERR_UNKNOWN_PAIR / _PRODUCT, FXB_ERR_RANGE (t),
 * FXB_ERR_TIME_BACKWARDS. */
enum fxb_err breaker_force_lift(struct breaker *b, fxb_time t, bool on_pair,
                                int32_t idx);

/*
 * breaker_reset ends a tripped rule's suspension by an operator's hand
 * (event `reset`), whether it is latched, waits for an operator, or would
 * resume on its own later.  It also clears the rule's auto-resume history.
 * Errors: FXB_ERR_NOT_TRIPPED, FXB_ERR_NOT_RESETTABLE (stale rules end on a
 * tick).
 */
enum fxb_err breaker_reset(struct breaker *b, fxb_time t, int32_t rule);

/* ---- status, restore and reload (the daemon) ---- */

/* A rule's state (docs/PROTOCOL.md, admin `status`).  Not every kind uses
 * every state.  The engine keeps these numbers in its rules: the states
 * that hold products come last (breaker_impl.h, RS_HOLDS). */
enum breaker_rule_state {
	BREAKER_RULE_NORMAL = 0,   /* watching */
	BREAKER_RULE_NO_REFERENCE, /* band: no tick yet, no band in force */
	BREAKER_RULE_LIMIT,        /* band: limit state, trip timer armed */
	BREAKER_RULE_TRIPPED,      /* suspended (denies when enforcing) */
	BREAKER_RULE_AWAITING_REFERENCE, /* band: resumed, waiting for a
	                                    reference tick */
	BREAKER_RULE_NO_RATE,            /* stale: no tick ever */
	BREAKER_RULE_STALE,              /* stale: tripped by age */
};

/* breaker_rule_state_name returns the state's name on the wire and in the
 * log: "normal", "no_reference", "limit", "tripped",
 * "awaiting_reference", "no_rate" or "stale". */
const char *breaker_rule_state_name(enum breaker_rule_state state);

/* A rule's state as ops see it (docs/PROTOCOL.md, admin `status`). */
struct breaker_rule_status {
	enum breaker_rule_state state;
	fxb_time since;     /* when that state began */
	fxb_time until;     /* tripped: automatic end, or FXB_NEVER */
	int64_t suspension; /* the open (or last) suspension, 0 if none */
	bool latched;
	int dir;
};

/* breaker_rule_status describes rule (a valid index). */
void breaker_rule_status(const struct breaker *b, int32_t rule,
                         struct breaker_rule_status *out);

/* A pair rule's levels now, for a chart (the board): the rates a tick
 * may reach before the rule acts.  A band's edges while a band is in
 * force (normal or limit), rounded as its events show them; a velocity
 * rule's range for the next tick, [max - V, min + V] over the ticks of
 * its window now (none after a trip, or with no tick in the window).
 * 10^-9 units. */
struct breaker_rule_levels {
	bool band;
	int64_t lower, upper;
	bool velocity;
	int64_t vlower, vupper;
};

/* breaker_rule_levels fills out for rule (a valid index); false when it
 * has no level to show now (another kind, or none in force). */
bool breaker_rule_levels(const struct breaker *b, int32_t rule,
                         struct breaker_rule_levels *out);

/* breaker_product_status says what holds product now, as a check would
 * (a deny, or an allow), without counting or consuming anything; *since
 * gets when the holding suspension began.  No timers fire. */
void breaker_product_status(const struct breaker *b, int32_t product,
                            struct breaker_decision *out, fxb_time *since);

/* A suspension that holds products, as a check would quote it. */
struct breaker_hold {
	enum breaker_reason reason; /* suspended, forced, awaiting_reference,
	                               no_rate or stale */
	int32_t rule;               /* its index; -1: an operator's */
	bool on_pair;               /* an operator's: the pair's, not the
	                               product's own */
	int64_t suspension;         /* 0: none (no_rate) */
	fxb_time since;
	fxb_time until; /* its automatic end, or FXB_NEVER */
};

/* breaker_product_holds: every suspension that holds product now (a
 * check quotes the one that ends last: breaker_product_status), in the
 * order a check meets them: the product's force, its pair's, its pair's
 * rules, its own rules, each in config order.  The first cap go into
 * out; returns how many there are (0 for an invalid index).  No timers
 * fire. */
size_t breaker_product_holds(const struct breaker *b, int32_t product,
                             struct breaker_hold *out, size_t cap);

/* breaker_rule_hold: whether enforcing rule `rule` is in a suspension that
 * holds products now (a tripped rule holds only the side its scope names,
 * and an exempt product not at all: breaker_product_holds says which),
 * and if so that suspension into out.  false for a shadow rule or an
 * invalid index. */
bool breaker_rule_hold(const struct breaker *b, int32_t rule,
                       struct breaker_hold *out);

/* breaker_force_status says whether a pair (on_pair) or product is under
 * an operator's suspension, and if so its id, start and end. */
bool breaker_force_status(const struct breaker *b, bool on_pair, int32_t idx,
                          int64_t *suspension, fxb_time *since,
                          fxb_time *until);
/* breaker_pair_band: the band in force on pair (its enforcing band rules
 * with a reference: normal or limit), its edges in 10^-9 units as the
 * rules' events show them; with several, the tightest edges.  false if
 * none is in force (no reference yet, tripped, awaiting one). */
bool breaker_pair_band(const struct breaker *b, int32_t pair, int64_t *lower,
                       int64_t *upper);
/* breaker_force_reason: that suspension's reason as forced (owned by the
 * engine, valid until the next call that changes it), or NULL if none. */
const char *breaker_force_reason(const struct breaker *b, bool on_pair,
                                 int32_t idx);

/*
 * Restoring after a restart, from the log's open suspensions: no event is
 * emitted.  breaker_restore_trip puts rule back in its suspension (a stale
 * rule in `stale`) with its id, start, automatic end (FXB_NEVER: none) and
 * direction; an end already past fires, stamped with its own time, at the
 * next call that moves the clock.  breaker_restore_resume adds an automatic
 * resume at t to the rule's 4.8 history.  breaker_restore_force restores
 * an operator's suspension.  Errors: FXB_ERR_UNKNOWN_RULE / _PAIR /
 * _PRODUCT, FXB_ERR_NOMEM.
 */
enum fxb_err breaker_restore_trip(struct breaker *b, int32_t rule,
                                  fxb_time since, fxb_time until,
                                  int64_t suspension, int dir, bool latched);
enum fxb_err breaker_restore_resume(struct breaker *b, int32_t rule,
                                    fxb_time t);
enum fxb_err breaker_restore_force(struct breaker *b, bool on_pair,
                                   int32_t idx, fxb_time since, fxb_time until,
                                   int64_t suspension, const char *reason);

/* breaker_restore_plan restores a plan (its id, start, end and reason).
 * A start already past is due at once: it fires at the next call that
 * moves the clock, stamped with the engine's clock as restored (never
 * back).  Errors: FXB_ERR_RANGE (its end is past too: nothing to
 * restore), FXB_ERR_ALREADY_PLANNED, FXB_ERR_UNKNOWN_*, FXB_ERR_NOMEM. */
enum fxb_err breaker_restore_plan(struct breaker *b, bool on_pair, int32_t idx,
                                  fxb_time from, fxb_time until, int64_t plan,
                                  const char *reason);

/* ---- calendars (RULES.md 9) ---- */

size_t breaker_calendar_count(const struct breaker *b);
/* Calendar i's config (a valid index): its id, sessions, offset. */
const struct breaker_calendar_conf *
breaker_calendar_conf(const struct breaker *b, size_t i);
/* Calendar i's session now (BREAKER_SESSION_OFF: off) and the instant of
 * its next change, with the session then (FXB_NEVER: none). */
int breaker_calendar_state(const struct breaker *b, size_t i, fxb_time *next,
                           int *next_session);

/*
 * breaker_transfer moves the running state of `from` into `to`, a new
 * engine built from a reloaded config, and sets to's clock to from's.  A
 * rule with the same id and the same parameters keeps everything: its
 * windows, reference, timers, suspension and history.  A rule whose
 * parameters changed keeps its open suspension (until an operator or its
 * timer ends it) but starts its windows afresh.  Forced scopes that still
 * exist stay forced, and planned suspensions stay planned.  Each
 * suspension of a rule or scope that no longer exists is reported to
 * `orphan` (the daemon logs its end), and each plan of a scope that no
 * longer exists to `plan_orphan` (if not NULL: the daemon logs that it
 * lapsed).  `from` is left empty of state and must then be freed.
 */
typedef void (*breaker_orphan_fn)(void *arg, const char *rule,
                                  const char *scope, bool on_pair,
                                  int64_t suspension);
typedef void (*breaker_plan_orphan_fn)(void *arg, const char *scope,
                                       const struct breaker_plan *plan);
void breaker_transfer(struct breaker *from, struct breaker *to,
                      breaker_orphan_fn orphan,
                      breaker_plan_orphan_fn plan_orphan, void *arg);

/*
 * breaker_adopt_feed moves what the rate feed taught `from`, a cluster
 * follower's engine that saw every tick, into `to`, the engine a promoted
 * leader builds from its config and restores from the log.  Suspensions
 * stay as the log says: no rule's trip, stale suspension, id, end,
 * latch or 4.8 history moves, and a band, velocity or deviation rule
 * tripped on either side (or a band awaiting a reference) takes no
 * window or clock: a trip clears them and ignores ticks.  Rules are
 * matched by id; only a pair rule with the same scope, kind, mode and
 * parameters (levels aside) moves, and only:
 *
 *   band       reference, window and last price, with its state (normal
 *              or limit) and a limit's timer
 *   velocity   the window's deques and pending group (V is to's own)
 *   deviation  last price, the side of base it is on, and a running
 *              hold clock with its timer (toward a trip: restarting it
 *              would let the price stay out up to a hold longer)
 *   stale      the last tick's price and time; a rule with no tick yet
 *              (no_rate) becomes normal, its timer at last tick +
 *              max_age, fired at that instant even if it has passed
 *   spread     the last quote, not the hold clock (it runs only in a
 *              trip, toward a resume: a restored suspension ends on the
 *              leader's evidence, restarting with the next narrow quote)
 *
 * Volume and throttle rules, fed by checks a follower never sees, and
 * operators' suspensions are left alone.  Rules match on to's states
 * as restored; then, if from's clock is ahead, `to` is advanced to it,
 * so time never goes back: its timers due by then, restored ends and
 * moved ones alike, fire through its sink in expiry order, each at its
 * instant.  Call it before `to` sees a record, so that none fires out of
 * order.  O(rules), no allocation (windows change hands).
 * `from` stays a valid engine, its windows emptied, and is then freed.
 */
void breaker_adopt_feed(struct breaker *from, struct breaker *to);

/* Names as they appear on the wire and in the log. */
const char *breaker_event_name(enum breaker_event_type type);
const char *breaker_reason_name(enum breaker_reason reason);
const char *breaker_verdict_name(enum breaker_verdict verdict);

#endif /* BREAKER_H */
