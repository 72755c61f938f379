/*
 * commands.c: signed operator commands on the admin socket
 * (docs/PROTOCOL.md, "Signed operator commands").
 *
 * A command is checked in a fixed order -- signature, replay, deployment,
 * time, role, then what it asks -- and every command that got as far as a
 * known operator's good signature becomes a `command` row, accepted or
 * rejected, committed before its reply.  Forcing a suspension takes one
 * signature; lifting one or resetting a trip is a request that a second,
 * different person approves, bound to the request and to the suspension it
 * names (an approval cannot reopen a newer trip).  The memory of nonces and
 * pending requests is rebuilt from the log at start, so a command retried
 * after a crash gets its stored answer.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "breaker_decimal.h"
#include "daemon_impl.h"
#include "ipc_trust.h"

#define OPERATORS_MAX   256
#define NONCES_MAX      65536        /* remembered replies, newest kept */
#define REQUESTS_MAX    1024         /* pending four-eyes requests */
#define SKEW_MS         120000       /* issued_at within +-120 s */
#define LIFETIME_MAX_MS 600000       /* expires_at - issued_at <= 10 min */
#define NONCE_MEMORY_MS (15 * 60000) /* longer than any command lives */
#define TIME_MAX_MS     253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* admin: enrols and revokes operators by command (four eyes: another
 * admin approves). */
enum role {
	ROLE_SUSPEND = 1,
	ROLE_RESET = 2,
	ROLE_APPROVE = 4,
	ROLE_ADMIN = 8
};

struct operator
{
	char key_id[17];
	char name[65]; /* the person: two keys, one name, one person */
	unsigned char pk[32];
	unsigned roles;
	bool from_file; /* else enrolled by command */
};

struct nonce {
	char key[17 + 33]; /* key_id/nonce */
	fxb_time seen;
	int64_t seq;   /* the command row: a resend waits for it too */
	bool rejected; /* the reply refused it: nothing was done */
	char *reply;
};

/* A lift, reset, loosening or operator change waiting for a second
 * person. */
struct request {
	int64_t seq; /* the request's command row */
	char operator[17], name[65];
	char cmd[12]; /* "lift", "reset", "threshold", "enrol", "revoke" */
	char rule[BREAKER_ID_MAX + 1];
	char scope[BREAKER_ID_MAX + 1];
	bool on_pair;
	int64_t suspension; /* 0 for a threshold */
	/* threshold: the key, the value asked for, and the value it was
	 * asked over (an approval after another change is stale). */
	struct cmd_change change;
	char from[BREAKER_DECIMAL_BUFSZ];
	struct operator subject; /* enrol, revoke: whom */
	fxb_time expires;
	bool done;
};

/* Who may sign: the operators file's people and those enrolled by
 * command, as the log records them. */
struct roster {
	struct operator ops[OPERATORS_MAX];
	size_t nops;
};

struct commands {
	struct roster roster;
	struct nonce *nonces; /* a ring, oldest first */
	size_t nnonces, nonce_head;
	struct request reqs[REQUESTS_MAX];
	size_t nreqs;
	bool roster_loaded; /* ops seeded from the log's roster */
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
	free(c);
}

/* ---- operators ---- */

/* "suspend,reset,..." as role bits; 0 for an unknown or empty role. */
static unsigned
parse_roles(const char *s)
{
	static const struct {
		const char *name;
		unsigned role;
	} names[] = {{"suspend", ROLE_SUSPEND},
	             {"reset", ROLE_RESET},
	             {"approve", ROLE_APPROVE},
	             {"admin", ROLE_ADMIN}};
	unsigned roles = 0;
	for (;;) {
		size_t len = strcspn(s, ","), k = 0;
		while (k < 4 && !(strlen(names[k].name) == len &&
		                  strncmp(s, names[k].name, len) == 0))
			k++;
		if (k == 4)
			return 0;
		roles |= names[k].role;
		if (s[len] == '\0')
			return roles;
		s += len + 1;
	}
}

