/*
 * ctl_cmd_reply.c: the service's answer to a signed command, as the
 * operator reads it (or as sent, with --json), and the exit code it
 * means: applied or pending 0, rejected or an error reply 1, an answer
 * that is not one 3.  An unconfirmed command is not an exit code yet:
 * ctl_command.c says how to ask again.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* "applied: seq 12, suspension 9" (or "applied: plan 9", "applied:
 * request 14, plan 9"): the ids the answer carries. */
static void
print_applied(json_t *r)
{
	static const char *const ids[] = {"seq", "suspension", "request",
	                                  "change", "plan"};
	const char *sep = ": ";
	printf("applied");
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		json_t *v = json_object_get(r, ids[i]);
		if (!json_is_integer(v))
			continue;
		printf("%s%s %lld", sep, ids[i],
		       (long long)json_integer_value(v));
		sep = ", ";
	}
	putchar('\n');
}

int
ctl_cmd_reply(const char *reply, bool json)
{
	json_error_t jerr;
	json_t *r = json_loads(reply, 0, &jerr), *e;
	int code = CTL_EXIT_OK;

	if (r == NULL) {
		fprintf(stderr, "fxbreakerctl: unreadable reply: %s\n",
		        jerr.text);
		return CTL_EXIT_USAGE;
	}
	if (json)
		printf("%s\n", reply);
	const char *result = json_string_value(json_object_get(r, "result"));
	e = json_object_get(r, "error");
	const char *ename = json_string_value(json_object_get(e, "name"));
	const char *emsg = json_string_value(json_object_get(e, "message"));
	if (result == NULL && e != NULL) {
		/* Not a command's answer: the socket refused the request
		 * itself (a service without signed commands says
		 * unknown_op). */
		fprintf(
		    stderr, "fxbreakerctl: error %lld %s: %s\n",
		    (long long)json_integer_value(json_object_get(e, "code")),
		    ename != NULL ? ename : "?", emsg != NULL ? emsg : "");
		code = CTL_EXIT_DATA;
	} else if (result != NULL && strcmp(result, "applied") == 0) {
		if (!json)
			print_applied(r);
	} else if (result != NULL && strcmp(result, "pending") == 0) {
		json_t *plan = json_object_get(r, "plan");
		if (!json && json_is_integer(plan))
			printf("pending: request %lld, plan %lld (needs an "
			       "approval by another operator)\n",
			       (long long)json_integer_value(
			           json_object_get(r, "request")),
			       (long long)json_integer_value(plan));
		else if (!json)
			printf("pending: request %lld (needs an approval by "
			       "another operator)\n",
			       (long long)json_integer_value(
			           json_object_get(r, "request")));
	} else if (result != NULL && strcmp(result, "rejected") == 0) {
		if (!json)
			printf("rejected: %s: %s\n",
			       ename != NULL ? ename : "?",
			       emsg != NULL ? emsg : "");
		code = CTL_EXIT_DATA;
	} else if (result != NULL && strcmp(result, "unconfirmed") == 0) {
		/* Its row is not written (the log is failing): whatever it
		 * did is not confirmed; the caller says how to ask again. */
		if (!json)
			printf("unconfirmed: %s\n", emsg != NULL ? emsg : "");
		code = CTL_EXIT_UNCONFIRMED;
	} else {
		fprintf(stderr, "fxbreakerctl: unexpected reply: %s\n", reply);
		code = CTL_EXIT_USAGE;
	}
	json_decref(r);
	return code;
}
