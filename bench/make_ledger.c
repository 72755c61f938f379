/*
 * make_ledger.c: writes a real, valid suspension log of about N rows, for
 * the start-up and verify benchmarks of issue 5 (bench/ledger_bench.sh).
 *
 *     make_ledger CONFIG DIR NROWS
 *
 * makes DIR/fxbreaker.db (and DIR/log.key, DIR/log.pub) as fxbreakerd
 * would have written it over months of a lively market: the real engine
 * (libbreaker) runs the config on a simulated clock, fed by a synthetic
 * market (random-walk quotes per pair with jumps, wide spreads and feed
 * gaps; conversion checks per product with rushes), and every engine event
 * becomes a row exactly as daemon_sink makes it (same detail JSON through
 * ipc_event_json, the daemon's own notice texts from daemon/notice.c,
 * breaker_state and notices rows through the ledger's effects).  Latched
 * trips are reset by two operators (a pending request and an approval, as
 * command rows), an operator forces a product shut now and then, and the
 * service restarts once a simulated day (service_stop, service_start).
 *
 * Commits follow the daemon's writer: each engine call's events are one
 * ledger_append, signed (a checkpoint row) when they open or end a
 * suspension or record a service or operator row, or when the last
 * checkpoint is a minute old.  The run ends with every suspension over
 * (breaker_state empty), so a daemon started on the log writes nothing
 * but its own service_start row.
 *
 * This is not a benchmark itself and does not time anything.  The caller
 * may point DIR at a tmpfs and copy the result: synchronous=FULL then
 * costs nothing while the file is made, and the bytes are the same.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "config_file.h"
#include "daemon.h"
#include "ipc_json.h"
#include "ledger.h"
#include "xorshift.h"

/* 2024-12-01 00:00 UTC: the simulated log starts here. */
#define T0     INT64_C(1733011200000)
#define DAY_MS INT64_C(86400000)
#define MIN_MS INT64_C(60000)
/* The daemon's writer signs at least this often while the log grows. */
#define CHECKPOINT_MAX_AGE_MS 60000
#define MAX_PAIRS             16
#define MAX_PRODUCTS          64
#define MAX_RESETS            64

enum mode { CALM, JUMP, HOLD, REVERT, WIDE, GAP };

struct pairsim {
	int64_t base, mid, tick, half; /* 10^-9 units */
	fxb_time next_tick, mode_until, next_episode;
	int interval_ms;
	enum mode mode;
	int64_t target;
};

struct prodsim {
	fxb_time next_check, rush_until, next_rush;
	int64_t calm_gap_ms;          /* checks come 1 s to this far apart */
	int64_t amount_lo, amount_hi; /* minor units */
};

/* A row waiting for its commit, owning its strings (the daemon's qrow). */
struct pend {
	struct ledger_row row;
	char *rule, *scope, *detail, *ko, *en, *notice_id, *reason;
};

/* An open customer notice (the daemon's onotice, reduced). */
struct onotice {
	int64_t suspension;
	char *scope;
	fxb_time since, until;
	const char *reason_ko, *reason_en;
	int64_t denied;
};

/* A latched trip (or an operator's suspension) that ops will deal with. */
struct opjob {
	int32_t rule; /* -1: lift a forced product */
	int32_t product;
	int64_t suspension, request;
	char scope[BREAKER_ID_MAX + 1];
	fxb_time due;
	int step; /* 0: request next, 1: approve next */
};

struct gen {
	struct breaker_config *cfg;
	struct service_conf svc;
	struct breaker *b;
	struct ledger *lg;
	char config_hash[65];
	int64_t next_seq;
	struct pend *pend;
	size_t npend, cappend;
	struct onotice *open;
	size_t nopen, capopen;
	struct opjob jobs[MAX_RESETS];
	size_t njobs;
	fxb_time last_signed, now;
	struct pairsim pairs[MAX_PAIRS];
	struct prodsim prods[MAX_PRODUCTS];
	size_t npairs, nprods;
	uint64_t rng;
	bool draining;
	int pid;
	/* tallies for the summary */
	int64_t commits, checkpoints, checks, by_event[32];
};

