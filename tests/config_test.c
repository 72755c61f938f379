/*
 * config_test.c: the configuration file (RULES.md section 8).  A valid
 * file parses into exactly the values written; every error path names the
 * file, the line and the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_config.h"
#include "config.h"
#include "breaker_decimal.h"
#include "testlib.h"

static const char good[] = "# a comment\n"                    /* 1 */
                           "[service]\n"                      /* 2 */
                           "data_dir = ./run/data\n"          /* 3 */
                           "service_id = uat\n"               /* 4 */
                           "\n"                               /* 5 */
                           "[rule usdkrw-band]\n"             /* 6 */
                           "pair = USD/KRW\n"                 /* 7 */
                           "kind = band\n"                    /* 8 */
                           "window = 300s\n"                  /* 9 */
                           "band_pct = 1.5\n"                 /* 10 */
                           "ref_move_pct = 1\n"               /* 11 */
                           "ref_min_life = 30s\n"             /* 12 */
                           "limit_for = 15s\n"                /* 13 */
                           "suspend_for = 300s\n"             /* 14 */
                           "suspends = with-move\n"           /* 15 */
                           "notice = busy\n"                  /* 16 */
                           "\n"                               /* 17 */
                           "[rule wallet-volume]\n"           /* 18 */
                           "product = fx-wallet.USDKRW.buy\n" /* 19 */
                           "kind = volume\n"                  /* 20 */
                           "measure = count\n"                /* 21 */
                           "window = 60s\n"                   /* 22 */
                           "warn = 300\n"                     /* 23 */
                           "trip = 500\n"                     /* 24 */
                           "suspend_for = 300s\n"             /* 25 */
                           "max_auto_resumes = 2\n"           /* 26 */
                           "\n"                               /* 27 */
                           "[pair USD/KRW]\n"                 /* 28 */
                           "tick = 0.1\n"                     /* 29 */
                           "\n"                               /* 30 */
                           "[product fx-wallet.USDKRW.buy]\n" /* 31 */
                           "pair = USD/KRW\n"                 /* 32 */
                           "side = buy\n"                     /* 33 */
                           "channel = app\n"                  /* 34 */
                           "\n"                               /* 35 */
                           "[product auto-exchange.USDKRW]\n" /* 36 */
                           "pair = USD/KRW\n"                 /* 37 */
                           "side = any\n"                     /* 38 */
                           "exempt = usdkrw-band\n"           /* 39 */
                           "\n"                               /* 40 */
                           "[notice busy]\n"                  /* 41 */
                           "ko = 일시 중단\n"                 /* 42 */
                           "en = Exchange is temporarily\n"   /* 43 */
                           "  unavailable.\n"                 /* 44 */
                           "[rule remit-notional]\n"          /* 45 */
                           "product = auto-exchange.USDKRW\n" /* 46 */
                           "kind = volume\n"                  /* 47 */
                           "measure = notional\n"             /* 48 */
                           "window = 1h\n"                    /* 49 */
                           "trip = 1000000.50\n"              /* 50 */
                           "suspend_for = 0s\n"               /* 51 */
                           "mode = shadow\n";                 /* 52 */

/* The [service] of the text parse() read last. */
static struct service_conf svc;

static struct breaker_config *
parse(const char *text, char *err, size_t errlen, enum fxb_err *rc)
{
	struct breaker_config *cfg = NULL;
	*rc = config_parse(text, strlen(text), "test.conf", NULL, 0, &svc,
	                   &cfg, err, errlen);
	return cfg;
}

/* RULES 8: the example of the contract parses into exactly its values. */
static void
test_good_config(void)
{
	char err[256];
	enum fxb_err rc;
	struct breaker_config *cfg = parse(good, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	if (cfg == NULL) {
		printf("    %s\n", err);
		return;
	}
	CHECK_STR(svc.data_dir, "./run/data");
	CHECK_STR(svc.service_id, "uat");
	CHECK_STR(svc.check_url, "ipc:///run/fxbreaker/check.ipc");
	CHECK_INT(svc.clock_step_tolerance, 1000); /* default */
	CHECK_INT(svc.watchdog_interval, 5000);    /* the default */
	CHECK_INT(cfg->npairs, 1);
	CHECK_STR(cfg->pairs[0].name, "USD/KRW");
	CHECK_INT(cfg->pairs[0].base_exponent, 2);
	CHECK_INT(cfg->pairs[0].quote_exponent, 0);
	CHECK_INT(cfg->pairs[0].tick, 100000000);
	CHECK_INT(cfg->nproducts, 2);
	CHECK_STR(cfg->products[0].id, "fx-wallet.USDKRW.buy");
	CHECK_INT(cfg->products[0].side, BREAKER_SIDE_BUY);
	CHECK_STR(cfg->products[0].channel, "app");
	CHECK_INT(cfg->products[1].side, BREAKER_SIDE_ANY);
	CHECK_INT(cfg->products[1].nexempt, 1);
	CHECK_INT(cfg->products[1].exempt[0], 0);
	CHECK_INT(cfg->nrules, 3);
	const struct breaker_rule_conf *band = &cfg->rules[0];
	CHECK_STR(band->id, "usdkrw-band");
	CHECK_INT(band->kind, BREAKER_BAND);
	CHECK(band->on_pair);
	CHECK_INT(band->window, 300000);
	CHECK_INT(band->band_pct, 15000);
	CHECK_INT(band->ref_move_pct, 10000);
	CHECK_INT(band->ref_min_life, 30000);
	CHECK_INT(band->limit_for, 15000);
	CHECK_INT(band->suspend_for, 300000);
	CHECK_INT(band->suspends, BREAKER_SUSPENDS_WITH_MOVE);
	CHECK_INT(band->notice, 0);
	CHECK_INT(band->max_auto_resumes, -1);
	CHECK_INT(band->line, 6);
	const struct breaker_rule_conf *vol = &cfg->rules[1];
	CHECK_INT(vol->kind, BREAKER_VOLUME);
	CHECK(!vol->on_pair);
	CHECK_INT(vol->owner, 0);
	CHECK_INT(vol->warn, 300);
	CHECK_INT(vol->trip, 500);
	CHECK_INT(vol->max_auto_resumes, 2);
	CHECK(!vol->shadow);
	const struct breaker_rule_conf *nv = &cfg->rules[2];
	CHECK_INT(nv->measure, BREAKER_MEASURE_NOTIONAL);
	CHECK_INT(nv->trip, 100000050);
	CHECK_INT(nv->window, 3600000);
	CHECK_INT(nv->suspend_for, 0);
	CHECK(nv->shadow);
	CHECK_INT(cfg->nnotices, 1);
	CHECK_STR(cfg->notices[0].ko, "일시 중단");
	CHECK_STR(cfg->notices[0].en, "Exchange is temporarily unavailable.");
	breaker_config_free(cfg);
}

/* Replaces the first occurrence of `from` in text with `to`. */
static char *
mutate_text(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	if (at == NULL)
		return NULL;
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%.*s%s%s", (int)(at - text), text, to,
		         at + strlen(from));
	return s;
}

/* Replaces the first occurrence of `from` in good[] with `to`. */
static char *
mutate(const char *from, const char *to)
{
	return mutate_text(good, from, to);
}

