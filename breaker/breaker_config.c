/*
 * breaker_config.c: the INI configuration (RULES.md section 8), read with
 * Debian's libinih and validated completely into struct breaker_config.
 *
 * Two passes.  The first collects sections and keys with their line numbers
 * (inih does the lexing; our line reader counts lines, catches over-long
 * lines and section headers, and tells continuation lines apart).  The
 * second checks every value and every reference, so sections may come in
 * any order.  The first problem stops the parse with "FILE:LINE: message".
 *
 * A service-only read (breaker_config_parse_service) is the same parse
 * with every section but [service] blanked out on the way to inih: what
 * fxbreakerctl needs to reach a daemon whose file has a typo elsewhere.
 */
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker_config.h"
#include "breaker_decimal.h"
#include "breaker_impl.h"

#define MAX_DURATION_MS      (30LL * 86400000LL) /* 30 days */
#define VOLUME_WINDOW_MAX_MS 3600000LL           /* 1 h: bounds the ring */
#define MAX_AUTO_RESUMES_MAX 1000

enum sect_type {
	SECT_SERVICE,
	SECT_PAIR,
	SECT_PRODUCT,
	SECT_RULE,
	SECT_NOTICE
};

struct kv {
	char *key;
	char *val;
	int line;
	bool used;
};

struct sect {
	enum sect_type type;
	char header[INI_MAX_LINE]; /* the text between the brackets */
	char name[BREAKER_ID_MAX + 1];
	int line;
	struct kv *kv;
	size_t nkv, capkv;
};

struct parse {
	const char *filename;
	const char *text;
	size_t len, pos;
	int line;          /* line number of the line last read */
	bool continuation; /* that line continues the previous key */
	bool prev_key;     /* a key was read since the last header */
	const char *raw;   /* the line last read, as in the file */
	size_t rawlen;
	struct sect *sects;
	size_t nsects, capsects;
	char *err;
	size_t errlen;
	bool failed;
	bool nomem;
	/* A service-only read, and whether the lines being read belong to
	 * a section other than [service] (handed to inih as blank). */
	bool service_only, skipping;
	struct breaker_config *cfg;
	/* Per section type: names in file order, their section positions,
	 * and a hash over them (built after the first pass). */
	const char **names[5];
	size_t *where[5];
	size_t count[5];
	struct name_index ix[5];
};

static void fail(struct parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct parse *ps, int line, const char *fmt, ...)
{
	if (ps->failed)
		return;
	ps->failed = true;
	int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->filename, line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static const char *
sect_type_name(enum sect_type t)
{
	static const char *const names[] = {"service", "pair", "product",
	                                    "rule", "notice"};
	return names[t];
}

/* "[type name]" (or "[service]") for messages. */
#define LABEL_MAX (BREAKER_ID_MAX + 16)
static const char *
sect_label(const struct sect *s, char *buf)
{
	snprintf(buf, LABEL_MAX, "[%s%s%s]", sect_type_name(s->type),
	         s->name[0] != '\0' ? " " : "", s->name);
	return buf;
}

static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
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
static bool
check_id(struct parse *ps, const struct sect *s)
{
	char lb[LABEL_MAX];
	if (valid_id(s->name))
		return true;
	fail(ps, s->line, "%s: an id is 1 to 64 of A-Z a-z 0-9 . _ : -",
	     sect_label(s, lb));
	return false;
}

/* Registers the section whose header is `hdr` (inside the brackets). */
static void
section_begin(struct parse *ps, const char *hdr, size_t n)
{
	const char *hdr0 = hdr;
	size_t hlen0 = n < INI_MAX_LINE ? n : INI_MAX_LINE - 1;
	while (n > 0 && (hdr[0] == ' ' || hdr[0] == '\t')) {
		hdr++;
		n--;
	}
	while (n > 0 && (hdr[n - 1] == ' ' || hdr[n - 1] == '\t'))
		n--;
	const char *sp = memchr(hdr, ' ', n);
	size_t tlen = sp != NULL ? (size_t)(sp - hdr) : n;
	static const struct {
		const char *word;
		enum sect_type type;
		bool named;
	} types[] = {
	    {"service", SECT_SERVICE, false}, {"pair", SECT_PAIR, true},
	    {"product", SECT_PRODUCT, true},  {"rule", SECT_RULE, true},
	    {"notice", SECT_NOTICE, true},
	};
	size_t k;
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (strlen(types[k].word) == tlen &&
		    memcmp(types[k].word, hdr, tlen) == 0)
			break;
	if (ps->service_only) {
		/* An unknown section is skipped like any other: if it was a
		 * misspelt [service], the read fails for want of one. */
		ps->skipping = k == sizeof(types) / sizeof(types[0]) ||
		               types[k].type != SECT_SERVICE;
		if (ps->skipping)
			return;
	}
	if (k == sizeof(types) / sizeof(types[0])) {
		fail(ps, ps->line,
		     "unknown section [%.*s] (expected service, pair, "
		     "product, rule or notice)",
		     (int)n, hdr);
		return;
	}
	const char *name = "";
	size_t nlen = 0;
	if (sp != NULL) {
		name = sp + 1;
		nlen = n - tlen - 1;
		while (nlen > 0 && *name == ' ') {
			name++;
			nlen--;
		}
	}
	if (types[k].named && nlen == 0) {
		fail(ps, ps->line, "section [%s] needs a name: [%s NAME]",
		     types[k].word, types[k].word);
		return;
	}
	if (!types[k].named && nlen != 0) {
		fail(ps, ps->line, "section [%s] takes no name",
		     types[k].word);
		return;
	}
	if (nlen > BREAKER_ID_MAX) {
		fail(ps, ps->line, "[%s %.*s]: name longer than %d bytes",
		     types[k].word, (int)nlen, name, BREAKER_ID_MAX);
		return;
	}
	if (ps->nsects == ps->capsects) {
		size_t ncap = ps->capsects != 0 ? ps->capsects * 2 : 16;
		struct sect *v = realloc(ps->sects, ncap * sizeof(*v));
		if (v == NULL) {
			ps->nomem = ps->failed = true;
			return;
		}
		ps->sects = v;
		ps->capsects = ncap;
	}
	struct sect *s = &ps->sects[ps->nsects++];
	memset(s, 0, sizeof(*s));
	s->type = types[k].type;
	memcpy(s->header, hdr0, hlen0);
	s->header[hlen0] = '\0';
	memcpy(s->name, name, nlen);
	s->name[nlen] = '\0';
	s->line = ps->line;
}

/*
 * Tells continuation lines apart and registers a section header; true if
 * the line is a header.  Mirrors inih exactly: it skips a UTF-8 BOM on
 * the first line and white space as isspace() has it; an indented line
 * after a key continues that key.
 */
static bool
scan_line(struct parse *ps, const char *p, size_t n)
{
	size_t i = 0;
	if (ps->line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	size_t indent = i;
	while (i < n && strchr(" \t\n\v\f\r", p[i]) != NULL && p[i] != '\0')
		i++;
	ps->continuation = i > indent && i < n && ps->prev_key;
	if (ps->continuation || i >= n || p[i] != '[')
		return false;
	ps->prev_key = false;
	const char *close = memchr(p + i, ']', n - i);
	if (close != NULL)
		section_begin(ps, p + i + 1, (size_t)(close - (p + i + 1)));
	return true;
}

/*
 * The line reader inih pulls from.  Besides handing over lines it counts
 * them (inih's handler does not get line numbers in Debian's build), sees
 * section headers (inih does not report empty sections), and refuses lines
 * longer than inih's buffer instead of letting inih split them.  In a
 * service-only read the lines of other sections (of any type, even an
 * unknown one) reach inih blank, so nothing in them (long lines, syntax,
 * keys) can fail it; line numbers stay those of the file.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	if (ps->failed || ps->pos >= ps->len)
		return NULL;
	const char *p = ps->text + ps->pos;
	const char *nl = memchr(p, '\n', ps->len - ps->pos);
	size_t n = nl != NULL ? (size_t)(nl - p) + 1 : ps->len - ps->pos;
	ps->line++;
	if (ps->service_only) {
		bool header = scan_line(ps, p, n);
		if (ps->failed)
			return NULL;
		if (ps->skipping) {
			/* inih's continuation rule: what follows a key. */
			size_t i = 0;
			while (i < n && strchr(" \t\v\f\r", p[i]) != NULL)
				i++;
			if (!header && !ps->continuation && i < n &&
			    p[i] != ';' && p[i] != '#' && p[i] != '\n')
				ps->prev_key = memchr(p, '=', n) != NULL ||
				               memchr(p, ':', n) != NULL;
			ps->pos += n;
			snprintf(str, (size_t)num, "\n");
			return str;
		}
	}
	if (n + 1 > (size_t)num) {
		fail(ps, ps->line,
		     "line longer than %d bytes (continue a "
		     "long notice on indented lines)",
		     num - 2);
		return NULL;
	}
	if (memchr(p, '\0', n) != NULL) {
		fail(ps, ps->line, "NUL byte in the file");
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	ps->raw = p;
	ps->rawlen = n;
	ps->pos += n;
	if (!ps->service_only)
		scan_line(ps, p, n);
	return str;
}

