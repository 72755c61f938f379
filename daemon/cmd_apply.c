/*
 * cmd_apply.c: what each signed command does, once command.c has
 * verified who signed it, where and when (docs/PROTOCOL.md, "Signed
 * operator commands").
 *
 * One table names every command, the role it takes and the args it
 * takes; one handler per command.  Forcing or planning a suspension,
 * tightening a threshold and editing a notice take one signature.
 * Lifting, resetting, loosening, cancelling a plan, enrolling, revoking
 * and changing the cluster's members file a request (foureyes.c) that a
 * second, different person approves;
 * approve carries it out (a membership change: command.c, outside mu).  A
 * handler fills the reply and adds to the command row what the auditor needs;
 * command.c writes that row, and the reply once it has committed.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "daemon_impl.h"

static const char *
str_arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* The signer lacks the role x's command takes. */
static enum fxb_err
forbidden(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	char held[32];
	roster_roles_str(x->op->roles, held);
	snprintf(out->msg, sizeof(out->msg),
	         "%s may not %s (roles held: %s; docs/PROTOCOL.md "
	         "lists the role each command takes)",
	         x->op->name, x->cmd, held[0] != '\0' ? held : "none");
	return FXB_ERR_FORBIDDEN;
}

/* The scope an args object names: product or pair, exactly one of them.
 * Returns its index or -1 (*code and msg say why: missing, syntax for
 * both, unknown_product or unknown_pair). */
static int32_t
scope_arg(struct daemon *d, json_t *args, bool *on_pair, const char **name,
          enum fxb_err *code, char *msg, size_t cap)
{
	const char *prod = str_arg(args, "product"),
	           *pair = str_arg(args, "pair");
	if (prod != NULL && pair != NULL) {
		*code = FXB_ERR_SYNTAX;
		snprintf(msg, cap, "args: give product or pair, not both");
		return -1;
	}
	if (prod == NULL && pair == NULL) {
		*code = FXB_ERR_MISSING;
		snprintf(msg, cap, "args: give product or pair");
		return -1;
	}
	*on_pair = pair != NULL;
	*name = pair != NULL ? pair : prod;
	int32_t idx =
	    pair != NULL ? breaker_pair_find(d->engine, pair, strlen(pair))
	                 : breaker_product_find(d->engine, prod, strlen(prod));
	if (idx < 0) {
		*code = pair != NULL ? FXB_ERR_UNKNOWN_PAIR
		                     : FXB_ERR_UNKNOWN_PRODUCT;
		snprintf(msg, cap, "no such %s \"%.64s\"",
		         pair != NULL ? "pair" : "product", *name);
	}
	return idx;
}

/* The suspension a lift or reset would end now, or 0 if none (the
 * engine's answer to foureyes.c). */
static int64_t
current_suspension(void *arg, const struct request *q)
{
	struct daemon *d = arg;
	if (q->suspension == 0)
		return 0; /* a threshold or operator change names none */
	if (strcmp(q->cmd, "reset") == 0) {
		int32_t ri =
		    breaker_rule_find(d->engine, q->rule, strlen(q->rule));
		struct breaker_rule_status st;
		if (ri < 0)
			return 0;
		breaker_rule_status(d->engine, ri, &st);
		return st.state == BREAKER_RULE_TRIPPED ? st.suspension : 0;
	}
	int32_t idx =
	    q->on_pair
	        ? breaker_pair_find(d->engine, q->scope, strlen(q->scope))
	        : breaker_product_find(d->engine, q->scope, strlen(q->scope));
	int64_t susp = 0;
	fxb_time since, until;
	if (idx < 0 || !breaker_force_status(d->engine, q->on_pair, idx, &susp,
	                                     &since, &until))
		return 0;
	return susp;
}

/* The roster's answer to foureyes.c. */
static const struct operator* roster_of(void *arg, const char *key_id)
{
	struct daemon *d = arg;
	return roster_find(&d->cmds->roster, key_id);
}

/* q, asked by x's signer, waits for a second person: it is filed under
 * the command row's seq (cmd_apply_filed), which the reply quotes. */
static enum fxb_err
file_request(const struct cmd_ctx *x, struct cmd_outcome *out,
             struct request *q)
{
	snprintf(q->operator, sizeof(q->operator), "%s", x->op->key_id);
	snprintf(q->name, sizeof(q->name), "%s", x->op->name);
	q->expires = x->expires;
	out->request = *q;
	out->pending = true;
	out->reply.result = IPC_CMD_PENDING; /* its id: cmd_apply_filed */
	return FXB_OK;
}

