/*
 * override.c: changes by command laid over the config file: a rule's trip
 * level (threshold) or a [notice]'s text, put in force by swapping the
 * engine to the file's config with the changes on top (every rule keeps
 * its state), logged as rows, kept across restarts while the file is the
 * one they were made over, and dropped (logged) once it changes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "daemon_impl.h"

/* The changes by command in force, as overrides for the config parser. */
static size_t
overrides_of(const struct daemon *d, struct config_override *ov)
{
	for (size_t i = 0; i < d->nchanges; i++)
		ov[i] = (struct config_override){
		    d->changes[i].rule, d->changes[i].key, d->changes[i].value,
		    d->changes[i].notice};
	return d->nchanges;
}

/* A threshold_change or threshold_dropped row; returns its seq. */
static int64_t
log_threshold(struct daemon *d, const char *event, const struct cmd_change *t,
              const struct threshold_change *tc, int64_t by, const char *who,
              const char *why)
{
	json_t *o = json_object();
	json_object_set_new(o, t->notice ? "notice" : "rule",
	                    json_string(t->rule));
	json_object_set_new(o, "key", json_string(t->key));
	json_object_set_new(o, "value", json_string(t->value));
	if (tc != NULL) {
		json_object_set_new(o, "from", json_string(tc->from));
		json_object_set_new(o, "to", json_string(tc->to));
		json_object_set_new(o, "loosens",
		                    json_boolean(tc->to_cmp > tc->from_cmp));
	}
	json_object_set_new(o, "config_hash", json_string(d->config_hash));
	if (who != NULL)
		json_object_set_new(o, "by", json_string(who));
	if (by > 0)
		json_object_set_new(o, "request", json_integer(by));
	if (why != NULL)
		json_object_set_new(o, "why", json_string(why));
	/* A change that puts the file's value back ends the change. */
	if (tc != NULL && why != NULL)
		json_object_set_new(o, "ends", json_true());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	int64_t seq =
	    events_service_rule(d, event, t->notice ? NULL : t->rule, s);
	free(s);
	return seq;
}

static int
change_log_row(void *arg, const struct ledger_row *row, int64_t logged_at)
{
	struct change_log *tl = arg;
	bool notice = strncmp(row->event, "notice_", 7) == 0;
	bool change = strcmp(row->event, "threshold_change") == 0 ||
	              strcmp(row->event, "notice_change") == 0;
	json_error_t jerr;
	(void)logged_at;
	if (!change && strcmp(row->event, "threshold_dropped") != 0 &&
	    strcmp(row->event, "notice_dropped") != 0)
		return 0;
	json_t *o = json_loads(row->detail, 0, &jerr);
	const char *rule =
	    json_string_value(json_object_get(o, notice ? "notice" : "rule"));
	const char *key = json_string_value(json_object_get(o, "key"));
	const char *value = json_string_value(json_object_get(o, "value"));
	const char *hash =
	    json_string_value(json_object_get(o, "config_hash"));
	/* A change back to the file's value ends the change, like a drop. */
	if (json_is_true(json_object_get(o, "ends")))
		change = false;
	if (rule != NULL && key != NULL && value != NULL && hash != NULL) {
		size_t i = 0;
		while (i < tl->n && (tl->t[i].notice != notice ||
		                     strcmp(tl->t[i].rule, rule) != 0 ||
		                     strcmp(tl->t[i].key, key) != 0))
			i++;
		if (!change && i < tl->n) {
			tl->n--;
			tl->t[i] = tl->t[tl->n];
			memcpy(tl->hash[i], tl->hash[tl->n], 65);
		} else if (change && i < CHANGES_MAX) {
			snprintf(tl->t[i].rule, sizeof(tl->t[i].rule), "%s",
			         rule);
			snprintf(tl->t[i].key, sizeof(tl->t[i].key), "%s",
			         key);
			snprintf(tl->t[i].value, sizeof(tl->t[i].value), "%s",
			         value);
			tl->t[i].notice = notice;
			snprintf(tl->hash[i], 65, "%s", hash);
			if (i == tl->n)
				tl->n++;
		}
	}
	json_decref(o);
	return 0;
}