/* Appends key = value to s; 0 (nomem set) if out of memory. */
static int
kv_add(struct parse *ps, struct sect *s, const char *key, const char *value,
       int line)
{
	if (s->nkv == s->capkv) {
		size_t ncap = s->capkv != 0 ? s->capkv * 2 : 8;
		struct kv *v = realloc(s->kv, ncap * sizeof(*v));
		if (v == NULL) {
			ps->nomem = ps->failed = true;
			return 0;
		}
		s->kv = v;
		s->capkv = ncap;
	}
	struct kv *kv = &s->kv[s->nkv];
	kv->key = dup_n(key, strlen(key));
	kv->val = dup_n(value, strlen(value));
	kv->line = line;
	kv->used = false;
	if (kv->key == NULL || kv->val == NULL) {
		free(kv->key);
		free(kv->val);
		ps->nomem = ps->failed = true;
		return 0;
	}
	s->nkv++;
	return 1;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	char lb[LABEL_MAX];
	if (ps->failed)
		return 0;
	if (ps->nsects == 0) {
		fail(ps, ps->line, "key %s before any [section]", name);
		return 0;
	}
	struct sect *s = &ps->sects[ps->nsects - 1];
	ps->prev_key = true;
	/* inih and our reader must agree on the section (inih keeps at most
	 * 49 bytes of its name): refuse what could be read two ways. */
	if (strncmp(section, s->header, 49) != 0) {
		fail(ps, ps->line,
		     "key %s: cannot tell which section it belongs to "
		     "(a section header with unusual white space?)",
		     name);
		return 0;
	}
	/* inih cuts a value at " ;" (an inline comment).  A notice must
	 * reach customers whole, so refuse the line rather than cut it. */
	if (s->type == SECT_NOTICE) {
		for (size_t i = 1; i < ps->rawlen; i++)
			if (ps->raw[i] == ';' && (ps->raw[i - 1] == ' ' ||
			                          ps->raw[i - 1] == '\t')) {
				fail(ps, ps->line,
				     "[notice %s] %s: \" ;\" starts a comment "
				     "and would cut the text; write \";\" "
				     "without a space before it",
				     s->name, name);
				return 0;
			}
	}
	for (size_t i = 0; i < s->nkv; i++) {
		struct kv *kv = &s->kv[i];
		if (strcmp(kv->key, name) != 0)
			continue;
		if (!ps->continuation) {
			fail(ps, ps->line,
			     "%s %s: set twice (first on line %d)",
			     sect_label(s, lb), name, kv->line);
			return 0;
		}
		if (s->type != SECT_NOTICE) {
			fail(ps, ps->line,
			     "an indented line continues the key above it "
			     "(%s %s), and only notice texts may continue: "
			     "remove the indentation",
			     sect_label(s, lb), name);
			return 0;
		}
		/* A notice continues on indented lines: join with a space. */
		size_t a = strlen(kv->val), b = strlen(value);
		char *v = realloc(kv->val, a + b + 2);
		if (v == NULL) {
			ps->nomem = ps->failed = true;
			return 0;
		}
		v[a] = ' ';
		memcpy(v + a + 1, value, b + 1);
		kv->val = v;
		return 1;
	}
	return kv_add(ps, s, name, value, ps->line);
}