/* ---- one signature ---- */

/* suspend with from: the suspension is planned, and starts at from by
 * the engine's timer.  One plan per scope: a second is refused, naming
 * the first, until that one starts or is cancelled. */
static enum fxb_err
suspend_planned(const struct cmd_ctx *x, struct cmd_outcome *out, bool on_pair,
                int32_t idx, const char *name, fxb_time from, fxb_time until,
                const char *why, const char *notice)
{
	struct daemon *d = x->d;
	struct breaker_plan p;
	int64_t plan = 0;
	enum fxb_err e = daemon_force_plan(d, x->now, on_pair, idx, from,
	                                   until, why, notice, &plan);
	if (e == FXB_ERR_ALREADY_PLANNED &&
	    breaker_plan_status(d->engine, on_pair, idx, &p)) {
		char from_s[40], until_s[40] = "lifted";
		if (!oplog_utc(from_s, sizeof(from_s), p.from))
			snprintf(from_s, sizeof(from_s), "%lld",
			         (long long)p.from);
		if (p.until != FXB_NEVER &&
		    !oplog_utc(until_s, sizeof(until_s), p.until))
			snprintf(until_s, sizeof(until_s), "%lld",
			         (long long)p.until);
		snprintf(out->msg, sizeof(out->msg),
		         "%s %s has plan %lld pending already (from %s until "
		         "%s): cancel it first",
		         on_pair ? "pair" : "product", name, (long long)p.plan,
		         from_s, until_s);
		return e;
	}
	if (e != FXB_OK || plan == 0) {
		snprintf(out->msg, sizeof(out->msg), "%s",
		         fxb_strerror(e != FXB_OK ? e : FXB_ERR_NOMEM));
		return e != FXB_OK ? e : FXB_ERR_NOMEM;
	}
	/* The row of the command names its plan, as a suspend's names its
	 * suspension: the report finds who planned it there. */
	json_object_set_new(x->row, "plan", json_integer(plan));
	out->scope = name;
	out->reply.result = IPC_CMD_APPLIED;
	out->reply.plan = plan;
	return FXB_OK;
}

static enum fxb_err
cmd_suspend(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	struct daemon *d = x->d;
	enum fxb_err code = FXB_OK;
	bool on_pair = false;
	const char *name = NULL;
	int32_t idx = scope_arg(d, x->args, &on_pair, &name, &code, out->msg,
	                        sizeof(out->msg));
	json_t *ju = json_object_get(x->args, "until");
	fxb_time until = json_integer_value(ju);
	bool bad_until = ju != NULL && (!json_is_integer(ju) || until < 0 ||
	                                until > CMD_TIME_MAX_MS ||
	                                until + x->shift <= x->now);
	until = ju != NULL ? until + x->shift : FXB_NEVER;
	/* from: a planned suspension, read on the clock the command was
	 * judged by, as until is. */
	json_t *jf = json_object_get(x->args, "from");
	fxb_time from = json_integer_value(jf);
	bool bad_from = jf != NULL &&
	                (!json_is_integer(jf) || from < 0 ||
	                 from > CMD_TIME_MAX_MS || from + x->shift <= x->now);
	from = jf != NULL && !bad_from ? from + x->shift : 0;
	if (idx < 0)
		return code;
	if (bad_until) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: until must be after now");
		return FXB_ERR_RANGE;
	}
	if (bad_from) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: from must be after now (without from, the "
		         "suspension starts now)");
		return FXB_ERR_RANGE;
	}
	if (jf != NULL && until <= from) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: until must be after from");
		return FXB_ERR_RANGE;
	}
	/* What customers read is a [notice], never the reason: that is
	 * the operator's, for the log. */
	const char *notice = str_arg(x->args, "notice");
	json_t *jn = json_object_get(x->args, "notice");
	if (jn != NULL &&
	    (notice == NULL || !daemon_notice_known(d, notice))) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: no such notice \"%.64s\"",
		         notice != NULL ? notice : "");
		return FXB_ERR_UNKNOWN_NOTICE;
	}
	char why[BREAKER_REASON_MAX + 1];
	snprintf(why, sizeof(why), "%s (by %s)", str_arg(x->args, "reason"),
	         x->op->name);
	if (jf != NULL)
		return suspend_planned(x, out, on_pair, idx, name, from, until,
		                       why, notice);
	/* Forcing a forced scope first ends the old one: the id is the new
	 * force_suspend row's. */
	out->suspension =
	    daemon_force_suspend(d, x->now, on_pair, idx, until, why, notice);
	out->scope = name;
	out->reply.result = IPC_CMD_APPLIED;
	out->reply.suspension = out->suspension;
	return FXB_OK;
}