static void
die(const char *what)
{
	fprintf(stderr, "make_ledger: %s\n", what);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL)
		die("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

static uint64_t
rnd(struct gen *g)
{
	return xorshift64(&g->rng);
}

/* A uniform integer in [lo, hi]. */
static int64_t
uni(struct gen *g, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd(g) % (uint64_t)(hi - lo + 1));
}

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s == NULL)
		die("out of memory");
	return s;
}

static struct pend *
pend_new(struct gen *g)
{
	if (g->npend == g->cappend) {
		g->cappend = g->cappend != 0 ? g->cappend * 2 : 64;
		g->pend = realloc(g->pend, g->cappend * sizeof(*g->pend));
		if (g->pend == NULL)
			die("out of memory");
	}
	struct pend *p = &g->pend[g->npend++];
	memset(p, 0, sizeof(*p));
	p->row.seq = g->next_seq++;
	p->row.t = g->now;
	return p;
}

static void
pend_free(struct pend *p)
{
	free(p->rule);
	free(p->scope);
	free(p->detail);
	free(p->ko);
	free(p->en);
	free(p->notice_id);
	free(p->reason);
}

/* The daemon's writer: one transaction for what is queued, signed when it
 * carries a suspension's start or end, a service or operator row, or when
 * the last signature is a minute old. */
static void
flush(struct gen *g)
{
	char err[256];
	bool sign = false;
	if (g->npend == 0)
		return;
	for (size_t i = 0; i < g->npend; i++) {
		const struct ledger_row *r = &g->pend[i].row;
		sign |= r->effect != LEDGER_NONE ||
		        strcmp(r->kind, "service") == 0 ||
		        strcmp(r->kind, "operator") == 0;
	}
	/* Written a few ms after the event, as a real commit would be. */
	fxb_time logged = g->now + uni(g, 1, 4);
	sign |= logged - g->last_signed >= CHECKPOINT_MAX_AGE_MS;
	struct ledger_row *rows = xmalloc(g->npend * sizeof(*rows));
	for (size_t i = 0; i < g->npend; i++)
		rows[i] = g->pend[i].row;
	if (ledger_append(g->lg, rows, g->npend, logged, sign, NULL, err,
	                  sizeof(err)) != FXB_OK) {
		fprintf(stderr, "make_ledger: append: %s\n", err);
		exit(1);
	}
	free(rows);
	/* The daemon's writer runs a passive WAL checkpoint every 256
	 * commits (automatic ones are off). */
	if (++g->commits % 256 == 0)
		ledger_checkpoint(g->lg);
	if (sign) {
		g->checkpoints++;
		g->last_signed = logged;
	}
	for (size_t i = 0; i < g->npend; i++)
		pend_free(&g->pend[i]);
	g->npend = 0;
}

/* ---- notices, as the daemon renders them (daemon/notice.c) ---- */

static struct onotice *
notice_find(struct gen *g, int64_t suspension, size_t *at)
{
	for (size_t i = 0; i < g->nopen; i++)
		if (g->open[i].suspension == suspension) {
			*at = i;
			return &g->open[i];
		}
	return NULL;
}

static void
notice_vars(struct gen *g, const struct onotice *n, struct notice_vars *v)
{
	v->product = n->scope;
	v->start = n->since;
	v->until = n->until;
	v->end = 0;
	v->reason_ko = n->reason_ko;
	v->reason_en = n->reason_en;
	v->tz_min = g->svc.notice_tz_min;
}

