/*
 * command_test.c: signed commands without a daemon or a socket: the
 * command table (daemon/cmd_apply.c: each command's role and args, and
 * the refusals the table makes before any handler runs) and the
 * four-eyes requests (daemon/foureyes.c: filing, approval by the same
 * person refused and by another taken, expiry, supersession by a roster
 * change, stale approvals, the table's limit, reading a request back
 * from its log row).  The e2e tests (e2e_commands.sh, e2e_operators.sh,
 * e2e_thresholds.sh) drive the same code through the real daemon.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "testlib.h"

/* ---- the command table ---- */

static void
test_table(void)
{
	static const struct {
		const char *name;
		unsigned role;
		const char *args;
	} want[] = {
	    {"suspend", ROLE_SUSPEND, "reason,product,pair,until,notice,from"},
	    {"lift", ROLE_RESET, "reason,product,pair,suspension"},
	    {"reset", ROLE_RESET, "reason,rule,suspension"},
	    /* Tightening takes suspend, loosening reset and a second
	     * person: the handler decides. */
	    {"threshold", 0, "reason,rule,key,value"},
	    {"notice", ROLE_SUSPEND, "reason,notice,lang,text"},
	    {"enrol", ROLE_ADMIN, "reason,name,roles,pubkey"},
	    {"revoke", ROLE_ADMIN, "reason,operator"},
	    /* Either; which one depends on the request. */
	    {"approve", ROLE_APPROVE | ROLE_ADMIN,
	     "reason,request,suspension,operator"},
	    {"cluster_add", ROLE_ADMIN, "reason,node"},
	    {"cluster_remove", ROLE_ADMIN, "reason,node"},
	    /* A cancel keeps a product open: a request, like a lift. */
	    {"cancel", ROLE_RESET, "reason,product,pair"},
	};
	size_t n = 0;
	const struct cmd_spec *t = cmd_apply_table(&n);
	CHECK_INT(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n && i < sizeof(want) / sizeof(want[0]); i++) {
		/* The args are the table shared with fxbreakerctl. */
		const struct ipc_trust_command *c =
		    ipc_trust_command_find(t[i].name);
		char args[128] = "";
		for (size_t k = 0;
		     c != NULL && k < IPC_TRUST_ARGS_MAX && c->args[k] != NULL;
		     k++) {
			if (k > 0)
				strcat(args, ",");
			strcat(args, c->args[k]);
		}
		CHECK_STR(t[i].name, want[i].name);
		CHECK_INT(t[i].role, want[i].role);
		CHECK_STR(args, want[i].args);
		CHECK(t[i].handler != NULL);
		CHECK(cmd_apply_find(want[i].name) == &t[i]);
	}
	/* ... and the shared table has no command the service lacks. */
	size_t nshared = 0;
	const struct ipc_trust_command *shared = ipc_trust_commands(&nshared);
	CHECK_INT(nshared, n);
	for (size_t i = 0; i < nshared; i++)
		CHECK(cmd_apply_find(shared[i].name) != NULL);
	CHECK(ipc_trust_command_find("halt") == NULL);
	CHECK(cmd_apply_find("halt") == NULL);
	CHECK(cmd_apply_find("") == NULL);
}

/* cmd_apply's verdict on cmd with args (JSON) from an operator holding
 * roles, for commands the table refuses before any handler (so no
 * daemon is needed). */
static enum fxb_err
refused(const char *cmd, const char *args, unsigned roles, char *msg,
        size_t cap)
{
	struct operator op;
	struct cmd_outcome out;
	memset(&op, 0, sizeof(op));
	snprintf(op.key_id, sizeof(op.key_id), "0123456789abcdef");
	snprintf(op.name, sizeof(op.name), "bob");
	op.roles = roles;
	json_t *a = json_loads(args, 0, NULL);
	json_t *row = json_object();
	struct cmd_ctx x = {.d = NULL,
	                    .op = &op,
	                    .cmd = cmd,
	                    .args = a,
	                    .now = 1000,
	                    .expires = 2000,
	                    .row = row};
	cmd_apply(&x, &out);
	snprintf(msg, cap, "%s", out.msg);
	CHECK(out.reply.result == 0);
	CHECK(!out.pending);
	CHECK_INT(json_object_size(row), 0);
	json_decref(a);
	json_decref(row);
	return out.code;
}

