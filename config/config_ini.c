/*
 * config_ini.c: the configuration file's text read with Debian's libinih:
 * sections, keys and line numbers.  [service] is config_service.c's; the
 * engine's sections go, key by key, to its builder (breaker_config.h),
 * which checks their values and references.
 *
 * Two passes.  The first collects sections and keys with their line
 * numbers (inih does the lexing; our line reader counts lines, catches
 * over-long lines and section headers, and tells continuation lines
 * apart).  The second refuses a section defined twice, lays command
 * changes over the file, reads [service], and hands the rest to the
 * engine, so sections may come in any order.  The first problem stops
 * the parse with "FILE:LINE: message".
 *
 * A service-only read (config_parse_service) is the same parse with every
 * section but [service], [cluster] and [peer ID] blanked out on the way
 * to inih: what fxbreakerctl needs to reach a daemon whose file has a
 * typo elsewhere.
 */
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

void
config_ini_fail(struct ini *in, int line, const char *fmt, ...)
{
	if (in->failed)
		return;
	in->failed = true;
	int n = snprintf(in->err, in->errlen, "%s:%d: ", in->filename, line);
	if (n < 0 || (size_t)n >= in->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->err + n, in->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static const char *
sect_type_name(enum ini_type t)
{
	static const char *const names[] = {"service", "pair",    "product",
	                                    "rule",    "notice",  "cluster",
	                                    "peer",    "calendar"};
	return names[t];
}

/* "[type name]" (or "[service]") for messages. */
const char *
config_ini_label(const struct ini_sect *s, char *buf)
{
	snprintf(buf, INI_LABEL_MAX, "[%s%s%s]", sect_type_name(s->type),
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

/* Registers the section whose header is `hdr` (inside the brackets). */
static void
section_begin(struct ini *in, const char *hdr, size_t n)
{
	const char *hdr0 = hdr;
	size_t hlen0 = n < INI_SECTION_KEPT ? n : INI_SECTION_KEPT;
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
		enum ini_type type;
		bool named;
	} types[] = {
	    {"service", INI_SERVICE, false}, {"pair", INI_PAIR, true},
	    {"product", INI_PRODUCT, true},  {"rule", INI_RULE, true},
	    {"notice", INI_NOTICE, true},    {"cluster", INI_CLUSTER, false},
	    {"peer", INI_PEER, true},        {"calendar", INI_CALENDAR, true},
	};
	size_t k;
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (strlen(types[k].word) == tlen &&
		    memcmp(types[k].word, hdr, tlen) == 0)
			break;
	if (in->service_only) {
		/* An unknown section is skipped like any other: if it was a
		 * misspelt [service], the read fails for want of one.  The
		 * cluster's sections are the service's too: a node's
		 * addresses may be its [peer]'s. */
		in->skipping = k == sizeof(types) / sizeof(types[0]) ||
		               (types[k].type != INI_SERVICE &&
		                types[k].type != INI_CLUSTER &&
		                types[k].type != INI_PEER);
		if (in->skipping)
			return;
	}
	if (k == sizeof(types) / sizeof(types[0])) {
		config_ini_fail(
		    in, in->line,
		    "unknown section [%.*s] (expected service, pair, "
		    "product, rule, notice, calendar, cluster or peer)",
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
		config_ini_fail(in, in->line,
		                "section [%s] needs a name: [%s NAME]",
		                types[k].word, types[k].word);
		return;
	}
	if (!types[k].named && nlen != 0) {
		config_ini_fail(in, in->line, "section [%s] takes no name",
		                types[k].word);
		return;
	}
	if (nlen > BREAKER_ID_MAX) {
		config_ini_fail(
		    in, in->line, "[%s %.*s]: name longer than %d bytes",
		    types[k].word, (int)nlen, name, BREAKER_ID_MAX);
		return;
	}
	if (in->nsects == in->capsects) {
		size_t ncap = in->capsects != 0 ? in->capsects * 2 : 16;
		struct ini_sect *v = realloc(in->sects, ncap * sizeof(*v));
		if (v == NULL) {
			in->nomem = in->failed = true;
			return;
		}
		in->sects = v;
		in->capsects = ncap;
	}
	struct ini_sect *s = &in->sects[in->nsects++];
	memset(s, 0, sizeof(*s));
	s->type = types[k].type;
	memcpy(s->header, hdr0, hlen0);
	s->header[hlen0] = '\0';
	memcpy(s->name, name, nlen);
	s->name[nlen] = '\0';
	s->line = in->line;
}

/*
 * Tells continuation lines apart and registers a section header; true if
 * the line is a header.  Mirrors inih exactly: it skips a UTF-8 BOM on
 * the first line and white space as isspace() has it; an indented line
 * after a key continues that key.
 */
static bool
scan_line(struct ini *in, const char *p, size_t n)
{
	size_t i = 0;
	if (in->line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	size_t indent = i;
	while (i < n && strchr(" \t\n\v\f\r", p[i]) != NULL && p[i] != '\0')
		i++;
	in->continuation = i > indent && i < n && in->prev_key;
	if (in->continuation || i >= n || p[i] != '[')
		return false;
	in->prev_key = false;
	const char *close = memchr(p + i, ']', n - i);
	if (close != NULL)
		section_begin(in, p + i + 1, (size_t)(close - (p + i + 1)));
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
	struct ini *in = stream;
	if (in->failed || in->pos >= in->len)
		return NULL;
	const char *p = in->text + in->pos;
	const char *nl = memchr(p, '\n', in->len - in->pos);
	size_t n = nl != NULL ? (size_t)(nl - p) + 1 : in->len - in->pos;
	in->line++;
	if (in->service_only) {
		bool header = scan_line(in, p, n);
		if (in->failed)
			return NULL;
		if (in->skipping) {
			/* inih's continuation rule: what follows a key. */
			size_t i = 0;
			while (i < n && strchr(" \t\v\f\r", p[i]) != NULL)
				i++;
			if (!header && !in->continuation && i < n &&
			    p[i] != ';' && p[i] != '#' && p[i] != '\n')
				in->prev_key = memchr(p, '=', n) != NULL ||
				               memchr(p, ':', n) != NULL;
			in->pos += n;
			snprintf(str, (size_t)num, "\n");
			return str;
		}
	}
	if (n + 1 > (size_t)num) {
		config_ini_fail(in, in->line,
		                "line longer than %d bytes (continue a "
		                "long notice or holidays list on indented "
		                "lines)",
		                num - 2);
		return NULL;
	}
	if (memchr(p, '\0', n) != NULL) {
		config_ini_fail(in, in->line, "NUL byte in the file");
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	in->raw = p;
	in->rawlen = n;
	in->pos += n;
	if (!in->service_only)
		scan_line(in, p, n);
	return str;
}

/* Appends key = value to s; 0 (nomem set) if out of memory. */
static int
kv_add(struct ini *in, struct ini_sect *s, const char *key, const char *value,
       int line)
{
	if (s->nkv == s->capkv) {
		/* Grown by half: a section has a few keys, and 300,000
		 * sections of half-empty arrays add up. */
		size_t ncap = s->capkv != 0 ? s->capkv + s->capkv / 2 : 4;
		struct ini_kv *v = realloc(s->kv, ncap * sizeof(*v));
		if (v == NULL) {
			in->nomem = in->failed = true;
			return 0;
		}
		s->kv = v;
		s->capkv = ncap;
	}
	struct ini_kv *kv = &s->kv[s->nkv];
	kv->key = dup_n(key, strlen(key));
	kv->val = dup_n(value, strlen(value));
	kv->line = line;
	kv->used = false;
	if (kv->key == NULL || kv->val == NULL) {
		free(kv->key);
		free(kv->val);
		in->nomem = in->failed = true;
		return 0;
	}
	s->nkv++;
	return 1;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini *in = user;
	char lb[INI_LABEL_MAX];
	if (in->failed)
		return 0;
	if (in->nsects == 0) {
		config_ini_fail(in, in->line, "key %s before any [section]",
		                name);
		return 0;
	}
	struct ini_sect *s = &in->sects[in->nsects - 1];
	in->prev_key = true;
	/* inih and our reader must agree on the section (inih keeps at most
	 * 49 bytes of its name): refuse what could be read two ways. */
	if (strncmp(section, s->header, INI_SECTION_KEPT) != 0) {
		config_ini_fail(
		    in, in->line,
		    "key %s: cannot tell which section it belongs to "
		    "(a section header with unusual white space?)",
		    name);
		return 0;
	}
	/* inih cuts a value at " ;" (an inline comment).  A notice must
	 * reach customers whole, so refuse the line rather than cut it. */
	if (s->type == INI_NOTICE) {
		for (size_t i = 1; i < in->rawlen; i++)
			if (in->raw[i] == ';' && (in->raw[i - 1] == ' ' ||
			                          in->raw[i - 1] == '\t')) {
				config_ini_fail(
				    in, in->line,
				    "[notice %s] %s: \" ;\" starts a comment "
				    "and would cut the text; write \";\" "
				    "without a space before it",
				    s->name, name);
				return 0;
			}
	}
	for (size_t i = 0; i < s->nkv; i++) {
		struct ini_kv *kv = &s->kv[i];
		if (strcmp(kv->key, name) != 0)
			continue;
		if (!in->continuation) {
			config_ini_fail(in, in->line,
			                "%s %s: set twice (first on line %d)",
			                config_ini_label(s, lb), name,
			                kv->line);
			return 0;
		}
		if (s->type != INI_NOTICE &&
		    !(s->type == INI_CALENDAR &&
		      strcmp(name, "holidays") == 0)) {
			config_ini_fail(
			    in, in->line,
			    "an indented line continues the key above it "
			    "(%s %s), and only notice texts and a calendar's "
			    "holidays may continue: remove the indentation",
			    config_ini_label(s, lb), name);
			return 0;
		}
		/* A notice continues on indented lines, and so does a year's
		 * list of holidays: join with a space. */
		size_t a = strlen(kv->val), b = strlen(value);
		char *v = realloc(kv->val, a + b + 2);
		if (v == NULL) {
			in->nomem = in->failed = true;
			return 0;
		}
		v[a] = ' ';
		memcpy(v + a + 1, value, b + 1);
		kv->val = v;
		return 1;
	}
	return kv_add(in, s, name, value, in->line);
}

struct ini_kv *
config_ini_get(struct ini_sect *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			s->kv[i].used = true;
			return &s->kv[i];
		}
	return NULL;
}

void
config_ini_fail_kv(struct ini *in, const struct ini_sect *s,
                   const struct ini_kv *kv, const char *what)
{
	char lb[INI_LABEL_MAX];
	config_ini_fail(in, kv->line, "%s %s: %s (\"%s\")",
	                config_ini_label(s, lb), kv->key, what, kv->val);
}

/* Sections in order of type, then name, then file position (their
 * addresses in in->sects). */
static int
sect_cmp(const void *pa, const void *pb)
{
	const struct ini_sect *a = *(const struct ini_sect *const *)pa;
	const struct ini_sect *b = *(const struct ini_sect *const *)pb;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	int c = strcmp(a->name, b->name);
	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

/*
 * Sorts the sections (in->sorted) and refuses a section defined twice:
 * of each type in turn, the earliest in the file whose name came before
 * it, named with the line of that first one.
 */
static bool
index_sections(struct ini *in)
{
	in->sorted = calloc(in->nsects + 1, sizeof(*in->sorted));
	if (in->sorted == NULL) {
		in->nomem = in->failed = true;
		return false;
	}
	for (size_t i = 0; i < in->nsects; i++)
		in->sorted[i] = &in->sects[i];
	qsort(in->sorted, in->nsects, sizeof(*in->sorted), sect_cmp);
	for (int t = 0; t < INI_TYPES; t++) {
		const struct ini_sect *dup = NULL, *first = NULL;
		for (size_t i = 1; i < in->nsects; i++) {
			const struct ini_sect *a = in->sorted[i - 1],
			                      *s = in->sorted[i];
			if (s->type != (enum ini_type)t ||
			    a->type != s->type ||
			    strcmp(a->name, s->name) != 0)
				continue;
			/* s is a second (or later) one of its name: only a
			 * second can be the earliest. */
			if (i >= 2 && in->sorted[i - 2]->type == s->type &&
			    strcmp(in->sorted[i - 2]->name, s->name) == 0)
				continue;
			if (dup == NULL || s < dup) {
				dup = s;
				first = a;
			}
		}
		if (dup != NULL) {
			char lb[INI_LABEL_MAX];
			config_ini_fail(
			    in, dup->line,
			    "%s is defined twice (first on line %d)",
			    config_ini_label(dup, lb), first->line);
			return false;
		}
	}
	return true;
}

/* The section [type name], or NULL (names are unique by now). */
static struct ini_sect *
find_sect(struct ini *in, enum ini_type type, const char *name)
{
	size_t lo = 0, hi = in->nsects;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ini_sect *s = in->sorted[mid];
		int c = s->type != type ? (s->type < type ? -1 : 1)
		                        : strcmp(s->name, name);
		if (c == 0)
			return in->sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Lays each threshold change over the file's value of its key (or adds
 * the key), before the values are read and checked as usual. */
static bool
apply_overrides(struct ini *in, const struct config_override *ov, size_t nov)
{
	for (size_t i = 0; i < nov; i++) {
		enum ini_type type = ov[i].notice ? INI_NOTICE : INI_RULE;
		struct ini_sect *s = find_sect(in, type, ov[i].rule);
		if (s == NULL) {
			config_ini_fail(in, 0, "change by command: no [%s %s]",
			                ov[i].notice ? "notice" : "rule",
			                ov[i].rule);
			return false;
		}
		size_t k = 0;
		while (k < s->nkv && strcmp(s->kv[k].key, ov[i].key) != 0)
			k++;
		if (k == s->nkv) {
			if (!kv_add(in, s, ov[i].key, ov[i].value, s->line))
				return false;
			continue;
		}
		char *v = dup_n(ov[i].value, strlen(ov[i].value));
		if (v == NULL) {
			in->nomem = in->failed = true;
			return false;
		}
		free(s->kv[k].val);
		s->kv[k].val = v;
	}
	return true;
}

/* The engine's name for each of its section types. */
static const enum breaker_section engine_type[] = {
    [INI_PAIR] = BREAKER_SECTION_PAIR,
    [INI_PRODUCT] = BREAKER_SECTION_PRODUCT,
    [INI_RULE] = BREAKER_SECTION_RULE,
    [INI_NOTICE] = BREAKER_SECTION_NOTICE,
    [INI_CALENDAR] = BREAKER_SECTION_CALENDAR,
};

/* Hands every section but [service] to the engine's builder, which checks
 * them; the strings stay in `in` until it has finished. */
static void
build_engine(struct ini *in, struct breaker_config **out)
{
	struct breaker_config_builder *b =
	    breaker_config_begin(in->filename, in->err, in->errlen);
	if (b == NULL) {
		in->nomem = in->failed = true;
		return;
	}
	enum fxb_err e = FXB_OK;
	for (size_t i = 0; i < in->nsects && e == FXB_OK; i++) {
		const struct ini_sect *s = &in->sects[i];
		if (s->type == INI_SERVICE || s->type == INI_CLUSTER ||
		    s->type == INI_PEER)
			continue;
		e = breaker_config_section(b, engine_type[s->type], s->name,
		                           s->line);
		for (size_t k = 0; k < s->nkv && e == FXB_OK; k++)
			e = breaker_config_set(b, s->kv[k].key, s->kv[k].val,
			                       s->kv[k].line, &s->kv[k].used);
	}
	/* Whatever failed above, finish frees the builder (and says so). */
	e = breaker_config_finish(b, out);
	if (e == FXB_ERR_NOMEM)
		in->nomem = true;
	if (e != FXB_OK)
		in->failed = true;
}

/* Any key nobody read (neither config_service_read nor the engine's
 * builder) is unknown: the first in the file is named. */
static void
unknown_keys(struct ini *in)
{
	for (size_t i = 0; i < in->nsects; i++) {
		const struct ini_sect *s = &in->sects[i];
		for (size_t k = 0; k < s->nkv; k++)
			if (!s->kv[k].used) {
				config_ini_fail_kv(
				    in, s, &s->kv[k],
				    "unknown key in this section");
				return;
			}
	}
}

/* The second pass: [service], the cluster's sections, then (out not
 * NULL) the engine's sections, then, every value being good, the keys
 * nobody read. */
static void
build(struct ini *in, struct service_conf *sv, struct breaker_config **out)
{
	config_service_defaults(sv);
	for (size_t i = 0; i < in->nsects; i++)
		if (in->sects[i].type == INI_SERVICE &&
		    !config_service_read(in, &in->sects[i], sv))
			return;
	if (!config_cluster_read(in, sv))
		return;
	if (out != NULL) {
		build_engine(in, out);
		if (in->failed)
			return;
	}
	unknown_keys(in);
}

static void
parse_fini(struct ini *in)
{
	for (size_t i = 0; i < in->nsects; i++) {
		for (size_t k = 0; k < in->sects[i].nkv; k++) {
			free(in->sects[i].kv[k].key);
			free(in->sects[i].kv[k].val);
		}
		free(in->sects[i].kv);
	}
	free(in->sects);
	free(in->sorted);
}

static enum fxb_err
parse_text(const char *text, size_t len, const char *filename,
           bool service_only, const struct config_override *ov, size_t nov,
           struct service_conf *svc, struct breaker_config **out, char *err,
           size_t errlen)
{
	struct ini in;
	struct service_conf sv;
	struct breaker_config *cfg = NULL;
	enum fxb_err rc = FXB_ERR_CONFIG;

	memset(&in, 0, sizeof(in));
	in.service_only = service_only;
	in.filename = filename;
	in.text = text;
	in.len = len;
	in.err = err;
	in.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	int line = ini_parse_stream(read_line, &in, on_key, &in);
	if (!in.failed && line > 0)
		config_ini_fail(&in, line,
		                "syntax error: expected [section], key = "
		                "value, or a comment");
	if (!in.failed && index_sections(&in) && apply_overrides(&in, ov, nov))
		build(&in, &sv, service_only ? NULL : &cfg);
	if (!in.failed && service_only &&
	    find_sect(&in, INI_SERVICE, "") == NULL) {
		/* The defaults would be a guess: the file may have a
		 * misspelt [service]. */
		snprintf(err, errlen, "%s: no [service] section", filename);
		in.failed = true;
	}
	if (in.nomem)
		rc = FXB_ERR_NOMEM;
	else if (!in.failed)
		rc = FXB_OK;
	parse_fini(&in);
	if (rc != FXB_OK) {
		breaker_config_free(cfg);
		return rc;
	}
	if (svc != NULL)
		memcpy(svc, &sv, sizeof(sv)); /* padding too: callers memcmp */
	if (out != NULL)
		*out = cfg;
	else
		breaker_config_free(cfg);
	return FXB_OK;
}

enum fxb_err
config_parse(const char *text, size_t len, const char *filename,
             const struct config_override *ov, size_t nov,
             struct service_conf *svc, struct breaker_config **out, char *err,
             size_t errlen)
{
	return parse_text(text, len, filename, false, ov, nov, svc, out, err,
	                  errlen);
}

enum fxb_err
config_parse_service(const char *text, size_t len, const char *filename,
                     struct service_conf *svc, char *err, size_t errlen)
{
	return parse_text(text, len, filename, true, NULL, 0, svc, NULL, err,
	                  errlen);
}
