/*
 * metrics.c: what GET /metrics and /status.json count (docs/OPERATIONS.md
 * "Watching it"), and the Prometheus text that shows it.
 *
 * Counters and histograms are atomics, added to with relaxed order where
 * the thing happens (a check decided, a reply sent, a commit, a row
 * published) and read at scrape without the engine lock: a scrape never
 * holds a check up on them.  What only the engine knows is read at
 * scrape under mu, kept short: the pairs' bands and the pending approvals
 * in one hold (a few numbers a pair); the products open and suspended
 * and the open suspensions by kind are counted again only after a
 * committed row, a pair's first tick or a reload may have changed them,
 * and then in slices of METRICS_SLICE products or rules per hold, so that
 * 100,000 products never sit under mu at once.
 *
 * No label carries a product: 100,000 products would be 100,000 series.
 * A pair label is one of the config's pairs; a command label is one of
 * the commands the service knows ("other" for anything else); an error
 * label is an fxb_err name.  No label value comes from a request's bytes.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_impl.h"
#include "ipc_trust.h"
#include "ipc_wire.h"

/* Histogram bucket bounds, ns and as Prometheus prints them: from 50 us
 * (a check answered at once is well under) to 10 s (a commit on a disk
 * that has gone bad). */
static const uint64_t bucket_ns[METRICS_BUCKETS] = {
    50000,     100000,     250000,     500000,     1000000,   2500000,
    5000000,   10000000,   25000000,   50000000,   100000000, 250000000,
    500000000, 1000000000, 2500000000, 10000000000};
static const char *const bucket_le[METRICS_BUCKETS] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "10"};

/* The request ops, by IPC_OP_* value; 0: a request that did not parse. */
static const char *const op_name[METRICS_OPS] = {
    [0] = "invalid",
    [IPC_OP_CHECK] = "check",
    [IPC_OP_TICK] = "tick",
    [IPC_OP_PING] = "ping",
    [IPC_OP_STATUS] = "status",
    [IPC_OP_COMMAND] = "command",
    [IPC_OP_CHECK_BATCH] = "check_batch",
};

static const char *const verdict_name[METRICS_VERDICTS] = {"allow", "deny",
                                                           "throttle"};
static const char *const cmd_result_name[METRICS_CMD_RESULTS] = {
    "applied", "pending", "rejected", "repeated", "invalid"};

/* A reason index past the engine's: the fail-closed answer. */
#define REASON_LEDGER (METRICS_REASONS - 1)
/* A new engine reason needs its own slot before the fail-closed one. */
_Static_assert(REASON_LEDGER == BREAKER_REASON_CLOSED + 1,
               "METRICS_REASONS: one per engine reason, then the ledger's");

static const char *
reason_name(size_t r)
{
	return r == REASON_LEDGER
	           ? "ledger_unavailable"
	           : breaker_reason_name((enum breaker_reason)r);
}

/* Kinds by index: 0 forced, then enum breaker_kind. */
static const char *
kind_name(size_t k)
{
	return breaker_kind_name((enum breaker_kind)k);
}

static inline void
inc(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void
hist_observe(struct metrics_hist *h, uint64_t ns)
{
	size_t i = 0;
	while (i < METRICS_BUCKETS && ns > bucket_ns[i])
		i++;
	inc(&h->b[i], 1);
	inc(&h->sum_ns, ns);
}

struct metrics *
metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->recount_mu, NULL);
	atomic_store(&m->dirty, true);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->recount_mu);
	free(m->pair_slot);
	free(m);
}

/* The slot of pair name, made if new (mu held); -1 if the table is full
 * (the pair goes uncounted: said once). */
static int32_t
pair_slot_of(struct metrics *m, const char *name)
{
	size_t n = atomic_load_explicit(&m->npairs, memory_order_relaxed);
	for (size_t i = 0; i < n; i++)
		if (strcmp(m->pairs[i].name, name) == 0)
			return (int32_t)i;
	if (n == METRICS_PAIRS_MAX) {
		if (!m->pairs_full)
			log_warn("metrics: more than %d pairs: pair %s and "
			         "later ones are not counted by pair",
			         METRICS_PAIRS_MAX, name);
		m->pairs_full = true;
		return -1;
	}
	snprintf(m->pairs[n].name, sizeof(m->pairs[n].name), "%s", name);
	/* Published whole: a scrape reads the name only below npairs. */
	atomic_store_explicit(&m->npairs, n + 1, memory_order_release);
	return (int32_t)n;
}

