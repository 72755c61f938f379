/*
 * ctl_report.c: `fxbreakerctl report`: suspension episodes for
 * compliance.  One line per suspension: what tripped it (with its
 * figures), when it started and ended, how long it lasted, how it ended
 * and who ended it (the operators who requested and approved a reset or
 * lift), how many checks were denied while it held (the customer impact),
 * and the notice customers were shown.  Then the planned suspensions
 * (suspend --from): each plan, who planned it, and what became of it:
 * started (its suspension), cancelled (who asked, who approved, when)
 * or still pending.  Read from the log alone.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ledger.h"

struct episode {
	int64_t suspension;
	int64_t start, end; /* end 0: still open */
	char *opened;       /* trip, stale, force_suspend */
	char *rule, *kind, *scope;
	bool shadow;
	char *trigger;       /* the opening row's figures, as JSON */
	char *ended;         /* resume, reset, fresh, force_lift, retired */
	char *by;            /* who or what ended it */
	int64_t denied;      /* -1: not recorded */
	bool denied_partial; /* a lower bound: a crash lost some */
	char *notice;        /* the notice's English text */
};

/* A planned suspension: its force_scheduled row, the command row that
 * asked for it, and its fate. */
/* Lapsed: a plan_lapsed row closed it (its window passed while the
 * service was down, or its scope left the config); in a log from before
 * those rows, its end is before the log's latest row and nothing started
 * it (a running service logs the start, at from, before any row after
 * until). */
enum plan_fate { PLAN_PENDING = 0, PLAN_STARTED, PLAN_CANCELLED, PLAN_LAPSED };
static const char *const fate_name[] = {"pending", "started", "cancelled",
                                        "lapsed"};

struct plan {
	int64_t plan; /* its id: the force_scheduled row's seq */
	int64_t requested;
	char *scope, *scope_type;
	int64_t from, until; /* until -1: none (until lifted) */
	char *reason;
	char *planned_by; /* the suspend command's signer */
	enum plan_fate fate;
	int64_t suspension; /* started: the suspension it opened */
	int64_t cancelled;  /* cancelled: when (the force_cancel row's t) */
	char *cancel_requested_by, *cancel_approved_by;
	int64_t lapsed;   /* lapsed: its plan_lapsed row's t, 0 if none */
	char *lapsed_why; /* and its reason */
};

struct report {
	struct episode *v;
	size_t n, cap;
	struct plan *p;
	size_t np, capp;
	int64_t from, to;
	int64_t last_t; /* the latest row's t */
};

static struct episode *
find(struct report *r, int64_t suspension)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->v[mid].suspension < suspension)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->v[lo].suspension == suspension ? &r->v[lo]
	                                                      : NULL;
}

static char *
dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* o[k] if it is a string, else NULL (ctl_jstr's "" would hide that it
 * is missing). */
static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* An opening row (trip, stale, force_suspend): a new episode, with the
 * row's figures as its trigger and the notice customers read.  False on
 * out of memory. */
