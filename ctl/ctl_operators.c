/*
 * ctl_operators.c: `fxbreakerctl operators`: who may sign commands, as the
 * log records it -- the roster now, or (--history) every enrolment and
 * revocation with its time and row.  Reads the database read-only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ledger.h"

#define ROSTER_MAX 1024

struct entry {
	char key_id[17], name[65], roles[32];
	int64_t since, seq; /* the enrolment row now in force */
};

struct roster {
	struct entry e[ROSTER_MAX];
	size_t n;
	bool history, json;
};

static void
print_change(const struct roster *r, const struct ledger_operator_change *c)
{
	char t[40];
	const char *what = c->enrolled ? "enrolled" : "revoked";
	if (r->json) {
		json_t *o = json_pack(
		    "{sI sI ss ss ss ss}", "seq", (json_int_t)c->seq, "t",
		    (json_int_t)c->t, "change", what, "name", c->name,
		    "operator", c->key_id, "roles", c->roles);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("%6lld  %s  %-9s %-16s %-16s %s\n", (long long)c->seq,
	       ctl_format_time(t, sizeof(t), c->t), what, c->name, c->key_id,
	       c->roles[0] != '\0' ? c->roles : "-");
}

static int
on_change(void *arg, const struct ledger_operator_change *c)
{
	struct roster *r = arg;
	size_t i = 0;
	if (r->history) {
		print_change(r, c);
		return 0;
	}
	while (i < r->n && strcmp(r->e[i].key_id, c->key_id) != 0)
		i++;
	if (!c->enrolled) {
		if (i < r->n)
			memmove(&r->e[i], &r->e[i + 1],
			        (r->n - i - 1) * sizeof(r->e[0]));
		r->n -= i < r->n;
		return 0;
	}
	if (i == r->n) {
		if (r->n == ROSTER_MAX)
			return 0;
		r->n++;
	}
	snprintf(r->e[i].key_id, sizeof(r->e[i].key_id), "%s", c->key_id);
	snprintf(r->e[i].name, sizeof(r->e[i].name), "%s", c->name);
	snprintf(r->e[i].roles, sizeof(r->e[i].roles), "%s", c->roles);
	r->e[i].since = c->t;
	r->e[i].seq = c->seq;
	return 0;
}

int
ctl_operators(int argc, char **argv)
{
	const char *config = ctl_default_config(), *db = NULL;
	int code = CTL_EXIT_OK;
	struct roster *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return CTL_EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--history") == 0)
			r->history = true;
		else if (strcmp(argv[i], "--json") == 0)
			r->json = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else {
			fprintf(stderr,
			        "usage: fxbreakerctl operators [--config FILE "
			        "| --db PATH] [--history] [--json]\n");
			free(r);
			return CTL_EXIT_USAGE;
		}
	}
	struct ledger *lg = ctl_open_ledger(config, db, &code);
	if (lg == NULL) {
		free(r);
		return code;
	}
	if (r->history && !r->json)
		printf("%6s  %-24s  %-9s %-16s %-16s %s\n", "SEQ",
		       "TIME (UTC)", "CHANGE", "NAME", "KEY ID", "ROLES");
	if (ledger_operators(lg, on_change, r) != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: cannot read the roster\n");
		code = CTL_EXIT_USAGE;
	}
	ledger_close(lg);
	if (!r->history && !r->json)
		printf("%-16s %-16s %-22s %-24s %s\n", "NAME", "KEY ID",
		       "ROLES", "SINCE (UTC)", "SEQ");
	for (size_t i = 0; !r->history && i < r->n; i++) {
		const struct entry *e = &r->e[i];
		char t[40];
		if (r->json) {
			json_t *o = json_pack(
			    "{ss ss ss sI sI}", "name", e->name, "operator",
			    e->key_id, "roles", e->roles, "since",
			    (json_int_t)e->since, "seq", (json_int_t)e->seq);
			json_dumpf(o, stdout,
			           JSON_COMPACT | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(o);
		} else
			printf("%-16s %-16s %-22s %-24s %lld\n", e->name,
			       e->key_id, e->roles[0] != '\0' ? e->roles : "-",
			       ctl_format_time(t, sizeof(t), e->since),
			       (long long)e->seq);
	}
	free(r);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "fxbreakerctl: write error on stdout\n");
		return CTL_EXIT_USAGE;
	}
	return code;
}
