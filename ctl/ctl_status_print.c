/*
 * ctl_status_print.c: the admin socket's `status` reply as the tables an
 * operator reads (`fxbreakerctl status` without --json): the service and
 * its ledger, the clock, the check socket, then every pair, product and
 * rule, the notice texts changed by command, the calendars and the
 * planned suspensions.  It reads the reply
 * only; what it means is docs/PROTOCOL.md's "status".
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* One line when the wall clock is off the service's (stepped since
 * start, or behind the log at start); nothing otherwise. */
static void
status_clock(json_t *c)
{
	json_int_t steps = json_integer_value(json_object_get(c, "steps"));
	json_t *behind = json_object_get(c, "started_behind_ms");
	json_t *last = json_object_get(c, "last_step");
	if (steps == 0 && behind == NULL)
		return;
	printf("clock: the wall clock is %+lld ms from the service's clock",
	       (long long)json_integer_value(json_object_get(c, "offset_ms")));
	if (last != NULL)
		printf("; %lld step%s, the last %s by %lld ms",
		       (long long)steps, steps == 1 ? "" : "s",
		       ctl_jstr(last, "direction"),
		       (long long)json_integer_value(
		           json_object_get(last, "size_ms")));
	if (behind != NULL)
		printf("; %lld ms behind the log at start",
		       (long long)json_integer_value(behind));
	printf("\n\n");
}

/* An operator's text: control characters would act on the reader's
 * terminal, so they are shown, not sent. */