static enum fxb_err
cmd_notice(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	const char *id = str_arg(x->args, "notice"),
	           *lang = str_arg(x->args, "lang"),
	           *text = str_arg(x->args, "text");
	if (id == NULL || lang == NULL || text == NULL) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: notice, lang and text are required");
		return FXB_ERR_MISSING;
	}
	int64_t change = 0;
	enum fxb_err e =
	    daemon_notice_edit(x->d, id, lang, text, x->op->name, &change,
	                       out->msg, sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	out->scope = id;
	out->reply.result = IPC_CMD_APPLIED;
	out->reply.change = change;
	return FXB_OK;
}

/* Tightening protects, like a suspension: one person, with the suspend
 * role.  Loosening reopens risk, like a reset: the reset role, and a
 * request another person approves.  So the table names no role: this
 * handler checks it once it knows which way the value moves. */
static enum fxb_err
cmd_threshold(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	const char *rule = str_arg(x->args, "rule"),
	           *key = str_arg(x->args, "key"),
	           *value = str_arg(x->args, "value");
	struct threshold_change tc;
	if (rule == NULL || key == NULL || value == NULL) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: rule, key and value are required");
		return FXB_ERR_MISSING;
	}
	enum fxb_err e =
	    daemon_threshold(x->d, rule, key, value, false, 0, x->op->name,
	                     &tc, out->msg, sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	if (tc.to_cmp == tc.from_cmp) {
		snprintf(out->msg, sizeof(out->msg),
		         "no change: %s of %s is %s already", key, rule,
		         tc.from);
		return FXB_ERR_RANGE;
	}
	bool loosens = tc.to_cmp > tc.from_cmp;
	json_object_set_new(x->row, "value_from", json_string(tc.from));
	json_object_set_new(x->row, "value_to", json_string(tc.to));
	json_object_set_new(x->row, "loosens", json_boolean(loosens));
	out->scope = rule;
	if (!loosens) {
		if (!(x->op->roles & ROLE_SUSPEND))
			return forbidden(x, out);
		e = daemon_threshold(x->d, rule, key, value, true, 0,
		                     x->op->name, &tc, out->msg,
		                     sizeof(out->msg));
		if (e != FXB_OK)
			return e;
		out->reply.result = IPC_CMD_APPLIED;
		out->reply.change = tc.seq;
		return FXB_OK;
	}
	if (!(x->op->roles & ROLE_RESET))
		return forbidden(x, out);
	struct request q;
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "threshold");
	snprintf(q.rule, sizeof(q.rule), "%s", rule);
	snprintf(q.change.rule, sizeof(q.change.rule), "%s", rule);
	snprintf(q.change.key, sizeof(q.change.key), "%s", key);
	snprintf(q.change.value, sizeof(q.change.value), "%s", value);
	snprintf(q.from, sizeof(q.from), "%s", tc.from);
	return file_request(x, out, &q);
}

/* ---- requests ---- */

/* A lift or reset names the suspension it ends: the one in force now,
 * or the request is refused (an approval cannot reopen a newer trip). */
static enum fxb_err
request_end(const struct cmd_ctx *x, struct cmd_outcome *out,
            struct request *q, const char *name)
{
	json_t *js = json_object_get(x->args, "suspension");
	q->suspension = json_integer_value(js);
	if (!json_is_integer(js) || q->suspension <= 0 ||
	    current_suspension(x->d, q) != q->suspension) {
		snprintf(out->msg, sizeof(out->msg),
		         "suspension %lld is not the current one of %s",
		         (long long)q->suspension, name);
		return FXB_ERR_STALE_APPROVAL;
	}
	out->scope = name;
	out->suspension = q->suspension;
	return file_request(x, out, q);
}