/* ---- second pass: values ---- */

static struct kv *
get(struct sect *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			s->kv[i].used = true;
			return &s->kv[i];
		}
	return NULL;
}

static void
fail_kv(struct parse *ps, const struct sect *s, const struct kv *kv,
        const char *what)
{
	char lb[LABEL_MAX];
	fail(ps, kv->line, "%s %s: %s (\"%s\")", sect_label(s, lb), kv->key,
	     what, kv->val);
}

static struct kv *
need(struct parse *ps, struct sect *s, const char *key)
{
	struct kv *kv = get(s, key);
	char lb[LABEL_MAX];
	if (kv == NULL)
		fail(ps, s->line, "%s %s: required key missing",
		     sect_label(s, lb), key);
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

/* Each value reader returns false (having reported) on a bad value. */

static bool
val_duration(struct parse *ps, struct sect *s, struct kv *kv, bool positive,
             fxb_time *out)
{
	enum fxb_err e = breaker_duration_parse(kv->val, strlen(kv->val), out);
	if (e == FXB_ERR_SYNTAX) {
		fail_kv(ps, s, kv,
		        "not a duration (an integer and ms, s, m or h: "
		        "\"300s\")");
		return false;
	}
	if (e != FXB_OK) {
		fail_kv(ps, s, kv, "duration longer than 30 days");
		return false;
	}
	if (positive && *out == 0) {
		fail_kv(ps, s, kv, "must be greater than zero");
		return false;
	}
	return true;
}

/*
 * Reports a decimal parse error: `what` names the value ("price"), `rule`
 * says what a good one looks like ("at most 8 fractional digits").
 */
static bool
val_decimal_err(struct parse *ps, struct sect *s, struct kv *kv,
                enum fxb_err e, const char *what, const char *rule)
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
	fail_kv(ps, s, kv, msg);
	return false;
}

static bool
val_price(struct parse *ps, struct sect *s, struct kv *kv, int64_t *out)
{
	return val_decimal_err(
	    ps, s, kv, breaker_px_parse(kv->val, strlen(kv->val), out),
	    "price", "above 0, at most 8 fractional digits");
}

static bool
val_pct(struct parse *ps, struct sect *s, struct kv *kv, int64_t *out)
{
	if (!val_decimal_err(
	        ps, s, kv, breaker_pct_parse(kv->val, strlen(kv->val), out),
	        "percentage", "0 to 100, at most 4 fractional digits"))
		return false;
	if (*out == 0) {
		fail_kv(ps, s, kv, "must be greater than zero");
		return false;
	}
	return true;
}

static bool
val_int(struct parse *ps, struct sect *s, struct kv *kv, int64_t min,
        int64_t max, int64_t *out)
{
	int64_t v;
	enum fxb_err e =
	    breaker_decimal_parse(kv->val, strlen(kv->val), 0, 0, &v);
	if (!val_decimal_err(ps, s, kv, e, "whole number", "digits only"))
		return false;
	if (v < min || v > max) {
		char msg[96];
		snprintf(msg, sizeof(msg), "must be from %lld to %lld",
		         (long long)min, (long long)max);
		fail_kv(ps, s, kv, msg);
		return false;
	}
	*out = v;
	return true;
}

static bool
val_text(struct parse *ps, struct sect *s, struct kv *kv, char *dst,
         size_t cap)
{
	size_t n = strlen(kv->val);
	if (n >= cap) {
		char msg[64];
		snprintf(msg, sizeof(msg), "longer than %zu bytes", cap - 1);
		fail_kv(ps, s, kv, msg);
		return false;
	}
	memcpy(dst, kv->val, n + 1);
	return true;
}

/* Looks a key up in a table of words; reports the choices otherwise. */
static bool
val_word(struct parse *ps, struct sect *s, struct kv *kv,
         const char *const *words, size_t nwords, const char *choices,
         int *out)
{
	for (size_t i = 0; i < nwords; i++)
		if (strcmp(kv->val, words[i]) == 0) {
			*out = (int)i;
			return true;
		}
	char msg[128];
	snprintf(msg, sizeof(msg), "must be one of %s", choices);
	fail_kv(ps, s, kv, msg);
	return false;
}

/* The index of the section [type name] among its type, or -1. */
static int32_t
find_sect(struct parse *ps, enum sect_type type, const char *name)
{
	return breaker_index_find(&ps->ix[type], name, strlen(name));
}

/* Indexes the sections of each type by name; refuses a name used twice. */
static bool
index_sections(struct parse *ps)
{
	for (size_t i = 0; i < ps->nsects; i++)
		ps->count[ps->sects[i].type]++;
	for (int t = 0; t < 5; t++) {
		ps->names[t] = calloc(ps->count[t] + 1, sizeof(char *));
		ps->where[t] = calloc(ps->count[t] + 1, sizeof(size_t));
		if (ps->names[t] == NULL || ps->where[t] == NULL) {
			ps->nomem = ps->failed = true;
			return false;
		}
		ps->count[t] = 0;
	}
	for (size_t i = 0; i < ps->nsects; i++) {
		enum sect_type t = ps->sects[i].type;
		ps->where[t][ps->count[t]] = i;
		ps->names[t][ps->count[t]++] = ps->sects[i].name;
	}
	for (int t = 0; t < 5; t++) {
		int32_t dup = -1;
		int rc = breaker_index_build(&ps->ix[t], ps->names[t],
		                             (uint32_t)ps->count[t], &dup);
		if (rc < 0) {
			ps->nomem = ps->failed = true;
			return false;
		}
		if (rc > 0) {
			const struct sect *s = &ps->sects[ps->where[t][dup]];
			const struct sect *first =
			    &ps->sects[ps->where[t][find_sect(
			        ps, (enum sect_type)t, s->name)]];
			char lb[LABEL_MAX];
			fail(ps, s->line,
			     "%s is defined twice (first on line %d)",
			     sect_label(s, lb), first->line);
			return false;
		}
	}
	return true;
}