/* Fills p's notice for an event that opens or ends a suspension. */
static void
row_notice(struct gen *g, struct pend *p, const struct breaker_event *ev,
           bool opens)
{
	struct notice_vars v;
	size_t at;
	if (ev->shadow)
		return;
	if (opens) {
		const char *id = NULL, *ko = notice_default_ko,
		           *en = notice_default_en;
		char defid[32];
		if (ev->rule != NULL) {
			int32_t ri = breaker_rule_find(g->b, ev->rule,
			                               strlen(ev->rule));
			int32_t ni = ri >= 0 ? g->cfg->rules[ri].notice : -1;
			if (ni >= 0) {
				id = g->cfg->notices[ni].id;
				ko = g->cfg->notices[ni].ko;
				en = g->cfg->notices[ni].en;
			}
		}
		if (id == NULL) {
			snprintf(defid, sizeof(defid), "default-%s",
			         breaker_kind_name(ev->kind));
			id = defid;
		}
		if (g->nopen == g->capopen) {
			g->capopen = g->capopen != 0 ? g->capopen * 2 : 16;
			g->open =
			    realloc(g->open, g->capopen * sizeof(*g->open));
			if (g->open == NULL)
				die("out of memory");
		}
		struct onotice *n = &g->open[g->nopen++];
		memset(n, 0, sizeof(*n));
		n->suspension = p->row.seq;
		n->scope = xstrdup(ev->scope);
		n->since = ev->t;
		n->until = ev->until;
		notice_reason(ev->kind, &n->reason_ko, &n->reason_en);
		notice_vars(g, n, &v);
		p->ko = notice_render(ko, &v, true);
		p->en = notice_render(en, &v, false);
		p->notice_id = xstrdup(id);
		p->row.notice_id = p->notice_id;
		return;
	}
	struct onotice *n = notice_find(g, ev->suspension, &at);
	if (n == NULL)
		return;
	notice_vars(g, n, &v);
	v.end = ev->t;
	p->ko = notice_render_closed(&v, true);
	p->en = notice_render_closed(&v, false);
	p->row.suspension = n->suspension;
	free(n->scope);
	memmove(&g->open[at], &g->open[at + 1],
	        (g->nopen - at - 1) * sizeof(*g->open));
	g->nopen--;
}

/* Schedules the two-person reset of a latched trip. */
static void
job_add(struct gen *g, int32_t rule, int32_t product, int64_t suspension,
        const char *scope, fxb_time due)
{
	if (g->njobs == MAX_RESETS)
		return; /* ops are busy: the next sweep picks it up */
	struct opjob *j = &g->jobs[g->njobs++];
	memset(j, 0, sizeof(*j));
	j->rule = rule;
	j->product = product;
	j->suspension = suspension;
	snprintf(j->scope, sizeof(j->scope), "%s", scope);
	j->due = due;
}

