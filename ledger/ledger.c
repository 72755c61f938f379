/*
 * ledger.c: the suspension log in SQLite (see ledger.h).
 *
 * Durability is the point: WAL with synchronous=FULL, one transaction per
 * batch, every statement prepared once.  SQLite's result codes stop here:
 * callers get FXB_ERR_LEDGER and a message naming the SQLite error.
 * Automatic WAL checkpoints are off; the writer thread runs passive ones
 * between commits (PERF-NOTES: an automatic checkpoint stalls the commit
 * that triggers it by 13-20 ms).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"

/* How long a write waits for a lock held by another process (a reader's
 * `sqlite3` shell, a backup) before the batch is refused and retried. */
#define LEDGER_BUSY_MS 200

enum stmt {
	ST_LOG,
	ST_STATE_OPEN,
	ST_STATE_CLOSE,
	ST_NOTICE_OPEN,
	ST_NOTICE_CLOSE,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_LOG] = "INSERT INTO suspension_log (seq, t, event, rule, kind, "
               "scope, scope_type, suspension, mode, detail, logged_at) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_STATE_OPEN] = "INSERT INTO breaker_state (suspension, rule, kind, "
                      "scope, scope_type, event, since, until, dir, "
                      "latched, mode, reason) VALUES (?1, ?2, ?3, ?4, ?5, "
                      "?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_STATE_CLOSE] = "DELETE FROM breaker_state WHERE suspension = ?1",
    [ST_NOTICE_OPEN] = "INSERT INTO notices (suspension, notice_id, scope, "
                       "opened_at, ko, en) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_NOTICE_CLOSE] = "UPDATE notices SET closed_at = ?2, closed_ko = ?3, "
                        "closed_en = ?4 WHERE suspension = ?1 AND "
                        "closed_at IS NULL",
};

struct ledger {
	sqlite3 *db;
	bool readonly;
	sqlite3_stmt *st[ST_COUNT];
};

static void
set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s: %s", what,
		         db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

static int
exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK && errlen > 0)
		snprintf(err, errlen, "%s",
		         msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Applies every migration newer than user_version, each in its own
 * transaction with its version bump, so a crash leaves a whole step. */
static enum fxb_err
migrate(sqlite3 *db, char *err, size_t errlen)
{
	int have = user_version(db);
	int latest = ledger_migrations[ledger_nmigrations - 1].version;
	char sql[64];

	if (have < 0) {
		set_err(err, errlen, "reading user_version", db);
		return FXB_ERR_LEDGER;
	}
	if (have > latest) {
		snprintf(err, errlen,
		         "schema version %d is newer than this binary's %d",
		         have, latest);
		return FXB_ERR_LEDGER;
	}
	for (int i = 0; i < ledger_nmigrations; i++) {
		const struct ledger_migration *m = &ledger_migrations[i];
		if (m->version <= have)
			continue;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		         m->version);
		if (exec(db, "BEGIN IMMEDIATE", err, errlen) != SQLITE_OK)
			return FXB_ERR_LEDGER;
		if (exec(db, m->sql, err, errlen) != SQLITE_OK ||
		    exec(db, sql, err, errlen) != SQLITE_OK) {
			exec(db, "ROLLBACK", NULL, 0);
			return FXB_ERR_LEDGER;
		}
		if (exec(db, "COMMIT", err, errlen) != SQLITE_OK)
			return FXB_ERR_LEDGER;
	}
	return FXB_OK;
}

static enum fxb_err
quick_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	enum fxb_err rc = FXB_OK;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		set_err(err, errlen, "quick_check", db);
		return FXB_ERR_LEDGER;
	}
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		snprintf(err, errlen, "quick_check: %s",
		         sqlite3_column_text(st, 0) != NULL
		             ? (const char *)sqlite3_column_text(st, 0)
		             : sqlite3_errmsg(db));
		rc = FXB_ERR_LEDGER;
	}
	sqlite3_finalize(st);
	return rc;
}

