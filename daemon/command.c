/*
 * command.c: where a signed operator command is verified, on the admin
 * socket (docs/PROTOCOL.md, "Signed operator commands").
 *
 * A command is checked in a fixed order -- signature, replay, deployment,
 * time, then (cmd_apply.c) role and what it asks -- and every command that
 * got as far as a known operator's good signature becomes a `command` row,
 * accepted or rejected, committed before its reply.  The memory of nonces
 * (and, through foureyes.c, of pending requests) is rebuilt from the log
 * at start, so a command retried after a crash gets its stored answer.
 *
 * commands_handle takes the engine lock and releases it itself: the
 * verifying, applying and logging under it return what to send, which is
 * parked for the row's commit only once the lock is gone.  An approved
 * membership change is the exception: it is carried out on a thread of
 * its own (member_main), and its row and reply follow raft's verdict.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"

/* ---- the trust rules a command is verified by ---- */

/* What a signature covers, a key id, a nonce's spelling and a command's
 * longest life are ipc_trust.h's, shared with fxbreakerctl. */

#define NONCES_MAX      65536        /* remembered replies, newest kept */
#define SKEW_MS         120000       /* issued_at within +-120 s */
#define NONCE_MEMORY_MS (15 * 60000) /* longer than any command lives */
_Static_assert(NONCE_MEMORY_MS > IPC_TRUST_LIFETIME_MAX_MS + SKEW_MS,
               "a nonce is remembered while its command can still pass");

struct nonce {
	char key[IPC_TRUST_KEY_ID_SIZE + IPC_TRUST_NONCE_SIZE]; /* id/nonce */
	fxb_time seen;
	int64_t seq;   /* the command row: a resend waits for it too */
	bool rejected; /* the reply refused it: nothing was done */
	char *reply;
};

struct commands *
commands_new(void)
{
	struct commands *c = calloc(1, sizeof(*c));
	if (c != NULL &&
	    (c->nonces = calloc(NONCES_MAX, sizeof(*c->nonces))) == NULL) {
		free(c);
		return NULL;
	}
	if (c != NULL)
		pthread_cond_init(&c->member_cv, NULL);
	return c;
}

void
commands_free(struct commands *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NONCES_MAX; i++)
		free(c->nonces[i].reply);
	free(c->nonces);
	pthread_cond_destroy(&c->member_cv);
	free(c);
}

/* ---- nonces ---- */

static struct nonce *
nonce_find(struct commands *c, const char *key)
{
	for (size_t i = 0; i < c->nnonces; i++) {
		struct nonce *n = &c->nonces[(c->nonce_head + i) % NONCES_MAX];
		if (strcmp(n->key, key) == 0)
			return n;
	}
	return NULL;
}

static void
nonce_remember(struct commands *c, const char *key, fxb_time t, int64_t seq,
               bool rejected, const char *reply)
{
	struct nonce *n;
	if (c->nnonces == NONCES_MAX) {
		n = &c->nonces[c->nonce_head];
		c->nonce_head = (c->nonce_head + 1) % NONCES_MAX;
		free(n->reply);
	} else {
		n = &c->nonces[(c->nonce_head + c->nnonces) % NONCES_MAX];
		c->nnonces++;
	}
	snprintf(n->key, sizeof(n->key), "%s", key);
	n->seen = t;
	n->seq = seq;
	n->rejected = rejected;
	n->reply = strdup(reply);
}

/* ---- the envelope ---- */

/* A signed body, as commands_body_parse reads it. */
struct envelope {
	const char *service, *opid, *nonce, *cmd;
	json_int_t issued, expires;
	json_t *args;
};

/* A signed body has exactly these fields (docs/PROTOCOL.md): an unknown
 * one is refused, not ignored, so that what was signed is what is done. */
static const char *const body_keys[] = {
    "v",          "service_id", "operator", "issued_at",
    "expires_at", "nonce",      "cmd",      "args",
};

/* Reads the body's fields; false with msg if the body is not exactly a
 * command (each is refused as syntax: it changes nothing). */