static bool
episode_open(struct report *r, const struct ledger_row *row, json_t *d)
{
	if (r->n == r->cap) {
		r->cap = r->cap != 0 ? r->cap * 2 : 64;
		struct episode *v = realloc(r->v, r->cap * sizeof(*v));
		if (v == NULL)
			return false;
		r->v = v;
	}
	struct episode *e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	e->suspension = row->seq;
	e->start = row->t;
	e->opened = dup(row->event);
	e->rule = dup(row->rule);
	e->kind = dup(row->kind);
	e->scope = dup(row->scope);
	e->shadow = row->shadow;
	e->denied = -1;
	json_t *fig = json_deep_copy(d);
	json_object_del(fig, "notice");
	e->trigger = json_dumps(fig, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(fig);
	e->notice = dup(jstr(json_object_get(d, "notice"), "en"));
	const char *reason = jstr(d, "reason");
	if (reason != NULL && e->notice == NULL)
		e->notice = dup(reason);
	return true;
}

/* An ending row (resume, reset, fresh, force_lift, retired): when the
 * episode ended, how, what it denied, and who or what ended it unless an
 * approval already said. */
static void
episode_end(struct report *r, const struct ledger_row *row, json_t *d)
{
	const char *ev = row->event;
	struct episode *e = find(r, row->suspension);
	if (e == NULL || e->end != 0)
		return;
	e->end = row->t;
	e->ended = dup(ev);
	json_t *dn = json_object_get(d, "denied");
	if (json_is_integer(dn))
		e->denied = json_integer_value(dn);
	e->denied_partial = json_is_true(json_object_get(d, "denied_partial"));
	if (e->by == NULL) {
		const char *by = jstr(d, "by");
		e->by = dup(strcmp(ev, "resume") == 0    ? "timer"
		            : strcmp(ev, "fresh") == 0   ? "a fresh tick"
		            : strcmp(ev, "retired") == 0 ? "config change"
		            : by != NULL                 ? by
		                                         : "operator");
	}
}

/* A command row: an applied approval names who asked and who approved. */
static void
episode_approved(struct report *r, const struct ledger_row *row, json_t *d)
{
	const char *cmd = jstr(d, "cmd"), *res = jstr(d, "result");
	struct episode *e = find(r, row->suspension);
	if (e != NULL && cmd != NULL && res != NULL &&
	    strcmp(cmd, "approve") == 0 && strcmp(res, "applied") == 0) {
		char by[200];
		snprintf(by, sizeof(by), "requested by %s, approved by %s",
		         jstr(d, "requested_by") ? jstr(d, "requested_by")
		                                 : "?",
		         jstr(d, "name") ? jstr(d, "name") : "?");
		free(e->by);
		e->by = strdup(by);
	}
}

/* A row's plan id: detail's "plan", if an integer, else 0. */
static int64_t
plan_of(json_t *d)
{
	json_t *v = json_object_get(d, "plan");
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static struct plan *
plan_find(struct report *r, int64_t plan)
{
	for (size_t i = r->np; i > 0; i--)
		if (r->p[i - 1].plan == plan)
			return &r->p[i - 1];
	return NULL;
}

/* A force_scheduled row: a new plan.  False on out of memory. */
static bool
plan_open(struct report *r, const struct ledger_row *row, json_t *d)
{
	if (r->np == r->capp) {
		r->capp = r->capp != 0 ? r->capp * 2 : 16;
		struct plan *v = realloc(r->p, r->capp * sizeof(*v));
		if (v == NULL)
			return false;
		r->p = v;
	}
	struct plan *p = &r->p[r->np++];
	memset(p, 0, sizeof(*p));
	p->plan = plan_of(d) > 0 ? plan_of(d) : row->seq;
	p->requested = row->t;
	p->scope = dup(row->scope);
	p->scope_type = dup(row->scope_type);
	p->from = json_integer_value(json_object_get(d, "from"));
	json_t *u = json_object_get(d, "until");
	p->until = json_is_integer(u) ? json_integer_value(u) : -1;
	p->reason = dup(jstr(d, "reason"));
	return true;
}

/* What a row says of a plan: who planned it (the applied suspend that
 * names it), that it started (a force_suspend naming it), that it was
 * cancelled (force_cancel) and on whose word (the applied approval that
 * names it). */
static void
plan_row(struct report *r, const struct ledger_row *row, json_t *d)
{
	struct plan *p = plan_find(r, plan_of(d));
	const char *cmd = jstr(d, "cmd"), *res = jstr(d, "result");
	if (p == NULL)
		return;
	if (strcmp(row->event, "force_suspend") == 0) {
		p->fate = PLAN_STARTED;
		p->suspension = row->seq;
	} else if (strcmp(row->event, "force_cancel") == 0) {
		p->fate = PLAN_CANCELLED;
		p->cancelled = row->t;
	} else if (strcmp(row->event, "plan_lapsed") == 0) {
		p->fate = PLAN_LAPSED;
		p->lapsed = row->t;
		free(p->lapsed_why);
		p->lapsed_why = dup(jstr(d, "reason"));
	} else if (strcmp(row->event, "command") == 0 && cmd != NULL &&
	           res != NULL && strcmp(res, "applied") == 0) {
		if (strcmp(cmd, "suspend") == 0 && p->planned_by == NULL) {
			p->planned_by = dup(jstr(d, "name"));
		} else if (strcmp(cmd, "approve") == 0) {
			free(p->cancel_requested_by);
			free(p->cancel_approved_by);
			p->cancel_requested_by = dup(jstr(d, "requested_by"));
			p->cancel_approved_by = dup(jstr(d, "name"));
		}
	}
}

static int
collect(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct report *r = arg;
	json_error_t jerr;
	json_t *d = json_loads(row->detail, 0, &jerr);
	int stop = 0;
	(void)logged_at;
	if (d == NULL)
		return 0;
	const char *ev = row->event;
	if (row->t > r->last_t)
		r->last_t = row->t;
	bool opens = strcmp(ev, "trip") == 0 || strcmp(ev, "stale") == 0 ||
	             strcmp(ev, "force_suspend") == 0;
	bool ends = strcmp(ev, "resume") == 0 || strcmp(ev, "reset") == 0 ||
	            strcmp(ev, "fresh") == 0 ||
	            strcmp(ev, "force_lift") == 0 ||
	            strcmp(ev, "retired") == 0;
	if (opens)
		stop = episode_open(r, row, d) ? 0 : 1;
	else if (ends && row->suspension > 0)
		episode_end(r, row, d);
	else if (strcmp(ev, "command") == 0 && row->suspension > 0)
		episode_approved(r, row, d);
	if (strcmp(ev, "force_scheduled") == 0)
		stop = plan_open(r, row, d) ? stop : 1;
	else if (plan_of(d) > 0)
		plan_row(r, row, d);
	json_decref(d);
	return stop;
}

/* Reads report's options into *fmt, *plans and r's window; false on
 * anything else (the caller prints the usage). */
static bool
report_opts(int argc, char **argv, const char **config, const char **db,
            const char **fmt, bool *plans, struct report *r)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i],
		           *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--plans") == 0) {
			*plans = true;
			continue;
		}
		if (v == NULL)
			return false;
		i++;
		if (strcmp(a, "--config") == 0)
			*config = v;
		else if (strcmp(a, "--db") == 0)
			*db = v;
		else if (strcmp(a, "--format") == 0 &&
		         (strcmp(v, "text") == 0 || strcmp(v, "csv") == 0 ||
		          strcmp(v, "json") == 0))
			*fmt = v;
		else if (strcmp(a, "--since") == 0 &&
		         ctl_parse_time(v, &r->from) == 0)
			continue;
		else if (strcmp(a, "--until") == 0 &&
		         ctl_parse_time(v, &r->to) == 0)
			continue;
		else
			return false;
	}
	return true;
}