/* RULES 8: each error names file, line and key; a bad file is refused. */
static void
test_errors(void)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	    /* unknown section, unknown key, missing key, bad value */
	    {"[service]", "[servce]", "test.conf:2: unknown section [servce]"},
	    {"data_dir", "datadir",
	     "test.conf:3: [service] datadir: unknown key"},
	    {"window = 300s\n", "",
	     "test.conf:6: [rule usdkrw-band] window: required key missing"},
	    {"band_pct = 1.5", "band_pct = 1.5x",
	     "test.conf:10: [rule usdkrw-band] band_pct: not a percentage"},
	    {"band_pct = 1.5", "band_pct = 1.23456",
	     "test.conf:10: [rule usdkrw-band] band_pct: percentage has too "
	     "many fractional digits (0 to 100, at most 4 fractional "
	     "digits)"},
	    {"band_pct = 1.5", "band_pct = 100",
	     "test.conf:10: [rule usdkrw-band] band_pct: must be below 100"},
	    {"band_pct = 1.5", "band_pct = 0",
	     "[rule usdkrw-band] band_pct: must be greater than zero"},
	    {"window = 300s", "window = 300",
	     "test.conf:9: [rule usdkrw-band] window: not a duration"},
	    {"window = 300s", "window = 5d", "window: not a duration"},
	    {"window = 300s", "window = 0s",
	     "window: must be greater than zero"},
	    {"window = 300s", "window = 31d", "window: not a duration"},
	    {"window = 300s", "window = 999h",
	     "window: duration longer than 30 days"},
	    {"window = 60s", "window = 2h",
	     "test.conf:22: [rule wallet-volume] window: a volume window is "
	     "at most 1h"},
	    /* references */
	    {"pair = USD/KRW\nkind = band", "pair = EUR/KRW\nkind = band",
	     "test.conf:7: [rule usdkrw-band] pair: no such [pair]"},
	    {"product = fx-wallet.USDKRW.buy", "product = nope",
	     "test.conf:19: [rule wallet-volume] product: no such [product]"},
	    {"notice = busy", "notice = gone",
	     "test.conf:16: [rule usdkrw-band] notice: no such [notice]"},
	    {"exempt = usdkrw-band", "exempt = wallet-volume",
	     "test.conf:39: [product auto-exchange.USDKRW] exempt: rule "
	     "wallet-volume is not a rule on this product's pair"},
	    {"exempt = usdkrw-band", "exempt = usdkrw-band, nope",
	     "exempt: no such [rule nope]"},
	    {"exempt = usdkrw-band", "exempt = usdkrw-band,",
	     "exempt: a comma-separated list of rule ids"},
	    {"exempt = usdkrw-band", "exempt =",
	     "test.conf:39: [product auto-exchange.USDKRW] exempt: a "
	     "comma-separated list"},
	    {"exempt = usdkrw-band", "exempt = usdkrw-band, usdkrw-band",
	     "exempt: rule usdkrw-band is listed twice"},
	    {"pair = USD/KRW\nside = buy", "pair = USD/JPY\nside = buy",
	     "test.conf:32: [product fx-wallet.USDKRW.buy] pair: no such "
	     "[pair]"},
	    /* rule shape */
	    {"kind = band", "kind = bands",
	     "test.conf:8: [rule usdkrw-band] kind: must be one of volume"},
	    {"kind = band\n", "",
	     "test.conf:6: [rule usdkrw-band] kind: required key missing"},
	    {"pair = USD/KRW\nkind = band",
	     "pair = USD/KRW\nproduct = fx-wallet.USDKRW.buy\nkind = band",
	     "test.conf:6: [rule usdkrw-band]: name exactly one of pair or "
	     "product"},
	    {"pair = USD/KRW\nkind = band",
	     "product = fx-wallet.USDKRW.buy\nkind = band",
	     "test.conf:7: [rule usdkrw-band] product: a rule of this kind "
	     "watches a pair's ticks"},
	    {"product = fx-wallet.USDKRW.buy\nkind = volume",
	     "pair = USD/KRW\nkind = volume",
	     "test.conf:19: [rule wallet-volume] pair: a rule of this kind "
	     "watches a product's checks"},
	    {"warn = 300", "warn = 500",
	     "test.conf:23: [rule wallet-volume] warn: warn must be below "
	     "trip"},
	    {"warn = 300", "warn = 30.5",
	     "[rule wallet-volume] warn: whole number has too many"},
	    {"trip = 1000000.50", "trip = 1000000.505",
	     "test.conf:50: [rule remit-notional] trip: amount has too many "
	     "fractional digits (in the base currency, with its minor-unit "
	     "digits)"},
	    {"max_auto_resumes = 2", "max_auto_resumes = -1",
	     "max_auto_resumes: not a whole number"},
	    {"max_auto_resumes = 2", "max_auto_resumes = 1001",
	     "max_auto_resumes: must be from 0 to 1000"},
	    {"measure = count", "measure = sum",
	     "measure: must be one of count, notional"},
	    {"suspends = with-move", "suspends = up",
	     "suspends: must be one of both, buy, sell, with-move"},
	    {"mode = shadow", "mode = dry-run",
	     "mode: must be one of enforce, shadow"},
	    {"max_auto_resumes = 2", "max_age = 10s",
	     "test.conf:26: [rule wallet-volume] max_age: unknown key for a "
	     "volume rule"},
	    {"suspend_for = 300s\nsuspends",
	     "suspend_for = 300s\nhold = 1s\n"
	     "suspends",
	     "[rule usdkrw-band] hold: unknown key for a band rule"},
	    {"measure = notional", "measure = notional\nsuspends = buy",
	     "[rule remit-notional] suspends: only a pair rule suspends"},
	    /* sections and ids */
	    {"[rule wallet-volume]", "[rule usdkrw-band]",
	     "test.conf:18: [rule usdkrw-band] is defined twice (first on "
	     "line 6)"},
	    {"[pair USD/KRW]", "[pair USD/XXX]",
	     "test.conf:28: [pair USD/XXX]: a pair is BASE/QUOTE"},
	    {"[pair USD/KRW]", "[pair USD/USD]",
	     "[pair USD/USD]: a pair is BASE/QUOTE"},
	    {"[pair USD/KRW]", "[pair]",
	     "test.conf:28: section [pair] needs "
	     "a name"},
	    {"[service]", "[service x]", "section [service] takes no name"},
	    {"[product fx-wallet.USDKRW.buy]\n", "[product bad id!]\n",
	     "[product bad id!]: an id is 1 to 64"},
	    {"tick = 0.1", "tick = 0.1\ntick = 0.2",
	     "test.conf:30: [pair USD/KRW] tick: set twice (first on line "
	     "29)"},
	    {"tick = 0.1", "tick = 0.0000000001",
	     "[pair USD/KRW] tick: price has too many fractional digits "
	     "(above 0, at most 8 fractional digits)"},
	    {"side = buy", "side = long",
	     "side: must be one of buy, sell, any"},
	    {"data_dir = ./run/data",
	     "data_dir =", "[service] data_dir: must not be empty"},
	    {"service_id = uat", "  indented = x",
	     "test.conf:4: an indented line continues the key above it "
	     "([service] data_dir), and only notice texts and a calendar's "
	     "holidays may continue"},
	    {"service_id = uat", "check_url = http://x",
	     "test.conf:4: [service] check_url: an nng address: ipc://PATH"},
	    {"service_id = uat", "clock_step_tolerance = 0s",
	     "test.conf:4: [service] clock_step_tolerance: must be greater "
	     "than zero"},
	    {"service_id = uat", "clock_step_tolerance = 2",
	     "test.conf:4: [service] clock_step_tolerance: not a duration"},
	    {"service_id = uat", "watchdog_interval = 50ms",
	     "test.conf:4: [service] watchdog_interval: 0 (off) or at least "
	     "100ms (\"50ms\")"},
	    {"service_id = uat", "watchdog_interval = 5",
	     "test.conf:4: [service] watchdog_interval: not a duration"},
	    {"ko = 일시 중단", "ko = 일시 중단 ; 곧 재개",
	     "test.conf:42: [notice busy] ko: \" ;\" starts a comment"},
	    {"warn = 300", "warn = 3,00",
	     "[rule wallet-volume] warn: not a whole number"},
	    {"trip = 1000000.50", "trip = 1,000,000.50",
	     "[rule remit-notional] trip: not an amount"},
	    {"# a comment", "just words",
	     "test.conf:1: syntax error: expected [section]"},
	    {"# a comment", "orphan = 1",
	     "test.conf:1: key orphan before any [section]"},
	    {"ko = 일시 중단",
	     "ko = x\n"
	     "ko = y",
	     "test.conf:43: [notice busy] ko: set twice"},
	    {"en = Exchange is temporarily\n  unavailable.\n", "",
	     "test.conf:41: [notice busy] en: required key missing"},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		char err[512];
		enum fxb_err rc;
		char *text = mutate(cases[i].from, cases[i].to);
		if (text == NULL) {
			test_fail(__FILE__, __LINE__, "case %zu: no \"%s\"", i,
			          cases[i].from);
			continue;
		}
		struct breaker_config *cfg =
		    parse(text, err, sizeof(err), &rc);
		if (cfg != NULL || rc != FXB_ERR_CONFIG)
			test_fail(__FILE__, __LINE__,
			          "case %zu (%s): accepted, want \"%s\"", i,
			          cases[i].to, cases[i].want);
		else if (strstr(err, cases[i].want) == NULL)
			test_fail(__FILE__, __LINE__,
			          "case %zu: error \"%s\", want \"%s\"", i,
			          err, cases[i].want);
		breaker_config_free(cfg);
		free(text);
	}
}

