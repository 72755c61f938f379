/*
 * breaker_operator.c: an operator's actions on the engine (RULES.md 4.8):
 * a product or pair suspended by force, perhaps until a time, and lifted;
 * a tripped rule reset.  A force's record and its end are the clock's too
 * (a scheduled lift, breaker_check.c) and restore's (breaker_restore.c).
 */
#include <stdlib.h>
#include <string.h>

#include "breaker_impl.h"

/* An event about an operator's suspension of a product or pair. */
static void
force_event_init(struct breaker *b, struct breaker_event *ev,
                 enum breaker_event_type type, bool on_pair, int32_t idx)
{
	memset(ev, 0, sizeof(*ev));
	ev->t = b->now;
	ev->type = type;
	ev->scope_is_pair = on_pair;
	ev->scope = on_pair ? b->pairs[idx].name : breaker_product(b, idx)->id;
	ev->until = FXB_NEVER;
}

void
breaker_force_end(struct breaker *b, struct force *f, bool on_pair,
                  int32_t idx, enum breaker_lift by)
{
	struct breaker_event ev;

	force_event_init(b, &ev, BREAKER_EV_FORCE_LIFT, on_pair, idx);
	ev.suspension = f->suspension;
	ev.figs = BREAKER_FIG_SINCE;
	ev.since = f->since;
	ev.by = by;
	f->on = false;
	f->until = FXB_NEVER;
	breaker_timer_cancel(&b->heap, &f->timer);
	breaker_emit(b, &ev);
}

/* Keeps at most BREAKER_REASON_MAX bytes of the operator's reason, cut on
 * a UTF-8 character boundary so that the text stays valid wherever it is
 * shown. */
void
breaker_reason_copy(char dst[BREAKER_REASON_MAX + 1], const char *reason)
{
	if (reason == NULL)
		reason = "";
	size_t n = strlen(reason);
	if (n > BREAKER_REASON_MAX) {
		n = BREAKER_REASON_MAX;
		while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, reason, n);
	dst[n] = '\0';
}

/* The force record of a scope, made on first use (*err says why not). */
struct force *
breaker_force_of(struct breaker *b, bool on_pair, int32_t idx, bool create,
                 enum fxb_err *err)
{
	struct force **fp;
	if (on_pair && idx >= 0 && (uint32_t)idx < b->npairs)
		fp = &b->pairs[idx].force;
	else if (!on_pair && idx >= 0 && (uint32_t)idx < b->nproducts)
		fp = &breaker_product(b, idx)->force;
	else {
		*err =
		    on_pair ? FXB_ERR_UNKNOWN_PAIR : FXB_ERR_UNKNOWN_PRODUCT;
		return NULL;
	}
	if (*fp == NULL && create) {
		if ((*fp = calloc(1, sizeof(**fp))) == NULL) {
			*err = FXB_ERR_NOMEM;
			return NULL;
		}
		(*fp)->timer.pos = -1;
		(*fp)->timer.owner =
		    on_pair ? TIMER_FORCE_PAIR : TIMER_FORCE_PRODUCT;
		(*fp)->timer.idx = idx;
		(*fp)->until = FXB_NEVER;
	}
	if (*fp == NULL)
		*err = FXB_ERR_NOT_FORCED;
	return *fp;
}

enum fxb_err
breaker_force_suspend(struct breaker *b, fxb_time t, bool on_pair, int32_t idx,
                      fxb_time until, const char *reason)
{
	enum fxb_err err = FXB_OK;
	struct force *f = breaker_force_of(b, on_pair, idx, true, &err);

	if (f == NULL)
		return err;
	if (until <= t || (until > FXB_TIME_MAX && until != FXB_NEVER))
		return FXB_ERR_RANGE;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	breaker_force_start(b, f, on_pair, idx, until, reason, 0);
	return FXB_OK;
}

void
breaker_force_start(struct breaker *b, struct force *f, bool on_pair,
                    int32_t idx, fxb_time until, const char *reason,
                    int64_t plan)
{
	struct breaker_event ev;

	/* A new force replaces the old one: close the old suspension first,
	 * so that every suspension in the log has its end. */
	if (f->on)
		breaker_force_end(b, f, on_pair, idx, BREAKER_LIFT_REPLACED);
	f->on = true;
	f->since = b->now;
	f->until = until;
	breaker_reason_copy(f->reason, reason);
	if (until != FXB_NEVER)
		breaker_timer_arm(&b->heap, &f->timer, until);
	else
		breaker_timer_cancel(&b->heap, &f->timer);
	force_event_init(b, &ev, BREAKER_EV_FORCE_SUSPEND, on_pair, idx);
	ev.until = until;
	ev.reason = f->reason;
	ev.plan = plan;
	f->suspension = breaker_emit(b, &ev);
}

enum fxb_err
breaker_force_lift(struct breaker *b, fxb_time t, bool on_pair, int32_t idx)
{
	enum fxb_err err = FXB_OK;
	struct force *f = breaker_force_of(b, on_pair, idx, false, &err);

	if (f == NULL && err != FXB_ERR_NOT_FORCED)
		return err;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	if (f == NULL || !f->on)
		return FXB_ERR_NOT_FORCED;
	breaker_force_end(b, f, on_pair, idx, BREAKER_LIFT_OPERATOR);
	return FXB_OK;
}

enum fxb_err
breaker_reset(struct breaker *b, fxb_time t, int32_t rule)
{
	enum fxb_err err;

	if (rule < 0 || (uint32_t)rule >= b->nrules)
		return FXB_ERR_UNKNOWN_RULE;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	struct rule *r = b->rule[rule];
	if (r->c->kind == BREAKER_STALE)
		return FXB_ERR_NOT_RESETTABLE;
	if (r->state != RS_TRIPPED)
		return FXB_ERR_NOT_TRIPPED;
	breaker_rule_end_suspension(b, r, BREAKER_EV_RESET);
	return FXB_OK;
}