/* The engine's sink: daemon_sink, row for row. */
static int64_t
sink(void *arg, const struct breaker_event *ev)
{
	struct gen *g = arg;
	bool opens = ev->type == BREAKER_EV_TRIP ||
	             ev->type == BREAKER_EV_STALE ||
	             ev->type == BREAKER_EV_FORCE_SUSPEND;
	bool ends =
	    ev->type == BREAKER_EV_RESUME || ev->type == BREAKER_EV_RESET ||
	    ev->type == BREAKER_EV_FRESH || ev->type == BREAKER_EV_FORCE_LIFT;
	struct pend *p = pend_new(g);
	int64_t susp = opens ? p->row.seq : ev->suspension;
	int64_t denied = -1;

	p->row.t = ev->t;
	p->rule = xstrdup(ev->rule);
	p->scope = xstrdup(ev->scope);
	p->reason = xstrdup(ev->reason);
	p->row.event = breaker_event_name(ev->type);
	p->row.rule = p->rule;
	p->row.kind =
	    ev->rule != NULL ? breaker_kind_name(ev->kind) : "forced";
	p->row.scope = p->scope;
	p->row.scope_type = ev->scope_is_pair ? "pair" : "product";
	p->row.suspension = susp;
	p->row.shadow = ev->shadow;
	p->row.effect = opens  ? LEDGER_OPENS
	                : ends ? LEDGER_CLOSES
	                       : LEDGER_NONE;
	p->row.until = ev->until;
	p->row.dir = ev->dir;
	p->row.latched = ev->latched;
	p->row.reason = p->reason;
	if (ends && !ev->shadow) {
		size_t at;
		struct onotice *n = notice_find(g, ev->suspension, &at);
		if (n != NULL)
			denied = n->denied;
	}
	if (opens || ends)
		row_notice(g, p, ev, opens);
	json_t *j = ipc_event_json(ev, susp);
	if (j == NULL)
		die("out of memory");
	if (p->ko != NULL && p->en != NULL) {
		json_t *n = json_object();
		json_object_set_new(n, "state",
		                    json_string(opens ? "open" : "closed"));
		json_object_set_new(n, "ko", json_string(p->ko));
		json_object_set_new(n, "en", json_string(p->en));
		json_object_set_new(j, "notice", n);
	}
	if (denied >= 0)
		json_object_set_new(j, "denied", json_integer(denied));
	p->detail = dump(j);
	json_decref(j);
	p->row.detail = p->detail;
	p->row.notice_ko = p->ko;
	p->row.notice_en = p->en;
	g->by_event[ev->type & 31]++;
	if (ev->type == BREAKER_EV_TRIP && ev->latched)
		job_add(g, breaker_rule_find(g->b, ev->rule, strlen(ev->rule)),
		        -1, susp, ev->scope, ev->t + uni(g, 5, 20) * MIN_MS);
	return p->row.seq;
}

/* ---- service and operator rows (daemon.c, command.c) ---- */

static void
service_row(struct gen *g, const char *event, const char *what)
{
	struct pend *p = pend_new(g);
	json_t *o = json_object();
	json_object_set_new(o, "config",
	                    json_string("/etc/fxbreaker/fxbreaker.conf"));
	json_object_set_new(o, "config_hash", json_string(g->config_hash));
	json_object_set_new(o, "service_id", json_string(g->svc.service_id));
	json_object_set_new(o, "pid", json_integer(g->pid));
	json_object_set_new(o, "what", json_string(what));
	json_object_set_new(o, "thresholds_changed", json_integer(0));
	p->detail = dump(o);
	json_decref(o);
	p->row.event = event;
	p->row.kind = "service";
	p->row.detail = p->detail;
	flush(g);
}

static const struct {
	const char *key_id, *name;
} operators[] = {
    {"3f9a1c27d04e8b65", "kim.minji"},
    {"a81d5e0c9b7f2346", "lee.junho"},
    {"5c0e7d42f1a9b803", "park.soyeon"},
};

static void
nonce(struct gen *g, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++)
		out[i] = hex[rnd(g) & 15];
	out[32] = '\0';
}

/* A command row as command.c's log_command() writes it. */
static int64_t
command_row(struct gen *g, int op, const char *cmd, json_t *args,
            const char *result, json_t *reply, const char *scope,
            int64_t suspension)
{
	char nb[33];
	struct pend *p = pend_new(g);
	int64_t seq = p->row.seq;
	json_t *row = json_object();
	nonce(g, nb);
	json_object_set_new(row, "cmd", json_string(cmd));
	json_object_set_new(row, "operator",
	                    json_string(operators[op].key_id));
	json_object_set_new(row, "name", json_string(operators[op].name));
	char from[48];
	snprintf(from, sizeof(from), "uid=1001 pid=%d",
	         (int)uni(g, 2000, 60000));
	json_object_set_new(row, "from", json_string(from));
	json_object_set_new(row, "nonce", json_string(nb));
	json_object_set_new(row, "issued_at",
	                    json_integer(g->now - uni(g, 200, 3000)));
	json_object_set_new(row, "expires_at", json_integer(g->now + 300000));
	json_object_set_new(row, "args", args);
	json_object_set_new(row, "result", json_string(result));
	char *r = dump(reply);
	json_decref(reply);
	json_object_set_new(row, "reply", json_string(r));
	free(r);
	p->detail = dump(row);
	json_decref(row);
	p->row.event = "command";
	p->row.kind = "operator";
	p->scope = xstrdup(scope);
	p->row.scope = p->scope;
	p->row.suspension = suspension;
	p->row.detail = p->detail;
	return seq;
}

