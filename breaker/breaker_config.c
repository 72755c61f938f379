/*
 * breaker_config.c: the engine's sections of the configuration (RULES.md
 * section 8), handed over as text by config/ and validated completely into
 * struct breaker_config.  Rules are breaker_config_rule.c's.
 *
 * The builder keeps what it is given; breaker_config_finish checks every
 * value and every reference in dependency order (pairs, notices, products,
 * rules, exemptions), then refuses any key nobody read (or tells the
 * reader, which refuses it: breaker_config_set).  The first problem stops
 * it with "FILE:LINE: message".  This file reads no file: stdio.h is
 * here for snprintf alone, to word the messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_config.h"
#include "breaker_config_impl.h"
#include "breaker_decimal.h"
#include "breaker_impl.h"

#define MAX_DURATION_MS (30LL * 86400000LL) /* 30 days */

static void vfail(struct breaker_config_builder *b, int line, const char *fmt,
                  va_list ap) __attribute__((format(printf, 3, 0)));

static void
vfail(struct breaker_config_builder *b, int line, const char *fmt, va_list ap)
{
	if (b->failed)
		return;
	b->failed = true;
	int n = snprintf(b->err, b->errlen, "%s:%d: ", b->filename, line);
	if (n < 0 || (size_t)n >= b->errlen)
		return;
	vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
}

void
breaker_conf_fail(struct breaker_config_builder *b, int line, const char *fmt,
                  ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(b, line, fmt, ap);
	va_end(ap);
}

static const char *
sect_type_name(enum breaker_section t)
{
	static const char *const names[] = {"pair", "product", "rule",
	                                    "notice", "calendar"};
	return names[t];
}

const char *
breaker_conf_label(const struct conf_sect *s, char *buf)
{
	snprintf(buf, CONF_LABEL_MAX, "[%s %s]", sect_type_name(s->type),
	         s->name);
	return buf;
}

/* `what` is worded by fmt; the message names the key and quotes its value. */
void
breaker_conf_fail_kv(struct breaker_config_builder *b,
                     const struct conf_sect *s, const struct conf_kv *kv,
                     const char *fmt, ...)
{
	char lb[CONF_LABEL_MAX], what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	breaker_conf_fail(b, kv->line, "%s %s: %s (\"%s\")",
	                  breaker_conf_label(s, lb), kv->key, what, kv->val);
}

static bool
valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > BREAKER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* Product, rule and notice ids: the syntax of RULES.md section 2. */
bool
breaker_conf_check_id(struct breaker_config_builder *b,
                      const struct conf_sect *s)
{
	char lb[CONF_LABEL_MAX];
	if (valid_id(s->name))
		return true;
	breaker_conf_fail(b, s->line,
	                  "%s: an id is 1 to 64 of A-Z a-z 0-9 . _ : -",
	                  breaker_conf_label(s, lb));
	return false;
}

/* Copies a section's name into an id field (BREAKER_ID_MAX + 1 bytes),
 * cut if too long: breaker_conf_check_id refuses it then. */
void
breaker_conf_copy_id(char *dst, const char *name)
{
	size_t n = strnlen(name, BREAKER_ID_MAX);
	memcpy(dst, name, n);
	dst[n] = '\0';
}

/* ---- the builder ---- */

struct breaker_config_builder *
breaker_config_begin(const char *filename, char *err, size_t errlen)
{
	struct breaker_config_builder *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->filename = filename;
	b->err = err;
	b->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	return b;
}

enum fxb_err
breaker_config_section(struct breaker_config_builder *b,
                       enum breaker_section type, const char *name, int line)
{
	if (b->nomem)
		return FXB_ERR_NOMEM;
	if (b->nsects == b->capsects) {
		size_t ncap = b->capsects != 0 ? b->capsects * 2 : 16;
		struct conf_sect *v = realloc(b->sects, ncap * sizeof(*v));
		if (v == NULL) {
			b->nomem = true;
			return FXB_ERR_NOMEM;
		}
		b->sects = v;
		b->capsects = ncap;
	}
	struct conf_sect *s = &b->sects[b->nsects++];
	memset(s, 0, sizeof(*s));
	s->first = b->nkvs;
	s->type = type;
	s->name = name;
	s->line = line;
	return FXB_OK;
}