static bool
body_fields(json_t *b, const char **service, const char **opid,
            json_int_t *issued, json_int_t *expires, const char **nonce,
            const char **cmd, json_t **args, char *msg, size_t cap)
{
	const char *k;
	json_t *val;
	json_object_foreach(b, k, val)
	{
		size_t i = 0, n = sizeof(body_keys) / sizeof(body_keys[0]);
		while (i < n && strcmp(k, body_keys[i]) != 0)
			i++;
		if (i == n) {
			snprintf(msg, cap, "body: unknown field \"%.32s\"", k);
			return false;
		}
	}
	json_t *v = json_object_get(b, "v");
	*service = json_string_value(json_object_get(b, "service_id"));
	*opid = json_string_value(json_object_get(b, "operator"));
	*nonce = json_string_value(json_object_get(b, "nonce"));
	*cmd = json_string_value(json_object_get(b, "cmd"));
	*args = json_object_get(b, "args");
	json_t *ji = json_object_get(b, "issued_at");
	json_t *je = json_object_get(b, "expires_at");
	if (!json_is_integer(v) || json_integer_value(v) != 1 ||
	    *service == NULL || *opid == NULL || *nonce == NULL ||
	    *cmd == NULL || !json_is_object(*args) || !json_is_integer(ji) ||
	    !json_is_integer(je)) {
		snprintf(msg, cap,
		         "body: not a command (v, service_id, operator, "
		         "issued_at, expires_at, nonce, cmd, args)");
		return false;
	}
	/* One spelling per nonce: an upper-case twin would be a second
	 * command with the same random bits. */
	if (!ipc_trust_nonce_ok(*nonce)) {
		snprintf(msg, cap, "body: nonce: " IPC_TRUST_NONCE_RULE);
		return false;
	}
	*issued = json_integer_value(ji);
	*expires = json_integer_value(je);
	return true;
}