static enum fxb_err
cmd_lift(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	struct request q;
	enum fxb_err code = FXB_OK;
	const char *name = NULL;
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "lift");
	if (scope_arg(x->d, x->args, &q.on_pair, &name, &code, out->msg,
	              sizeof(out->msg)) < 0)
		return code;
	snprintf(q.scope, sizeof(q.scope), "%s", name);
	return request_end(x, out, &q, name);
}

static enum fxb_err
cmd_reset(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	struct request q;
	const char *rule = str_arg(x->args, "rule");
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "reset");
	if (rule == NULL ||
	    breaker_rule_find(x->d->engine, rule, strlen(rule)) < 0) {
		snprintf(out->msg, sizeof(out->msg), "args: no such rule");
		return FXB_ERR_UNKNOWN_RULE;
	}
	snprintf(q.rule, sizeof(q.rule), "%s", rule);
	return request_end(x, out, &q, rule);
}

/* A cancel keeps a product open that would have closed: a request, like
 * a lift, bound to the plan pending now. */
static enum fxb_err
cmd_cancel(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	struct request q;
	struct breaker_plan p;
	enum fxb_err code = FXB_OK;
	const char *name = NULL;
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "cancel");
	int32_t idx = scope_arg(x->d, x->args, &q.on_pair, &name, &code,
	                        out->msg, sizeof(out->msg));
	if (idx < 0)
		return code;
	if (!breaker_plan_status(x->d->engine, q.on_pair, idx, &p)) {
		snprintf(out->msg, sizeof(out->msg),
		         "%s %s has no planned suspension pending (one that "
		         "started is lifted instead)",
		         q.on_pair ? "pair" : "product", name);
		return FXB_ERR_NOT_PLANNED;
	}
	snprintf(q.scope, sizeof(q.scope), "%s", name);
	q.plan = p.plan;
	json_object_set_new(x->row, "plan", json_integer(p.plan));
	out->scope = name;
	out->reply.plan = p.plan;
	return file_request(x, out, &q);
}

/* enrol and revoke: whom, checked against the roster now. */
static enum fxb_err
cmd_operator_change(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	const struct roster *r = &x->d->cmds->roster;
	struct request q;
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "%s", x->cmd);
	enum fxb_err e =
	    strcmp(x->cmd, "enrol") == 0
	        ? roster_enrol_subject(r, x->args, &q.subject, out->msg,
	                               sizeof(out->msg))
	        : roster_revoke_subject(r, x->args, &q.subject, out->msg,
	                                sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	json_object_set_new(x->row, "subject", json_string(q.subject.key_id));
	file_request(x, out, &q);
	out->scope = out->request.subject.name;
	return FXB_OK;
}

/* cluster_add and cluster_remove: node, checked against this node's
 * config and raft's members as they are now (and again when approved:
 * they may have changed).  address gets its raft_address. */
static enum fxb_err
member_check(struct daemon *d, bool add, json_int_t node, char *address,
             size_t acap, char *msg, size_t cap)
{
	const struct cluster_conf *cc = &d->svc.cluster;
	if (d->cluster == NULL) {
		snprintf(msg, cap,
		         "this service is one node (no [cluster]): it has no "
		         "members to change");
		return FXB_ERR_CONFIG;
	}
	if (node < 1 || node > 65535) {
		snprintf(msg, cap, "args: node is a [peer]'s id, 1 to 65535");
		return FXB_ERR_RANGE;
	}
	const struct peer_conf *p = NULL;
	for (size_t i = 0; i < cc->npeers; i++)
		if (cc->peers[i].id == node)
			p = &cc->peers[i];
	struct cluster_member mem[CLUSTER_PEERS_MAX + 4];
	size_t n = cluster_members(d->cluster, mem, CLUSTER_PEERS_MAX + 4);
	const struct cluster_member *m = NULL;
	unsigned voters = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(mem[i].role, "voter") == 0)
			voters++;
		if (mem[i].id == node)
			m = &mem[i];
	}
	if (add && p == NULL) {
		snprintf(msg, cap,
		         "no [peer %u] in this node's config: add it (with "
		         "voter = no) to every node's file first",
		         (unsigned)node);
		return FXB_ERR_CONFIG;
	}
	/* Removing itself would leave the cluster leaderless in the
	 * middle of the change; handing over leadership first is not
	 * something this service does. */
	if (!add && node == cc->node_id) {
		snprintf(msg, cap,
		         "node %u is the leader, which does not remove itself "
		         "(handing over leadership is not supported): stop "
		         "it, then ask the node elected instead",
		         (unsigned)node);
		return FXB_ERR_RANGE;
	}
	if (!add && m != NULL && strcmp(m->role, "voter") == 0 &&
	    voters - 1 < 2) {
		snprintf(msg, cap,
		         "removing node %u would leave %u voter: a cluster "
		         "keeps at least 2 (add a node first)",
		         (unsigned)node, voters - 1);
		return FXB_ERR_RANGE;
	}
	snprintf(address, acap, "%s",
	         p != NULL   ? p->raft_address
	         : m != NULL ? m->raft_address
	                     : "");
	return FXB_OK;
}

