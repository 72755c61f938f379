/*
 * breaker_config.h: the configuration file (RULES.md section 8), parsed and
 * validated into plain data that breaker_new consumes.
 *
 * The parser reads text, not files: the caller reads the file and names it,
 * so that every error can say "FILE:LINE: [section] key: what is wrong".
 * Validation is complete: a config that parses is one the engine accepts.
 */
#ifndef BREAKER_CONFIG_H
#define BREAKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fxb.h"

#define BREAKER_ID_MAX   64   /* product, rule and notice ids */
#define BREAKER_PAIR_MAX 7    /* "USD/KRW" */
#define BREAKER_TEXT_MAX 1024 /* notice templates, paths, urls */

enum breaker_kind {
	BREAKER_VOLUME = 1,
	BREAKER_BAND,
	BREAKER_VELOCITY,
	BREAKER_DEVIATION,
	BREAKER_STALE,
	BREAKER_SPREAD,
	BREAKER_THROTTLE,
};

enum breaker_side {
	BREAKER_SIDE_ANY = 0,
	BREAKER_SIDE_BUY,
	BREAKER_SIDE_SELL,
};

enum breaker_suspends {
	BREAKER_SUSPENDS_BOTH = 0,
	BREAKER_SUSPENDS_BUY,
	BREAKER_SUSPENDS_SELL,
	BREAKER_SUSPENDS_WITH_MOVE,
};

enum breaker_measure {
	BREAKER_MEASURE_COUNT = 0,
	BREAKER_MEASURE_NOTIONAL,
};

struct breaker_pair_conf {
	char name[BREAKER_PAIR_MAX + 1];
	int base_exponent; /* ISO 4217 minor units of the base currency */
	int quote_exponent;
	int64_t tick; /* 10^-9 units; 0 = no tick size */
	int line;
};

struct breaker_product_conf {
	char id[BREAKER_ID_MAX + 1];
	int32_t pair; /* index into pairs */
	enum breaker_side side;
	char channel[BREAKER_ID_MAX + 1];
	int32_t *exempt; /* indexes into rules */
	size_t nexempt;
	int line;
};

struct breaker_rule_conf {
	char id[BREAKER_ID_MAX + 1];
	enum breaker_kind kind;
	bool shadow;
	bool on_pair;  /* watches a pair's ticks */
	int32_t owner; /* pair or product index */
	enum breaker_suspends suspends;
	int32_t notice; /* index into notices, or -1 */
	/* Parameters; which are set depends on kind (RULES.md section 4).
	 * Durations in ms, prices in 10^-9 units, percentages in 10^-4 %. */
	fxb_time window, suspend_for, ref_min_life, limit_for, hold, max_age;
	int64_t warn, trip; /* volume; warn 0 = none */
	enum breaker_measure measure;
	int32_t max_auto_resumes; /* -1 = unlimited */
	int64_t band_pct, ref_move_pct, pct, max_spread_pct;
	int64_t base, max_move;
	int64_t velocity;    /* V: max_move, or base x pct / 100 rounded down
	                        to the pair's tick */
	int64_t rate, burst; /* throttle: tokens per second, bucket */
	int line;
};

struct breaker_notice_conf {
	char id[BREAKER_ID_MAX + 1];
	char ko[BREAKER_TEXT_MAX + 1];
	char en[BREAKER_TEXT_MAX + 1];
	int line;
};