json_t *
commands_body_parse(const char *text, const char **service, const char **opid,
                    json_int_t *issued, json_int_t *expires,
                    const char **nonce, const char **cmd, json_t **args,
                    char *msg, size_t cap)
{
	json_error_t jerr;
	json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	/* body_fields says more where it can (an unknown field, the
	 * nonce's spelling). */
	snprintf(msg, cap,
	         "body: not a command (v, service_id, operator, "
	         "issued_at, expires_at, nonce, cmd, args)");
	if (body == NULL || !json_is_object(body) ||
	    !body_fields(body, service, opid, issued, expires, nonce, cmd,
	                 args, msg, cap)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/*
 * The clock a command's time window is judged on (docs/PROTOCOL.md,
 * "Time windows").  A window is issued_at within +-SKEW_MS of a clock
 * and expires_at after it.  The engine's clock comes first (it never goes
 * back); the wall clock is the other, so that a command signed on this
 * machine after its clock stepped still works.  Outside both, only a
 * suspend is taken: it only ever tightens, an operator must always be
 * able to stop trading, and a replay of one (after its nonce is
 * forgotten) can do no more than suspend again, in a row naming its
 * signer and skew.  Everything else is a request or an approval bound to
 * a request number and a suspension, so a replay opens nothing.  BAD: an
 * envelope no clock could make right (expires before it was issued, or
 * a lifetime over the maximum).
 */
enum time_window { WINDOW_ENGINE, WINDOW_WALL, WINDOW_OUTSIDE, WINDOW_BAD };
static const char *const time_window_name[] = {"engine", "wall", "outside",
                                               "bad"};

static enum time_window
time_window(json_int_t issued, json_int_t expires, fxb_time engine,
            fxb_time wall)
{
	/* Years 1970 to 9999 only: no arithmetic below can overflow. */
	if (issued < 0 || issued > CMD_TIME_MAX_MS || expires <= issued ||
	    expires - issued > IPC_TRUST_LIFETIME_MAX_MS)
		return WINDOW_BAD;
	if (issued >= engine - SKEW_MS && issued <= engine + SKEW_MS &&
	    expires > engine)
		return WINDOW_ENGINE;
	if (issued >= wall - SKEW_MS && issued <= wall + SKEW_MS &&
	    expires > wall)
		return WINDOW_WALL;
	return WINDOW_OUTSIDE;
}

/* ---- the answer ---- */

/* What commands_handle sends once mu is released: reply, parked until
 * row seq commits (rejected: it did nothing), or, park false, a failure
 * to answer (a stored reply that could not be copied). */
struct answer {
	char *reply;
	int64_t seq;
	bool rejected;
	bool park;
	/* An approved membership change, to carry out once mu is
	 * released; or busy: this very approval is being carried out. */
	struct member_job *job;
	bool busy;
};

/* An approved membership change, carried out on a thread of its own:
 * cluster_change blocks until raft has committed it -- seconds while a
 * new node catches up -- and must not hold mu meanwhile (the loop
 * thread may take it), nor an IPC thread.  The approving call waits
 * for its reply as long. */
struct member_job {
	struct daemon *d;
	struct ipc_call *call;
	json_t *row;
	struct cmd_outcome out;
	char cmd[16];
	char nonce_key[64];
};

/* The command row's text, built once its seq is known: a four-eyes
 * request's id is that seq, and the row quotes the reply that quotes
 * it. */
struct row_text {
	struct daemon *d;
	json_t *row;
	struct cmd_outcome *out; /* NULL: reply is final already */
	char *reply;
};

static char *
row_text(void *arg, int64_t seq)
{
	struct row_text *rt = arg;
	if (rt->out != NULL) {
		cmd_apply_filed(rt->d, rt->out, seq);
		rt->reply = ipc_reply_cmd(&rt->out->reply);
	}
	json_object_set_new(rt->row, "reply", json_string(rt->reply));
	return json_dumps(rt->row, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/*
 * Logs the command row (who, what, from where, result, reply) and fills
 * a with the reply to send once that row -- and every row before it, such
 * as the effect -- has committed.  Remembers the reply under nonce_key
 * (NULL: none).  out is the accepted command's outcome (its reply is
 * dumped once the row's seq is in it), or NULL with reply the rejection
 * (taken).  mu held.
 */
static void
log_command(struct daemon *d, json_t *row, const char *scope,
            int64_t suspension, struct cmd_outcome *out, char *reply,
            const char *nonce_key, struct answer *a)
{
	const char *result = json_string_value(json_object_get(row, "result"));
	struct row_text rt = {d, row, out, reply};
	a->rejected = result != NULL && strcmp(result, "rejected") == 0;
	a->seq = daemon_log_command_with(d, scope, suspension, row_text, &rt);
	a->reply = rt.reply;
	a->park = true;
	if (nonce_key != NULL && a->reply != NULL)
		nonce_remember(d->cmds, nonce_key, breaker_now(d->engine),
		               a->seq, a->rejected, a->reply);
	daemon_timer_poke(d);
}

/* A command that did not authenticate is still a row (who it claimed
 * to be, from where, why refused); no nonce is remembered for it. */
static void
reject_unauthenticated(struct daemon *d, struct ipc_call *call,
                       const struct envelope *env, enum fxb_err code,
                       const char *msg, struct answer *a)
{
	json_t *row = json_object();
	json_object_set_new(row, "cmd", json_string(env->cmd));
	json_object_set_new(row, "operator", json_string(env->opid));
	json_object_set_new(row, "from", json_string(ipc_call_peer(call)));
	json_object_set_new(row, "result", json_string("rejected"));
	json_object_set_new(row, "error", json_string(fxb_errname(code)));
	json_object_set_new(row, "why", json_string(msg));
	log_command(d, row, NULL, 0, NULL, ipc_reply_cmd_rejected(code, msg),
	            NULL, a);
	json_decref(row);
	metrics_command(d, env->cmd, METRICS_CMD_REJECTED);
}

/* ---- a command judged ---- */

/* The row every authenticated command gets: who, what, from where, its
 * envelope, and the clock it was judged on if not the engine's. */
static json_t *
row_new(struct ipc_call *call, const struct operator* op,
        const struct envelope *env, enum time_window win, fxb_time now,
        fxb_time wall)
{
	json_t *row = json_object();
	json_object_set_new(row, "cmd", json_string(env->cmd));
	json_object_set_new(row, "operator", json_string(op->key_id));
	json_object_set_new(row, "name", json_string(op->name));
	json_object_set_new(row, "from", json_string(ipc_call_peer(call)));
	json_object_set_new(row, "nonce", json_string(env->nonce));
	json_object_set_new(row, "issued_at", json_integer(env->issued));
	json_object_set_new(row, "expires_at", json_integer(env->expires));
	json_object_set_new(row, "args", json_deep_copy(env->args));
	/* Judged on another clock than the engine's: how far off it was,
	 * for the auditor (the engine's own window adds nothing). */
	if (win != WINDOW_ENGINE) {
		json_object_set_new(row, "window",
		                    json_string(time_window_name[win]));
		json_object_set_new(row, "skew_ms",
		                    json_integer(env->issued - now));
		json_object_set_new(row, "wall", json_integer(wall));
	}
	return row;
}

/* The deployment and the time window: FXB_OK with *shift, what turns the
 * signer's clock into the engine's, or why not (msg). */
static enum fxb_err
envelope_in_force(struct daemon *d, const struct envelope *env,
                  enum time_window win, fxb_time now, fxb_time wall,
                  int64_t *shift, char *msg, size_t cap)
{
	if (strcmp(env->service, d->svc.service_id) != 0) {
		snprintf(msg, cap, "signed for \"%.64s\", this is \"%s\"",
		         env->service, d->svc.service_id);
		return FXB_ERR_WRONG_SERVICE;
	}
	if (win == WINDOW_BAD ||
	    (win == WINDOW_OUTSIDE && strcmp(env->cmd, "suspend") != 0)) {
		snprintf(
		    msg, cap,
		    "issued %lld ms from the service's clock (%lld ms from "
		    "the wall clock), expires in %lld ms (allowed: +-%d s "
		    "of either, at most %d s; repeat with --issued-at %lld "
		    "to sign on the service's clock)",
		    (long long)(env->issued - now),
		    (long long)(env->issued - wall),
		    (long long)(env->expires - now), SKEW_MS / 1000,
		    IPC_TRUST_LIFETIME_MAX_MS / 1000, (long long)now);
		return FXB_ERR_EXPIRED;
	}
	/* The command's own times, read on the clock it was judged by, in
	 * engine time. */
	*shift = win == WINDOW_WALL      ? now - wall
	         : win == WINDOW_OUTSIDE ? now - env->issued
	                                 : 0;
	return FXB_OK;
}

/* An authenticated, new command: judged, applied if in force, logged,
 * remembered under nonce_key.  mu held. */
static void
judge(struct daemon *d, struct ipc_call *call, const struct operator* op,
      const struct envelope *env, const char *nonce_key, struct answer *a)
{
	fxb_time now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	fxb_time wall = clock_now_ms();
	enum time_window win =
	    time_window(env->issued, env->expires, now, wall);
	json_t *row = row_new(call, op, env, win, now, wall);
	struct cmd_outcome out;
	int64_t shift = 0;
	memset(&out, 0, sizeof(out));
	out.code = envelope_in_force(d, env, win, now, wall, &shift, out.msg,
	                             sizeof(out.msg));
	if (out.code == FXB_OK) {
		struct cmd_ctx x = {.d = d,
		                    .op = op,
		                    .cmd = env->cmd,
		                    .args = env->args,
		                    .now = breaker_now(d->engine),
		                    .expires = env->expires + shift,
		                    .shift = shift,
		                    .row = row};
		cmd_apply(&x, &out);
	}
	if (out.code == FXB_OK && out.member.deferred) {
		/* Its row waits for the change: logged by member_main. */
		struct member_job *j = calloc(1, sizeof(*j));
		if (j != NULL) {
			j->d = d;
			j->call = call;
			j->row = json_incref(row);
			j->out = out;
			snprintf(j->cmd, sizeof(j->cmd), "%s", env->cmd);
			snprintf(j->nonce_key, sizeof(j->nonce_key), "%s",
			         nonce_key);
			snprintf(d->cmds->member_nonce,
			         sizeof(d->cmds->member_nonce), "%s",
			         nonce_key);
			a->job = j;
			json_decref(row);
			return;
		}
		d->cmds->member_busy = false;
		memset(&out.reply, 0, sizeof(out.reply));
		out.code = FXB_ERR_NOMEM;
		snprintf(out.msg, sizeof(out.msg), "%s",
		         fxb_strerror(FXB_ERR_NOMEM));
	}
	if (out.reply.result == 0) {
		if (out.code == FXB_OK)
			out.code = FXB_ERR_NOMEM;
		json_object_set_new(row, "result", json_string("rejected"));
		json_object_set_new(row, "error",
		                    json_string(fxb_errname(out.code)));
		json_object_set_new(row, "why", json_string(out.msg));
		log_command(d, row, out.scope, out.suspension, NULL,
		            ipc_reply_cmd_rejected(out.code, out.msg),
		            nonce_key, a);
		metrics_command(d, env->cmd, METRICS_CMD_REJECTED);
	} else {
		json_object_set_new(
		    row, "result",
		    json_string(out.reply.result == IPC_CMD_PENDING
		                    ? "pending"
		                    : "applied"));
		log_command(d, row, out.scope, out.suspension, &out, NULL,
		            nonce_key, a);
		metrics_command(d, env->cmd,
		                out.reply.result == IPC_CMD_PENDING
		                    ? METRICS_CMD_PENDING
		                    : METRICS_CMD_APPLIED);
	}
	json_decref(row);
}

/* Everything commands_handle does under mu: the signer, the signature,
 * the replay memory, then the command judged. */
static void
verify(struct daemon *d, struct ipc_call *call, const struct ipc_request *r,
       const struct envelope *env, struct answer *a)
{
	char key[64];
	const struct operator* op = roster_find(&d->cmds->roster, env->opid);
	if (op == NULL) {
		reject_unauthenticated(d, call, env, FXB_ERR_UNKNOWN_OPERATOR,
		                       "no such operator (or revoked)", a);
		return;
	}
	if (!ipc_trust_verify(r->body, strlen(r->body), r->signature,
	                      op->pk)) {
		reject_unauthenticated(
		    d, call, env, FXB_ERR_BAD_SIGNATURE,
		    "the signature does not verify for this "
		    "operator",
		    a);
		return;
	}
	/* A command seen before: its stored answer, nothing done again --
	 * once its row is written, like the first answer. */
	snprintf(key, sizeof(key), "%s/%s", op->key_id, env->nonce);
	struct nonce *seen = nonce_find(d->cmds, key);
	if (seen == NULL && strcmp(key, d->cmds->member_nonce) == 0) {
		/* Resent while raft is still at it: its answer comes once
		 * (and is stored as any other). */
		a->busy = true;
		return;
	}
	if (seen != NULL) {
		a->reply = strdup(seen->reply);
		a->seq = seen->seq;
		a->rejected = seen->rejected;
		a->park = a->reply != NULL;
		metrics_command(d, env->cmd, METRICS_CMD_REPEATED);
		return;
	}
	judge(d, call, op, env, key, a);
}

/* The change done or refused: its row (and, done, the member row before
 * it) and its answer.  mu held. */
static void
member_finish(struct member_job *j, enum fxb_err e, const char *err,
              struct answer *a)
{
	struct daemon *d = j->d;
	struct cmd_outcome *out = &j->out;
	d->cmds->member_busy = false;
	d->cmds->member_nonce[0] = '\0';
	if (e != FXB_OK) {
		json_object_set_new(j->row, "result", json_string("rejected"));
		json_object_set_new(j->row, "error",
		                    json_string(fxb_errname(e)));
		json_object_set_new(j->row, "why", json_string(err));
		log_command(d, j->row, NULL, 0, NULL,
		            ipc_reply_cmd_rejected(e, err), j->nonce_key, a);
		metrics_command(d, j->cmd, METRICS_CMD_REJECTED);
		return;
	}
	struct request *q =
	    foureyes_find(&d->cmds->requests, out->member.request);
	if (q != NULL)
		q->done = true;
	json_t *det =
	    json_pack("{sIsssssssI}", "node", (json_int_t)out->member.node,
	              "raft_address", out->member.raft_address, "requested_by",
	              out->member.requested_by, "approved_by",
	              json_string_value(json_object_get(j->row, "name")),
	              "request", (json_int_t)out->member.request);
	char *text = det != NULL
	                 ? json_dumps(det, JSON_COMPACT | JSON_PRESERVE_ORDER)
	                 : NULL;
	events_service(d,
	               out->member.add ? "cluster_member_added"
	                               : "cluster_member_removed",
	               text);
	free(text);
	json_decref(det);
	json_object_set_new(j->row, "result", json_string("applied"));
	log_command(d, j->row, NULL, 0, out, NULL, j->nonce_key, a);
	metrics_command(d, j->cmd, METRICS_CMD_APPLIED);
}

static void *
member_main(void *arg)
{
	struct member_job *j = arg;
	struct daemon *d = j->d;
	char err[256] = "";
	enum fxb_err e = cluster_change(d->cluster, j->out.member.add,
	                                j->out.member.node, err, sizeof(err));
	struct answer a = {NULL, 0, false, false, NULL, false};
	pthread_mutex_lock(&d->mu);
	member_finish(j, e, err, &a);
	pthread_mutex_unlock(&d->mu);
	daemon_park_command(d, j->call, a.seq, a.reply, a.rejected);
	json_decref(j->row);
	free(j);
	/* Last: once counted out, the daemon may be freed. */
	pthread_mutex_lock(&d->mu);
	d->cmds->member_live--;
	pthread_cond_broadcast(&d->cmds->member_cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* Starts j's thread, or refuses it (stopping, or no thread to be had)
 * as if raft had. */
static void
member_start(struct daemon *d, struct member_job *j)
{
	pthread_t t;
	pthread_attr_t at;
	pthread_mutex_lock(&d->mu);
	bool go = !atomic_load(&d->stopping);
	if (go) {
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		go = pthread_create(&t, &at, member_main, j) == 0;
		pthread_attr_destroy(&at);
		if (go)
			d->cmds->member_live++;
	}
	if (go) {
		pthread_mutex_unlock(&d->mu);
		return;
	}
	struct answer a = {NULL, 0, false, false, NULL, false};
	member_finish(
	    j, atomic_load(&d->stopping) ? FXB_ERR_SHUTDOWN : FXB_ERR_NOMEM,
	    atomic_load(&d->stopping) ? "the service is stopping"
	                              : "no thread to carry it out",
	    &a);
	pthread_mutex_unlock(&d->mu);
	daemon_park_command(d, j->call, a.seq, a.reply, a.rejected);
	json_decref(j->row);
	free(j);
}

void
commands_stop(struct daemon *d)
{
	pthread_mutex_lock(&d->mu);
	while (d->cmds != NULL && d->cmds->member_live > 0)
		pthread_cond_wait(&d->cmds->member_cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

void
commands_handle(struct daemon *d, struct ipc_call *call,
                const struct ipc_request *r)
{
	struct envelope env;
	struct answer a = {NULL, 0, false, false, NULL, false};
	char msg[256];
	json_t *body = commands_body_parse(
	    r->body, &env.service, &env.opid, &env.issued, &env.expires,
	    &env.nonce, &env.cmd, &env.args, msg, sizeof(msg));
	if (body == NULL) {
		metrics_command(d, NULL, METRICS_CMD_INVALID);
		oplog_refused(ipc_call_peer(call), FXB_ERR_SYNTAX, msg);
		daemon_reply_error(call, FXB_ERR_SYNTAX, msg, r->ref);
		return;
	}
	pthread_mutex_lock(&d->mu);
	verify(d, call, r, &env, &a);
	pthread_mutex_unlock(&d->mu);
	/* env's strings point into body, and the row's scope may have:
	 * the row is made by now. */
	json_decref(body);
	if (a.job != NULL)
		member_start(d, a.job);
	else if (a.busy)
		daemon_reply_error(call, FXB_ERR_BUSY,
		                   "this approval is being carried out: send "
		                   "it again for its answer once it is done",
		                   r->ref);
	else if (a.park)
		daemon_park_command(d, call, a.seq, a.reply, a.rejected);
	else
		daemon_send_reply(call, NULL);
}

/* ---- rebuilding from the log at start ---- */

static int
restore_row(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct commands *c = arg;
	json_error_t jerr;
	json_t *o = json_loads(row->detail, 0, &jerr);
	(void)logged_at;
	if (o == NULL)
		return 0;
	const char *opid = json_string_value(json_object_get(o, "operator"));
	const char *nonce = json_string_value(json_object_get(o, "nonce"));
	const char *reply = json_string_value(json_object_get(o, "reply"));
	const char *result = json_string_value(json_object_get(o, "result"));
	const char *cmd = json_string_value(json_object_get(o, "cmd"));
	if (opid != NULL && nonce != NULL && reply != NULL) {
		char key[64];
		snprintf(key, sizeof(key), "%s/%s", opid, nonce);
		nonce_remember(
		    c, key, row->t, row->seq,
		    result != NULL && strcmp(result, "rejected") == 0, reply);
	}
	/* A pending request comes back; an applied approval finishes it,
	 * and so does any later change to the key an operator request
	 * names (as at the time). */
	const char *event = json_string_value(json_object_get(o, "event"));
	if (event != NULL && opid != NULL &&
	    (strcmp(event, "operator_enrolled") == 0 ||
	     strcmp(event, "operator_revoked") == 0)) {
		foureyes_supersede(&c->requests, opid);
	} else if (result != NULL && cmd != NULL &&
	           strcmp(result, "pending") == 0) {
		json_t *args = json_object_get(o, "args");
		struct request q;
		char why[256];
		foureyes_from_row(o, row->seq, row->t, &q);
		/* Checked again against the roster now: a key enrolled, or
		 * gone, since the request leaves nothing to approve. */
		enum fxb_err e = FXB_OK;
		if (strcmp(cmd, "enrol") == 0)
			e = roster_enrol_subject(&c->roster, args, &q.subject,
			                         why, sizeof(why));
		else if (strcmp(cmd, "revoke") == 0)
			e = roster_revoke_subject(&c->roster, args, &q.subject,
			                          why, sizeof(why));
		if (e != FXB_OK)
			q.done = true;
		foureyes_add(&c->requests, &q);
	} else if (result != NULL && cmd != NULL &&
	           strcmp(cmd, "approve") == 0 &&
	           strcmp(result, "applied") == 0) {
		struct request *q = foureyes_find(
		    &c->requests,
		    json_integer_value(json_object_get(o, "request")));
		if (q != NULL)
			q->done = true;
	}
	json_decref(o);
	return 0;
}

void
commands_restore(struct daemon *d)
{
	struct ledger_filter f;
	memset(&f, 0, sizeof(f));
	f.event = "command";
	/* From the earlier of the wall clock and the log's latest row: a
	 * command judged on the wall clock (which may be ahead of the rows'
	 * engine time) or on the engine's clock (which starts at the log's
	 * time) is remembered for as long as either clock could take it
	 * again. */
	fxb_time from = d->tb.start_wall < d->tb.ledger_last
	                    ? d->tb.start_wall
	                    : d->tb.ledger_last;
	f.from = from - NONCE_MEMORY_MS;
	ledger_query(d->ledger, &f, restore_row, d->cmds);
}