/* Moves the two-person resets and the forced lifts along. */
static void
run_jobs(struct gen *g)
{
	for (size_t i = 0; i < g->njobs;) {
		struct opjob *j = &g->jobs[i];
		if (j->due > g->now) {
			i++;
			continue;
		}
		int a = (int)(rnd(g) % 3), b = (a + 1) % 3;
		const char *what = j->rule >= 0 ? "reset" : "lift";
		json_t *args = json_object();
		if (j->rule >= 0)
			json_object_set_new(
			    args, "rule",
			    json_string(g->cfg->rules[j->rule].id));
		else
			json_object_set_new(args, "product",
			                    json_string(j->scope));
		json_object_set_new(args, "suspension",
		                    json_integer(j->suspension));
		if (j->step == 0) {
			json_object_set_new(
			    args, "reason",
			    json_string("market settled; desk confirms "
			                "rates are dealable"));
			json_t *reply = json_object();
			j->request = g->next_seq;
			json_object_set_new(reply, "result",
			                    json_string("pending"));
			json_object_set_new(reply, "request",
			                    json_integer(j->request));
			command_row(g, a, what, args, "pending", reply,
			            j->scope, j->suspension);
			flush(g);
			j->step = 1;
			j->due = g->now + uni(g, 1, 4) * MIN_MS;
			i++;
			continue;
		}
		json_decref(args);
		/* The approval: the effect's row, then the command's. */
		enum fxb_err e;
		if (j->rule >= 0)
			e = breaker_reset(g->b, g->now, j->rule);
		else
			e = breaker_force_lift(g->b, g->now, false,
			                       j->product);
		json_t *aargs = json_object();
		json_object_set_new(aargs, "request",
		                    json_integer(j->request));
		json_object_set_new(aargs, "suspension",
		                    json_integer(j->suspension));
		json_object_set_new(
		    aargs, "reason",
		    json_string("second pair of eyes: agreed"));
		json_t *reply = json_object();
		json_object_set_new(
		    reply, "result",
		    json_string(e == FXB_OK ? "applied" : "rejected"));
		json_object_set_new(reply, "request",
		                    json_integer(j->request));
		json_object_set_new(reply, "suspension",
		                    json_integer(j->suspension));
		command_row(g, b, "approve", aargs,
		            e == FXB_OK ? "applied" : "rejected", reply,
		            j->scope, j->suspension);
		flush(g);
		*j = g->jobs[--g->njobs];
	}
}

/* An operator shuts a product for a quarter of an hour. */
static void
force_suspend(struct gen *g)
{
	int32_t pi = (int32_t)(rnd(g) % g->nprods);
	const char *id = breaker_product_id(g->b, pi);
	fxb_time until = g->now + 15 * MIN_MS;
	int64_t seq = g->next_seq;
	if (breaker_force_suspend(g->b, g->now, false, pi, until,
	                          "core banking maintenance window") != FXB_OK)
		return;
	json_t *args = json_object(), *reply = json_object();
	json_object_set_new(args, "product", json_string(id));
	json_object_set_new(args, "reason",
	                    json_string("core banking maintenance window"));
	json_object_set_new(args, "until", json_integer(until));
	json_object_set_new(reply, "result", json_string("applied"));
	json_object_set_new(reply, "suspension", json_integer(seq));
	command_row(g, (int)(rnd(g) % 3), "suspend", args, "applied", reply,
	            id, seq);
	flush(g);
	/* Half the time ops lift it early (two people), else it ends on
	 * schedule. */
	if (rnd(g) % 2 == 0)
		job_add(g, -1, pi, seq, id, g->now + uni(g, 2, 8) * MIN_MS);
}

