/*
 * onotice.c: the open customer notices, one per open suspension that
 * customers are shown: its [notice] templates and {reason}, rendered per
 * product on every deny (check.c), closed with the row that ends the
 * suspension (events.c), and the denied checks quoting it.  notice.c is
 * the pure template renderer; this file keeps the table.  Under mu.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"

struct onotice *
onotice_find(struct daemon *d, int64_t suspension, size_t *at)
{
	size_t lo = 0, hi = d->nnotices;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->notices[mid].suspension < suspension)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at != NULL)
		*at = lo;
	return lo < d->nnotices && d->notices[lo].suspension == suspension
	           ? &d->notices[lo]
	           : NULL;
}

void
onotice_free(struct onotice *n)
{
	free(n->id);
	free(n->scope);
	free(n->tpl_ko);
	free(n->tpl_en);
	free(n->reason_ko);
	free(n->reason_en);
}

struct onotice *
onotice_open(struct daemon *d, int64_t suspension, const char *rule,
             enum breaker_kind kind, const char *scope, fxb_time since,
             fxb_time until, const char *forced)
{
	const char *id = NULL, *ko = notice_default_ko,
	           *en = notice_default_en;
	const char *rko, *ren;
	char defid[32];
	size_t at;
	const struct breaker_notice_conf *nc = NULL;

	if (rule != NULL) {
		int32_t ri = breaker_rule_find(d->engine, rule, strlen(rule));
		int32_t ni = ri >= 0 ? d->cfg->rules[ri].notice : -1;
		if (ni >= 0)
			nc = &d->cfg->notices[ni];
	} else if (forced != NULL) {
		/* Gone from the config since (a restart): the default. */
		nc = onotice_conf(d->cfg, forced);
	}
	if (nc != NULL) {
		id = nc->id;
		ko = nc->ko;
		en = nc->en;
	}
	if (id == NULL) {
		snprintf(defid, sizeof(defid), "default-%s",
		         breaker_kind_name(kind));
		id = defid;
	}
	if (d->nnotices == d->capnotices) {
		size_t ncap = d->capnotices != 0 ? d->capnotices * 2 : 16;
		struct onotice *v = realloc(d->notices, ncap * sizeof(*v));
		if (v == NULL)
			return NULL;
		d->notices = v;
		d->capnotices = ncap;
	}
	if (onotice_find(d, suspension, &at) != NULL)
		return &d->notices[at];
	notice_reason(kind, &rko, &ren);
	struct onotice n = {
	    .suspension = suspension,
	    .id = strdup(id),
	    .scope = strdup(scope),
	    .since = since,
	    .until = until,
	    .tpl_ko = strdup(ko),
	    .tpl_en = strdup(en),
	    .reason_ko = strdup(rko),
	    .reason_en = strdup(ren),
	};
	if (n.id == NULL || n.scope == NULL || n.tpl_ko == NULL ||
	    n.tpl_en == NULL || n.reason_ko == NULL || n.reason_en == NULL) {
		onotice_free(&n);
		return NULL;
	}
	memmove(&d->notices[at + 1], &d->notices[at],
	        (d->nnotices - at) * sizeof(*d->notices));
	d->notices[at] = n;
	d->nnotices++;
	return &d->notices[at];
}

void
onotice_vars(struct daemon *d, const struct onotice *n, const char *product,
             struct notice_vars *v)
{
	v->product = product;
	v->start = n->since;
	v->until = n->until;
	v->end = 0;
	v->reason_ko = n->reason_ko;
	v->reason_en = n->reason_en;
	v->tz_min = d->svc.notice_tz_min;
}

char *
onotice_message(const struct onotice *n, const char *state, fxb_time t,
                const char *ko, const char *en)
{
	json_t *o = json_object();
	char *s = NULL;
	if (o != NULL &&
	    json_object_set_new(o, "suspension",
	                        json_integer(n->suspension)) == 0 &&
	    json_object_set_new(o, "notice", json_string(n->id)) == 0 &&
	    json_object_set_new(o, "scope", json_string(n->scope)) == 0 &&
	    json_object_set_new(o, "state", json_string(state)) == 0 &&
	    json_object_set_new(o, "t", json_integer(t)) == 0 &&
	    json_object_set_new(o, "ko", json_string(ko)) == 0 &&
	    json_object_set_new(o, "en", json_string(en)) == 0)
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* Closes suspension's notice with the row q ending it at t: the
 * "service restored" texts go into the row and are published after it. */
void
onotice_close(struct daemon *d, struct qrow *q, int64_t suspension, fxb_time t)
{
	struct notice_vars v;
	size_t at;
	struct onotice *n = onotice_find(d, suspension, &at);
	if (n == NULL)
		return;
	q->denied = n->denied; /* the customer impact, for the row */
	q->denied_partial = n->denied_partial;
	onotice_vars(d, n, n->scope, &v);
	v.end = t;
	q->ko = notice_render_closed(&v, true);
	q->en = notice_render_closed(&v, false);
	if (q->ko != NULL && q->en != NULL) {
		q->notice_msg = onotice_message(n, "closed", t, q->ko, q->en);
	} else {
		free(q->ko);
		free(q->en);
		q->ko = q->en = NULL;
	}
	onotice_free(n);
	memmove(&d->notices[at], &d->notices[at + 1],
	        (d->nnotices - at - 1) * sizeof(*d->notices));
	d->nnotices--;
}

const struct breaker_notice_conf *
onotice_conf(const struct breaker_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nnotices; i++)
		if (strcmp(cfg->notices[i].id, id) == 0)
			return &cfg->notices[i];
	return NULL;
}

bool
daemon_notice_known(struct daemon *d, const char *id)
{
	return onotice_conf(d->cfg, id) != NULL;
}

/* Every open suspension showing [notice id] takes the running config's
 * text from its next deny on (after an edit, or when the file wins).
 * Returns how many. */
int64_t
onotice_refresh(struct daemon *d, const char *id)
{
	const struct breaker_notice_conf *nc = onotice_conf(d->cfg, id);
	int64_t n = 0;
	for (size_t i = 0; nc != NULL && i < d->nnotices; i++) {
		struct onotice *o = &d->notices[i];
		char *ko, *en;
		if (strcmp(o->id, id) != 0)
			continue;
		ko = strdup(nc->ko);
		en = strdup(nc->en);
		if (ko == NULL || en == NULL) {
			free(ko);
			free(en);
			continue;
		}
		free(o->tpl_ko);
		free(o->tpl_en);
		o->tpl_ko = ko;
		o->tpl_en = en;
		n++;
	}
	return n;
}

void
onotice_free_all(struct daemon *d)
{
	for (size_t i = 0; i < d->nnotices; i++)
		onotice_free(&d->notices[i]);
	free(d->notices);
	d->notices = NULL;
	d->nnotices = d->capnotices = 0;
}
