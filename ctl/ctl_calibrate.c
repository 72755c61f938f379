/*
 * ctl_calibrate.c: `fxbreakerctl calibrate --config FILE [--sweep
 * RULE.KEY=V1,V2,...]... [--csv OUT] [--html OUT] TAPE`.  Replays one
 * tape, on virtual time exactly as `replay` does, under every setting of
 * a grid of one or two rule parameters, and says what each setting would
 * have done to customers: trips, minutes each product was suspended,
 * checks denied and allowed, the first trip.  A text table on stdout,
 * and if asked a CSV file and a self-contained HTML report
 * (ctl_calibrate_html.c).
 *
 * Each setting's config is the file with [rule RULE]'s KEY replaced (or
 * added), read by the same parser as the file itself (config_parse's
 * changes, as a threshold command lays them): the engine's validation is
 * the only judge of a value.  The tape is read once and played once per
 * setting (ctl_tape_play), plus once as the config is written (the
 * reference row, and the levels the report draws).
 *
 * Minutes suspended are exact, not sampled: a product's holds change
 * only when the engine is called, and the play calls it at each record
 * and at each timer's expiry, one instant at a time; after each call the
 * product's status is read (breaker_product_status, what a check would
 * be told).  The product counts as suspended from the instant a
 * suspension (a trip, stale, an operator's, or a band awaiting its
 * reference, or a stale rule with no rate yet) holds it to the instant
 * none does, within the tape's first and last record.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define SWEEP_VALUES_MAX 32

static const char usage_line[] =
    "usage: fxbreakerctl calibrate --config FILE [--sweep "
    "RULE.KEY=V1,V2,...]\n"
    "           [--sweep RULE.KEY=V1,...] [--csv OUT.csv] [--html "
    "OUT.html] TAPE\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fxbreakerctl calibrate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_line);
	return CTL_EXIT_USAGE;
}

/* Trims blanks at both ends of s, in place. */
static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/*
 * Splits "RULE.KEY=V1,V2,..." (copied into *copy) into sw.  A rule id
 * may hold dots and a key none: the key follows the last dot before
 * the '='.  0, or a usage error (said why).
 */
static int
sweep_parse(const char *arg, char **copy, struct ctl_sweep *sw)
{
	char *s = strdup(arg);
	if (s == NULL)
		return usage_error("out of memory");
	*copy = s;
	char *eq = strchr(s, '=');
	if (eq == NULL)
		return usage_error("--sweep %s: give RULE.KEY=V1,V2,...", arg);
	*eq = '\0';
	char *dot = strrchr(s, '.');
	if (dot == NULL || dot == s || dot[1] == '\0')
		return usage_error("--sweep %s: give RULE.KEY=V1,V2,...", arg);
	*dot = '\0';
	sw->rule = s;
	sw->key = dot + 1;
	sw->v = calloc(SWEEP_VALUES_MAX, sizeof(*sw->v));
	if (sw->v == NULL)
		return usage_error("out of memory");
	for (char *p = eq + 1, *next;; p = next + 1) {
		next = strchr(p, ',');
		if (next != NULL)
			*next = '\0';
		char *v = trim(p);
		if (*v == '\0')
			return usage_error("--sweep %s: an empty value", arg);
		for (size_t i = 0; i < sw->nv; i++)
			if (strcmp(sw->v[i], v) == 0)
				return usage_error(
				    "--sweep %s: a value given twice", arg);
		if (sw->nv == SWEEP_VALUES_MAX)
			return usage_error("--sweep %s: at most %d values",
			                   arg, SWEEP_VALUES_MAX);
		sw->v[sw->nv++] = v;
		if (next == NULL)
			break;
	}
	return 0;
}

/* The config with setting s's values laid over the file; NULL (said
 * why, naming the values) when the engine refuses it. */