enum fxb_err
breaker_config_set(struct breaker_config_builder *b, const char *key,
                   const char *value, int line, bool *seen)
{
	if (b->nomem)
		return FXB_ERR_NOMEM;
	if (b->nsects == 0) {
		/* The reader refuses this first, in the same words. */
		breaker_conf_fail(b, line, "key %s before any [section]", key);
		return FXB_ERR_CONFIG;
	}
	if (b->nkvs == b->capkvs) {
		size_t ncap = b->capkvs != 0 ? b->capkvs * 2 : 64;
		struct conf_kv *v = realloc(b->kvs, ncap * sizeof(*v));
		if (v == NULL) {
			b->nomem = true;
			return FXB_ERR_NOMEM;
		}
		b->kvs = v;
		b->capkvs = ncap;
	}
	b->kvs[b->nkvs++] = (struct conf_kv){
	    .key = key, .val = value, .line = line, .seen = seen};
	b->sects[b->nsects - 1].nkv++;
	return FXB_OK;
}

/* ---- values ---- */

void
breaker_conf_use(struct conf_kv *kv)
{
	kv->used = true;
	if (kv->seen != NULL)
		*kv->seen = true;
}

struct conf_kv *
breaker_conf_get(struct conf_sect *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			breaker_conf_use(&s->kv[i]);
			return &s->kv[i];
		}
	return NULL;
}

struct conf_kv *
breaker_conf_need(struct breaker_config_builder *b, struct conf_sect *s,
                  const char *key)
{
	struct conf_kv *kv = breaker_conf_get(s, key);
	char lb[CONF_LABEL_MAX];
	if (kv == NULL)
		breaker_conf_fail(b, s->line, "%s %s: required key missing",
		                  breaker_conf_label(s, lb), key);
	return kv;
}

enum fxb_err
breaker_duration_parse(const char *s, size_t len, fxb_time *out)
{
	size_t i = 0;
	int64_t v = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, s[i] - '0', &v))
			return FXB_ERR_RANGE;
		i++;
	}
	if (i == 0)
		return FXB_ERR_SYNTAX;
	/* RULES 4.1 writes "suspend_for (0 = until an operator resets)":
	 * zero needs no unit. */
	if (i == len && v == 0) {
		*out = 0;
		return FXB_OK;
	}
	int64_t mult;
	size_t ulen = len - i;
	const char *u = s + i;
	if (ulen == 2 && memcmp(u, "ms", 2) == 0)
		mult = 1;
	else if (ulen == 1 && u[0] == 's')
		mult = 1000;
	else if (ulen == 1 && u[0] == 'm')
		mult = 60000;
	else if (ulen == 1 && u[0] == 'h')
		mult = 3600000;
	else
		return FXB_ERR_SYNTAX;
	if (__builtin_mul_overflow(v, mult, &v) || v > MAX_DURATION_MS)
		return FXB_ERR_RANGE;
	*out = v;
	return FXB_OK;
}

const char *
breaker_duration_value(const char *s, bool positive, fxb_time *out)
{
	enum fxb_err e = breaker_duration_parse(s, strlen(s), out);
	if (e == FXB_ERR_SYNTAX)
		return "not a duration (an integer and ms, s, m or h: "
		       "\"300s\")";
	if (e != FXB_OK)
		return "duration longer than 30 days";
	if (positive && *out == 0)
		return "must be greater than zero";
	return NULL;
}

bool
breaker_conf_duration(struct breaker_config_builder *b, struct conf_sect *s,
                      struct conf_kv *kv, bool positive, fxb_time *out)
{
	const char *why = breaker_duration_value(kv->val, positive, out);
	if (why != NULL)
		breaker_conf_fail_kv(b, s, kv, "%s", why);
	return why == NULL;
}