enum fxb_err
ledger_open(const char *path, bool readonly, struct ledger **out, char *err,
            size_t errlen)
{
	struct ledger *lg = calloc(1, sizeof(*lg));
	enum fxb_err rc = FXB_ERR_LEDGER;
	int flags = readonly ? SQLITE_OPEN_READONLY
	                     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	if (lg == NULL)
		return FXB_ERR_NOMEM;
	lg->readonly = readonly;
	if (sqlite3_open_v2(path, &lg->db, flags | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		set_err(err, errlen, path, lg->db);
		goto fail;
	}
	sqlite3_busy_timeout(lg->db, LEDGER_BUSY_MS);
	if (!readonly) {
		if (exec(lg->db,
		         "PRAGMA journal_mode = WAL; PRAGMA synchronous = "
		         "FULL; "
		         "PRAGMA wal_autocheckpoint = 0; "
		         "PRAGMA foreign_keys = ON",
		         err, errlen) != SQLITE_OK ||
		    (rc = migrate(lg->db, err, errlen)) != FXB_OK)
			goto fail;
		rc = FXB_ERR_LEDGER;
	} else if (user_version(lg->db) !=
	           ledger_migrations[ledger_nmigrations - 1].version) {
		snprintf(err, errlen,
		         "%s: schema version %d, this binary reads %d", path,
		         user_version(lg->db),
		         ledger_migrations[ledger_nmigrations - 1].version);
		goto fail;
	}
	if (quick_check(lg->db, err, errlen) != FXB_OK)
		goto fail;
	for (int i = 0; !readonly && i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(lg->db, stmt_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &lg->st[i],
		                       NULL) != SQLITE_OK) {
			set_err(err, errlen, "prepare", lg->db);
			goto fail;
		}
	*out = lg;
	return FXB_OK;
fail:
	ledger_close(lg);
	return rc;
}

void
ledger_close(struct ledger *lg)
{
	if (lg == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(lg->st[i]);
	if (lg->db != NULL && !lg->readonly)
		sqlite3_wal_checkpoint_v2(
		    lg->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_close(lg->db);
	free(lg);
}

int64_t
ledger_last_seq(struct ledger *lg)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(lg->db, "SELECT max(seq) FROM suspension_log",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Binds a string or NULL. */
static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s != NULL ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
	                 : sqlite3_bind_null(st, i);
}

static int
bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	return t != FXB_NEVER ? sqlite3_bind_int64(st, i, t)
	                      : sqlite3_bind_null(st, i);
}

/* Runs a bound statement to completion and resets it. */
static int
step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
append_row(struct ledger *lg, const struct ledger_row *r, int64_t now)
{
	sqlite3_stmt *st = lg->st[ST_LOG];
	sqlite3_bind_int64(st, 1, r->seq);
	sqlite3_bind_int64(st, 2, r->t);
	bind_text(st, 3, r->event);
	bind_text(st, 4, r->rule);
	bind_text(st, 5, r->kind);
	bind_text(st, 6, r->scope);
	bind_text(st, 7, r->scope_type);
	if (r->suspension > 0)
		sqlite3_bind_int64(st, 8, r->suspension);
	bind_text(st, 9, r->shadow ? "shadow" : "enforce");
	bind_text(st, 10, r->detail != NULL ? r->detail : "{}");
	sqlite3_bind_int64(st, 11, now);
	int rc = step(st);
	if (rc != SQLITE_OK)
		return rc;

	if (r->effect == LEDGER_OPENS) {
		st = lg->st[ST_STATE_OPEN];
		sqlite3_bind_int64(st, 1, r->seq);
		bind_text(st, 2, r->rule);
		bind_text(st, 3, r->kind);
		bind_text(st, 4, r->scope);
		bind_text(st, 5, r->scope_type);
		bind_text(st, 6, r->event);
		sqlite3_bind_int64(st, 7, r->t);
		bind_time(st, 8, r->until);
		sqlite3_bind_int(st, 9, r->dir);
		sqlite3_bind_int(st, 10, r->latched);
		bind_text(st, 11, r->shadow ? "shadow" : "enforce");
		bind_text(st, 12, r->reason);
		if ((rc = step(st)) != SQLITE_OK)
			return rc;
		if (r->notice_id != NULL) {
			st = lg->st[ST_NOTICE_OPEN];
			sqlite3_bind_int64(st, 1, r->seq);
			bind_text(st, 2, r->notice_id);
			bind_text(st, 3, r->scope);
			sqlite3_bind_int64(st, 4, r->t);
			bind_text(st, 5, r->notice_ko);
			bind_text(st, 6, r->notice_en);
			if ((rc = step(st)) != SQLITE_OK)
				return rc;
		}
	} else if (r->effect == LEDGER_CLOSES) {
		st = lg->st[ST_STATE_CLOSE];
		sqlite3_bind_int64(st, 1, r->suspension);
		if ((rc = step(st)) != SQLITE_OK)
			return rc;
		if (r->notice_ko != NULL) {
			st = lg->st[ST_NOTICE_CLOSE];
			sqlite3_bind_int64(st, 1, r->suspension);
			sqlite3_bind_int64(st, 2, r->t);
			bind_text(st, 3, r->notice_ko);
			bind_text(st, 4, r->notice_en);
			if ((rc = step(st)) != SQLITE_OK)
				return rc;
		}
	}
	return SQLITE_OK;
}

enum fxb_err
ledger_append(struct ledger *lg, const struct ledger_row *rows, size_t n,
              int64_t now, char *err, size_t errlen)
{
	if (lg->readonly) {
		snprintf(err, errlen, "the ledger is open read-only");
		return FXB_ERR_LEDGER;
	}
	if (exec(lg->db, "BEGIN IMMEDIATE", err, errlen) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	for (size_t i = 0; i < n; i++) {
		if (append_row(lg, &rows[i], now) != SQLITE_OK) {
			set_err(err, errlen, "append", lg->db);
			exec(lg->db, "ROLLBACK", NULL, 0);
			return FXB_ERR_LEDGER;
		}
	}
	if (exec(lg->db, "COMMIT", err, errlen) != SQLITE_OK) {
		exec(lg->db, "ROLLBACK", NULL, 0);
		return FXB_ERR_LEDGER;
	}
	return FXB_OK;
}

void
ledger_checkpoint(struct ledger *lg)
{
	sqlite3_wal_checkpoint_v2(lg->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	                          NULL, NULL);
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t
col_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL
	           ? FXB_NEVER
	           : sqlite3_column_int64(st, i);
}

enum fxb_err
ledger_states(struct ledger *lg, ledger_state_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(
	        lg->db,
	        "SELECT suspension, rule, kind, scope, "
	        "scope_type, event, since, until, dir, latched, "
	        "mode, reason FROM breaker_state ORDER BY "
	        "suspension",
	        -1, &st, NULL) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_state s = {
		    .suspension = sqlite3_column_int64(st, 0),
		    .rule = col_text(st, 1),
		    .kind = col_text(st, 2),
		    .scope = col_text(st, 3),
		    .scope_type = col_text(st, 4),
		    .event = col_text(st, 5),
		    .since = sqlite3_column_int64(st, 6),
		    .until = col_time(st, 7),
		    .dir = sqlite3_column_int(st, 8),
		    .latched = sqlite3_column_int(st, 9) != 0,
		    .shadow = strcmp(col_text(st, 10), "shadow") == 0,
		    .reason = col_text(st, 11),
		};
		if (fn(arg, &s) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FXB_OK : FXB_ERR_LEDGER;
}

enum fxb_err
ledger_resumes(struct ledger *lg, const char *rule, int64_t since,
               ledger_time_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT t FROM suspension_log WHERE rule = ?1 "
	                       "AND event = 'resume' AND t >= ?2 ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	bind_text(st, 1, rule);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, sqlite3_column_int64(st, 0)) != 0)
			break;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FXB_OK : FXB_ERR_LEDGER;
}

enum fxb_err
ledger_query(struct ledger *lg, const struct ledger_filter *f,
             ledger_row_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(
	        lg->db,
	        "SELECT seq, t, event, rule, kind, scope, scope_type, "
	        "suspension, mode, detail, logged_at FROM suspension_log "
	        "WHERE (?1 IS NULL OR scope = ?1) AND (?2 IS NULL OR rule = "
	        "?2) "
	        "AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR event = ?4) "
	        "AND t >= ?5 AND (?6 = 0 OR t < ?6) ORDER BY seq "
	        "LIMIT CASE WHEN ?7 > 0 THEN ?7 ELSE -1 END",
	        -1, &st, NULL) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	bind_text(st, 1, f->scope);
	bind_text(st, 2, f->rule);
	bind_text(st, 3, f->kind);
	bind_text(st, 4, f->event);
	sqlite3_bind_int64(st, 5, f->from);
	sqlite3_bind_int64(st, 6, f->to);
	sqlite3_bind_int64(st, 7, f->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_row r = {
		    .seq = sqlite3_column_int64(st, 0),
		    .t = sqlite3_column_int64(st, 1),
		    .event = col_text(st, 2),
		    .rule = col_text(st, 3),
		    .kind = col_text(st, 4),
		    .scope = col_text(st, 5),
		    .scope_type = col_text(st, 6),
		    .suspension = sqlite3_column_int64(st, 7),
		    .shadow = col_text(st, 8) != NULL &&
		              strcmp(col_text(st, 8), "shadow") == 0,
		    .detail = col_text(st, 9),
		};
		if (fn(arg, &r, sqlite3_column_int64(st, 10)) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FXB_OK : FXB_ERR_LEDGER;
}