static bool
build_service(struct parse *ps, struct sect *s)
{
	struct breaker_service_conf *sv = &ps->cfg->service;
	static const struct {
		const char *key;
		size_t off, cap;
	} keys[] = {
	    {"data_dir", offsetof(struct breaker_service_conf, data_dir),
	     sizeof(sv->data_dir)},
	    {"check_url", offsetof(struct breaker_service_conf, check_url),
	     sizeof(sv->check_url)},
	    {"tick_url", offsetof(struct breaker_service_conf, tick_url),
	     sizeof(sv->tick_url)},
	    {"admin_url", offsetof(struct breaker_service_conf, admin_url),
	     sizeof(sv->admin_url)},
	    {"events_url", offsetof(struct breaker_service_conf, events_url),
	     sizeof(sv->events_url)},
	    {"service_id", offsetof(struct breaker_service_conf, service_id),
	     sizeof(sv->service_id)},
	    {"checkpoint_dir",
	     offsetof(struct breaker_service_conf, checkpoint_dir),
	     sizeof(sv->checkpoint_dir)},
	    {"operators_file",
	     offsetof(struct breaker_service_conf, operators_file),
	     sizeof(sv->operators_file)},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct kv *kv = get(s, keys[i].key);
		if (kv == NULL)
			continue;
		if (kv->val[0] == '\0') {
			fail_kv(ps, s, kv, "must not be empty");
			return false;
		}
		if (strstr(keys[i].key, "_url") != NULL &&
		    strncmp(kv->val, "ipc://", 6) != 0 &&
		    strncmp(kv->val, "tcp://", 6) != 0 &&
		    strncmp(kv->val, "tls+tcp://", 10) != 0) {
			fail_kv(ps, s, kv,
			        "an nng address: ipc://PATH, tcp://HOST:PORT "
			        "or tls+tcp://HOST:PORT");
			return false;
		}
		if (!val_text(ps, s, kv, (char *)sv + keys[i].off,
		              keys[i].cap))
			return false;
	}
	struct kv *kv = get(s, "notice_utc_offset");
	if (kv != NULL) {
		/* +HH:MM or -HH:MM: how notices show times to customers. */
		const char *v = kv->val;
		if (strlen(v) != 6 || (v[0] != '+' && v[0] != '-') ||
		    v[3] != ':' || v[1] < '0' || v[1] > '1' || v[2] < '0' ||
		    v[2] > '9' || v[4] < '0' || v[4] > '5' || v[5] < '0' ||
		    v[5] > '9') {
			fail_kv(ps, s, kv, "a UTC offset: +HH:MM or -HH:MM");
			return false;
		}
		int min = ((v[1] - '0') * 10 + (v[2] - '0')) * 60 +
		          (v[4] - '0') * 10 + (v[5] - '0');
		sv->notice_tz_min = v[0] == '-' ? -min : min;
	}
	kv = get(s, "watchdog_interval");
	if (kv != NULL &&
	    !val_duration(ps, s, kv, false, &sv->watchdog_interval))
		return false;
	if (kv != NULL && sv->watchdog_interval != 0 &&
	    sv->watchdog_interval < 100) {
		fail_kv(ps, s, kv, "0 (off) or at least 100ms");
		return false;
	}
	kv = get(s, "clock_step_tolerance");
	return kv == NULL ||
	       val_duration(ps, s, kv, true, &sv->clock_step_tolerance);
}

static bool
build_pair(struct parse *ps, struct sect *s, struct breaker_pair_conf *pc)
{
	const char *n = s->name;
	pc->line = s->line;
	if (strlen(n) != 7 || n[3] != '/' ||
	    (pc->base_exponent = breaker_currency_exponent(n, 3)) < 0 ||
	    (pc->quote_exponent = breaker_currency_exponent(n + 4, 3)) < 0 ||
	    memcmp(n, n + 4, 3) == 0) {
		fail(ps, s->line,
		     "[pair %s]: a pair is BASE/QUOTE, two different ISO "
		     "4217 codes (\"USD/KRW\")",
		     n);
		return false;
	}
	memcpy(pc->name, n, 8);
	struct kv *kv = get(s, "tick");
	return kv == NULL || val_price(ps, s, kv, &pc->tick);
}

/* The keys each kind takes besides kind, pair/product, mode, suspends,
 * notice.  Must match the switch in build_rule. */
static const char *const kind_keys[][8] = {
    [BREAKER_VOLUME] = {"window", "warn", "trip", "measure", "suspend_for",
                        "max_auto_resumes", NULL},
    [BREAKER_BAND] = {"window", "band_pct", "ref_move_pct", "ref_min_life",
                      "limit_for", "suspend_for", "max_auto_resumes", NULL},
    [BREAKER_VELOCITY] = {"window", "base", "pct", "max_move", "suspend_for",
                          "max_auto_resumes", NULL},
    [BREAKER_DEVIATION] = {"base", "pct", "hold", "suspend_for",
                           "max_auto_resumes", NULL},
    [BREAKER_STALE] = {"max_age", NULL},
    [BREAKER_SPREAD] = {"max_spread_pct", "hold", NULL},
    [BREAKER_THROTTLE] = {"rate", "burst", NULL},
};

/*
 * The trip levels an operator may change at run time: those a rule tests
 * only as events arrive, so that its state carries over exactly (see
 * transfer_rule).  A band, deviation, spread, stale or throttle level also
 * decides when an armed timer fires; those change in the file, by reload.
 * Each grows as the rule loosens.  cmp is the field compared to tell
 * loosening from tightening (a velocity rule's V, whichever key sets it).
 */
enum threshold_type { TH_AMOUNT, TH_PCT, TH_PRICE };
static const struct {
	enum breaker_kind kind;
	const char *key;
	enum threshold_type type;
	size_t field, cmp;
} thresholds[] = {
#define TH(k, key, t, f, c)                                                   \
	{                                                                     \
		k, key, t, offsetof(struct breaker_rule_conf, f),             \
		    offsetof(struct breaker_rule_conf, c)                     \
	}
    TH(BREAKER_VOLUME, "trip", TH_AMOUNT, trip, trip),
    TH(BREAKER_VOLUME, "warn", TH_AMOUNT, warn, warn),
    TH(BREAKER_VELOCITY, "max_move", TH_PRICE, max_move, velocity),
    TH(BREAKER_VELOCITY, "pct", TH_PCT, pct, velocity),
#undef TH
};