/* ---- the market ---- */

static int64_t
round_tick(int64_t px, int64_t tick)
{
	return px / tick * tick;
}

static void
pair_tick(struct gen *g, int32_t pi)
{
	struct pairsim *s = &g->pairs[pi];
	int64_t step = s->tick;
	switch (s->mode) {
	case CALM:
		/* A random walk of a tick or two, pulled toward the close. */
		s->mid += step * uni(g, -2, 2);
		if (s->mid > s->base + 20 * step && rnd(g) % 3 == 0)
			s->mid -= step;
		if (s->mid < s->base - 20 * step && rnd(g) % 3 == 0)
			s->mid += step;
		break;
	case JUMP:
	case REVERT: {
		int64_t gap = s->target - s->mid;
		int64_t mv =
		    round_tick(gap / (s->mode == JUMP ? 4 : 40), step);
		if (mv == 0)
			mv = gap > 0 ? step : gap < 0 ? -step : 0;
		s->mid += mv;
		if (s->mid == s->target || (mv > 0) != (s->target > s->mid)) {
			s->mid = s->target;
			if (s->mode == JUMP) {
				s->mode = HOLD;
				s->mode_until =
				    g->now + uni(g, 30, 150) * 1000;
			} else {
				s->mode = CALM;
			}
		}
		break;
	}
	case HOLD:
		s->mid += step * uni(g, -1, 1);
		break;
	case WIDE:
	case GAP:
		s->mid += step * uni(g, -1, 1);
		break;
	}
	if (s->mode == GAP)
		return;
	int64_t half = s->mode == WIDE ? s->mid / 250 : s->half;
	half = round_tick(half, step);
	if (half < step)
		half = step;
	if (breaker_quote(g->b, g->now, pi, s->mid - half, s->mid + half) !=
	    FXB_OK)
		die("quote refused");
	flush(g);
}

static void
pair_episode(struct gen *g, int32_t pi)
{
	struct pairsim *s = &g->pairs[pi];
	if (s->mode == HOLD && g->now >= s->mode_until) {
		s->mode = REVERT;
		s->target = s->base;
	} else if ((s->mode == WIDE || s->mode == GAP) &&
	           g->now >= s->mode_until) {
		s->mode = CALM;
	} else if (s->mode == CALM && g->now >= s->next_episode) {
		uint64_t r = rnd(g) % 8;
		if (r < 4) {
			/* 1.2 % to 3.8 % either way: velocity always, the
			 * band and the deviation rules as it holds. */
			int64_t bp = uni(g, 120, 380) * (rnd(g) % 2 ? 1 : -1);
			s->mode = JUMP;
			s->target = round_tick(s->base + s->base / 10000 * bp,
			                       s->tick);
		} else if (r < 6) {
			s->mode = WIDE;
			s->mode_until = g->now + uni(g, 20, 60) * 1000;
		} else {
			s->mode = GAP;
			s->mode_until = g->now + uni(g, 8, 25) * 1000;
		}
		s->next_episode = g->now + uni(g, 3, 20) * MIN_MS;
	}
}

/* One check on a product, then the time of its next one: calm, a few a
 * minute; in a rush (every few hours), 6-20 a second. */
static void
product_check(struct gen *g, int32_t pi)
{
	struct prodsim *s = &g->prods[pi];
	struct breaker_decision d;
	bool rush = g->now < s->rush_until;
	int64_t amount = uni(g, s->amount_lo, s->amount_hi) * (rush ? 3 : 1);

	if (breaker_check(g->b, g->now, pi, amount, 0, &d) != FXB_OK)
		die("check refused");
	g->checks++;
	if (d.verdict == BREAKER_VERDICT_DENY && d.suspension > 0) {
		size_t at;
		struct onotice *o = notice_find(g, d.suspension, &at);
		if (o != NULL)
			o->denied++;
	}
	flush(g);
	if (!rush && g->now >= s->next_rush && !g->draining) {
		s->rush_until = g->now + uni(g, 40, 150) * 1000;
		s->next_rush = g->now + uni(g, 60, 240) * MIN_MS;
		rush = true;
	}
	s->next_check =
	    g->now + (rush ? uni(g, 10, 330) : uni(g, 1000, s->calm_gap_ms));
}