static struct breaker_config *
setting_config(const struct ctl_calib *cb, const struct ctl_setting *s,
               int *code)
{
	struct config_override ov[CTL_SWEEPS_MAX];
	char what[1024];
	size_t n =
	    (size_t)snprintf(what, sizeof(what), "fxbreakerctl calibrate:");

	memset(ov, 0, sizeof(ov));
	for (size_t i = 0; i < cb->nsweeps; i++) {
		const struct ctl_sweep *sw = &cb->sweep[i];
		ov[i].rule = sw->rule;
		ov[i].key = sw->key;
		ov[i].value = sw->v[s->vi[i]];
		if (n < sizeof(what))
			n += (size_t)snprintf(what + n, sizeof(what) - n,
			                      " --sweep %s.%s=%s", sw->rule,
			                      sw->key, ov[i].value);
	}
	return ctl_load_config_over(cb->config_path, ov, cb->nsweeps, what,
	                            code);
}

/* ---- one play: what happens to customers ---- */

/* A product's hold now: the suspension a check would quote. */
struct hold_now {
	enum breaker_reason reason; /* NONE: not suspended */
	const char *rule;           /* the engine's string, or NULL */
	int32_t rule_idx;           /* its index, -1: none */
	fxb_time since;
};

struct run {
	const struct ctl_calib *cb;
	struct ctl_setting *s;
	struct hold_now *now;
	bool failed; /* out of memory */
	/* The config as written: the levels each pair's ticks met. */
	struct ctl_level_col (*levels)[CTL_LEVEL_COLS];
	int32_t *vel_rules; /* enforcing velocity rules, -1 ended */
};

static bool
is_suspension(enum breaker_reason r)
{
	return r == BREAKER_REASON_SUSPENDED || r == BREAKER_REASON_FORCED ||
	       r == BREAKER_REASON_AWAITING_REFERENCE ||
	       r == BREAKER_REASON_NO_RATE || r == BREAKER_REASON_STALE;
}

static void
on_event(void *arg, const struct breaker_event *ev, int64_t id)
{
	struct run *rn = arg;
	(void)id;
	if (ev->type != BREAKER_EV_TRIP || ev->shadow)
		return;
	if (rn->s->trips++ == 0)
		rn->s->first_trip = ev->t;
}

static void
on_decision(void *arg, const struct breaker *b, const struct ctl_rec *rec,
            const struct breaker_decision *d)
{
	struct run *rn = arg;
	(void)b;
	if (d->verdict == BREAKER_VERDICT_ALLOW) {
		rn->s->allow++;
	} else if (d->verdict == BREAKER_VERDICT_DENY) {
		rn->s->deny++;
		rn->s->denied[rec->idx]++;
	} else {
		rn->s->throttle++;
	}
}

static void
on_skipped(void *arg, const struct ctl_rec *rec)
{
	struct run *rn = arg;
	if (rn->s->skipped++ == 0) {
		rn->s->skip_t = rec->t;
		rn->s->skip_rule = rec->idx;
	}
}

/* Ends product p's hold at t: its span, if it lasted, is kept. */
static void
span_close(struct run *rn, int32_t p, fxb_time t)
{
	const struct hold_now *h = &rn->now[p];
	struct ctl_setting *s = rn->s;
	if (h->reason == BREAKER_REASON_NONE || t <= h->since)
		return;
	if (s->nspan == s->capspan) {
		size_t ncap = s->capspan != 0 ? s->capspan * 2 : 64;
		struct ctl_span *v = realloc(s->span, ncap * sizeof(*v));
		if (v == NULL) {
			rn->failed = true;
			return;
		}
		s->span = v;
		s->capspan = ncap;
	}
	s->span[s->nspan++] = (struct ctl_span){.product = p,
	                                        .rule = h->rule_idx,
	                                        .reason = h->reason,
	                                        .from = h->since,
	                                        .to = t};
	s->held_ms[p] += t - h->since;
}

/* After each instant the engine may have changed at: every product's
 * hold, read as a check would read it. */
static void
on_after(void *arg, const struct breaker *b, fxb_time t)
{
	struct run *rn = arg;
	struct breaker_decision d;
	fxb_time since;

	for (int32_t p = 0; p < (int32_t)rn->cb->cfg->nproducts; p++) {
		breaker_product_status(b, p, &d, &since);
		enum breaker_reason r = d.verdict == BREAKER_VERDICT_DENY &&
		                                is_suspension(d.reason)
		                            ? d.reason
		                            : BREAKER_REASON_NONE;
		const char *rule = r != BREAKER_REASON_NONE ? d.rule : NULL;
		struct hold_now *h = &rn->now[p];
		if (r == h->reason && rule == h->rule)
			continue;
		span_close(rn, p, t);
		*h = (struct hold_now){
		    r, rule,
		    rule != NULL ? breaker_rule_find(b, rule, strlen(rule))
		                 : -1,
		    t};
	}
}

