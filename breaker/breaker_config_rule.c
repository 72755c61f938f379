/*
 * breaker_config_rule.c: a [rule] section (RULES.md sections 4 and 8)
 * checked into struct breaker_rule_conf: what every rule names (its kind,
 * its scope, mode, suspends, notice), then what its kind takes, by the
 * table kinds[].  The builder that calls it is breaker_config.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_config.h"
#include "breaker_config_impl.h"
#include "breaker_decimal.h"
#include "breaker_impl.h"

#define VOLUME_WINDOW_MAX_MS 3600000LL /* 1 h: bounds the ring */
#define MAX_AUTO_RESUMES_MAX 1000

static const char *const kind_names[] = {
    "forced",    "volume", "band",   "velocity",
    "deviation", "stale",  "spread", "throttle",
};

const char *
breaker_kind_name(enum breaker_kind kind)
{
	if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

/* A required key read as a duration, a percentage, a price, a whole
 * number; false (reported) when it is missing or bad. */
static bool
need_duration(struct breaker_config_builder *b, struct conf_sect *s,
              const char *key, bool positive, fxb_time *out)
{
	struct conf_kv *kv = breaker_conf_need(b, s, key);
	return kv != NULL && breaker_conf_duration(b, s, kv, positive, out);
}

static bool
need_pct(struct breaker_config_builder *b, struct conf_sect *s,
         const char *key, int64_t *out)
{
	struct conf_kv *kv = breaker_conf_need(b, s, key);
	return kv != NULL && breaker_conf_pct(b, s, kv, out);
}

static bool
need_price(struct breaker_config_builder *b, struct conf_sect *s,
           const char *key, int64_t *out)
{
	struct conf_kv *kv = breaker_conf_need(b, s, key);
	return kv != NULL && breaker_conf_price(b, s, kv, out);
}

static bool
need_int(struct breaker_config_builder *b, struct conf_sect *s,
         const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct conf_kv *kv = breaker_conf_need(b, s, key);
	return kv != NULL && breaker_conf_int(b, s, kv, min, max, out);
}

static bool
rule_amount(struct breaker_config_builder *b, struct conf_sect *s,
            struct conf_kv *kv, bool notional, int exponent, int64_t *out)
{
	if (!notional)
		return breaker_conf_int(b, s, kv, 1, INT64_MAX, out);
	return breaker_conf_decimal_err(
	    b, s, kv,
	    breaker_amount_parse(kv->val, strlen(kv->val), exponent, out),
	    "amount", "in the base currency, with its minor-unit digits");
}

/* The parameters of a volume rule (4.1).  Thresholds are counts, or
 * amounts in the base currency (exponent digits) for a notional measure. */
static bool
build_volume(struct breaker_config_builder *b, struct conf_sect *s,
             struct breaker_rule_conf *rc, const struct breaker_pair_conf *pc)
{
	int exponent = pc->base_exponent;
	struct conf_kv *kv;
	int w;

	if ((kv = breaker_conf_get(s, "measure")) != NULL) {
		static const char *const m[] = {"count", "notional"};
		if (!breaker_conf_word(b, s, kv, m, 2, "count, notional", &w))
			return false;
		rc->measure = (enum breaker_measure)w;
	}
	bool notional = rc->measure == BREAKER_MEASURE_NOTIONAL;
	if ((kv = breaker_conf_need(b, s, "window")) == NULL ||
	    !breaker_conf_duration(b, s, kv, true, &rc->window))
		return false;
	if (rc->window > VOLUME_WINDOW_MAX_MS) {
		breaker_conf_fail_kv(b, s, kv,
		                     "a volume window is at most 1h");
		return false;
	}
	if ((kv = breaker_conf_need(b, s, "trip")) == NULL ||
	    !rule_amount(b, s, kv, notional, exponent, &rc->trip))
		return false;
	if ((kv = breaker_conf_get(s, "warn")) != NULL) {
		if (!rule_amount(b, s, kv, notional, exponent, &rc->warn))
			return false;
		if (rc->warn >= rc->trip) {
			breaker_conf_fail_kv(b, s, kv,
			                     "warn must be below trip");
			return false;
		}
	}
	return true;
}

/* The parameters of a velocity rule (4.3), and V computed once here. */
static bool
build_velocity(struct breaker_config_builder *b, struct conf_sect *s,
               struct breaker_rule_conf *rc,
               const struct breaker_pair_conf *pc)
{
	int64_t tick = pc->tick;
	struct conf_kv *kv;
	struct conf_kv *kb = breaker_conf_get(s, "base"),
	               *kp = breaker_conf_get(s, "pct");
	struct conf_kv *km = breaker_conf_get(s, "max_move");

	if ((kv = breaker_conf_need(b, s, "window")) == NULL ||
	    !breaker_conf_duration(b, s, kv, true, &rc->window))
		return false;
	if (km != NULL && (kb != NULL || kp != NULL)) {
		breaker_conf_fail_kv(
		    b, s, km,
		    "give either max_move or base and pct, not both");
		return false;
	}
	if (km != NULL) {
		if (!breaker_conf_price(b, s, km, &rc->max_move))
			return false;
		rc->velocity = rc->max_move;
		return true;
	}
	if (kb == NULL || kp == NULL) {
		breaker_conf_fail(
		    b, s->line,
		    "[rule %s]: a velocity rule needs base and pct, or "
		    "max_move",
		    s->name);
		return false;
	}
	if (!breaker_conf_price(b, s, kb, &rc->base) ||
	    !breaker_conf_pct(b, s, kp, &rc->pct))
		return false;
	/* V = base x pct / 100, down to a whole tick.  A V of zero would
	 * trip on every move: refuse it here. */
	rc->velocity =
	    (int64_t)((fxb_i128)rc->base * rc->pct / BREAKER_PCT_100);
	if (tick > 0)
		rc->velocity -= rc->velocity % tick;
	if (rc->velocity == 0) {
		breaker_conf_fail_kv(
		    b, s, kp,
		    "base x pct / 100 rounds down to less than one tick: "
		    "every move would trip");
		return false;
	}
	return true;
}

/* The parameters of a band rule (4.2). */
static bool
build_band(struct breaker_config_builder *b, struct conf_sect *s,
           struct breaker_rule_conf *rc, const struct breaker_pair_conf *pc)
{
	(void)pc;
	if (!need_duration(b, s, "window", true, &rc->window) ||
	    !need_pct(b, s, "band_pct", &rc->band_pct) ||
	    !need_pct(b, s, "ref_move_pct", &rc->ref_move_pct) ||
	    !need_duration(b, s, "ref_min_life", false, &rc->ref_min_life) ||
	    !need_duration(b, s, "limit_for", false, &rc->limit_for))
		return false;
	if (rc->band_pct >= BREAKER_PCT_100) {
		breaker_conf_fail_kv(b, s, breaker_conf_get(s, "band_pct"),
		                     "must be below 100");
		return false;
	}
	return true;
}

/* The parameters of a deviation rule (4.4). */
static bool
build_deviation(struct breaker_config_builder *b, struct conf_sect *s,
                struct breaker_rule_conf *rc,
                const struct breaker_pair_conf *pc)
{
	(void)pc;
	return need_price(b, s, "base", &rc->base) &&
	       need_pct(b, s, "pct", &rc->pct) &&
	       need_duration(b, s, "hold", false, &rc->hold);
}

/* The parameters of a stale rule (4.5). */
static bool
build_stale(struct breaker_config_builder *b, struct conf_sect *s,
            struct breaker_rule_conf *rc, const struct breaker_pair_conf *pc)
{
	(void)pc;
	return need_duration(b, s, "max_age", true, &rc->max_age);
}

/* The parameters of a spread rule (4.6). */
static bool
build_spread(struct breaker_config_builder *b, struct conf_sect *s,
             struct breaker_rule_conf *rc, const struct breaker_pair_conf *pc)
{
	(void)pc;
	return need_pct(b, s, "max_spread_pct", &rc->max_spread_pct) &&
	       need_duration(b, s, "hold", false, &rc->hold);
}

/* The parameters of a throttle rule (4.7). */
static bool
build_throttle(struct breaker_config_builder *b, struct conf_sect *s,
               struct breaker_rule_conf *rc,
               const struct breaker_pair_conf *pc)
{
	(void)pc;
	return need_int(b, s, "rate", 1, 1000000, &rc->rate) &&
	       need_int(b, s, "burst", 1, 1000000, &rc->burst);
}

/*
 * What each kind takes, a row each: whether it watches a pair's ticks (on
 * pair) or a product's checks, whether it trips and resumes (suspend_for
 * and max_auto_resumes, 4.8), the builder of its own parameters, which
 * reads them with the pair's units at hand, and their keys.  A key that is
 * neither one of these nor one every rule may name is refused.
 */
typedef bool build_fn(struct breaker_config_builder *b, struct conf_sect *s,
                      struct breaker_rule_conf *rc,
                      const struct breaker_pair_conf *pc);

static const struct kind_spec {
	bool on_pair;
	bool trips;
	const char *keys[6];
	build_fn *build;
} kinds[] = {
#define KIND(on_pair, trips, build, ...)                                      \
	{                                                                     \
		on_pair, trips, {__VA_ARGS__}, build                          \
	}
    [BREAKER_VOLUME] =
        KIND(false, true, build_volume, "window", "warn", "trip", "measure"),
    [BREAKER_BAND] = KIND(true, true, build_band, "window", "band_pct",
                          "ref_move_pct", "ref_min_life", "limit_for"),
    [BREAKER_VELOCITY] =
        KIND(true, true, build_velocity, "window", "base", "pct", "max_move"),
    [BREAKER_DEVIATION] =
        KIND(true, true, build_deviation, "base", "pct", "hold"),
    [BREAKER_STALE] = KIND(true, false, build_stale, "max_age"),
    [BREAKER_SPREAD] =
        KIND(true, false, build_spread, "max_spread_pct", "hold"),
    [BREAKER_THROTTLE] = KIND(false, false, build_throttle, "rate", "burst"),
#undef KIND
};

/* The keys every rule may name, and those every rule that trips may. */
static const char *const common_keys[] = {"kind", "pair",     "product",
                                          "mode", "suspends", "notice"};
static const char *const trip_keys[] = {"suspend_for", "max_auto_resumes"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Is key among the first n of list (which may end sooner, at a NULL)? */
static bool
listed(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n && list[i] != NULL; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* The rule's scope: exactly one of pair or product, the one its kind
 * watches, naming a section that exists. */
static bool
rule_scope(struct breaker_config_builder *b, struct conf_sect *s,
           struct breaker_rule_conf *rc)
{
	struct conf_kv *kpair = breaker_conf_get(s, "pair"),
	               *kprod = breaker_conf_get(s, "product");
	bool wants_pair = kinds[rc->kind].on_pair;
	if ((kpair == NULL) == (kprod == NULL)) {
		breaker_conf_fail(b, s->line,
		                  "[rule %s]: name exactly one of pair or "
		                  "product",
		                  s->name);
		return false;
	}
	if (wants_pair && kpair == NULL) {
		breaker_conf_fail_kv(
		    b, s, kprod,
		    "a rule of this kind watches a pair's ticks: use "
		    "pair =");
		return false;
	}
	if (!wants_pair && kprod == NULL) {
		breaker_conf_fail_kv(
		    b, s, kpair,
		    "a rule of this kind watches a product's checks: use "
		    "product =");
		return false;
	}
	rc->on_pair = wants_pair;
	if (wants_pair) {
		rc->owner =
		    breaker_conf_find(b, BREAKER_SECTION_PAIR, kpair->val);
		if (rc->owner < 0) {
			breaker_conf_fail_kv(b, s, kpair, "no such [pair]");
			return false;
		}
	} else {
		rc->owner =
		    breaker_conf_find(b, BREAKER_SECTION_PRODUCT, kprod->val);
		if (rc->owner < 0) {
			breaker_conf_fail_kv(b, s, kprod, "no such [product]");
			return false;
		}
	}
	return true;
}

/* What any rule may name besides its scope: mode, suspends (a pair rule
 * only), notice. */
static bool
rule_options(struct breaker_config_builder *b, struct conf_sect *s,
             struct breaker_rule_conf *rc)
{
	struct conf_kv *kv;
	int w;

	if ((kv = breaker_conf_get(s, "mode")) != NULL) {
		static const char *const modes[] = {"enforce", "shadow"};
		if (!breaker_conf_word(b, s, kv, modes, 2, "enforce, shadow",
		                       &w))
			return false;
		rc->shadow = w == 1;
	}
	if ((kv = breaker_conf_get(s, "suspends")) != NULL) {
		static const char *const sus[] = {"both", "buy", "sell",
		                                  "with-move"};
		if (!rc->on_pair) {
			breaker_conf_fail_kv(
			    b, s, kv, "only a pair rule suspends a scope");
			return false;
		}
		if (!breaker_conf_word(b, s, kv, sus, 4,
		                       "both, buy, sell, with-move", &w))
			return false;
		rc->suspends = (enum breaker_suspends)w;
	}
	if ((kv = breaker_conf_get(s, "notice")) != NULL) {
		rc->notice =
		    breaker_conf_find(b, BREAKER_SECTION_NOTICE, kv->val);
		if (rc->notice < 0) {
			breaker_conf_fail_kv(b, s, kv, "no such [notice]");
			return false;
		}
	}
	return true;
}

/* Refuses the first key, in file order, that the rule's kind does not
 * take. */
static bool
rule_keys(struct breaker_config_builder *b, struct conf_sect *s,
          const struct breaker_rule_conf *rc)
{
	const struct kind_spec *k = &kinds[rc->kind];
	for (size_t i = 0; i < s->nkv; i++) {
		const char *key = s->kv[i].key;
		if (listed(common_keys, NELEM(common_keys), key) ||
		    (k->trips && listed(trip_keys, NELEM(trip_keys), key)) ||
		    listed(k->keys, NELEM(k->keys), key) ||
		    strcmp(key, "calendar") == 0 || strchr(key, '@') != NULL)
			continue;
		breaker_conf_fail_kv(b, s, &s->kv[i],
		                     "unknown key for a %s rule",
		                     kind_names[rc->kind]);
		return false;
	}
	return true;
}

/* How a rule that trips resumes (4.8). */
static bool
rule_trips(struct breaker_config_builder *b, struct conf_sect *s,
           struct breaker_rule_conf *rc)
{
	struct conf_kv *kv;
	int64_t v;

	if (!need_duration(b, s, "suspend_for", false, &rc->suspend_for))
		return false;
	if ((kv = breaker_conf_get(s, "max_auto_resumes")) == NULL)
		return true;
	if (!breaker_conf_int(b, s, kv, 0, MAX_AUTO_RESUMES_MAX, &v))
		return false;
	rc->max_auto_resumes = (int32_t)v;
	return true;
}

/* The keys that take a session suffix (RULES.md 9), by kind. */
static bool
suffixable(enum breaker_kind kind, const char *key, size_t n)
{
	static const char *const volume[] = {"trip", "warn"},
	                         *const velocity[] = {"pct", "max_move"};
	const char *const *list = kind == BREAKER_VOLUME     ? volume
	                          : kind == BREAKER_VELOCITY ? velocity
	                                                     : NULL;
	for (size_t i = 0; list != NULL && i < 2; i++)
		if (strlen(list[i]) == n && strncmp(list[i], key, n) == 0)
			return true;
	return false;
}

/* V from a session's pct (base x pct / 100, down to a tick), as for the
 * plain key; false (reported) when it rounds to nothing. */
static bool
session_velocity(struct breaker_config_builder *b, struct conf_sect *s,
                 struct conf_kv *kv, const struct breaker_rule_conf *rc,
                 const struct breaker_pair_conf *pc, struct breaker_level *lv)
{
	lv->velocity =
	    (int64_t)((fxb_i128)rc->base * lv->pct / BREAKER_PCT_100);
	if (pc->tick > 0)
		lv->velocity -= lv->velocity % pc->tick;
	if (lv->velocity > 0)
		return true;
	breaker_conf_fail_kv(b, s, kv,
	                     "base x pct / 100 rounds down to less than one "
	                     "tick: every move would trip");
	return false;
}

/* One suffixed key, KEY@SESSION, into levels[session + 1]. */
static bool
session_level(struct breaker_config_builder *b, struct conf_sect *s,
              struct conf_kv *kv, struct breaker_rule_conf *rc,
              const struct breaker_pair_conf *pc, uint8_t *given)
{
	const char *at = strchr(kv->key, '@');
	size_t n = (size_t)(at - kv->key);
	int k;

	breaker_conf_use(kv);
	if (!suffixable(rc->kind, kv->key, n)) {
		breaker_conf_fail_kv(b, s, kv,
		                     "only trip and warn (volume) and pct and "
		                     "max_move (velocity) take a session "
		                     "suffix");
		return false;
	}
	if (rc->calendar < 0) {
		breaker_conf_fail_kv(b, s, kv,
		                     "a level by session needs calendar = ID "
		                     "in this rule");
		return false;
	}
	if (!breaker_conf_session(b, s, kv, rc->calendar, at + 1,
	                          strlen(at + 1), &k))
		return false;
	struct breaker_level *lv = &rc->levels[k + 1];
	uint8_t bit = (uint8_t)(1u << (kv->key[0] == 'w'   ? 0
	                               : kv->key[0] == 't' ? 1
	                               : kv->key[0] == 'p' ? 2
	                                                   : 3));
	given[k + 1] |= bit;
	switch (bit) {
	case 1:
		return rule_amount(b, s, kv,
		                   rc->measure == BREAKER_MEASURE_NOTIONAL,
		                   pc->base_exponent, &lv->warn);
	case 2:
		return rule_amount(b, s, kv,
		                   rc->measure == BREAKER_MEASURE_NOTIONAL,
		                   pc->base_exponent, &lv->trip);
	case 4:
		if (rc->base == 0) {
			breaker_conf_fail_kv(b, s, kv,
			                     "pct by session needs the rule's "
			                     "base (it has max_move)");
			return false;
		}
		if (!breaker_conf_pct(b, s, kv, &lv->pct))
			return false;
		lv->max_move = 0;
		return session_velocity(b, s, kv, rc, pc, lv);
	default:
		if (!breaker_conf_price(b, s, kv, &lv->max_move))
			return false;
		lv->pct = 0;
		lv->velocity = lv->max_move;
		return true;
	}
}

/*
 * Levels by session (RULES.md 9): calendar = ID, then trip@S, warn@S
 * (volume), pct@S, max_move@S (velocity).  Each session's levels start as
 * the plain keys' and take its suffixed keys; off (levels[0]) too.
 */
static bool
rule_levels(struct breaker_config_builder *b, struct conf_sect *s,
            struct breaker_rule_conf *rc, const struct breaker_pair_conf *pc)
{
	struct conf_kv *kv = breaker_conf_get(s, "calendar");
	uint8_t given[BREAKER_CAL_SESSIONS_MAX + 1] = {0};
	size_t n = 0;

	if (kv != NULL) {
		if (rc->kind != BREAKER_VOLUME &&
		    rc->kind != BREAKER_VELOCITY) {
			breaker_conf_fail_kv(b, s, kv,
			                     "only volume and velocity rules "
			                     "have levels by session");
			return false;
		}
		rc->calendar =
		    breaker_conf_find(b, BREAKER_SECTION_CALENDAR, kv->val);
		if (rc->calendar < 0) {
			breaker_conf_fail_kv(b, s, kv, "no such [calendar]");
			return false;
		}
		n = b->cfg->calendars[rc->calendar].nsessions + 1;
		if ((rc->levels = calloc(n, sizeof(*rc->levels))) == NULL) {
			b->nomem = b->failed = true;
			return false;
		}
		for (size_t i = 0; i < n; i++)
			rc->levels[i] =
			    (struct breaker_level){rc->warn, rc->trip, rc->pct,
			                           rc->max_move, rc->velocity};
	}
	for (size_t i = 0; i < s->nkv; i++)
		if (strchr(s->kv[i].key, '@') != NULL &&
		    !session_level(b, s, &s->kv[i], rc, pc, given))
			return false;
	if (kv == NULL)
		return true;
	const struct breaker_calendar_conf *cc =
	    &b->cfg->calendars[rc->calendar];
	for (size_t i = 0; i < n; i++) {
		const struct breaker_level *lv = &rc->levels[i];
		const char *name =
		    breaker_calendar_session_name(cc, (int)i - 1);
		if ((given[i] & 12) == 12) {
			breaker_conf_fail(b, rc->line,
			                  "[rule %s]: give either pct@%s or "
			                  "max_move@%s, not both",
			                  rc->id, name, name);
			return false;
		}
		if (rc->kind == BREAKER_VOLUME && lv->warn != 0 &&
		    lv->warn >= lv->trip) {
			breaker_conf_fail(
			    b, rc->line,
			    "[rule %s]: in session %s warn (%lld) "
			    "must be below trip (%lld)",
			    rc->id, name, (long long)lv->warn,
			    (long long)lv->trip);
			return false;
		}
	}
	return true;
}

bool
breaker_conf_rule(struct breaker_config_builder *b, struct conf_sect *s,
                  struct breaker_rule_conf *rc)
{
	const struct breaker_config *cfg = b->cfg;
	struct conf_kv *kv;
	int w;

	breaker_conf_copy_id(rc->id, s->name);
	rc->line = s->line;
	rc->notice = -1;
	rc->max_auto_resumes = -1;
	if (!breaker_conf_check_id(b, s))
		return false;
	if ((kv = breaker_conf_need(b, s, "kind")) == NULL ||
	    !breaker_conf_word(
	        b, s, kv, kind_names + 1, 7,
	        "volume, band, velocity, deviation, stale, spread, "
	        "throttle",
	        &w))
		return false;
	rc->kind = (enum breaker_kind)(w + 1);
	if (!rule_scope(b, s, rc) || !rule_options(b, s, rc) ||
	    !rule_keys(b, s, rc))
		return false;
	const struct kind_spec *k = &kinds[rc->kind];
	if (k->trips && !rule_trips(b, s, rc))
		return false;
	int32_t pair = rc->on_pair ? rc->owner : cfg->products[rc->owner].pair;
	rc->calendar = -1;
	return k->build(b, s, rc, &cfg->pairs[pair]) &&
	       rule_levels(b, s, rc, &cfg->pairs[pair]);
}
