/*
 * breaker_session.c: what RULES.md section 9 adds to the engine.
 *
 *   calendars    each is in one session at a time; a timer fires at each
 *                boundary (event `session`), first among the timers of
 *                its instant, and the rules that follow it take the
 *                session's levels from then on
 *   hours        a product outside its opening hours is `closed`: denied
 *                before anything else, with the time to the next opening
 *   plans        an operator's suspension planned ahead: logged when
 *                asked (`force_scheduled`), started by timer at `from`,
 *                quoted as `upcoming` until then, or cancelled
 *
 * Which session holds an instant is breaker_calendar.c's (pure time
 * arithmetic); this file keeps the engine's state of it.
 */
#include <stdlib.h>
#include <string.h>

#include "breaker_calendar.h"
#include "breaker_impl.h"

/* `retry_after_ms` of a closed product is absent past this (RULES.md 9). */
#define OPEN_HORIZON_MS (14LL * 86400000LL)

static void *
dup_mem(const void *p, size_t n)
{
	void *q;
	if (n == 0)
		return NULL;
	if ((q = malloc(n)) != NULL)
		memcpy(q, p, n);
	return q;
}

/* The engine's own copy of a calendar: the config may be freed. */
static bool
calendar_copy(struct breaker_calendar_conf *dst,
              const struct breaker_calendar_conf *src)
{
	*dst = *src;
	dst->sessions =
	    dup_mem(src->sessions, src->nsessions * sizeof(*src->sessions));
	dst->holidays =
	    dup_mem(src->holidays, src->nholidays * sizeof(*src->holidays));
	dst->edges = dup_mem(src->edges, src->nedges * sizeof(*src->edges));
	return (dst->sessions != NULL || src->nsessions == 0) &&
	       (dst->holidays != NULL || src->nholidays == 0) &&
	       (dst->edges != NULL || src->nedges == 0);
}

/* The rules of cal take the levels of its session now. */
static void
apply_levels(struct calendar *cal)
{
	for (uint32_t i = 0; i < cal->nrules; i++) {
		struct rule *r = cal->rules[i];
		const struct breaker_level *lv = &r->c->levels[cal->cur + 1];
		if (r->kind == BREAKER_VOLUME) {
			r->trip = lv->trip;
			r->warn = lv->warn;
		} else if (r->kind == BREAKER_VELOCITY) {
			r->velocity = lv->velocity;
		}
	}
}

/* Arms cal's timer at its next change; calendars fire in config order
 * among themselves, before any other timer of the same instant. */
static void
arm_next(struct breaker *b, struct calendar *cal)
{
	cal->next =
	    breaker_calendar_next_change(&cal->c, b->now, &cal->next_s);
	if (cal->next != FXB_NEVER && cal->next <= FXB_TIME_MAX)
		breaker_timer_arm_first(&b->heap, &cal->timer, cal->next,
		                        (uint32_t)cal->timer.idx);
	else
		breaker_timer_cancel(&b->heap, &cal->timer);
}

void
breaker_sessions_sync(struct breaker *b)
{
	for (uint32_t i = 0; i < b->ncals; i++) {
		struct calendar *cal = &b->cals[i];
		cal->cur = breaker_calendar_session_at(&cal->c, b->now);
		cal->gen++;
		apply_levels(cal);
		arm_next(b, cal);
	}
}

enum fxb_err
breaker_sessions_new(struct breaker *b, const struct breaker_config *cfg)
{
	for (uint32_t i = 0; i < b->nproducts; i++)
		breaker_product(b, (int32_t)i)->hours_cal = -1;
	if (cfg->ncalendars == 0)
		return FXB_OK;
	b->cals = calloc(cfg->ncalendars, sizeof(*b->cals));
	if (b->cals == NULL)
		return FXB_ERR_NOMEM;
	b->ncals = (uint32_t)cfg->ncalendars;
	for (uint32_t i = 0; i < b->ncals; i++) {
		struct calendar *cal = &b->cals[i];
		cal->timer.pos = -1;
		cal->timer.owner = TIMER_CALENDAR;
		cal->timer.idx = (int32_t)i;
		if (!calendar_copy(&cal->c, &cfg->calendars[i]))
			return FXB_ERR_NOMEM;
	}
	/* The rules whose levels follow a calendar, with their own copy of
	 * the levels. */
	for (uint32_t i = 0; i < b->nrules; i++) {
		struct breaker_rule_conf *c = &b->rconf[i];
		if (c->calendar < 0)
			continue;
		struct calendar *cal = &b->cals[c->calendar];
		c->levels =
		    dup_mem(cfg->rules[i].levels,
		            (cal->c.nsessions + 1) * sizeof(*c->levels));
		if (c->levels == NULL)
			return FXB_ERR_NOMEM;
		struct rule **v =
		    realloc(cal->rules, (cal->nrules + 1) * sizeof(*v));
		if (v == NULL)
			return FXB_ERR_NOMEM;
		cal->rules = v;
		cal->rules[cal->nrules++] = b->rule[i];
	}
	bool hours = false;
	for (uint32_t i = 0; i < b->nproducts; i++) {
		struct product *p = breaker_product(b, (int32_t)i);
		p->hours_cal = cfg->products[i].hours_calendar;
		p->hours_mask = cfg->products[i].hours_mask;
		hours |= p->hours_cal >= 0;
	}
	if (hours) {
		b->open_at = calloc(b->nproducts, sizeof(*b->open_at));
		b->open_gen = calloc(b->nproducts, sizeof(*b->open_gen));
		if (b->open_at == NULL || b->open_gen == NULL)
			return FXB_ERR_NOMEM;
	}
	breaker_sessions_sync(b);
	return FXB_OK;
}

