/*
 * ledger_open.c: a ledger opened and closed: the database in WAL mode
 * with synchronous=FULL, the migrations built into the binary, the hash
 * chain set up (the log id, hashes for rows from before the chain, the
 * tail the next row chains from), a quick_check after an unclean stop;
 * and the two questions a start asks of the log's end.
 *
 * Automatic WAL checkpoints are off; the writer thread runs passive ones
 * between commits (ledger_checkpoint; measured on this kind of machine:
 * an automatic checkpoint stalls the commit that triggers it by 13-20
 * ms).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"

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
		ledger_set_err(err, errlen, "reading user_version", db);
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
		if (ledger_exec(db, "BEGIN IMMEDIATE", err, errlen) !=
		    SQLITE_OK)
			return FXB_ERR_LEDGER;
		if (ledger_exec(db, m->sql, err, errlen) != SQLITE_OK ||
		    ledger_exec(db, sql, err, errlen) != SQLITE_OK) {
			ledger_exec(db, "ROLLBACK", NULL, 0);
			return FXB_ERR_LEDGER;
		}
		if (ledger_exec(db, "COMMIT", err, errlen) != SQLITE_OK)
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
		ledger_set_err(err, errlen, "quick_check", db);
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

/* On a failure that left err empty, SQLite's message for it. */
static void
chain_err(struct ledger *lg, char *err, size_t errlen)
{
	if (errlen > 0 && err[0] == '\0')
		ledger_set_err(err, errlen, "chain", lg->db);
}