/* Kind-specific requirements (RULES 8: keys per kind). */
static void
test_kind_keys(void)
{
	static const struct {
		const char *rule, *want;
	} cases[] = {
	    {"kind = velocity\nwindow = 60s\nsuspend_for = 300s\n",
	     "a velocity rule needs base and pct, or max_move"},
	    {"kind = velocity\nwindow = 60s\nsuspend_for = 0s\nbase = 1400\n"
	     "pct = 1\nmax_move = 5\n",
	     "max_move: give either max_move or base and pct"},
	    {"kind = deviation\nbase = 1400\npct = 2\nsuspend_for = 0s\n",
	     "hold: required key missing"},
	    {"kind = stale\n", "max_age: required key missing"},
	    {"kind = stale\nmax_age = 0s\n",
	     "max_age: must be greater than zero"},
	    {"kind = stale\nmax_age = 10s\nsuspend_for = 1s\n",
	     "suspend_for: unknown key for a stale rule"},
	    {"kind = spread\nmax_spread_pct = 0.5\n",
	     "hold: required key missing"},
	    {"kind = spread\nmax_spread_pct = 0.5\nhold = 1s\n"
	     "max_auto_resumes = 1\n",
	     "max_auto_resumes: unknown key for a spread rule"},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		char text[1024], err[512];
		enum fxb_err rc;
		snprintf(text, sizeof(text),
		         "[pair USD/KRW]\n[rule r]\npair = USD/KRW\n%s",
		         cases[i].rule);
		struct breaker_config *cfg =
		    parse(text, err, sizeof(err), &rc);
		if (cfg != NULL)
			test_fail(__FILE__, __LINE__, "case %zu accepted", i);
		else
			CHECK_CONTAINS(err, cases[i].want);
		breaker_config_free(cfg);
	}
	static const char *const throttle =
	    "[pair USD/KRW]\n[product p]\npair = USD/KRW\n"
	    "[rule t]\nproduct = p\nkind = throttle\nrate = 0\nburst = 5\n";
	char err[512];
	enum fxb_err rc;
	struct breaker_config *cfg = parse(throttle, err, sizeof(err), &rc);
	CHECK(cfg == NULL);
	CHECK_CONTAINS(err, "test.conf:7: [rule t] rate: must be from 1 to");
	breaker_config_free(cfg);
}

/* Over-long lines are refused, not split (inih's buffer is 200 bytes). */
static void
test_long_line(void)
{
	char text[600], err[512];
	enum fxb_err rc;
	memset(text, 0, sizeof(text));
	strcpy(text, "[notice n]\nko = ");
	memset(text + strlen(text), 'x', 300);
	strcat(text, "\nen = y\n");
	struct breaker_config *cfg = parse(text, err, sizeof(err), &rc);
	CHECK(cfg == NULL);
	CHECK_CONTAINS(err, "test.conf:2: line longer than 198 bytes");
	breaker_config_free(cfg);
}

/* RULES 9: a calendar, levels by session and opening hours, read whole:
 * the sessions in file order, the levels resolved per session (off
 * included) against the plain keys, the hours as a mask. */
static void
test_section9_good(void)
{
	char err[512] = "";
	enum fxb_err rc;
	char *text =
	    mutate("mode = shadow\n",
	           "mode = shadow\n[calendar krx]\nutc_offset = +09:00\n"
	           "session.day = mon-fri 09:00-15:30\n"
	           "session.night = mon-fri 15:30-02:00\n"
	           "holidays = 2026-12-25, 2027-01-01,\n"
	           "  2027-02-16, 2027-02-17, 2027-02-18,\n"
	           "  2027-03-01\n");
	char *t2 = text != NULL ? mutate_text(text, "trip = 500\n",
	                                      "trip = 500\ncalendar = krx\n"
	                                      "trip@night = 60\n"
	                                      "warn@night = 40\n"
	                                      "trip@off = 350\n")
	                        : NULL;
	char *t3 = t2 != NULL ? mutate_text(t2, "channel = app\n",
	                                    "channel = app\n"
	                                    "hours = krx:night, day\n")
	                      : NULL;
	CHECK(t3 != NULL);
	struct breaker_config *cfg =
	    t3 != NULL ? parse(t3, err, sizeof(err), &rc) : NULL;
	CHECK_STR(err, "");
	CHECK(cfg != NULL);
	if (cfg != NULL) {
		CHECK_INT(cfg->ncalendars, 1);
		const struct breaker_calendar_conf *c = &cfg->calendars[0];
		CHECK_STR(c->id, "krx");
		CHECK_INT(c->utc_offset_min, 540);
		CHECK_INT(c->nsessions, 2);
		CHECK_STR(c->sessions[1].name, "night");
		CHECK_INT(c->sessions[1].start_min, 930);
		CHECK_INT(c->sessions[1].end_min, 120);
		CHECK_INT(c->sessions[1].days, 0x1f);
		/* A year's holidays continue on indented lines. */
		CHECK_INT(c->nholidays, 6);
		const struct breaker_rule_conf *r = NULL;
		for (size_t i = 0; i < cfg->nrules; i++)
			if (strcmp(cfg->rules[i].id, "wallet-volume") == 0)
				r = &cfg->rules[i];
		CHECK(r != NULL && r->calendar == 0 && r->levels != NULL);
		if (r != NULL && r->levels != NULL) {
			/* [0] off, [1] day, [2] night */
			CHECK_INT(r->levels[0].trip, 350);
			CHECK_INT(r->levels[0].warn, r->warn);
			CHECK_INT(r->levels[1].trip, 500);
			CHECK_INT(r->levels[1].warn, r->warn);
			CHECK_INT(r->levels[2].trip, 60);
			CHECK_INT(r->levels[2].warn, 40);
			/* A threshold command reads a session's level by
			 * KEY@SESSION, given or resolved; an unknown session
			 * is no level. */
			char tx[BREAKER_DECIMAL_BUFSZ];
			int64_t cmp;
			CHECK(
			    breaker_threshold(cfg, r, "trip@night", &cmp, tx));
			CHECK_STR(tx, "60");
			CHECK_INT(cmp, 60);
			CHECK(breaker_threshold(cfg, r, "trip@day", &cmp, tx));
			CHECK_STR(tx, "500");
			CHECK(breaker_threshold(cfg, r, "trip@off", &cmp, tx));
			CHECK_STR(tx, "350");
			CHECK(
			    breaker_threshold(cfg, r, "warn@night", &cmp, tx));
			CHECK_STR(tx, "40");
			CHECK(!breaker_threshold(cfg, r, "trip@weekend", &cmp,
			                         tx));
			CHECK(!breaker_threshold(cfg, r, "trip@", &cmp, tx));
			CHECK(!breaker_threshold(cfg, r, "window@night", &cmp,
			                         tx));
			CHECK(
			    !breaker_threshold(cfg, r, "tri@night", &cmp, tx));
		}
		const struct breaker_product_conf *p = NULL;
		for (size_t i = 0; i < cfg->nproducts; i++)
			if (strcmp(cfg->products[i].id,
			           "fx-wallet.USDKRW.buy") == 0)
				p = &cfg->products[i];
		CHECK(p != NULL && p->hours_calendar == 0 &&
		      p->hours_mask == 6);
	}
	breaker_config_free(cfg);
	free(text);
	free(t2);
	free(t3);
}

/* RULES 9: each mistake in a calendar, a level by session or opening
 * hours refuses the file, naming the line and the key. */