void
breaker_sessions_free(struct breaker *b)
{
	for (uint32_t i = 0; i < b->ncals; i++) {
		free(b->cals[i].c.sessions);
		free(b->cals[i].c.holidays);
		free(b->cals[i].c.edges);
		free(b->cals[i].rules);
	}
	for (uint32_t i = 0; b->rconf != NULL && i < b->nrules; i++)
		free(b->rconf[i].levels);
	for (uint32_t i = 0; b->arena != NULL && i < b->nproducts; i++)
		free(breaker_product(b, (int32_t)i)->plan);
	for (uint32_t i = 0; b->pairs != NULL && i < b->npairs; i++)
		free(b->pairs[i].plan);
	free(b->cals);
	free(b->open_at);
	free(b->open_gen);
}

void
breaker_calendar_on_timer(struct breaker *b, struct calendar *cal)
{
	struct breaker_event ev;
	int from = cal->cur;

	cal->cur = breaker_calendar_session_at(&cal->c, b->now);
	cal->gen++;
	/* The levels change now and bite from this instant's records on:
	 * nothing is re-evaluated here (a window already above a new trip
	 * level trips at its next check). */
	apply_levels(cal);
	memset(&ev, 0, sizeof(ev));
	ev.t = b->now;
	ev.type = BREAKER_EV_SESSION;
	ev.scope = cal->c.id;
	ev.calendar = cal->c.id;
	ev.from_session = breaker_calendar_session_name(&cal->c, from);
	ev.to_session = breaker_calendar_session_name(&cal->c, cal->cur);
	ev.until = FXB_NEVER;
	arm_next(b, cal);
	breaker_emit(b, &ev);
}

fxb_time
breaker_product_next_open(const struct breaker *b, const struct product *p,
                          fxb_time t)
{
	return breaker_calendar_next_open(&b->cals[p->hours_cal].c, t,
	                                  p->hours_mask, OPEN_HORIZON_MS);
}

void
breaker_closed_decision(struct breaker_decision *out, fxb_time open,
                        fxb_time t)
{
	memset(out, 0, sizeof(*out));
	out->verdict = BREAKER_VERDICT_DENY;
	out->reason = BREAKER_REASON_CLOSED;
	out->retry_after_ms =
	    open != FXB_NEVER && open - t <= OPEN_HORIZON_MS ? open - t : -1;
}

void
breaker_decide_closed(struct breaker *b, int32_t i, fxb_time t,
                      struct breaker_decision *out)
{
	const struct product *p = breaker_product(b, i);
	const struct calendar *cal = &b->cals[p->hours_cal];
	fxb_time open = b->open_at[i];

	/* The next opening is the same from anywhere in this stretch of the
	 * calendar, so it is worked out once per stretch; a "none within
	 * the horizon" is not kept, the horizon moving with t. */
	if (b->open_gen[i] != cal->gen + 1) {
		open = breaker_product_next_open(b, p, t);
		if (open != FXB_NEVER) {
			b->open_at[i] = open;
			b->open_gen[i] = cal->gen + 1;
		}
	}
	breaker_closed_decision(out, open, t);
}

/* ---- plans ---- */

static struct plan **
plan_slot(struct breaker *b, bool on_pair, int32_t idx, enum fxb_err *err)
{
	if (on_pair && breaker_valid_index(idx, b->npairs))
		return &b->pairs[idx].plan;
	if (!on_pair && breaker_valid_index(idx, b->nproducts))
		return &breaker_product(b, idx)->plan;
	*err = on_pair ? FXB_ERR_UNKNOWN_PAIR : FXB_ERR_UNKNOWN_PRODUCT;
	return NULL;
}