/*
 * Reports a decimal parse error: `what` names the value ("price"), `rule`
 * says what a good one looks like ("at most 8 fractional digits").
 */
bool
breaker_conf_decimal_err(struct breaker_config_builder *b, struct conf_sect *s,
                         struct conf_kv *kv, enum fxb_err e, const char *what,
                         const char *rule)
{
	char msg[160];
	switch (e) {
	case FXB_OK:
		return true;
	case FXB_ERR_PRECISION:
		snprintf(msg, sizeof(msg),
		         "%s has too many fractional digits (%s)", what, rule);
		break;
	case FXB_ERR_RANGE:
		snprintf(msg, sizeof(msg), "%s out of range (%s)", what, rule);
		break;
	default:
		snprintf(msg, sizeof(msg), "not %s %s (digits[.digits], %s)",
		         strchr("aeiou", what[0]) != NULL ? "an" : "a", what,
		         rule);
		break;
	}
	breaker_conf_fail_kv(b, s, kv, "%s", msg);
	return false;
}

bool
breaker_conf_price(struct breaker_config_builder *b, struct conf_sect *s,
                   struct conf_kv *kv, int64_t *out)
{
	return breaker_conf_decimal_err(
	    b, s, kv, breaker_px_parse(kv->val, strlen(kv->val), out), "price",
	    "above 0, at most 8 fractional digits");
}

bool
breaker_conf_pct(struct breaker_config_builder *b, struct conf_sect *s,
                 struct conf_kv *kv, int64_t *out)
{
	if (!breaker_conf_decimal_err(
	        b, s, kv, breaker_pct_parse(kv->val, strlen(kv->val), out),
	        "percentage", "0 to 100, at most 4 fractional digits"))
		return false;
	if (*out == 0) {
		breaker_conf_fail_kv(b, s, kv, "must be greater than zero");
		return false;
	}
	return true;
}