void
metrics_pairs_map(struct daemon *d)
{
	struct metrics *m = d->metrics;
	size_t n = breaker_pair_count(d->engine);
	int32_t *v = calloc(n > 0 ? n : 1, sizeof(*v));
	if (v == NULL) {
		/* Out of memory: counted by pair no longer (the totals
		 * still are). */
		free(m->pair_slot);
		m->pair_slot = NULL;
		m->npair_slot = 0;
		return;
	}
	for (size_t p = 0; p < n; p++) {
		v[p] =
		    pair_slot_of(m, breaker_pair_name(d->engine, (int32_t)p));
		/* A stale rule holds its pair until the first tick after
		 * a start or reload, which writes no row: counted again
		 * then. */
		if (v[p] >= 0)
			m->pairs[v[p]].seen = false;
	}
	free(m->pair_slot);
	m->pair_slot = v;
	m->npair_slot = n;
	atomic_fetch_add(&m->generation, 1);
	atomic_store(&m->dirty, true);
}

static struct metrics_pair *
pair_of(struct metrics *m, int32_t pair)
{
	if (pair < 0 || (size_t)pair >= m->npair_slot ||
	    m->pair_slot[pair] < 0)
		return NULL;
	return &m->pairs[m->pair_slot[pair]];
}

void
metrics_check(struct daemon *d, int32_t product,
              const struct breaker_decision *dec)
{
	struct metrics *m = d->metrics;
	size_t v = (size_t)dec->verdict < METRICS_VERDICTS ? dec->verdict : 1;
	size_t r = (size_t)dec->reason < REASON_LEDGER ? dec->reason : 0;
	inc(&m->checks[v][r], 1);
	struct metrics_pair *p =
	    pair_of(m, breaker_product_pair(d->engine, product));
	if (p != NULL)
		inc(&p->checks[v], 1);
}

void
metrics_checks_closed(struct daemon *d, unsigned n)
{
	inc(&d->metrics->checks[BREAKER_VERDICT_DENY][REASON_LEDGER], n);
}

static size_t
err_index(enum fxb_err e)
{
	return (size_t)e < METRICS_ERRS ? (size_t)e : 0;
}

void
metrics_check_error(struct daemon *d, enum fxb_err e)
{
	inc(&d->metrics->check_errors[err_index(e)], 1);
}

void
metrics_tick(struct daemon *d, int32_t pair, fxb_time t, int64_t px,
             enum fxb_err e)
{
	struct metrics_pair *p = pair_of(d->metrics, pair);
	if (p == NULL)
		return;
	if (e != FXB_OK) {
		inc(&p->ticks_rejected, 1);
		return;
	}
	inc(&p->ticks_applied, 1);
	atomic_store_explicit(&p->rate, px, memory_order_relaxed);
	atomic_store_explicit(&p->last_tick, t, memory_order_relaxed);
	if (!p->seen) {
		p->seen = true;
		atomic_store(&d->metrics->dirty, true);
	}
}

void
metrics_tick_refused(struct daemon *d, enum fxb_err e)
{
	inc(&d->metrics->ticks_refused[err_index(e)], 1);
}

void
metrics_request(void *arg, unsigned op, uint64_t ns)
{
	struct daemon *d = arg;
	hist_observe(&d->metrics->req[op < METRICS_OPS ? op : 0], ns);
}

void
metrics_commit(struct daemon *d, uint64_t ns)
{
	hist_observe(&d->metrics->commit, ns);
}

void
metrics_command(struct daemon *d, const char *cmd,
                enum metrics_cmd_result result)
{
	size_t n, i = METRICS_CMDS; /* "other" */
	const struct ipc_trust_command *t = ipc_trust_commands(&n);
	const struct ipc_trust_command *c =
	    cmd != NULL ? ipc_trust_command_find(cmd) : NULL;
	if (c != NULL && (size_t)(c - t) < METRICS_CMDS)
		i = (size_t)(c - t);
	inc(&d->metrics->commands[i][result], 1);
}

/* Rows whose commit cannot change what holds a product: the rest may
 * (an opening, an end, a new reference after a resume, a reload). */
static bool
row_changes_holds(const struct ledger_row *row)
{
	static const char *const quiet[] = {
	    "warn",           "limit_enter",  "limit_exit", "ref_update",
	    "throttle_start", "throttle_end", "command"};
	if (row->event == NULL)
		return true;
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (strcmp(row->event, quiet[i]) == 0)
			return false;
	return true;
}

void
metrics_row(struct daemon *d, const struct ledger_row *row)
{
	struct metrics *m = d->metrics;
	/* A trip: a rule opening a suspension (trip, stale).  A shadow
	 * rule's trip suspends nothing: not counted. */
	if (row->effect == LEDGER_OPENS && row->rule != NULL && !row->shadow) {
		for (size_t k = 1; k < METRICS_KINDS; k++)
			if (strcmp(row->kind, kind_name(k)) == 0)
				inc(&m->trips[k], 1);
	}
	if (row_changes_holds(row))
		atomic_store_explicit(&m->dirty, true, memory_order_relaxed);
}