bool
breaker_threshold(const struct breaker_config *cfg,
                  const struct breaker_rule_conf *rc, const char *key,
                  int64_t *cmp, char *text)
{
	for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]);
	     i++) {
		if (thresholds[i].kind != rc->kind ||
		    strcmp(thresholds[i].key, key) != 0)
			continue;
		const char *base = (const char *)rc;
		int64_t v, c;
		memcpy(&v, base + thresholds[i].field, sizeof(v));
		memcpy(&c, base + thresholds[i].cmp, sizeof(c));
		/* No warn level at all is the loosest: setting one tightens.
		 */
		*cmp = thresholds[i].field ==
		                   offsetof(struct breaker_rule_conf, warn) &&
		               v == 0
		           ? INT64_MAX
		           : c;
		int32_t pair =
		    rc->on_pair ? rc->owner : cfg->products[rc->owner].pair;
		unsigned exp = (unsigned)cfg->pairs[pair].base_exponent;
		switch (thresholds[i].type) {
		case TH_AMOUNT:
			if (v != 0 && rc->measure == BREAKER_MEASURE_NOTIONAL)
				breaker_decimal_format(text, v, exp, exp);
			else if (v == 0)
				snprintf(text, BREAKER_DECIMAL_BUFSZ, "none");
			else
				snprintf(text, BREAKER_DECIMAL_BUFSZ, "%lld",
				         (long long)v);
			break;
		case TH_PCT:
			breaker_decimal_format(text, v, 4, 0);
			break;
		case TH_PRICE:
			breaker_px_format(text, v);
			break;
		}
		return true;
	}
	return false;
}

static const char *const kind_names[] = {
    "forced",    "volume", "band",   "velocity",
    "deviation", "stale",  "spread", "throttle",
};