/* Before each tick of the config as written: the rate, and the band and
 * velocity levels it met, into its pair's column. */
static void
on_before(void *arg, const struct breaker *b, const struct ctl_rec *rec)
{
	struct run *rn = arg;
	const struct ctl_calib *cb = rn->cb;
	if (rec->op != CTL_REC_TICK && rec->op != CTL_REC_QUOTE)
		return;
	int64_t px =
	    rec->op == CTL_REC_TICK ? rec->a : rec->a + (rec->b - rec->a) / 2;
	/* In double: a tape may span most of the int64 range. */
	double at = ((double)rec->t - (double)cb->t0) /
	            ((double)cb->t1 - (double)cb->t0 + 1.0);
	size_t col = (size_t)(at * CTL_LEVEL_COLS);
	if (col >= CTL_LEVEL_COLS)
		col = CTL_LEVEL_COLS - 1;
	struct ctl_level_col *c = &rn->levels[rec->idx][col];
	if (!(c->has & CTL_HAS_RATE) || px < c->rmin)
		c->rmin = px;
	if (!(c->has & CTL_HAS_RATE) || px > c->rmax)
		c->rmax = px;
	c->has |= CTL_HAS_RATE;
	int64_t lo, hi;
	if (breaker_pair_band(b, rec->idx, &lo, &hi)) {
		if (!(c->has & CTL_HAS_BAND) || lo > c->blo)
			c->blo = lo;
		if (!(c->has & CTL_HAS_BAND) || hi < c->bhi)
			c->bhi = hi;
		c->has |= CTL_HAS_BAND;
	}
	for (const int32_t *r = rn->vel_rules; *r >= 0; r++) {
		struct breaker_rule_levels lv;
		if (cb->cfg->rules[*r].owner != rec->idx ||
		    !breaker_rule_levels(b, *r, &lv) || !lv.velocity)
			continue;
		if (!(c->has & CTL_HAS_VEL) || lv.vlower > c->vlo)
			c->vlo = lv.vlower;
		if (!(c->has & CTL_HAS_VEL) || lv.vupper < c->vhi)
			c->vhi = lv.vupper;
		c->has |= CTL_HAS_VEL;
	}
}

/* Plays the tape under cfg into s (and, with levels, the levels the
 * ticks met into cb->levels).  Returns an exit code. */
static int
play(struct ctl_calib *cb, const struct breaker_config *cfg,
     struct ctl_setting *s, bool levels)
{
	size_t np = cb->cfg->nproducts;
	struct run rn = {.cb = cb, .s = s};
	struct ctl_play_hooks h = {.arg = &rn,
	                           .event = on_event,
	                           .decision = on_decision,
	                           .after = on_after,
	                           .skipped = on_skipped};
	int code;

	s->first_trip = FXB_NEVER;
	s->held_ms = calloc(np + 1, sizeof(*s->held_ms));
	s->denied = calloc(np + 1, sizeof(*s->denied));
	rn.now = calloc(np + 1, sizeof(*rn.now));
	if (levels) {
		size_t n = 0;
		rn.levels = cb->levels;
		rn.vel_rules = malloc((cfg->nrules + 1) * sizeof(int32_t));
		h.before = on_before;
		for (size_t i = 0; rn.vel_rules != NULL && i < cfg->nrules;
		     i++)
			if (cfg->rules[i].kind == BREAKER_VELOCITY &&
			    !cfg->rules[i].shadow)
				rn.vel_rules[n++] = (int32_t)i;
		if (rn.vel_rules != NULL)
			rn.vel_rules[n] = -1;
	}
	if (s->held_ms == NULL || s->denied == NULL || rn.now == NULL ||
	    (levels && rn.vel_rules == NULL)) {
		rn.failed = true;
		code = CTL_EXIT_USAGE;
	} else {
		code = ctl_tape_play(cb->tape, cb->tape_path, cfg, &h);
	}
	/* Holds still open end with the tape. */
	for (size_t p = 0; code == CTL_EXIT_OK && p < np; p++)
		span_close(&rn, (int32_t)p, cb->t1);
	if (rn.failed) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		code = CTL_EXIT_USAGE;
	}
	free(rn.now);
	free(rn.vel_rules);
	return code;
}

