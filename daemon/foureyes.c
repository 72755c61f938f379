/*
 * foureyes.c: requests that wait for a second person (docs/PROTOCOL.md,
 * "Signed operator commands").
 *
 * Lifting a suspension, resetting a trip, loosening a threshold,
 * cancelling a planned suspension, enrolling or revoking an operator, and
 * adding or removing a cluster node are each a request that another
 * person approves.  An approval
 * is bound to the request's number, to the suspension it names (so it
 * cannot reopen a newer trip) and, for an operator change, to the key
 * it names; it dies when the request expires, when the requester loses
 * the authority it asked under, and when the roster changes under an
 * operator change.  This file is that state machine alone: no daemon,
 * lock or log; what it needs of the engine and the roster it asks
 * through struct foureyes_world.  Carrying out an
 * approved request is cmd_apply.c's.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "daemon_impl.h"

struct request *
foureyes_add(struct foureyes *fe, const struct request *q)
{
	if (fe->n == REQUESTS_MAX) {
		/* Forget the oldest finished or expired one. */
		size_t k = 0;
		for (size_t i = 0; i < fe->n; i++)
			if (fe->reqs[i].done) {
				k = i;
				break;
			}
		memmove(&fe->reqs[k], &fe->reqs[k + 1],
		        (fe->n - k - 1) * sizeof(fe->reqs[0]));
		fe->n--;
	}
	struct request *nq = &fe->reqs[fe->n++];
	*nq = *q;
	return nq;
}

struct request *
foureyes_find(struct foureyes *fe, int64_t seq)
{
	for (size_t i = 0; i < fe->n; i++)
		if (fe->reqs[i].seq == seq)
			return &fe->reqs[i];
	return NULL;
}

bool
foureyes_is_operator_change(const struct request *q)
{
	return strcmp(q->cmd, "enrol") == 0 || strcmp(q->cmd, "revoke") == 0;
}

bool
foureyes_is_cluster_change(const struct request *q)
{
	return strcmp(q->cmd, "cluster_add") == 0 ||
	       strcmp(q->cmd, "cluster_remove") == 0;
}

void
foureyes_supersede(struct foureyes *fe, const char *key_id)
{
	for (size_t i = 0; i < fe->n; i++) {
		struct request *q = &fe->reqs[i];
		if (!q->done && foureyes_is_operator_change(q) &&
		    strcmp(q->subject.key_id, key_id) == 0)
			q->done = true;
	}
}

/* The request a names, if it is still the one to approve: pending,
 * unexpired, and naming the suspension in force (a threshold or operator
 * change names none: no suspension given, or 0). */
static enum fxb_err
pending_request(struct foureyes *fe, const struct approval *a, fxb_time now,
                const struct foureyes_world *w, struct request **out,
                char *msg, size_t cap)
{
	struct request *q =
	    a->request_given ? foureyes_find(fe, a->request) : NULL;
	if (q != NULL && q->suspension > 0 && !a->suspension_given) {
		snprintf(msg, cap,
		         "args: request %lld is a %s: give the "
		         "suspension it names",
		         (long long)q->seq, q->cmd);
		return FXB_ERR_MISSING;
	}
	if (q == NULL || q->done || q->expires <= now ||
	    (a->suspension_given && !a->suspension_integer) ||
	    a->suspension != q->suspension ||
	    w->current(w->arg, q) != q->suspension) {
		char for_susp[48] = "";
		if (a->suspension > 0)
			snprintf(for_susp, sizeof(for_susp),
			         " for suspension %lld",
			         (long long)a->suspension);
		snprintf(msg, cap,
		         "no pending request %lld%s (unknown, done, "
		         "expired, or superseded by a newer "
		         "suspension)",
		         (long long)a->request, for_susp);
		return FXB_ERR_STALE_APPROVAL;
	}
	*out = q;
	return FXB_OK;
}