/* One episode as a text line; dn is its denied count as shown. */
static void
print_text(const struct episode *e, const char *dn)
{
	char t1[40], t2[40] = "(open)", rk[100];
	ctl_format_time(t1, sizeof(t1), e->start);
	if (e->end != 0)
		ctl_format_time(t2, sizeof(t2), e->end);
	snprintf(rk, sizeof(rk), "%s (%s)",
	         e->rule != NULL ? e->rule : "operator",
	         e->kind != NULL ? e->kind : "forced");
	double secs = e->end != 0 ? (double)(e->end - e->start) / 1000.0 : 0.0;
	printf("%6lld  %-24s %-28s %-24s %-24s %9.1f  %-8s %s%s\n",
	       (long long)e->suspension, e->scope != NULL ? e->scope : "-", rk,
	       t1, t2, secs, dn, e->by != NULL ? e->by : "",
	       e->shadow ? " [shadow]" : "");
}

static void
print_csv(const struct episode *e, const char *dn)
{
	char b[4][32];
	snprintf(b[0], 32, "%lld", (long long)e->suspension);
	snprintf(b[1], 32, "%lld", (long long)e->start);
	snprintf(b[2], 32, "%lld", (long long)e->end);
	snprintf(b[3], 32, "%lld",
	         (long long)(e->end != 0 ? e->end - e->start : 0));
	ctl_csv_field(b[0], false);
	ctl_csv_field(e->scope, false);
	ctl_csv_field(e->rule, false);
	ctl_csv_field(e->kind, false);
	ctl_csv_field(e->shadow ? "shadow" : "enforce", false);
	ctl_csv_field(e->opened, false);
	ctl_csv_field(b[1], false);
	ctl_csv_field(e->end != 0 ? b[2] : "", false);
	ctl_csv_field(e->end != 0 ? b[3] : "", false);
	ctl_csv_field(e->ended, false);
	ctl_csv_field(e->by, false);
	ctl_csv_field(e->denied >= 0 ? dn : "", false);
	ctl_csv_field(e->trigger, false);
	ctl_csv_field(e->notice, true);
}

