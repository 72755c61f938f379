/*
 * ipc_reply_cmd.c: the answers to signed commands on the admin socket
 * (docs/PROTOCOL.md): applied or pending with the ids the command made,
 * rejected with its error, or unconfirmed while its row is not written.
 */
#include "ipc_reply.h"

#include <jansson.h>

#include "ipc_json.h"
#include "ipc_reply_impl.h"

/* The error object of a command's answer. */
static json_t *
cmd_error(enum fxb_err code, const char *msg)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "name", json_string(fxb_errname(code)));
	json_object_set_new(e, "message", ipc_json_text(msg));
	return e;
}

char *
ipc_reply_cmd(const struct ipc_reply_cmd *c)
{
	json_t *r = json_object();
	const char *result =
	    c->result == IPC_CMD_PENDING ? "pending" : "applied";
	if (c->result == IPC_CMD_APPLIED && c->request > 0) {
		/* An approval: the change it made was always said first. */
		if (c->change > 0)
			json_object_set_new(r, "change",
			                    json_integer(c->change));
		json_object_set_new(r, "result", json_string(result));
		json_object_set_new(r, "request", json_integer(c->request));
		if (c->suspension > 0)
			json_object_set_new(r, "suspension",
			                    json_integer(c->suspension));
		if (c->plan > 0)
			json_object_set_new(r, "plan", json_integer(c->plan));
		return ipc_reply_dump(r);
	}
	json_object_set_new(r, "result", json_string(result));
	if (c->suspension > 0)
		json_object_set_new(r, "suspension",
		                    json_integer(c->suspension));
	if (c->request > 0)
		json_object_set_new(r, "request", json_integer(c->request));
	if (c->change > 0)
		json_object_set_new(r, "change", json_integer(c->change));
	if (c->plan > 0)
		json_object_set_new(r, "plan", json_integer(c->plan));
	return ipc_reply_dump(r);
}

char *
ipc_reply_cmd_rejected(enum fxb_err code, const char *msg)
{
	json_t *o = json_object(), *e = cmd_error(code, msg);
	json_object_set_new(o, "result", json_string("rejected"));
	json_object_set_new(o, "error", e);
	return ipc_reply_dump(o);
}

char *
ipc_reply_cmd_unconfirmed(void)
{
	/* Its effect, if any, is in force in memory and is logged when the
	 * log recovers; resending the same signed request gets the answer. */
	json_t *o = json_object();
	json_object_set_new(o, "result", json_string("unconfirmed"));
	json_object_set_new(
	    o, "error",
	    cmd_error(FXB_ERR_LEDGER,
	              "this command's row is not written (the log is "
	              "failing, or the service is stopping or overloaded), "
	              "so it is not confirmed; resend the same signed "
	              "request once status says the ledger is ok for its "
	              "answer"));
	return ipc_reply_dump(o);
}