static void
test_section9_errors(void)
{
	static const char cal[] =
	    "mode = shadow\n[calendar krx]\nutc_offset = +09:00\n"
	    "session.day = mon-fri 09:00-15:30\n"
	    "session.night = mon-fri 15:30-02:00\n";
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	    {"mode = shadow\n",
	     "mode = shadow\n[calendar krx]\nutc_offset = +9\n"
	     "session.day = mon-fri 09:00-15:30\n",
	     "test.conf:54: [calendar krx] utc_offset: expected +HH:MM or "
	     "-HH:MM (\"+9\")"},
	    {"mode = shadow\n",
	     "mode = shadow\n[calendar krx]\nutc_offset = +09:00\n"
	     "session.day = mon-fri 09:00-15:30\n"
	     "session.late = mon-fri 15:00-02:00\n",
	     "test.conf:56: [calendar krx] session.late: sessions day and "
	     "late "
	     "overlap on mon at 15:00"},
	    {"mode = shadow\n",
	     "mode = shadow\n[calendar krx]\nutc_offset = +09:00\n",
	     "test.conf:53: [calendar krx]: give at least one session.NAME = "
	     "DAYS HH:MM-HH:MM"},
	    {"trip = 500\n", "trip = 500\ntrip@night = 60\n",
	     "test.conf:25: [rule wallet-volume] trip@night: a level by "
	     "session needs calendar = ID in this rule (\"60\")"},
	    {"trip = 500\n", "trip = 500\ncalendar = krx\ntrip@evening = 60\n",
	     "test.conf:26: [rule wallet-volume] trip@evening: [calendar krx] "
	     "has no session evening (\"60\")"},
	    {"trip = 500\n", "trip = 500\ncalendar = krx\nwindow@night = 5s\n",
	     "test.conf:26: [rule wallet-volume] window@night: only trip and "
	     "warn (volume) and pct and max_move (velocity) take a session "
	     "suffix (\"5s\")"},
	    {"trip = 500\n", "trip = 500\ncalendar = nyse\n",
	     "test.conf:25: [rule wallet-volume] calendar: no such [calendar] "
	     "(\"nyse\")"},
	    {"channel = app\n", "channel = app\nhours = krx:lunch\n",
	     "test.conf:35: [product fx-wallet.USDKRW.buy] hours: [calendar "
	     "krx] has no session lunch (\"krx:lunch\")"},
	    {"channel = app\n", "channel = app\nhours = nyse:day\n",
	     "test.conf:35: [product fx-wallet.USDKRW.buy] hours: no such "
	     "[calendar nyse] (\"nyse:day\")"},
	    {"mode = shadow\n",
	     "mode = shadow\n[calendar krx:seoul]\nutc_offset = +09:00\n"
	     "session.day = mon-fri 09:00-15:30\n",
	     "test.conf:53: [calendar krx:seoul]: a calendar id has no \":\" "
	     "(hours = ID:SESSION names it)"},
	    {"channel = app\n", "channel = app\nhours = krx:day,day\n",
	     "test.conf:35: [product fx-wallet.USDKRW.buy] hours: session day "
	     "is listed twice (\"krx:day,day\")"},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		char err[512] = "";
		enum fxb_err rc;
		char *base = mutate("mode = shadow\n", cal);
		char *text = NULL;
		if (base != NULL && strncmp(cases[i].from, "mode", 4) == 0)
			text = mutate(cases[i].from, cases[i].to);
		else if (base != NULL)
			text = mutate_text(base, cases[i].from, cases[i].to);
		free(base);
		CHECK(text != NULL);
		if (text == NULL)
			continue;
		struct breaker_config *cfg =
		    parse(text, err, sizeof(err), &rc);
		CHECK(cfg == NULL);
		CHECK_INT(rc, FXB_ERR_CONFIG);
		CHECK_STR(err, cases[i].want);
		breaker_config_free(cfg);
		free(text);
	}
}