static void
print_json(const struct episode *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "suspension", json_integer(e->suspension));
	json_object_set_new(o, "scope", json_string(e->scope));
	if (e->rule != NULL)
		json_object_set_new(o, "rule", json_string(e->rule));
	json_object_set_new(o, "kind", json_string(e->kind));
	json_object_set_new(o, "mode",
	                    json_string(e->shadow ? "shadow" : "enforce"));
	json_object_set_new(o, "start", json_integer(e->start));
	if (e->end != 0) {
		json_object_set_new(o, "end", json_integer(e->end));
		json_object_set_new(o, "duration_ms",
		                    json_integer(e->end - e->start));
		json_object_set_new(o, "ended", json_string(e->ended));
		json_object_set_new(o, "ended_by", json_string(e->by));
	}
	if (e->denied >= 0)
		json_object_set_new(o, "denied", json_integer(e->denied));
	if (e->denied >= 0 && e->denied_partial)
		json_object_set_new(o, "denied_partial", json_true());
	json_error_t jerr;
	json_t *tr = json_loads(e->trigger, 0, &jerr);
	if (tr != NULL)
		json_object_set_new(o, "trigger", tr);
	if (e->notice != NULL)
		json_object_set_new(o, "notice", json_string(e->notice));
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

/* The episodes that started in r's window, in fmt, header first. */
static void
report_print(const struct report *r, const char *fmt)
{
	if (strcmp(fmt, "text") == 0)
		printf("%6s  %-24s %-28s %-24s %-24s %9s  %-8s %s\n", "SUSP",
		       "SCOPE", "RULE (KIND)", "START (UTC)", "END (UTC)",
		       "SECONDS", "DENIED", "ENDED BY");
	else if (strcmp(fmt, "csv") == 0)
		printf("suspension,scope,rule,kind,mode,opened,start,end,"
		       "duration_ms,ended,ended_by,denied,trigger,notice\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct episode *e = &r->v[i];
		char dn[24] = "-";
		if (e->start < r->from || (r->to != 0 && e->start >= r->to))
			continue;
		/* "17+": at least 17, the daemon crashed while it held. */
		if (e->denied >= 0)
			snprintf(dn, sizeof(dn), "%lld%s",
			         (long long)e->denied,
			         e->denied_partial ? "+" : "");
		if (strcmp(fmt, "text") == 0)
			print_text(e, dn);
		else if (strcmp(fmt, "csv") == 0)
			print_csv(e, dn);
		else
			print_json(e);
	}
}