static void
plan_event(struct breaker *b, struct breaker_event *ev,
           enum breaker_event_type type, bool on_pair, int32_t idx,
           const struct plan *pl)
{
	memset(ev, 0, sizeof(*ev));
	ev->t = b->now;
	ev->type = type;
	ev->scope_is_pair = on_pair;
	ev->scope = on_pair ? b->pairs[idx].name : breaker_product(b, idx)->id;
	ev->plan = pl->id;
	ev->from = pl->from;
	ev->until = pl->until;
	ev->reason = pl->reason;
}

/* A plan in its scope's slot, its timer armed at `from`. */
static enum fxb_err
plan_put(struct breaker *b, struct plan **slot, bool on_pair, int32_t idx,
         fxb_time from, fxb_time until, const char *reason)
{
	struct plan *pl = calloc(1, sizeof(*pl));

	if (pl == NULL)
		return FXB_ERR_NOMEM;
	pl->from = from;
	pl->until = until;
	breaker_reason_copy(pl->reason, reason);
	pl->timer.pos = -1;
	pl->timer.owner = on_pair ? TIMER_PLAN_PAIR : TIMER_PLAN_PRODUCT;
	pl->timer.idx = idx;
	breaker_timer_arm(&b->heap, &pl->timer, from);
	*slot = pl;
	b->nplans++;
	return FXB_OK;
}

static void
plan_drop(struct breaker *b, struct plan **slot)
{
	breaker_timer_cancel(&b->heap, &(*slot)->timer);
	free(*slot);
	*slot = NULL;
	b->nplans--;
}

/* The range of a plan's times: from after now, until after from. */
static bool
plan_times_ok(fxb_time t, fxb_time from, fxb_time until)
{
	return from > t && from <= FXB_TIME_MAX &&
	       (until == FXB_NEVER || (until > from && until <= FXB_TIME_MAX));
}

enum fxb_err
breaker_force_plan(struct breaker *b, fxb_time t, bool on_pair, int32_t idx,
                   fxb_time from, fxb_time until, const char *reason)
{
	enum fxb_err err = FXB_OK;
	struct plan **slot = plan_slot(b, on_pair, idx, &err);
	struct breaker_event ev;

	if (slot == NULL)
		return err;
	if (!plan_times_ok(t, from, until))
		return FXB_ERR_RANGE;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	if (*slot != NULL)
		return FXB_ERR_ALREADY_PLANNED;
	if ((err = plan_put(b, slot, on_pair, idx, from, until, reason)) !=
	    FXB_OK)
		return err;
	plan_event(b, &ev, BREAKER_EV_FORCE_SCHEDULED, on_pair, idx, *slot);
	(*slot)->id = breaker_emit(b, &ev);
	return FXB_OK;
}

enum fxb_err
breaker_force_cancel(struct breaker *b, fxb_time t, bool on_pair, int32_t idx)
{
	enum fxb_err err = FXB_OK;
	struct plan **slot = plan_slot(b, on_pair, idx, &err);
	struct breaker_event ev;

	if (slot == NULL)
		return err;
	if ((err = breaker_advance(b, t)) != FXB_OK)
		return err;
	if (*slot == NULL)
		return FXB_ERR_NOT_PLANNED;
	plan_event(b, &ev, BREAKER_EV_FORCE_CANCEL, on_pair, idx, *slot);
	ev.reason = NULL; /* the plan's, freed next */
	plan_drop(b, slot);
	breaker_emit(b, &ev);
	return FXB_OK;
}

void
breaker_plan_on_timer(struct breaker *b, bool on_pair, int32_t idx)
{
	enum fxb_err err = FXB_OK;
	struct plan **slot = plan_slot(b, on_pair, idx, &err);
	struct plan *pl = *slot;
	struct force **fp =
	    on_pair ? &b->pairs[idx].force : &breaker_product(b, idx)->force;
	char reason[BREAKER_REASON_MAX + 1];
	fxb_time until = pl->until;
	int64_t id = pl->id;

	memcpy(reason, pl->reason, sizeof(reason));
	*slot = NULL;
	b->nplans--;
	/* A scope never forced takes the plan's own record: nothing to
	 * allocate, so the start cannot fail. */
	if (*fp == NULL) {
		memset(&pl->f, 0, sizeof(pl->f));
		pl->f.timer.pos = -1;
		pl->f.timer.owner =
		    on_pair ? TIMER_FORCE_PAIR : TIMER_FORCE_PRODUCT;
		pl->f.timer.idx = idx;
		pl->f.until = FXB_NEVER;
		*fp = &pl->f;
	} else {
		free(pl);
	}
	breaker_force_start(b, *fp, on_pair, idx, until, reason, id);
}