/*
 * override_restore, at start, before the engine exists: lays the changes
 * by command the log
 * holds in force over the config, if they were made over this very file.
 * Leaves in tl those that were not (the file changed while the service
 * was down), to be logged as dropped once rows can be written.  false if
 * the log or the file cannot be read: starting on the file's values would
 * silently undo a tightening.
 */
bool
override_restore(struct daemon *d, struct change_log *tl)
{
	struct config_override ov[CHANGES_MAX];
	struct breaker_config *cfg = NULL;
	struct ledger_filter f;
	char hash[65], err[512];
	size_t stale = 0;

	memset(&f, 0, sizeof(f));
	f.kind = "service";
	if (ledger_query(d->ledger, &f, change_log_row, tl) != FXB_OK) {
		log_error("cannot read the changes by command from the log");
		return false;
	}
	for (size_t i = 0; i < tl->n; i++)
		if (strcmp(tl->hash[i], d->config_hash) == 0)
			d->changes[d->nchanges++] = tl->t[i];
		else
			tl->t[stale++] = tl->t[i];
	tl->n = stale;
	if (d->nchanges == 0)
		return true;
	err[0] = '\0';
	if (config_file_load_over(d->config_path, ov, overrides_of(d, ov),
	                          NULL, &cfg, hash, err,
	                          sizeof(err)) != FXB_OK ||
	    strcmp(hash, d->config_hash) != 0) {
		log_error(
		    "cannot lay the logged changes by command over %s%s%s",
		    d->config_path, err[0] != '\0' ? ": " : "", err);
		breaker_config_free(cfg);
		return false;
	}
	breaker_config_free(d->cfg);
	d->cfg = cfg;
	log_info("%zu changes by command from the log are in force "
	         "(thresholds, notices)",
	         d->nchanges);
	return true;
}

static void
orphan_row(void *arg, const char *rule, const char *scope, bool on_pair,
           int64_t susp)
{
	events_retire(
	    arg, rule, scope, on_pair, susp,
	    "its rule or scope left the config, or changed scope, kind "
	    "or mode");
}

static void
plan_orphan_row(void *arg, const char *scope, const struct breaker_plan *p)
{
	events_plan_lapsed(arg, scope, p->on_pair, p->plan, p->from, p->until,
	                   p->on_pair ? "its pair left the config"
	                              : "its product left the config");
}

/*
 * swap_config runs cfg (whose file has this hash) in place of the running
 * config: a new engine takes over every rule's state.  Every product then
 * waits for the next row, which the caller logs now (the reload or the
 * threshold change).  mu held.  Frees cfg and returns false on out of
 * memory, with nothing changed.
 */
static bool
swap_config(struct daemon *d, struct breaker_config *cfg, const char *hash)
{
	struct breaker *engine = NULL;
	struct gate gate;
	if (breaker_new(cfg, breaker_now(d->engine), events_sink, d,
	                &engine) != FXB_OK ||
	    !gate_build_engine(&gate, engine, 0)) {
		breaker_free(engine);
		breaker_config_free(cfg);
		return false;
	}
	struct breaker *old = d->engine;
	struct breaker_config *oldcfg = d->cfg;
	/* Orphans are retired against the old engine and its gate; a
	 * plan of a scope that left lapses (it can never start). */
	breaker_transfer(old, engine, orphan_row, plan_orphan_row, d);
	d->engine = engine;
	d->cfg = cfg;
	/* Every product waits for what is queued now (retired ends, the
	 * caller's row): which reopening each waited for is not carried. */
	gate_free(&d->gate);
	d->gate = gate;
	events_gate_all_next(d);
	memcpy(d->config_hash, hash, sizeof(d->config_hash));
	breaker_free(old);
	breaker_config_free(oldcfg);
	return true;
}