static void
test_table_refusals(void)
{
	char msg[256];
	unsigned all = ROLE_SUSPEND | ROLE_RESET | ROLE_APPROVE | ROLE_ADMIN;

	/* Each command takes its own args only. */
	CHECK_INT(refused("suspend",
	                  "{\"reason\":\"r\",\"product\":\"x\",\"untill\":1}",
	                  all, msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"untill\" for suspend");
	CHECK_INT(refused("lift", "{\"reason\":\"r\",\"rule\":\"a\"}", all,
	                  msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"rule\" for lift");
	CHECK_INT(refused("reset", "{\"reason\":\"r\",\"product\":\"x\"}", all,
	                  msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"product\" for reset");
	CHECK_INT(refused("threshold", "{\"reason\":\"r\",\"suspension\":1}",
	                  all, msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"suspension\" for threshold");
	CHECK_INT(refused("notice", "{\"reason\":\"r\",\"until\":1}", all, msg,
	                  sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"until\" for notice");
	CHECK_INT(refused("enrol", "{\"reason\":\"r\",\"operator\":\"k\"}",
	                  all, msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"operator\" for enrol");
	CHECK_INT(refused("revoke", "{\"reason\":\"r\",\"name\":\"k\"}", all,
	                  msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"name\" for revoke");
	CHECK_INT(refused("approve", "{\"reason\":\"r\",\"rule\":\"a\"}", all,
	                  msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"rule\" for approve");
	/* from is a suspend's alone, and a JSON integer; a cancel names a
	 * scope and nothing else. */
	CHECK_INT(refused("lift", "{\"reason\":\"r\",\"from\":1}", all, msg,
	                  sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"from\" for lift");
	CHECK_INT(refused("suspend", "{\"reason\":\"r\",\"from\":\"soon\"}",
	                  all, msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: from must be an integer");
	CHECK_INT(refused("cancel", "{\"reason\":\"r\",\"suspension\":3}", all,
	                  msg, sizeof(msg)),
	          FXB_ERR_SYNTAX);
	CHECK_STR(msg, "args: unknown field \"suspension\" for cancel");

	/* A reason, before anything else of what it asks. */
	CHECK_INT(
	    refused("suspend", "{\"product\":\"x\"}", all, msg, sizeof(msg)),
	    FXB_ERR_MISSING);
	CHECK_STR(msg, "args: a reason is required");
	CHECK_INT(
	    refused("suspend", "{\"reason\":\"\"}", all, msg, sizeof(msg)),
	    FXB_ERR_MISSING);
	/* An unknown command: any args, but a reason still first. */
	CHECK_INT(refused("halt", "{\"bogus\":1}", all, msg, sizeof(msg)),
	          FXB_ERR_MISSING);
	CHECK_INT(refused("halt", "{\"reason\":\"r\",\"bogus\":1}", all, msg,
	                  sizeof(msg)),
	          FXB_ERR_UNKNOWN_OP);
	CHECK_STR(msg, "unknown cmd \"halt\"");

	/* The role each table entry names, refused before its handler. */
	CHECK_INT(refused("suspend", "{\"reason\":\"r\"}",
	                  ROLE_RESET | ROLE_APPROVE | ROLE_ADMIN, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not suspend (roles held: reset,approve,admin; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("lift", "{\"reason\":\"r\"}",
	                  ROLE_SUSPEND | ROLE_APPROVE | ROLE_ADMIN, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not lift (roles held: suspend,approve,admin; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("reset", "{\"reason\":\"r\"}", ROLE_APPROVE, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not reset (roles held: approve; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("cancel", "{\"reason\":\"r\"}",
	                  ROLE_SUSPEND | ROLE_APPROVE, msg, sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not cancel (roles held: suspend,approve; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("notice", "{\"reason\":\"r\"}", ROLE_RESET, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not notice (roles held: reset; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("enrol", "{\"reason\":\"r\"}",
	                  ROLE_SUSPEND | ROLE_RESET | ROLE_APPROVE, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not enrol (roles held: suspend,reset,approve; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("revoke", "{\"reason\":\"r\"}", 0, msg, sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not revoke (roles held: none; "
	               "docs/PROTOCOL.md lists the role each command takes)");
	CHECK_INT(refused("approve", "{\"reason\":\"r\"}",
	                  ROLE_SUSPEND | ROLE_RESET, msg, sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not approve (roles held: suspend,reset; "
	               "docs/PROTOCOL.md lists the role each command takes)");
}

/* ---- the four-eyes requests ---- */

#define KEY_ALICE "a1a1a1a1a1a1a1a1"
#define KEY_BOB   "b2b2b2b2b2b2b2b2"
#define KEY_CAROL "c3c3c3c3c3c3c3c3"
#define KEY_DAVE  "d4d4d4d4d4d4d4d4"
#define KEY_ERIN  "e5e5e5e5e5e5e5e5"

/* The world an approval is judged in: a roster and, per scope, the
 * suspension in force. */
static struct roster roster;
static int64_t in_force;

static int64_t
world_current(void *arg, const struct request *q)
{
	(void)arg;
	return q->suspension == 0 ? 0 : in_force;
}

static const struct operator* world_find(void *arg, const char *key_id)
{
	(void)arg;
	return roster_find(&roster, key_id);
}

static const struct foureyes_world world = {world_current, world_find, NULL};

static const struct operator*
    enrolled(const char *key_id, const char *name, unsigned roles)
{
	struct operator* op = & roster.ops[roster.nops++];
	memset(op, 0, sizeof(*op));
	snprintf(op->key_id, sizeof(op->key_id), "%s", key_id);
	snprintf(op->name, sizeof(op->name), "%s", name);
	op->roles = roles;
	return op;
}

/* A fresh table and roster: alice asks (reset), bob approves, carol
 * and dave are admins, suspension 7 is in force. */
static struct foureyes *
setup(void)
{
	memset(&roster, 0, sizeof(roster));
	enrolled(KEY_ALICE, "alice", ROLE_RESET);
	enrolled(KEY_BOB, "bob", ROLE_APPROVE);
	enrolled(KEY_CAROL, "carol", ROLE_ADMIN);
	enrolled(KEY_DAVE, "dave", ROLE_ADMIN | ROLE_APPROVE);
	in_force = 7;
	return calloc(1, sizeof(struct foureyes));
}

/* Files a request as cmd_apply does, under the seq of its row. */
static struct request *
ask(struct foureyes *fe, int64_t seq, const char *cmd, const char *by,
    int64_t suspension, const char *subject_key, const char *subject)
{
	struct request q;
	const struct operator* asker = roster_find(&roster, by);
	memset(&q, 0, sizeof(q));
	q.seq = seq;
	snprintf(q.operator, sizeof(q.operator), "%s", asker->key_id);
	snprintf(q.name, sizeof(q.name), "%s", asker->name);
	snprintf(q.cmd, sizeof(q.cmd), "%s", cmd);
	snprintf(q.scope, sizeof(q.scope), "usdkrw_spot");
	q.suspension = suspension;
	if (subject_key != NULL) {
		snprintf(q.subject.key_id, sizeof(q.subject.key_id), "%s",
		         subject_key);
		snprintf(q.subject.name, sizeof(q.subject.name), "%s",
		         subject);
	}
	q.expires = 2000;
	return foureyes_add(fe, &q);
}

/* What an approve command's args say: request, suspension (-1: none
 * given), operator. */
static struct approval
says(int64_t request, int64_t suspension, const char *whom)
{
	struct approval a = {.request_given = true,
	                     .request = request,
	                     .suspension_given = suspension >= 0,
	                     .suspension_integer = suspension >= 0,
	                     .suspension = suspension >= 0 ? suspension : 0,
	                     .operator= whom };
	return a;
}

static enum fxb_err
approve(struct foureyes *fe, struct approval a, const char *by, fxb_time now,
        struct request **q, char *msg, size_t cap)
{
	*q = NULL;
	msg[0] = '\0';
	return foureyes_approve(fe, &a, roster_find(&roster, by), now, &world,
	                        q, msg, cap);
}

static void
test_request_approved_by_another(void)
{
	struct foureyes *fe = setup();
	struct request *q,
	    *filed = ask(fe, 41, "lift", KEY_ALICE, 7, NULL, NULL);
	char msg[256];
	CHECK_INT(fe->n, 1);
	CHECK(foureyes_find(fe, 41) == filed);
	CHECK(foureyes_find(fe, 42) == NULL);
	CHECK(!foureyes_is_operator_change(filed));
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_OK);
	CHECK(q == filed);
	CHECK_INT(q->seq, 41);
	CHECK_INT(q->suspension, 7);
	/* Carried out: done, and a second approval finds nothing. */
	q->done = true;
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK(q == NULL);
	CHECK_STR(msg, "no pending request 41 for suspension 7 (unknown, "
	               "done, expired, or superseded by a newer suspension)");
	free(fe);
}

static void
test_self_approval(void)
{
	struct foureyes *fe = setup();
	struct request *q;
	char msg[256];
	ask(fe, 41, "reset", KEY_ALICE, 7, NULL, NULL);
	/* alice may approve, but not her own request ... */
	roster.ops[0].roles |= ROLE_APPROVE;
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_ALICE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_SELF_APPROVAL);
	CHECK_STR(msg, "alice requested this: a different person must "
	               "approve");
	/* ... nor with a second key in her name: one name, one person. */
	enrolled("a2a2a2a2a2a2a2a2", "alice", ROLE_APPROVE);
	CHECK_INT(approve(fe, says(41, 7, NULL), "a2a2a2a2a2a2a2a2", 1000, &q,
	                  msg, sizeof(msg)),
	          FXB_ERR_SELF_APPROVAL);
	CHECK(q == NULL);
	/* The request is still pending for someone else. */
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_OK);
	CHECK_INT(q->seq, 41);

	/* An operator change: the subject is a party, not a second
	 * person. */
	ask(fe, 50, "revoke", KEY_CAROL, 0, KEY_DAVE, "dave");
	CHECK_INT(approve(fe, says(50, -1, KEY_DAVE), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_SELF_APPROVAL);
	CHECK_STR(msg, "this revokes dave: a different admin must approve");
	free(fe);
}

static void
test_expiry(void)
{
	struct foureyes *fe = setup();
	struct request *q;
	char msg[256];
	ask(fe, 41, "lift", KEY_ALICE, 7, NULL, NULL);
	/* expires 2000: taken until the millisecond before. */
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 2000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "no pending request 41 for suspension 7 (unknown, "
	               "done, expired, or superseded by a newer suspension)");
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 1999, &q, msg,
	                  sizeof(msg)),
	          FXB_OK);
	CHECK_INT(q->seq, 41);
	free(fe);
}

static void
test_supersede_on_revocation(void)
{
	struct foureyes *fe = setup();
	struct request *q;
	char msg[256];
	struct request *enrol =
	    ask(fe, 50, "enrol", KEY_CAROL, 0, KEY_ERIN, "erin");
	struct request *revoke =
	    ask(fe, 51, "revoke", KEY_CAROL, 0, KEY_BOB, "bob");
	struct request *lift = ask(fe, 52, "lift", KEY_ALICE, 7, NULL, NULL);
	CHECK(foureyes_is_operator_change(enrol));
	CHECK(foureyes_is_operator_change(revoke));
	/* erin's key changed on the roster (enrolled by the file, say):
	 * the enrol was asked about a roster no longer in force. */
	foureyes_supersede(fe, KEY_ERIN);
	CHECK(enrol->done);
	CHECK(!revoke->done);
	CHECK(!lift->done);
	CHECK_INT(approve(fe, says(50, -1, KEY_ERIN), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "no pending request 50 (unknown, done, expired, or "
	               "superseded by a newer suspension)");
	CHECK_INT(approve(fe, says(51, -1, KEY_BOB), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_OK);
	CHECK(q == revoke);
	/* Only operator changes are superseded, by their subject's key. */
	foureyes_supersede(fe, KEY_ALICE);
	CHECK(!lift->done);
	free(fe);
}

static void
test_stale_approval(void)
{
	struct foureyes *fe = setup();
	struct request *q;
	char msg[256];
	ask(fe, 41, "lift", KEY_ALICE, 7, NULL, NULL);

	/* Unknown request. */
	CHECK_INT(approve(fe, says(40, 7, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "no pending request 40 for suspension 7 (unknown, "
	               "done, expired, or superseded by a newer suspension)");
	/* A lift names its suspension: none given is missing, another
	 * one or a non-number is stale. */
	CHECK_INT(approve(fe, says(41, -1, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_MISSING);
	CHECK_STR(msg, "args: request 41 is a lift: give the suspension it "
	               "names");
	CHECK_INT(approve(fe, says(41, 8, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "no pending request 41 for suspension 8 (unknown, "
	               "done, expired, or superseded by a newer suspension)");
	struct approval a = says(41, 7, NULL);
	a.suspension_integer = false;
	a.suspension = 0;
	CHECK_INT(approve(fe, a, KEY_BOB, 1000, &q, msg, sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	/* A newer trip of the same scope: the approval cannot reopen it. */
	in_force = 9;
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	in_force = 7;
	/* The requester lost the authority the request was made under. */
	roster.ops[0].roles = ROLE_SUSPEND;
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "alice, who requested this, is no longer allowed to "
	               "reset");
	roster.ops[0] = roster.ops[--roster.nops]; /* revoked */
	CHECK_INT(approve(fe, says(41, 7, NULL), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "alice, who requested this, is no longer an operator");
	CHECK(q == NULL);
	free(fe);
}

static void
test_operator_change_approval(void)
{
	struct foureyes *fe = setup();
	struct request *q;
	char msg[256];
	ask(fe, 50, "enrol", KEY_CAROL, 0, KEY_ERIN, "erin");
	ask(fe, 52, "threshold", KEY_ALICE, 0, NULL, NULL);
	/* Operators are approved by admins, the rest by approvers. */
	CHECK_INT(approve(fe, says(50, -1, KEY_ERIN), KEY_BOB, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "bob may not approve an enrol (it takes the admin "
	               "role)");
	CHECK_INT(approve(fe, says(52, -1, NULL), KEY_CAROL, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "carol may not approve a threshold (it takes the "
	               "approve role)");
	/* The approver names the key, and the right one. */
	CHECK_INT(approve(fe, says(50, -1, NULL), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_MISSING);
	CHECK_STR(msg, "args: request 50 is an operator change: give the key "
	               "id it names (operator)");
	CHECK_INT(approve(fe, says(50, -1, KEY_BOB), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "request 50 enrols key " KEY_ERIN
	               " (erin), not \"" KEY_BOB "\"");
	/* A threshold names no suspension: none given, or 0. */
	CHECK_INT(approve(fe, says(52, 0, NULL), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_OK);
	CHECK_INT(q->seq, 52);
	/* The requester is no longer an admin. */
	roster.ops[2].roles = ROLE_APPROVE;
	CHECK_INT(approve(fe, says(50, -1, KEY_ERIN), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_ERR_STALE_APPROVAL);
	CHECK_STR(msg, "carol, who requested this, is no longer an admin");
	roster.ops[2].roles = ROLE_ADMIN;
	CHECK_INT(approve(fe, says(50, 0, KEY_ERIN), KEY_DAVE, 1000, &q, msg,
	                  sizeof(msg)),
	          FXB_OK);
	CHECK_INT(q->seq, 50);
	CHECK_STR(q->subject.key_id, KEY_ERIN);
	free(fe);
}

/* A full table forgets its oldest finished request, else its oldest. */
static void
test_table_full(void)
{
	struct foureyes *fe = setup();
	for (int64_t s = 1; s <= REQUESTS_MAX; s++)
		ask(fe, s, "lift", KEY_ALICE, 7, NULL, NULL);
	CHECK_INT(fe->n, REQUESTS_MAX);
	foureyes_find(fe, 5)->done = true;
	struct request *q = ask(fe, 2000, "lift", KEY_ALICE, 7, NULL, NULL);
	CHECK_INT(fe->n, REQUESTS_MAX);
	CHECK_INT(q->seq, 2000);
	CHECK(foureyes_find(fe, 5) == NULL);
	CHECK(foureyes_find(fe, 1) != NULL);
	CHECK(foureyes_find(fe, 6) != NULL);
	ask(fe, 2001, "lift", KEY_ALICE, 7, NULL, NULL);
	CHECK_INT(fe->n, REQUESTS_MAX);
	CHECK(foureyes_find(fe, 1) == NULL);
	CHECK(foureyes_find(fe, 2) != NULL);
	CHECK_INT(fe->reqs[0].seq, 2);
	CHECK_INT(fe->reqs[REQUESTS_MAX - 1].seq, 2001);
	free(fe);
}

/* At start a pending request is read back from its command row. */
static void
test_from_row(void)
{
	struct request q;
	json_t *o = json_loads(
	    "{\"cmd\":\"lift\",\"operator\":\"" KEY_ALICE "\",\"name\":"
	    "\"alice\",\"args\":{\"pair\":\"USD/KRW\",\"suspension\":7,"
	    "\"reason\":\"r\"},\"expires_at\":5000,\"window\":\"wall\","
	    "\"skew_ms\":-100,\"wall\":4000,\"result\":\"pending\"}",
	    0, NULL);
	foureyes_from_row(o, 41, 4100, &q);
	CHECK_INT(q.seq, 41);
	CHECK_STR(q.operator, KEY_ALICE);
	CHECK_STR(q.name, "alice");
	CHECK_STR(q.cmd, "lift");
	CHECK_STR(q.scope, "USD/KRW");
	CHECK(q.on_pair);
	CHECK_INT(q.suspension, 7);
	/* Judged on the wall clock, 100 ms behind the engine's. */
	CHECK_INT(q.expires, 5100);
	CHECK(!q.done);
	json_decref(o);

	o = json_loads("{\"cmd\":\"threshold\",\"operator\":\"" KEY_ALICE
	               "\",\"name\":\"alice\",\"args\":{\"rule\":\"vol\","
	               "\"key\":\"max_count\",\"value\":\"12\",\"suspension\":"
	               "3,\"reason\":\"r\"},\"expires_at\":5000,"
	               "\"value_from\":\"10\",\"result\":\"pending\"}",
	               0, NULL);
	foureyes_from_row(o, 42, 4100, &q);
	CHECK_INT(q.seq, 42);
	CHECK_STR(q.rule, "vol");
	CHECK_STR(q.scope, "");
	CHECK_INT(q.suspension, 0); /* only a lift or reset names one */
	CHECK_INT(q.expires, 5000);
	CHECK_STR(q.change.rule, "vol");
	CHECK_STR(q.change.key, "max_count");
	CHECK_STR(q.change.value, "12");
	CHECK_STR(q.from, "10");
	CHECK_INT(q.plan, 0); /* only a cancel names one */
	json_decref(o);

	/* A cancel: the plan it was asked over is the row's, not an arg;
	 * a "plan" the row of another command carries names nothing. */
	o = json_loads("{\"cmd\":\"cancel\",\"operator\":\"" KEY_ALICE
	               "\",\"name\":\"alice\",\"args\":{\"product\":"
	               "\"remit\",\"reason\":\"r\"},\"expires_at\":5000,"
	               "\"plan\":39,\"result\":\"pending\"}",
	               0, NULL);
	foureyes_from_row(o, 43, 4100, &q);
	CHECK_INT(q.seq, 43);
	CHECK_STR(q.cmd, "cancel");
	CHECK_STR(q.scope, "remit");
	CHECK(!q.on_pair);
	CHECK_INT(q.plan, 39);
	CHECK_INT(q.suspension, 0);
	json_decref(o);
	o = json_loads("{\"cmd\":\"lift\",\"operator\":\"" KEY_ALICE
	               "\",\"name\":\"alice\",\"args\":{\"product\":"
	               "\"remit\",\"suspension\":7,\"reason\":\"r\"},"
	               "\"expires_at\":5000,\"plan\":39,\"result\":"
	               "\"pending\"}",
	               0, NULL);
	foureyes_from_row(o, 44, 4100, &q);
	CHECK_INT(q.plan, 0);
	CHECK_INT(q.suspension, 7);
	json_decref(o);
}

/* A request's id is the seq of its own command row: filed under it once
 * the row has it, and quoted by the reply the row carries. */
static void
test_request_filed_under_row_seq(void)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct cmd_outcome out;
	memset(&out, 0, sizeof(out));
	d->cmds = commands_new();
	out.reply.result = IPC_CMD_PENDING;
	out.pending = true;
	snprintf(out.request.cmd, sizeof(out.request.cmd), "lift");
	out.request.suspension = 7;
	cmd_apply_filed(d, &out, 57);
	char *s = ipc_reply_cmd(&out.reply);
	CHECK_STR(s, "{\"result\":\"pending\",\"request\":57}");
	free(s);
	struct request *q = foureyes_find(&d->cmds->requests, 57);
	CHECK(q != NULL);
	CHECK_INT(q != NULL ? q->seq : 0, 57);
	CHECK_INT(q != NULL ? q->suspension : 0, 7);
	CHECK_INT(d->cmds->requests.n, 1);

	/* Anything else is neither filed nor changed. */
	memset(&out, 0, sizeof(out));
	out.reply.result = IPC_CMD_APPLIED;
	out.reply.suspension = 58;
	cmd_apply_filed(d, &out, 59);
	s = ipc_reply_cmd(&out.reply);
	CHECK_STR(s, "{\"result\":\"applied\",\"suspension\":58}");
	free(s);
	CHECK(foureyes_find(&d->cmds->requests, 59) == NULL);
	CHECK_INT(d->cmds->requests.n, 1);
	commands_free(d->cmds);
	free(d);
}

/* Whom an enrol or revoke names, checked against the roster. */
static void
test_operator_change_subject(void)
{
	struct operator who;
	char msg[256];
	static const char pk[] =
	    "0101010101010101010101010101010101010101010101010101010101010101";
	struct {
		const char *args;
		enum fxb_err want;
		const char *msg;
	} enrol[] = {
	    {"{\"name\":\"erin\",\"roles\":\"suspend\"}", FXB_ERR_MISSING,
	     "args: name, roles and pubkey are required"},
	    {"{\"name\":\"erin smith\",\"roles\":\"suspend\",\"pubkey\":"
	     "\"00\"}",
	     FXB_ERR_SYNTAX, "args: name: 1 to 64 of A-Z a-z 0-9 . _ -"},
	    {"{\"name\":\"erin\",\"roles\":\"suspend,root\",\"pubkey\":"
	     "\"00\"}",
	     FXB_ERR_SYNTAX,
	     "args: roles: a comma-separated list of suspend, reset, "
	     "approve, admin"},
	    {"{\"name\":\"erin\",\"roles\":\"suspend\",\"pubkey\":"
	     "\"0101\"}",
	     FXB_ERR_SYNTAX,
	     "args: pubkey: 64 hex digits (an Ed25519 public key, as keygen "
	     "prints it)"},
	};
	memset(&roster, 0, sizeof(roster));
	for (size_t i = 0; i < sizeof(enrol) / sizeof(enrol[0]); i++) {
		json_t *a = json_loads(enrol[i].args, 0, NULL);
		memset(&who, 0, sizeof(who));
		CHECK_INT(
		    roster_enrol_subject(&roster, a, &who, msg, sizeof(msg)),
		    enrol[i].want);
		CHECK_STR(msg, enrol[i].msg);
		json_decref(a);
	}
	json_t *a = json_pack("{s:s,s:s,s:s}", "name", "erin", "roles",
	                      "suspend,approve", "pubkey", pk);
	memset(&who, 0, sizeof(who));
	CHECK_INT(roster_enrol_subject(&roster, a, &who, msg, sizeof(msg)),
	          FXB_OK);
	CHECK_STR(who.name, "erin");
	CHECK_INT(who.roles, ROLE_SUSPEND | ROLE_APPROVE);
	CHECK_INT(strlen(who.key_id), 16);
	/* Enrolled (by command): a second enrol of the key is refused, a
	 * revoke names it. */
	roster.ops[roster.nops++] = who;
	struct operator again;
	CHECK_INT(roster_enrol_subject(&roster, a, &again, msg, sizeof(msg)),
	          FXB_ERR_OPERATOR_EXISTS);
	char want[128];
	snprintf(want, sizeof(want), "key %s is enrolled already (as erin)",
	         who.key_id);
	CHECK_STR(msg, want);
	json_decref(a);
	a = json_pack("{s:s}", "operator", who.key_id);
	memset(&again, 0, sizeof(again));
	CHECK_INT(roster_revoke_subject(&roster, a, &again, msg, sizeof(msg)),
	          FXB_OK);
	CHECK_STR(again.key_id, who.key_id);
	/* The file's people leave by the file. */
	roster.ops[0].from_file = true;
	CHECK_INT(roster_revoke_subject(&roster, a, &again, msg, sizeof(msg)),
	          FXB_ERR_FORBIDDEN);
	CHECK_STR(msg, "erin is enrolled by the operators file: remove the "
	               "line there and reload");
	json_decref(a);
	a = json_pack("{s:s}", "operator", "ffffffffffffffff");
	CHECK_INT(roster_revoke_subject(&roster, a, &again, msg, sizeof(msg)),
	          FXB_ERR_UNKNOWN_OPERATOR);
	CHECK_STR(msg, "no operator has key id \"ffffffffffffffff\"");
	json_decref(a);
	a = json_object();
	CHECK_INT(roster_revoke_subject(&roster, a, &again, msg, sizeof(msg)),
	          FXB_ERR_MISSING);
	CHECK_STR(msg, "args: operator (a key id) is required");
	json_decref(a);
}

static const struct test tests[] = {
    {"table", test_table},
    {"table_refusals", test_table_refusals},
    {"request_approved_by_another", test_request_approved_by_another},
    {"self_approval", test_self_approval},
    {"expiry", test_expiry},
    {"supersede_on_revocation", test_supersede_on_revocation},
    {"stale_approval", test_stale_approval},
    {"operator_change_approval", test_operator_change_approval},
    {"table_full", test_table_full},
    {"from_row", test_from_row},
    {"request_filed_under_row_seq", test_request_filed_under_row_seq},
    {"operator_change_subject", test_operator_change_subject},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
