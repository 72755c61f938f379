/*
 * breaker_config.h: the engine's part of the configuration file (RULES.md
 * section 8): its sections, validated into plain data that breaker_new
 * consumes.
 *
 * The engine reads no file and no INI: config/ does, and hands over the
 * text of each key with its line, so that every error can say
 * "FILE:LINE: [section] key: what is wrong".  [service] is config/'s.
 */
#ifndef BREAKER_CONFIG_H
#define BREAKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker_calendar.h"
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
	/* Opening hours (RULES.md 9): open while calendar hours_calendar is
	 * in a session whose bit (s + 1; bit 0 = off) is set in hours_mask.
	 * hours_calendar -1: always open. */
	int32_t hours_calendar;
	uint64_t hours_mask;
	int line;
};

/* A rule's levels in one session (RULES.md 9), resolved: the suffixed
 * key if given, else the plain one. */
struct breaker_level {
	int64_t warn, trip;    /* volume */
	int64_t pct, max_move; /* velocity: as given (0 = not that way) */
	int64_t velocity;      /* velocity: V */
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
	/* Levels by session (RULES.md 9): calendar -1, levels NULL: none.
	 * Else levels[s + 1] for session s and levels[0] for off, each
	 * resolved against the plain keys above. */
	int32_t calendar;
	struct breaker_level *levels;
	int line;
};

struct breaker_notice_conf {
	char id[BREAKER_ID_MAX + 1];
	char ko[BREAKER_TEXT_MAX + 1];
	char en[BREAKER_TEXT_MAX + 1];
	int line;
};

struct breaker_config {
	struct breaker_pair_conf *pairs;
	size_t npairs;
	struct breaker_product_conf *products;
	size_t nproducts;
	struct breaker_rule_conf *rules;
	size_t nrules;
	struct breaker_notice_conf *notices;
	size_t nnotices;
	struct breaker_calendar_conf *calendars;
	size_t ncalendars;
};

/*
 * The builder: the sections and keys of a file arrive as text, in file
 * order, with their line numbers (config/ reads the INI and hands over
 * every section but [service]); breaker_config_finish then checks every
 * value and every reference, so sections may come in any order.
 *
 *	b = breaker_config_begin("fx.conf", err, sizeof(err));
 *	breaker_config_section(b, BREAKER_SECTION_PAIR, "USD/KRW", 7);
 *	breaker_config_set(b, "tick", "0.1", 8, NULL);
 *	...
 *	rc = breaker_config_finish(b, &cfg);
 *
 * Names, keys and values are not copied: they must stay until
 * breaker_config_finish returns.  Validation is complete: a config that
 * finishes is one the engine accepts.
 */
enum breaker_section {
	BREAKER_SECTION_PAIR,
	BREAKER_SECTION_PRODUCT,
	BREAKER_SECTION_RULE,
	BREAKER_SECTION_NOTICE,
	BREAKER_SECTION_CALENDAR,
};

struct breaker_config_builder;

/*
 * breaker_config_begin starts a config read from `filename` (used only in
 * messages).  err (errlen bytes) is where breaker_config_finish reports
 * the first problem, as "FILE:LINE: message"; it must stay until then.
 * NULL: out of memory.
 */
struct breaker_config_builder *breaker_config_begin(const char *filename,
                                                    char *err, size_t errlen);

/* breaker_config_section opens the section [TYPE name] whose header is on
 * `line`; the keys set next belong to it.  Errors: FXB_ERR_NOMEM. */
enum fxb_err breaker_config_section(struct breaker_config_builder *b,
                                    enum breaker_section type,
                                    const char *name, int line);

/*
 * breaker_config_set adds key = value, on `line`, to the section opened
 * last.  A key given twice is the reader's to refuse.  A key no section
 * reads is unknown: with seen NULL, breaker_config_finish refuses it;
 * otherwise *seen (false to begin with) is set when the key is read, and
 * the caller refuses the key if it is not, once finish has passed (the
 * reader does, so that a file is refused for its first unknown key,
 * whichever section holds it).  Errors: FXB_ERR_NOMEM, FXB_ERR_CONFIG (no
 * section opened yet: reported by breaker_config_finish).
 */
enum fxb_err breaker_config_set(struct breaker_config_builder *b,
                                const char *key, const char *value, int line,
                                bool *seen);

/*
 * breaker_config_finish checks the values and references of everything
 * handed over and frees b.  On success *out is a new config to free with
 * breaker_config_free.  Errors: FXB_ERR_CONFIG (the message in err),
 * FXB_ERR_NOMEM; either also when an earlier call of b failed so.
 */
enum fxb_err breaker_config_finish(struct breaker_config_builder *b,
                                   struct breaker_config **out);

/*
 * breaker_threshold reads one of a rule's trip levels -- the keys an
 * operator may change at run time -- as text in the config's notation
 * (BREAKER_DECIMAL_BUFSZ bytes; "none" for an unset warn) and as a number
 * (cmp) that grows as the rule loosens.  key may name a session's level
 * (RULES.md 9: "trip@night", "pct@off") on a rule that follows a
 * calendar: the level in force in that session, given or resolved from
 * the plain key.  false: key is not a trip level of this rule's kind, or
 * names a session its calendar has not.
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

/* breaker_duration_value reads a duration key as every section does (the
 * engine's and [service]): NULL with *out, or why it is refused, for the
 * caller's "FILE:LINE: [section] key: WHY (\"value\")".  positive: 0 is
 * refused too. */
const char *breaker_duration_value(const char *s, bool positive,
                                   fxb_time *out);

#endif /* BREAKER_CONFIG_H */