static int64_t
pair_base(const struct breaker_config *cfg, int32_t pi)
{
	for (size_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].on_pair && cfg->rules[i].owner == pi &&
		    cfg->rules[i].base > 0)
			return cfg->rules[i].base;
	return INT64_C(1000000000000); /* 1000 */
}

static int
count_state(void *arg, const struct ledger_state *st)
{
	(void)st;
	(*(int64_t *)arg)++;
	return 0;
}

static fxb_time
min_time(fxb_time a, fxb_time b)
{
	return a < b ? a : b;
}

/* The next instant anything happens: a tick, a check, an episode's turn,
 * an engine timer, an operator, midnight. */
static fxb_time
next_instant(struct gen *g, fxb_time next_day)
{
	fxb_time t = min_time(next_day, breaker_next_timer(g->b));
	for (size_t i = 0; i < g->njobs; i++)
		t = min_time(t, g->jobs[i].due);
	for (size_t p = 0; p < g->npairs; p++) {
		const struct pairsim *s = &g->pairs[p];
		t = min_time(t, s->next_tick);
		if (s->mode == HOLD || s->mode == WIDE || s->mode == GAP)
			t = min_time(t, s->mode_until);
		if (s->mode == CALM)
			t = min_time(t, s->next_episode);
	}
	for (size_t p = 0; p < g->nprods; p++)
		t = min_time(t, g->prods[p].next_check);
	return t > g->now ? t : g->now;
}

/* Runs the market until the log has target_rows rows (or, draining, for
 * `span` ms). */
static void
simulate(struct gen *g, int64_t target_rows, fxb_time span)
{
	fxb_time next_day = (g->now / DAY_MS + 1) * DAY_MS;
	fxb_time end = span > 0 ? g->now + span : FXB_NEVER;
	while (g->next_seq <= target_rows && g->now < end) {
		g->now = next_instant(g, next_day);
		if (breaker_advance(g->b, g->now) != FXB_OK)
			die("advance refused");
		flush(g);
		if (g->now >= next_day) {
			service_row(g, "service_stop", "stop");
			g->pid = (int)uni(g, 1000, 99999);
			service_row(g, "service_start", "start");
			next_day += DAY_MS;
			if (!g->draining && rnd(g) % 2 == 0)
				force_suspend(g);
		}
		run_jobs(g);
		for (size_t p = 0; p < g->npairs; p++) {
			struct pairsim *s = &g->pairs[p];
			pair_episode(g, (int32_t)p);
			if (g->now >= s->next_tick) {
				pair_tick(g, (int32_t)p);
				s->next_tick = g->now + s->interval_ms +
				               uni(g, -s->interval_ms / 4,
				                   s->interval_ms / 4);
			}
		}
		for (size_t p = 0; p < g->nprods; p++)
			if (g->now >= g->prods[p].next_check)
				product_check(g, (int32_t)p);
	}
}

/* Calm markets and no checks until every suspension is over. */
static void
drain(struct gen *g)
{
	g->draining = true;
	for (size_t p = 0; p < g->npairs; p++) {
		struct pairsim *s = &g->pairs[p];
		if (s->mode != CALM) {
			s->mode = REVERT;
			s->target = s->base;
		}
		s->next_episode = FXB_NEVER;
	}
	for (size_t p = 0; p < g->nprods; p++) {
		g->prods[p].rush_until = 0;
		g->prods[p].next_check = FXB_NEVER;
	}
	for (int round = 0; round < 48; round++) {
		int64_t open = 0;
		simulate(g, INT64_MAX, 10 * MIN_MS);
		if (ledger_states(g->lg, count_state, &open) != FXB_OK)
			die("cannot read breaker_state");
		if (open == 0 && g->njobs == 0)
			return;
	}
	die("suspensions still open after the drain");
}