static void
put_text(const char *s)
{
	for (const char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			printf("\\x%02x", (unsigned)*c);
		else
			putchar(*c);
}

/* A force's internal side: why (the operator's words, "... (by NAME)")
 * and which notice customers read instead. */
static void
put_force_notes(json_t *f)
{
	if (json_object_get(f, "operator_reason") == NULL)
		return;
	printf("%-28s forced: ", "");
	put_text(ctl_jstr(f, "operator_reason"));
	if (json_object_get(f, "notice") != NULL)
		printf("; customers see notice %s", ctl_jstr(f, "notice"));
	putchar('\n');
}

/* The service, its ledger, the clock, and the watchdog's finding. */
static void
status_head(json_t *r)
{
	char t1[40], t2[40];
	json_t *lg = json_object_get(r, "ledger");

	printf("%s at %s; ledger %s (committed %lld, queued %lld)%s%s\n\n",
	       ctl_jstr(r, "service_id"),
	       ctl_format_time(t1, sizeof(t1),
	                       json_integer_value(json_object_get(r, "now"))),
	       ctl_jstr(lg, "state"),
	       (long long)json_integer_value(
	           json_object_get(lg, "committed_seq")),
	       (long long)json_integer_value(json_object_get(lg, "queued")),
	       json_object_get(lg, "last_error") != NULL ? ": " : "",
	       ctl_jstr(lg, "last_error"));
	status_clock(json_object_get(r, "clock"));
	/* The watchdog's finding: core banking's checks time out. */
	json_t *cs = json_object_get(r, "check_socket");
	if (strcmp(ctl_jstr(cs, "state"), "silent") == 0)
		printf(
		    "check socket SILENT since %s (last answer %s): %s\n\n",
		    ctl_format_time(
		        t1, sizeof(t1),
		        json_integer_value(json_object_get(cs, "since"))),
		    json_is_integer(json_object_get(cs, "last_answer"))
		        ? ctl_format_time(t2, sizeof(t2),
		                          json_integer_value(json_object_get(
		                              cs, "last_answer")))
		        : "never",
		    ctl_jstr(cs, "error"));
}

static void
status_pairs(json_t *r)
{
	size_t i;
	json_t *v;

	printf("%-8s %-9s %s\n", "PAIR", "STATE", "HELD BY");
	json_array_foreach(json_object_get(r, "pairs"), i, v)
	{
		size_t k;
		json_t *h;
		printf("%-8s %-9s", ctl_jstr(v, "pair"), ctl_jstr(v, "state"));
		json_array_foreach(json_object_get(v, "held_by"), k, h)
		{
			printf("%s%s (%s%s%s)", k > 0 ? ", " : " ",
			       json_object_get(h, "rule") != NULL
			           ? ctl_jstr(h, "rule")
			           : "forced",
			       ctl_jstr(h, "kind"),
			       json_object_get(h, "state") != NULL ? ", " : "",
			       ctl_jstr(h, "state"));
		}
		putchar('\n');
		json_array_foreach(json_object_get(v, "held_by"), k, h)
		{
			put_force_notes(h);
		}
	}
	putchar('\n');
}

/* Forces behind the one a product's row quotes: lifting that one alone
 * would not reopen it. */
static void
status_also_forced(json_t *v)
{
	char t[40];
	size_t k;
	json_t *f;

	json_array_foreach(json_object_get(v, "also_forced"), k, f)
	{
		printf("%-28s also forced (%s): suspension %lld%s%s\n", "",
		       ctl_jstr(f, "scope"),
		       (long long)json_integer_value(
		           json_object_get(f, "suspension")),
		       json_object_get(f, "until") != NULL ? " until " : "",
		       json_object_get(f, "until") != NULL
		           ? ctl_format_time(t, sizeof(t),
		                             json_integer_value(
		                                 json_object_get(f, "until")))
		           : "");
	}
}

static void
status_products(json_t *r)
{
	char t1[40], t2[40];
	size_t i;
	json_t *v;

	printf("%-28s %-8s %-9s %-30s %6s  %-24s %s\n", "PRODUCT", "PAIR",
	       "STATE", "HELD BY", "SUSP", "SINCE", "UNTIL");
	json_array_foreach(json_object_get(r, "products"), i, v)
	{
		char held[64] = "", susp[24] = "";
		if (json_object_get(v, "rule") != NULL)
			snprintf(held, sizeof(held), "%s (%s)",
			         ctl_jstr(v, "rule"), ctl_jstr(v, "kind"));
		else if (json_object_get(v, "reason") != NULL)
			snprintf(held, sizeof(held), "%s",
			         ctl_jstr(v, "reason"));
		if (json_object_get(v, "suspension") != NULL)
			snprintf(susp, sizeof(susp), "%lld",
			         (long long)json_integer_value(
			             json_object_get(v, "suspension")));
		bool held_now = json_object_get(v, "since") != NULL;
		printf(
		    "%-28s %-8s %-9s %-30s %6s  %-24s %s\n",
		    ctl_jstr(v, "product"), ctl_jstr(v, "pair"),
		    ctl_jstr(v, "state"), held, susp,
		    held_now
		        ? ctl_format_time(
		              t1, sizeof(t1),
		              json_integer_value(json_object_get(v, "since")))
		        : "",
		    json_object_get(v, "until") != NULL
		        ? ctl_format_time(
		              t2, sizeof(t2),
		              json_integer_value(json_object_get(v, "until")))
		    : held_now && strcmp(ctl_jstr(v, "reason"), "forced") == 0
		        ? "(an operator's lift)"
		    : held_now ? "(operator or tick)"
		               : "");
		put_force_notes(v);
		status_also_forced(v);
	}
}

static void
status_rules(json_t *r)
{
	char t[40];
	size_t i;
	json_t *v;

	printf("\n%-28s %-10s %-8s %-19s %6s  %s\n", "RULE", "KIND", "MODE",
	       "STATE", "SUSP", "UNTIL");
	json_array_foreach(json_object_get(r, "rules"), i, v)
	{
		char susp[24] = "";
		if (json_object_get(v, "suspension") != NULL)
			snprintf(susp, sizeof(susp), "%lld",
			         (long long)json_integer_value(
			             json_object_get(v, "suspension")));
		printf("%-28s %-10s %-8s %-19s %6s  %s%s\n",
		       ctl_jstr(v, "rule"), ctl_jstr(v, "kind"),
		       ctl_jstr(v, "mode"), ctl_jstr(v, "state"), susp,
		       json_object_get(v, "until") != NULL
		           ? ctl_format_time(t, sizeof(t),
		                             json_integer_value(
		                                 json_object_get(v, "until")))
		           : "",
		       json_is_true(json_object_get(v, "latched")) ? " LATCHED"
		                                                   : "");
		/* A trip level changed by command, not as the file says. */
		const char *k;
		json_t *cv;
		json_object_foreach(json_object_get(v, "changed"), k, cv)
		{
			printf("%-28s changed by command: %s = %s\n", "", k,
			       json_string_value(cv));
		}
	}
}

static void
status_notices(json_t *r)
{
	size_t i;
	json_t *v;
	json_t *edits = json_object_get(r, "notices_changed");

	if (json_array_size(edits) > 0)
		printf("\nNOTICE TEXTS CHANGED BY COMMAND\n");
	json_array_foreach(edits, i, v)
	{
		/* An operator's text: control characters would act on the
		 * reader's terminal, so they are shown, not sent. */
		printf("%-28s %-2s ", ctl_jstr(v, "notice"),
		       ctl_jstr(v, "lang"));
		put_text(ctl_jstr(v, "text"));
		putchar('\n');
	}
}

/* Each calendar's session now and its next change (RULES.md 9); none
 * printed when the config has no calendar. */
static void
status_calendars(json_t *r)
{
	char t[40];
	size_t i;
	json_t *v, *cals = json_object_get(r, "calendars");

	if (json_array_size(cals) == 0)
		return;
	printf("\n%-28s %-7s %-16s %-25s %s\n", "CALENDAR", "OFFSET",
	       "SESSION", "NEXT CHANGE", "THEN");
	json_array_foreach(cals, i, v)
	{
		json_t *next = json_object_get(v, "next");
		printf("%-28s %-7s %-16s %-25s %s\n", ctl_jstr(v, "calendar"),
		       ctl_jstr(v, "utc_offset"), ctl_jstr(v, "session"),
		       next != NULL ? ctl_format_time(t, sizeof(t),
		                                      json_integer_value(next))
		                    : "never",
		       next != NULL ? ctl_jstr(v, "next_session") : "");
	}
}

/* The suspensions planned and not started, with the operator's reason
 * and the notice customers are told in advance. */
static void
status_plans(json_t *r)
{
	char from[40], until[40];
	size_t i;
	json_t *v, *plans = json_object_get(r, "plans");

	if (json_array_size(plans) == 0)
		return;
	printf("\n%-6s %-28s %-8s %-25s %s\n", "PLAN", "SCOPE", "TYPE", "FROM",
	       "UNTIL");
	json_array_foreach(plans, i, v)
	{
		char id[24] = "-";
		json_t *u = json_object_get(v, "until");
		if (json_object_get(v, "plan") != NULL)
			snprintf(id, sizeof(id), "%lld",
			         (long long)json_integer_value(
			             json_object_get(v, "plan")));
		printf("%-6s %-28s %-8s %-25s %s\n", id, ctl_jstr(v, "scope"),
		       ctl_jstr(v, "scope_type"),
		       ctl_format_time(
		           from, sizeof(from),
		           json_integer_value(json_object_get(v, "from"))),
		       u != NULL ? ctl_format_time(until, sizeof(until),
		                                   json_integer_value(u))
		                 : "until lifted");
		printf("%-6s planned: ", "");
		put_text(json_object_get(v, "operator_reason") != NULL
		             ? ctl_jstr(v, "operator_reason")
		             : "(no reason)");
		if (json_object_get(v, "notice") != NULL)
			printf("; customers read [notice %s]\n",
			       ctl_jstr(v, "notice"));
		else
			printf("; customers read the default forced notice\n");
	}
}

void
ctl_status_print(json_t *r)
{
	status_head(r);
	/* A follower decides nothing: its status has no pairs, products or
	 * rules, and says so rather than print empty tables. */
	json_t *c = json_object_get(r, "cluster");
	if (json_is_object(c) && strcmp(ctl_jstr(c, "role"), "leader") != 0) {
		json_int_t leader =
		    json_integer_value(json_object_get(c, "leader"));
		printf(
		    "node %lld is a %s (applied seq %lld): ",
		    (long long)json_integer_value(json_object_get(c, "node")),
		    ctl_jstr(c, "role"),
		    (long long)json_integer_value(
		        json_object_get(c, "applied_seq")));
		if (leader != 0)
			printf("the leader, node %lld (%s), has the "
			       "pairs, products and rules: fxbreakerctl "
			       "--node %lld status\n",
			       (long long)leader,
			       ctl_jstr(c, "leader_check_url"),
			       (long long)leader);
		else
			printf("no leader is known (an election is under "
			       "way, or no majority is up)\n");
		return;
	}
	status_pairs(r);
	status_products(r);
	status_rules(r);
	status_notices(r);
	status_calendars(r);
	status_plans(r);
}

bool
ctl_cluster_print(json_t *r)
{
	json_t *c = json_object_get(r, "cluster");
	if (!json_is_object(c)) {
		fprintf(stderr,
		        "fxbreakerctl: %s is a single node (no "
		        "[cluster] in its config)\n",
		        ctl_jstr(r, "service_id"));
		return false;
	}
	json_int_t leader = json_integer_value(json_object_get(c, "leader"));
	printf(
	    "node %lld: %s, term %lld, applied seq %lld",
	    (long long)json_integer_value(json_object_get(c, "node")),
	    ctl_jstr(c, "role"),
	    (long long)json_integer_value(json_object_get(c, "term")),
	    (long long)json_integer_value(json_object_get(c, "applied_seq")));
	if (strcmp(ctl_jstr(c, "role"), "leader") == 0)
		printf(", lease %lld ms", (long long)json_integer_value(
		                              json_object_get(c, "lease_ms")));
	if (leader != 0)
		printf("\nleader: node %lld at %s\n", (long long)leader,
		       json_is_string(json_object_get(c, "leader_check_url"))
		           ? ctl_jstr(c, "leader_check_url")
		           : "(no check_url in this node's config)");
	else
		printf("\nleader: none known\n");
	printf("\n%-6s %-8s %-24s %s\n", "NODE", "ROLE", "RAFT_ADDRESS",
	       "CHECK_URL");
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c, "members"), i, m)
	{
		printf("%-6lld %-8s %-24s %s\n",
		       (long long)json_integer_value(json_object_get(m, "id")),
		       ctl_jstr(m, "role"), ctl_jstr(m, "raft_address"),
		       json_is_string(json_object_get(m, "check_url"))
		           ? ctl_jstr(m, "check_url")
		           : "-");
	}
	return true;
}