struct breaker_service_conf {
	char data_dir[BREAKER_TEXT_MAX + 1];
	char check_url[BREAKER_TEXT_MAX + 1];
	char tick_url[BREAKER_TEXT_MAX + 1];
	char admin_url[BREAKER_TEXT_MAX + 1];
	char events_url[BREAKER_TEXT_MAX + 1];
	char service_id[BREAKER_ID_MAX + 1];
	/* "": DATA_DIR/checkpoints */
	char checkpoint_dir[BREAKER_TEXT_MAX + 1];
	/* "": no operators (every command is refused) */
	char operators_file[BREAKER_TEXT_MAX + 1];
	int notice_tz_min; /* notice_utc_offset: minutes east of UTC */
	/* clock_step_tolerance: a wall clock step larger than this is
	 * logged (docs/OPERATIONS.md, "The clock"); default 1 s. */
	fxb_time clock_step_tolerance;
	/* watchdog_interval: how often the daemon pings its own check
	 * socket; 0 turns the watchdog off.  Default 5 s. */
	fxb_time watchdog_interval;
};

struct breaker_config {
	struct breaker_service_conf service;
	struct breaker_pair_conf *pairs;
	size_t npairs;
	struct breaker_product_conf *products;
	size_t nproducts;
	struct breaker_rule_conf *rules;
	size_t nrules;
	struct breaker_notice_conf *notices;
	size_t nnotices;
};

/*
 * breaker_config_parse parses and validates INI text (text[0..len), need
 * not be NUL-terminated) read from `filename` (used only in messages).
 * On success *out is a new config to free with breaker_config_free.  On
 * FXB_ERR_CONFIG, err (errlen bytes) holds "FILE:LINE: message" for the
 * first problem found.  Errors: FXB_ERR_CONFIG, FXB_ERR_NOMEM.
 */
enum fxb_err breaker_config_parse(const char *text, size_t len,
                                  const char *filename,
                                  struct breaker_config **out, char *err,
                                  size_t errlen);

/* A threshold change (or, with notice, a notice's text) laid over the
 * file's value (docs/PROTOCOL.md, "threshold" and "notice"). */
struct breaker_override {
	const char *rule, *key, *value; /* rule: the [notice] id if notice */
	bool notice;
};

/* breaker_config_parse_over is breaker_config_parse with nov threshold
 * changes laid over the text, each checked as if the file said it. */
enum fxb_err breaker_config_parse_over(const char *text, size_t len,
                                       const char *filename,
                                       const struct breaker_override *ov,
                                       size_t nov, struct breaker_config **out,
                                       char *err, size_t errlen);

/*
 * breaker_config_parse_service reads only the [service] sections of the
 * text, exactly as breaker_config_parse does (the same code), and skips
 * every other section unread: a typo in a rule cannot fail it.  What
 * still fails it: a bad [service] (its keys, values, a line inih cannot
 * read inside it, [service] twice), and no [service] at all (it may be
 * misspelt: the defaults would be a guess).  *out has the service and no
 * pairs, products, rules or notices.  Errors as breaker_config_parse.
 */
enum fxb_err breaker_config_parse_service(const char *text, size_t len,
                                          const char *filename,
                                          struct breaker_config **out,
                                          char *err, size_t errlen);

/*
 * breaker_threshold reads one of a rule's trip levels -- the keys an
 * operator may change at run time -- as text in the config's notation
 * (BREAKER_DECIMAL_BUFSZ bytes; "none" for an unset warn) and as a number
 * (cmp) that grows as the rule loosens.  false: key is not a trip level
 * of this rule's kind.
 */
bool breaker_threshold(const struct breaker_config *cfg,
                       const struct breaker_rule_conf *rc, const char *key,
                       int64_t *cmp, char *text);

/* breaker_config_free frees a config; NULL is a no-op. */
void breaker_config_free(struct breaker_config *cfg);

/* breaker_kind_name returns "volume", "band", ... or "forced" for 0. */
const char *breaker_kind_name(enum breaker_kind kind);

/* breaker_duration_parse parses "300s", "15s", "500ms", "5m", "1h" into ms
 * (a non-negative integer and a unit).  Errors: FXB_ERR_SYNTAX,
 * FXB_ERR_RANGE. */
enum fxb_err breaker_duration_parse(const char *s, size_t len, fxb_time *out);

#endif /* BREAKER_CONFIG_H */