/* A membership change waits for a second admin, like an operator
 * change: a node added is trusted with the whole log. */
static enum fxb_err
cmd_cluster_change(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	bool add = strcmp(x->cmd, "cluster_add") == 0;
	json_t *jn = json_object_get(x->args, "node");
	char address[BREAKER_TEXT_MAX + 1];
	if (jn == NULL) {
		snprintf(out->msg, sizeof(out->msg),
		         "args: node (a [peer]'s id) is required");
		return FXB_ERR_MISSING;
	}
	enum fxb_err e =
	    member_check(x->d, add, json_integer_value(jn), address,
	                 sizeof(address), out->msg, sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	struct request q;
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "%s", x->cmd);
	q.node = (unsigned)json_integer_value(jn);
	json_object_set_new(x->row, "raft_address", json_string(address));
	return file_request(x, out, &q);
}

/* ---- approvals ---- */

/* An approved membership change: checked again, then handed to
 * command.c, which carries it out once mu is released and answers once
 * raft has committed it (or refused). */
static enum fxb_err
approve_member(const struct cmd_ctx *x, const struct request *q,
               struct cmd_outcome *out)
{
	struct daemon *d = x->d;
	bool add = strcmp(q->cmd, "cluster_add") == 0;
	char address[BREAKER_TEXT_MAX + 1];
	enum fxb_err e =
	    member_check(d, add, q->node, address, sizeof(address), out->msg,
	                 sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	if (d->cmds->member_busy) {
		snprintf(out->msg, sizeof(out->msg),
		         "another membership change is under way: approve "
		         "again once it is done");
		return FXB_ERR_BUSY;
	}
	d->cmds->member_busy = true;
	out->member.deferred = true;
	out->member.add = add;
	out->member.node = q->node;
	out->member.request = q->seq;
	snprintf(out->member.raft_address, sizeof(out->member.raft_address),
	         "%s", address);
	snprintf(out->member.requested_by, sizeof(out->member.requested_by),
	         "%s", q->name);
	json_object_set_new(x->row, "request", json_integer(q->seq));
	json_object_set_new(x->row, "requested_by", json_string(q->name));
	json_object_set_new(x->row, "node", json_integer(q->node));
	out->reply.result = IPC_CMD_APPLIED;
	out->reply.request = q->seq;
	return FXB_OK;
}

/* Carries out an approved threshold change, unless another change since
 * left it asking over a value no longer in force. */
static enum fxb_err
approve_threshold(const struct cmd_ctx *x, const struct request *q,
                  struct cmd_outcome *out)
{
	struct threshold_change tc;
	char who[160];
	snprintf(who, sizeof(who), "%s, approved by %s", q->name, x->op->name);
	enum fxb_err e = daemon_threshold(x->d, q->change.rule, q->change.key,
	                                  q->change.value, false, 0, who, &tc,
	                                  out->msg, sizeof(out->msg));
	if (e == FXB_OK && strcmp(tc.from, q->from) != 0) {
		snprintf(
		    out->msg, sizeof(out->msg),
		    "%.80s of %.64s is %.32s now, not %.32s as when asked: "
		    "ask again",
		    q->change.key, q->rule, tc.from, q->from);
		return FXB_ERR_STALE_APPROVAL;
	}
	if (e == FXB_OK)
		e = daemon_threshold(x->d, q->change.rule, q->change.key,
		                     q->change.value, true, q->seq, who, &tc,
		                     out->msg, sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	out->scope = q->rule;
	json_object_set_new(x->row, "value_from", json_string(tc.from));
	json_object_set_new(x->row, "value_to", json_string(tc.to));
	out->reply.change = tc.seq;
	return FXB_OK;
}

/* Carries out an approved cancel, unless the plan it names is no longer
 * the scope's pending one: started (it is lifted instead, by its own
 * request) or cancelled meanwhile.  That approval is stale, as a lift's
 * of a suspension no longer in force: nothing is cancelled, and a newer
 * plan of the same scope is not touched. */
static enum fxb_err
approve_cancel(const struct cmd_ctx *x, const struct request *q,
               struct cmd_outcome *out)
{
	struct daemon *d = x->d;
	struct breaker_plan p;
	int32_t idx =
	    q->on_pair
	        ? breaker_pair_find(d->engine, q->scope, strlen(q->scope))
	        : breaker_product_find(d->engine, q->scope, strlen(q->scope));
	if (idx < 0 || !breaker_plan_status(d->engine, q->on_pair, idx, &p) ||
	    p.plan != q->plan) {
		snprintf(
		    out->msg, sizeof(out->msg),
		    "plan %lld of %s is no longer pending (it started, or "
		    "was cancelled): nothing is cancelled",
		    (long long)q->plan, q->scope);
		return FXB_ERR_STALE_APPROVAL;
	}
	int64_t plan = 0;
	enum fxb_err e =
	    daemon_force_cancel(d, x->now, q->on_pair, idx, &plan);
	if (e != FXB_OK) {
		snprintf(out->msg, sizeof(out->msg), "%s", fxb_strerror(e));
		return e;
	}
	out->scope = q->scope;
	json_object_set_new(x->row, "plan", json_integer(plan));
	out->reply.plan = plan;
	return FXB_OK;
}

/* Carries out approved request q: its effect, with what the reply
 * and the row say of it. */
static enum fxb_err
approve_effect(const struct cmd_ctx *x, const struct request *q,
               struct cmd_outcome *out)
{
	struct daemon *d = x->d;
	enum fxb_err e;
	if (foureyes_is_operator_change(q)) {
		/* x->op points into the roster, which this changes. */
		char approver[sizeof(x->op->name)];
		snprintf(approver, sizeof(approver), "%s", x->op->name);
		int64_t change = 0;
		e = roster_apply(d, q, approver, &change, out->msg,
		                 sizeof(out->msg));
		if (e != FXB_OK)
			return e;
		out->scope = q->subject.name;
		out->reply.change = change;
		return FXB_OK;
	}
	if (strcmp(q->cmd, "threshold") == 0)
		return approve_threshold(x, q, out);
	if (strcmp(q->cmd, "cancel") == 0)
		return approve_cancel(x, q, out);
	if (strcmp(q->cmd, "reset") == 0) {
		e = breaker_reset(
		    d->engine, x->now,
		    breaker_rule_find(d->engine, q->rule, strlen(q->rule)));
		out->scope = q->rule;
	} else {
		int32_t idx = q->on_pair
		                  ? breaker_pair_find(d->engine, q->scope,
		                                      strlen(q->scope))
		                  : breaker_product_find(d->engine, q->scope,
		                                         strlen(q->scope));
		e = breaker_force_lift(d->engine, x->now, q->on_pair, idx);
		out->scope = q->scope;
	}
	if (e != FXB_OK)
		snprintf(out->msg, sizeof(out->msg), "%s", fxb_strerror(e));
	return e;
}

/* The table lets approvers and admins in; which of the two an approval
 * takes depends on the request (foureyes_approve says). */
static enum fxb_err
cmd_approve(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	struct daemon *d = x->d;
	json_t *jr = json_object_get(x->args, "request");
	json_t *js = json_object_get(x->args, "suspension");
	struct approval a = {
	    .request_given = json_is_integer(jr),
	    .request = json_integer_value(jr),
	    .suspension_given = js != NULL,
	    .suspension_integer = json_is_integer(js),
	    .suspension = json_is_integer(js) ? json_integer_value(js) : 0,
	    .operator= str_arg(x->args, "operator"),
	};
	struct foureyes_world w = {current_suspension, roster_of, d};
	struct request *q;
	enum fxb_err e =
	    foureyes_approve(&d->cmds->requests, &a, x->op, x->now, &w, &q,
	                     out->msg, sizeof(out->msg));
	if (e != FXB_OK)
		return e;
	/* Approving needs the log: refuse while it is failing. */
	if (atomic_load(&d->degraded)) {
		snprintf(out->msg, sizeof(out->msg),
		         "the suspension log cannot be written: nothing is "
		         "approved");
		return FXB_ERR_LEDGER;
	}
	if (foureyes_is_cluster_change(q))
		return approve_member(x, q, out);
	e = approve_effect(x, q, out);
	if (e != FXB_OK)
		return e;
	q->done = true;
	out->suspension = q->suspension;
	json_object_set_new(x->row, "request", json_integer(q->seq));
	json_object_set_new(x->row, "requested_by", json_string(q->name));
	out->reply.result = IPC_CMD_APPLIED;
	out->reply.request = q->seq;
	out->reply.suspension = q->suspension;
	return FXB_OK;
}

/* ---- the table ---- */

/* The args each command takes are not here: they are ipc_trust.h's
 * table, the one fxbreakerctl offers its options from. */
static const struct cmd_spec cmd_specs[] = {
    {"suspend", ROLE_SUSPEND, cmd_suspend},
    {"lift", ROLE_RESET, cmd_lift},
    {"reset", ROLE_RESET, cmd_reset},
    {"threshold", 0, cmd_threshold},
    {"notice", ROLE_SUSPEND, cmd_notice},
    {"enrol", ROLE_ADMIN, cmd_operator_change},
    {"revoke", ROLE_ADMIN, cmd_operator_change},
    {"approve", ROLE_APPROVE | ROLE_ADMIN, cmd_approve},
    {"cluster_add", ROLE_ADMIN, cmd_cluster_change},
    {"cluster_remove", ROLE_ADMIN, cmd_cluster_change},
    {"cancel", ROLE_RESET, cmd_cancel},
};
#define NSPECS (sizeof(cmd_specs) / sizeof(cmd_specs[0]))

const struct cmd_spec *
cmd_apply_table(size_t *n)
{
	*n = NSPECS;
	return cmd_specs;
}

const struct cmd_spec *
cmd_apply_find(const char *name)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (strcmp(name, cmd_specs[i].name) == 0)
			return &cmd_specs[i];
	return NULL;
}

/* false (msg says which) if args has a key s does not take, or one of
 * the wrong JSON type: a number where a notice id belongs must not read
 * as "no such notice", nor a string "until" as no end at all. */
static bool
args_known(const struct cmd_spec *s, json_t *args, char *msg, size_t cap)
{
	const struct ipc_trust_command *c = ipc_trust_command_find(s->name);
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v)
	{
		if (c == NULL || !ipc_trust_command_takes(c, k)) {
			snprintf(msg, cap,
			         "args: unknown field \"%.32s\" for %s", k,
			         s->name);
			return false;
		}
		bool integer = ipc_trust_arg_is_integer(k);
		if (integer ? !json_is_integer(v) : !json_is_string(v)) {
			snprintf(msg, cap, "args: %s must be %s", k,
			         integer ? "an integer" : "a string");
			return false;
		}
	}
	return true;
}