/* ---- the text table and the CSV ---- */

/* "12.5": ms in minutes, to the hundredth. */
static const char *
minutes(char *buf, size_t cap, int64_t ms)
{
	snprintf(buf, cap, "%.2f", (double)ms / 60000.0);
	return buf;
}

static int64_t
total_ms(const struct ctl_calib *cb, const struct ctl_setting *s)
{
	int64_t sum = 0;
	for (size_t p = 0; p < cb->cfg->nproducts; p++)
		sum += s->held_ms[p];
	return sum;
}

/* The first trip: UTC for an epoch tape, else the tape's t; "-" for
 * none. */
static const char *
first_trip(const struct ctl_calib *cb, const struct ctl_setting *s, char *buf,
           size_t cap)
{
	if (s->first_trip == FXB_NEVER)
		snprintf(buf, cap, "-");
	else if (ctl_calib_epoch(cb))
		ctl_format_time(buf, cap, s->first_trip);
	else
		snprintf(buf, cap, "t=%lld", (long long)s->first_trip);
	return buf;
}

#define CELL_MAX 160
#define COLS_MAX (CTL_SWEEPS_MAX + 8)

/* One row of the summary table: its cells, the setting's number
 * first. */
static size_t
summary_row(const struct ctl_calib *cb, const struct ctl_setting *s,
            const char *num, char cell[][CELL_MAX])
{
	size_t c = 0;
	snprintf(cell[c++], CELL_MAX, "%s", num);
	for (size_t i = 0; i < cb->nsweeps; i++)
		snprintf(cell[c++], CELL_MAX, "%s",
		         s->config ? "" : cb->sweep[i].v[s->vi[i]]);
	snprintf(cell[c++], CELL_MAX, "%lld", (long long)s->trips);
	first_trip(cb, s, cell[c++], CELL_MAX);
	snprintf(cell[c++], CELL_MAX, "%lld", (long long)s->deny);
	snprintf(cell[c++], CELL_MAX, "%lld", (long long)s->allow);
	snprintf(cell[c++], CELL_MAX, "%lld", (long long)s->throttle);
	minutes(cell[c++], CELL_MAX, total_ms(cb, s));
	return c;
}

static void
print_row(char cell[][CELL_MAX], size_t n, const size_t *width,
          const bool *left)
{
	for (size_t c = 0; c < n; c++)
		printf("%s%*s%s", c == 0 ? "" : "  ",
		       left[c] ? -(int)width[c] : (int)width[c], cell[c], "");
	putchar('\n');
}

/*
 * A level swept by its plain key (trip, warn, pct, max_move) on a rule
 * with levels by session is not the level in force in a session that
 * sets its own (trip@night): say so, or a flat line would read as "the
 * level does not matter".  A session counts as setting its own when its
 * level differs from the plain key's in the file as written.
 */
static void
print_session_note(const struct ctl_calib *cb, const struct ctl_sweep *sw)
{
	const struct breaker_rule_conf *rc = NULL;
	for (size_t r = 0; r < cb->cfg->nrules; r++)
		if (strcmp(cb->cfg->rules[r].id, sw->rule) == 0)
			rc = &cb->cfg->rules[r];
	bool volume =
	    strcmp(sw->key, "trip") == 0 || strcmp(sw->key, "warn") == 0;
	bool velocity =
	    strcmp(sw->key, "pct") == 0 || strcmp(sw->key, "max_move") == 0;
	if (rc == NULL || rc->calendar < 0 || rc->levels == NULL ||
	    !(volume || velocity))
		return;
	const struct breaker_calendar_conf *cal =
	    &cb->cfg->calendars[rc->calendar];
	bool any = false;
	/* The sessions in file order, then off. */
	for (size_t k = 0; k <= cal->nsessions; k++) {
		int si = k < cal->nsessions ? (int)k : BREAKER_SESSION_OFF;
		const struct breaker_level *lv = &rc->levels[si + 1];
		bool own = velocity ? lv->velocity != rc->velocity
		           : strcmp(sw->key, "trip") == 0
		               ? lv->trip != rc->trip
		               : lv->warn != rc->warn;
		if (!own)
			continue;
		if (!any)
			printf("note: %s.%s is not in force where [rule %s] "
			       "sets ",
			       sw->rule, sw->key, sw->rule);
		printf("%s%s@%s", any ? ", " : "", sw->key,
		       breaker_calendar_session_name(cal, si));
		any = true;
	}
	if (any)
		printf(" (calendar %s): sweep those keys for those hours.\n",
		       cal->id);
}