const char *
breaker_kind_name(enum breaker_kind kind)
{
	if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

static bool
rule_amount(struct parse *ps, struct sect *s, struct kv *kv, bool notional,
            int exponent, int64_t *out)
{
	if (!notional)
		return val_int(ps, s, kv, 1, INT64_MAX, out);
	return val_decimal_err(
	    ps, s, kv,
	    breaker_amount_parse(kv->val, strlen(kv->val), exponent, out),
	    "amount", "in the base currency, with its minor-unit digits");
}

/* The parameters of a volume rule (4.1).  Thresholds are counts, or
 * amounts in the base currency (exponent digits) for a notional measure. */
static bool
build_volume(struct parse *ps, struct sect *s, struct breaker_rule_conf *rc,
             int exponent)
{
	struct kv *kv;
	int w;

	if ((kv = get(s, "measure")) != NULL) {
		static const char *const m[] = {"count", "notional"};
		if (!val_word(ps, s, kv, m, 2, "count, notional", &w))
			return false;
		rc->measure = (enum breaker_measure)w;
	}
	bool notional = rc->measure == BREAKER_MEASURE_NOTIONAL;
	if ((kv = need(ps, s, "window")) == NULL ||
	    !val_duration(ps, s, kv, true, &rc->window))
		return false;
	if (rc->window > VOLUME_WINDOW_MAX_MS) {
		fail_kv(ps, s, kv, "a volume window is at most 1h");
		return false;
	}
	if ((kv = need(ps, s, "trip")) == NULL ||
	    !rule_amount(ps, s, kv, notional, exponent, &rc->trip))
		return false;
	if ((kv = get(s, "warn")) != NULL) {
		if (!rule_amount(ps, s, kv, notional, exponent, &rc->warn))
			return false;
		if (rc->warn >= rc->trip) {
			fail_kv(ps, s, kv, "warn must be below trip");
			return false;
		}
	}
	return true;
}

/* The parameters of a velocity rule (4.3), and V computed once here. */
static bool
build_velocity(struct parse *ps, struct sect *s, struct breaker_rule_conf *rc,
               int64_t tick)
{
	struct kv *kv;
	struct kv *kb = get(s, "base"), *kp = get(s, "pct");
	struct kv *km = get(s, "max_move");

	if ((kv = need(ps, s, "window")) == NULL ||
	    !val_duration(ps, s, kv, true, &rc->window))
		return false;
	if (km != NULL && (kb != NULL || kp != NULL)) {
		fail_kv(ps, s, km,
		        "give either max_move or base and pct, not both");
		return false;
	}
	if (km != NULL) {
		if (!val_price(ps, s, km, &rc->max_move))
			return false;
		rc->velocity = rc->max_move;
		return true;
	}
	if (kb == NULL || kp == NULL) {
		fail(ps, s->line,
		     "[rule %s]: a velocity rule needs base and pct, or "
		     "max_move",
		     s->name);
		return false;
	}
	if (!val_price(ps, s, kb, &rc->base) || !val_pct(ps, s, kp, &rc->pct))
		return false;
	/* V = base x pct / 100, down to a whole tick.  A V of zero would
	 * trip on every move: refuse it here. */
	rc->velocity =
	    (int64_t)((fxb_i128)rc->base * rc->pct / BREAKER_PCT_100);
	if (tick > 0)
		rc->velocity -= rc->velocity % tick;
	if (rc->velocity == 0) {
		fail_kv(ps, s, kp,
		        "base x pct / 100 rounds down to less than one tick: "
		        "every move would trip");
		return false;
	}
	return true;
}

static bool
build_rule(struct parse *ps, struct sect *s, struct breaker_rule_conf *rc)
{
	struct breaker_config *cfg = ps->cfg;
	struct kv *kv;
	int w;

	memcpy(rc->id, s->name, sizeof(rc->id));
	rc->line = s->line;
	rc->notice = -1;
	rc->max_auto_resumes = -1;
	if (!check_id(ps, s))
		return false;
	if ((kv = need(ps, s, "kind")) == NULL ||
	    !val_word(ps, s, kv, kind_names + 1, 7,
	              "volume, band, velocity, deviation, stale, spread, "
	              "throttle",
	              &w))
		return false;
	rc->kind = (enum breaker_kind)(w + 1);

	struct kv *kpair = get(s, "pair"), *kprod = get(s, "product");
	bool wants_pair =
	    rc->kind != BREAKER_VOLUME && rc->kind != BREAKER_THROTTLE;
	if ((kpair == NULL) == (kprod == NULL)) {
		fail(ps, s->line,
		     "[rule %s]: name exactly one of pair or "
		     "product",
		     s->name);
		return false;
	}
	if (wants_pair && kpair == NULL) {
		fail_kv(ps, s, kprod,
		        "a rule of this kind watches a pair's ticks: use "
		        "pair =");
		return false;
	}
	if (!wants_pair && kprod == NULL) {
		fail_kv(ps, s, kpair,
		        "a rule of this kind watches a product's checks: use "
		        "product =");
		return false;
	}
	rc->on_pair = wants_pair;
	if (wants_pair) {
		rc->owner = find_sect(ps, SECT_PAIR, kpair->val);
		if (rc->owner < 0) {
			fail_kv(ps, s, kpair, "no such [pair]");
			return false;
		}
	} else {
		rc->owner = find_sect(ps, SECT_PRODUCT, kprod->val);
		if (rc->owner < 0) {
			fail_kv(ps, s, kprod, "no such [product]");
			return false;
		}
	}
	if ((kv = get(s, "mode")) != NULL) {
		static const char *const modes[] = {"enforce", "shadow"};
		if (!val_word(ps, s, kv, modes, 2, "enforce, shadow", &w))
			return false;
		rc->shadow = w == 1;
	}
	if ((kv = get(s, "suspends")) != NULL) {
		static const char *const sus[] = {"both", "buy", "sell",
		                                  "with-move"};
		if (!wants_pair) {
			fail_kv(ps, s, kv,
			        "only a pair rule suspends a scope");
			return false;
		}
		if (!val_word(ps, s, kv, sus, 4, "both, buy, sell, with-move",
		              &w))
			return false;
		rc->suspends = (enum breaker_suspends)w;
	}
	if ((kv = get(s, "notice")) != NULL) {
		rc->notice = find_sect(ps, SECT_NOTICE, kv->val);
		if (rc->notice < 0) {
			fail_kv(ps, s, kv, "no such [notice]");
			return false;
		}
	}

	/* Keys that do not belong to this kind. */
	for (size_t i = 0; i < s->nkv; i++) {
		const char *k = s->kv[i].key;
		bool ok =
		    strcmp(k, "kind") == 0 || strcmp(k, "pair") == 0 ||
		    strcmp(k, "product") == 0 || strcmp(k, "mode") == 0 ||
		    strcmp(k, "suspends") == 0 || strcmp(k, "notice") == 0;
		for (size_t j = 0; !ok && kind_keys[rc->kind][j] != NULL; j++)
			ok = strcmp(k, kind_keys[rc->kind][j]) == 0;
		if (!ok) {
			char msg[96];
			snprintf(msg, sizeof(msg), "unknown key for a %s rule",
			         kind_names[rc->kind]);
			fail_kv(ps, s, &s->kv[i], msg);
			return false;
		}
	}

	int exponent =
	    wants_pair
	        ? cfg->pairs[rc->owner].base_exponent
	        : cfg->pairs[cfg->products[rc->owner].pair].base_exponent;
	bool has_suspend_for =
	    rc->kind == BREAKER_VOLUME || rc->kind == BREAKER_BAND ||
	    rc->kind == BREAKER_VELOCITY || rc->kind == BREAKER_DEVIATION;
	if (has_suspend_for) {
		if ((kv = need(ps, s, "suspend_for")) == NULL ||
		    !val_duration(ps, s, kv, false, &rc->suspend_for))
			return false;
		if ((kv = get(s, "max_auto_resumes")) != NULL) {
			int64_t v;
			if (!val_int(ps, s, kv, 0, MAX_AUTO_RESUMES_MAX, &v))
				return false;
			rc->max_auto_resumes = (int32_t)v;
		}
	}

	switch (rc->kind) {
	case BREAKER_VOLUME:
		return build_volume(ps, s, rc, exponent);
	case BREAKER_BAND:
		if ((kv = need(ps, s, "window")) == NULL ||
		    !val_duration(ps, s, kv, true, &rc->window) ||
		    (kv = need(ps, s, "band_pct")) == NULL ||
		    !val_pct(ps, s, kv, &rc->band_pct) ||
		    (kv = need(ps, s, "ref_move_pct")) == NULL ||
		    !val_pct(ps, s, kv, &rc->ref_move_pct) ||
		    (kv = need(ps, s, "ref_min_life")) == NULL ||
		    !val_duration(ps, s, kv, false, &rc->ref_min_life) ||
		    (kv = need(ps, s, "limit_for")) == NULL ||
		    !val_duration(ps, s, kv, false, &rc->limit_for))
			return false;
		if (rc->band_pct >= BREAKER_PCT_100) {
			fail_kv(ps, s, get(s, "band_pct"),
			        "must be below 100");
			return false;
		}
		break;
	case BREAKER_VELOCITY:
		return build_velocity(ps, s, rc, cfg->pairs[rc->owner].tick);
	case BREAKER_DEVIATION:
		if ((kv = need(ps, s, "base")) == NULL ||
		    !val_price(ps, s, kv, &rc->base) ||
		    (kv = need(ps, s, "pct")) == NULL ||
		    !val_pct(ps, s, kv, &rc->pct) ||
		    (kv = need(ps, s, "hold")) == NULL ||
		    !val_duration(ps, s, kv, false, &rc->hold))
			return false;
		break;
	case BREAKER_STALE:
		if ((kv = need(ps, s, "max_age")) == NULL ||
		    !val_duration(ps, s, kv, true, &rc->max_age))
			return false;
		break;
	case BREAKER_SPREAD:
		if ((kv = need(ps, s, "max_spread_pct")) == NULL ||
		    !val_pct(ps, s, kv, &rc->max_spread_pct) ||
		    (kv = need(ps, s, "hold")) == NULL ||
		    !val_duration(ps, s, kv, false, &rc->hold))
			return false;
		break;
	case BREAKER_THROTTLE:
		if ((kv = need(ps, s, "rate")) == NULL ||
		    !val_int(ps, s, kv, 1, 1000000, &rc->rate) ||
		    (kv = need(ps, s, "burst")) == NULL ||
		    !val_int(ps, s, kv, 1, 1000000, &rc->burst))
			return false;
		break;
	}
	return true;
}

static bool
build_product(struct parse *ps, struct sect *s,
              struct breaker_product_conf *pc)
{
	struct kv *kv;
	int w;

	memcpy(pc->id, s->name, sizeof(pc->id));
	pc->line = s->line;
	if (!check_id(ps, s))
		return false;
	if ((kv = need(ps, s, "pair")) == NULL)
		return false;
	if ((pc->pair = find_sect(ps, SECT_PAIR, kv->val)) < 0) {
		fail_kv(ps, s, kv, "no such [pair]");
		return false;
	}
	if ((kv = get(s, "side")) != NULL) {
		static const char *const sides[] = {"any", "buy", "sell"};
		if (!val_word(ps, s, kv, sides, 3, "buy, sell, any", &w))
			return false;
		pc->side = (enum breaker_side)w;
	}
	if ((kv = get(s, "channel")) != NULL &&
	    !val_text(ps, s, kv, pc->channel, sizeof(pc->channel)))
		return false;
	return true;
}

/* Exemptions name rules, so they are resolved once rules are built. */
static bool
build_exempt(struct parse *ps, struct sect *s, struct breaker_product_conf *pc)
{
	struct kv *kv = get(s, "exempt");
	if (kv == NULL)
		return true;
	if (kv->val[0] == '\0') {
		fail_kv(ps, s, kv, "a comma-separated list of rule ids");
		return false;
	}
	const char *p = kv->val;
	size_t cap = 1;
	for (const char *q = p; *q != '\0'; q++)
		cap += *q == ',';
	pc->exempt = calloc(cap, sizeof(int32_t));
	if (pc->exempt == NULL) {
		ps->nomem = ps->failed = true;
		return false;
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *e = p;
		while (*e != '\0' && *e != ',')
			e++;
		const char *end = e;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		char id[BREAKER_ID_MAX + 1];
		size_t n = (size_t)(end - p);
		if (n == 0 || n > BREAKER_ID_MAX) {
			fail_kv(ps, s, kv,
			        "a comma-separated list of rule ids");
			return false;
		}
		memcpy(id, p, n);
		id[n] = '\0';
		int32_t ri = find_sect(ps, SECT_RULE, id);
		if (ri < 0) {
			char msg[128];
			snprintf(msg, sizeof(msg), "no such [rule %s]", id);
			fail_kv(ps, s, kv, msg);
			return false;
		}
		const struct breaker_rule_conf *rc = &ps->cfg->rules[ri];
		if (!rc->on_pair || rc->owner != pc->pair) {
			char msg[160];
			snprintf(msg, sizeof(msg),
			         "rule %s is not a rule on this product's "
			         "pair",
			         id);
			fail_kv(ps, s, kv, msg);
			return false;
		}
		for (size_t k = 0; k < pc->nexempt; k++)
			if (pc->exempt[k] == ri) {
				char msg[128];
				snprintf(msg, sizeof(msg),
				         "rule %s is listed twice", id);
				fail_kv(ps, s, kv, msg);
				return false;
			}
		pc->exempt[pc->nexempt++] = ri;
		p = *e == ',' ? e + 1 : e;
		if (*e == ',' && *p == '\0') {
			fail_kv(ps, s, kv,
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
val_template(struct parse *ps, struct sect *s, struct kv *kv, char *dst,
             size_t cap)
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
			fail_kv(ps, s, kv,
			        "unknown placeholder (use {product}, {start}, "
			        "{until}, {reason})");
			return false;
		}
	}
	return val_text(ps, s, kv, dst, cap);
}

static bool
build_notice(struct parse *ps, struct sect *s, struct breaker_notice_conf *nc)
{
	struct kv *kv;
	memcpy(nc->id, s->name, sizeof(nc->id));
	nc->line = s->line;
	if (!check_id(ps, s))
		return false;
	return (kv = need(ps, s, "ko")) != NULL &&
	       val_template(ps, s, kv, nc->ko, sizeof(nc->ko)) &&
	       (kv = need(ps, s, "en")) != NULL &&
	       val_template(ps, s, kv, nc->en, sizeof(nc->en));
}

static void
service_defaults(struct breaker_service_conf *sv)
{
	snprintf(sv->data_dir, sizeof(sv->data_dir), "/var/lib/fxbreaker");
	snprintf(sv->check_url, sizeof(sv->check_url),
	         "ipc:///run/fxbreaker/check.ipc");
	snprintf(sv->tick_url, sizeof(sv->tick_url),
	         "ipc:///run/fxbreaker/tick.ipc");
	snprintf(sv->admin_url, sizeof(sv->admin_url),
	         "ipc:///run/fxbreaker/admin.ipc");
	snprintf(sv->events_url, sizeof(sv->events_url),
	         "ipc:///run/fxbreaker/events.ipc");
	snprintf(sv->service_id, sizeof(sv->service_id), "fxbreaker");
	sv->notice_tz_min = 9 * 60; /* Korea: KST, UTC+09:00 */
	/* Above NTP's own step threshold (128 ms) and chrony's usual
	 * makestep, below anything a person would call a step. */
	sv->clock_step_tolerance = 1000;
	sv->watchdog_interval = 5000;
}

static bool
build(struct parse *ps)
{
	struct breaker_config *cfg = ps->cfg;
	size_t n[5] = {0};

	for (size_t i = 0; i < ps->nsects; i++)
		n[ps->sects[i].type]++;
	cfg->pairs = calloc(n[SECT_PAIR] + 1, sizeof(*cfg->pairs));
	cfg->products = calloc(n[SECT_PRODUCT] + 1, sizeof(*cfg->products));
	cfg->rules = calloc(n[SECT_RULE] + 1, sizeof(*cfg->rules));
	cfg->notices = calloc(n[SECT_NOTICE] + 1, sizeof(*cfg->notices));
	if (cfg->pairs == NULL || cfg->products == NULL ||
	    cfg->rules == NULL || cfg->notices == NULL) {
		ps->nomem = ps->failed = true;
		return false;
	}
	service_defaults(&cfg->service);
	/* Dependency order: pairs, notices, products, rules, exemptions. */
	static const enum sect_type order[] = {
	    SECT_SERVICE, SECT_PAIR, SECT_NOTICE, SECT_PRODUCT, SECT_RULE};
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (size_t i = 0; i < ps->nsects; i++) {
			struct sect *s = &ps->sects[i];
			bool ok = true;
			if (s->type != order[o])
				continue;
			switch (s->type) {
			case SECT_SERVICE:
				ok = build_service(ps, s);
				break;
			case SECT_PAIR:
				ok = build_pair(ps, s,
				                &cfg->pairs[cfg->npairs++]);
				break;
			case SECT_NOTICE:
				ok = build_notice(
				    ps, s, &cfg->notices[cfg->nnotices++]);
				break;
			case SECT_PRODUCT:
				ok = build_product(
				    ps, s, &cfg->products[cfg->nproducts++]);
				break;
			case SECT_RULE:
				ok = build_rule(ps, s,
				                &cfg->rules[cfg->nrules++]);
				break;
			}
			if (!ok)
				return false;
		}
	}
	size_t pi = 0;
	for (size_t i = 0; i < ps->nsects; i++)
		if (ps->sects[i].type == SECT_PRODUCT &&
		    !build_exempt(ps, &ps->sects[i], &cfg->products[pi++]))
			return false;
	/* Any key nobody read is unknown. */
	for (size_t i = 0; i < ps->nsects; i++) {
		struct sect *s = &ps->sects[i];
		for (size_t k = 0; k < s->nkv; k++)
			if (!s->kv[k].used) {
				fail_kv(ps, s, &s->kv[k],
				        "unknown key in this section");
				return false;
			}
	}
	return true;
}

static void
parse_fini(struct parse *ps)
{
	for (size_t i = 0; i < ps->nsects; i++) {
		for (size_t k = 0; k < ps->sects[i].nkv; k++) {
			free(ps->sects[i].kv[k].key);
			free(ps->sects[i].kv[k].val);
		}
		free(ps->sects[i].kv);
	}
	free(ps->sects);
	for (int t = 0; t < 5; t++) {
		free(ps->names[t]);
		free(ps->where[t]);
		breaker_index_fini(&ps->ix[t]);
	}
}

/* Lays each threshold change over the file's value of its key (or adds
 * the key), before the values are read and checked as usual. */
static bool
apply_overrides(struct parse *ps, const struct breaker_override *ov,
                size_t nov)
{
	for (size_t i = 0; i < nov; i++) {
		enum sect_type type = ov[i].notice ? SECT_NOTICE : SECT_RULE;
		int32_t r = find_sect(ps, type, ov[i].rule);
		if (r < 0) {
			fail(ps, 0, "change by command: no [%s %s]",
			     ov[i].notice ? "notice" : "rule", ov[i].rule);
			return false;
		}
		struct sect *s = &ps->sects[ps->where[type][r]];
		size_t k = 0;
		while (k < s->nkv && strcmp(s->kv[k].key, ov[i].key) != 0)
			k++;
		if (k == s->nkv) {
			if (!kv_add(ps, s, ov[i].key, ov[i].value, s->line))
				return false;
			continue;
		}
		char *v = dup_n(ov[i].value, strlen(ov[i].value));
		if (v == NULL) {
			ps->nomem = ps->failed = true;
			return false;
		}
		free(s->kv[k].val);
		s->kv[k].val = v;
	}
	return true;
}

enum fxb_err
breaker_config_parse(const char *text, size_t len, const char *filename,
                     struct breaker_config **out, char *err, size_t errlen)
{
	return breaker_config_parse_over(text, len, filename, NULL, 0, out,
	                                 err, errlen);
}

static enum fxb_err parse_text(const char *text, size_t len,
                               const char *filename, bool service_only,
                               const struct breaker_override *ov, size_t nov,
                               struct breaker_config **out, char *err,
                               size_t errlen);

enum fxb_err
breaker_config_parse_over(const char *text, size_t len, const char *filename,
                          const struct breaker_override *ov, size_t nov,
                          struct breaker_config **out, char *err,
                          size_t errlen)
{
	return parse_text(text, len, filename, false, ov, nov, out, err,
	                  errlen);
}

enum fxb_err
breaker_config_parse_service(const char *text, size_t len,
                             const char *filename, struct breaker_config **out,
                             char *err, size_t errlen)
{
	return parse_text(text, len, filename, true, NULL, 0, out, err,
	                  errlen);
}

static enum fxb_err
parse_text(const char *text, size_t len, const char *filename,
           bool service_only, const struct breaker_override *ov, size_t nov,
           struct breaker_config **out, char *err, size_t errlen)
{
	struct parse ps;
	enum fxb_err rc = FXB_ERR_CONFIG;

	memset(&ps, 0, sizeof(ps));
	ps.service_only = service_only;
	ps.filename = filename;
	ps.text = text;
	ps.len = len;
	ps.err = err;
	ps.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	ps.cfg = calloc(1, sizeof(*ps.cfg));
	if (ps.cfg == NULL)
		return FXB_ERR_NOMEM;
	int line = ini_parse_stream(read_line, &ps, on_key, &ps);
	if (!ps.failed && line > 0)
		fail(&ps, line,
		     "syntax error: expected [section], key = value, or a "
		     "comment");
	if (!ps.failed && index_sections(&ps) && apply_overrides(&ps, ov, nov))
		build(&ps);
	if (!ps.failed && service_only && ps.count[SECT_SERVICE] == 0) {
		/* The defaults would be a guess: the file may have a
		 * misspelt [service]. */
		snprintf(err, errlen, "%s: no [service] section", filename);
		ps.failed = true;
	}
	if (ps.nomem)
		rc = FXB_ERR_NOMEM;
	else if (!ps.failed)
		rc = FXB_OK;
	parse_fini(&ps);
	if (rc != FXB_OK) {
		breaker_config_free(ps.cfg);
		return rc;
	}
	*out = ps.cfg;
	return FXB_OK;
}

void
breaker_config_free(struct breaker_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nproducts; i++)
		free(cfg->products[i].exempt);
	free(cfg->pairs);
	free(cfg->products);
	free(cfg->rules);
	free(cfg->notices);
	free(cfg);
}