/* ---- counting the engine's state again (a scrape, when dirty) ---- */

struct recount {
	uint64_t open, suspended;
	uint64_t susp[METRICS_KINDS];
	bool *pair_held; /* by the engine's pair index */
	size_t npairs;
};

/* One slice: products then rules from *at, up to METRICS_SLICE of them;
 * the pairs' forces with the last.  true when done.  mu held. */
static bool
recount_slice(struct daemon *d, struct recount *rc, size_t *at)
{
	const struct breaker *e = d->engine;
	size_t np = breaker_product_count(e), nr = breaker_rule_count(e);
	size_t end = *at + METRICS_SLICE;
	int64_t id;
	fxb_time since, until;
	for (; *at < np && *at < end; (*at)++) {
		struct breaker_decision dec;
		breaker_product_status(e, (int32_t)*at, &dec, &since);
		if (dec.verdict == BREAKER_VERDICT_DENY)
			rc->suspended++;
		else
			rc->open++;
		if (breaker_force_status(e, false, (int32_t)*at, &id, &since,
		                         &until))
			rc->susp[0]++;
	}
	for (; *at >= np && *at < np + nr && *at < end; (*at)++) {
		size_t i = *at - np;
		struct breaker_rule_status st;
		if (d->cfg->rules[i].shadow)
			continue;
		const struct breaker_rule_conf *c = &d->cfg->rules[i];
		breaker_rule_status(e, (int32_t)i, &st);
		if ((st.state == BREAKER_RULE_TRIPPED ||
		     st.state == BREAKER_RULE_STALE) &&
		    (size_t)c->kind < METRICS_KINDS)
			rc->susp[c->kind]++;
		/* A pair is suspended as status says: an enforcing rule on
		 * it holds its products (status.c, status_pairs). */
		if (c->on_pair && (size_t)c->owner < rc->npairs &&
		    (st.state == BREAKER_RULE_TRIPPED ||
		     st.state == BREAKER_RULE_STALE ||
		     st.state == BREAKER_RULE_NO_RATE ||
		     st.state == BREAKER_RULE_AWAITING_REFERENCE))
			rc->pair_held[c->owner] = true;
	}
	if (*at < np + nr)
		return false;
	for (size_t p = 0; p < rc->npairs; p++) {
		if (breaker_force_status(e, true, (int32_t)p, &id, &since,
		                         &until)) {
			rc->susp[0]++;
			rc->pair_held[p] = true;
		}
		struct metrics_pair *mp = pair_of(d->metrics, (int32_t)p);
		if (mp != NULL)
			atomic_store_explicit(&mp->suspended, rc->pair_held[p],
			                      memory_order_relaxed);
	}
	return true;
}

static void
recount(struct daemon *d)
{
	struct metrics *m = d->metrics;
	/* One scrape counts at a time; another uses the last count. */
	if (pthread_mutex_trylock(&m->recount_mu) != 0)
		return;
	if (!atomic_exchange(&m->dirty, false)) {
		pthread_mutex_unlock(&m->recount_mu);
		return;
	}
	struct recount rc;
	size_t at = 0;
	uint64_t gen = 0;
	bool done = false;
	memset(&rc, 0, sizeof(rc));
	while (!done) {
		pthread_mutex_lock(&d->mu);
		/* A reload between slices: start again on the new engine. */
		if (at == 0 || gen != atomic_load(&m->generation)) {
			gen = atomic_load(&m->generation);
			at = 0;
			free(rc.pair_held);
			memset(&rc, 0, sizeof(rc));
			rc.npairs = breaker_pair_count(d->engine);
			rc.pair_held = calloc(rc.npairs + 1, sizeof(bool));
			if (rc.pair_held == NULL) {
				/* Out of memory: counted at the next scrape.
				 */
				pthread_mutex_unlock(&d->mu);
				atomic_store(&m->dirty, true);
				pthread_mutex_unlock(&m->recount_mu);
				return;
			}
		}
		done = recount_slice(d, &rc, &at);
		pthread_mutex_unlock(&d->mu);
	}
	free(rc.pair_held);
	atomic_store_explicit(&m->products_open, rc.open,
	                      memory_order_relaxed);
	atomic_store_explicit(&m->products_suspended, rc.suspended,
	                      memory_order_relaxed);
	for (size_t k = 0; k < METRICS_KINDS; k++)
		atomic_store_explicit(&m->susp_open[k], rc.susp[k],
		                      memory_order_relaxed);
	pthread_mutex_unlock(&m->recount_mu);
}

