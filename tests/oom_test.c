/*
 * oom_test.c: the engine when memory runs out (breaker.h: "out of memory
 * refuses a tick or check whole").  Linked with an engine compiled over
 * tests/failalloc.h, it makes each allocation fail in turn:
 *
 *   - breaker_new fails cleanly (FXB_ERR_NOMEM, nothing returned, nothing
 *     leaked under ASan) at every allocation it makes;
 *   - a check or tick refused for memory changes nothing: two engines fed
 *     the same records, one of them refusing some for memory (the other
 *     skipping those records), then decide and log exactly alike.
 */
#include <stdio.h>
#include <string.h>

#include "breaker.h"
#include "config.h"
#include "failalloc.h"
#include "testlib.h"

static const char conf[] =
    "[pair USD/KRW]\n[product p0]\npair = USD/KRW\nside = buy\n"
    "[rule band]\npair = USD/KRW\nkind = band\nwindow = 5s\nband_pct = 1\n"
    "ref_move_pct = 0.5\nref_min_life = 1s\nlimit_for = 1s\n"
    "suspend_for = 1s\n"
    "[rule vel]\npair = USD/KRW\nkind = velocity\nwindow = 5s\n"
    "max_move = 5\nsuspend_for = 1s\n"
    "[rule v0]\nproduct = p0\nkind = volume\nwindow = 10s\nwarn = 30\n"
    "trip = 60\nsuspend_for = 1s\n"
    "[rule t0]\nproduct = p0\nkind = throttle\nrate = 100\nburst = 100\n"
    "[rule v1]\nproduct = p0\nkind = volume\nwindow = 20s\n"
    "measure = notional\ntrip = 900000\nsuspend_for = 1s\n";

/* Each engine's events, as text, to compare. */
struct events {
	char text[1 << 20];
	size_t len;
	int64_t seq;
};
static struct events logs[2];

static int64_t
sink(void *arg, const struct breaker_event *e)
{
	struct events *l = arg;
	l->seq++;
	if (l->len < sizeof(l->text))
		l->len += (size_t)snprintf(
		    l->text + l->len, sizeof(l->text) - l->len,
		    "%lld %d %s %lld %lld\n", (long long)e->t, (int)e->type,
		    e->rule != NULL ? e->rule : "-", (long long)e->n,
		    (long long)e->until);
	return l->seq;
}

static struct breaker_config *
config(void)
{
	struct breaker_config *cfg = NULL;
	char err[256];
	if (config_parse(conf, strlen(conf), "oom", NULL, 0, NULL, &cfg, err,
	                 sizeof(err)) != FXB_OK)
		test_fail(__FILE__, __LINE__, "config: %s", err);
	return cfg;
}

static void
test_new(void)
{
	struct breaker_config *cfg = config();
	int failed = 0;
	bool built = false;
	for (long n = 0; cfg != NULL && n < 500 && !built; n++) {
		struct breaker *b = NULL;
		fa_countdown = n;
		enum fxb_err e = breaker_new(cfg, 0, NULL, NULL, &b);
		fa_countdown = -1;
		if (e == FXB_OK) {
			built = true;
			breaker_free(b);
			continue;
		}
		CHECK_INT(e, FXB_ERR_NOMEM);
		CHECK(b == NULL);
		failed++;
	}
	CHECK(built);
	CHECK(failed >= 3); /* it does allocate: each one was failed */
	breaker_config_free(cfg);
}

/* One record on engine b, the allocation countdown armed if fail. */
static enum fxb_err
apply(struct breaker *b, bool check, fxb_time t, int64_t arg, bool fail)
{
	struct breaker_decision d;
	fa_countdown = fail ? 0 : -1;
	enum fxb_err e = check ? breaker_check(b, t, 0, arg, 0, &d)
	                       : breaker_tick(b, t, 0, arg);
	fa_countdown = -1;
	return e;
}

static void
test_refused_changes_nothing(void)
{
	struct breaker_config *cfg = config();
	int refused = 0;
	for (int trial = 0; cfg != NULL && trial < 200; trial++) {
		struct breaker *a = NULL, *b = NULL;
		memset(logs, 0, sizeof(logs));
		if (breaker_new(cfg, 0, sink, &logs[0], &a) != FXB_OK ||
		    breaker_new(cfg, 0, sink, &logs[1], &b) != FXB_OK) {
			test_fail(__FILE__, __LINE__, "breaker_new failed");
			breaker_free(a);
			breaker_free(b);
			break;
		}
		unsigned x = 12345u + (unsigned)trial * 7919u;
		fxb_time t = 0;
		int64_t px = 1400000000000LL;
		for (int op = 0; op < 3000; op++) {
			x = x * 1103515245u + 12345u;
			t += (x >> 8) % 7;
			bool check = (x >> 16) % 4 != 0;
			int64_t arg;
			if (check) {
				arg = 1 + (x >> 20) % 3;
			} else {
				px += (int64_t)((x >> 12) % 11) * 100000000LL -
				      500000000LL;
				arg = px;
			}
			/* b sometimes runs out of memory; a then skips the
			 * record but moves its clock as b did. */
			if (((x >> 3) % 97) == (unsigned)trial % 97 &&
			    apply(b, check, t, arg, true) == FXB_ERR_NOMEM) {
				refused++;
				breaker_advance(a, t);
				continue;
			}
			if (((x >> 3) % 97) != (unsigned)trial % 97)
				apply(b, check, t, arg, false);
			apply(a, check, t, arg, false);
		}
		CHECK_INT(logs[0].len, logs[1].len);
		CHECK(memcmp(logs[0].text, logs[1].text, logs[0].len) == 0);
		breaker_free(a);
		breaker_free(b);
	}
	/* The path allocates rarely (a window's first entries are inline),
	 * so refusals are few; there must be some, or this proved nothing. */
	CHECK(refused >= 10);
	breaker_config_free(cfg);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	    {"new", test_new},
	    {"refused_changes_nothing", test_refused_changes_nothing},
	};
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