/* The index of key_id's operator in r, or -1. */
static ptrdiff_t
op_index(const struct roster *r, const char *key_id)
{
	for (size_t i = 0; i < r->nops; i++)
		if (strcmp(r->ops[i].key_id, key_id) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static const struct operator*
    op_find(const struct roster *r, const char *key_id)
{
	ptrdiff_t i = op_index(r, key_id);
	return i < 0 ? NULL : &r->ops[i];
}

/* "suspend,reset,approve,admin" or the subset held, in that order. */
static void
roles_str(unsigned roles, char out[32])
{
	snprintf(out, 32, "%s%s%s%s", roles & ROLE_SUSPEND ? "suspend," : "",
	         roles & ROLE_RESET ? "reset," : "",
	         roles & ROLE_APPROVE ? "approve," : "",
	         roles & ROLE_ADMIN ? "admin," : "");
	size_t n = strlen(out);
	if (n > 0)
		out[n - 1] = '\0';
}

/* A roster change for key_id ends every pending enrol or revoke of that
 * key: each was asked about a roster no longer in force (an old request
 * must not bring back a key revoked since, or revoke a new enrolment). */
static void
supersede_requests(struct commands *c, const char *key_id)
{
	for (size_t i = 0; i < c->nreqs; i++) {
		struct request *q = &c->reqs[i];
		if (!q->done &&
		    (strcmp(q->cmd, "enrol") == 0 ||
		     strcmp(q->cmd, "revoke") == 0) &&
		    strcmp(q->subject.key_id, key_id) == 0)
			q->done = true;
	}
}

/* An enrolment or revocation row: who, with which key and roles, and on
 * whose word: the file, or a request (seq) and its approver. */
static int64_t
log_operator_change(struct daemon *d, const char *event,
                    const struct operator* op, const struct request *q,
                    const char *approver)
{
	char roles[32], pk[65];
	roles_str(op->roles, roles);
	sodium_bin2hex(pk, sizeof(pk), op->pk, sizeof(op->pk));
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "operator", json_string(op->key_id));
	json_object_set_new(o, "name", json_string(op->name));
	json_object_set_new(o, "roles", json_string(roles));
	json_object_set_new(o, "pubkey", json_string(pk));
	json_object_set_new(o, "source",
	                    json_string(q != NULL ? "command" : "file"));
	if (q != NULL) {
		json_object_set_new(o, "request", json_integer(q->seq));
		json_object_set_new(o, "requested_by", json_string(q->name));
		json_object_set_new(o, "approved_by", json_string(approver));
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	int64_t seq = daemon_log_command(d, op->name, 0, s != NULL ? s : "{}");
	free(s);
	supersede_requests(d->cmds, op->key_id);
	return seq;
}

/* Adds one operator of the log's roster to the set to compare against. */
static int
roster_row(void *arg, const struct ledger_operator_change *ch)
{
	struct roster *r = arg;
	if (r->nops == OPERATORS_MAX)
		return 1;
	struct operator* op = & r->ops[r->nops++];
	size_t got = 0;
	memset(op, 0, sizeof(*op));
	snprintf(op->key_id, sizeof(op->key_id), "%s", ch->key_id);
	snprintf(op->name, sizeof(op->name), "%s", ch->name);
	/* Rows from before roles were logged read as no roles, so the
	 * file's roles are logged once, in full. */
	op->roles = ch->roles[0] != '\0' ? parse_roles(ch->roles) : 0;
	op->from_file = strcmp(ch->source, "command") != 0;
	if (sodium_hex2bin(op->pk, 32, ch->pubkey, strlen(ch->pubkey), NULL,
	                   &got, NULL) != 0 ||
	    got != 32)
		memset(op->pk, 0, sizeof(op->pk));
	return 0;
}

/* Reads the operators file into next.  The file is the root of trust: it
 * must be root's and writable by nobody else. */
static bool
read_operators_file(const char *path, struct roster *next)
{
	char line[512];
	struct stat sb;
	if (stat(path, &sb) != 0 || sb.st_uid != 0 || (sb.st_mode & 022)) {
		log_warn("%s: must exist, belong to root and be writable by "
		         "root alone",
		         path);
		return false;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	int lineno = 0;
	bool ok = true;
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		char name[65], rl[128], hex[130];
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		size_t got = 0;
		struct operator* op = & next->ops[next->nops];
		if (next->nops == OPERATORS_MAX ||
		    sscanf(line, "%64s %127s %129s", name, rl, hex) != 3 ||
		    (op->roles = parse_roles(rl)) == 0 ||
		    sodium_hex2bin(op->pk, 32, hex, strlen(hex), NULL, &got,
		                   NULL) != 0 ||
		    got != 32) {
			log_warn(
			    "%s:%d: expected NAME ROLE[,ROLE...] PUBKEY_HEX "
			    "(roles: suspend, reset, approve, admin)",
			    path, lineno);
			ok = false;
			break;
		}
		snprintf(op->name, sizeof(op->name), "%s", name);
		op->from_file = true;
		ipc_trust_key_id(op->pk, op->key_id);
		if (op_find(next, op->key_id) != NULL) {
			log_warn("%s:%d: this key is already listed", path,
			         lineno);
			ok = false;
			break;
		}
		next->nops++;
	}
	fclose(f);
	return ok;
}

bool
commands_check_operators(const char *path)
{
	struct roster *r = calloc(1, sizeof(*r));
	bool ok = r != NULL && read_operators_file(path, r);
	if (r == NULL)
		log_warn("out of memory");
	free(r);
	return ok;
}

bool
commands_load_operators(struct daemon *d, const char *path)
{
	struct commands *c = d->cmds;
	struct roster *now = &c->roster, next;

	/* At start the set to compare against is the one the log holds, so
	 * an unchanged file logs nothing and a key dropped while the daemon
	 * was down is logged as revoked. */
	if (!c->roster_loaded) {
		now->nops = 0;
		if (ledger_operators(d->ledger, false, roster_row, now) !=
		    FXB_OK) {
			log_warn(
			    "cannot read the operator roster from the log");
			return false;
		}
		c->roster_loaded = true;
	}
	/* No file: no operators, every command is refused. */
	memset(&next, 0, sizeof(next));
	if (path != NULL && path[0] != '\0' &&
	    !read_operators_file(path, &next))
		return false;
	/* The file speaks for its own people only: those enrolled by
	 * command stay unless the file now lists them (the latest row for a
	 * key is the one in force). */
	for (size_t i = 0; i < now->nops; i++)
		if (!now->ops[i].from_file &&
		    op_find(&next, now->ops[i].key_id) == NULL) {
			if (next.nops == OPERATORS_MAX) {
				log_warn("more than %d operators with those "
				         "enrolled by command",
				         OPERATORS_MAX);
				return false;
			}
			next.ops[next.nops++] = now->ops[i];
		}
	/* Log what changed, then take the new set. */
	for (size_t i = 0; i < next.nops; i++) {
		const struct operator* old = op_find(now, next.ops[i].key_id);
		if (next.ops[i].from_file &&
		    (old == NULL || !old->from_file ||
		     old->roles != next.ops[i].roles ||
		     strcmp(old->name, next.ops[i].name) != 0))
			log_operator_change(d, "operator_enrolled",
			                    &next.ops[i], NULL, NULL);
	}
	for (size_t i = 0; i < now->nops; i++)
		if (op_find(&next, now->ops[i].key_id) == NULL)
			log_operator_change(d, "operator_revoked",
			                    &now->ops[i], NULL, NULL);
	*now = next;
	log_info("%zu operators from %s", now->nops,
	         path != NULL && path[0] != '\0' ? path : "(none)");
	return true;
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

/* ---- replies and rows ---- */

static char *
reply_rejected(enum fxb_err code, const char *msg)
{
	json_t *o = json_object(), *e = json_object();
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "name", json_string(fxb_errname(code)));
	json_object_set_new(e, "message", json_string(msg));
	json_object_set_new(o, "result", json_string("rejected"));
	json_object_set_new(o, "error", e);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/*
 * finish logs the command row (who, what, from where, result) and sends
 * the reply once that row -- and every row before it, such as the effect
 * -- has committed.  Remembers the reply under the nonce.  Takes reply.
 * mu held; it is released here.
 */
static void
finish(struct daemon *d, struct ipc_call *call, json_t *row, const char *scope,
       int64_t suspension, char *reply, const char *nonce_key)
{
	const char *result = json_string_value(json_object_get(row, "result"));
	bool rejected = result != NULL && strcmp(result, "rejected") == 0;
	json_object_set_new(row, "reply", json_string(reply));
	char *detail = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int64_t seq = daemon_log_command(d, scope, suspension,
	                                 detail != NULL ? detail : "{}");
	free(detail);
	if (nonce_key != NULL)
		nonce_remember(d->cmds, nonce_key, breaker_now(d->engine), seq,
		               rejected, reply);
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	daemon_park_command(d, call, seq, reply, rejected);
}

/* ---- the commands ---- */

static const char *
str_arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* The scope an args object names: product or pair, exactly one of them.
 * Returns its index or -1 (code and msg say why: missing, syntax for
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

/* The suspension a lift or reset would end now, or 0 if none. */
static int64_t
current_suspension(struct daemon *d, const struct request *q)
{
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

static struct request *
request_find(struct commands *c, int64_t seq)
{
	for (size_t i = 0; i < c->nreqs; i++)
		if (c->reqs[i].seq == seq)
			return &c->reqs[i];
	return NULL;
}

static struct request *
request_add(struct commands *c)
{
	if (c->nreqs == REQUESTS_MAX) {
		/* Forget the oldest finished or expired one. */
		size_t k = 0;
		for (size_t i = 0; i < c->nreqs; i++)
			if (c->reqs[i].done) {
				k = i;
				break;
			}
		memmove(&c->reqs[k], &c->reqs[k + 1],
		        (c->nreqs - k - 1) * sizeof(c->reqs[0]));
		c->nreqs--;
	}
	struct request *q = &c->reqs[c->nreqs++];
	memset(q, 0, sizeof(*q));
	return q;
}

static bool
is_operator_change(const struct request *q)
{
	return strcmp(q->cmd, "enrol") == 0 || strcmp(q->cmd, "revoke") == 0;
}

/* A person's name: 1 to 64 of A-Z a-z 0-9 . _ - (as keygen makes). */
static bool
name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s != '\0'; s++)
		if (strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "0123456789._-",
		        *s) == NULL)
			return false;
	return true;
}

/* Whom an enrol request names (args name, roles, pubkey), checked. */
static enum fxb_err
enrol_subject(const struct commands *c, json_t *args, struct operator* who,
              char *msg, size_t cap)
{
	const char *name = str_arg(args, "name"),
	           *roles = str_arg(args, "roles"),
	           *pk = str_arg(args, "pubkey");
	size_t got = 0;
	if (name == NULL || roles == NULL || pk == NULL) {
		snprintf(msg, cap,
		         "args: name, roles and pubkey are required");
		return FXB_ERR_MISSING;
	}
	if (!name_ok(name)) {
		snprintf(msg, cap, "args: name: 1 to 64 of A-Z a-z 0-9 . _ -");
		return FXB_ERR_SYNTAX;
	}
	if (strlen(roles) > 64 || (who->roles = parse_roles(roles)) == 0) {
		snprintf(msg, cap,
		         "args: roles: a comma-separated list of suspend, "
		         "reset, approve, admin");
		return FXB_ERR_SYNTAX;
	}
	if (strlen(pk) != 64 ||
	    sodium_hex2bin(who->pk, sizeof(who->pk), pk, 64, NULL, &got,
	                   NULL) != 0 ||
	    got != 32) {
		snprintf(msg, cap,
		         "args: pubkey: 64 hex digits (an Ed25519 "
		         "public key, as keygen prints it)");
		return FXB_ERR_SYNTAX;
	}
	snprintf(who->name, sizeof(who->name), "%s", name);
	ipc_trust_key_id(who->pk, who->key_id);
	const struct operator* old = op_find(&c->roster, who->key_id);
	if (old != NULL) {
		snprintf(msg, cap, "key %s is enrolled already (as %s)",
		         who->key_id, old->name);
		return FXB_ERR_OPERATOR_EXISTS;
	}
	return FXB_OK;
}

/* Whom a revoke request names (args operator: a key id), checked: the
 * file's people leave by the file, which would otherwise bring them
 * back at the next reload. */
static enum fxb_err
revoke_subject(const struct commands *c, json_t *args, struct operator* who,
               char *msg, size_t cap)
{
	const char *id = str_arg(args, "operator");
	if (id == NULL) {
		snprintf(msg, cap, "args: operator (a key id) is required");
		return FXB_ERR_MISSING;
	}
	const struct operator* op = op_find(&c->roster, id);
	if (op == NULL) {
		snprintf(msg, cap, "no operator has key id \"%.32s\"", id);
		return FXB_ERR_UNKNOWN_OPERATOR;
	}
	if (op->from_file) {
		snprintf(msg, cap,
		         "%s is enrolled by the operators file: remove the "
		         "line there and reload",
		         op->name);
		return FXB_ERR_FORBIDDEN;
	}
	*who = *op;
	return FXB_OK;
}

/* Carries out an approved enrol or revoke: the roster changes and an
 * operator_enrolled or operator_revoked row (its seq in *seq) says on
 * whose word. */
static enum fxb_err
roster_apply(struct daemon *d, struct request *q, const char *approver,
             int64_t *seq, char *msg, size_t cap)
{
	struct roster *r = &d->cmds->roster;
	ptrdiff_t i = op_index(r, q->subject.key_id);
	struct operator* cur = i<0 ? NULL : & r->ops[i];
	if (strcmp(q->cmd, "enrol") == 0) {
		if (cur != NULL) {
			snprintf(msg, cap, "key %s was enrolled since (as %s)",
			         cur->key_id, cur->name);
			return FXB_ERR_STALE_APPROVAL;
		}
		if (r->nops == OPERATORS_MAX) {
			snprintf(msg, cap, "the roster is full (%d operators)",
			         OPERATORS_MAX);
			return FXB_ERR_LIMIT;
		}
		r->ops[r->nops] = q->subject;
		r->ops[r->nops++].from_file = false;
		*seq = log_operator_change(d, "operator_enrolled", &q->subject,
		                           q, approver);
		return FXB_OK;
	}
	if (cur == NULL || cur->from_file) {
		snprintf(msg, cap,
		         "%s (key %s) is not an operator by command "
		         "any more",
		         q->subject.name, q->subject.key_id);
		return FXB_ERR_STALE_APPROVAL;
	}
	struct operator gone = * cur;
	*cur = r->ops[--r->nops];
	*seq = log_operator_change(d, "operator_revoked", &gone, q, approver);
	return FXB_OK;
}

/* The args each command takes (docs/PROTOCOL.md's table of args, and
 * ctl_admin.c's cmd_specs, which must match).  Any other is refused: a
 * misspelt "until" must not make a suspension open-ended. */
static const struct cmd_args {
	const char *cmd;
	const char *const keys[6];
} cmd_args[] = {
    {"suspend", {"reason", "product", "pair", "until", "notice"}},
    {"lift", {"reason", "product", "pair", "suspension"}},
    {"reset", {"reason", "rule", "suspension"}},
    {"threshold", {"reason", "rule", "key", "value"}},
    {"notice", {"reason", "notice", "lang", "text"}},
    {"enrol", {"reason", "name", "roles", "pubkey"}},
    {"revoke", {"reason", "operator"}},
    {"approve", {"reason", "request", "suspension", "operator"}},
};

/* false (msg says which) if args has a key cmd does not take; an unknown
 * cmd is left to apply's own error. */
static bool
args_known(const char *cmd, json_t *args, char *msg, size_t cap)
{
	const struct cmd_args *ca = NULL;
	for (size_t i = 0; i < sizeof(cmd_args) / sizeof(cmd_args[0]); i++)
		if (strcmp(cmd, cmd_args[i].cmd) == 0)
			ca = &cmd_args[i];
	if (ca == NULL)
		return true;
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v)
	{
		size_t i = 0, n = sizeof(ca->keys) / sizeof(ca->keys[0]);
		while (i < n && ca->keys[i] != NULL &&
		       strcmp(k, ca->keys[i]) != 0)
			i++;
		if (i == n || ca->keys[i] == NULL) {
			snprintf(msg, cap,
			         "args: unknown field \"%.32s\" for %s", k,
			         cmd);
			return false;
		}
	}
	return true;
}

/*
 * The command's meaning, after its envelope checked out.  Returns the
 * reply (and fills row, scope, suspension for the log), or a rejection.
 * expires is in engine time; shift is what turns the signer's clock into
 * the engine's (for args.until).
 */
static char *
apply(struct daemon *d, const struct operator* op, const char *cmd,
      json_t *args, fxb_time expires, int64_t shift, json_t *row,
      const char **scope, int64_t *suspension, enum fxb_err *code, char *msg,
      size_t cap)
{
	struct commands *c = d->cmds;
	fxb_time now = breaker_now(d->engine);
	const char *reason = str_arg(args, "reason");
	bool on_pair = false;
	const char *name = NULL;
	json_t *r = json_object();
	char *out = NULL;

	if (!args_known(cmd, args, msg, cap)) {
		*code = FXB_ERR_SYNTAX;
		goto out;
	}
	if (reason == NULL || reason[0] == '\0') {
		*code = FXB_ERR_MISSING;
		snprintf(msg, cap, "args: a reason is required");
		goto out;
	}
	if (strcmp(cmd, "suspend") == 0) {
		if (!(op->roles & ROLE_SUSPEND))
			goto forbidden;
		int32_t idx =
		    scope_arg(d, args, &on_pair, &name, code, msg, cap);
		json_t *ju = json_object_get(args, "until");
		fxb_time until = json_integer_value(ju);
		bool bad_until = ju != NULL &&
		                 (!json_is_integer(ju) || until < 0 ||
		                  until > TIME_MAX_MS || until + shift <= now);
		until = ju != NULL ? until + shift : FXB_NEVER;
		if (idx < 0)
			goto out;
		if (bad_until) {
			*code = FXB_ERR_RANGE;
			snprintf(msg, cap, "args: until must be after now");
			goto out;
		}
		/* What customers read is a [notice], never the reason:
		 * that is the operator's, for the log. */
		const char *notice = str_arg(args, "notice");
		json_t *jn = json_object_get(args, "notice");
		if (jn != NULL &&
		    (notice == NULL || !daemon_notice_known(d, notice))) {
			*code = FXB_ERR_UNKNOWN_NOTICE;
			snprintf(msg, cap, "args: no such notice \"%.64s\"",
			         notice != NULL ? notice : "");
			goto out;
		}
		char why[BREAKER_REASON_MAX + 1];
		snprintf(why, sizeof(why), "%s (by %s)", reason, op->name);
		/* Forcing a forced scope first ends the old one: the id is
		 * the new force_suspend row's. */
		*suspension = daemon_force_suspend(d, now, on_pair, idx, until,
		                                   why, notice);
		*scope = name;
		json_object_set_new(r, "result", json_string("applied"));
		json_object_set_new(r, "suspension",
		                    json_integer(*suspension));
		goto done;
	}
	if (strcmp(cmd, "lift") == 0 || strcmp(cmd, "reset") == 0) {
		if (!(op->roles & ROLE_RESET))
			goto forbidden;
		json_t *js = json_object_get(args, "suspension");
		struct request q;
		memset(&q, 0, sizeof(q));
		snprintf(q.cmd, sizeof(q.cmd), "%s", cmd);
		if (strcmp(cmd, "reset") == 0) {
			const char *rule = str_arg(args, "rule");
			if (rule == NULL ||
			    breaker_rule_find(d->engine, rule, strlen(rule)) <
			        0) {
				*code = FXB_ERR_UNKNOWN_RULE;
				snprintf(msg, cap, "args: no such rule");
				goto out;
			}
			snprintf(q.rule, sizeof(q.rule), "%s", rule);
			name = rule;
		} else {
			if (scope_arg(d, args, &on_pair, &name, code, msg,
			              cap) < 0)
				goto out;
			snprintf(q.scope, sizeof(q.scope), "%s", name);
			q.on_pair = on_pair;
		}
		q.suspension = json_integer_value(js);
		if (!json_is_integer(js) || q.suspension <= 0 ||
		    current_suspension(d, &q) != q.suspension) {
			*code = FXB_ERR_STALE_APPROVAL;
			snprintf(
			    msg, cap,
			    "suspension %lld is not the current one of %s",
			    (long long)q.suspension, name);
			goto out;
		}
		snprintf(q.operator, sizeof(q.operator), "%s", op->key_id);
		snprintf(q.name, sizeof(q.name), "%s", op->name);
		q.expires = expires;
		q.seq = d->next_seq; /* the command row finish() writes next */
		*request_add(c) = q;
		*scope = name;
		*suspension = q.suspension;
		json_object_set_new(r, "result", json_string("pending"));
		json_object_set_new(r, "request", json_integer(q.seq));
		goto done;
	}
	if (strcmp(cmd, "approve") == 0) {
		if (!(op->roles & (ROLE_APPROVE | ROLE_ADMIN)))
			goto forbidden;
		json_t *jr = json_object_get(args, "request");
		json_t *js = json_object_get(args, "suspension");
		struct request *q =
		    json_is_integer(jr)
		        ? request_find(c, json_integer_value(jr))
		        : NULL;
		/* A threshold request names no suspension: none, or 0. */
		int64_t susp =
		    json_is_integer(js) ? json_integer_value(js) : 0;
		if (q != NULL && q->suspension > 0 && js == NULL) {
			*code = FXB_ERR_MISSING;
			snprintf(msg, cap,
			         "args: request %lld is a %s: give the "
			         "suspension it names",
			         (long long)q->seq, q->cmd);
			goto out;
		}
		if (q == NULL || q->done || q->expires <= now ||
		    (js != NULL && !json_is_integer(js)) ||
		    susp != q->suspension ||
		    current_suspension(d, q) != q->suspension) {
			*code = FXB_ERR_STALE_APPROVAL;
			char for_susp[48] = "";
			if (susp > 0)
				snprintf(for_susp, sizeof(for_susp),
				         " for suspension %lld",
				         (long long)susp);
			snprintf(msg, cap,
			         "no pending request %lld%s (unknown, done, "
			         "expired, or superseded by a newer "
			         "suspension)",
			         (long long)json_integer_value(jr), for_susp);
			goto out;
		}
		/* Operators are approved by admins; the rest by approvers. */
		bool on_roster = is_operator_change(q);
		if (!(op->roles & (on_roster ? ROLE_ADMIN : ROLE_APPROVE))) {
			*code = FXB_ERR_FORBIDDEN;
			snprintf(
			    msg, cap,
			    "%s may not approve %s %s (it takes the %s role)",
			    op->name,
			    strchr("aeiou", q->cmd[0]) != NULL ? "an" : "a",
			    q->cmd, on_roster ? "admin" : "approve");
			goto out;
		}
		if (strcmp(q->operator, op->key_id) == 0 ||
		    strcmp(q->name, op->name) == 0) {
			*code = FXB_ERR_SELF_APPROVAL;
			snprintf(msg, cap,
			         "%s requested this: a different person must "
			         "approve",
			         q->name);
			goto out;
		}
		/* Nobody vouches for their own key, nor approves their own
		 * removal: the subject is a party, not a second person. */
		if (on_roster && strcmp(q->subject.name, op->name) == 0) {
			*code = FXB_ERR_SELF_APPROVAL;
			snprintf(msg, cap,
			         "this %ss %s: a different admin must approve",
			         q->cmd, q->subject.name);
			goto out;
		}
		/* The approver names whom, as a lift names its suspension:
		 * a signature on a number alone could approve a key nobody
		 * checked. */
		const char *whom = str_arg(args, "operator");
		if (on_roster && whom == NULL) {
			*code = FXB_ERR_MISSING;
			snprintf(msg, cap,
			         "args: request %lld is an operator change: "
			         "give the key id it names (operator)",
			         (long long)q->seq);
			goto out;
		}
		if (on_roster && strcmp(whom, q->subject.key_id) != 0) {
			*code = FXB_ERR_STALE_APPROVAL;
			snprintf(msg, cap,
			         "request %lld %ss key %s (%s), not \"%.32s\"",
			         (long long)q->seq, q->cmd, q->subject.key_id,
			         q->subject.name, whom);
			goto out;
		}
		/* A requester revoked or stripped of the role since: the
		 * request dies with the authority it was made under. */
		const struct operator* asker =
		    op_find(&c->roster, q->operator);
		unsigned asked_as = on_roster ? ROLE_ADMIN : ROLE_RESET;
		if (asker == NULL || !(asker->roles & asked_as)) {
			*code = FXB_ERR_STALE_APPROVAL;
			snprintf(msg, cap,
			         "%s, who requested this, is no longer %s",
			         q->name,
			         asker == NULL ? "an operator"
			         : on_roster   ? "an admin"
			                       : "allowed to reset");
			goto out;
		}
		/* Approving needs the log: refuse while it is failing. */
		if (atomic_load(&d->degraded)) {
			*code = FXB_ERR_LEDGER;
			snprintf(msg, cap,
			         "the suspension log cannot be "
			         "written: nothing is approved");
			goto out;
		}
		enum fxb_err e;
		struct threshold_change tc;
		if (on_roster) {
			/* op points into the roster, which this changes. */
			char approver[sizeof(op->name)];
			snprintf(approver, sizeof(approver), "%s", op->name);
			int64_t change = 0;
			e = roster_apply(d, q, approver, &change, msg, cap);
			if (e != FXB_OK) {
				*code = e;
				goto out;
			}
			*scope = q->subject.name;
			json_object_set_new(r, "change", json_integer(change));
		} else if (strcmp(q->cmd, "threshold") == 0) {
			/* Another change since the request: it asked over a
			 * value no longer in force. */
			char who[160];
			snprintf(who, sizeof(who), "%s, approved by %s",
			         q->name, op->name);
			e = daemon_threshold(d, q->change.rule, q->change.key,
			                     q->change.value, false, 0, who,
			                     &tc, msg, cap);
			if (e == FXB_OK && strcmp(tc.from, q->from) != 0) {
				*code = FXB_ERR_STALE_APPROVAL;
				snprintf(msg, cap,
				         "%s of %s is %s now, not %s as when "
				         "asked: ask again",
				         q->change.key, q->rule, tc.from,
				         q->from);
				goto out;
			}
			if (e == FXB_OK)
				e = daemon_threshold(
				    d, q->change.rule, q->change.key,
				    q->change.value, true, q->seq, who, &tc,
				    msg, cap);
			if (e != FXB_OK) {
				*code = e;
				goto out;
			}
			*scope = q->rule;
			json_object_set_new(row, "value_from",
			                    json_string(tc.from));
			json_object_set_new(row, "value_to",
			                    json_string(tc.to));
			json_object_set_new(r, "change", json_integer(tc.seq));
		} else if (strcmp(q->cmd, "reset") == 0) {
			e = breaker_reset(d->engine, now,
			                  breaker_rule_find(d->engine, q->rule,
			                                    strlen(q->rule)));
			*scope = q->rule;
		} else {
			int32_t idx =
			    q->on_pair
			        ? breaker_pair_find(d->engine, q->scope,
			                            strlen(q->scope))
			        : breaker_product_find(d->engine, q->scope,
			                               strlen(q->scope));
			e = breaker_force_lift(d->engine, now, q->on_pair,
			                       idx);
			*scope = q->scope;
		}
		if (e != FXB_OK) {
			*code = e;
			snprintf(msg, cap, "%s", fxb_strerror(e));
			goto out;
		}
		q->done = true;
		*suspension = q->suspension;
		json_object_set_new(row, "request", json_integer(q->seq));
		json_object_set_new(row, "requested_by", json_string(q->name));
		json_object_set_new(r, "result", json_string("applied"));
		json_object_set_new(r, "request", json_integer(q->seq));
		if (q->suspension > 0)
			json_object_set_new(r, "suspension",
			                    json_integer(q->suspension));
		goto done;
	}
	if (strcmp(cmd, "enrol") == 0 || strcmp(cmd, "revoke") == 0) {
		if (!(op->roles & ROLE_ADMIN))
			goto forbidden;
		struct request q;
		memset(&q, 0, sizeof(q));
		snprintf(q.cmd, sizeof(q.cmd), "%s", cmd);
		*code = strcmp(cmd, "enrol") == 0
		            ? enrol_subject(c, args, &q.subject, msg, cap)
		            : revoke_subject(c, args, &q.subject, msg, cap);
		if (*code != FXB_OK)
			goto out;
		snprintf(q.operator, sizeof(q.operator), "%s", op->key_id);
		snprintf(q.name, sizeof(q.name), "%s", op->name);
		q.expires = expires;
		q.seq = d->next_seq; /* the command row finish() writes next */
		struct request *nq = request_add(c);
		*nq = q;
		*scope = nq->subject.name;
		json_object_set_new(row, "subject",
		                    json_string(q.subject.key_id));
		json_object_set_new(r, "result", json_string("pending"));
		json_object_set_new(r, "request", json_integer(q.seq));
		goto done;
	}
	if (strcmp(cmd, "notice") == 0) {
		const char *id = str_arg(args, "notice"),
		           *lang = str_arg(args, "lang"),
		           *text = str_arg(args, "text");
		if (!(op->roles & ROLE_SUSPEND))
			goto forbidden;
		if (id == NULL || lang == NULL || text == NULL) {
			*code = FXB_ERR_MISSING;
			snprintf(msg, cap,
			         "args: notice, lang and text are "
			         "required");
			goto out;
		}
		int64_t change = 0;
		*code = daemon_notice_edit(d, id, lang, text, op->name,
		                           &change, msg, cap);
		if (*code != FXB_OK)
			goto out;
		*scope = id;
		json_object_set_new(r, "result", json_string("applied"));
		json_object_set_new(r, "change", json_integer(change));
		goto done;
	}
	if (strcmp(cmd, "threshold") == 0) {
		const char *rule = str_arg(args, "rule"),
		           *key = str_arg(args, "key"),
		           *value = str_arg(args, "value");
		struct threshold_change tc;
		if (rule == NULL || key == NULL || value == NULL) {
			*code = FXB_ERR_MISSING;
			snprintf(msg, cap,
			         "args: rule, key and value are "
			         "required");
			goto out;
		}
		*code = daemon_threshold(d, rule, key, value, false, 0,
		                         op->name, &tc, msg, cap);
		if (*code != FXB_OK)
			goto out;
		if (tc.to_cmp == tc.from_cmp) {
			*code = FXB_ERR_RANGE;
			snprintf(msg, cap, "no change: %s of %s is %s already",
			         key, rule, tc.from);
			goto out;
		}
		bool loosens = tc.to_cmp > tc.from_cmp;
		json_object_set_new(row, "value_from", json_string(tc.from));
		json_object_set_new(row, "value_to", json_string(tc.to));
		json_object_set_new(row, "loosens", json_boolean(loosens));
		*scope = rule;
		/* Tightening protects, like a suspension: one person.
		 * Loosening reopens risk, like a reset: two. */
		if (!loosens) {
			if (!(op->roles & ROLE_SUSPEND))
				goto forbidden;
			*code = daemon_threshold(d, rule, key, value, true, 0,
			                         op->name, &tc, msg, cap);
			if (*code != FXB_OK)
				goto out;
			json_object_set_new(r, "result",
			                    json_string("applied"));
			json_object_set_new(r, "change", json_integer(tc.seq));
			goto done;
		}
		if (!(op->roles & ROLE_RESET))
			goto forbidden;
		struct request q;
		memset(&q, 0, sizeof(q));
		snprintf(q.cmd, sizeof(q.cmd), "threshold");
		snprintf(q.rule, sizeof(q.rule), "%s", rule);
		snprintf(q.change.rule, sizeof(q.change.rule), "%s", rule);
		snprintf(q.change.key, sizeof(q.change.key), "%s", key);
		snprintf(q.change.value, sizeof(q.change.value), "%s", value);
		snprintf(q.from, sizeof(q.from), "%s", tc.from);
		snprintf(q.operator, sizeof(q.operator), "%s", op->key_id);
		snprintf(q.name, sizeof(q.name), "%s", op->name);
		q.expires = expires;
		q.seq = d->next_seq; /* the command row finish() writes next */
		*request_add(c) = q;
		json_object_set_new(r, "result", json_string("pending"));
		json_object_set_new(r, "request", json_integer(q.seq));
		goto done;
	}
	*code = FXB_ERR_UNKNOWN_OP;
	snprintf(msg, cap, "unknown cmd \"%.32s\"", cmd);
	goto out;
forbidden:
	*code = FXB_ERR_FORBIDDEN;
	{
		char held[32];
		roles_str(op->roles, held);
		snprintf(msg, cap,
		         "%s may not %s (roles held: %s; docs/PROTOCOL.md "
		         "lists the role each command takes)",
		         op->name, cmd, held[0] != '\0' ? held : "none");
	}
	goto out;
done:
	out = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(r);
	return out;
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
	if (issued < 0 || issued > TIME_MAX_MS || expires <= issued ||
	    expires - issued > LIFETIME_MAX_MS)
		return WINDOW_BAD;
	if (issued >= engine - SKEW_MS && issued <= engine + SKEW_MS &&
	    expires > engine)
		return WINDOW_ENGINE;
	if (issued >= wall - SKEW_MS && issued <= wall + SKEW_MS &&
	    expires > wall)
		return WINDOW_WALL;
	return WINDOW_OUTSIDE;
}

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
	size_t len = strspn(*nonce, "0123456789abcdef");
	if (len != 32 || (*nonce)[len] != '\0') {
		snprintf(msg, cap, "body: nonce: 32 lower-case hex digits");
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

/* A command that did not authenticate is still a row (who it claimed
 * to be, from where, why refused); no nonce is remembered for it.  mu
 * held; released. */
static void
reject_unauthenticated(struct daemon *d, struct ipc_call *call,
                       const char *opid, const char *cmd, enum fxb_err code,
                       const char *msg)
{
	json_t *row = json_object();
	json_object_set_new(row, "cmd", json_string(cmd));
	json_object_set_new(row, "operator", json_string(opid));
	json_object_set_new(row, "from", json_string(ipc_call_peer(call)));
	json_object_set_new(row, "result", json_string("rejected"));
	json_object_set_new(row, "error", json_string(fxb_errname(code)));
	json_object_set_new(row, "why", json_string(msg));
	char *reply = reply_rejected(code, msg);
	finish(d, call, row, NULL, 0, reply, NULL);
	json_decref(row);
}

void
commands_handle(struct daemon *d, struct ipc_call *call,
                const struct ipc_request *r)
{
	unsigned char sig[64], m_head[] = "fxbreaker/command/v1\n";
	size_t got = 0, blen = strlen(r->body);
	char msg[256], key[64];
	const char *service, *opid, *nonce, *cmd;
	json_int_t issued, expires;
	json_t *args, *body;
	json_error_t jerr;

	body = commands_body_parse(r->body, &service, &opid, &issued, &expires,
	                           &nonce, &cmd, &args, msg, sizeof(msg));
	if (body == NULL) {
		daemon_reply_error(call, FXB_ERR_SYNTAX, msg, r->ref);
		return;
	}
	pthread_mutex_lock(&d->mu);
	const struct operator* op = op_find(&d->cmds->roster, opid);
	if (op == NULL) {
		reject_unauthenticated(d, call, opid, cmd,
		                       FXB_ERR_UNKNOWN_OPERATOR,
		                       "no such operator (or revoked)");
		json_decref(body); /* opid and cmd point into it */
		return;
	}
	/* The signature covers the exact bytes sent. */
	unsigned char *m = malloc(sizeof(m_head) - 1 + blen);
	bool sig_ok = m != NULL &&
	              sodium_base642bin(sig, sizeof(sig), r->signature,
	                                strlen(r->signature), NULL, &got, NULL,
	                                sodium_base64_VARIANT_ORIGINAL) == 0 &&
	              got == 64;
	if (sig_ok) {
		memcpy(m, m_head, sizeof(m_head) - 1);
		memcpy(m + sizeof(m_head) - 1, r->body, blen);
		sig_ok = crypto_sign_verify_detached(
		             sig, m, sizeof(m_head) - 1 + blen, op->pk) == 0;
	}
	free(m);
	if (!sig_ok) {
		reject_unauthenticated(
		    d, call, opid, cmd, FXB_ERR_BAD_SIGNATURE,
		    "the signature does not verify for this "
		    "operator");
		json_decref(body);
		return;
	}
	/* A command seen before: its stored answer, nothing done again --
	 * once its row is written, like the first answer. */
	snprintf(key, sizeof(key), "%s/%s", op->key_id, nonce);
	struct nonce *seen = nonce_find(d->cmds, key);
	if (seen != NULL) {
		char *reply = strdup(seen->reply);
		int64_t seq = seen->seq;
		bool rejected = seen->rejected;
		pthread_mutex_unlock(&d->mu);
		json_decref(body);
		if (reply != NULL)
			daemon_park_command(d, call, seq, reply, rejected);
		else
			daemon_send_reply(call, NULL);
		return;
	}

	fxb_time now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	fxb_time wall = clock_now_ms();
	enum time_window win = time_window(issued, expires, now, wall);
	enum fxb_err code = FXB_OK;
	const char *scope = NULL;
	int64_t suspension = 0;
	char *reply = NULL;
	json_t *row = json_object();
	json_object_set_new(row, "cmd", json_string(cmd));
	json_object_set_new(row, "operator", json_string(op->key_id));
	json_object_set_new(row, "name", json_string(op->name));
	json_object_set_new(row, "from", json_string(ipc_call_peer(call)));
	json_object_set_new(row, "nonce", json_string(nonce));
	json_object_set_new(row, "issued_at", json_integer(issued));
	json_object_set_new(row, "expires_at", json_integer(expires));
	json_object_set_new(row, "args", json_deep_copy(args));
	/* Judged on another clock than the engine's: how far off it was,
	 * for the auditor (the engine's own window adds nothing). */
	if (win != WINDOW_ENGINE) {
		json_object_set_new(row, "window",
		                    json_string(time_window_name[win]));
		json_object_set_new(row, "skew_ms",
		                    json_integer(issued - now));
		json_object_set_new(row, "wall", json_integer(wall));
	}

	if (strcmp(service, d->svc.service_id) != 0) {
		code = FXB_ERR_WRONG_SERVICE;
		snprintf(msg, sizeof(msg),
		         "signed for \"%.64s\", this is \"%s\"", service,
		         d->svc.service_id);
	} else if (win == WINDOW_BAD ||
	           (win == WINDOW_OUTSIDE && strcmp(cmd, "suspend") != 0)) {
		code = FXB_ERR_EXPIRED;
		snprintf(
		    msg, sizeof(msg),
		    "issued %lld ms from the service's clock (%lld ms from "
		    "the wall clock), expires in %lld ms (allowed: +-%d s "
		    "of either, at most %d s; repeat with --issued-at %lld "
		    "to sign on the service's clock)",
		    (long long)(issued - now), (long long)(issued - wall),
		    (long long)(expires - now), SKEW_MS / 1000,
		    LIFETIME_MAX_MS / 1000, (long long)now);
	} else {
		/* The command's own times, read on the clock it was
		 * judged by, in engine time. */
		int64_t shift = win == WINDOW_WALL      ? now - wall
		                : win == WINDOW_OUTSIDE ? now - issued
		                                        : 0;
		reply = apply(d, op, cmd, args, expires + shift, shift, row,
		              &scope, &suspension, &code, msg, sizeof(msg));
	}
	if (reply == NULL) {
		if (code == FXB_OK)
			code = FXB_ERR_NOMEM;
		reply = reply_rejected(code, msg);
		json_object_set_new(row, "result", json_string("rejected"));
		json_object_set_new(row, "error",
		                    json_string(fxb_errname(code)));
		json_object_set_new(row, "why", json_string(msg));
	} else {
		json_t *rj = json_loads(reply, 0, &jerr);
		json_object_set_new(
		    row, "result",
		    json_string(rj != NULL ? json_string_value(
		                                 json_object_get(rj, "result"))
		                           : "applied"));
		json_decref(rj);
	}
	/* scope may point into body: free it only after the row is made. */
	finish(d, call, row, scope, suspension, reply, key);
	json_decref(body);
	json_decref(row);
}

/* ---- rebuilding from the log at start ---- */

struct restore_arg {
	struct daemon *d;
	fxb_time now;
};

static int
restore_row(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct restore_arg *ra = arg;
	struct commands *c = ra->d->cmds;
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
		supersede_requests(c, opid);
	} else if (result != NULL && cmd != NULL &&
	           strcmp(result, "pending") == 0) {
		json_t *args = json_object_get(o, "args");
		struct request *q = request_add(c);
		q->seq = row->seq;
		snprintf(q->operator, sizeof(q->operator), "%s", opid);
		snprintf(q->name, sizeof(q->name), "%s",
		         json_string_value(json_object_get(o, "name")));
		snprintf(q->cmd, sizeof(q->cmd), "%s", cmd);
		const char *rule =
		    json_string_value(json_object_get(args, "rule"));
		const char *prod =
		    json_string_value(json_object_get(args, "product"));
		const char *pair =
		    json_string_value(json_object_get(args, "pair"));
		snprintf(q->rule, sizeof(q->rule), "%s", rule ? rule : "");
		snprintf(q->scope, sizeof(q->scope), "%s",
		         pair   ? pair
		         : prod ? prod
		                : "");
		q->on_pair = pair != NULL;
		/* Only a lift or reset names a suspension (whatever else
		 * the args carried). */
		if (strcmp(cmd, "lift") == 0 || strcmp(cmd, "reset") == 0)
			q->suspension = json_integer_value(
			    json_object_get(args, "suspension"));
		q->expires =
		    json_integer_value(json_object_get(o, "expires_at"));
		/* Judged on the wall clock: its expiry in engine time, as
		 * when it was taken. */
		json_t *jw = json_object_get(o, "wall");
		if (json_is_integer(jw))
			q->expires += row->t - json_integer_value(jw);
		const char *key =
		    json_string_value(json_object_get(args, "key"));
		const char *val =
		    json_string_value(json_object_get(args, "value"));
		const char *from =
		    json_string_value(json_object_get(o, "value_from"));
		snprintf(q->change.rule, sizeof(q->change.rule), "%s",
		         q->rule);
		snprintf(q->change.key, sizeof(q->change.key), "%s",
		         key ? key : "");
		snprintf(q->change.value, sizeof(q->change.value), "%s",
		         val ? val : "");
		snprintf(q->from, sizeof(q->from), "%s", from ? from : "");
		char why[256];
		/* Checked again against the roster now: a key enrolled, or
		 * gone, since the request leaves nothing to approve. */
		enum fxb_err e = FXB_OK;
		if (strcmp(cmd, "enrol") == 0)
			e = enrol_subject(c, args, &q->subject, why,
			                  sizeof(why));
		else if (strcmp(cmd, "revoke") == 0)
			e = revoke_subject(c, args, &q->subject, why,
			                   sizeof(why));
		if (e != FXB_OK)
			q->done = true;
	} else if (result != NULL && cmd != NULL &&
	           strcmp(cmd, "approve") == 0 &&
	           strcmp(result, "applied") == 0) {
		struct request *q = request_find(
		    c, json_integer_value(json_object_get(o, "request")));
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
	struct restore_arg ra = {d, breaker_now(d->engine)};
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
	ledger_query(d->ledger, &f, restore_row, &ra);
}