static const struct breaker_rule_conf *
rule_conf(const struct breaker_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nrules; i++)
		if (strcmp(cfg->rules[i].id, id) == 0)
			return &cfg->rules[i];
	return NULL;
}

/*
 * The running config with ch laid over it as well (in place of an earlier
 * change of the same key): *out, and *slot, ch's place in d->changes.  The
 * file must be the one running: laid over a file nobody has reloaded, a
 * change would also put that file's unreviewed edits in force.
 */
static enum fxb_err
config_with(struct daemon *d, const struct config_override *ch,
            struct breaker_config **out, char *hash, size_t *slot, char *msg,
            size_t cap)
{
	struct config_override ov[CHANGES_MAX];
	char err[512];
	size_t n = overrides_of(d, ov), i = 0;

	/* A change needs its row: none while the log cannot be written. */
	if (atomic_load(&d->degraded)) {
		snprintf(msg, cap,
		         "the suspension log cannot be written: no "
		         "changes by command");
		return FXB_ERR_LEDGER;
	}
	if (ch->value[0] == '\0' ||
	    strlen(ch->value) >= sizeof(d->changes[0].value)) {
		snprintf(msg, cap, "value: 1 to %zu characters",
		         sizeof(d->changes[0].value) - 1);
		return FXB_ERR_RANGE;
	}
	while (i < n && (ov[i].notice != ch->notice ||
	                 strcmp(ov[i].rule, ch->rule) != 0 ||
	                 strcmp(ov[i].key, ch->key) != 0))
		i++;
	if (i == n && n == CHANGES_MAX) {
		snprintf(msg, cap,
		         "%d changes by command are in force: put them in "
		         "the config file and reload",
		         CHANGES_MAX);
		return FXB_ERR_LIMIT;
	}
	ov[i] = *ch;
	enum fxb_err e =
	    config_file_load_over(d->config_path, ov, i == n ? n + 1 : n, NULL,
	                          out, hash, err, sizeof(err));
	if (e != FXB_OK) {
		/* The file is fine: it is the change that is not. */
		snprintf(msg, cap, "with this change, %s", err);
		return e;
	}
	if (strcmp(hash, d->config_hash) != 0) {
		breaker_config_free(*out);
		*out = NULL;
		snprintf(msg, cap,
		         "the config file changed since it was loaded: "
		         "reload it first, then ask again");
		return FXB_ERR_CONFIG;
	}
	*slot = i;
	return FXB_OK;
}

/*
 * Puts cfg (from config_with) in force and keeps ch at slot in d->changes, or,
 * when ch puts back the file's own value (ends), forgets it: a change
 * that changes nothing would otherwise stand.  Frees cfg.  t gets ch.
 */
static enum fxb_err
config_commit(struct daemon *d, struct breaker_config *cfg, const char *hash,
              const struct config_override *ch, size_t slot, bool ends,
              struct cmd_change *t, char *msg, size_t cap)
{
	if (!swap_config(d, cfg, hash)) {
		snprintf(msg, cap, "out of memory");
		return FXB_ERR_NOMEM;
	}
	snprintf(t->rule, sizeof(t->rule), "%s", ch->rule);
	snprintf(t->key, sizeof(t->key), "%s", ch->key);
	snprintf(t->value, sizeof(t->value), "%s", ch->value);
	t->notice = ch->notice;
	if (ends && slot < d->nchanges)
		d->changes[slot] = d->changes[--d->nchanges];
	else if (!ends) {
		d->changes[slot] = *t;
		if (slot == d->nchanges)
			d->nchanges++;
	}
	daemon_timer_poke(d);
	return FXB_OK;
}

