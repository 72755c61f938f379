/*
 * breaker.c: the engine's life cycle (the arena laid out for the check,
 * the config's pairs, products and rules copied in, all of it freed),
 * lookups by name and by index, and the names of the API's values.
 *
 * The engine's other jobs, a file each:
 *
 *   breaker_check.c     the clock and the decision path, in the order of
 *                       RULES.md section 5: timers, then a check
 *                       (section 3) or a tick
 *   breaker_rules.c     what each rule kind does (section 4)
 *   breaker_operator.c  an operator's actions: force, lift, reset
 *   breaker_status.c    a rule's and a scope's state read out for status
 *   breaker_restore.c   state carried into a new engine: from the log at
 *                       start, from the running engine on reload
 *   breaker_session.c   calendars, opening hours, planned suspensions
 *                       (section 9)
 *   breaker_levels.c    the trip levels an operator may change at run time
 *   breaker_config*.c   the config's values checked
 *   breaker_util.c      rings, the timer heap, the name index
 *   breaker_decimal.c   exact decimals in and out, ISO 4217 minor units
 *   fxb_err.c           the error table
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

/* Copies the config's pairs in, and its products each into its block. */
static bool
copy_scopes(struct breaker *b, const struct breaker_config *cfg)
{
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
			return false;
		p->pair = cfg->products[i].pair;
		p->side = (uint8_t)cfg->products[i].side;
		b->product_names[i] = p->id;
	}
	return true;
}

/* Copies the config's rules in: the engine's own copy of their
 * parameters, their ids and notices, room for their resume history, and
 * their first state. */
static bool
copy_rules(struct breaker *b, const struct breaker_config *cfg)
{
	for (uint32_t i = 0; i < b->nrules; i++) {
		struct rule *r = b->rule[i];
		b->rconf[i] = cfg->rules[i];
		b->rconf[i].levels =
		    NULL; /* its own copy: breaker_session.c */
		r->c = &b->rconf[i];
		r->id = dup_string(r->c->id);
		if (r->id == NULL)
			return false;
		if (r->c->notice >= 0) {
			r->notice = dup_string(cfg->notices[r->c->notice].id);
			if (r->notice == NULL)
				return false;
		}
		if (r->c->max_auto_resumes > 0) {
			r->resumes = calloc((size_t)r->c->max_auto_resumes,
			                    sizeof(fxb_time));
			if (r->resumes == NULL)
				return false;
		}
		r->timer.idx = (int32_t)i;
		breaker_rule_init_state(b, r);
		b->rule_names[i] = r->id;
	}
	return true;
}

/* Indexes the pairs, products and rules by name.  The config parser has
 * already refused duplicate ids. */
static bool
index_names(struct breaker *b)
{
	int32_t dup;
	return breaker_index_build(&b->pair_index, b->pair_names, b->npairs,
	                           &dup) == 0 &&
	       breaker_index_build(&b->product_index, b->product_names,
	                           b->nproducts, &dup) == 0 &&
	       breaker_index_build(&b->rule_index, b->rule_names, b->nrules,
	                           &dup) == 0;
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
	    breaker_layout(b, cfg) != FXB_OK || !copy_scopes(b, cfg) ||
	    !copy_rules(b, cfg))
		goto fail;
	if ((err = breaker_link(b, cfg)) != FXB_OK)
		goto fail;
	err = FXB_ERR_NOMEM;
	/* A timer per rule, per scope's force and plan, per calendar. */
	if (!breaker_timer_heap_init(
	        &b->heap, b->nrules + 2 * (b->nproducts + b->npairs) +
	                      (uint32_t)cfg->ncalendars) ||
	    !index_names(b))
		goto fail;
	if ((err = breaker_sessions_new(b, cfg)) != FXB_OK)
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
	breaker_sessions_free(b);
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

int
breaker_product_exponent(const struct breaker *b, int32_t product)
{
	if (!breaker_valid_index(product, b->nproducts))
		return -1;
	return b->pairs[breaker_product(b, product)->pair].base_exponent;
}

int32_t
breaker_product_pair(const struct breaker *b, int32_t product)
{
	return breaker_valid_index(product, b->nproducts)
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
	return breaker_valid_index(product, b->nproducts)
	           ? breaker_product(b, product)->id
	           : NULL;
}

const char *
breaker_pair_name(const struct breaker *b, int32_t pair)
{
	return breaker_valid_index(pair, b->npairs) ? b->pairs[pair].name
	                                            : NULL;
}

const char *
breaker_rule_id(const struct breaker *b, int32_t rule)
{
	return breaker_valid_index(rule, b->nrules) ? b->rule[rule]->id : NULL;
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
	    [BREAKER_EV_SESSION] = "session",
	    [BREAKER_EV_FORCE_SCHEDULED] = "force_scheduled",
	    [BREAKER_EV_FORCE_CANCEL] = "force_cancel",
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
	    [BREAKER_REASON_CLOSED] = "closed",
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