enum fxb_err
foureyes_approve(struct foureyes *fe, const struct approval *a,
                 const struct operator* approver, fxb_time now,
                 const struct foureyes_world *w, struct request **out,
                 char *msg, size_t cap)
{
	struct request *q;
	enum fxb_err e = pending_request(fe, a, now, w, &q, msg, cap);
	if (e != FXB_OK)
		return e;
	/* Operators and the cluster's members are approved by admins;
	 * the rest by approvers. */
	bool on_roster = foureyes_is_operator_change(q);
	bool by_admin = on_roster || foureyes_is_cluster_change(q);
	if (!(approver->roles & (by_admin ? ROLE_ADMIN : ROLE_APPROVE))) {
		snprintf(msg, cap,
		         "%s may not approve %s %s (it takes the %s role)",
		         approver->name,
		         strchr("aeiou", q->cmd[0]) != NULL ? "an" : "a",
		         q->cmd, by_admin ? "admin" : "approve");
		return FXB_ERR_FORBIDDEN;
	}
	if (strcmp(q->operator, approver->key_id) == 0 ||
	    strcmp(q->name, approver->name) == 0) {
		snprintf(msg, cap,
		         "%s requested this: a different person must "
		         "approve",
		         q->name);
		return FXB_ERR_SELF_APPROVAL;
	}
	/* Nobody vouches for their own key, nor approves their own
	 * removal: the subject is a party, not a second person. */
	if (on_roster && strcmp(q->subject.name, approver->name) == 0) {
		snprintf(msg, cap,
		         "this %ss %s: a different admin must approve", q->cmd,
		         q->subject.name);
		return FXB_ERR_SELF_APPROVAL;
	}
	/* The approver names whom, as a lift names its suspension: a
	 * signature on a number alone could approve a key nobody
	 * checked. */
	if (on_roster && a->operator== NULL) {
		snprintf(msg, cap,
		         "args: request %lld is an operator change: "
		         "give the key id it names (operator)",
		         (long long)q->seq);
		return FXB_ERR_MISSING;
	}
	if (on_roster && strcmp(a->operator, q->subject.key_id) != 0) {
		snprintf(msg, cap,
		         "request %lld %ss key %s (%s), not \"%.32s\"",
		         (long long)q->seq, q->cmd, q->subject.key_id,
		         q->subject.name, a->operator);
		return FXB_ERR_STALE_APPROVAL;
	}
	/* A requester revoked or stripped of the role since: the request
	 * dies with the authority it was made under. */
	const struct operator* asker = w->find(w->arg, q->operator);
	unsigned asked_as = by_admin ? ROLE_ADMIN : ROLE_RESET;
	if (asker == NULL || !(asker->roles & asked_as)) {
		snprintf(msg, cap, "%s, who requested this, is no longer %s",
		         q->name,
		         asker == NULL ? "an operator"
		         : by_admin    ? "an admin"
		                       : "allowed to reset");
		return FXB_ERR_STALE_APPROVAL;
	}
	*out = q;
	return FXB_OK;
}

void
foureyes_from_row(json_t *o, int64_t seq, fxb_time t, struct request *q)
{
	json_t *args = json_object_get(o, "args");
	const char *cmd = json_string_value(json_object_get(o, "cmd"));
	memset(q, 0, sizeof(*q));
	q->seq = seq;
	snprintf(q->operator, sizeof(q->operator), "%s",
	         json_string_value(json_object_get(o, "operator")));
	snprintf(q->name, sizeof(q->name), "%s",
	         json_string_value(json_object_get(o, "name")));
	snprintf(q->cmd, sizeof(q->cmd), "%s", cmd);
	const char *rule = json_string_value(json_object_get(args, "rule"));
	const char *prod = json_string_value(json_object_get(args, "product"));
	const char *pair = json_string_value(json_object_get(args, "pair"));
	snprintf(q->rule, sizeof(q->rule), "%s", rule ? rule : "");
	snprintf(q->scope, sizeof(q->scope), "%s",
	         pair   ? pair
	         : prod ? prod
	                : "");
	q->on_pair = pair != NULL;
	/* Only a lift or reset names a suspension (whatever else the args
	 * carried). */
	if (strcmp(cmd, "lift") == 0 || strcmp(cmd, "reset") == 0)
		q->suspension =
		    json_integer_value(json_object_get(args, "suspension"));
	/* A cancel names the plan it was asked over in its row (the args
	 * name only the scope). */
	if (strcmp(cmd, "cancel") == 0)
		q->plan = json_integer_value(json_object_get(o, "plan"));
	q->expires = json_integer_value(json_object_get(o, "expires_at"));
	/* Judged on the wall clock: its expiry in engine time, as when it
	 * was taken. */
	json_t *jw = json_object_get(o, "wall");
	if (json_is_integer(jw))
		q->expires += t - json_integer_value(jw);
	const char *key = json_string_value(json_object_get(args, "key"));
	const char *val = json_string_value(json_object_get(args, "value"));
	const char *from = json_string_value(json_object_get(o, "value_from"));
	snprintf(q->change.rule, sizeof(q->change.rule), "%s", q->rule);
	snprintf(q->change.key, sizeof(q->change.key), "%s", key ? key : "");
	snprintf(q->change.value, sizeof(q->change.value), "%s",
	         val ? val : "");
	snprintf(q->from, sizeof(q->from), "%s", from ? from : "");
	json_int_t node = json_integer_value(json_object_get(args, "node"));
	if (foureyes_is_cluster_change(q) && node > 0 && node <= 65535)
		q->node = (unsigned)node;
}