/* ---- the exposition ---- */

/* A growing text; oom once any append failed. */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3)))
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		int n = t->oom ? 0 : vsnprintf(t->p + t->len, room, fmt, ap);
		va_end(ap);
		if (t->oom || n < 0) {
			t->oom = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t ncap = t->cap != 0 ? t->cap * 2 : 16384;
		while (ncap - t->len <= (size_t)n)
			ncap *= 2;
		char *q = realloc(t->p, ncap);
		if (q == NULL) {
			t->oom = true;
			return;
		}
		t->p = q;
		t->cap = ncap;
	}
}

/* A label value, escaped as the exposition format asks (\\, \", \n). */
static void
put_label(struct text *t, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			put(t, "\\\\");
		else if (*v == '"')
			put(t, "\\\"");
		else if (*v == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *v);
	}
}

static void
head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} */
static void
series(struct text *t, const char *name, const char *label, const char *v)
{
	put(t, "%s{%s=\"", name, label);
	put_label(t, v);
	put(t, "\"}");
}

/* A histogram; labels: "" or one label already written out ("op=\"x\"",
 * a name of ours that needs no escaping). */
static void
put_hist(struct text *t, const char *name, const char *labels,
         struct metrics_hist *h)
{
	uint64_t cum = 0;
	const char *sep = labels[0] != '\0' ? "," : "";
	for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
		cum += get(&h->b[i]);
		put(t, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, labels,
		    sep, i < METRICS_BUCKETS ? bucket_le[i] : "+Inf", cum);
	}
	/* _count is the +Inf bucket: the two always agree. */
	uint64_t sum = get(&h->sum_ns);
	const char *open = labels[0] != '\0' ? "{" : "";
	const char *close = labels[0] != '\0' ? "}" : "";
	put(t, "%s_sum%s%s%s %" PRIu64 ".%09" PRIu64 "\n", name, open, labels,
	    close, sum / 1000000000u, sum % 1000000000u);
	put(t, "%s_count%s%s%s %" PRIu64 "\n", name, open, labels, close, cum);
}

/* A price in 10^-9 units as a decimal. */
static void
put_px(struct text *t, int64_t px)
{
	uint64_t a = px < 0 ? (uint64_t)0 - (uint64_t)px : (uint64_t)px;
	put(t, " %s%" PRIu64 ".%09" PRIu64 "\n", px < 0 ? "-" : "",
	    a / 1000000000u, a % 1000000000u);
}

/* What the engine knows, copied in one short hold of mu. */
struct engine_view {
	size_t npairs;
	struct {
		int32_t slot;
		bool band;
		int64_t lower, upper;
	} * pairs;
	uint64_t approvals;
	/* Each calendar's sessions, 1 for the one in force: the series,
	 * written under mu (a reload frees the names). */
	struct text calendars;
	char service_id[BREAKER_ID_MAX * 2 + 1];
	char config_hash[65];
};

static bool
engine_view(struct daemon *d, struct engine_view *v)
{
	pthread_mutex_lock(&d->mu);
	v->npairs = breaker_pair_count(d->engine);
	v->pairs = calloc(v->npairs > 0 ? v->npairs : 1, sizeof(*v->pairs));
	if (v->pairs == NULL) {
		pthread_mutex_unlock(&d->mu);
		return false;
	}
	for (size_t p = 0; p < v->npairs; p++) {
		v->pairs[p].slot =
		    p < d->metrics->npair_slot ? d->metrics->pair_slot[p] : -1;
		v->pairs[p].band =
		    breaker_pair_band(d->engine, (int32_t)p,
		                      &v->pairs[p].lower, &v->pairs[p].upper);
	}
	fxb_time now = breaker_now(d->engine);
	const struct foureyes *fe = &d->cmds->requests;
	v->approvals = 0;
	for (size_t i = 0; i < fe->n; i++)
		if (!fe->reqs[i].done && fe->reqs[i].expires > now)
			v->approvals++;
	snprintf(v->service_id, sizeof(v->service_id), "%s",
	         d->svc.service_id);
	snprintf(v->config_hash, sizeof(v->config_hash), "%s", d->config_hash);
	v->calendars = (struct text){NULL, 0, 0, false};
	for (size_t i = 0; i < breaker_calendar_count(d->engine); i++) {
		const struct breaker_calendar_conf *c =
		    breaker_calendar_conf(d->engine, i);
		fxb_time next;
		int to, cur = breaker_calendar_state(d->engine, i, &next, &to);
		/* off first, then the sessions in the config's order */
		for (int s = BREAKER_SESSION_OFF; s < (int)c->nsessions; s++) {
			put(&v->calendars,
			    "fxbreaker_calendar_session{calendar=\"");
			put_label(&v->calendars, c->id);
			put(&v->calendars, "\",session=\"");
			put_label(&v->calendars,
			          breaker_calendar_session_name(c, s));
			put(&v->calendars, "\"} %d\n", s == cur ? 1 : 0);
		}
	}
	pthread_mutex_unlock(&d->mu);
	return true;
}