/* The fate of p as the text shows it. */
static void
plan_fate_text(const struct plan *p, char *buf, size_t cap)
{
	char t[40];
	if (p->fate == PLAN_STARTED) {
		snprintf(buf, cap, "started: suspension %lld",
		         (long long)p->suspension);
	} else if (p->fate == PLAN_CANCELLED) {
		ctl_format_time(t, sizeof(t), p->cancelled);
		snprintf(buf, cap,
		         "cancelled %s, requested by %s, approved by %s", t,
		         p->cancel_requested_by != NULL
		             ? p->cancel_requested_by
		             : "?",
		         p->cancel_approved_by != NULL ? p->cancel_approved_by
		                                       : "?");
	} else if (p->fate == PLAN_LAPSED && p->lapsed != 0) {
		ctl_format_time(t, sizeof(t), p->lapsed);
		snprintf(buf, cap, "lapsed %s: %s", t,
		         p->lapsed_why != NULL ? p->lapsed_why : "?");
	} else if (p->fate == PLAN_LAPSED) {
		snprintf(buf, cap,
		         "lapsed: never started, its window passed while the "
		         "service was down");
	} else {
		snprintf(buf, cap, "pending");
	}
}

static void
plan_text(const struct plan *p)
{
	char t1[40], t2[40] = "(until lifted)", fate[300];
	ctl_format_time(t1, sizeof(t1), p->from);
	if (p->until >= 0)
		ctl_format_time(t2, sizeof(t2), p->until);
	plan_fate_text(p, fate, sizeof(fate));
	printf("%6lld  %-24s %-24s %-24s %-16s %s\n", (long long)p->plan,
	       p->scope != NULL ? p->scope : "-", t1, t2,
	       p->planned_by != NULL ? p->planned_by : "?", fate);
	printf("%6s  reason: %s\n", "", p->reason != NULL ? p->reason : "");
}

static void
plan_csv(const struct plan *p)
{
	char b[7][32];
	snprintf(b[0], 32, "%lld", (long long)p->plan);
	snprintf(b[1], 32, "%lld", (long long)p->requested);
	snprintf(b[2], 32, "%lld", (long long)p->from);
	snprintf(b[3], 32, "%lld", (long long)p->until);
	snprintf(b[4], 32, "%lld", (long long)p->suspension);
	snprintf(b[5], 32, "%lld", (long long)p->cancelled);
	snprintf(b[6], 32, "%lld", (long long)p->lapsed);
	ctl_csv_field(b[0], false);
	ctl_csv_field(p->scope, false);
	ctl_csv_field(p->scope_type, false);
	ctl_csv_field(b[1], false);
	ctl_csv_field(b[2], false);
	ctl_csv_field(p->until >= 0 ? b[3] : "", false);
	ctl_csv_field(p->reason, false);
	ctl_csv_field(p->planned_by, false);
	ctl_csv_field(fate_name[p->fate], false);
	ctl_csv_field(p->fate == PLAN_STARTED ? b[4] : "", false);
	ctl_csv_field(p->fate == PLAN_CANCELLED ? b[5] : "", false);
	ctl_csv_field(p->cancel_requested_by, false);
	ctl_csv_field(p->cancel_approved_by, false);
	ctl_csv_field(p->lapsed != 0 ? b[6] : "", false);
	ctl_csv_field(p->lapsed_why, true);
}

