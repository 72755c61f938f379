/*
 * ctl_log.c: `fxbreakerctl log`: the suspension log, filtered, as text,
 * CSV or JSON lines.  Reads the database read-only; safe while the
 * daemon runs (SQLite's WAL lets a reader see every committed row).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_config.h"
#include "config_file.h"
#include "ctl.h"
#include "ledger.h"

enum format { FMT_TEXT, FMT_CSV, FMT_JSON };

struct log_out {
	enum format fmt;
	long rows;
	const char *operator; /* --operator: a name or key id, or NULL */
};

/* Is this a row about the operator (a command they signed, or their
 * enrolment or revocation)? */
static bool
by_operator(const struct ledger_row *r, const char *who)
{
	json_error_t jerr;
	if (strcmp(r->event, "command") != 0)
		return false;
	json_t *d = json_loads(r->detail, 0, &jerr);
	const char *name = json_string_value(json_object_get(d, "name"));
	const char *id = json_string_value(json_object_get(d, "operator"));
	bool yes = (name != NULL && strcmp(name, who) == 0) ||
	           (id != NULL && strcmp(id, who) == 0);
	json_decref(d);
	return yes;
}

static int
print_row(void *arg, const struct ledger_row *r, int64_t logged_at)
{
	struct log_out *o = arg;
	char t[40], susp[24] = "";
	if (o->operator!= NULL && !by_operator(r, o->operator))
		return 0;
	o->rows++;
	if (r->suspension > 0)
		snprintf(susp, sizeof(susp), "%lld", (long long)r->suspension);
	switch (o->fmt) {
	case FMT_TEXT:
		printf("%6lld  %s  %-14s %-28s %-9s %-24s %6s%s\n",
		       (long long)r->seq, ctl_format_time(t, sizeof(t), r->t),
		       r->event, r->rule != NULL ? r->rule : "-",
		       r->kind != NULL ? r->kind : "-",
		       r->scope != NULL ? r->scope : "-", susp,
		       r->shadow ? "  shadow" : "");
		break;
	case FMT_CSV: {
		char seq[24], tm[24], la[24];
		snprintf(seq, sizeof(seq), "%lld", (long long)r->seq);
		snprintf(tm, sizeof(tm), "%lld", (long long)r->t);
		snprintf(la, sizeof(la), "%lld", (long long)logged_at);
		ctl_csv_field(seq, false);
		ctl_csv_field(tm, false);
		ctl_csv_field(ctl_format_time(t, sizeof(t), r->t), false);
		ctl_csv_field(r->event, false);
		ctl_csv_field(r->rule, false);
		ctl_csv_field(r->kind, false);
		ctl_csv_field(r->scope, false);
		ctl_csv_field(r->scope_type, false);
		ctl_csv_field(susp, false);
		ctl_csv_field(r->shadow ? "shadow" : "enforce", false);
		ctl_csv_field(la, false);
		ctl_csv_field(r->detail, true);
		break;
	}
	case FMT_JSON: {
		json_error_t jerr;
		json_t *d = json_loads(r->detail, 0, &jerr);
		json_t *o2 = json_object();
		json_object_set_new(o2, "seq", json_integer(r->seq));
		json_object_set_new(o2, "logged_at", json_integer(logged_at));
		if (d != NULL)
			json_object_update(o2, d);
		/* Service rows' detail is about the service: add the row's
		 * own columns it lacks, so that every line reads as an
		 * event. */
		if (json_object_get(o2, "t") == NULL)
			json_object_set_new(o2, "t", json_integer(r->t));
		if (json_object_get(o2, "event") == NULL)
			json_object_set_new(o2, "event",
			                    json_string(r->event));
		if (json_object_get(o2, "kind") == NULL && r->kind != NULL)
			json_object_set_new(o2, "kind", json_string(r->kind));
		if (json_object_get(o2, "scope") == NULL && r->scope != NULL)
			json_object_set_new(o2, "scope",
			                    json_string(r->scope));
		if (json_object_get(o2, "suspension") == NULL &&
		    r->suspension > 0)
			json_object_set_new(o2, "suspension",
			                    json_integer(r->suspension));
		json_dumpf(o2, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(d);
		json_decref(o2);
		break;
	}
	}
	return 0;
}

/* ---- is a filter's value one that could match? ---- */

static int
found_row(void *arg, const struct ledger_row *r, int64_t logged_at)
{
	(void)r;
	(void)logged_at;
	*(bool *)arg = true;
	return 1; /* one is enough */
}

/* Does some row of the log, at any time, match f alone? */
static bool
in_log(struct ledger *lg, struct ledger_filter f)
{
	bool found = false;
	f.limit = 1;
	ledger_query(lg, &f, found_row, &found);
	return found;
}

static int
found_operator(void *arg, const struct ledger_operator_change *c)
{
	const char **who = arg;
	if (strcmp(c->name, *who) == 0 || strcmp(c->key_id, *who) == 0) {
		*who = NULL;
		return 1;
	}
	return 0;
}

/* The rows the daemon writes besides engine events (docs/OPERATIONS.md,
 * "The suspension log"); an event not listed here still counts as known
 * once the log holds a row of it. */
static const char *const service_events[] = {
    "service_start",    "service_stop",      "config_reload", "degraded_start",
    "command",          "retired",           "notice_change", "notice_dropped",
    "threshold_change", "threshold_dropped", "plan_lapsed",
};

static bool
known_event(const char *e)
{
	for (size_t i = 0;
	     i < sizeof(service_events) / sizeof(service_events[0]); i++)
		if (strcmp(e, service_events[i]) == 0)
			return true;
	for (int t = 0; t < 64; t++)
		if (strcmp(e, breaker_event_name(
		                  (enum breaker_event_type)t)) == 0 &&
		    strcmp(e, "unknown") != 0)
			return true;
	return false;
}

static bool
known_kind(const char *k)
{
	/* The service's own rows, and a calendar's session changes. */
	if (strcmp(k, "service") == 0 || strcmp(k, "calendar") == 0)
		return true;
	for (int i = 0; i < 64; i++)
		if (strcmp(k, breaker_kind_name((enum breaker_kind)i)) == 0 &&
		    strcmp(k, "unknown") != 0)
			return true;
	return false;
}

/*
 * A filter value that no row could ever match is a typo, not an empty
 * answer: each is checked against the config (when it loads) and the
 * whole log, and the first unknown one is printed; false then.  A value
 * either knows (a product of the config with no rows yet) is fine.
 */
static bool
filters_known(struct ledger *lg, const char *config, const char *product,
              const char *pair, const struct ledger_filter *f,
              const char *operator)
{
	char err[512];
	struct breaker_config *cfg = NULL;
	struct ledger_filter one;
	const char *flag = NULL, *val = NULL, *what = NULL;
	bool known = true;

	if (config == NULL || config_file_load(config, NULL, &cfg, NULL, err,
	                                       sizeof(err)) != FXB_OK)
		cfg = NULL; /* the log alone decides */
	if (product != NULL) {
		known = false;
		for (size_t i = 0; cfg != NULL && i < cfg->nproducts; i++)
			known =
			    known || strcmp(cfg->products[i].id, product) == 0;
		memset(&one, 0, sizeof(one));
		one.scope = product;
		known = known || in_log(lg, one);
		flag = "--product", val = product, what = "product";
	}
	if (known && pair != NULL) {
		known = false;
		for (size_t i = 0; cfg != NULL && i < cfg->npairs; i++)
			known = known || strcmp(cfg->pairs[i].name, pair) == 0;
		memset(&one, 0, sizeof(one));
		one.scope = pair;
		known = known || in_log(lg, one);
		flag = "--pair", val = pair, what = "pair";
	}
	if (known && f->rule != NULL) {
		known = false;
		for (size_t i = 0; cfg != NULL && i < cfg->nrules; i++)
			known =
			    known || strcmp(cfg->rules[i].id, f->rule) == 0;
		memset(&one, 0, sizeof(one));
		one.rule = f->rule;
		known = known || in_log(lg, one);
		flag = "--rule", val = f->rule, what = "rule";
	}
	if (known && f->kind != NULL) {
		memset(&one, 0, sizeof(one));
		one.kind = f->kind;
		known = known_kind(f->kind) || in_log(lg, one);
		flag = "--kind", val = f->kind, what = "kind";
	}
	if (known && f->event != NULL) {
		memset(&one, 0, sizeof(one));
		one.event = f->event;
		known = known_event(f->event) || in_log(lg, one);
		flag = "--event", val = f->event, what = "event";
	}
	if (known && operator!= NULL) {
		const char *who = operator;
		ledger_operators(lg, true, found_operator, &who);
		known = who == NULL;
		flag = "--operator", val = operator, what = "operator";
	}
	breaker_config_free(cfg);
	if (!known)
		fprintf(stderr,
		        "fxbreakerctl: log: %s \"%s\": no such %s in the "
		        "config or the log (a typo?)\n",
		        flag, val, what);
	return known;
}

int
ctl_log(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl log [--config FILE | --db PATH] [--product ID] "
	    "[--pair PAIR] [--rule ID] [--kind KIND] [--event EVENT] "
	    "[--operator NAME|KEYID] "
	    "[--since TIME] [--until TIME] [--limit N] "
	    "[--format text|csv|json]";
	struct ledger_filter f;
	struct log_out out = {FMT_TEXT, 0, NULL};
	const char *config = ctl_default_config(), *db = NULL;
	const char *product = NULL, *pair = NULL;
	int code = CTL_EXIT_OK;

	memset(&f, 0, sizeof(f));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i],
		           *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			goto usage;
		i++;
		if (strcmp(a, "--config") == 0)
			config = v;
		else if (strcmp(a, "--db") == 0)
			db = v;
		else if (strcmp(a, "--product") == 0)
			f.scope = product = v;
		else if (strcmp(a, "--pair") == 0)
			f.scope = pair = v;
		else if (strcmp(a, "--rule") == 0)
			f.rule = v;
		else if (strcmp(a, "--kind") == 0)
			f.kind = v;
		else if (strcmp(a, "--operator") == 0)
			out.operator= v;
		else if (strcmp(a, "--event") == 0)
			f.event = v;
		else if (strcmp(a, "--limit") == 0)
			f.limit = atoll(v);
		else if ((strcmp(a, "--since") == 0 &&
		          ctl_parse_time(v, &f.from) == 0) ||
		         (strcmp(a, "--until") == 0 &&
		          ctl_parse_time(v, &f.to) == 0))
			continue;
		else if (strcmp(a, "--format") == 0 && strcmp(v, "text") == 0)
			out.fmt = FMT_TEXT;
		else if (strcmp(a, "--format") == 0 && strcmp(v, "csv") == 0)
			out.fmt = FMT_CSV;
		else if (strcmp(a, "--format") == 0 && strcmp(v, "json") == 0)
			out.fmt = FMT_JSON;
		else
			goto usage;
	}
	struct ledger *lg = ctl_open_ledger(config, db, &code);
	if (lg == NULL)
		return code;
	if (!filters_known(lg, config, product, pair, &f, out.operator)) {
		ledger_close(lg);
		return CTL_EXIT_USAGE;
	}
	if (out.fmt == FMT_TEXT)
		printf("%6s  %-24s  %-14s %-28s %-9s %-24s %6s\n", "SEQ",
		       "TIME (UTC)", "EVENT", "RULE", "KIND", "SCOPE", "SUSP");
	else if (out.fmt == FMT_CSV)
		printf("seq,t,time,event,rule,kind,scope,scope_type,"
		       "suspension,mode,logged_at,detail\n");
	if (ledger_query(lg, &f, print_row, &out) != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: the log query failed\n");
		code = CTL_EXIT_USAGE;
	}
	ledger_close(lg);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "fxbreakerctl: write error on stdout\n");
		return CTL_EXIT_USAGE;
	}
	return code;
usage:
	fprintf(stderr,
	        "usage: %s\n(TIME is epoch ms, YYYY-MM-DD or "
	        "YYYY-MM-DDTHH:MM:SSZ)\n",
	        use);
	return CTL_EXIT_USAGE;
}
