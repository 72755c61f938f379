/*
 * roster.c: who may sign a command (docs/PROTOCOL.md, "Operators").
 *
 * The operators file, root's alone, is the root of trust; admins enrol
 * and revoke more people by command, four eyes.  The log records every
 * change (an operator_enrolled or operator_revoked command row), and at
 * start the roster is the log's, so that a reload logs only what the file
 * changed.  This file owns the roster; verifying a signature with it is
 * command.c's.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon_impl.h"

/* The trust rules an operator is read by (a name, a key in hex) are
 * ipc_trust.h's, shared with fxbreakerctl. */

/* A public key as hex (the operators file, an enrol's args, the log's
 * roster): false unless exactly 32 bytes. */
static bool
pubkey_from_hex(unsigned char pk[IPC_TRUST_PK_LEN], const char *hex)
{
	return ipc_trust_hex(pk, IPC_TRUST_PK_LEN, hex, strlen(hex));
}

unsigned
roster_parse_roles(const char *s)
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

void
roster_roles_str(unsigned roles, char out[32])
{
	snprintf(out, 32, "%s%s%s%s", roles & ROLE_SUSPEND ? "suspend," : "",
	         roles & ROLE_RESET ? "reset," : "",
	         roles & ROLE_APPROVE ? "approve," : "",
	         roles & ROLE_ADMIN ? "admin," : "");
	size_t n = strlen(out);
	if (n > 0)
		out[n - 1] = '\0';
}

/* ---- the roster ---- */

/* The index of key_id's operator in r, or -1. */
static ptrdiff_t
op_index(const struct roster *r, const char *key_id)
{
	for (size_t i = 0; i < r->nops; i++)
		if (strcmp(r->ops[i].key_id, key_id) == 0)
			return (ptrdiff_t)i;
	return -1;
}

const struct operator* roster_find(const struct roster *r, const char *key_id)
{
	ptrdiff_t i = op_index(r, key_id);
	return i < 0 ? NULL : &r->ops[i];
}

/* An enrolment or revocation row: who, with which key and roles, and on
 * whose word: the file, or a request (seq) and its approver.  Pending
 * enrols and revokes of that key end with it. */
static int64_t
log_operator_change(struct daemon *d, const char *event,
                    const struct operator* op, const struct request *q,
                    const char *approver)
{
	char roles[32], pk[65];
	roster_roles_str(op->roles, roles);
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
	foureyes_supersede(&d->cmds->requests, op->key_id);
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
	memset(op, 0, sizeof(*op));
	snprintf(op->key_id, sizeof(op->key_id), "%s", ch->key_id);
	snprintf(op->name, sizeof(op->name), "%s", ch->name);
	/* Rows from before roles were logged read as no roles, so the
	 * file's roles are logged once, in full. */
	op->roles = ch->roles[0] != '\0' ? roster_parse_roles(ch->roles) : 0;
	op->from_file = strcmp(ch->source, "command") != 0;
	if (!pubkey_from_hex(op->pk, ch->pubkey))
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
		/* name: %64s below is IPC_TRUST_NAME_MAX (a format cannot
		 * take the macro). */
		char name[IPC_TRUST_NAME_MAX + 1], rl[128], hex[130];
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		struct operator* op = & next->ops[next->nops];
		if (next->nops == OPERATORS_MAX ||
		    sscanf(line, "%64s %127s %129s", name, rl, hex) != 3 ||
		    (op->roles = roster_parse_roles(rl)) == 0 ||
		    !pubkey_from_hex(op->pk, hex)) {
			log_warn(
			    "%s:%d: expected NAME ROLE[,ROLE...] PUBKEY_HEX "
			    "(roles: suspend, reset, approve, admin)",
			    path, lineno);
			ok = false;
			break;
		}
		/* The same rule as a name enrolled by command: a name is
		 * quoted in rows, reports and stderr lines, so the file
		 * may not smuggle in what a command could not. */
		if (!ipc_trust_name_ok(name)) {
			log_warn("%s:%d: the name: " IPC_TRUST_NAME_RULE, path,
			         lineno);
			ok = false;
			break;
		}
		snprintf(op->name, sizeof(op->name), "%s", name);
		op->from_file = true;
		ipc_trust_key_id(op->pk, op->key_id);
		if (roster_find(next, op->key_id) != NULL) {
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
		    roster_find(&next, now->ops[i].key_id) == NULL) {
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
		const struct operator* old =
		    roster_find(now, next.ops[i].key_id);
		if (next.ops[i].from_file &&
		    (old == NULL || !old->from_file ||
		     old->roles != next.ops[i].roles ||
		     strcmp(old->name, next.ops[i].name) != 0))
			log_operator_change(d, "operator_enrolled",
			                    &next.ops[i], NULL, NULL);
	}
	for (size_t i = 0; i < now->nops; i++)
		if (roster_find(&next, now->ops[i].key_id) == NULL)
			log_operator_change(d, "operator_revoked",
			                    &now->ops[i], NULL, NULL);
	*now = next;
	log_info("%zu operators from %s", now->nops,
	         path != NULL && path[0] != '\0' ? path : "(none)");
	return true;
}

/* ---- enrolment and revocation by command ---- */

static const char *
str_arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

enum fxb_err
roster_enrol_subject(const struct roster *r, json_t *args,
                     struct operator* who, char *msg, size_t cap)
{
	const char *name = str_arg(args, "name"),
	           *roles = str_arg(args, "roles"),
	           *pk = str_arg(args, "pubkey");
	if (name == NULL || roles == NULL || pk == NULL) {
		snprintf(msg, cap,
		         "args: name, roles and pubkey are required");
		return FXB_ERR_MISSING;
	}
	if (!ipc_trust_name_ok(name)) {
		snprintf(msg, cap, "args: name: " IPC_TRUST_NAME_RULE);
		return FXB_ERR_SYNTAX;
	}
	if (strlen(roles) > 64 ||
	    (who->roles = roster_parse_roles(roles)) == 0) {
		snprintf(msg, cap,
		         "args: roles: a comma-separated list of suspend, "
		         "reset, approve, admin");
		return FXB_ERR_SYNTAX;
	}
	if (strlen(pk) != 64 || !pubkey_from_hex(who->pk, pk)) {
		snprintf(msg, cap,
		         "args: pubkey: 64 hex digits (an Ed25519 "
		         "public key, as keygen prints it)");
		return FXB_ERR_SYNTAX;
	}
	snprintf(who->name, sizeof(who->name), "%s", name);
	ipc_trust_key_id(who->pk, who->key_id);
	const struct operator* old = roster_find(r, who->key_id);
	if (old != NULL) {
		snprintf(msg, cap, "key %s is enrolled already (as %s)",
		         who->key_id, old->name);
		return FXB_ERR_OPERATOR_EXISTS;
	}
	return FXB_OK;
}

/* The file's people leave by the file, which would otherwise bring them
 * back at the next reload. */
enum fxb_err
roster_revoke_subject(const struct roster *r, json_t *args,
                      struct operator* who, char *msg, size_t cap)
{
	const char *id = str_arg(args, "operator");
	if (id == NULL) {
		snprintf(msg, cap, "args: operator (a key id) is required");
		return FXB_ERR_MISSING;
	}
	const struct operator* op = roster_find(r, id);
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

enum fxb_err
roster_apply(struct daemon *d, const struct request *q, const char *approver,
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