static void
put_counters(struct text *t, struct metrics *m)
{
	size_t npairs = atomic_load_explicit(&m->npairs, memory_order_acquire);

	head(t, "fxbreaker_checks_total", "counter",
	     "Checks answered, by decision and the engine's reason "
	     "(ledger_unavailable: answered closed, not decided).");
	for (size_t v = 0; v < METRICS_VERDICTS; v++)
		for (size_t r = 0; r < METRICS_REASONS; r++) {
			uint64_t n = get(&m->checks[v][r]);
			/* The pairs that can happen, and any other seen. */
			bool usual = (v == BREAKER_VERDICT_ALLOW && r == 0) ||
			             (v == BREAKER_VERDICT_DENY && r != 0 &&
			              r != BREAKER_REASON_THROTTLED) ||
			             (v == BREAKER_VERDICT_THROTTLE &&
			              r == BREAKER_REASON_THROTTLED);
			if (!usual && n == 0)
				continue;
			put(t,
			    "fxbreaker_checks_total{decision=\"%s\","
			    "reason=\"%s\"} %" PRIu64 "\n",
			    verdict_name[v], reason_name(r), n);
		}
	head(t, "fxbreaker_pair_checks_total", "counter",
	     "Checks decided by the engine, by pair and decision.");
	for (size_t p = 0; p < npairs; p++)
		for (size_t v = 0; v < METRICS_VERDICTS; v++) {
			put(t, "fxbreaker_pair_checks_total{pair=\"");
			put_label(t, m->pairs[p].name);
			put(t, "\",decision=\"%s\"} %" PRIu64 "\n",
			    verdict_name[v], get(&m->pairs[p].checks[v]));
		}
	head(t, "fxbreaker_check_errors_total", "counter",
	     "Error answers on the check socket (not ticks), by error code.");
	for (size_t e = 1; e < METRICS_ERRS; e++) {
		uint64_t n = get(&m->check_errors[e]);
		if (n == 0 && e != FXB_ERR_UNKNOWN_PRODUCT &&
		    e != FXB_ERR_SYNTAX)
			continue;
		series(t, "fxbreaker_check_errors_total", "error",
		       fxb_errname((enum fxb_err)e));
		put(t, " %" PRIu64 "\n", n);
	}
	head(t, "fxbreaker_request_duration_seconds", "histogram",
	     "From a request handed to the daemon to its reply sent, "
	     "parked time included, by op.");
	for (size_t o = 0; o < METRICS_OPS; o++) {
		char lab[32];
		snprintf(lab, sizeof(lab), "op=\"%s\"", op_name[o]);
		put_hist(t, "fxbreaker_request_duration_seconds", lab,
		         &m->req[o]);
	}
	head(t, "fxbreaker_ticks_total", "counter",
	     "Ticks for a known pair: applied, or rejected by the engine.");
	for (size_t p = 0; p < npairs; p++) {
		put(t, "fxbreaker_ticks_total{pair=\"");
		put_label(t, m->pairs[p].name);
		put(t, "\",outcome=\"applied\"} %" PRIu64 "\n",
		    get(&m->pairs[p].ticks_applied));
		put(t, "fxbreaker_ticks_total{pair=\"");
		put_label(t, m->pairs[p].name);
		put(t, "\",outcome=\"rejected\"} %" PRIu64 "\n",
		    get(&m->pairs[p].ticks_rejected));
	}
	head(t, "fxbreaker_ticks_refused_total", "counter",
	     "Ticks refused before the engine (unreadable, unknown pair, "
	     "queue full, stopping), by error code.");
	for (size_t e = 1; e < METRICS_ERRS; e++) {
		uint64_t n = get(&m->ticks_refused[e]);
		if (n == 0 && e != FXB_ERR_UNKNOWN_PAIR)
			continue;
		series(t, "fxbreaker_ticks_refused_total", "error",
		       fxb_errname((enum fxb_err)e));
		put(t, " %" PRIu64 "\n", n);
	}
	head(t, "fxbreaker_rule_trips_total", "counter",
	     "Trips written to the log, by rule kind (shadow rules not "
	     "counted).");
	for (size_t k = 1; k < METRICS_KINDS; k++) {
		if (k == BREAKER_THROTTLE)
			continue; /* admission, never a suspension */
		series(t, "fxbreaker_rule_trips_total", "kind", kind_name(k));
		put(t, " %" PRIu64 "\n", get(&m->trips[k]));
	}
	head(t, "fxbreaker_commands_total", "counter",
	     "Signed commands judged, by command and result.");
	size_t ncmd;
	const struct ipc_trust_command *cmds = ipc_trust_commands(&ncmd);
	for (size_t c = 0; c <= METRICS_CMDS; c++) {
		const char *name = c < ncmd && c < METRICS_CMDS ? cmds[c].name
		                   : c == METRICS_CMDS          ? "other"
		                                                : NULL;
		if (name == NULL)
			continue;
		for (size_t r = 0; r < METRICS_CMD_RESULTS; r++) {
			uint64_t n = get(&m->commands[c][r]);
			/* "other" has only its errors; every command shows
			 * its three outcomes. */
			if (n == 0 && (c == METRICS_CMDS || r > 2))
				continue;
			put(t, "fxbreaker_commands_total{cmd=\"%s\",", name);
			put(t, "result=\"%s\"} %" PRIu64 "\n",
			    cmd_result_name[r], n);
		}
	}
	head(t, "fxbreaker_ledger_commit_duration_seconds", "histogram",
	     "One commit of a batch of rows to the log (fsync included).");
	put_hist(t, "fxbreaker_ledger_commit_duration_seconds", "",
	         &m->commit);
}