static void
plan_json(const struct plan *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "plan", json_integer(p->plan));
	json_object_set_new(o, "scope", json_string(p->scope));
	json_object_set_new(o, "scope_type", json_string(p->scope_type));
	json_object_set_new(o, "requested", json_integer(p->requested));
	json_object_set_new(o, "from", json_integer(p->from));
	if (p->until >= 0)
		json_object_set_new(o, "until", json_integer(p->until));
	if (p->reason != NULL)
		json_object_set_new(o, "reason", json_string(p->reason));
	if (p->planned_by != NULL)
		json_object_set_new(o, "planned_by",
		                    json_string(p->planned_by));
	json_object_set_new(o, "fate", json_string(fate_name[p->fate]));
	if (p->fate == PLAN_STARTED)
		json_object_set_new(o, "suspension",
		                    json_integer(p->suspension));
	if (p->fate == PLAN_CANCELLED) {
		json_object_set_new(o, "cancelled",
		                    json_integer(p->cancelled));
		if (p->cancel_requested_by != NULL)
			json_object_set_new(
			    o, "cancel_requested_by",
			    json_string(p->cancel_requested_by));
		if (p->cancel_approved_by != NULL)
			json_object_set_new(
			    o, "cancel_approved_by",
			    json_string(p->cancel_approved_by));
	}
	if (p->lapsed != 0) {
		json_object_set_new(o, "lapsed", json_integer(p->lapsed));
		if (p->lapsed_why != NULL)
			json_object_set_new(o, "lapsed_reason",
			                    json_string(p->lapsed_why));
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

static const char plans_csv_header[] =
    "plan,scope,scope_type,requested,from,until,reason,planned_by,fate,"
    "suspension,cancelled,cancel_requested_by,cancel_approved_by,lapsed,"
    "lapsed_reason\n";

/* The plans whose start falls in r's window, in fmt.  The text shows
 * them below the episodes, under a heading of their own, and only if
 * there are any; CSV and JSON show them instead of the episodes
 * (--plans), each format keeping one kind of record. */
static void
plans_print(const struct report *r, const char *fmt, bool heading)
{
	bool any = false;
	for (size_t i = 0; i < r->np; i++) {
		const struct plan *p = &r->p[i];
		if (p->from < r->from || (r->to != 0 && p->from >= r->to))
			continue;
		if (!any && strcmp(fmt, "text") == 0)
			printf("%s%6s  %-24s %-24s %-24s %-16s %s\n",
			       heading ? "\nPLANNED SUSPENSIONS\n" : "",
			       "PLAN", "SCOPE", "FROM (UTC)", "UNTIL (UTC)",
			       "PLANNED BY", "FATE");
		if (!any && strcmp(fmt, "csv") == 0)
			fputs(plans_csv_header, stdout);
		any = true;
		if (strcmp(fmt, "text") == 0)
			plan_text(p);
		else if (strcmp(fmt, "csv") == 0)
			plan_csv(p);
		else
			plan_json(p);
	}
	if (!any && !heading && strcmp(fmt, "csv") == 0)
		fputs(plans_csv_header, stdout);
}

static void
report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct episode *e = &r->v[i];
		free(e->opened);
		free(e->rule);
		free(e->kind);
		free(e->scope);
		free(e->trigger);
		free(e->ended);
		free(e->by);
		free(e->notice);
	}
	free(r->v);
	for (size_t i = 0; i < r->np; i++) {
		struct plan *p = &r->p[i];
		free(p->scope);
		free(p->scope_type);
		free(p->reason);
		free(p->planned_by);
		free(p->cancel_requested_by);
		free(p->cancel_approved_by);
		free(p->lapsed_why);
	}
	free(r->p);
}

int
ctl_report(int argc, char **argv)
{
	static const char use[] =
	    "usage: fxbreakerctl report [--config FILE | --db PATH] "
	    "[--since TIME] [--until TIME] [--format text|csv|json] "
	    "[--plans]";
	const char *config = ctl_default_config(), *db = NULL, *fmt = "text";
	bool plans = false;
	struct report r;
	int code = CTL_EXIT_OK;

	memset(&r, 0, sizeof(r));
	if (!report_opts(argc, argv, &config, &db, &fmt, &plans, &r)) {
		fprintf(stderr, "%s\n", use);
		return CTL_EXIT_USAGE;
	}
	struct ledger *lg = ctl_open_ledger(config, db, &code);
	if (lg == NULL)
		return code;
	struct ledger_filter f;
	memset(&f, 0, sizeof(f));
	if (ledger_query(lg, &f, collect, &r) != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: the log query failed\n");
		code = CTL_EXIT_USAGE;
	}
	ledger_close(lg);
	for (size_t i = 0; i < r.np; i++)
		if (r.p[i].fate == PLAN_PENDING && r.p[i].until >= 0 &&
		    r.p[i].until <= r.last_t)
			r.p[i].fate = PLAN_LAPSED;
	if (!plans)
		report_print(&r, fmt);
	if (plans || strcmp(fmt, "text") == 0)
		plans_print(&r, fmt, !plans);
	report_free(&r);
	return code;
}