/* The config file as written, without the changes by command. */
static struct breaker_config *
file_config(struct daemon *d)
{
	struct breaker_config *file = NULL;
	char err[512];
	if (config_file_load(d->config_path, NULL, &file, NULL, err,
	                     sizeof(err)) != FXB_OK)
		return NULL;
	return file;
}

/* The config as it would be without the change at slot: the file with
 * every other change by command laid over it.  What a key would be
 * without its change, for a level by session the file leaves to the
 * plain key, depends on the plain key's own change. */
static struct breaker_config *
config_without(struct daemon *d, size_t slot)
{
	struct config_override ov[CHANGES_MAX];
	struct breaker_config *cfg = NULL;
	char err[512];
	size_t n = overrides_of(d, ov);
	if (slot < n)
		ov[slot] = ov[--n];
	if (config_file_load_over(d->config_path, ov, n, NULL, &cfg, NULL, err,
	                          sizeof(err)) != FXB_OK)
		return NULL;
	return cfg;
}

enum fxb_err
daemon_threshold(struct daemon *d, const char *rule, const char *key,
                 const char *value, bool apply, int64_t by, const char *who,
                 struct threshold_change *tc, char *msg, size_t cap)
{
	const struct config_override ch = {rule, key, value, false};
	const struct breaker_rule_conf *rc = rule_conf(d->cfg, rule);
	struct breaker_config *cfg = NULL;
	char hash[65];
	size_t slot;

	if (rc == NULL) {
		snprintf(msg, cap, "no such rule \"%.64s\"", rule);
		return FXB_ERR_UNKNOWN_RULE;
	}
	if (strlen(key) >= sizeof(d->changes[0].key) ||
	    !breaker_threshold(d->cfg, rc, key, &tc->from_cmp, tc->from)) {
		snprintf(msg, cap,
		         "\"%.80s\" is not a level a command may change on "
		         "%s rule %s (trip, warn, pct, max_move, or "
		         "KEY@SESSION of its calendar): change it in the file "
		         "and reload",
		         key, breaker_kind_name(rc->kind), rc->id);
		return FXB_ERR_RANGE;
	}
	enum fxb_err e = config_with(d, &ch, &cfg, hash, &slot, msg, cap);
	if (e != FXB_OK)
		return e;
	breaker_threshold(cfg, rule_conf(cfg, rule), key, &tc->to_cmp, tc->to);
	if (!apply) {
		breaker_config_free(cfg);
		return FXB_OK;
	}
	/* Back to what the key would be without a change: the change ends. */
	struct breaker_config *base = config_without(d, slot);
	char base_value[BREAKER_DECIMAL_BUFSZ] = "";
	int64_t base_cmp;
	if (base != NULL && rule_conf(base, rule) != NULL)
		breaker_threshold(base, rule_conf(base, rule), key, &base_cmp,
		                  base_value);
	breaker_config_free(base);
	bool ends = strcmp(base_value, tc->to) == 0;
	struct cmd_change t;
	e = config_commit(d, cfg, hash, &ch, slot, ends, &t, msg, cap);
	if (e == FXB_OK)
		tc->seq = log_threshold(
		    d, "threshold_change", &t, tc, by, who,
		    ends ? "back to the file's value: the change ends" : NULL);
	return e;
}