/* The table on stdout: one row per setting, then the config as written,
 * then the minutes by product. */
static void
print_text(const struct ctl_calib *cb)
{
	char cell[COLS_MAX][CELL_MAX], a[64], z[64];
	size_t width[COLS_MAX] = {0}, n = 0;
	bool left[COLS_MAX] = {false};

	printf("tape    %s: %zu records, ", cb->tape_path, cb->tape->n);
	if (ctl_calib_epoch(cb))
		printf("%s to %s", ctl_format_time(a, sizeof(a), cb->t0),
		       ctl_format_time(z, sizeof(z), cb->t1));
	else
		printf("t=%lld to t=%lld", (long long)cb->t0,
		       (long long)cb->t1);
	printf(" (%s minutes)\n", minutes(a, sizeof(a), cb->t1 - cb->t0));
	printf("config  %s\n", cb->config_path);
	printf("trips: trip events of enforcing rules.  denied, allowed, "
	       "throttled: the tape's checks.\n"
	       "minutes suspended: each product's, added up (by product "
	       "below).\n");
	for (size_t i = 0; i < cb->nsweeps; i++)
		print_session_note(cb, &cb->sweep[i]);
	putchar('\n');

	/* Widths over the header, every row and the config's. */
	n = 0;
	snprintf(cell[n++], CELL_MAX, "#");
	for (size_t i = 0; i < cb->nsweeps; i++)
		snprintf(cell[n++], CELL_MAX, "%s.%s", cb->sweep[i].rule,
		         cb->sweep[i].key);
	static const char *const heads[] = {"trips",     "first trip",
	                                    "denied",    "allowed",
	                                    "throttled", "minutes suspended"};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		snprintf(cell[n++], CELL_MAX, "%s", heads[i]);
	/* Left: the values swept and the first trip; numbers right. */
	for (size_t c = 0; c < n; c++) {
		width[c] = strlen(cell[c]);
		left[c] = (c >= 1 && c <= cb->nsweeps) || c == cb->nsweeps + 2;
	}
	char row[COLS_MAX][CELL_MAX], num[24];
	for (size_t i = 0; i <= cb->nset; i++) {
		snprintf(num, sizeof(num), "%zu", i + 1);
		size_t m =
		    summary_row(cb, i < cb->nset ? &cb->set[i] : &cb->base,
		                i < cb->nset ? num : "-", row);
		for (size_t c = 0; c < m; c++)
			if (strlen(row[c]) > width[c])
				width[c] = strlen(row[c]);
	}
	print_row(cell, n, width, left);
	for (size_t i = 0; i <= cb->nset; i++) {
		snprintf(num, sizeof(num), "%zu", i + 1);
		if (i == cb->nset)
			printf("\nthe config as written, for reference:\n");
		summary_row(cb, i < cb->nset ? &cb->set[i] : &cb->base,
		            i < cb->nset ? num : "-", row);
		print_row(row, n, width, left);
	}
	for (size_t i = 0; i <= cb->nset; i++) {
		const struct ctl_setting *s =
		    i < cb->nset ? &cb->set[i] : &cb->base;
		if (s->skipped == 0)
			continue;
		char when[64];
		if (ctl_calib_epoch(cb))
			ctl_format_time(when, sizeof(when), s->skip_t);
		else
			snprintf(when, sizeof(when), "t=%lld",
			         (long long)s->skip_t);
		if (i < cb->nset)
			printf("#%zu", i + 1);
		else
			printf("as configured");
		printf(": %lld reset%s on the tape skipped, the rule not "
		       "tripped (the first: %s at %s)\n",
		       (long long)s->skipped, s->skipped == 1 ? "" : "s",
		       cb->cfg->rules[s->skip_rule].id, when);
	}

	/* Minutes by product: a row per product, a column per setting. */
	size_t pw = strlen("product");
	for (size_t p = 0; p < cb->cfg->nproducts; p++)
		if (strlen(cb->cfg->products[p].id) > pw)
			pw = strlen(cb->cfg->products[p].id);
	printf("\nminutes suspended, by product\n%-*s", (int)pw, "product");
	for (size_t i = 0; i < cb->nset; i++) {
		snprintf(a, sizeof(a), "#%zu", i + 1);
		printf("  %7s", a);
	}
	printf("  %13s\n", "as configured");
	for (size_t p = 0; p < cb->cfg->nproducts; p++) {
		printf("%-*s", (int)pw, cb->cfg->products[p].id);
		for (size_t i = 0; i < cb->nset; i++)
			printf("  %7s",
			       minutes(a, sizeof(a), cb->set[i].held_ms[p]));
		printf("  %13s\n", minutes(a, sizeof(a), cb->base.held_ms[p]));
	}
}