int
main(int argc, char **argv)
{
	struct gen g;
	char err[512], path[4096];
	unsigned char pk[32], sk[64];

	if (argc != 4) {
		fprintf(stderr, "usage: make_ledger CONFIG DIR NROWS\n");
		return 2;
	}
	int64_t target = strtoll(argv[3], NULL, 10);
	memset(&g, 0, sizeof(g));
	g.rng = 0x2024120300000001ULL;
	g.pid = 4242;
	if (config_file_load(argv[1], &g.svc, &g.cfg, g.config_hash, err,
	                     sizeof(err)) != FXB_OK)
		die(err);
	snprintf(path, sizeof(path), "%s/fxbreaker.db", argv[2]);
	if (ledger_open(path, false, &g.lg, err, sizeof(err)) != FXB_OK ||
	    ledger_key_load(argv[2], true, pk, sk, err, sizeof(err)) != FXB_OK)
		die(err);
	ledger_set_key(g.lg, pk, sk);
	if (ledger_last_seq(g.lg) != 0)
		die("the ledger is not empty");
	g.next_seq = 1;
	g.now = T0;
	g.last_signed = T0;
	if (breaker_new(g.cfg, T0, sink, &g, &g.b) != FXB_OK)
		die("cannot start the engine");
	g.npairs = breaker_pair_count(g.b);
	g.nprods = breaker_product_count(g.b);
	if (g.npairs > MAX_PAIRS || g.nprods > MAX_PRODUCTS)
		die("too many pairs or products for this generator");
	for (size_t p = 0; p < g.npairs; p++) {
		struct pairsim *s = &g.pairs[p];
		s->base = pair_base(g.cfg, (int32_t)p);
		s->tick = g.cfg->pairs[p].tick > 0 ? g.cfg->pairs[p].tick
		                                   : s->base / 100000;
		s->mid = round_tick(s->base, s->tick);
		s->half = round_tick(s->base / 10000, s->tick); /* 0.01 % */
		s->interval_ms = p == 0 ? 2000 : 5000;
		s->next_tick = T0;
		s->next_episode = T0 + uni(&g, 5, 30) * MIN_MS;
	}
	for (size_t p = 0; p < g.nprods; p++) {
		struct prodsim *s = &g.prods[p];
		int e = breaker_product_exponent(g.b, (int32_t)p);
		int64_t unit = 1;
		for (int i = 0; i < e; i++)
			unit *= 10;
		s->calm_gap_ms = uni(&g, 8000, 40000);
		s->next_check = T0 + uni(&g, 1000, 10000);
		s->next_rush = T0 + uni(&g, 10, 240) * MIN_MS;
		s->amount_lo = 50 * unit;
		s->amount_hi = 3000 * unit;
	}
	service_row(&g, "service_start", "start");
	simulate(&g, target - 200, 0);
	drain(&g);
	service_row(&g, "service_stop", "stop");
	int64_t rows = ledger_last_seq(g.lg);
	ledger_close(g.lg);
	breaker_free(g.b);
	breaker_config_free(g.cfg);

	printf("rows %lld, commits %lld, checkpoints %lld (one per %.2f "
	       "rows), checks %lld, simulated days %.1f\n",
	       (long long)rows, (long long)g.commits, (long long)g.checkpoints,
	       (double)rows / (double)(g.checkpoints > 0 ? g.checkpoints : 1),
	       (long long)g.checks, (double)(g.now - T0) / (double)DAY_MS);
	printf("events:");
	for (int t = BREAKER_EV_REF_SET; t <= BREAKER_EV_FORCE_LIFT; t++)
		if (g.by_event[t] > 0)
			printf(" %s %lld",
			       breaker_event_name((enum breaker_event_type)t),
			       (long long)g.by_event[t]);
	printf("\n");
	return 0;
}
