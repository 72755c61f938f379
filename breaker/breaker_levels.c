/*
 * breaker_levels.c: the trip levels an operator may change at run time (a
 * threshold command, docs/PROTOCOL.md), one table for the two places that
 * need them: the command asks whether a key is a level of the rule and
 * what it says now (breaker_threshold); a reload keeps a rule's whole
 * state when only its levels changed (breaker_levels_copy, for
 * breaker_restore.c's same_but_levels).
 */
#include <stddef.h>
#include <string.h>

#include "breaker_config.h"
#include "breaker_decimal.h"
#include "breaker_impl.h"

/*
 * The levels are those a rule tests only as events arrive, so that its
 * state carries over exactly when one changes.  A band, deviation,
 * spread, stale or throttle level also decides when an armed timer fires;
 * those change in the file, by reload.  Each grows as the rule loosens.
 * cmp is the field compared to tell loosening from tightening (a velocity
 * rule's V, whichever key sets it).
 */
enum threshold_type { TH_AMOUNT, TH_PCT, TH_PRICE };
static const struct {
	enum breaker_kind kind;
	const char *key;
	enum threshold_type type;
	size_t field, cmp;   /* in struct breaker_rule_conf */
	size_t lfield, lcmp; /* the same in a session's struct breaker_level */
} thresholds[] = {
#define TH(k, key, t, f, c)                                                   \
	{                                                                     \
		k, key, t, offsetof(struct breaker_rule_conf, f),             \
		    offsetof(struct breaker_rule_conf, c),                    \
		    offsetof(struct breaker_level, f),                        \
		    offsetof(struct breaker_level, c)                         \
	}
    TH(BREAKER_VOLUME, "trip", TH_AMOUNT, trip, trip),
    TH(BREAKER_VOLUME, "warn", TH_AMOUNT, warn, warn),
    TH(BREAKER_VELOCITY, "max_move", TH_PRICE, max_move, velocity),
    TH(BREAKER_VELOCITY, "pct", TH_PCT, pct, velocity),
#undef TH
};

/* The session level a "KEY@SESSION" names, NULL for a plain key; false
 * when the rule has no such session. */
static bool
session_of(const struct breaker_config *cfg,
           const struct breaker_rule_conf *rc, const char *at,
           const struct breaker_level **lv)
{
	*lv = NULL;
	if (at == NULL)
		return true;
	if (rc->calendar < 0 || rc->levels == NULL)
		return false;
	int s = breaker_calendar_session_find(&cfg->calendars[rc->calendar],
	                                      at + 1, strlen(at + 1));
	if (s < BREAKER_SESSION_OFF)
		return false;
	*lv = &rc->levels[s + 1];
	return true;
}

bool
breaker_threshold(const struct breaker_config *cfg,
                  const struct breaker_rule_conf *rc, const char *key,
                  int64_t *cmp, char *text)
{
	const char *at = strchr(key, '@');
	size_t n = at != NULL ? (size_t)(at - key) : strlen(key);
	const struct breaker_level *lv;
	if (!session_of(cfg, rc, at, &lv))
		return false;
	for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]);
	     i++) {
		if (thresholds[i].kind != rc->kind ||
		    strlen(thresholds[i].key) != n ||
		    strncmp(thresholds[i].key, key, n) != 0)
			continue;
		const char *base =
		    lv != NULL ? (const char *)lv : (const char *)rc;
		int64_t v, c;
		memcpy(&v,
		       base + (lv != NULL ? thresholds[i].lfield
		                          : thresholds[i].field),
		       sizeof(v));
		memcpy(&c,
		       base + (lv != NULL ? thresholds[i].lcmp
		                          : thresholds[i].cmp),
		       sizeof(c));
		/* No warn level at all is the loosest: setting one tightens.
		 */
		*cmp = strcmp(thresholds[i].key, "warn") == 0 && v == 0
		           ? INT64_MAX
		           : c;
		int32_t pair =
		    rc->on_pair ? rc->owner : cfg->products[rc->owner].pair;
		unsigned exp = (unsigned)cfg->pairs[pair].base_exponent;
		switch (thresholds[i].type) {
		case TH_AMOUNT:
			if (v != 0 && rc->measure == BREAKER_MEASURE_NOTIONAL)
				breaker_decimal_format(text, v, exp, exp);
			else if (v == 0)
				memcpy(text, "none", sizeof("none"));
			else
				breaker_decimal_format(text, v, 0, 0);
			break;
		case TH_PCT:
			breaker_decimal_format(text, v, 4, 0);
			break;
		case TH_PRICE:
			breaker_px_format(text, v);
			break;
		}
		return true;
	}
	return false;
}

bool
breaker_levels_copy(struct breaker_rule_conf *dst,
                    const struct breaker_rule_conf *src)
{
	bool any = false;
	for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]);
	     i++) {
		if (thresholds[i].kind != src->kind)
			continue;
		/* A level and the field it is compared by move together: a
		 * velocity rule's pct or max_move, and the V it makes. */
		memcpy((char *)dst + thresholds[i].field,
		       (const char *)src + thresholds[i].field,
		       sizeof(int64_t));
		memcpy((char *)dst + thresholds[i].cmp,
		       (const char *)src + thresholds[i].cmp, sizeof(int64_t));
		any = true;
	}
	return any;
}