enum fxb_err
breaker_restore_plan(struct breaker *b, bool on_pair, int32_t idx,
                     fxb_time from, fxb_time until, int64_t plan,
                     const char *reason)
{
	enum fxb_err err = FXB_OK;
	struct plan **slot = plan_slot(b, on_pair, idx, &err);

	if (slot == NULL)
		return err;
	if (from < FXB_TIME_MIN || from > FXB_TIME_MAX ||
	    (until != FXB_NEVER &&
	     (until <= from || until > FXB_TIME_MAX || until <= b->now)))
		return FXB_ERR_RANGE;
	if (*slot != NULL)
		return FXB_ERR_ALREADY_PLANNED;
	/* A start that passed while nobody ran the engine is due now: it
	 * starts at the next call that moves the clock, stamped then (not
	 * at `from`, which would take the clock back and could end a force
	 * made since). */
	if ((err = plan_put(b, slot, on_pair, idx,
	                    from > b->now ? from : b->now, until, reason)) !=
	    FXB_OK)
		return err;
	(*slot)->from = from;
	(*slot)->id = plan;
	return FXB_OK;
}

bool
breaker_plan_status(const struct breaker *b, bool on_pair, int32_t idx,
                    struct breaker_plan *out)
{
	const struct plan *pl;
	if (on_pair && breaker_valid_index(idx, b->npairs))
		pl = b->pairs[idx].plan;
	else if (!on_pair && breaker_valid_index(idx, b->nproducts))
		pl = breaker_product(b, idx)->plan;
	else
		pl = NULL;
	memset(out, 0, sizeof(*out));
	if (pl == NULL)
		return false;
	*out = (struct breaker_plan){pl->id, pl->from, pl->until, on_pair,
	                             pl->reason};
	return true;
}

void
breaker_attach_upcoming(const struct breaker *b, const struct product *p,
                        struct breaker_decision *out)
{
	const struct plan *own = p->plan, *pair = b->pairs[p->pair].plan;
	bool on_pair = own == NULL || (pair != NULL && pair->from < own->from);
	const struct plan *pl = on_pair ? pair : own;

	if (pl == NULL)
		return;
	out->upcoming = (struct breaker_plan){pl->id, pl->from, pl->until,
	                                      on_pair, pl->reason};
}

/* Moves the plan in *px to slot *py of `to` (scope index j): the same
 * record, its timer re-armed in to's heap keeping its place among the
 * timers of its instant. */
static void
plan_move(struct breaker *from, struct plan **px, struct breaker *to,
          struct plan **py, int32_t j)
{
	struct plan *pl = *px;
	uint64_t seq = pl->timer.seq;
	fxb_time at = pl->timer.at;

	breaker_timer_cancel(&from->heap, &pl->timer);
	from->nplans--;
	*px = NULL;
	pl->timer.idx = j;
	breaker_timer_arm_seq(&to->heap, &pl->timer, at, seq);
	*py = pl;
	to->nplans++;
}

/* A plan whose scope the new config dropped: reported, then dropped. */
static void
plan_orphan(struct breaker *b, struct plan **slot, const char *scope,
            bool on_pair, breaker_plan_orphan_fn orphan, void *arg)
{
	const struct plan *pl = *slot;
	struct breaker_plan out = {pl->id, pl->from, pl->until, on_pair,
	                           pl->reason};
	if (orphan != NULL)
		orphan(arg, scope, &out);
	plan_drop(b, slot);
}

void
breaker_plans_transfer(struct breaker *from, struct breaker *to,
                       breaker_plan_orphan_fn orphan, void *arg)
{
	for (uint32_t i = 0; i < from->nproducts; i++) {
		struct product *p = breaker_product(from, (int32_t)i);
		if (p->plan == NULL)
			continue;
		int32_t j = breaker_product_find(to, p->id, strlen(p->id));
		if (j >= 0)
			plan_move(from, &p->plan, to,
			          &breaker_product(to, j)->plan, j);
		else
			plan_orphan(from, &p->plan, p->id, false, orphan, arg);
	}
	for (uint32_t i = 0; i < from->npairs; i++) {
		struct pair *pr = &from->pairs[i];
		if (pr->plan == NULL)
			continue;
		int32_t j = breaker_pair_find(to, pr->name, strlen(pr->name));
		if (j >= 0)
			plan_move(from, &pr->plan, to, &to->pairs[j].plan, j);
		else
			plan_orphan(from, &pr->plan, pr->name, true, orphan,
			            arg);
	}
}

/* ---- read out ---- */

size_t
breaker_calendar_count(const struct breaker *b)
{
	return b->ncals;
}

const struct breaker_calendar_conf *
breaker_calendar_conf(const struct breaker *b, size_t i)
{
	return i < b->ncals ? &b->cals[i].c : NULL;
}

int
breaker_calendar_state(const struct breaker *b, size_t i, fxb_time *next,
                       int *next_session)
{
	if (i >= b->ncals) {
		*next = FXB_NEVER;
		*next_session = BREAKER_SESSION_OFF;
		return BREAKER_SESSION_OFF;
	}
	*next = b->cals[i].next;
	*next_session = b->cals[i].next_s;
	return b->cals[i].cur;
}