enum fxb_err
daemon_notice_edit(struct daemon *d, const char *id, const char *lang,
                   const char *text, const char *who, int64_t *seq, char *msg,
                   size_t cap)
{
	const struct config_override ch = {id, lang, text, true};
	const struct breaker_notice_conf *nc = onotice_conf(d->cfg, id);
	struct breaker_config *cfg = NULL;
	char hash[65];
	size_t slot;

	if (nc == NULL) {
		snprintf(msg, cap, "no such notice \"%.64s\"", id);
		return FXB_ERR_UNKNOWN_NOTICE;
	}
	bool ko = strcmp(lang, "ko") == 0;
	if (!ko && strcmp(lang, "en") != 0) {
		snprintf(msg, cap, "lang: ko or en");
		return FXB_ERR_RANGE;
	}
	char *from = strdup(ko ? nc->ko : nc->en);
	if (from == NULL)
		return FXB_ERR_NOMEM;
	enum fxb_err e = config_with(d, &ch, &cfg, hash, &slot, msg, cap);
	if (e != FXB_OK) {
		free(from);
		return e;
	}
	const struct breaker_notice_conf *nn = onotice_conf(cfg, id);
	const char *to = ko ? nn->ko : nn->en;
	if (strcmp(to, from) == 0) {
		breaker_config_free(cfg);
		free(from);
		snprintf(msg, cap, "no change: that is the %s text already",
		         lang);
		return FXB_ERR_RANGE;
	}
	char *to_copy = strdup(to);
	struct breaker_config *file = file_config(d);
	const struct breaker_notice_conf *fn =
	    file != NULL ? onotice_conf(file, id) : NULL;
	bool ends = fn != NULL && to_copy != NULL &&
	            strcmp(ko ? fn->ko : fn->en, to_copy) == 0;
	breaker_config_free(file);
	struct cmd_change t;
	if (to_copy == NULL ||
	    (e = config_commit(d, cfg, hash, &ch, slot, ends, &t, msg, cap)) !=
	        FXB_OK) {
		if (to_copy == NULL)
			breaker_config_free(cfg);
		free(from);
		free(to_copy);
		return to_copy == NULL ? FXB_ERR_NOMEM : e;
	}
	int64_t shown = onotice_refresh(d, id);
	json_t *o = json_object();
	json_object_set_new(o, "notice", json_string(id));
	json_object_set_new(o, "key", json_string(lang));
	json_object_set_new(o, "value", json_string(text));
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "to", json_string(to_copy));
	json_object_set_new(o, "open_suspensions", json_integer(shown));
	json_object_set_new(o, "config_hash", json_string(d->config_hash));
	json_object_set_new(o, "by", json_string(who));
	if (ends)
		json_object_set_new(o, "ends", json_true());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	*seq = events_service(d, "notice_change", s);
	free(s);
	free(from);
	free(to_copy);
	return FXB_OK;
}

/* Logs each change by command in force as dropped, and forgets them. */
static void
drop_changes(struct daemon *d, const char *why)
{
	for (size_t i = 0; i < d->nchanges; i++) {
		log_threshold(d,
		              d->changes[i].notice ? "notice_dropped"
		                                   : "threshold_dropped",
		              &d->changes[i], NULL, 0, NULL, why);
		if (d->changes[i].notice)
			onotice_refresh(d, d->changes[i].rule);
	}
	d->nchanges = 0;
}

void
override_log_dropped(struct daemon *d, const struct change_log *tl)
{
	for (size_t i = 0; i < tl->n; i++)
		log_threshold(d,
		              tl->t[i].notice ? "notice_dropped"
		                              : "threshold_dropped",
		              &tl->t[i], NULL, 0, NULL,
		              "the config file changed while the service was "
		              "down");
}

bool
override_reload(struct daemon *d, struct breaker_config *cfg, const char *hash)
{
	struct breaker_config *over = NULL;
	struct config_override ov[CHANGES_MAX];
	char err[512], hash2[65];

	/* Threshold changes hold while the file is the one they were made
	 * over; once it changes, the file wins. */
	bool keep = d->nchanges > 0 && strcmp(hash, d->config_hash) == 0 &&
	            config_file_load_over(d->config_path, ov,
	                                  overrides_of(d, ov), NULL, &over,
	                                  hash2, err, sizeof(err)) == FXB_OK &&
	            strcmp(hash2, hash) == 0;
	if (keep) {
		breaker_config_free(cfg);
		cfg = over;
	} else
		breaker_config_free(over);
	if (!swap_config(d, cfg, hash))
		return false;
	if (!keep)
		drop_changes(d, "the config file changed");
	return true;
}