/* The log's id: read, or made once for a new log. */
static enum fxb_err
chain_log_id(struct ledger *lg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char hex[65];
	size_t got = 0;
	enum fxb_err rc = FXB_ERR_LEDGER;

	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT value FROM ledger_meta WHERE key = "
	                       "'log_id'",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sodium_hex2bin(lg->log_id, 32, ledger_col_text(st, 0),
		                   (size_t)sqlite3_column_bytes(st, 0), NULL,
		                   &got, NULL) != 0 ||
		    got != 32) {
			snprintf(err, errlen, "ledger_meta: damaged log_id");
			goto out;
		}
	} else {
		randombytes_buf(lg->log_id, sizeof(lg->log_id));
		sodium_bin2hex(hex, sizeof(hex), lg->log_id, 32);
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(lg->db,
		                       "INSERT INTO ledger_meta (key, value) "
		                       "VALUES ('log_id', ?1)",
		                       -1, &st, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = FXB_OK;
out:
	if (rc != FXB_OK)
		chain_err(lg, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

/* The tail of a log whose every row has its hash: its last row alone. */
static enum fxb_err
chain_tail(struct ledger *lg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	unsigned char prev[32] = {0};
	enum fxb_err rc = FXB_ERR_LEDGER;

	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT seq, hash, event FROM "
	                       "suspension_log ORDER BY seq DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 1);
		if (h == NULL || sqlite3_column_bytes(st, 1) != 32) {
			snprintf(err, errlen,
			         "row %lld: no hash, though every row had one",
			         (long long)sqlite3_column_int64(st, 0));
			goto out;
		}
		lg->last_seq = sqlite3_column_int64(st, 0);
		memcpy(prev, h, 32);
		lg->clean_stop =
		    strcmp(ledger_col_text(st, 2), "service_stop") == 0;
	} else {
		lg->clean_stop = true; /* a new log */
	}
	memcpy(lg->last_hash, prev, 32);
	rc = FXB_OK;
out:
	if (rc != FXB_OK)
		chain_err(lg, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

/* Hashes for rows older than the chain (from before migration 0002),
 * filled once, in order, in one pass: rows that have hashes give the
 * tail, rows without get theirs.  Then the log is marked complete. */
static enum fxb_err
chain_fill(struct ledger *lg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	unsigned char prev[32] = {0};
	enum fxb_err rc = FXB_ERR_LEDGER;

	if (sqlite3_prepare_v2(
	        lg->db,
	        "SELECT seq, t, event, rule, kind, scope, "
	        "scope_type, suspension, mode, detail, logged_at, "
	        "hash FROM suspension_log ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	        lg->db,
	        "UPDATE suspension_log SET prev_hash = ?2, hash "
	        "= ?3 WHERE seq = ?1 AND hash IS NULL",
	        -1, &up, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 11);
		lg->last_seq = sqlite3_column_int64(st, 0);
		if (h != NULL && sqlite3_column_bytes(st, 11) == 32) {
			memcpy(prev, h, 32);
			continue;
		}
		struct ledger_chain_row r = ledger_chain_row_read(st);
		unsigned char hash[32];
		ledger_row_hash(lg->log_id, prev, &r, hash);
		sqlite3_bind_int64(up, 1, r.seq);
		sqlite3_bind_blob(up, 2, prev, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(up, 3, hash, 32, SQLITE_TRANSIENT);
		if (ledger_step(up) != SQLITE_OK)
			goto out;
		memcpy(prev, hash, 32);
	}
	memcpy(lg->last_hash, prev, 32);
	/* A new log has nothing to check; one from an older version is
	 * checked once, whatever its tail. */
	lg->clean_stop = lg->last_seq == 0;
	sqlite3_finalize(up);
	up = NULL;
	if (ledger_exec(lg->db,
	                "INSERT INTO ledger_meta (key, value) VALUES "
	                "('hashes_complete', '1')",
	                err, errlen) != SQLITE_OK)
		goto out;
	rc = FXB_OK;
out:
	if (rc != FXB_OK)
		chain_err(lg, err, errlen);
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return rc;
}

/* The log id, hashes for rows older than the chain, and the tail the
 * next row chains from, in one transaction. */
static enum fxb_err
chain_setup(struct ledger *lg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	enum fxb_err rc = FXB_ERR_LEDGER;
	bool complete;

	if (sodium_init() < 0)
		return FXB_ERR_LEDGER;
	if (ledger_exec(lg->db, "BEGIN IMMEDIATE", err, errlen) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	if (chain_log_id(lg, err, errlen) != FXB_OK)
		goto out;
	/* Once every row has its hash (remembered in ledger_meta), the tail
	 * is all start needs: no pass over the whole log. */
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT value FROM ledger_meta WHERE key = "
	                       "'hashes_complete'",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	complete = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	rc = complete ? chain_tail(lg, err, errlen)
	              : chain_fill(lg, err, errlen);
out:
	if (rc != FXB_OK)
		chain_err(lg, err, errlen);
	sqlite3_finalize(st);
	if (ledger_exec(lg->db, rc == FXB_OK ? "COMMIT" : "ROLLBACK", err,
	                errlen) != SQLITE_OK)
		rc = FXB_ERR_LEDGER;
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
		ledger_set_err(err, errlen, path, lg->db);
		goto fail;
	}
	sqlite3_busy_timeout(lg->db, LEDGER_BUSY_MS);
	if (!readonly) {
		if (ledger_exec(
		        lg->db,
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
	if (!readonly && chain_setup(lg, err, errlen) != FXB_OK)
		goto fail;
	/* A structural check of every page costs a second per million rows
	 * (and far more from a cold disk): it runs when the last run did
	 * not end with its service_stop row -- a crash, a kill, a power cut
	 * -- and not after a clean stop, whose every write was synced.  The
	 * chain's tail is checked at every start either way (the daemon). */
	if (!readonly && !lg->clean_stop) {
		if (quick_check(lg->db, err, errlen) != FXB_OK)
			goto fail;
		lg->quick_checked = true;
	}
	if (!readonly && ledger_files_note(lg, path) != FXB_OK) {
		rc = FXB_ERR_NOMEM;
		goto fail;
	}
	if (!readonly && ledger_stmts_prepare(lg, err, errlen) != FXB_OK)
		goto fail;
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
	for (int i = 0; i < LEDGER_ST_COUNT; i++)
		sqlite3_finalize(lg->st[i]);
	if (lg->db != NULL && !lg->readonly)
		sqlite3_wal_checkpoint_v2(
		    lg->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_close(lg->db);
	ledger_files_orphan(lg);
	free(lg->path[0]);
	free(lg->path[1]);
	free(lg);
}

bool
ledger_quick_checked(const struct ledger *lg)
{
	return lg->quick_checked;
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

int64_t
ledger_last_time(struct ledger *lg)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	/* max(t), not the last row's: a log written before issue 9 may
	 * hold rows whose time went back.  The index on t makes it a
	 * lookup. */
	if (sqlite3_prepare_v2(lg->db, "SELECT max(t) FROM suspension_log", -1,
	                       &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}