static void
put_gauges(struct text *t, struct daemon *d, const struct engine_view *v)
{
	struct metrics *m = d->metrics;
	head(t, "fxbreaker_pair_rate", "gauge",
	     "The pair's last tick applied (a quote's mid).");
	for (size_t p = 0; p < v->npairs; p++) {
		if (v->pairs[p].slot < 0 ||
		    atomic_load(&m->pairs[v->pairs[p].slot].last_tick) == 0)
			continue;
		series(t, "fxbreaker_pair_rate", "pair",
		       m->pairs[v->pairs[p].slot].name);
		put_px(t, atomic_load(&m->pairs[v->pairs[p].slot].rate));
	}
	head(t, "fxbreaker_pair_band_lower", "gauge",
	     "The lower edge of the pair's band, while one is in force.");
	for (size_t p = 0; p < v->npairs; p++) {
		if (v->pairs[p].slot < 0 || !v->pairs[p].band)
			continue;
		series(t, "fxbreaker_pair_band_lower", "pair",
		       m->pairs[v->pairs[p].slot].name);
		put_px(t, v->pairs[p].lower);
	}
	head(t, "fxbreaker_pair_band_upper", "gauge",
	     "The upper edge of the pair's band, while one is in force.");
	for (size_t p = 0; p < v->npairs; p++) {
		if (v->pairs[p].slot < 0 || !v->pairs[p].band)
			continue;
		series(t, "fxbreaker_pair_band_upper", "pair",
		       m->pairs[v->pairs[p].slot].name);
		put_px(t, v->pairs[p].upper);
	}
	head(t, "fxbreaker_pair_last_tick_timestamp_seconds", "gauge",
	     "When the pair's last tick was applied (the service's clock, "
	     "Unix seconds).");
	for (size_t p = 0; p < v->npairs; p++) {
		if (v->pairs[p].slot < 0)
			continue;
		fxb_time at =
		    atomic_load(&m->pairs[v->pairs[p].slot].last_tick);
		if (at == 0)
			continue;
		series(t, "fxbreaker_pair_last_tick_timestamp_seconds", "pair",
		       m->pairs[v->pairs[p].slot].name);
		put(t, " %lld.%03lld\n", (long long)(at / 1000),
		    (long long)(at % 1000));
	}
	head(t, "fxbreaker_pair_suspended", "gauge",
	     "1 while an enforcing rule on the pair, or an operator, holds "
	     "it.");
	for (size_t p = 0; p < v->npairs; p++) {
		if (v->pairs[p].slot < 0)
			continue;
		series(t, "fxbreaker_pair_suspended", "pair",
		       m->pairs[v->pairs[p].slot].name);
		put(t, " %d\n",
		    atomic_load(&m->pairs[v->pairs[p].slot].suspended) ? 1
		                                                       : 0);
	}
	head(t, "fxbreaker_products", "gauge",
	     "Products open and suspended (as a check would find them).");
	put(t, "fxbreaker_products{state=\"open\"} %" PRIu64 "\n",
	    get(&m->products_open));
	put(t, "fxbreaker_products{state=\"suspended\"} %" PRIu64 "\n",
	    get(&m->products_suspended));
	head(t, "fxbreaker_suspensions_open", "gauge",
	     "Open suspensions, by rule kind (forced: an operator's).");
	for (size_t k = 0; k < METRICS_KINDS; k++) {
		if (k == BREAKER_THROTTLE)
			continue;
		series(t, "fxbreaker_suspensions_open", "kind", kind_name(k));
		put(t, " %" PRIu64 "\n", get(&m->susp_open[k]));
	}
	head(t, "fxbreaker_approvals_pending", "gauge",
	     "Four-eyes requests waiting for a second person.");
	put(t, "fxbreaker_approvals_pending %" PRIu64 "\n", v->approvals);
	if (v->calendars.len > 0) {
		head(t, "fxbreaker_calendar_session", "gauge",
		     "1 for the session each calendar is in now (off: none), "
		     "0 for its others.");
		put(t, "%.*s", (int)v->calendars.len, v->calendars.p);
	}
	if (v->calendars.oom)
		t->oom = true;
	head(t, "fxbreaker_ledger_up", "gauge",
	     "1 while the log is written, 0 while degraded (failing "
	     "closed).");
	put(t, "fxbreaker_ledger_up %d\n", atomic_load(&d->degraded) ? 0 : 1);
	head(t, "fxbreaker_ledger_queued_rows", "gauge",
	     "Rows waiting for their commit.");
	put(t, "fxbreaker_ledger_queued_rows %zu\n", atomic_load(&d->queued));
	/* The watchdog's view, when it watches (watchdog_interval). */
	if (d->wd != NULL) {
		struct watchdog_state ws;
		watchdog_get(d->wd, &ws);
		head(t, "fxbreaker_check_socket_up", "gauge",
		     "1 while the watchdog's probes of the check socket are "
		     "answered, 0 while it is silent.");
		put(t, "fxbreaker_check_socket_up %d\n", ws.silent ? 0 : 1);
	}
	head(t, "fxbreaker_build_info", "gauge",
	     "Always 1: the version, the deployment and the config in "
	     "force.");
	put(t, "fxbreaker_build_info{version=\"");
	put_label(t, FXB_VERSION);
	put(t, "\",service_id=\"");
	put_label(t, v->service_id);
	put(t, "\",config_hash=\"");
	put_label(t, v->config_hash);
	put(t, "\"} 1\n");
}