bool
breaker_conf_int(struct breaker_config_builder *b, struct conf_sect *s,
                 struct conf_kv *kv, int64_t min, int64_t max, int64_t *out)
{
	int64_t v;
	enum fxb_err e =
	    breaker_decimal_parse(kv->val, strlen(kv->val), 0, 0, &v);
	if (!breaker_conf_decimal_err(b, s, kv, e, "whole number",
	                              "digits only"))
		return false;
	if (v < min || v > max) {
		char msg[96];
		snprintf(msg, sizeof(msg), "must be from %lld to %lld",
		         (long long)min, (long long)max);
		breaker_conf_fail_kv(b, s, kv, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

static bool
val_text(struct breaker_config_builder *b, struct conf_sect *s,
         struct conf_kv *kv, char *dst, size_t cap)
{
	size_t n = strlen(kv->val);
	if (n >= cap) {
		char msg[64];
		snprintf(msg, sizeof(msg), "longer than %zu bytes", cap - 1);
		breaker_conf_fail_kv(b, s, kv, "%s", msg);
		return false;
	}
	memcpy(dst, kv->val, n + 1);
	return true;
}

/* Looks a key up in a table of words; reports the choices otherwise. */
bool
breaker_conf_word(struct breaker_config_builder *b, struct conf_sect *s,
                  struct conf_kv *kv, const char *const *words, size_t nwords,
                  const char *choices, int *out)
{
	for (size_t i = 0; i < nwords; i++)
		if (strcmp(kv->val, words[i]) == 0) {
			*out = (int)i;
			return true;
		}
	char msg[128];
	snprintf(msg, sizeof(msg), "must be one of %s", choices);
	breaker_conf_fail_kv(b, s, kv, "%s", msg);
	return false;
}

/* The index of the section [type name] among its type, or -1. */
int32_t
breaker_conf_find(const struct breaker_config_builder *b,
                  enum breaker_section type, const char *name)
{
	return breaker_index_find(&b->ix[type], name, strlen(name));
}

/* Indexes the sections of each type by name; refuses a name used twice
 * (config/ refuses it first, with the same words: this is for any other
 * caller of the builder). */
static bool
index_sections(struct breaker_config_builder *b)
{
	for (size_t i = 0; i < b->nsects; i++)
		b->count[b->sects[i].type]++;
	for (int t = 0; t < BREAKER_SECTION_TYPES; t++) {
		b->names[t] = calloc(b->count[t] + 1, sizeof(char *));
		b->where[t] = calloc(b->count[t] + 1, sizeof(size_t));
		if (b->names[t] == NULL || b->where[t] == NULL) {
			b->nomem = b->failed = true;
			return false;
		}
		b->count[t] = 0;
	}
	for (size_t i = 0; i < b->nsects; i++) {
		enum breaker_section t = b->sects[i].type;
		b->where[t][b->count[t]] = i;
		b->names[t][b->count[t]++] = b->sects[i].name;
	}
	for (int t = 0; t < BREAKER_SECTION_TYPES; t++) {
		int32_t dup = -1;
		int rc = breaker_index_build(&b->ix[t], b->names[t],
		                             (uint32_t)b->count[t], &dup);
		if (rc < 0) {
			b->nomem = b->failed = true;
			return false;
		}
		if (rc > 0) {
			const struct conf_sect *s =
			    &b->sects[b->where[t][dup]];
			const struct conf_sect *first =
			    &b->sects[b->where[t][breaker_conf_find(
			        b, (enum breaker_section)t, s->name)]];
			char lb[CONF_LABEL_MAX];
			breaker_conf_fail(
			    b, s->line,
			    "%s is defined twice (first on line %d)",
			    breaker_conf_label(s, lb), first->line);
			return false;
		}
	}
	return true;
}

static bool
build_pair(struct breaker_config_builder *b, struct conf_sect *s,
           struct breaker_pair_conf *pc)
{
	const char *n = s->name;
	pc->line = s->line;
	if (strlen(n) != 7 || n[3] != '/' ||
	    (pc->base_exponent = breaker_currency_exponent(n, 3)) < 0 ||
	    (pc->quote_exponent = breaker_currency_exponent(n + 4, 3)) < 0 ||
	    memcmp(n, n + 4, 3) == 0) {
		breaker_conf_fail(
		    b, s->line,
		    "[pair %s]: a pair is BASE/QUOTE, two different ISO "
		    "4217 codes (\"USD/KRW\")",
		    n);
		return false;
	}
	memcpy(pc->name, n, 8);
	struct conf_kv *kv = breaker_conf_get(s, "tick");
	return kv == NULL || breaker_conf_price(b, s, kv, &pc->tick);
}

/* The item of a comma list that starts at p, blanks around it dropped:
 * *item and *n; returns where it ends (its comma, or the end). */
static const char *
list_item(const char *p, const char **item, size_t *n)
{
	while (*p == ' ' || *p == '\t')
		p++;
	const char *e = p;
	while (*e != '\0' && *e != ',')
		e++;
	const char *end = e;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*item = p;
	*n = (size_t)(end - p);
	return e;
}

bool
breaker_conf_session(struct breaker_config_builder *b, struct conf_sect *s,
                     struct conf_kv *kv, int32_t cal, const char *name,
                     size_t len, int *out)
{
	const struct breaker_calendar_conf *cc = &b->cfg->calendars[cal];
	int k = breaker_calendar_session_find(cc, name, len);
	if (k >= BREAKER_SESSION_OFF) {
		*out = k;
		return true;
	}
	breaker_conf_fail_kv(b, s, kv, "[calendar %s] has no session %.*s",
	                     cc->id, (int)(len > 64 ? 64 : len), name);
	return false;
}

/* hours = CAL:SESSION[,SESSION...]: the sessions a product is open in. */
static bool
val_hours(struct breaker_config_builder *b, struct conf_sect *s,
          struct conf_kv *kv, struct breaker_product_conf *pc)
{
	static const char use[] = "CALENDAR:SESSION[,SESSION...]";
	const char *colon = strchr(kv->val, ':');
	char id[BREAKER_ID_MAX + 1];
	size_t idlen = colon != NULL ? (size_t)(colon - kv->val) : 0;

	if (colon == NULL || idlen == 0 || idlen > BREAKER_ID_MAX) {
		breaker_conf_fail_kv(b, s, kv, "expected %s", use);
		return false;
	}
	memcpy(id, kv->val, idlen);
	id[idlen] = '\0';
	if ((pc->hours_calendar =
	         breaker_conf_find(b, BREAKER_SECTION_CALENDAR, id)) < 0) {
		breaker_conf_fail_kv(b, s, kv, "no such [calendar %s]", id);
		return false;
	}
	for (const char *p = colon + 1;;) {
		const char *item;
		size_t n;
		const char *e = list_item(p, &item, &n);
		int k;
		if (n == 0) {
			breaker_conf_fail_kv(b, s, kv, "expected %s", use);
			return false;
		}
		if (!breaker_conf_session(b, s, kv, pc->hours_calendar, item,
		                          n, &k))
			return false;
		uint64_t bit = UINT64_C(1) << (k + 1);
		if (pc->hours_mask & bit) {
			breaker_conf_fail_kv(b, s, kv,
			                     "session %.*s is listed twice",
			                     (int)n, item);
			return false;
		}
		pc->hours_mask |= bit;
		if (*e == '\0')
			break;
		p = e + 1;
	}
	return true;
}

/* [calendar ID] (RULES.md 9): utc_offset, session.NAME = DAYS HH:MM-HH:MM
 * (one or more), holidays. */
static bool
build_calendar(struct breaker_config_builder *b, struct conf_sect *s,
               struct breaker_calendar_conf *cc)
{
	struct conf_kv *kv;
	const char *why;
	char msg[256];
	int x, y;

	breaker_conf_copy_id(cc->id, s->name);
	cc->line = s->line;
	if (!breaker_conf_check_id(b, s))
		return false;
	/* hours = CAL:SESSION splits at the first colon. */
	if (strchr(s->name, ':') != NULL) {
		breaker_conf_fail(b, s->line,
		                  "[calendar %s]: a calendar id has no \":\" "
		                  "(hours = ID:SESSION names it)",
		                  s->name);
		return false;
	}
	if ((kv = breaker_conf_need(b, s, "utc_offset")) == NULL)
		return false;
	if ((why = breaker_calendar_parse_offset(
	         kv->val, &cc->utc_offset_min)) != NULL) {
		breaker_conf_fail_kv(b, s, kv, "%s", why);
		return false;
	}
	if ((kv = breaker_conf_get(s, "holidays")) != NULL &&
	    (why = breaker_calendar_parse_holidays(kv->val, &cc->holidays,
	                                           &cc->nholidays)) != NULL) {
		breaker_conf_fail_kv(b, s, kv, "%s", why);
		return false;
	}
	size_t n = 0;
	for (size_t i = 0; i < s->nkv; i++)
		n += strncmp(s->kv[i].key, "session.", 8) == 0;
	if (n == 0) {
		breaker_conf_fail(b, s->line,
		                  "[calendar %s]: give at least one "
		                  "session.NAME = DAYS HH:MM-HH:MM",
		                  s->name);
		return false;
	}
	if (n > BREAKER_CAL_SESSIONS_MAX) {
		breaker_conf_fail(b, s->line,
		                  "[calendar %s]: at most %d sessions",
		                  s->name, BREAKER_CAL_SESSIONS_MAX);
		return false;
	}
	if ((cc->sessions = calloc(n, sizeof(*cc->sessions))) == NULL) {
		b->nomem = b->failed = true;
		return false;
	}
	for (size_t i = 0; i < s->nkv; i++) {
		kv = &s->kv[i];
		if (strncmp(kv->key, "session.", 8) != 0)
			continue;
		breaker_conf_use(kv);
		struct breaker_session_conf *sc = &cc->sessions[cc->nsessions];
		const char *name = kv->key + 8;
		if (!valid_id(name) || strcmp(name, "off") == 0) {
			breaker_conf_fail_kv(
			    b, s, kv,
			    "a session name is 1 to 64 of A-Z a-z 0-9 . _ : - "
			    "and not \"off\" (the calendar's name for no "
			    "session)");
			return false;
		}
		memcpy(sc->name, name, strlen(name) + 1);
		sc->line = kv->line;
		if ((why = breaker_calendar_parse_session(kv->val, sc)) !=
		    NULL) {
			breaker_conf_fail_kv(b, s, kv, "%s", why);
			return false;
		}
		for (size_t k = 0; k < cc->nsessions; k++)
			if (strcmp(cc->sessions[k].name, sc->name) == 0) {
				breaker_conf_fail_kv(
				    b, s, kv, "session %s is given twice",
				    sc->name);
				return false;
			}
		cc->nsessions++;
	}
	if ((why = breaker_calendar_finish(cc, &x, &y, msg, sizeof(msg))) !=
	    NULL) {
		if (x >= 0 && y >= 0 && (size_t)y < cc->nsessions)
			breaker_conf_fail(b, cc->sessions[y].line,
			                  "[calendar %s] session.%s: %s",
			                  cc->id, cc->sessions[y].name, why);
		else
			breaker_conf_fail(b, s->line, "[calendar %s]: %s",
			                  cc->id, why);
		return false;
	}
	return true;
}

static bool
build_product(struct breaker_config_builder *b, struct conf_sect *s,
              struct breaker_product_conf *pc)
{
	struct conf_kv *kv;
	int w;

	breaker_conf_copy_id(pc->id, s->name);
	pc->line = s->line;
	if (!breaker_conf_check_id(b, s))
		return false;
	if ((kv = breaker_conf_need(b, s, "pair")) == NULL)
		return false;
	if ((pc->pair = breaker_conf_find(b, BREAKER_SECTION_PAIR, kv->val)) <
	    0) {
		breaker_conf_fail_kv(b, s, kv, "no such [pair]");
		return false;
	}
	if ((kv = breaker_conf_get(s, "side")) != NULL) {
		static const char *const sides[] = {"any", "buy", "sell"};
		if (!breaker_conf_word(b, s, kv, sides, 3, "buy, sell, any",
		                       &w))
			return false;
		pc->side = (enum breaker_side)w;
	}
	if ((kv = breaker_conf_get(s, "channel")) != NULL &&
	    !val_text(b, s, kv, pc->channel, sizeof(pc->channel)))
		return false;
	pc->hours_calendar = -1;
	if ((kv = breaker_conf_get(s, "hours")) != NULL &&
	    !val_hours(b, s, kv, pc))
		return false;
	return true;
}

/* Exemptions name rules, so they are resolved once rules are built. */
static bool
build_exempt(struct breaker_config_builder *b, struct conf_sect *s,
             struct breaker_product_conf *pc)
{
	struct conf_kv *kv = breaker_conf_get(s, "exempt");
	if (kv == NULL)
		return true;
	if (kv->val[0] == '\0') {
		breaker_conf_fail_kv(b, s, kv,
		                     "a comma-separated list of rule ids");
		return false;
	}
	const char *p = kv->val;
	size_t cap = 1;
	for (const char *q = p; *q != '\0'; q++)
		cap += *q == ',';
	pc->exempt = calloc(cap, sizeof(int32_t));
	if (pc->exempt == NULL) {
		b->nomem = b->failed = true;
		return false;
	}
	while (*p != '\0') {
		const char *item;
		size_t n;
		const char *e = list_item(p, &item, &n);
		char id[BREAKER_ID_MAX + 1];
		if (n == 0 || n > BREAKER_ID_MAX) {
			breaker_conf_fail_kv(
			    b, s, kv, "a comma-separated list of rule ids");
			return false;
		}
		memcpy(id, item, n);
		id[n] = '\0';
		int32_t ri = breaker_conf_find(b, BREAKER_SECTION_RULE, id);
		if (ri < 0) {
			char msg[128];
			snprintf(msg, sizeof(msg), "no such [rule %s]", id);
			breaker_conf_fail_kv(b, s, kv, "%s", msg);
			return false;
		}
		const struct breaker_rule_conf *rc = &b->cfg->rules[ri];
		if (!rc->on_pair || rc->owner != pc->pair) {
			char msg[160];
			snprintf(msg, sizeof(msg),
			         "rule %s is not a rule on this product's "
			         "pair",
			         id);
			breaker_conf_fail_kv(b, s, kv, "%s", msg);
			return false;
		}
		for (size_t k = 0; k < pc->nexempt; k++)
			if (pc->exempt[k] == ri) {
				char msg[128];
				snprintf(msg, sizeof(msg),
				         "rule %s is listed twice", id);
				breaker_conf_fail_kv(b, s, kv, "%s", msg);
				return false;
			}
		pc->exempt[pc->nexempt++] = ri;
		p = *e == ',' ? e + 1 : e;
		if (*e == ',' && *p == '\0') {
			breaker_conf_fail_kv(b, s, kv,
			                     "a comma-separated list of rule "
			                     "ids");
			return false;
		}
	}
	return true;
}

/* A notice template: text with {product}, {start}, {until} and {reason}
 * placeholders (daemon/notice.c renders them); any other {...} is a typo
 * that customers would see, so it is refused. */
static bool
val_template(struct breaker_config_builder *b, struct conf_sect *s,
             struct conf_kv *kv, char *dst, size_t cap)
{
	static const char *const names[] = {"{product}", "{start}", "{until}",
	                                    "{reason}"};
	for (const char *p = strchr(kv->val, '{'); p != NULL;
	     p = strchr(p + 1, '{')) {
		size_t i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			breaker_conf_fail_kv(
			    b, s, kv,
			    "unknown placeholder (use {product}, {start}, "
			    "{until}, {reason})");
			return false;
		}
	}
	return val_text(b, s, kv, dst, cap);
}

static bool
build_notice(struct breaker_config_builder *b, struct conf_sect *s,
             struct breaker_notice_conf *nc)
{
	struct conf_kv *kv;
	breaker_conf_copy_id(nc->id, s->name);
	nc->line = s->line;
	if (!breaker_conf_check_id(b, s))
		return false;
	return (kv = breaker_conf_need(b, s, "ko")) != NULL &&
	       val_template(b, s, kv, nc->ko, sizeof(nc->ko)) &&
	       (kv = breaker_conf_need(b, s, "en")) != NULL &&
	       val_template(b, s, kv, nc->en, sizeof(nc->en));
}

static bool
build(struct breaker_config_builder *b)
{
	struct breaker_config *cfg = b->cfg;
	size_t *n = b->count;

	cfg->pairs = calloc(n[BREAKER_SECTION_PAIR] + 1, sizeof(*cfg->pairs));
	cfg->products =
	    calloc(n[BREAKER_SECTION_PRODUCT] + 1, sizeof(*cfg->products));
	cfg->rules = calloc(n[BREAKER_SECTION_RULE] + 1, sizeof(*cfg->rules));
	cfg->notices =
	    calloc(n[BREAKER_SECTION_NOTICE] + 1, sizeof(*cfg->notices));
	cfg->calendars =
	    calloc(n[BREAKER_SECTION_CALENDAR] + 1, sizeof(*cfg->calendars));
	if (cfg->pairs == NULL || cfg->products == NULL ||
	    cfg->rules == NULL || cfg->notices == NULL ||
	    cfg->calendars == NULL) {
		b->nomem = b->failed = true;
		return false;
	}
	/* Dependency order: pairs, notices, calendars, products, rules,
	 * exemptions. */
	static const enum breaker_section order[] = {
	    BREAKER_SECTION_PAIR, BREAKER_SECTION_NOTICE,
	    BREAKER_SECTION_CALENDAR, BREAKER_SECTION_PRODUCT,
	    BREAKER_SECTION_RULE};
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (size_t i = 0; i < b->nsects; i++) {
			struct conf_sect *s = &b->sects[i];
			bool ok = true;
			if (s->type != order[o])
				continue;
			switch (s->type) {
			case BREAKER_SECTION_PAIR:
				ok = build_pair(b, s,
				                &cfg->pairs[cfg->npairs++]);
				break;
			case BREAKER_SECTION_NOTICE:
				ok = build_notice(
				    b, s, &cfg->notices[cfg->nnotices++]);
				break;
			case BREAKER_SECTION_PRODUCT:
				ok = build_product(
				    b, s, &cfg->products[cfg->nproducts++]);
				break;
			case BREAKER_SECTION_RULE:
				ok = breaker_conf_rule(
				    b, s, &cfg->rules[cfg->nrules++]);
				break;
			case BREAKER_SECTION_CALENDAR:
				ok = build_calendar(
				    b, s, &cfg->calendars[cfg->ncalendars++]);
				break;
			}
			if (!ok)
				return false;
		}
	}
	size_t pi = 0;
	for (size_t i = 0; i < b->nsects; i++)
		if (b->sects[i].type == BREAKER_SECTION_PRODUCT &&
		    !build_exempt(b, &b->sects[i], &cfg->products[pi++]))
			return false;
	/* Any key nobody read is unknown (the caller's to say, for a key
	 * it gave a flag with). */
	for (size_t i = 0; i < b->nsects; i++) {
		struct conf_sect *s = &b->sects[i];
		for (size_t k = 0; k < s->nkv; k++)
			if (!s->kv[k].used && s->kv[k].seen == NULL) {
				breaker_conf_fail_kv(
				    b, s, &s->kv[k],
				    "unknown key in this section");
				return false;
			}
	}
	return true;
}

enum fxb_err
breaker_config_finish(struct breaker_config_builder *b,
                      struct breaker_config **out)
{
	enum fxb_err rc = FXB_ERR_CONFIG;

