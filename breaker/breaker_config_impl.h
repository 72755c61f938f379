/*
 * breaker_config_impl.h: the config builder's private state and the value
 * readers shared by breaker_config.c (sections, pairs, products, notices)
 * and breaker_config_rule.c (rules).  Nothing outside breaker/ includes
 * this.
 */
#ifndef BREAKER_CONFIG_IMPL_H
#define BREAKER_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "breaker_config.h"
#include "breaker_impl.h"

#define BREAKER_SECTION_TYPES 5

/* A key as handed over: the strings are the caller's (borrowed until
 * breaker_config_finish). */
struct conf_kv {
	const char *key;
	const char *val;
	int line;
	bool used;  /* read by a builder: any other key is unknown */
	bool *seen; /* the caller's flag, set when read (the caller then
	               refuses the key if nobody read it), or NULL */
};

struct conf_sect {
	enum breaker_section type;
	const char *name;
	int line;
	/* Its keys: b->kvs[first .. first + nkv), in one array for every
	 * section (they come a section at a time), so that 300,000
	 * sections do not cost 300,000 half-empty arrays; kv points there
	 * once breaker_config_finish starts. */
	size_t first, nkv;
	struct conf_kv *kv;
};

struct breaker_config_builder {
	const char *filename;
	char *err;
	size_t errlen;
	bool failed;
	bool nomem;
	struct conf_sect *sects;
	size_t nsects, capsects;
	struct conf_kv *kvs; /* every section's keys, in order */
	size_t nkvs, capkvs;
	struct breaker_config *cfg;
	/* Per section type: names in file order, their section positions,
	 * and a hash over them (built when the builder finishes). */
	const char **names[BREAKER_SECTION_TYPES];
	size_t *where[BREAKER_SECTION_TYPES];
	size_t count[BREAKER_SECTION_TYPES];
	struct name_index ix[BREAKER_SECTION_TYPES];
};

/* "[type name]" for messages. */
#define CONF_LABEL_MAX (BREAKER_ID_MAX + 16)

/* breaker_config.c: reporting; the first problem stops the build. */
void breaker_conf_fail(struct breaker_config_builder *b, int line,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void breaker_conf_fail_kv(struct breaker_config_builder *b,
                          const struct conf_sect *s, const struct conf_kv *kv,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *breaker_conf_label(const struct conf_sect *s, char *buf);
bool breaker_conf_check_id(struct breaker_config_builder *b,
                           const struct conf_sect *s);
void breaker_conf_copy_id(char *dst, const char *name);

/* breaker_config.c: keys and values.  Each value reader returns false
 * (having reported) on a bad value. */
/* breaker_conf_use marks kv read; breaker_conf_get finds and marks. */
void breaker_conf_use(struct conf_kv *kv);
struct conf_kv *breaker_conf_get(struct conf_sect *s, const char *key);
struct conf_kv *breaker_conf_need(struct breaker_config_builder *b,
                                  struct conf_sect *s, const char *key);
bool breaker_conf_duration(struct breaker_config_builder *b,
                           struct conf_sect *s, struct conf_kv *kv,
                           bool positive, fxb_time *out);
bool breaker_conf_decimal_err(struct breaker_config_builder *b,
                              struct conf_sect *s, struct conf_kv *kv,
                              enum fxb_err e, const char *what,
                              const char *rule);
bool breaker_conf_price(struct breaker_config_builder *b, struct conf_sect *s,
                        struct conf_kv *kv, int64_t *out);
bool breaker_conf_pct(struct breaker_config_builder *b, struct conf_sect *s,
                      struct conf_kv *kv, int64_t *out);
bool breaker_conf_int(struct breaker_config_builder *b, struct conf_sect *s,
                      struct conf_kv *kv, int64_t min, int64_t max,
                      int64_t *out);
bool breaker_conf_word(struct breaker_config_builder *b, struct conf_sect *s,
                       struct conf_kv *kv, const char *const *words,
                       size_t nwords, const char *choices, int *out);
int32_t breaker_conf_find(const struct breaker_config_builder *b,
                          enum breaker_section type, const char *name);

/* breaker_config_rule.c */
bool breaker_conf_rule(struct breaker_config_builder *b, struct conf_sect *s,
                       struct breaker_rule_conf *rc);

/* breaker_config.c: the session of calendar cal named name (len bytes),
 * BREAKER_SESSION_OFF for "off"; false (reported against kv) if none. */
bool breaker_conf_session(struct breaker_config_builder *b,
                          struct conf_sect *s, struct conf_kv *kv, int32_t cal,
                          const char *name, size_t len, int *out);

#endif /* BREAKER_CONFIG_IMPL_H */
