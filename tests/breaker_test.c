/*
 * breaker_test.c: the engine through its C API.  The rule-by-rule
 * acceptance cases, computed by hand, are replay scenarios
 * (tests/scenarios/); this file covers what a tape cannot show: the
 * API's error paths, timers with no record, lookups at scale, and
 * randomised tapes checked against invariants by an independent oracle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "config.h"
#include "breaker_decimal.h"
#include "testlib.h"
#include "xorshift.h"

#define PX(x) ((int64_t)((x)*1000000000LL))

/* Every event the engine emits, kept for inspection. */
struct log {
	struct breaker_event ev[4096];
	char rule[4096][BREAKER_ID_MAX + 1];
	int64_t id[4096];
	size_t n;
	int64_t next_id;
	fxb_time last_t;
	bool out_of_order;
};

static int64_t
log_sink(void *arg, const struct breaker_event *ev)
{
	struct log *lg = arg;
	if (ev->t < lg->last_t)
		lg->out_of_order = true;
	lg->last_t = ev->t;
	int64_t id = ++lg->next_id;
	if (lg->n < 4096) {
		lg->ev[lg->n] = *ev;
		snprintf(lg->rule[lg->n], sizeof(lg->rule[0]), "%s",
		         ev->rule != NULL ? ev->rule : "");
		lg->id[lg->n] = id;
		lg->n++;
	}
	return id;
}

static struct breaker *
engine(const char *text, fxb_time start, struct log *lg)
{
	char err[256];
	struct breaker_config *cfg = NULL;
	struct breaker *b = NULL;
	if (config_parse(text, strlen(text), "t.conf", NULL, 0, NULL, &cfg,
	                 err, sizeof(err)) != FXB_OK) {
		test_fail(__FILE__, __LINE__, "config: %s", err);
		return NULL;
	}
	if (lg != NULL)
		memset(lg, 0, sizeof(*lg));
	if (breaker_new(cfg, start, lg != NULL ? log_sink : NULL, lg, &b) !=
	    FXB_OK)
		test_fail(__FILE__, __LINE__, "breaker_new failed");
	breaker_config_free(cfg);
	return b;
}

static const char volume_conf[] =
    "[pair USD/KRW]\n"
    "[product w]\npair = USD/KRW\nside = buy\n"
    "[rule v]\nproduct = w\nkind = volume\nwindow = 10s\ntrip = 3\n"
    "suspend_for = 5s\n";

/* RULES 4.8 and 5: a timed resume fires at trip + suspend_for exactly,
 * stamped with its own time, when the clock is advanced with no record;
 * breaker_next_timer says when. */
