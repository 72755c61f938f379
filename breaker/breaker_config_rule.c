/*
 * breaker_config_rule.c: a [rule] section (RULES.md sections 4 and 8)
 * checked into struct breaker_rule_conf, and the trip levels an operator
 * may change at run time.  The builder that calls it is breaker_config.c.
 */
#include <stddef.h>
#include <string.h>

#include "breaker_config.h"
#include "breaker_config_impl.h"
#include "breaker_decimal.h"
#include "breaker_impl.h"

#define VOLUME_WINDOW_MAX_MS 3600000LL /* 1 h: bounds the ring */
#define MAX_AUTO_RESUMES_MAX 1000

/* The keys each kind takes besides kind, pair/product, mode, suspends,
 * notice.  Must match the switch in breaker_conf_rule. */
static const char *const kind_keys[][8] = {
    [BREAKER_VOLUME] = {"window", "warn", "trip", "measure", "suspend_for",
                        "max_auto_resumes", NULL},
    [BREAKER_BAND] = {"window", "band_pct", "ref_move_pct", "ref_min_life",
                      "limit_for", "suspend_for", "max_auto_resumes", NULL},
    [BREAKER_VELOCITY] = {"window", "base", "pct", "max_move", "suspend_for",
                          "max_auto_resumes", NULL},
    [BREAKER_DEVIATION] = {"base", "pct", "hold", "suspend_for",
                           "max_auto_resumes", NULL},
    [BREAKER_STALE] = {"max_age", NULL},
    [BREAKER_SPREAD] = {"max_spread_pct", "hold", NULL},
    [BREAKER_THROTTLE] = {"rate", "burst", NULL},
};

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
             struct breaker_rule_conf *rc, int exponent)
{
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
               struct breaker_rule_conf *rc, int64_t tick)
{
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

bool
breaker_conf_rule(struct breaker_config_builder *b, struct conf_sect *s,
                  struct breaker_rule_conf *rc)
{
	struct breaker_config *cfg = b->cfg;
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

	struct conf_kv *kpair = breaker_conf_get(s, "pair"),
	               *kprod = breaker_conf_get(s, "product");
	bool wants_pair =
	    rc->kind != BREAKER_VOLUME && rc->kind != BREAKER_THROTTLE;
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
		if (!wants_pair) {
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

	/* Keys that do not belong to this kind. */
	for (size_t i = 0; i < s->nkv; i++) {
		const char *k = s->kv[i].key;
		bool ok =
		    strcmp(k, "kind") == 0 || strcmp(k, "pair") == 0 ||
		    strcmp(k, "product") == 0 || strcmp(k, "mode") == 0 ||
		    strcmp(k, "suspends") == 0 || strcmp(k, "notice") == 0;
		for (size_t j = 0; !ok && kind_keys[rc->kind][j] != NULL; j++)
			ok = strcmp(k, kind_keys[rc->kind][j]) == 0;
		if (!ok) {
			breaker_conf_fail_kv(b, s, &s->kv[i],
			                     "unknown key for a %s rule",
			                     kind_names[rc->kind]);
			return false;
		}
	}

	int exponent =
	    wants_pair
	        ? cfg->pairs[rc->owner].base_exponent
	        : cfg->pairs[cfg->products[rc->owner].pair].base_exponent;
	bool has_suspend_for =
	    rc->kind == BREAKER_VOLUME || rc->kind == BREAKER_BAND ||
	    rc->kind == BREAKER_VELOCITY || rc->kind == BREAKER_DEVIATION;
	if (has_suspend_for) {
		if ((kv = breaker_conf_need(b, s, "suspend_for")) == NULL ||
		    !breaker_conf_duration(b, s, kv, false, &rc->suspend_for))
			return false;
		if ((kv = breaker_conf_get(s, "max_auto_resumes")) != NULL) {
			int64_t v;
			if (!breaker_conf_int(b, s, kv, 0,
			                      MAX_AUTO_RESUMES_MAX, &v))
				return false;
			rc->max_auto_resumes = (int32_t)v;
		}
	}

	switch (rc->kind) {
	case BREAKER_VOLUME:
		return build_volume(b, s, rc, exponent);
	case BREAKER_BAND:
		if ((kv = breaker_conf_need(b, s, "window")) == NULL ||
		    !breaker_conf_duration(b, s, kv, true, &rc->window) ||
		    (kv = breaker_conf_need(b, s, "band_pct")) == NULL ||
		    !breaker_conf_pct(b, s, kv, &rc->band_pct) ||
		    (kv = breaker_conf_need(b, s, "ref_move_pct")) == NULL ||
		    !breaker_conf_pct(b, s, kv, &rc->ref_move_pct) ||
		    (kv = breaker_conf_need(b, s, "ref_min_life")) == NULL ||
		    !breaker_conf_duration(b, s, kv, false,
		                           &rc->ref_min_life) ||
		    (kv = breaker_conf_need(b, s, "limit_for")) == NULL ||
		    !breaker_conf_duration(b, s, kv, false, &rc->limit_for))
			return false;
		if (rc->band_pct >= BREAKER_PCT_100) {
			breaker_conf_fail_kv(b, s,
			                     breaker_conf_get(s, "band_pct"),
			                     "must be below 100");
			return false;
		}
		break;
	case BREAKER_VELOCITY:
		return build_velocity(b, s, rc, cfg->pairs[rc->owner].tick);
	case BREAKER_DEVIATION:
		if ((kv = breaker_conf_need(b, s, "base")) == NULL ||
		    !breaker_conf_price(b, s, kv, &rc->base) ||
		    (kv = breaker_conf_need(b, s, "pct")) == NULL ||
		    !breaker_conf_pct(b, s, kv, &rc->pct) ||
		    (kv = breaker_conf_need(b, s, "hold")) == NULL ||
		    !breaker_conf_duration(b, s, kv, false, &rc->hold))
			return false;
		break;
	case BREAKER_STALE:
		if ((kv = breaker_conf_need(b, s, "max_age")) == NULL ||
		    !breaker_conf_duration(b, s, kv, true, &rc->max_age))
			return false;
		break;
	case BREAKER_SPREAD:
		if ((kv = breaker_conf_need(b, s, "max_spread_pct")) == NULL ||
		    !breaker_conf_pct(b, s, kv, &rc->max_spread_pct) ||
		    (kv = breaker_conf_need(b, s, "hold")) == NULL ||
		    !breaker_conf_duration(b, s, kv, false, &rc->hold))
			return false;
		break;
	case BREAKER_THROTTLE:
		if ((kv = breaker_conf_need(b, s, "rate")) == NULL ||
		    !breaker_conf_int(b, s, kv, 1, 1000000, &rc->rate) ||
		    (kv = breaker_conf_need(b, s, "burst")) == NULL ||
		    !breaker_conf_int(b, s, kv, 1, 1000000, &rc->burst))
			return false;
		break;
	}
	return true;
}