/* The CSV: a header, then one row per setting of the grid. */
static bool
write_csv(const struct ctl_calib *cb, FILE *f)
{
	char buf[256];
	size_t np = cb->cfg->nproducts;

	ctl_csv_fput(f, "setting", false);
	for (size_t i = 0; i < cb->nsweeps; i++) {
		snprintf(buf, sizeof(buf), "%s.%s", cb->sweep[i].rule,
		         cb->sweep[i].key);
		ctl_csv_fput(f, buf, false);
	}
	static const char *const heads[] = {
	    "trips",          "first_trip_t",     "first_trip_utc",
	    "checks_denied",  "checks_allowed",   "checks_throttled",
	    "resets_skipped", "minutes_suspended"};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		ctl_csv_fput(f, heads[i], false);
	for (size_t p = 0; p < 2 * np; p++) {
		snprintf(buf, sizeof(buf), "%s:%s",
		         p < np ? "minutes" : "denied",
		         cb->cfg->products[p % np].id);
		ctl_csv_fput(f, buf, p + 1 == 2 * np);
	}
	for (size_t i = 0; i < cb->nset; i++) {
		const struct ctl_setting *s = &cb->set[i];
		snprintf(buf, sizeof(buf), "%zu", i + 1);
		ctl_csv_fput(f, buf, false);
		for (size_t k = 0; k < cb->nsweeps; k++)
			ctl_csv_fput(f, cb->sweep[k].v[s->vi[k]], false);
		snprintf(buf, sizeof(buf), "%lld", (long long)s->trips);
		ctl_csv_fput(f, buf, false);
		if (s->first_trip != FXB_NEVER)
			snprintf(buf, sizeof(buf), "%lld",
			         (long long)s->first_trip);
		else
			buf[0] = '\0';
		ctl_csv_fput(f, buf, false);
		if (s->first_trip != FXB_NEVER && ctl_calib_epoch(cb))
			ctl_format_time(buf, sizeof(buf), s->first_trip);
		else
			buf[0] = '\0';
		ctl_csv_fput(f, buf, false);
		const int64_t counts[] = {s->deny, s->allow, s->throttle,
		                          s->skipped};
		for (size_t k = 0; k < 4; k++) {
			snprintf(buf, sizeof(buf), "%lld",
			         (long long)counts[k]);
			ctl_csv_fput(f, buf, false);
		}
		snprintf(buf, sizeof(buf), "%.3f",
		         (double)total_ms(cb, s) / 60000.0);
		ctl_csv_fput(f, buf, false);
		for (size_t p = 0; p < 2 * np; p++) {
			if (p < np)
				snprintf(buf, sizeof(buf), "%.3f",
				         (double)s->held_ms[p] / 60000.0);
			else
				snprintf(buf, sizeof(buf), "%lld",
				         (long long)s->denied[p - np]);
			ctl_csv_fput(f, buf, p + 1 == 2 * np);
		}
	}
	return !ferror(f);
}

/* Opens an output file before any play: a path that cannot be written
 * stops calibrate before it prints anything.  false (said why). */
static bool
open_out(const char *path, FILE **f)
{
	if (path == NULL)
		return true;
	if ((*f = fopen(path, "w")) == NULL)
		fprintf(stderr, "fxbreakerctl: %s: %s\n", path,
		        strerror(errno));
	return *f != NULL;
}