static void
test_timer_without_record(void)
{
	struct log lg;
	struct breaker_decision d;
	struct breaker *b = engine(volume_conf, 1000, &lg);
	if (b == NULL)
		return;
	CHECK_INT(breaker_next_timer(b), FXB_NEVER);
	breaker_check(b, 1000, 0, 1, 0, &d);
	breaker_check(b, 1001, 0, 1, 0, &d);
	breaker_check(b, 1002, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(d.retry_after_ms, 5000);
	CHECK_INT(lg.n, 1);
	CHECK_INT(lg.ev[0].type, BREAKER_EV_TRIP);
	CHECK_INT(lg.ev[0].t, 1002);
	CHECK_INT(lg.ev[0].n, 3);
	CHECK_INT(lg.ev[0].until, 6002);
	CHECK_INT(breaker_next_timer(b), 6002);
	CHECK_INT(breaker_advance(b, 6001), FXB_OK);
	CHECK_INT(lg.n, 1);
	CHECK_INT(breaker_advance(b, 99999), FXB_OK);
	CHECK_INT(lg.n, 2);
	CHECK_INT(lg.ev[1].type, BREAKER_EV_RESUME);
	CHECK_INT(lg.ev[1].t, 6002);
	CHECK_INT(lg.ev[1].suspension, lg.id[0]);
	CHECK_INT(breaker_now(b), 99999);
	CHECK_INT(breaker_next_timer(b), FXB_NEVER);
	breaker_free(b);
}

/* Bad calls get a distinct error and change nothing. */
static void
test_api_errors(void)
{
	struct log lg;
	struct breaker_decision d;
	static const char conf[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule s]\npair = USD/KRW\nkind = stale\nmax_age = 10s\n"
	    "[rule v]\nproduct = w\nkind = volume\nwindow = 10s\ntrip = 2\n"
	    "suspend_for = 0s\n";
	struct breaker *b = engine(conf, 5000, &lg);
	if (b == NULL)
		return;
	CHECK_INT(breaker_check(b, 4999, 0, 1, 0, &d), FXB_ERR_TIME_BACKWARDS);
	CHECK_INT(breaker_check(b, 5000, 1, 1, 0, &d),
	          FXB_ERR_UNKNOWN_PRODUCT);
	CHECK_INT(breaker_check(b, 5000, -1, 1, 0, &d),
	          FXB_ERR_UNKNOWN_PRODUCT);
	CHECK_INT(breaker_check(b, 5000, 0, 0, 0, &d), FXB_ERR_RANGE);
	CHECK_INT(breaker_check(b, 5000, 0, 1, -5, &d), FXB_ERR_RANGE);
	CHECK_INT(breaker_tick(b, 5000, 1, PX(1400)), FXB_ERR_UNKNOWN_PAIR);
	CHECK_INT(breaker_tick(b, 5000, 0, 0), FXB_ERR_RANGE);
	CHECK_INT(breaker_quote(b, 5000, 0, PX(1401), PX(1400)),
	          FXB_ERR_CROSSED);
	CHECK_INT(breaker_force_suspend(b, 5000, false, 0, 5000, "x"),
	          FXB_ERR_RANGE);
	CHECK_INT(breaker_force_suspend(b, 5000, true, 3, FXB_NEVER, "x"),
	          FXB_ERR_UNKNOWN_PAIR);
	CHECK_INT(breaker_force_lift(b, 5000, false, 0), FXB_ERR_NOT_FORCED);
	CHECK_INT(breaker_reset(b, 5000, 1), FXB_ERR_NOT_TRIPPED);
	CHECK_INT(breaker_reset(b, 5000, 0), FXB_ERR_NOT_RESETTABLE);
	CHECK_INT(breaker_reset(b, 5000, 7), FXB_ERR_UNKNOWN_RULE);
	CHECK_INT(lg.n, 0);
	CHECK_INT(breaker_now(b), 5000);
	/* Nothing above was counted: the first real check is allowed... */
	CHECK_INT(breaker_tick(b, 5000, 0, PX(1400)), FXB_OK);
	CHECK_INT(breaker_check(b, 5000, 0, 1, 0, &d), FXB_OK);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	/* ...and the second trips a suspend_for = 0 rule: no retry, reset
	 * by an operator reopens it. */
	CHECK_INT(breaker_check(b, 5001, 0, 1, 0, &d), FXB_OK);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(d.retry_after_ms, -1);
	CHECK_STR(d.rule, "v");
	CHECK_INT(breaker_reset(b, 5002, 1), FXB_OK);
	CHECK_INT(lg.ev[lg.n - 1].type, BREAKER_EV_RESET);
	CHECK_INT(breaker_check(b, 5003, 0, 1, 0, &d), FXB_OK);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	breaker_free(b);
}

/* RULES 4.8 (force_suspend optionally until a time): the scheduled end
 * fires by timer; a forced pair suspends every product, exemptions do not
 * apply; a re-force replaces the end. */
static void
test_force(void)
{
	struct log lg;
	struct breaker_decision d;
	static const char conf[] =
	    "[pair USD/KRW]\n[product a]\npair = USD/KRW\n"
	    "[product b]\npair = USD/KRW\nexempt = s\n"
	    "[rule s]\npair = USD/KRW\nkind = stale\nmax_age = 1h\n";
	struct breaker *b = engine(conf, 0, &lg);
	if (b == NULL)
		return;
	breaker_tick(b, 0, 0, PX(1400));
	CHECK_INT(breaker_force_suspend(b, 100, true, 0, 10000, "maint"),
	          FXB_OK);
	CHECK_INT(lg.ev[0].type, BREAKER_EV_FORCE_SUSPEND);
	CHECK_STR(lg.ev[0].reason, "maint");
	breaker_check(b, 200, 1, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(d.reason, BREAKER_REASON_FORCED);
	CHECK_INT(d.suspension, lg.id[0]);
	CHECK_INT(d.retry_after_ms, 9800);
	CHECK(d.rule == NULL);
	/* Extend: the old suspension is closed as replaced and a new one
	 * opens at the same instant; the old end no longer fires. */
	CHECK_INT(breaker_force_suspend(b, 300, true, 0, 20000, "longer"),
	          FXB_OK);
	CHECK_INT(lg.n, 3);
	CHECK_INT(lg.ev[1].type, BREAKER_EV_FORCE_LIFT);
	CHECK_INT(lg.ev[1].by, BREAKER_LIFT_REPLACED);
	CHECK_INT(lg.ev[1].suspension, lg.id[0]);
	CHECK_INT(lg.ev[2].type, BREAKER_EV_FORCE_SUSPEND);
	CHECK_INT(lg.ev[2].t, 300);
	breaker_advance(b, 15000);
	CHECK_INT(lg.n, 3);
	breaker_check(b, 15000, 0, 1, 0, &d);
	CHECK_INT(d.suspension, lg.id[2]);
	breaker_advance(b, 25000);
	CHECK_INT(lg.n, 4);
	CHECK_INT(lg.ev[3].type, BREAKER_EV_FORCE_LIFT);
	CHECK_INT(lg.ev[3].t, 20000);
	CHECK_INT(lg.ev[3].by, BREAKER_LIFT_SCHEDULE);
	CHECK_INT(lg.ev[3].suspension, lg.id[2]);
	breaker_check(b, 25000, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	/* A product force without end waits for a lift. */
	breaker_force_suspend(b, 26000, false, 1, FXB_NEVER, NULL);
	breaker_check(b, 26001, 1, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(d.retry_after_ms, -1);
	breaker_check(b, 26001, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	/* A reason over 255 bytes is cut on a UTF-8 boundary: 100 x "가"
	 * (3 bytes each) keeps 85 whole characters, 255 bytes. */
	char reason[301];
	for (int i = 0; i < 100; i++)
		memcpy(reason + 3 * i, "\xea\xb0\x80", 3);
	reason[300] = '\0';
	CHECK_INT(breaker_force_suspend(b, 26500, false, 1, FXB_NEVER, reason),
	          FXB_OK);
	CHECK_INT(strlen(lg.ev[lg.n - 1].reason), 255);
	CHECK_INT(strncmp(lg.ev[lg.n - 1].reason, reason, 255), 0);
	/* 256 bytes: one byte too many, the last character goes whole. */
	memset(reason, 'a', 256);
	memcpy(reason + 253, "\xea\xb0\x80", 3);
	reason[256] = '\0';
	breaker_force_suspend(b, 26600, false, 1, FXB_NEVER, reason);
	CHECK_INT(strlen(lg.ev[lg.n - 1].reason), 253);
	CHECK_INT(breaker_force_lift(b, 27000, false, 1), FXB_OK);
	CHECK_INT(lg.ev[lg.n - 1].by, BREAKER_LIFT_OPERATOR);
	breaker_check(b, 27000, 1, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	breaker_free(b);
}

/* RULES 3: when several suspensions hold a product, the one that ends
 * last is quoted, and an operator's wait outranks any timed end. */
static void
test_binding_suspension(void)
{
	struct log lg;
	struct breaker_decision d;
	static const char conf[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule short]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 1\nsuspend_for = 5s\n"
	    "[rule long]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 1\nsuspend_for = 50s\n";
	struct breaker *b = engine(conf, 0, &lg);
	if (b == NULL)
		return;
	breaker_check(b, 0, 0, 1, 0, &d);
	/* Both trip on the same check: the deny already quotes the one that
	 * ends last. */
	CHECK_INT(lg.n, 2);
	CHECK_STR(d.rule, "long");
	CHECK_INT(d.retry_after_ms, 50000);
	CHECK_INT(d.suspension, lg.id[1]);
	breaker_check(b, 1, 0, 1, 0, &d);
	CHECK_STR(d.rule, "long");
	CHECK_INT(d.retry_after_ms, 49999);
	CHECK_INT(d.suspension, lg.id[1]);
	breaker_force_suspend(b, 2, false, 0, FXB_NEVER, "stop");
	breaker_check(b, 3, 0, 1, 0, &d);
	CHECK_INT(d.reason, BREAKER_REASON_FORCED);
	CHECK_INT(d.retry_after_ms, -1);
	breaker_free(b);
}

/* Every suspension that holds a product, not only the one its checks
 * quote (the board lists each): a stale rule before its first tick, an
 * exempt product left out, a product's trip under its pair's force. */
static void
test_product_holds(void)
{
	struct log lg;
	struct breaker_decision d;
	struct breaker_hold h[4];
	static const char conf[] =
	    "[pair USD/KRW]\n[product a]\npair = USD/KRW\n"
	    "[product b]\npair = USD/KRW\nexempt = s\n"
	    "[rule s]\npair = USD/KRW\nkind = stale\nmax_age = 1h\n"
	    "[rule v]\nproduct = a\nkind = volume\nwindow = 10s\n"
	    "trip = 1\nsuspend_for = 5s\n";
	struct breaker *b = engine(conf, 0, &lg);
	if (b == NULL)
		return;
	/* No tick yet: s holds a with no id; b is exempt. */
	CHECK_INT(breaker_product_holds(b, 0, h, 4), 1);
	CHECK_INT(h[0].reason, BREAKER_REASON_NO_RATE);
	CHECK_INT(h[0].rule, 0);
	CHECK_INT(h[0].suspension, 0);
	CHECK_INT(h[0].until, FXB_NEVER);
	CHECK_INT(breaker_product_holds(b, 1, h, 4), 0);
	CHECK(breaker_rule_hold(b, 0, &h[0]));
	CHECK_INT(h[0].reason, BREAKER_REASON_NO_RATE);
	CHECK(!breaker_rule_hold(b, 1, &h[0]));
	breaker_tick(b, 100, 0, PX(1400));
	CHECK_INT(breaker_product_holds(b, 0, h, 4), 0);
	CHECK(!breaker_rule_hold(b, 0, &h[0]));
	/* v trips on a, then an operator forces the pair: a check on a
	 * quotes the force (no end), but both hold it. */
	breaker_check(b, 200, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	int64_t vid = d.suspension;
	CHECK_INT(breaker_force_suspend(b, 300, true, 0, FXB_NEVER, "two"),
	          FXB_OK);
	int64_t fid = lg.id[lg.n - 1];
	breaker_product_status(b, 0, &d, &(fxb_time){0});
	CHECK_INT(d.suspension, fid);
	CHECK_INT(breaker_product_holds(b, 0, h, 4), 2);
	CHECK_INT(h[0].reason, BREAKER_REASON_FORCED);
	CHECK_INT(h[0].rule, -1);
	CHECK(h[0].on_pair);
	CHECK_INT(h[0].suspension, fid);
	CHECK_INT(h[0].since, 300);
	CHECK_INT(h[0].until, FXB_NEVER);
	CHECK_INT(h[1].reason, BREAKER_REASON_SUSPENDED);
	CHECK_INT(h[1].rule, 1);
	CHECK_INT(h[1].suspension, vid);
	CHECK_INT(h[1].since, 200);
	CHECK_INT(h[1].until, 5200);
	CHECK(breaker_rule_hold(b, 1, &h[2]));
	CHECK_INT(h[2].suspension, vid);
	CHECK_INT(h[2].until, 5200);
	/* A force reaches the exempt product; cap 1 still counts both. */
	CHECK_INT(breaker_product_holds(b, 1, h, 4), 1);
	CHECK_INT(h[0].suspension, fid);
	h[1].suspension = -7;
	CHECK_INT(breaker_product_holds(b, 0, h, 1), 2);
	CHECK_INT(h[1].suspension, -7);
	/* Bad indices: nothing. */
	CHECK_INT(breaker_product_holds(b, 2, h, 4), 0);
	CHECK_INT(breaker_product_holds(b, -1, h, 4), 0);
	CHECK(!breaker_rule_hold(b, 2, &h[0]));
	CHECK(!breaker_rule_hold(b, -1, &h[0]));
	breaker_free(b);
}

/* RULES 3 and 2: a product id is found by hash among 100,000. */
static void
test_many_products(void)
{
	size_t n = 100000, cap = n * 48 + 64;
	char *text = malloc(cap), *p = text;
	p += sprintf(p, "[pair EUR/KRW]\n");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "[product prod-%zu]\npair = EUR/KRW\n", i);
	struct breaker *b = engine(text, 0, NULL);
	free(text);
	if (b == NULL)
		return;
	CHECK_INT(breaker_product_count(b), n);
	for (size_t i = 0; i < n; i += 997) {
		char id[32];
		int len = snprintf(id, sizeof(id), "prod-%zu", i);
		CHECK_INT(breaker_product_find(b, id, (size_t)len), i);
	}
	CHECK_INT(breaker_product_find(b, "prod-100000", 11), -1);
	CHECK_INT(breaker_product_find(b, "prod-1", 5), -1);
	CHECK_INT(breaker_pair_find(b, "EUR/KRW", 7), 0);
	breaker_free(b);
}

/* The band history is capped at 2^20 ticks (RULES-NOTES 4.2): past the
 * cap the oldest tick leaves early, so memory stays bounded and the mean is
 * over the newest 2^20 ticks. */
static void
test_band_cap(void)
{
	struct log lg;
	static const char conf[] =
	    "[pair USD/KRW]\n"
	    "[rule b]\npair = USD/KRW\nkind = band\nwindow = 1h\n"
	    "band_pct = 50\nref_move_pct = 0.0001\nref_min_life = 0s\n"
	    "limit_for = 1s\nsuspend_for = 1s\n";
	struct breaker *b = engine(conf, 0, &lg);
	if (b == NULL)
		return;
	/* 2^20 ticks at 1000.00, one per ms: the mean never moves. */
	fxb_time t = 0;
	for (int i = 0; i < (1 << 20); i++)
		breaker_tick(b, t++, 0, 1000000000000LL);
	CHECK_INT(lg.n, 1); /* ref_set only */
	/* One tick at 1000 + 2^20 x 0.001: over the newest 2^20 ticks the
	 * mean is exactly 1000.001 (a move of exactly 0.0001 %); over all
	 * 2^20 + 1 it would be less and the reference would not move. */
	breaker_tick(b, t, 0, 2048576000000LL);
	CHECK_INT(lg.n, 3);
	CHECK_INT(lg.ev[1].type, BREAKER_EV_REF_UPDATE);
	CHECK(lg.ev[1].ref_num ==
	      (fxb_i128)1000001000000LL * lg.ev[1].ref_den);
	CHECK_INT(lg.ev[1].ref_den, 1 << 20);
	CHECK_INT(lg.ev[2].type, BREAKER_EV_LIMIT_ENTER);
	breaker_free(b);
}

/* The daemon's restart: a trip restored with an end already past resumes
 * at that end, stamped with it, and keeps its suspension id; a stale rule
 * restored stale ends with `fresh` on the first tick; a force restored
 * holds; restored resumes count toward max_auto_resumes. */
static void
test_restore(void)
{
	struct log lg;
	struct breaker_decision d;
	static const char conf[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule s]\npair = USD/KRW\nkind = stale\nmax_age = 1h\n"
	    "[rule v]\nproduct = w\nkind = volume\nwindow = 10s\ntrip = 1\n"
	    "suspend_for = 5s\nmax_auto_resumes = 1\n";
	struct breaker *b = engine(conf, 100000, &lg);
	if (b == NULL)
		return;
	CHECK_INT(breaker_restore_trip(b, 1, 90000, 95000, 41, 0, false),
	          FXB_OK);
	CHECK_INT(breaker_restore_trip(b, 0, 80000, FXB_NEVER, 40, 0, false),
	          FXB_OK);
	CHECK_INT(breaker_restore_resume(b, 1, 60000), FXB_OK);
	CHECK_INT(breaker_restore_trip(b, 9, 0, 0, 1, 0, false),
	          FXB_ERR_UNKNOWN_RULE);
	CHECK_INT(lg.n, 0);
	breaker_check(b, 100000, 0, 1, 0, &d);
	/* The resume due at 95000 fired first, with its own time. */
	CHECK_INT(lg.ev[0].type, BREAKER_EV_RESUME);
	CHECK_INT(lg.ev[0].t, 95000);
	CHECK_INT(lg.ev[0].suspension, 41);
	/* Still stale: no tick since the restart. */
	CHECK_INT(d.reason, BREAKER_REASON_STALE);
	CHECK_INT(d.suspension, 40);
	breaker_tick(b, 100001, 0, PX(1400));
	CHECK_INT(lg.ev[1].type, BREAKER_EV_FRESH);
	CHECK_INT(lg.ev[1].suspension, 40);
	/* Two resumes in 24 h (60000 restored, 95000): the next trip
	 * latches. */
	breaker_check(b, 100002, 0, 1, 0, &d);
	CHECK_INT(lg.ev[2].type, BREAKER_EV_TRIP);
	CHECK(lg.ev[2].latched);
	CHECK_INT(breaker_restore_force(b, true, 0, 50000, 200000, 39, "x"),
	          FXB_OK);
	breaker_reset(b, 100003, 1);
	breaker_check(b, 100004, 0, 1, 0, &d);
	CHECK_INT(d.reason, BREAKER_REASON_FORCED);
	CHECK_INT(d.suspension, 39);
	CHECK_INT(d.retry_after_ms, 99996);
	breaker_free(b);
}

static void
orphan_count(void *arg, const char *rule, const char *scope, bool on_pair,
             int64_t id)
{
	(void)rule;
	(void)scope;
	(void)on_pair;
	*(int64_t *)arg += id;
}

/* SIGHUP reload: an unchanged rule keeps its window and timers; a changed
 * one keeps its open suspension and starts its window afresh; a removed
 * one's suspension is reported as an orphan. */
static void
test_transfer(void)
{
	static struct log la, lb; /* 2.6 MB: off the stack */
	struct breaker_decision d;
	static const char before[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule same]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 3\nsuspend_for = 5s\n"
	    "[rule changed]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 100\nsuspend_for = 0s\n"
	    "[rule gone]\npair = USD/KRW\nkind = stale\nmax_age = 1s\n";
	static const char after[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule changed]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 200\nsuspend_for = 0s\n"
	    "[rule same]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 3\nsuspend_for = 5s\n";
	struct breaker *a = engine(before, 0, &la);
	struct breaker *b = engine(after, 0, &lb);
	if (a == NULL || b == NULL)
		return;
	breaker_tick(a, 0, 0, PX(1400));
	breaker_check(a, 10, 0, 1, 0, &d);
	breaker_check(a, 20, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	breaker_advance(a, 2000); /* gone: stale at 1000 */
	CHECK_INT(la.n, 1);
	CHECK_INT(breaker_reset(a, 2000, 1), FXB_ERR_NOT_TRIPPED);
	breaker_force_suspend(a, 2000, false, 0, 9000, "f");
	int64_t orphans = 0;
	breaker_transfer(a, b, orphan_count, NULL, &orphans);
	breaker_free(a);
	CHECK_INT(orphans, la.id[0]);
	CHECK_INT(breaker_now(b), 2000);
	/* The force moved with its end. */
	breaker_check(b, 2500, 0, 1, 0, &d);
	CHECK_INT(d.reason, BREAKER_REASON_FORCED);
	CHECK_INT(d.retry_after_ms, 6500);
	breaker_advance(b, 9000);
	CHECK_INT(lb.n, 1);
	CHECK_INT(lb.ev[0].type, BREAKER_EV_FORCE_LIFT);
	CHECK_INT(lb.ev[0].t, 9000);
	/* "same" kept its two checks: the third trips it. */
	breaker_check(b, 9001, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_STR(d.rule, "same");
	breaker_free(b);
}

/*
 * A volume rule whose trip level alone changed (an operator tightening it)
 * keeps its window: the two checks counted under trip 3 count under trip
 * 2, so the third trips at once, N = 3.  A changed window starts afresh.
 */
static void
test_transfer_levels(void)
{
	static struct log la, lb, lc;
	struct breaker_decision d;
	static const char trip3[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule v]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 3\nsuspend_for = 0s\n";
	static const char trip2[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule v]\nproduct = w\nkind = volume\nwindow = 10s\n"
	    "trip = 2\nsuspend_for = 0s\n";
	static const char window20[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
	    "[rule v]\nproduct = w\nkind = volume\nwindow = 20s\n"
	    "trip = 2\nsuspend_for = 0s\n";
	struct breaker *a = engine(trip3, 0, &la);
	struct breaker *b = engine(trip2, 0, &lb);
	struct breaker *c = engine(window20, 0, &lc);
	if (a == NULL || b == NULL || c == NULL)
		return;
	breaker_check(a, 10, 0, 1, 0, &d);
	breaker_check(a, 20, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	breaker_transfer(a, b, orphan_count, NULL, NULL);
	breaker_free(a);
	breaker_check(b, 30, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(lb.n, 1);
	CHECK_INT(lb.ev[0].type, BREAKER_EV_TRIP);
	CHECK_INT(lb.ev[0].n, 3);
	CHECK_INT(lb.ev[0].threshold, 2);
	/* Now the window changes too: nothing carries, the check counts 1. */
	breaker_transfer(b, c, orphan_count, NULL, NULL);
	breaker_free(b);
	CHECK_INT(breaker_reset(c, 40, 0), FXB_OK);
	breaker_check(c, 50, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	breaker_free(c);
}

/* ---- randomised tapes against an independent oracle ---- */

static const char random_conf[] =
    "[pair USD/KRW]\ntick = 0.1\n"
    "[product buy]\npair = USD/KRW\nside = buy\n"
    "[product sell]\npair = USD/KRW\nside = sell\n"
    "[product auto]\npair = USD/KRW\nside = any\nexempt = band,vel\n"
    "[rule band]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 0.8\nref_move_pct = 0.3\nref_min_life = 10s\n"
    "limit_for = 5s\nsuspend_for = 20s\nsuspends = with-move\n"
    "max_auto_resumes = 3\n"
    "[rule shadowband]\npair = USD/KRW\nkind = band\nwindow = 30s\n"
    "band_pct = 0.2\nref_move_pct = 0.1\nref_min_life = 1s\n"
    "limit_for = 1s\nsuspend_for = 5s\nmode = shadow\n"
    "[rule vel]\npair = USD/KRW\nkind = velocity\nwindow = 20s\n"
    "base = 1400\npct = 0.5\nsuspend_for = 15s\nsuspends = sell\n"
    "[rule dev]\npair = USD/KRW\nkind = deviation\nbase = 1400\npct = 2\n"
    "hold = 3s\nsuspend_for = 0s\n"
    "[rule stale]\npair = USD/KRW\nkind = stale\nmax_age = 6s\n"
    "[rule spread]\npair = USD/KRW\nkind = spread\nmax_spread_pct = 0.05\n"
    "hold = 2s\n"
    "[rule vol]\nproduct = buy\nkind = volume\nwindow = 10s\nwarn = 4\n"
    "trip = 6\nsuspend_for = 8s\nmax_auto_resumes = 2\n"
    "[rule notional]\nproduct = sell\nkind = volume\nmeasure = notional\n"
    "window = 5s\ntrip = 3000.00\nsuspend_for = 4s\n"
    "[rule thr]\nproduct = auto\nkind = throttle\nrate = 2\nburst = 3\n";

/* What the oracle knows, from events alone, about each rule. */
struct oracle_rule {
	const char *id;
	bool shadow, on_pair;
	int suspends; /* 0 both, 1 buy, 2 sell, 3 with-move */
	bool open;    /* tripped / stale / forced */
	bool awaiting;
	int dir;
	int product; /* own rule: product index */
};

static struct oracle_rule orules[] = {
    {"band", false, true, 3, false, false, 0, -1},
    {"shadowband", true, true, 0, false, false, 0, -1},
    {"vel", false, true, 2, false, false, 0, -1},
    {"dev", false, true, 0, false, false, 0, -1},
    {"stale", false, true, 0, false, false, 0, -1},
    {"spread", false, true, 0, false, false, 0, -1},
    {"vol", false, false, 0, false, false, 0, 0},
    {"notional", false, false, 0, false, false, 0, 1},
    {"thr", false, false, 0, false, false, 0, 2},
};
static const int product_side[3] = {1, 2, 0}; /* buy, sell, any */
/* RULES 4.5: before the first tick of the pair, no_rate (no event ends
 * it: the oracle knows the tape). */
static bool oracle_no_rate;

static struct oracle_rule *
oracle_find(const char *id)
{
	for (size_t i = 0; i < TEST_COUNT(orules); i++)
		if (strcmp(orules[i].id, id) == 0)
			return &orules[i];
	return NULL;
}

static void
oracle_apply(const struct breaker_event *ev, bool *forced)
{
	if (ev->rule == NULL) {
		int k = ev->scope_is_pair                ? 3
		        : strcmp(ev->scope, "buy") == 0  ? 0
		        : strcmp(ev->scope, "sell") == 0 ? 1
		                                         : 2;
		forced[k] = ev->type == BREAKER_EV_FORCE_SUSPEND;
		return;
	}
	struct oracle_rule *r = oracle_find(ev->rule);
	switch (ev->type) {
	case BREAKER_EV_TRIP:
	case BREAKER_EV_STALE:
		r->open = true;
		r->dir = ev->dir;
		break;
	case BREAKER_EV_RESUME:
	case BREAKER_EV_RESET:
		r->open = false;
		r->awaiting = strcmp(ev->rule, "band") == 0 ||
		              strcmp(ev->rule, "shadowband") == 0;
		break;
	case BREAKER_EV_FRESH:
		r->open = false;
		break;
	case BREAKER_EV_REF_SET:
		r->awaiting = false;
		break;
	default:
		break;
	}
}

static bool
oracle_holds(int product, const bool *forced)
{
	if (forced[product] || forced[3] || oracle_no_rate)
		return true;
	for (size_t i = 0; i < TEST_COUNT(orules); i++) {
		const struct oracle_rule *r = &orules[i];
		if (r->shadow || !(r->open || r->awaiting))
			continue;
		if (!r->on_pair) {
			if (r->product == product)
				return true;
			continue;
		}
		if (product == 2 &&
		    (strcmp(r->id, "band") == 0 || strcmp(r->id, "vel") == 0))
			continue; /* exempt */
		int side = product_side[product];
		int dir = strcmp(r->id, "stale") == 0 ? 0 : r->dir;
		bool hits =
		    r->suspends == 0 || (r->suspends == 1 && side != 2) ||
		    (r->suspends == 2 && side != 1) ||
		    (r->suspends == 3 && (dir == 0 || (dir > 0 && side != 2) ||
		                          (dir < 0 && side != 1)));
		if (hits) {
			if (getenv("ORACLE_DEBUG") != NULL)
				printf("    oracle: %s open=%d awaiting=%d "
				       "dir=%d\n",
				       r->id, r->open, r->awaiting, r->dir);
			return true;
		}
	}
	return false;
}

static uint64_t rng_state;
static uint64_t
rng(void)
{
	return xorshift64(&rng_state);
}

/* Runs one random tape; returns a hash of everything emitted. */
static uint64_t
random_tape(uint64_t seed, int records, int *violations)
{
	struct log *lg = calloc(1, sizeof(*lg));
	struct breaker *b = engine(random_conf, 0, lg);
	bool forced[4] = {false, false, false, false};
	uint64_t hash = 1469598103934665603ULL;
	int64_t px = PX(1400);
	fxb_time t = 0;
	size_t seen = 0;

	for (size_t i = 0; i < TEST_COUNT(orules); i++) {
		orules[i].open = false;
		orules[i].awaiting = false;
		orules[i].dir = 0;
	}
	oracle_no_rate = true;
	rng_state = seed * 2654435761u + 1;
	for (int i = 0; i < records && b != NULL; i++) {
		t += (fxb_time)(rng() % 2500);
		uint64_t op = rng() % 100;
		struct breaker_decision d;
		memset(&d, 0, sizeof(d));
		int product = -1;
		if (op < 35) {
			int64_t step = (int64_t)(rng() % 2001) - 1000;
			if (rng() % 20 == 0)
				step *= 20;
			px += step * 10000000LL; /* +-10.00 x 1/10 */
			if (px < PX(1000))
				px = PX(1000);
			oracle_no_rate = false;
			if (rng() % 2) {
				int64_t half =
				    (int64_t)(rng() % 100) * 10000000LL;
				breaker_quote(b, t, 0, px - half, px + half);
			} else {
				breaker_tick(b, t, 0, px);
			}
		} else if (op < 95) {
			product = (int)(rng() % 3);
			int64_t amount = (int64_t)(rng() % 200000) + 1;
			int64_t rate =
			    rng() % 4 == 0
			        ? px + ((int64_t)(rng() % 41) - 20) * PX(1)
			        : 0;
			breaker_check(b, t, product, amount, rate, &d);
		} else {
			switch (rng() % 4) {
			case 0:
				breaker_force_suspend(
				    b, t, rng() % 2, (int32_t)(rng() % 3),
				    t + 1 + (fxb_time)(rng() % 30000), "r");
				break;
			case 1:
				breaker_force_lift(b, t, false,
				                   (int32_t)(rng() % 3));
				breaker_force_lift(b, t, true, 0);
				break;
			default:
				breaker_reset(
				    b, t,
				    (int32_t)(rng() % breaker_rule_count(b)));
				break;
			}
		}
		/* Events so far: time order, none after this record. */
		bool tripped_now = false;
		for (; seen < lg->n; seen++) {
			const struct breaker_event *ev = &lg->ev[seen];
			if (ev->t > t)
				(*violations)++;
			if (ev->type == BREAKER_EV_TRIP && ev->t == t &&
			    !ev->scope_is_pair && !ev->shadow)
				tripped_now = true;
			oracle_apply(ev, forced);
			hash = (hash ^ (uint64_t)ev->t ^
			        ((uint64_t)ev->type << 56)) *
			       1099511628211ULL;
		}
		if (product >= 0) {
			bool holds = oracle_holds(product, forced);
			/* No allow while suspended; no "suspended" deny
			 * unless something holds (or a volume rule tripped
			 * on this very check). */
			bool bad =
			    (d.verdict == BREAKER_VERDICT_ALLOW && holds) ||
			    (d.verdict == BREAKER_VERDICT_DENY &&
			     d.reason != BREAKER_REASON_RATE_OUTSIDE_BAND &&
			     !holds && !tripped_now);
			if (bad) {
				(*violations)++;
				if (getenv("ORACLE_DEBUG") != NULL)
					printf(
					    "    t=%lld product=%d %s %s %s "
					    "holds=%d\n",
					    (long long)t, product,
					    breaker_verdict_name(d.verdict),
					    breaker_reason_name(d.reason),
					    d.rule ? d.rule : "-", holds);
			}
			hash = (hash ^ (uint64_t)d.verdict ^
			        ((uint64_t)d.reason << 8) ^
			        ((uint64_t)d.retry_after_ms << 16)) *
			       1099511628211ULL;
		}
		if (lg->n >= 4000) { /* keep the log from filling */
			lg->n = 0;
			seen = 0;
		}
	}
	if (lg->out_of_order)
		(*violations)++;
	hash ^= (uint64_t)lg->next_id;
	breaker_free(b);
	free(lg);
	return hash;
}

/* Issue 2, item 7: random tapes never allow a suspended product, emit
 * events in time order, and always give the same output. */
static void
test_random_invariants(void)
{
	for (uint64_t seed = 1; seed <= 40; seed++) {
		int v1 = 0, v2 = 0;
		uint64_t h1 = random_tape(seed, 5000, &v1);
		uint64_t h2 = random_tape(seed, 5000, &v2);
		if (v1 != 0)
			test_fail(__FILE__, __LINE__,
			          "seed %llu: %d invariant violations",
			          (unsigned long long)seed, v1);
		if (h1 != h2)
			test_fail(__FILE__, __LINE__,
			          "seed %llu: two runs differ",
			          (unsigned long long)seed);
	}
}

/* A chart's levels (the board): a band's edges while in force, and the
 * velocity range for the next tick, over the window's ticks only. */
static const char levels_conf[] =
    "[pair USD/KRW]\n"
    "[product w]\npair = USD/KRW\n"
    "[rule b]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 0\nsuspend_for = 10s\n"
    "[rule vel]\npair = USD/KRW\nkind = velocity\nwindow = 10s\n"
    "max_move = 20\nsuspend_for = 10s\n"
    "[rule v]\nproduct = w\nkind = volume\nwindow = 10s\ntrip = 3\n"
    "suspend_for = 5s\n";

static void
test_rule_levels(void)
{
	struct breaker_rule_levels lv;
	struct breaker *b = engine(levels_conf, 1000, NULL);
	if (b == NULL)
		return;
	/* No tick yet: no band, no velocity window; a volume rule has
	 * none. */
	CHECK(!breaker_rule_levels(b, 0, &lv));
	CHECK(!breaker_rule_levels(b, 1, &lv));
	CHECK(!breaker_rule_levels(b, 2, &lv));
	CHECK_INT(breaker_tick(b, 1000, 0, PX(1400)), FXB_OK);
	CHECK_INT(breaker_tick(b, 2000, 0, PX(1402)), FXB_OK);
	CHECK_INT(breaker_tick(b, 3000, 0, PX(1401.5)), FXB_OK);
	CHECK(breaker_rule_levels(b, 0, &lv));
	CHECK(lv.band && !lv.velocity);
	CHECK_INT(lv.lower, PX(1386));
	CHECK_INT(lv.upper, PX(1414));
	/* The next tick's window holds 1400, 1402 and the pending 1401.5:
	 * [1402 - 20, 1400 + 20]. */
	CHECK(breaker_rule_levels(b, 1, &lv));
	CHECK(lv.velocity && !lv.band);
	CHECK_INT(lv.vlower, PX(1382));
	CHECK_INT(lv.vupper, PX(1420));
	/* 10.5 s on, 1400 (at 1 s) has left the window: min 1401.5. */
	CHECK_INT(breaker_advance(b, 11500), FXB_OK);
	CHECK(breaker_rule_levels(b, 1, &lv));
	CHECK_INT(lv.vlower, PX(1382));
	CHECK_INT(lv.vupper, PX(1421.5));
	/* All of them gone: no range. */
	CHECK_INT(breaker_advance(b, 13001), FXB_OK);
	CHECK(!breaker_rule_levels(b, 1, &lv));
	/* A jump trips both: neither shows a level while tripped. */
	CHECK_INT(breaker_tick(b, 14000, 0, PX(1401)), FXB_OK);
	CHECK_INT(breaker_tick(b, 15000, 0, PX(1450)), FXB_OK);
	CHECK(!breaker_rule_levels(b, 0, &lv));
	CHECK(!breaker_rule_levels(b, 1, &lv));
	breaker_free(b);
}

/*
 * Issue 12's warm follower.  A follower's engine sees every tick but no
 * check; at promotion the new leader's engine is built afresh, its
 * suspensions restored from the log, and takes the follower's feed state
 * (breaker_adopt_feed).  From then on it must decide exactly as the old
 * leader's engine, which saw every tick and every check, would have.
 */
static const char adopt_conf[] =
    "[pair USD/KRW]\n[pair EUR/USD]\n"
    "[product w]\npair = USD/KRW\n"
    "[product e]\npair = EUR/USD\n"
    "[rule b]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule vel]\npair = USD/KRW\nkind = velocity\nwindow = 10s\n"
    "max_move = 50\nsuspend_for = 10s\n"
    "[rule dev]\npair = USD/KRW\nkind = deviation\nbase = 1400\npct = 2\n"
    "hold = 10s\nsuspend_for = 10s\n"
    "[rule st]\npair = USD/KRW\nkind = stale\nmax_age = 5s\n"
    "[rule eb]\npair = EUR/USD\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 0s\nsuspend_for = 30s\n"
    "[rule vol]\nproduct = w\nkind = volume\nwindow = 10s\ntrip = 3\n"
    "suspend_for = 5s\n";

/* The ticks both the follower and the leader saw. */
static void
adopt_ticks(struct breaker *b, struct breaker_decision *d, bool checks)
{
	CHECK_INT(breaker_tick(b, 1000, 0, PX(1400)), FXB_OK);
	if (checks) {
		CHECK_INT(breaker_check(b, 1000, 0, 1, 0, d), FXB_OK);
		CHECK_INT(breaker_check(b, 1100, 0, 1, 0, d), FXB_OK);
		CHECK_INT(breaker_check(b, 1200, 0, 1, 0, d), FXB_OK);
	}
	CHECK_INT(breaker_tick(b, 1500, 1, PX(1.1)), FXB_OK);
	CHECK_INT(breaker_tick(b, 2000, 0, PX(1405)), FXB_OK);
	CHECK_INT(breaker_tick(b, 2500, 1, PX(1.2)), FXB_OK);
	CHECK_INT(breaker_tick(b, 3000, 0, PX(1430)), FXB_OK);
	CHECK_INT(breaker_tick(b, 4000, 0, PX(1429)), FXB_OK);
}

/* The id of the first event of `type` on rule, or 0. */
static int64_t
log_find(const struct log *lg, enum breaker_event_type type, const char *rule)
{
	for (size_t i = 0; i < lg->n; i++)
		if (lg->ev[i].type == type && strcmp(lg->rule[i], rule) == 0)
			return lg->id[i];
	return 0;
}

/* Events a and b say the same thing (every figure, to the ms). */
static void
check_same_event(const struct log *la, size_t i, const struct log *lb,
                 size_t j)
{
	const struct breaker_event *a = &la->ev[i], *b = &lb->ev[j];
	CHECK_INT(a->type, b->type);
	CHECK_INT(a->t, b->t);
	CHECK_STR(la->rule[i], lb->rule[j]);
	CHECK_INT(la->id[i], lb->id[j]);
	CHECK_INT(a->dir, b->dir);
	CHECK_INT(a->suspension, b->suspension);
	CHECK_INT(a->until, b->until);
	CHECK_INT(a->latched, b->latched);
	CHECK_INT(a->figs, b->figs);
	CHECK_INT(a->px, b->px);
	CHECK(a->ref_num == b->ref_num);
	CHECK_INT(a->ref_den, b->ref_den);
	CHECK_INT(a->lower, b->lower);
	CHECK_INT(a->upper, b->upper);
	CHECK_INT(a->wmin, b->wmin);
	CHECK_INT(a->wmax, b->wmax);
	CHECK_INT(a->limit, b->limit);
	CHECK_INT(a->base, b->base);
	CHECK_INT(a->since, b->since);
}

static void
check_same_decision(const struct breaker_decision *a,
                    const struct breaker_decision *b)
{
	CHECK_INT(a->verdict, b->verdict);
	CHECK_INT(a->reason, b->reason);
	CHECK_STR(a->rule, b->rule);
	CHECK_INT(a->suspension, b->suspension);
	CHECK_INT(a->retry_after_ms, b->retry_after_ms);
}

static void
test_adopt_feed(void)
{
	static struct log lf, ll, lt, lc;
	struct breaker_decision d, dl;
	struct breaker_rule_status rs;
	struct breaker_rule_levels lv, lvl;
	struct breaker *f = engine(adopt_conf, 0, &lf);
	struct breaker *l = engine(adopt_conf, 0, &ll);
	struct breaker *t = engine(adopt_conf, 5000, &lt);
	struct breaker *cold = engine(adopt_conf, 5000, &lc);
	if (f == NULL || l == NULL || t == NULL || cold == NULL)
		return;
	adopt_ticks(f, &d, false);
	adopt_ticks(l, &d, true);
	/* The leader's log: vol tripped on the checks at 1200 (the
	 * follower never saw them), eb at 2500, b in limit since 3000. */
	int64_t vol_id = log_find(&ll, BREAKER_EV_TRIP, "vol");
	int64_t eb_id = log_find(&ll, BREAKER_EV_TRIP, "eb");
	CHECK_INT(vol_id, 2);
	CHECK_INT(eb_id, 5);
	CHECK_INT(ll.n, 6);
	CHECK_INT(ll.ev[5].type, BREAKER_EV_LIMIT_ENTER);
	CHECK_INT(ll.ev[5].t, 3000);
	/* The follower tripped eb too, under an id of its own. */
	CHECK_INT(log_find(&lf, BREAKER_EV_TRIP, "eb"), 4);
	CHECK_INT(breaker_now(f), 4000);

	/* The new leader restores what the log holds open, then adopts. */
	struct breaker *pair[2] = {t, cold};
	for (int k = 0; k < 2; k++) {
		CHECK_INT(breaker_restore_trip(pair[k], 5, 1200, 6200, vol_id,
		                               0, false),
		          FXB_OK);
		CHECK_INT(breaker_restore_trip(pair[k], 4, 2500, 32500, eb_id,
		                               1, false),
		          FXB_OK);
	}
	lt.next_id = lc.next_id = ll.next_id; /* the log goes on */
	breaker_adopt_feed(f, t);
	breaker_free(f);
	CHECK_INT(lt.n, 0);
	CHECK_INT(breaker_now(t), 5000); /* already ahead of the follower */

	/* The restored suspensions are the log's, untouched. */
	breaker_rule_status(t, 4, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_TRIPPED);
	CHECK_INT(rs.suspension, eb_id);
	CHECK_INT(rs.since, 2500);
	CHECK_INT(rs.until, 32500);
	CHECK_INT(rs.dir, 1);
	breaker_rule_status(t, 5, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_TRIPPED);
	CHECK_INT(rs.suspension, vol_id);
	CHECK_INT(rs.until, 6200);
	/* The band in limit since 3000, the stale rule counting. */
	breaker_rule_status(t, 0, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_LIMIT);
	CHECK_INT(rs.since, 3000);
	CHECK_INT(rs.dir, 1);
	breaker_rule_status(t, 3, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_NORMAL);
	/* The levels a chart shows are the leader's. */
	CHECK(breaker_rule_levels(t, 0, &lv));
	CHECK(breaker_rule_levels(l, 0, &lvl));
	CHECK_INT(lv.lower, PX(1386));
	CHECK_INT(lv.upper, PX(1414));
	CHECK_INT(lvl.lower, lv.lower);
	CHECK_INT(lvl.upper, lv.upper);
	CHECK(breaker_rule_levels(t, 1, &lv));
	CHECK(breaker_rule_levels(l, 1, &lvl));
	CHECK_INT(lv.vlower, PX(1380));
	CHECK_INT(lv.vupper, PX(1450));
	CHECK_INT(lvl.vlower, lv.vlower);
	CHECK_INT(lvl.vupper, lv.vupper);
	/* The next timer: the restored vol end, then the band's limit. */
	CHECK_INT(breaker_next_timer(t), 6200);

	/* From here the new leader and the old one, fed the same, must
	 * agree on every decision and event. */
	size_t mark = ll.n;
	CHECK_INT(breaker_check(t, 5500, 0, 1, 0, &d), FXB_OK);
	CHECK_INT(breaker_check(l, 5500, 0, 1, 0, &dl), FXB_OK);
	check_same_decision(&d, &dl);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_STR(d.rule, "vol");
	CHECK_INT(d.suspension, vol_id);
	CHECK_INT(d.retry_after_ms, 700);
	CHECK_INT(breaker_check(t, 5500, 1, 1, 0, &d), FXB_OK);
	CHECK_INT(breaker_check(l, 5500, 1, 1, 0, &dl), FXB_OK);
	check_same_decision(&d, &dl);
	CHECK_STR(d.rule, "eb");
	CHECK_INT(d.suspension, eb_id);
	CHECK_INT(d.retry_after_ms, 27000);
	/* 1460 is past the velocity window's 1400 + 50: a trip only an
	 * engine holding the window sees. */
	CHECK_INT(breaker_tick(t, 6000, 0, PX(1460)), FXB_OK);
	CHECK_INT(breaker_tick(l, 6000, 0, PX(1460)), FXB_OK);
	CHECK_INT(lt.n, 1);
	CHECK_INT(lt.ev[0].type, BREAKER_EV_TRIP);
	CHECK_STR(lt.rule[0], "vel");
	CHECK_INT(lt.ev[0].t, 6000);
	CHECK_INT(lt.ev[0].wmin, PX(1400));
	CHECK_INT(lt.ev[0].wmax, PX(1430));
	CHECK_INT(lt.ev[0].limit, PX(1450));
	CHECK_INT(lt.ev[0].until, 16000);
	CHECK_INT(breaker_advance(t, 40000), FXB_OK);
	CHECK_INT(breaker_advance(l, 40000), FXB_OK);
	CHECK_INT(breaker_tick(t, 41000, 0, PX(1400)), FXB_OK);
	CHECK_INT(breaker_tick(l, 41000, 0, PX(1400)), FXB_OK);
	CHECK_INT(breaker_check(t, 41000, 0, 1, 0, &d), FXB_OK);
	CHECK_INT(breaker_check(l, 41000, 0, 1, 0, &dl), FXB_OK);
	check_same_decision(&d, &dl);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	CHECK_INT(lt.n, 11);
	CHECK_INT(ll.n - mark, lt.n);
	for (size_t i = 0; i < lt.n && mark + i < ll.n; i++)
		check_same_event(&lt, i, &ll, mark + i);
	CHECK(!lt.out_of_order);
	/* The moved timers fired at the leader's instants: the limit of
	 * 3000 tripped at 8000, the stale rule at 6000 + 5 s, the
	 * deviation clock of 3000 at 3000 + 10 s. */
	static const struct {
		enum breaker_event_type type;
		const char *rule;
		fxb_time t, since;
	} want[] = {
	    {BREAKER_EV_TRIP, "vel", 6000, 0},
	    {BREAKER_EV_RESUME, "vol", 6200, 1200},
	    {BREAKER_EV_TRIP, "b", 8000, 3000},
	    {BREAKER_EV_STALE, "st", 11000, 6000},
	    {BREAKER_EV_TRIP, "dev", 13000, 3000},
	    {BREAKER_EV_RESUME, "vel", 16000, 6000},
	    {BREAKER_EV_RESUME, "b", 18000, 8000},
	    {BREAKER_EV_RESUME, "dev", 23000, 13000},
	    {BREAKER_EV_RESUME, "eb", 32500, 2500},
	    {BREAKER_EV_REF_SET, "b", 41000, 0},
	    {BREAKER_EV_FRESH, "st", 41000, 11000},
	};
	for (size_t i = 0; i < TEST_COUNT(want) && i < lt.n; i++) {
		CHECK_INT(lt.ev[i].type, want[i].type);
		CHECK_STR(lt.rule[i], want[i].rule);
		CHECK_INT(lt.ev[i].t, want[i].t);
		CHECK_INT(lt.ev[i].since, want[i].since);
	}
	CHECK_INT(lt.ev[1].suspension, vol_id);
	CHECK_INT(lt.ev[8].suspension, eb_id);
	CHECK_INT(lt.ev[4].px, PX(1460));
	CHECK_INT(lt.ev[4].dir, 1);

	/* Without the feed, the same restored engine starts cold: the
	 * tick sets a first reference and the velocity rule sees no
	 * window. */
	CHECK_INT(breaker_tick(cold, 6000, 0, PX(1460)), FXB_OK);
	CHECK_INT(lc.n, 1);
	CHECK_INT(lc.ev[0].type, BREAKER_EV_REF_SET);
	CHECK_STR(lc.rule[0], "b");
	breaker_free(t);
	breaker_free(l);
	breaker_free(cold);
}

/*
 * What does not move: a rule whose parameters changed, a rule of another
 * kind or scope under the same id (its pair gone), a rule in a restored
 * suspension (a stale rule keeps only its last tick, a spread rule not
 * its hold clock).  A clock behind the follower's is brought up first,
 * firing what was due on the way.
 */
static const char adopt_from_conf[] =
    "[pair USD/KRW]\n[pair EUR/USD]\n[product w]\npair = USD/KRW\n"
    "[rule keep]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule b]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule chg]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule kind]\npair = USD/KRW\nkind = velocity\nwindow = 10s\n"
    "max_move = 50\nsuspend_for = 10s\n"
    "[rule eu]\npair = EUR/USD\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule st]\npair = USD/KRW\nkind = stale\nmax_age = 10s\n"
    "[rule sp]\npair = USD/KRW\nkind = spread\nmax_spread_pct = 0.1\n"
    "hold = 5s\n"
    "[rule st2]\npair = USD/KRW\nkind = stale\nmax_age = 10s\n";
static const char adopt_to_conf[] =
    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n"
    "[rule keep]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule b]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule chg]\npair = USD/KRW\nkind = band\nwindow = 30s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule kind]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule eu]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n"
    "[rule st]\npair = USD/KRW\nkind = stale\nmax_age = 10s\n"
    "[rule sp]\npair = USD/KRW\nkind = spread\nmax_spread_pct = 0.1\n"
    "hold = 5s\n"
    "[rule st2]\npair = USD/KRW\nkind = stale\nmax_age = 10s\n";

static void
test_adopt_feed_not_carried(void)
{
	static struct log lf, lt;
	struct breaker_rule_status rs;
	struct breaker_rule_levels lv;
	struct breaker *f = engine(adopt_from_conf, 0, &lf);
	struct breaker *t = engine(adopt_to_conf, 500, &lt);
	if (f == NULL || t == NULL)
		return;
	/* A wide quote (0.14 %) trips sp; a narrow one starts its clock. */
	CHECK_INT(breaker_quote(f, 1000, 0, PX(1399), PX(1401)), FXB_OK);
	CHECK_INT(breaker_tick(f, 1500, 1, PX(1.1)), FXB_OK);
	CHECK_INT(breaker_quote(f, 2000, 0, PX(1400.9), PX(1401.1)), FXB_OK);
	CHECK_INT(breaker_next_timer(f), 7000);
	CHECK_INT(breaker_restore_trip(t, 1, 400, 1500, 70, 1, false), FXB_OK);
	CHECK_INT(breaker_restore_trip(t, 5, 300, FXB_NEVER, 77, 0, false),
	          FXB_OK);
	CHECK_INT(breaker_restore_trip(t, 6, 1000, FXB_NEVER, 78, 0, false),
	          FXB_OK);
	breaker_adopt_feed(f, t);
	/* Brought to the follower's clock: b's end at 1500 fired then. */
	CHECK_INT(breaker_now(t), 2000);
	CHECK_INT(lt.n, 1);
	CHECK_INT(lt.ev[0].type, BREAKER_EV_RESUME);
	CHECK_STR(lt.rule[0], "b");
	CHECK_INT(lt.ev[0].t, 1500);
	CHECK_INT(lt.ev[0].suspension, 70);
	/* Only keep has the follower's band.  The one timer is st2's (no
	 * rate here, normal in the follower): its last tick at 2000 +
	 * 10 s.  st's stale suspension and sp's hold clock armed none. */
	CHECK(breaker_rule_levels(t, 0, &lv));
	CHECK_INT(lv.lower, PX(1386));
	CHECK_INT(lv.upper, PX(1414));
	for (int32_t i = 1; i <= 4; i++)
		CHECK(!breaker_rule_levels(t, i, &lv));
	CHECK_INT(breaker_next_timer(t), 12000);
	breaker_rule_status(t, 7, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_NORMAL);
	breaker_rule_status(t, 5, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_STALE);
	CHECK_INT(rs.suspension, 77);
	CHECK_INT(rs.since, 300);
	breaker_rule_status(t, 6, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_TRIPPED);
	CHECK_INT(rs.suspension, 78);
	CHECK_INT(rs.until, FXB_NEVER);
	/* The follower is still an engine, its windows emptied. */
	CHECK_INT(breaker_quote(f, 2500, 0, PX(1400.9), PX(1401.1)), FXB_OK);
	breaker_free(f);

	/* keep tests the band it had (1402 inside, no event); the others
	 * set a first reference; the stale suspension ends on the tick; the
	 * spread clock starts now, not at 2000. */
	CHECK_INT(breaker_quote(t, 3000, 0, PX(1401.9), PX(1402.1)), FXB_OK);
	CHECK_INT(lt.n, 6);
	static const char *const set[] = {"b", "chg", "kind", "eu"};
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT(lt.ev[1 + i].type, BREAKER_EV_REF_SET);
		CHECK_STR(lt.rule[1 + i], set[i]);
		CHECK_INT(lt.ev[1 + i].px, PX(1402));
	}
	CHECK_INT(lt.ev[5].type, BREAKER_EV_FRESH);
	CHECK_INT(lt.ev[5].suspension, 77);
	CHECK_INT(lt.ev[5].since, 300);
	CHECK_INT(breaker_advance(t, 7999), FXB_OK);
	CHECK_INT(lt.n, 6);
	CHECK_INT(breaker_advance(t, 8000), FXB_OK);
	CHECK_INT(lt.n, 7);
	CHECK_INT(lt.ev[6].type, BREAKER_EV_RESUME);
	CHECK_STR(lt.rule[6], "sp");
	CHECK_INT(lt.ev[6].suspension, 78);
	CHECK(!lt.out_of_order);
	breaker_free(t);
}

/*
 * The follower's clock ahead of the new engine's: the rules move on the
 * states the log restored, then the clock catches up.  A stale rule the
 * follower saw go stale goes stale in the new engine at the same instant,
 * before a restored end due later; a band whose restored trip ended on
 * the way waits for a reference of its own, not the follower's.
 */
static const char adopt_behind_conf[] =
    "[pair USD/KRW]\n[pair EUR/USD]\n[product e]\npair = EUR/USD\n"
    "[rule sx]\npair = USD/KRW\nkind = stale\nmax_age = 1s\n"
    "[rule b]\npair = EUR/USD\nkind = band\nwindow = 60s\n"
    "band_pct = 1\nref_move_pct = 1\nref_min_life = 30s\n"
    "limit_for = 5s\nsuspend_for = 10s\n";

static void
test_adopt_feed_behind(void)
{
	static struct log lf, lt;
	struct breaker_decision d;
	struct breaker_rule_status rs;
	struct breaker *f = engine(adopt_behind_conf, 0, &lf);
	struct breaker *t = engine(adopt_behind_conf, 500, &lt);
	if (f == NULL || t == NULL)
		return;
	CHECK_INT(breaker_tick(f, 1000, 0, PX(1400)), FXB_OK);
	CHECK_INT(breaker_tick(f, 3000, 1, PX(1.1)), FXB_OK);
	breaker_rule_status(f, 0, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_STALE);
	CHECK_INT(breaker_restore_trip(t, 1, 400, 2500, 70, 1, false), FXB_OK);
	breaker_adopt_feed(f, t);
	breaker_free(f);
	CHECK_INT(breaker_now(t), 3000);
	CHECK_INT(lt.n, 2);
	CHECK_INT(lt.ev[0].type, BREAKER_EV_STALE);
	CHECK_STR(lt.rule[0], "sx");
	CHECK_INT(lt.ev[0].t, 2000);
	CHECK_INT(lt.ev[0].since, 1000);
	CHECK_INT(lt.ev[0].px, PX(1400));
	CHECK_INT(lt.ev[1].type, BREAKER_EV_RESUME);
	CHECK_STR(lt.rule[1], "b");
	CHECK_INT(lt.ev[1].t, 2500);
	CHECK_INT(lt.ev[1].suspension, 70);
	CHECK(!lt.out_of_order);
	breaker_rule_status(t, 1, &rs);
	CHECK_INT(rs.state, BREAKER_RULE_AWAITING_REFERENCE);
	CHECK_INT(breaker_check(t, 3000, 0, 1, 0, &d), FXB_OK);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(d.reason, BREAKER_REASON_AWAITING_REFERENCE);
	CHECK_INT(d.suspension, 70);
	breaker_free(t);
}

/*
 * RULES 9 on the engine's clock.  Epoch 0 is Thursday 1970-01-01 00:00
 * UTC, so with utc_offset +00:00: Thursday 09:00 = 32,400,000, 17:00 =
 * 61,200,000; Friday 17:00 = 86,400,000 + 61,200,000 = 147,600,000;
 * Monday 09:00 = 4 x 86,400,000 + 32,400,000 = 378,000,000.
 */
static const char session_conf[] =
    "[calendar c]\nutc_offset = +00:00\n"
    "session.day = mon-fri 09:00-17:00\n"
    "[pair USD/KRW]\n"
    "[product w]\npair = USD/KRW\nside = buy\n"
    "[product h]\npair = USD/KRW\nside = buy\nhours = c:day\n"
    "[rule v]\nproduct = w\nkind = volume\nwindow = 1h\ntrip = 5\n"
    "calendar = c\ntrip@day = 3\nsuspend_for = 5s\n";

/* A boundary changes the level for the next check, not at itself: two
 * checks under the night's 5 and the day's 3 trips on the third, after
 * the boundary.  A closed product: deny closed, retry to the opening,
 * nothing counted, across a weekend. */
static void
test_sessions(void)
{
	static struct log lg;
	struct breaker_decision d;
	struct breaker *b = engine(session_conf, 0, &lg);
	if (b == NULL)
		return;
	CHECK_INT(breaker_next_timer(b), 32400000);
	CHECK_INT(breaker_check(b, 1000, 1, 1, 0, &d), FXB_OK);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(d.reason, BREAKER_REASON_CLOSED);
	CHECK_INT(d.retry_after_ms, 32399000);
	CHECK_INT(d.suspension, 0);
	CHECK(d.rule == NULL);
	CHECK_INT(lg.n, 0); /* no event, no row */
	breaker_check(b, 32399000, 0, 1, 0, &d);
	breaker_check(b, 32399500, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	CHECK_INT(breaker_advance(b, 32400000), FXB_OK);
	CHECK_INT(lg.n, 1);
	CHECK_INT(lg.ev[0].type, BREAKER_EV_SESSION);
	CHECK_INT(lg.ev[0].t, 32400000);
	CHECK_STR(lg.ev[0].calendar, "c");
	CHECK_STR(lg.ev[0].from_session, "off");
	CHECK_STR(lg.ev[0].to_session, "day");
	int next_s = -9;
	fxb_time next = 0;
	CHECK_INT(breaker_calendar_state(b, 0, &next, &next_s), 0);
	CHECK_INT(next, 61200000);
	CHECK_INT(next_s, BREAKER_SESSION_OFF);
	breaker_check(b, 32400000, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_DENY);
	CHECK_INT(lg.n, 2);
	CHECK_INT(lg.ev[1].type, BREAKER_EV_TRIP);
	CHECK_INT(lg.ev[1].n, 3);
	CHECK_INT(lg.ev[1].threshold, 3);
	/* Open in the day session: allowed. */
	breaker_check(b, 32400001, 1, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	/* Friday 17:00 plus 1 ms: closed till Monday 09:00. */
	breaker_check(b, 147600001, 1, 1, 0, &d);
	CHECK_INT(d.reason, BREAKER_REASON_CLOSED);
	CHECK_INT(d.retry_after_ms, 378000000 - 147600001);
	/* Again later in the same stretch: the same opening. */
	breaker_check(b, 200000000, 1, 1, 0, &d);
	CHECK_INT(d.retry_after_ms, 378000000 - 200000000);
	/* Thursday 17:00 off, Friday 09:00 day, 17:00 off: in order. */
	size_t n = 0;
	fxb_time at[8];
	for (size_t i = 0; i < lg.n; i++)
		if (lg.ev[i].type == BREAKER_EV_SESSION && n < 8)
			at[n++] = lg.ev[i].t;
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_INT(at[1], 61200000);
		CHECK_INT(at[2], 86400000 + 32400000);
		CHECK_INT(at[3], 147600000);
	}
	CHECK(!lg.out_of_order);
	breaker_free(b);
}

/* RULES 9 and 5: at one instant the session event fires before a timer
 * armed earlier for it (a resume due at the boundary). */
static void
test_session_first(void)
{
	static struct log lg;
	struct breaker_decision d;
	struct breaker *b = engine(session_conf, 32390000, &lg);
	if (b == NULL)
		return;
	for (int i = 0; i < 5; i++)
		breaker_check(b, 32395000, 0, 1, 0, &d);
	CHECK_INT(lg.n, 1);
	CHECK_INT(lg.ev[0].type, BREAKER_EV_TRIP);
	CHECK_INT(lg.ev[0].until, 32400000);
	breaker_advance(b, 32400000);
	CHECK_INT(lg.n, 3);
	CHECK_INT(lg.ev[1].type, BREAKER_EV_SESSION);
	CHECK_INT(lg.ev[2].type, BREAKER_EV_RESUME);
	CHECK_INT(lg.ev[2].t, 32400000);
	breaker_free(b);
}

/* RULES 9: a plan's whole life, and every refusal. */
static void
test_plans(void)
{
	static struct log lg;
	struct breaker_decision d;
	struct breaker_plan pl;
	struct breaker *b = engine(volume_conf, 0, &lg);
	if (b == NULL)
		return;
	CHECK_INT(breaker_force_plan(b, 100, false, 0, 100, 200, "x"),
	          FXB_ERR_RANGE);
	CHECK_INT(breaker_force_plan(b, 100, false, 0, 300, 300, "x"),
	          FXB_ERR_RANGE);
	CHECK_INT(breaker_force_plan(b, 100, false, 7, 300, 400, "x"),
	          FXB_ERR_UNKNOWN_PRODUCT);
	CHECK_INT(breaker_force_cancel(b, 100, false, 0), FXB_ERR_NOT_PLANNED);
	CHECK_INT(lg.n, 0);
	CHECK_INT(breaker_force_plan(b, 100, false, 0, 1000, 2000, "maint"),
	          FXB_OK);
	CHECK_INT(lg.n, 1);
	CHECK_INT(lg.ev[0].type, BREAKER_EV_FORCE_SCHEDULED);
	CHECK_INT(lg.ev[0].from, 1000);
	CHECK_INT(lg.ev[0].until, 2000);
	CHECK_STR(lg.ev[0].reason, "maint");
	int64_t plan = lg.id[0];
	CHECK_INT(breaker_force_plan(b, 150, false, 0, 3000, 4000, "y"),
	          FXB_ERR_ALREADY_PLANNED);
	CHECK(breaker_plan_status(b, false, 0, &pl) && pl.plan == plan &&
	      pl.from == 1000);
	breaker_check(b, 999, 0, 1, 0, &d);
	CHECK_INT(d.verdict, BREAKER_VERDICT_ALLOW);
	CHECK_INT(d.upcoming.plan, plan);
	CHECK_INT(d.upcoming.from, 1000);
	CHECK_INT(d.upcoming.until, 2000);
	/* It starts at from exactly, by timer, with a record after it. */
	breaker_check(b, 1500, 0, 1, 0, &d);
	CHECK_INT(lg.n, 2);
	CHECK_INT(lg.ev[1].type, BREAKER_EV_FORCE_SUSPEND);
	CHECK_INT(lg.ev[1].t, 1000);
	CHECK_INT(lg.ev[1].plan, plan);
	CHECK_INT(d.reason, BREAKER_REASON_FORCED);
	CHECK_INT(d.suspension, lg.id[1]);
	CHECK_INT(d.retry_after_ms, 500);
	CHECK_INT(d.upcoming.plan, 0);
	CHECK_INT(breaker_force_cancel(b, 1500, false, 0),
	          FXB_ERR_NOT_PLANNED);
	breaker_advance(b, 2000);
	CHECK_INT(lg.ev[2].type, BREAKER_EV_FORCE_LIFT);
	CHECK_INT(lg.ev[2].by, BREAKER_LIFT_SCHEDULE);
	/* A pair's plan, cancelled before it starts. */
	CHECK_INT(breaker_force_plan(b, 2000, true, 0, 5000, FXB_NEVER, "p"),
	          FXB_OK);
	breaker_check(b, 2100, 0, 1, 0, &d);
	CHECK_INT(d.upcoming.plan, lg.id[3]);
	CHECK(d.upcoming.on_pair);
	CHECK_INT(d.upcoming.until, FXB_NEVER);
	CHECK_INT(breaker_force_cancel(b, 2200, true, 0), FXB_OK);
	CHECK_INT(lg.ev[4].type, BREAKER_EV_FORCE_CANCEL);
	CHECK_INT(lg.ev[4].plan, lg.id[3]);
	/* Allowed checks at 999, 2100 and now: the third trips (N = 3);
	 * the forced deny at 1500 was not counted.  No plan is left. */
	breaker_check(b, 6000, 0, 1, 0, &d);
	CHECK_INT(d.reason, BREAKER_REASON_SUSPENDED);
	CHECK_INT(d.upcoming.plan, 0);
	CHECK_INT(lg.n, 6);
	CHECK_INT(lg.ev[5].n, 3);
	breaker_free(b);
}

/* A restored plan whose start passed while the service was down starts
 * at once (stamped with the restored clock: never back, so that it cannot
 * end a force made since); one whose end passed too is refused (range).
 * A reload keeps a plan. */
static void
test_plan_restore_transfer(void)
{
	static struct log la, lb;
	struct breaker_decision d;
	struct breaker *a = engine(volume_conf, 50000, &la);
	if (a == NULL)
		return;
	CHECK_INT(breaker_restore_plan(a, false, 0, 10000, 50000, 6, "m"),
	          FXB_ERR_RANGE);
	CHECK_INT(breaker_restore_plan(a, false, 0, 10000, 60000, 7, "m"),
	          FXB_OK);
	CHECK_INT(breaker_restore_plan(a, false, 0, 10000, 60000, 8, "m"),
	          FXB_ERR_ALREADY_PLANNED);
	breaker_check(a, 50001, 0, 1, 0, &d);
	CHECK_INT(la.n, 1);
	CHECK_INT(la.ev[0].type, BREAKER_EV_FORCE_SUSPEND);
	CHECK_INT(la.ev[0].t, 50000);
	CHECK_INT(la.ev[0].plan, 7);
	CHECK_INT(d.reason, BREAKER_REASON_FORCED);
	CHECK_INT(d.retry_after_ms, 9999);
	breaker_free(a);

	a = engine(volume_conf, 0, &la);
	struct breaker *b = engine(volume_conf, 0, &lb);
	if (a == NULL || b == NULL)
		return;
	breaker_force_plan(a, 100, false, 0, 1000, FXB_NEVER, "r");
	int64_t orphans = 0;
	breaker_transfer(a, b, orphan_count, NULL, &orphans);
	breaker_free(a);
	breaker_check(b, 500, 0, 1, 0, &d);
	CHECK_INT(d.upcoming.plan, la.id[0]);
	breaker_advance(b, 1000);
	CHECK_INT(lb.n, 1);
	CHECK_INT(lb.ev[0].type, BREAKER_EV_FORCE_SUSPEND);
	CHECK_INT(lb.ev[0].plan, la.id[0]);
	breaker_free(b);
}

struct plan_orphans {
	char buf[256];
};

static void
plan_orphan_seen(void *arg, const char *scope, const struct breaker_plan *p)
{
	struct plan_orphans *po = arg;
	size_t n = strlen(po->buf);
	snprintf(po->buf + n, sizeof(po->buf) - n, "%s %d %lld %lld %lld %s;",
	         scope, p->on_pair, (long long)p->plan, (long long)p->from,
	         (long long)p->until, p->reason);
}

/* A reload that drops a planned scope reports the plan (the daemon logs
 * plan_lapsed) and keeps the plans whose scopes stay. */
static void
test_plan_orphan(void)
{
	static struct log la, lb;
	static const char two[] =
	    "[pair USD/KRW]\n[pair EUR/KRW]\n"
	    "[product w]\npair = USD/KRW\n[product e]\npair = EUR/KRW\n";
	static const char one[] =
	    "[pair USD/KRW]\n[product w]\npair = USD/KRW\n";
	struct breaker *a = engine(two, 0, &la);
	struct breaker *b = engine(one, 0, &lb);
	if (a == NULL || b == NULL)
		return;
	CHECK_INT(breaker_force_plan(a, 100, false, 0, 1000, 2000, "w stop"),
	          FXB_OK);
	CHECK_INT(
	    breaker_force_plan(a, 101, false, 1, 1500, FXB_NEVER, "e stop"),
	    FXB_OK);
	CHECK_INT(breaker_force_plan(a, 102, true, 1, 3000, 4000, "pair stop"),
	          FXB_OK);
	CHECK_INT(la.n, 3);
	struct plan_orphans po = {""};
	breaker_transfer(a, b, orphan_count, plan_orphan_seen, &po);
	breaker_free(a);
	char want[256];
	snprintf(
	    want, sizeof(want),
	    "e 0 %lld 1500 %lld e stop;EUR/KRW 1 %lld 3000 4000 pair stop;",
	    (long long)la.id[1], (long long)FXB_NEVER, (long long)la.id[2]);
	CHECK_STR(po.buf, want);
	/* w's plan stayed: it starts at 1000, ends at 2000. */
	breaker_advance(b, 2000);
	CHECK_INT(lb.n, 2);
	CHECK_INT(lb.ev[0].type, BREAKER_EV_FORCE_SUSPEND);
	CHECK_INT(lb.ev[0].plan, la.id[0]);
	CHECK_INT(lb.ev[1].type, BREAKER_EV_FORCE_LIFT);
	breaker_free(b);
}

static const struct test tests[] = {
    {"timer_without_record", test_timer_without_record},
    {"api_errors", test_api_errors},
    {"force", test_force},
    {"binding_suspension", test_binding_suspension},
    {"product_holds", test_product_holds},
    {"many_products", test_many_products},
    {"band_cap", test_band_cap},
    {"restore", test_restore},
    {"transfer", test_transfer},
    {"transfer_levels", test_transfer_levels},
    {"adopt_feed", test_adopt_feed},
    {"adopt_feed_not_carried", test_adopt_feed_not_carried},
    {"adopt_feed_behind", test_adopt_feed_behind},
    {"rule_levels", test_rule_levels},
    {"random_invariants", test_random_invariants},
    {"sessions", test_sessions},
    {"session_first", test_session_first},
    {"plans", test_plans},
    {"plan_restore_transfer", test_plan_restore_transfer},
    {"plan_orphan", test_plan_orphan},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