/* A cluster node's view of the cluster (docs/OPERATIONS.md, "Watching
 * it"): what an alert needs to see that no node leads, that a leader has
 * lost its majority, or that elections come too often.  Each node says
 * what it sees itself; the alerts compare the three. */
static void
put_cluster(struct text *t, struct daemon *d)
{
	static const char *const roles[] = {"follower", "promoting", "leader"};
	struct cluster_view v;
	if (!cluster_view(d, &v))
		return;
	const struct cluster_state *cs = &v.state;
	head(t, "fxbreaker_cluster_role", "gauge",
	     "1 for this node's role (follower, promoting: elected, not yet "
	     "answering; leader), 0 for the others.");
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
		put(t, "fxbreaker_cluster_role{role=\"%s\"} %d\n", roles[r],
		    cs->role == (int)r + ROLE_FOLLOWER ? 1 : 0);
	head(t, "fxbreaker_cluster_term", "gauge",
	     "The Raft term this node is in.");
	put(t, "fxbreaker_cluster_term %" PRIu64 "\n", cs->term);
	head(t, "fxbreaker_cluster_leader", "gauge",
	     "The node id this node takes for the leader (0: none known).");
	put(t, "fxbreaker_cluster_leader %u\n", cs->leader);
	head(t, "fxbreaker_cluster_lease_seconds", "gauge",
	     "What is left of the leader's lease (0 on a follower, and on a "
	     "leader that has not heard from a majority: it answers "
	     "no_quorum).");
	put(t, "fxbreaker_cluster_lease_seconds %lld.%03lld\n",
	    (long long)(cs->lease_ms / 1000),
	    (long long)(cs->lease_ms % 1000));
	head(t, "fxbreaker_cluster_applied_seq", "gauge",
	     "The last seq of this node's ledger.");
	put(t, "fxbreaker_cluster_applied_seq %lld\n", (long long)cs->applied);
	head(t, "fxbreaker_cluster_elections_total", "counter",
	     "Times this node took over as leader since it started.");
	put(t, "fxbreaker_cluster_elections_total %" PRIu64 "\n",
	    cs->elections);
	head(t, "fxbreaker_cluster_snapshots_total", "counter",
	     "Snapshots of the ledger this node took, and installed from the "
	     "leader, since it started.");
	put(t,
	    "fxbreaker_cluster_snapshots_total{what=\"taken\"} %" PRIu64 "\n",
	    cs->snapshots_taken);
	put(t,
	    "fxbreaker_cluster_snapshots_total{what=\"installed\"} %" PRIu64
	    "\n",
	    cs->snapshots_installed);
}

