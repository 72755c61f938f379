/*
 * config_impl.h: the INI reader's state, shared by config_ini.c (the
 * text, its sections and keys) and config_service.c ([service],
 * [cluster] and [peer ID]).
 * Nothing outside config/ includes this.
 */
#ifndef CONFIG_IMPL_H
#define CONFIG_IMPL_H

#include <ini.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The section types of the file, [service] first: the order in which a
 * section defined twice is looked for. */
enum ini_type {
	INI_SERVICE,
	INI_PAIR,
	INI_PRODUCT,
	INI_RULE,
	INI_NOTICE,
	INI_CLUSTER,
	INI_PEER,
	INI_CALENDAR
};
#define INI_TYPES 7

struct ini_kv {
	char *key;
	char *val;
	int line;
	bool used; /* read ([service]) or seen by the engine: any other key
	              is unknown */
};

#define INI_SECTION_KEPT 49
struct ini_sect {
	enum ini_type type;
	/* The text between the brackets, as much as inih keeps of it (49
	 * bytes: its MAX_SECTION is 50): on_key compares only those. */
	char header[INI_SECTION_KEPT + 1];
	char name[BREAKER_ID_MAX + 1];
	int line;
	struct ini_kv *kv;
	size_t nkv, capkv;
};

struct ini {
	const char *filename;
	const char *text;
	size_t len, pos;
	int line;          /* line number of the line last read */
	bool continuation; /* that line continues the previous key */
	bool prev_key;     /* a key was read since the last header */
	const char *raw;   /* the line last read, as in the file */
	size_t rawlen;
	struct ini_sect *sects;
	size_t nsects, capsects;
	char *err;
	size_t errlen;
	bool failed;
	bool nomem;
	/* A service-only read, and whether the lines being read belong to
	 * a section other than [service] (handed to inih as blank). */
	bool service_only, skipping;
	/* The sections by type, name and file order (index_sections). */
	struct ini_sect **sorted;
};

/* "[type name]" (or "[service]") for messages. */
#define INI_LABEL_MAX (BREAKER_ID_MAX + 16)

/* config_ini.c */
void config_ini_fail(struct ini *in, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void config_ini_fail_kv(struct ini *in, const struct ini_sect *s,
                        const struct ini_kv *kv, const char *what);
const char *config_ini_label(const struct ini_sect *s, char *buf);
struct ini_kv *config_ini_get(struct ini_sect *s, const char *key);

/* config_service.c */
void config_service_defaults(struct service_conf *sv);
bool config_service_read(struct ini *in, struct ini_sect *s,
                         struct service_conf *sv);
/* [cluster] and the [peer ID] sections, once [service] is read (a peer's
 * values are checked against it); false having failed. */
bool config_cluster_read(struct ini *in, struct service_conf *sv);

#endif /* CONFIG_IMPL_H */