/* Writes and closes f (if open) with fn; false (said why) on failure. */
static bool
write_out(const char *path, FILE *f, const struct ctl_calib *cb,
          bool (*fn)(const struct ctl_calib *, FILE *))
{
	if (f == NULL)
		return true;
	bool ok = fn == NULL || fn(cb, f);
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "fxbreakerctl: %s: write error\n", path);
		return false;
	}
	return true;
}

/* ---- the command ---- */

/* The sweeps' rules exist and no key is swept twice; every value, alone,
 * is one the engine accepts.  0 or an exit code (said why). */
static int
check_sweeps(struct ctl_calib *cb)
{
	for (size_t i = 0; i < cb->nsweeps; i++) {
		const struct ctl_sweep *sw = &cb->sweep[i];
		size_t r = 0;
		while (r < cb->cfg->nrules &&
		       strcmp(cb->cfg->rules[r].id, sw->rule) != 0)
			r++;
		if (r == cb->cfg->nrules) {
			fprintf(stderr,
			        "fxbreakerctl calibrate: --sweep %s.%s: no "
			        "[rule %s] in %s\n",
			        sw->rule, sw->key, sw->rule, cb->config_path);
			return CTL_EXIT_CONFIG;
		}
		if (i > 0 && strcmp(sw->rule, cb->sweep[0].rule) == 0 &&
		    strcmp(sw->key, cb->sweep[0].key) == 0) {
			fprintf(stderr,
			        "fxbreakerctl calibrate: --sweep %s.%s given "
			        "twice (one sweep per key)\n%s",
			        sw->rule, sw->key, usage_line);
			return CTL_EXIT_USAGE;
		}
	}
	for (size_t i = 0; i < cb->nsweeps; i++) {
		const struct ctl_sweep *sw = &cb->sweep[i];
		for (size_t k = 0; k < sw->nv; k++) {
			struct config_override ov = {sw->rule, sw->key,
			                             sw->v[k], false};
			char what[512];
			int code = CTL_EXIT_OK;
			snprintf(what, sizeof(what),
			         "fxbreakerctl calibrate: --sweep %s.%s=%s",
			         sw->rule, sw->key, sw->v[k]);
			struct breaker_config *c = ctl_load_config_over(
			    cb->config_path, &ov, 1, what, &code);
			if (c == NULL)
				return code;
			breaker_config_free(c);
		}
	}
	return 0;
}

static void
setting_free(struct ctl_setting *s)
{
	free(s->held_ms);
	free(s->denied);
	free(s->span);
}

/* Builds the grid's configs, then plays the tape under each and under
 * the config as written.  0 or an exit code. */
static int
run_grid(struct ctl_calib *cb, bool levels)
{
	size_t n1 = cb->nsweeps > 0 ? cb->sweep[0].nv : 1;
	size_t n2 = cb->nsweeps > 1 ? cb->sweep[1].nv : 1;
	struct breaker_config **cfgs;
	int code = CTL_EXIT_OK;

	cb->nset = n1 * n2;
	cb->set = calloc(cb->nset, sizeof(*cb->set));
	cfgs = calloc(cb->nset, sizeof(*cfgs));
	if (cb->set == NULL || cfgs == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		free(cfgs);
		return CTL_EXIT_USAGE;
	}
	/* Every setting's config first: a pair of values the engine
	 * refuses together stops calibrate before any play. */
	for (size_t i = 0; i < cb->nset && code == CTL_EXIT_OK; i++) {
		cb->set[i].vi[0] = i / n2;
		cb->set[i].vi[1] = i % n2;
		if ((cfgs[i] = setting_config(cb, &cb->set[i], &code)) == NULL)
			break;
	}
	if (code == CTL_EXIT_OK) {
		cb->base.config = true;
		code = play(cb, cb->cfg, &cb->base, levels);
	}
	for (size_t i = 0; i < cb->nset && code == CTL_EXIT_OK; i++)
		code = play(cb, cfgs[i], &cb->set[i], false);
	for (size_t i = 0; i < cb->nset; i++)
		breaker_config_free(cfgs[i]);
	free(cfgs);
	return code;
}