static enum fxb_err
apply(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	const struct cmd_spec *s = cmd_apply_find(x->cmd);
	const char *reason = str_arg(x->args, "reason");
	/* An unknown cmd still needs a reason: it is refused as unknown
	 * only after that. */
	if (s != NULL && !args_known(s, x->args, out->msg, sizeof(out->msg)))
		return FXB_ERR_SYNTAX;
	if (reason == NULL || reason[0] == '\0') {
		snprintf(out->msg, sizeof(out->msg),
		         "args: a reason is required");
		return FXB_ERR_MISSING;
	}
	if (s == NULL) {
		snprintf(out->msg, sizeof(out->msg), "unknown cmd \"%.32s\"",
		         x->cmd);
		return FXB_ERR_UNKNOWN_OP;
	}
	if (s->role != 0 && !(x->op->roles & s->role))
		return forbidden(x, out);
	return s->handler(x, out);
}

void
cmd_apply(const struct cmd_ctx *x, struct cmd_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->code = apply(x, out);
	/* A refusal files nothing and answers with its error alone. */
	if (out->code != FXB_OK) {
		memset(&out->reply, 0, sizeof(out->reply));
		out->pending = false;
	}
}

void
cmd_apply_filed(struct daemon *d, struct cmd_outcome *out, int64_t seq)
{
	if (!out->pending)
		return;
	out->request.seq = seq;
	foureyes_add(&d->cmds->requests, &out->request);
	out->reply.request = seq;
}