char *
metrics_text(struct daemon *d, size_t *len)
{
	struct text t = {NULL, 0, 0, false};
	struct engine_view v;
	recount(d);
	if (!engine_view(d, &v))
		return NULL;
	put_counters(&t, d->metrics);
	put_gauges(&t, d, &v);
	put_cluster(&t, d);
	free(v.pairs);
	free(v.calendars.p);
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}

/* ---- the counters for status.json ---- */

static json_t *
hist_json(struct metrics_hist *h)
{
	uint64_t n = 0;
	for (size_t i = 0; i <= METRICS_BUCKETS; i++)
		n += get(&h->b[i]);
	return json_pack("{sIsf}", "count", (json_int_t)n, "sum_seconds",
	                 (double)get(&h->sum_ns) / 1e9);
}

json_t *
metrics_counters_json(struct daemon *d)
{
	struct metrics *m = d->metrics;
	json_t *o = json_object();
	json_t *checks = json_object(), *errors = json_object();
	json_t *pairs = json_object(), *refused = json_object();
	json_t *trips = json_object(), *cmds = json_object();
	json_t *req = json_object();

	for (size_t v = 0; v < METRICS_VERDICTS; v++) {
		json_t *by = json_object();
		for (size_t r = 0; r < METRICS_REASONS; r++)
			if (get(&m->checks[v][r]) > 0)
				json_object_set_new(
				    by, reason_name(r),
				    json_integer(
				        (json_int_t)get(&m->checks[v][r])));
		json_object_set_new(checks, verdict_name[v], by);
	}
	for (size_t e = 1; e < METRICS_ERRS; e++) {
		if (get(&m->check_errors[e]) > 0)
			json_object_set_new(errors,
			                    fxb_errname((enum fxb_err)e),
			                    json_integer((json_int_t)get(
			                        &m->check_errors[e])));
		if (get(&m->ticks_refused[e]) > 0)
			json_object_set_new(refused,
			                    fxb_errname((enum fxb_err)e),
			                    json_integer((json_int_t)get(
			                        &m->ticks_refused[e])));
	}
	size_t npairs = atomic_load_explicit(&m->npairs, memory_order_acquire);
	for (size_t p = 0; p < npairs; p++) {
		struct metrics_pair *mp = &m->pairs[p];
		json_object_set_new(
		    pairs, mp->name,
		    json_pack("{sIsIsIsIsI}", "allow",
		              (json_int_t)get(&mp->checks[0]), "deny",
		              (json_int_t)get(&mp->checks[1]), "throttle",
		              (json_int_t)get(&mp->checks[2]), "ticks_applied",
		              (json_int_t)get(&mp->ticks_applied),
		              "ticks_rejected",
		              (json_int_t)get(&mp->ticks_rejected)));
	}
	for (size_t k = 1; k < METRICS_KINDS; k++)
		if (k != BREAKER_THROTTLE)
			json_object_set_new(
			    trips, kind_name(k),
			    json_integer((json_int_t)get(&m->trips[k])));
	size_t ncmd;
	const struct ipc_trust_command *tc = ipc_trust_commands(&ncmd);
	for (size_t c = 0; c <= METRICS_CMDS; c++) {
		const char *name = c < ncmd && c < METRICS_CMDS ? tc[c].name
		                   : c == METRICS_CMDS          ? "other"
		                                                : NULL;
		json_t *by = json_object();
		for (size_t r = 0; name != NULL && r < METRICS_CMD_RESULTS;
		     r++)
			if (get(&m->commands[c][r]) > 0)
				json_object_set_new(
				    by, cmd_result_name[r],
				    json_integer(
				        (json_int_t)get(&m->commands[c][r])));
		if (json_object_size(by) > 0)
			json_object_set_new(cmds, name, by);
		else
			json_decref(by);
	}
	for (size_t op = 0; op < METRICS_OPS; op++)
		json_object_set_new(req, op_name[op], hist_json(&m->req[op]));
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "check_errors", errors);
	json_object_set_new(o, "pairs", pairs);
	json_object_set_new(o, "ticks_refused", refused);
	json_object_set_new(o, "rule_trips", trips);
	json_object_set_new(o, "commands", cmds);
	json_object_set_new(o, "requests", req);
	json_object_set_new(o, "ledger_commits", hist_json(&m->commit));
	return o;
}