int
ctl_calibrate(int argc, char **argv)
{
	struct ctl_calib cb;
	struct ctl_tape tape;
	char *copies[CTL_SWEEPS_MAX] = {NULL};
	const char *csv = NULL, *html = NULL;
	struct breaker_config *cfg = NULL;
	int code = CTL_EXIT_OK;
	FILE *in = NULL, *csv_f = NULL, *html_f = NULL;

	memset(&cb, 0, sizeof(cb));
	memset(&tape, 0, sizeof(tape));
	for (int i = 1; i < argc && code == CTL_EXIT_OK; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			cb.config_path = argv[++i];
		} else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
			csv = argv[++i];
		} else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc) {
			html = argv[++i];
		} else if (strcmp(argv[i], "--sweep") == 0 && i + 1 < argc) {
			if (cb.nsweeps == CTL_SWEEPS_MAX)
				code = usage_error(
				    "--sweep %s: at most two sweeps",
				    argv[i + 1]);
			else
				code = sweep_parse(argv[i + 1],
				                   &copies[cb.nsweeps],
				                   &cb.sweep[cb.nsweeps]);
			cb.nsweeps++;
			i++;
		} else if (cb.tape_path == NULL &&
		           (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
			cb.tape_path = argv[i];
		} else {
			code = usage_error("%s '%s'",
			                   argv[i][0] == '-'
			                       ? "unknown option"
			                       : "unexpected argument",
			                   argv[i]);
		}
	}
	if (cb.nsweeps > CTL_SWEEPS_MAX)
		cb.nsweeps = CTL_SWEEPS_MAX;
	if (code == CTL_EXIT_OK &&
	    (cb.config_path == NULL || cb.tape_path == NULL)) {
		fputs(usage_line, stderr);
		code = CTL_EXIT_USAGE;
	}
	if (code == CTL_EXIT_OK &&
	    (cfg = ctl_load_config(cb.config_path, &code)) != NULL) {
		cb.cfg = cfg;
		code = check_sweeps(&cb);
	}
	if (code == CTL_EXIT_OK) {
		in = strcmp(cb.tape_path, "-") == 0 ? stdin
		                                    : fopen(cb.tape_path, "r");
		if (in == NULL) {
			fprintf(stderr, "fxbreakerctl: %s: %s\n", cb.tape_path,
			        strerror(errno));
			code = CTL_EXIT_USAGE;
		}
	}
	if (code == CTL_EXIT_OK &&
	    (code = ctl_tape_load(cfg, cb.tape_path, in, &tape)) ==
	        CTL_EXIT_OK) {
		cb.tape = &tape;
		cb.t0 = tape.rec[0].t;
		cb.t1 = tape.rec[tape.n - 1].t;
		if (html != NULL &&
		    (cb.levels = calloc(cfg->npairs, sizeof(*cb.levels))) ==
		        NULL) {
			fprintf(stderr, "fxbreakerctl: out of memory\n");
			code = CTL_EXIT_USAGE;
		}
	}
	if (code == CTL_EXIT_OK &&
	    (!open_out(csv, &csv_f) || !open_out(html, &html_f)))
		code = CTL_EXIT_USAGE;
	if (code == CTL_EXIT_OK)
		code = run_grid(&cb, html != NULL);
	if (code == CTL_EXIT_OK) {
		print_text(&cb);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr,
			        "fxbreakerctl: write error on stdout\n");
			code = CTL_EXIT_USAGE;
		}
	}
	/* Files opened are written (a failed run leaves them empty). */
	if (!write_out(csv, csv_f, &cb,
	               code == CTL_EXIT_OK ? write_csv : NULL))
		code = CTL_EXIT_USAGE;
	if (!write_out(html, html_f, &cb,
	               code == CTL_EXIT_OK ? ctl_calibrate_html : NULL))
		code = CTL_EXIT_USAGE;

	if (in != NULL && in != stdin)
		fclose(in);
	for (size_t i = 0; i < cb.nset; i++)
		setting_free(&cb.set[i]);
	setting_free(&cb.base);
	free(cb.set);
	free(cb.levels);
	ctl_tape_free(&tape);
	breaker_config_free(cfg);
	for (size_t i = 0; i < CTL_SWEEPS_MAX; i++) {
		free(copies[i]);
		free(cb.sweep[i].v);
	}
	return code;
}
