/*
 * ctl_operators.c: `fxbreakerctl operators`: who may sign commands, as the
 * log records it -- the roster now, or (--history) every enrolment and
 * revocation with its time and row -- and on whose word: "file" (the
 * operators file) or "REQUESTER+APPROVER" (a four-eyes command).  Reads the
 * database read-only.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ledger.h"

struct out {
	bool history, json;
	long rows;
};

static int
print_change(void *arg, const struct ledger_operator_change *c)
{
	struct out *o = arg;
	const char *what = c->enrolled ? "enrolled" : "revoked";
	const char *roles = c->roles[0] != '\0' ? c->roles : "-";
	char t[40], by[140] = "file";
	if (strcmp(c->source, "command") == 0)
		snprintf(by, sizeof(by), "%s+%s", c->requested_by,
		         c->approved_by);
	o->rows++;
	if (o->json) {
		json_t *j = json_pack(
		    "{sI sI ss ss ss ss ss ss ss}", "seq", (json_int_t)c->seq,
		    "t", (json_int_t)c->t, "change", what, "name", c->name,
		    "operator", c->key_id, "roles", c->roles, "source",
		    c->source, "requested_by", c->requested_by, "approved_by",
		    c->approved_by);
		json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else if (o->history)
		printf("%6lld  %s  %-9s %-16s %-16s %-28s %s\n",
		       (long long)c->seq, ctl_format_time(t, sizeof(t), c->t),
		       what, c->name, c->key_id, roles, by);
	else
		printf("%-16s %-16s %-28s %s %6lld  %s\n", c->name, c->key_id,
		       roles, ctl_format_time(t, sizeof(t), c->t),
		       (long long)c->seq, by);
	return 0;
}

int
ctl_operators(int argc, char **argv)
{
	const char *config = ctl_default_config(), *db = NULL;
	struct out o = {false, false, 0};
	int code = CTL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--history") == 0)
			o.history = true;
		else if (strcmp(argv[i], "--json") == 0)
			o.json = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else {
			fprintf(stderr,
			        "usage: fxbreakerctl operators [--config FILE "
			        "| --db PATH] [--history] [--json]\n");
			return CTL_EXIT_USAGE;
		}
	}
	struct ledger *lg = ctl_open_ledger(config, db, &code);
	if (lg == NULL)
		return code;
	if (!o.json && o.history)
		printf("%6s  %-24s  %-9s %-16s %-16s %-28s %s\n", "SEQ",
		       "TIME (UTC)", "CHANGE", "NAME", "KEY ID", "ROLES",
		       "BY");
	else if (!o.json)
		printf("%-16s %-16s %-28s %-24s %6s  %s\n", "NAME", "KEY ID",
		       "ROLES", "SINCE (UTC)", "SEQ", "BY");
	if (ledger_operators(lg, o.history, print_change, &o) != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: cannot read the roster\n");
		code = CTL_EXIT_USAGE;
	}
	ledger_close(lg);
	if (o.rows == 0 && !o.json && code == CTL_EXIT_OK)
		printf(
		    "(none: every signed command is refused until "
		    "[service] operators_file names a file of operators)\n");
	if (fflush(stdout) != 0) {
		fprintf(stderr, "fxbreakerctl: write error on stdout\n");
		return CTL_EXIT_USAGE;
	}
	return code;
}