	if (!b->nomem && (b->cfg = calloc(1, sizeof(*b->cfg))) == NULL)
		b->nomem = true;
	for (size_t i = 0; i < b->nsects; i++)
		b->sects[i].kv =
		    b->kvs != NULL ? b->kvs + b->sects[i].first : NULL;
	if (!b->nomem && !b->failed && index_sections(b))
		build(b);
	if (b->nomem)
		rc = FXB_ERR_NOMEM;
	else if (!b->failed)
		rc = FXB_OK;
	free(b->kvs);
	free(b->sects);
	for (int t = 0; t < BREAKER_SECTION_TYPES; t++) {
		free(b->names[t]);
		free(b->where[t]);
		breaker_index_fini(&b->ix[t]);
	}
	if (rc == FXB_OK)
		*out = b->cfg;
	else
		breaker_config_free(b->cfg);
	free(b);
	return rc;
}

void
breaker_config_free(struct breaker_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nproducts; i++)
		free(cfg->products[i].exempt);
	for (size_t i = 0; i < cfg->nrules; i++)
		free(cfg->rules[i].levels);
	for (size_t i = 0; i < cfg->ncalendars; i++) {
		free(cfg->calendars[i].sessions);
		breaker_calendar_fini(&cfg->calendars[i]);
	}
	free(cfg->calendars);
	free(cfg->pairs);
	free(cfg->products);
	free(cfg->rules);
	free(cfg->notices);
	free(cfg);
}