/* Sections are independent of order and an empty config is valid. */
static void
test_minimal(void)
{
	char err[256];
	enum fxb_err rc;
	struct breaker_config *cfg = parse("", err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK(cfg != NULL && cfg->nrules == 0 && cfg->npairs == 0);
	breaker_config_free(cfg);
	cfg = parse("[pair JPY/KRW]\n", err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK(cfg != NULL && cfg->npairs == 1 &&
	      cfg->pairs[0].base_exponent == 0 && cfg->pairs[0].tick == 0);
	breaker_config_free(cfg);
}

/* RULES 4.3: a V that rounds to zero ticks would trip on every move. */
static void
test_velocity_zero(void)
{
	char err[256];
	enum fxb_err rc;
	struct breaker_config *cfg =
	    parse("[pair USD/KRW]\ntick = 1\n[rule v]\npair = USD/KRW\n"
	          "kind = velocity\nwindow = 60s\nsuspend_for = 0s\n"
	          "base = 1400\npct = 0.05\n",
	          err, sizeof(err), &rc);
	CHECK(cfg == NULL);
	CHECK_CONTAINS(err, "test.conf:9: [rule v] pct: base x pct / 100 "
	                    "rounds down to less than one tick");
	breaker_config_free(cfg);
	/* 1400 x 0.1 % = 1.4, down to the tick of 1: V = 1. */
	cfg = parse("[pair USD/KRW]\ntick = 1\n[rule v]\npair = USD/KRW\n"
	            "kind = velocity\nwindow = 60s\nsuspend_for = 0s\n"
	            "base = 1400\npct = 0.1\n",
	            err, sizeof(err), &rc);
	CHECK(cfg != NULL && cfg->rules[0].velocity == 1000000000);
	breaker_config_free(cfg);
}

/*
 * The reader and inih agree on sections whatever the white space: a BOM,
 * a header indented with \v right after another header, CRLF line ends.
 * Like inih, an indented line after a key continues that key, even one
 * that looks like a header, and that is refused outside notices.
 */
static void
test_whitespace(void)
{
	char err[256];
	enum fxb_err rc;
	struct breaker_config *cfg =
	    parse("\xEF\xBB\xBF[pair USD/KRW]\r\n\v[product p]\r\n"
	          "pair = USD/KRW\r\n[product q]\r\npair = USD/KRW\r\n"
	          "side = sell\r\n",
	          err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	if (cfg == NULL) {
		printf("    %s\n", err);
		return;
	}
	CHECK_INT(cfg->npairs, 1);
	CHECK_INT(cfg->nproducts, 2);
	CHECK_STR(cfg->products[0].id, "p");
	CHECK_STR(cfg->products[1].id, "q");
	CHECK_INT(cfg->products[1].side, BREAKER_SIDE_SELL);
	breaker_config_free(cfg);
	cfg = parse("[pair USD/KRW]\ntick = 0.1\n\t[product p]\n"
	            "pair = USD/KRW\n",
	            err, sizeof(err), &rc);
	CHECK(cfg == NULL);
	CHECK_CONTAINS(err, "test.conf:3: an indented line continues the key "
	                    "above it ([pair USD/KRW] tick)");
	breaker_config_free(cfg);
}

static void
test_durations(void)
{
	fxb_time v = -1;
	CHECK_INT(breaker_duration_parse("500ms", 5, &v), FXB_OK);
	CHECK_INT(v, 500);
	CHECK_INT(breaker_duration_parse("15s", 3, &v), FXB_OK);
	CHECK_INT(v, 15000);
	CHECK_INT(breaker_duration_parse("5m", 2, &v), FXB_OK);
	CHECK_INT(v, 300000);
	CHECK_INT(breaker_duration_parse("2h", 2, &v), FXB_OK);
	CHECK_INT(v, 7200000);
	CHECK_INT(breaker_duration_parse("0s", 2, &v), FXB_OK);
	CHECK_INT(v, 0);
	v = -1;
	CHECK_INT(breaker_duration_parse("0", 1, &v), FXB_OK);
	CHECK_INT(v, 0);
	CHECK_INT(breaker_duration_parse("5", 1, &v), FXB_ERR_SYNTAX);
	CHECK_INT(breaker_duration_parse("1.5s", 4, &v), FXB_ERR_SYNTAX);
	CHECK_INT(breaker_duration_parse("s", 1, &v), FXB_ERR_SYNTAX);
	CHECK_INT(breaker_duration_parse("10 s", 4, &v), FXB_ERR_SYNTAX);
	CHECK_INT(breaker_duration_parse("721h", 4, &v), FXB_ERR_RANGE);
	CHECK_INT(breaker_duration_parse("99999999999999999999s", 21, &v),
	          FXB_ERR_RANGE);
}

/*
 * Threshold changes laid over the file: checked as if written there, with
 * the error on the key's own line; the trip levels read back in the
 * config's notation, and as numbers that grow as a rule loosens.
 */
static void
test_overrides(void)
{
	char err[256], text[BREAKER_DECIMAL_BUFSZ];
	int64_t cmp;
	struct breaker_config *cfg = NULL;
	const struct config_override set[] = {
	    {"wallet-volume", "trip", "400", false},
	    {"remit-notional", "warn", "2000.25", false},
	    {"usdkrw-band", "band_pct", "2.25", false},
	    {"busy", "en", "Paused.", true},
	};
	CHECK_INT(config_parse(good, strlen(good), "test.conf", set, 4, NULL,
	                       &cfg, err, sizeof(err)),
	          FXB_OK);
	if (cfg == NULL)
		return;
	const struct breaker_rule_conf *band = &cfg->rules[0],
	                               *wallet = &cfg->rules[1],
	                               *remit = &cfg->rules[2];
	CHECK_INT(wallet->trip, 400);
	CHECK_INT(wallet->warn, 300); /* untouched */
	CHECK_INT(remit->warn, 200025);
	CHECK_INT(band->band_pct, 22500);
	CHECK_STR(cfg->notices[0].en, "Paused.");
	CHECK_STR(cfg->notices[0].ko, "일시 중단"); /* untouched */
	CHECK(breaker_threshold(cfg, wallet, "trip", &cmp, text));
	CHECK_STR(text, "400");
	CHECK_INT(cmp, 400);
	CHECK(breaker_threshold(cfg, remit, "trip", &cmp, text));
	CHECK_STR(text, "1000000.50");
	/* A band's level decides when its limit timer trips: the file
	 * changes it, not a command (the override itself still parses). */
	CHECK(!breaker_threshold(cfg, band, "band_pct", &cmp, text));
	CHECK(!breaker_threshold(cfg, band, "window", &cmp, text));
	CHECK(!breaker_threshold(cfg, wallet, "band_pct", &cmp, text));
	breaker_config_free(cfg);

	/* No warn level is the loosest: any warn tightens. */
	cfg = NULL;
	CHECK_INT(config_parse(good, strlen(good), "test.conf", NULL, 0, NULL,
	                       &cfg, err, sizeof(err)),
	          FXB_OK);
	if (cfg != NULL) {
		CHECK(breaker_threshold(cfg, &cfg->rules[2], "warn", &cmp,
		                        text));
		CHECK_STR(text, "none");
		CHECK(cmp == INT64_MAX);
	}
	breaker_config_free(cfg);

	/* Refused as the file would be, on the key's line. */
	const struct config_override warn_over_trip[] = {
	    {"wallet-volume", "warn", "600", false}};
	cfg = NULL;
	CHECK_INT(config_parse(good, strlen(good), "test.conf", warn_over_trip,
	                       1, NULL, &cfg, err, sizeof(err)),
	          FXB_ERR_CONFIG);
	CHECK_CONTAINS(err, "test.conf:23: [rule wallet-volume] warn: warn "
	                    "must be below trip (\"600\")");
	const struct config_override nope[] = {{"nope", "trip", "1", false}};
	CHECK_INT(config_parse(good, strlen(good), "test.conf", nope, 1, NULL,
	                       &cfg, err, sizeof(err)),
	          FXB_ERR_CONFIG);
	CHECK_CONTAINS(err, "change by command: no [rule nope]");
}

/* [service] clock_step_tolerance: a duration, read as written. */
static void
test_clock_tolerance(void)
{
	char err[256];
	enum fxb_err rc;
	char *text = mutate("service_id = uat",
	                    "service_id = uat\nclock_step_tolerance = 250ms");
	struct breaker_config *cfg =
	    text != NULL ? parse(text, err, sizeof(err), &rc) : NULL;
	CHECK(cfg != NULL);
	if (cfg != NULL)
		CHECK_INT(svc.clock_step_tolerance, 250);
	breaker_config_free(cfg);
	free(text);
}

/* [service] who may connect: the socket modes and groups read as
 * written, their defaults, each refusal with its reason; a tls+tcp://
 * address without its certificate and key refused on its own line. */
static void
test_service_access(void)
{
	static const struct {
		const char *add, *want; /* want NULL: parses */
	} cases[] = {
	    {"socket_mode = 0660\nsocket_group = fxb-core.1_x", NULL},
	    {"admin_socket_mode = 620", NULL},
	    {"socket_mode = 0777",
	     "test.conf:5: [service] socket_mode: no execute bits: a socket "
	     "is "
	     "connected to, not run (0600 or 0660) (\"0777\")"},
	    {"socket_mode = 0400",
	     "test.conf:5: [service] socket_mode: at least 0600: the daemon's "
	     "own user must reach its socket (\"0400\")"},
	    {"socket_mode = 0640",
	     "test.conf:5: [service] socket_mode: group bits without w: "
	     "connecting needs write (0660 lets the group connect, 0600 does "
	     "not) (\"0640\")"},
	    {"admin_socket_mode = 0602",
	     "test.conf:5: [service] admin_socket_mode: no bits for others: "
	     "name who may connect with admin_socket_group (0660 or 0600) "
	     "(\"0602\")"},
	    {"socket_mode = 2660",
	     "test.conf:5: [service] socket_mode: no setuid, setgid or sticky "
	     "bits (a mode such as 0660) (\"2660\")"},
	    {"socket_mode = 06600",
	     "test.conf:5: [service] socket_mode: an octal mode such as 0660 "
	     "or 0600 (\"06600\")"},
	    {"socket_mode = 0x1b0",
	     "test.conf:5: [service] socket_mode: an octal mode such as 0660 "
	     "or 0600 (\"0x1b0\")"},
	    {"socket_group = -wheel",
	     "test.conf:5: [service] socket_group: a group name (letters, "
	     "digits, '.', '_', '-'; at most 32 bytes) (\"-wheel\")"},
	    {"admin_socket_group = a23456789012345678901234567890123",
	     "test.conf:5: [service] admin_socket_group: a group name "
	     "(letters, digits, '.', '_', '-'; at most 32 bytes) "
	     "(\"a23456789012345678901234567890123\")"},
	    {"admin_url = tls+tcp://h:1\ntls_cert_file = c.pem\n"
	     "tls_key_file = k.pem",
	     NULL},
	    {"events_url = tls+tcp://h:1\ntls_cert_file = c.pem",
	     "test.conf:5: [service] events_url: a tls+tcp:// address needs "
	     "tls_cert_file and tls_key_file in [service] (tls_key_file is "
	     "missing) (\"tls+tcp://h:1\")"},
	    {"tick_url = tls+tcp://h:1",
	     "test.conf:5: [service] tick_url: a tls+tcp:// address needs "
	     "tls_cert_file and tls_key_file in [service] (tls_cert_file is "
	     "missing) (\"tls+tcp://h:1\")"},
	};
	char err[512], to[256];
	enum fxb_err rc;

	struct breaker_config *cfg = parse(good, err, sizeof(err), &rc);
	CHECK(cfg != NULL);
	CHECK_INT(svc.socket_mode, 0600);
	CHECK_INT(svc.admin_socket_mode, 0600);
	CHECK_STR(svc.socket_group, "");
	CHECK_STR(svc.tls_cert_file, "");
	breaker_config_free(cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(to, sizeof(to), "service_id = uat\n%s\n",
		         cases[i].add);
		char *text = mutate("service_id = uat\n", to);
		err[0] = '\0';
		cfg = text != NULL ? parse(text, err, sizeof(err), &rc) : NULL;
		if (cases[i].want == NULL) {
			CHECK(cfg != NULL);
		} else {
			CHECK(cfg == NULL);
			CHECK_STR(err, cases[i].want);
		}
		if (i == 0 && cfg != NULL) {
			CHECK_INT(svc.socket_mode, 0660);
			CHECK_STR(svc.socket_group, "fxb-core.1_x");
			CHECK_INT(svc.admin_socket_mode, 0600);
		}
		if (i == 1 && cfg != NULL)
			CHECK_INT(svc.admin_socket_mode, 0620);
		if (i == 11 && cfg != NULL) {
			CHECK_STR(svc.tls_cert_file, "c.pem");
			CHECK_STR(svc.tls_key_file, "k.pem");
			CHECK_STR(svc.tls_ca_file, "");
		}
		breaker_config_free(cfg);
		free(text);
	}
}

/* A service-only read (what fxbreakerctl does when the whole file does
 * not parse): a typo outside [service] cannot fail it; a bad [service]
 * or none at all does. */
static void
test_service_only(void)
{
	static const struct {
		const char *from, *to, *want; /* want NULL: reads */
	} cases[] = {
	    {"band_pct = 1.5", "band_pct = 1.5x", NULL},
	    {"kind = band\n", "kind band\n", NULL}, /* inih syntax */
	    {"[pair USD/KRW]", "[pairr USD/KRW]", NULL},
	    {"window = 300s\n", "window = 300s\nwindow = 1s\n", NULL},
	    {"tick = 0.1\n", "tick = 0.1\n  continued\n", NULL},
	    {"[product auto-exchange.USDKRW]", "[product bad id!]", NULL},
	    {"en = Exchange", "en = Exchange ; cut", NULL},
	    {"data_dir = ./run/data", "datadir = ./run/data",
	     "test.conf:3: [service] datadir: unknown key in this section"},
	    {"service_id = uat", "service_id =",
	     "test.conf:4: [service] service_id: must not be empty"},
	    {"service_id = uat\n", "service_id = uat\nservice id\n",
	     "test.conf:5: syntax error"},
	    {"[service]", "[servce]", "test.conf: no [service] section"},
	    {"[notice busy]", "[service]\n[notice busy]",
	     "test.conf:41: [service] is defined twice (first on line 2)"},
	};
	struct breaker_config *full = NULL;
	struct service_conf full_svc, sv;
	char err[512];

	CHECK_INT(config_parse(good, strlen(good), "test.conf", NULL, 0,
	                       &full_svc, &full, err, sizeof(err)),
	          FXB_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = mutate(cases[i].from, cases[i].to);
		CHECK(text != NULL);
		if (text == NULL)
			continue;
		memset(&sv, 0xa5, sizeof(sv));
		enum fxb_err rc = config_parse_service(
		    text, strlen(text), "test.conf", &sv, err, sizeof(err));
		if (cases[i].want == NULL) {
			CHECK_INT(rc, FXB_OK);
			/* The very [service] the whole file gives (and no
			 * pairs, products or rules: the service-only read
			 * has nowhere to put them). */
			CHECK(full != NULL &&
			      memcmp(&sv, &full_svc, sizeof(sv)) == 0);
		} else {
			CHECK_INT(rc, FXB_ERR_CONFIG);
			CHECK_CONTAINS(err, cases[i].want);
		}
		free(text);
	}
	breaker_config_free(full);

	/* [service] after a broken section, and a long line before it:
	 * read, at the file's line numbers. */
	char text[600];
	snprintf(text, sizeof(text),
	         "[rule x]\nbogus\n[notice n]\nko = %0300d\n[service]\n"
	         "service_id = late\nadmin_url = nope\n",
	         0);
	CHECK_INT(config_parse_service(text, strlen(text), "t.conf", &sv, err,
	                               sizeof(err)),
	          FXB_ERR_CONFIG);
	CHECK_CONTAINS(err, "t.conf:7: [service] admin_url: an nng address");
	*strstr(text, "admin_url") = '\0';
	memset(&sv, 0, sizeof(sv));
	CHECK_INT(config_parse_service(text, strlen(text), "t.conf", &sv, err,
	                               sizeof(err)),
	          FXB_OK);
	CHECK_STR(sv.service_id, "late");
}

/* good plus a cluster of three: two nodes on one host, one on another
 * (which keeps [service]'s data_dir).  Its lines follow good's 52. */
static const char cluster[] =
    "[cluster]\n"                                  /* 53 */
    "node_id = 2\n"                                /* 54 */
    "[peer 1]\n"                                   /* 55 */
    "raft_address = 127.0.0.1:9701\n"              /* 56 */
    "check_url = tcp://127.0.0.1:9711\n"           /* 57 */
    "data_dir = ./n1\n"                            /* 58 */
    "[peer 2]\n"                                   /* 59 */
    "raft_address = 127.0.0.1:9702\n"              /* 60 */
    "check_url = tcp://127.0.0.1:9712\n"           /* 61 */
    "data_dir = ./n2\n"                            /* 62 */
    "admin_url = ipc://./n2/admin.ipc\n"           /* 63 */
    "http_url = http://127.0.0.1:9466\n"           /* 64 */
    "[peer 3]\n"                                   /* 65 */
    "raft_address = fxb3.bank.internal:9703\n"     /* 66 */
    "check_url = tcp://fxb3.bank.internal:9713\n"; /* 67 */

/* good + cluster with `from` (its first occurrence) replaced by `to`. */
static char *
cluster_text(const char *from, const char *to)
{
	size_t n = strlen(good) + strlen(cluster) + strlen(to) + 1;
	char *whole = malloc(n), *s = malloc(n);
	snprintf(whole, n, "%s%s", good, cluster);
	const char *at = strstr(whole, from);
	if (at == NULL) {
		free(whole);
		free(s);
		return NULL;
	}
	snprintf(s, n, "%.*s%s%s", (int)(at - whole), whole, to,
	         at + strlen(from));
	free(whole);
	return s;
}

/* [cluster] and [peer ID]: the values, the defaults, and the node's
 * selection laid over [service]. */
static void
test_cluster_good(void)
{
	char err[512];
	enum fxb_err rc;
	char *text = cluster_text("", "");
	struct breaker_config *cfg = parse(text, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	if (cfg == NULL) {
		printf("    %s\n", err);
		free(text);
		return;
	}
	const struct cluster_conf *c = &svc.cluster;
	CHECK_INT(c->node_id, 2);
	CHECK_INT(c->election_timeout, 300);     /* default */
	CHECK_INT(c->heartbeat_timeout, 30);     /* default */
	CHECK_INT(c->snapshot_threshold, 65536); /* default */
	CHECK_INT(c->npeers, 3);
	CHECK_INT(c->peers[0].id, 1);
	CHECK_STR(c->peers[0].raft_address, "127.0.0.1:9701");
	CHECK_STR(c->peers[0].check_url, "tcp://127.0.0.1:9711");
	CHECK_STR(c->peers[0].data_dir, "./n1");
	CHECK_STR(c->peers[0].admin_url, "");
	CHECK_INT(c->peers[1].id, 2);
	CHECK_STR(c->peers[1].admin_url, "ipc://./n2/admin.ipc");
	CHECK_STR(c->peers[1].http_url, "http://127.0.0.1:9466");
	CHECK_STR(c->peers[1].tick_url, "");
	CHECK_INT(c->peers[2].id, 3);
	CHECK_STR(c->peers[2].raft_address, "fxb3.bank.internal:9703");
	CHECK_STR(c->peers[2].data_dir, "");
	CHECK(!c->peers[0].spare && !c->peers[1].spare && !c->peers[2].spare);
	/* Before the selection, [service] is the file's. */
	CHECK_STR(svc.check_url, "ipc:///run/fxbreaker/check.ipc");
	CHECK_STR(svc.data_dir, "./run/data");

	/* node 0: [cluster] node_id (2), its set fields over [service]'s. */
	struct service_conf sv = svc;
	CHECK_INT(config_cluster_select(&sv, 0, err, sizeof(err)), FXB_OK);
	CHECK_INT(sv.cluster.node_id, 2);
	CHECK_STR(sv.check_url, "tcp://127.0.0.1:9712");
	CHECK_STR(sv.data_dir, "./n2");
	CHECK_STR(sv.admin_url, "ipc://./n2/admin.ipc");
	CHECK_STR(sv.http_url, "http://127.0.0.1:9466");
	CHECK_STR(sv.tick_url, "ipc:///run/fxbreaker/tick.ipc");
	CHECK_STR(sv.events_url, "ipc:///run/fxbreaker/events.ipc");
	CHECK_STR(sv.service_id, "uat");
	/* --node 3 overrides node_id; peer 3 sets only its check_url. */
	sv = svc;
	CHECK_INT(config_cluster_select(&sv, 3, err, sizeof(err)), FXB_OK);
	CHECK_INT(sv.cluster.node_id, 3);
	CHECK_STR(sv.check_url, "tcp://fxb3.bank.internal:9713");
	CHECK_STR(sv.data_dir, "./run/data");
	CHECK_STR(sv.admin_url, "ipc:///run/fxbreaker/admin.ipc");
	CHECK_STR(sv.http_url, "");
	/* A node the file does not name. */
	sv = svc;
	CHECK_INT(config_cluster_select(&sv, 4, err, sizeof(err)),
	          FXB_ERR_CONFIG);
	CHECK_STR(err, "--node 4: no [peer 4] (the file's peers: 1 2 3)");
	breaker_config_free(cfg);
	free(text);

	/* No node_id, no --node. */
	text = cluster_text("node_id = 2\n", "");
	cfg = parse(text, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK_INT(svc.cluster.node_id, 0);
	sv = svc;
	CHECK_INT(config_cluster_select(&sv, 0, err, sizeof(err)),
	          FXB_ERR_CONFIG);
	CHECK_STR(err, "no node: set [cluster] node_id or start with --node "
	               "ID");
	CHECK_INT(config_cluster_select(&sv, 1, err, sizeof(err)), FXB_OK);
	CHECK_STR(sv.check_url, "tcp://127.0.0.1:9711");
	breaker_config_free(cfg);
	free(text);

	/* The timing, set. */
	text = cluster_text("node_id = 2\n", "election_timeout = 1s\n"
	                                     "heartbeat_timeout = 200ms\n"
	                                     "snapshot_threshold = 1024\n");
	cfg = parse(text, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK_INT(svc.cluster.election_timeout, 1000);
	CHECK_INT(svc.cluster.heartbeat_timeout, 200);
	CHECK_INT(svc.cluster.snapshot_threshold, 1024);
	breaker_config_free(cfg);
	free(text);

	/* One node, as before: nothing to select, and no --node. */
	cfg = parse(good, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK_INT(svc.cluster.npeers, 0);
	CHECK_INT(svc.cluster.node_id, 0);
	sv = svc;
	CHECK_INT(config_cluster_select(&sv, 0, err, sizeof(err)), FXB_OK);
	CHECK(memcmp(&sv, &svc, sizeof(sv)) == 0);
	CHECK_INT(config_cluster_select(&sv, 2, err, sizeof(err)),
	          FXB_ERR_CONFIG);
	CHECK_STR(err, "--node 2: the file has no [cluster] (one node: start "
	               "without --node)");
	breaker_config_free(cfg);

	/* The service-only read gives the very same cluster. */
	text = cluster_text("", "");
	cfg = parse(text, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	memset(&sv, 0xa5, sizeof(sv));
	CHECK_INT(config_parse_service(text, strlen(text), "test.conf", &sv,
	                               err, sizeof(err)),
	          FXB_OK);
	CHECK(memcmp(&sv, &svc, sizeof(sv)) == 0);
	breaker_config_free(cfg);
	free(text);

	/* voter = no: a spare, left out of the voters bootstrapped; yes
	 * is the default spelt out. */
	text =
	    cluster_text("data_dir = ./n2\n", "data_dir = ./n2\nvoter = no\n");
	cfg = parse(text, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK(!svc.cluster.peers[0].spare && svc.cluster.peers[1].spare);
	breaker_config_free(cfg);
	free(text);
	text = cluster_text("data_dir = ./n2\n",
	                    "data_dir = ./n2\nvoter = yes\n");
	cfg = parse(text, err, sizeof(err), &rc);
	CHECK_INT(rc, FXB_OK);
	CHECK(!svc.cluster.peers[1].spare);
	breaker_config_free(cfg);
	free(text);
}

/* Every refusal of a cluster's sections: exactly where the want names
 * the file, else the part that matters. */
static void
test_cluster_errors(void)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	    {"node_id = 2", "node_id = 4",
	     "test.conf:54: [cluster] node_id: names no [peer] in this file "
	     "(\"4\")"},
	    {"node_id = 2", "node_id = 02",
	     "test.conf:54: [cluster] node_id: a peer's id, a number from 1 "
	     "to 65535 (\"02\")"},
	    {"node_id = 2", "node = 2",
	     "test.conf:54: [cluster] node: unknown key in this section "
	     "(\"2\")"},
	    {"data_dir = ./n1", "datadir = ./n1",
	     "test.conf:58: [peer 1] datadir: unknown key in this section "
	     "(\"./n1\")"},
	    {"[cluster]\nnode_id = 2\n", "",
	     "test.conf:53: [peer 1] without [cluster]: a cluster's file has "
	     "both"},
	    {"[peer 1]", "[peer 0]",
	     "test.conf:55: [peer 0]: a peer's id is a number from 1 to "
	     "65535"},
	    {"[peer 1]", "[peer 65536]",
	     "test.conf:55: [peer 65536]: a peer's id is a number from 1 to "
	     "65535"},
	    {"[peer 1]", "[peer one]",
	     "test.conf:55: [peer one]: a peer's id is a number from 1 to "
	     "65535"},
	    {"[peer 1]", "[peer]",
	     "test.conf:55: section [peer] needs a name: [peer NAME]"},
	    {"[cluster]", "[cluster 1]",
	     "test.conf:53: section [cluster] takes no name"},
	    {"[peer 3]", "[peer 2]",
	     "test.conf:65: [peer 2] is defined twice (first on line 59)"},
	    {"[cluster]", "[cluster]\n[cluster]",
	     "test.conf:54: [cluster] is defined twice (first on line 53)"},
	    {"raft_address = 127.0.0.1:9701\n", "",
	     "test.conf:55: [peer 1]: raft_address is required"},
	    {"check_url = tcp://127.0.0.1:9711\n", "",
	     "test.conf:55: [peer 1]: check_url is required"},
	    {"127.0.0.1:9701", "127.0.0.1",
	     "test.conf:56: [peer 1] raft_address: HOST:PORT, HOST a numeric "
	     "IPv4 address (not 0.0.0.0) or a host name, PORT 1-65535 "
	     "(\"127.0.0.1\")"},
	    {"127.0.0.1:9701", "127.0.0.1:65536",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "127.0.0.1:0",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "127.0.0.256:9701",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "127.0.1:9701",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "0.0.0.0:9701",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "[::1]:9701",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "-x.internal:9701",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"127.0.0.1:9701", "a..b:9701",
	     "[peer 1] raft_address: HOST:PORT"},
	    {"check_url = tcp://127.0.0.1:9711", "check_url = http://h:1",
	     "test.conf:57: [peer 1] check_url: an nng address: ipc://PATH, "
	     "tcp://HOST:PORT or tls+tcp://HOST:PORT (\"http://h:1\")"},
	    {"check_url = tcp://127.0.0.1:9711", "check_url = tls+tcp://h:1",
	     "test.conf:57: [peer 1] check_url: a tls+tcp:// address needs "
	     "tls_cert_file and tls_key_file in [service] (tls_cert_file is "
	     "missing) (\"tls+tcp://h:1\")"},
	    {"http_url = http://127.0.0.1:9466", "http_url = http://0.0.0.0:1",
	     "test.conf:64: [peer 2] http_url: a wildcard address cannot "
	     "pin the Host header: name the address to listen on "
	     "(http://127.0.0.1:PORT, or this host's own address) "
	     "(\"http://0.0.0.0:1\")"},
	    {"data_dir = ./n1", "data_dir =",
	     "test.conf:58: [peer 1] data_dir: must not be empty (\"\")"},
	    {"data_dir = ./n1\n", "data_dir = ./n1\nvoter = maybe\n",
	     "test.conf:59: [peer 1] voter: yes or no (\"maybe\")"},
	    {"127.0.0.1:9702", "127.0.0.1:9701",
	     "test.conf:60: [peer 2] raft_address: also [peer 1]'s (line 55): "
	     "each node needs its own (\"127.0.0.1:9701\")"},
	    {"tcp://127.0.0.1:9712", "tcp://127.0.0.1:9711",
	     "test.conf:61: [peer 2] check_url: also [peer 1]'s (line 55): "
	     "each node needs its own (\"tcp://127.0.0.1:9711\")"},
	    {"data_dir = ./n2", "data_dir = ./n1",
	     "test.conf:62: [peer 2] data_dir: also the data_dir of [peer 1] "
	     "(line 55), on the same host (127.0.0.1): each node needs its "
	     "own (\"./n1\")"},
	    {"data_dir = ./n1\n[peer 2]\nraft_address = 127.0.0.1:9702\n"
	     "check_url = tcp://127.0.0.1:9712\ndata_dir = ./n2\n",
	     "[peer 2]\nraft_address = 127.0.0.1:9702\n"
	     "check_url = tcp://127.0.0.1:9712\ndata_dir = ./run/data\n",
	     "test.conf:61: [peer 2] data_dir: also the data_dir of [peer 1] "
	     "(line 55), on the same host (127.0.0.1): each node needs its "
	     "own (\"./run/data\")"},
	    {"data_dir = ./n1\n[peer 2]\nraft_address = 127.0.0.1:9702\n"
	     "check_url = tcp://127.0.0.1:9712\ndata_dir = ./n2\n",
	     "data_dir = ./run/data\n"
	     "[peer 2]\nraft_address = 127.0.0.1:9702\n"
	     "check_url = tcp://127.0.0.1:9712\n",
	     "test.conf:58: [peer 1] data_dir: also the data_dir of [peer 2] "
	     "(line 59), on the same host (127.0.0.1): each node needs its "
	     "own (\"./run/data\")"},
	    {"data_dir = ./n1\n[peer 2]\nraft_address = 127.0.0.1:9702\n"
	     "check_url = tcp://127.0.0.1:9712\ndata_dir = ./n2\n",
	     "[peer 2]\nraft_address = 127.0.0.1:9702\n"
	     "check_url = tcp://127.0.0.1:9712\n",
	     "test.conf:58: [peer 2]: on the same host as [peer 1] "
	     "(127.0.0.1), and both would use [service]'s data_dir: each "
	     "needs its own data_dir"},
	    {"[peer 1]",
	     "[peer 9]\nraft_address = h:9\ncheck_url = ipc://9\n"
	     "[peer 8]\nraft_address = h:8\ncheck_url = ipc://8\n"
	     "data_dir = 8\n"
	     "[peer 7]\nraft_address = h:7\ncheck_url = ipc://7\n"
	     "data_dir = 7\n"
	     "[peer 6]\nraft_address = h:6\ncheck_url = ipc://6\n"
	     "data_dir = 6\n"
	     "[peer 5]\nraft_address = h:5\ncheck_url = ipc://5\n"
	     "data_dir = 5\n"
	     "[peer 1]",
	     "test.conf:84: [peer 3]: more than 7 peers"},
	    {"node_id = 2", "node_id = 2\nheartbeat_timeout = 9ms",
	     "test.conf:55: [cluster] heartbeat_timeout: at least 10ms "
	     "(\"9ms\")"},
	    {"node_id = 2", "node_id = 2\nheartbeat_timeout = 61ms",
	     "test.conf:55: [cluster] heartbeat_timeout: at most a fifth of "
	     "election_timeout (300ms) (\"61ms\")"},
	    {"node_id = 2", "node_id = 2\nelection_timeout = 149ms",
	     "test.conf:55: [cluster] election_timeout: at least 5 times "
	     "heartbeat_timeout (30ms) (\"149ms\")"},
	    {"node_id = 2", "node_id = 2\nelection_timeout = 0ms",
	     "test.conf:55: [cluster] election_timeout: must be greater than "
	     "zero (\"0ms\")"},
	    {"node_id = 2", "node_id = 2\nelection_timeout = 300",
	     "test.conf:55: [cluster] election_timeout: not a duration (an "
	     "integer and ms, s, m or h: \"300s\") (\"300\")"},
	    {"node_id = 2", "node_id = 2\nsnapshot_threshold = 1023",
	     "test.conf:55: [cluster] snapshot_threshold: a number of log "
	     "entries, at least 1024 (\"1023\")"},
	    {"node_id = 2", "node_id = 2\nsnapshot_threshold = 4294967296",
	     "test.conf:55: [cluster] snapshot_threshold: a number of log "
	     "entries, at least 1024 (\"4294967296\")"},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		char err[512];
		enum fxb_err rc;
		char *text = cluster_text(cases[i].from, cases[i].to);
		if (text == NULL) {
			test_fail(__FILE__, __LINE__, "case %zu: no \"%s\"", i,
			          cases[i].from);
			continue;
		}
		struct breaker_config *cfg =
		    parse(text, err, sizeof(err), &rc);
		if (cfg != NULL || rc != FXB_ERR_CONFIG)
			test_fail(__FILE__, __LINE__,
			          "case %zu (%s): accepted, want \"%s\"", i,
			          cases[i].to, cases[i].want);
		else if (strncmp(cases[i].want, "test.conf:", 10) == 0
		             ? strcmp(err, cases[i].want) != 0
		             : strstr(err, cases[i].want) == NULL)
			test_fail(__FILE__, __LINE__,
			          "case %zu: error \"%s\", want \"%s\"", i,
			          err, cases[i].want);
		breaker_config_free(cfg);
		free(text);
	}

	/* Without [peer]: [cluster] alone is refused, at its line. */
	char err[512];
	enum fxb_err rc;
	char text[sizeof(good) + 32];
	snprintf(text, sizeof(text), "%s[cluster]\nnode_id = 1\n", good);
	struct breaker_config *cfg = parse(text, err, sizeof(err), &rc);
	CHECK(cfg == NULL);
	CHECK_STR(err, "test.conf:53: [cluster] without any [peer ID]: name "
	               "every voter, this node included");
	breaker_config_free(cfg);
}

/*
 * The engine's builder on its own (what config/ hands over): a config of
 * text keys, and the two refusals config/ makes first, in the same words,
 * when a caller of the builder does not.
 */
static void
test_builder(void)
{
	char err[256];
	struct breaker_config *cfg = NULL;
	struct breaker_config_builder *b =
	    breaker_config_begin("b.conf", err, sizeof(err));
	CHECK(b != NULL);
	if (b == NULL)
		return;
	CHECK_INT(
	    breaker_config_section(b, BREAKER_SECTION_PAIR, "USD/KRW", 1),
	    FXB_OK);
	CHECK_INT(breaker_config_set(b, "tick", "0.1", 2, NULL), FXB_OK);
	CHECK_INT(breaker_config_section(b, BREAKER_SECTION_PRODUCT, "p", 3),
	          FXB_OK);
	CHECK_INT(breaker_config_set(b, "pair", "USD/KRW", 4, NULL), FXB_OK);
	CHECK_INT(breaker_config_finish(b, &cfg), FXB_OK);
	CHECK(cfg != NULL && cfg->npairs == 1 && cfg->nproducts == 1 &&
	      cfg->pairs[0].tick == 100000000 && cfg->products[0].pair == 0);
	breaker_config_free(cfg);

	cfg = NULL;
	b = breaker_config_begin("b.conf", err, sizeof(err));
	CHECK(b != NULL);
	if (b == NULL)
		return;
	CHECK_INT(breaker_config_set(b, "tick", "0.1", 3, NULL),
	          FXB_ERR_CONFIG);
	CHECK_INT(breaker_config_finish(b, &cfg), FXB_ERR_CONFIG);
	CHECK_STR(err, "b.conf:3: key tick before any [section]");

	b = breaker_config_begin("b.conf", err, sizeof(err));
	CHECK(b != NULL);
	if (b == NULL)
		return;
	CHECK_INT(
	    breaker_config_section(b, BREAKER_SECTION_PAIR, "USD/KRW", 1),
	    FXB_OK);
	CHECK_INT(
	    breaker_config_section(b, BREAKER_SECTION_PAIR, "USD/KRW", 5),
	    FXB_OK);
	CHECK_INT(breaker_config_finish(b, &cfg), FXB_ERR_CONFIG);
	CHECK_STR(
	    err,
	    "b.conf:5: [pair USD/KRW] is defined twice (first on line 1)");
}

static const struct test tests[] = {
    {"builder", test_builder},
    {"service_only", test_service_only},
    {"overrides", test_overrides},
    {"good_config", test_good_config},
    {"errors", test_errors},
    {"kind_keys", test_kind_keys},
    {"long_line", test_long_line},
    {"minimal", test_minimal},
    {"velocity_zero", test_velocity_zero},
    {"whitespace", test_whitespace},
    {"durations", test_durations},
    {"clock_tolerance", test_clock_tolerance},
    {"service_access", test_service_access},
    {"section9_good", test_section9_good},
    {"section9_errors", test_section9_errors},
    {"cluster_good", test_cluster_good},
    {"cluster_errors", test_cluster_errors},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
