/*
 * ledger.c: the suspension log in SQLite (see ledger.h).
 *
 * Durability is the point: WAL with synchronous=FULL, one transaction per
 * batch, every statement prepared once.  SQLite's result codes stop here:
 * callers get FXB_ERR_LEDGER and a message naming the SQLite error.
 * Automatic WAL checkpoints are off; the writer thread runs passive ones
 * between commits (measured on this kind of machine: an automatic
 * checkpoint stalls the commit that triggers it by 13-20 ms).
 */
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipc_trust.h"
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
	ST_CHECKPOINT,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_LOG] = "INSERT INTO suspension_log (seq, t, event, rule, kind, "
               "scope, scope_type, suspension, mode, detail, logged_at, "
               "prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
               "?9, ?10, ?11, ?12, ?13)",
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
    [ST_CHECKPOINT] = "INSERT INTO checkpoints (size, t, head, body, "
                      "key_id, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

struct ledger {
	sqlite3 *db;
	bool readonly;
	sqlite3_stmt *st[ST_COUNT];
	unsigned char log_id[32];
	int64_t last_seq; /* the chain's tail, as committed */
	unsigned char last_hash[32];
	bool clean_stop;    /* the tail is a service_stop row */
	bool quick_checked; /* so PRAGMA quick_check ran at open */
	bool has_key;
	unsigned char pk[32], sk[64];
	char key_id[17];
	/* The files as opened: [0] the database, [1] its -wal file
	 * (ledger_files_intact).  lost: why they are not any more; once
	 * set, it stays. */
	char *path[2];
	dev_t dev[2];
	ino_t ino[2];
	bool known[2];
	char lost[512];
	bool db_replaced; /* lost: the database file itself went */
};

static const char *col_text(sqlite3_stmt *st, int i);
static int step(sqlite3_stmt *st);

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

static struct ledger_chain_row
chain_row_of(const struct ledger_row *r, int64_t logged_at)
{
	struct ledger_chain_row c = {
	    .seq = r->seq,
	    .t = r->t,
	    .event = r->event,
	    .rule = r->rule,
	    .kind = r->kind,
	    .scope = r->scope,
	    .scope_type = r->scope_type,
	    .suspension = r->suspension,
	    .suspension_null = r->suspension <= 0,
	    .mode = r->shadow ? "shadow" : "enforce",
	    .detail = r->detail != NULL ? r->detail : "{}",
	    .logged_at = logged_at,
	};
	return c;
}

/* The log id (made once), hashes for rows older than the chain (filled
 * once, in order), and the tail the next row chains from. */
static enum fxb_err
chain_setup(struct ledger *lg, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	unsigned char prev[32] = {0};
	char hex[65];
	size_t got = 0;
	enum fxb_err rc = FXB_ERR_LEDGER;

	if (sodium_init() < 0)
		return FXB_ERR_LEDGER;
	if (exec(lg->db, "BEGIN IMMEDIATE", err, errlen) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT value FROM ledger_meta WHERE key = "
	                       "'log_id'",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sodium_hex2bin(lg->log_id, 32, col_text(st, 0),
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
	sqlite3_finalize(st);
	st = NULL;
	/* Once every row has its hash (remembered in ledger_meta), the tail
	 * is all start needs: no pass over the whole log. */
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT value FROM ledger_meta WHERE key = "
	                       "'hashes_complete'",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	bool complete = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (complete) {
		if (sqlite3_prepare_v2(
		        lg->db,
		        "SELECT seq, hash, event FROM "
		        "suspension_log ORDER BY seq DESC LIMIT 1",
		        -1, &st, NULL) != SQLITE_OK)
			goto out;
		if (sqlite3_step(st) == SQLITE_ROW) {
			const void *h = sqlite3_column_blob(st, 1);
			if (h == NULL || sqlite3_column_bytes(st, 1) != 32) {
				snprintf(
				    err, errlen,
				    "row %lld: no hash, though every row "
				    "had one",
				    (long long)sqlite3_column_int64(st, 0));
				goto out;
			}
			lg->last_seq = sqlite3_column_int64(st, 0);
			memcpy(prev, h, 32);
			lg->clean_stop =
			    strcmp(col_text(st, 2), "service_stop") == 0;
		} else {
			lg->clean_stop = true; /* a new log */
		}
		memcpy(lg->last_hash, prev, 32);
		rc = FXB_OK;
		goto out;
	}
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
	/* One pass: rows that have hashes give the tail; rows without (from
	 * before migration 0002) get theirs. */
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
		if (step(up) != SQLITE_OK)
			goto out;
		memcpy(prev, hash, 32);
	}
	memcpy(lg->last_hash, prev, 32);
	/* A new log has nothing to check; one from an older version is
	 * checked once, whatever its tail. */
	lg->clean_stop = lg->last_seq == 0;
	sqlite3_finalize(up);
	up = NULL;
	if (exec(lg->db,
	         "INSERT INTO ledger_meta (key, value) VALUES "
	         "('hashes_complete', '1')",
	         err, errlen) != SQLITE_OK)
		goto out;
	rc = FXB_OK;
out:
	if (rc != FXB_OK && errlen > 0 && err[0] == '\0')
		set_err(err, errlen, "chain", lg->db);
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	if (exec(lg->db, rc == FXB_OK ? "COMMIT" : "ROLLBACK", err, errlen) !=
	    SQLITE_OK)
		rc = FXB_ERR_LEDGER;
	return rc;
}

/*
 * The identity (device, inode) of the database and its -wal file as this
 * connection opened them.  SQLite keeps both open by descriptor: if
 * someone removes or replaces either path, every later commit goes to a
 * file nobody else can see, and the rows it holds vanish with the
 * process (issue 9).  The -wal file exists once the first transaction
 * ran (migrate, chain_setup did); if it does not, it is adopted at the
 * first check that finds it.
 */
static enum fxb_err
files_note(struct ledger *lg, const char *path)
{
	size_t n = strlen(path);
	struct stat sb;
	if ((lg->path[0] = strdup(path)) == NULL ||
	    (lg->path[1] = malloc(n + 5)) == NULL)
		return FXB_ERR_NOMEM;
	snprintf(lg->path[1], n + 5, "%s-wal", path);
	for (int i = 0; i < 2; i++)
		if (stat(lg->path[i], &sb) == 0) {
			lg->dev[i] = sb.st_dev;
			lg->ino[i] = sb.st_ino;
			lg->known[i] = true;
		}
	return FXB_OK;
}

bool
ledger_files_intact(struct ledger *lg, char *why, size_t cap)
{
	static const char *const what[2] = {"the database file",
	                                    "the database's -wal file"};
	struct stat sb;
	if (lg->readonly || lg->path[0] == NULL)
		return true;
	for (int i = 0; lg->lost[0] == '\0' && i < 2; i++) {
		if (stat(lg->path[i], &sb) != 0) {
			/* Only a missing file is news: another error (EACCES
			 * on a directory, EIO) fails the commit itself. */
			if (errno != ENOENT || !lg->known[i])
				continue;
			snprintf(lg->lost, sizeof(lg->lost),
			         "%s %s was removed while in use", what[i],
			         lg->path[i]);
		} else if (!lg->known[i]) {
			lg->dev[i] = sb.st_dev;
			lg->ino[i] = sb.st_ino;
			lg->known[i] = true;
			continue;
		} else if (sb.st_dev != lg->dev[i] ||
		           sb.st_ino != lg->ino[i]) {
			snprintf(
			    lg->lost, sizeof(lg->lost),
			    "%s %s was replaced while in use (inode %llu, "
			    "was %llu)",
			    what[i], lg->path[i],
			    (unsigned long long)sb.st_ino,
			    (unsigned long long)lg->ino[i]);
		} else {
			continue;
		}
		lg->db_replaced = i == 0;
		/* The -wal file alone went: every committed row is still in
		 * it, through SQLite's descriptor, and the database file is
		 * still the one others see (i = 0 was checked first).  Copy
		 * the rows there now (a checkpoint, fsynced), so that no
		 * acknowledged row dies with this process.  Nothing new is
		 * written after. */
		if (i == 1) {
			int logged = -1, copied = -1;
			bool done = sqlite3_wal_checkpoint_v2(
			                lg->db, NULL, SQLITE_CHECKPOINT_FULL,
			                &logged, &copied) == SQLITE_OK &&
			            copied == logged;
			size_t len = strlen(lg->lost);
			snprintf(lg->lost + len, sizeof(lg->lost) - len,
			         done ? "; the rows committed so far were "
			                "copied into the database file"
			              : "; the rows committed since the last "
			                "checkpoint could not be copied into "
			                "the database file");
		}
	}
	if (lg->lost[0] == '\0')
		return true;
	snprintf(why, cap, "%s", lg->lost);
	return false;
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
	if (!readonly && files_note(lg, path) != FXB_OK) {
		rc = FXB_ERR_NOMEM;
		goto fail;
	}
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
	/* The database file was removed or replaced under us: SQLite
	 * leaves its -wal file behind, and the next open would lay that
	 * file's pages over whatever database is at the path now (a
	 * replacement, a restored copy) and corrupt it.  Move it aside,
	 * kept for whoever investigates. */
	struct stat sb;
	if (lg->db_replaced && stat(lg->path[1], &sb) == 0 &&
	    sb.st_dev == lg->dev[1] && sb.st_ino == lg->ino[1]) {
		size_t n = strlen(lg->path[1]) + 16;
		char *to = malloc(n);
		if (to != NULL) {
			snprintf(to, n, "%s.orphaned", lg->path[1]);
			rename(lg->path[1], to);
		}
		free(to);
	}
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
append_row(struct ledger *lg, const struct ledger_row *r, int64_t now,
           const unsigned char prev[32], const unsigned char hash[32])
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
	sqlite3_bind_blob(st, 12, prev, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 13, hash, 32, SQLITE_TRANSIENT);
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

void
ledger_set_key(struct ledger *lg, const unsigned char pk[32],
               const unsigned char sk[64])
{
	memcpy(lg->pk, pk, 32);
	memcpy(lg->sk, sk, 64);
	ipc_trust_key_id(pk, lg->key_id);
	lg->has_key = true;
}

/* The signed checkpoint of the chain as it stands after `size` rows. */
static int
append_checkpoint(struct ledger *lg, int64_t size,
                  const unsigned char head[32], int64_t now, char **note)
{
	char body[512];
	unsigned char sig[64];
	sqlite3_stmt *st = lg->st[ST_CHECKPOINT];

	ledger_checkpoint_body(body, sizeof(body), lg->log_id, size, head,
	                       now);
	ledger_checkpoint_sign(body, lg->sk, sig);
	sqlite3_bind_int64(st, 1, size);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_blob(st, 3, head, 32, SQLITE_TRANSIENT);
	bind_text(st, 4, body);
	bind_text(st, 5, lg->key_id);
	sqlite3_bind_blob(st, 6, sig, 64, SQLITE_TRANSIENT);
	int rc = step(st);
	if (rc == SQLITE_OK && note != NULL)
		*note = ledger_checkpoint_note(body, lg->key_id, sig);
	return rc;
}

enum fxb_err
ledger_append(struct ledger *lg, const struct ledger_row *rows, size_t n,
              int64_t now, bool checkpoint, char **note, char *err,
              size_t errlen)
{
	unsigned char prev[32], hash[32];
	char *made = NULL;

	if (note != NULL)
		*note = NULL;
	if (lg->readonly) {
		snprintf(err, errlen, "the ledger is open read-only");
		return FXB_ERR_LEDGER;
	}
	/* Never a row into a file nobody can see: once the database or its
	 * -wal file was removed or replaced, every commit fails. */
	if (!ledger_files_intact(lg, err, errlen))
		return FXB_ERR_LEDGER;
	if (exec(lg->db, "BEGIN IMMEDIATE", err, errlen) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	/* The chain advances in memory only once the commit succeeds. */
	memcpy(prev, lg->last_hash, 32);
	for (size_t i = 0; i < n; i++) {
		struct ledger_chain_row c = chain_row_of(&rows[i], now);
		ledger_row_hash(lg->log_id, prev, &c, hash);
		if (append_row(lg, &rows[i], now, prev, hash) != SQLITE_OK) {
			set_err(err, errlen, "append", lg->db);
			exec(lg->db, "ROLLBACK", NULL, 0);
			return FXB_ERR_LEDGER;
		}
		memcpy(prev, hash, 32);
	}
	int64_t size = n > 0 ? rows[n - 1].seq : lg->last_seq;
	if (checkpoint && lg->has_key && size > 0 &&
	    append_checkpoint(lg, size, prev, now, &made) != SQLITE_OK) {
		set_err(err, errlen, "checkpoint", lg->db);
		exec(lg->db, "ROLLBACK", NULL, 0);
		return FXB_ERR_LEDGER;
	}
	if (exec(lg->db, "COMMIT", err, errlen) != SQLITE_OK) {
		exec(lg->db, "ROLLBACK", NULL, 0);
		free(made);
		return FXB_ERR_LEDGER;
	}
	memcpy(lg->last_hash, prev, 32);
	lg->last_seq = size;
	if (note != NULL)
		*note = made;
	else
		free(made);
	return FXB_OK;
}

bool
ledger_verify_tail(struct ledger *lg, const unsigned char pk[32], int64_t rows,
                   char *err, size_t errlen)
{
	sqlite3_stmt *st;
	unsigned char prev[32] = {0}, h[32];
	bool ok = true, first = true;
	int64_t from = lg->last_seq - rows + 1, expect = from < 1 ? 1 : from;

	if (sqlite3_prepare_v2(
	        lg->db,
	        "SELECT seq, t, event, rule, kind, scope, "
	        "scope_type, suspension, mode, detail, logged_at, "
	        "prev_hash, hash FROM suspension_log WHERE seq >= "
	        "?1 ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK) {
		set_err(err, errlen, "verify", lg->db);
		return false;
	}
	sqlite3_bind_int64(st, 1, expect);
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		struct ledger_chain_row r = ledger_chain_row_read(st);
		const void *sp = sqlite3_column_blob(st, 11);
		const void *sh = sqlite3_column_blob(st, 12);
		if (sp == NULL || sh == NULL ||
		    sqlite3_column_bytes(st, 11) != 32 ||
		    sqlite3_column_bytes(st, 12) != 32) {
			snprintf(err, errlen, "seq %lld: no hash",
			         (long long)r.seq);
			ok = false;
			break;
		}
		/* The first row's predecessor is taken on trust; the rest
		 * must chain. */
		if (first)
			memcpy(prev, sp, 32);
		first = false;
		ledger_row_hash(lg->log_id, prev, &r, h);
		if (r.seq != expect || memcmp(sp, prev, 32) != 0 ||
		    memcmp(sh, h, 32) != 0) {
			snprintf(
			    err, errlen,
			    "seq %lld: the chain is broken (edited, deleted "
			    "or inserted rows)",
			    (long long)r.seq);
			ok = false;
		}
		memcpy(prev, h, 32);
		expect = r.seq + 1;
	}
	sqlite3_finalize(st);
	if (!ok)
		return false;
	/* The latest checkpoint: ours, and matching the row it names. */
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT c.size, c.body, c.signature, l.hash = "
	                       "c.head FROM checkpoints c LEFT JOIN "
	                       "suspension_log l ON l.seq = c.size ORDER BY "
	                       "c.size DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return true; /* no checkpoints yet */
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *body = col_text(st, 1);
		const unsigned char *sig = sqlite3_column_blob(st, 2);
		size_t blen = strlen(body);
		unsigned char *m = malloc(24 + blen);
		bool sig_ok = m != NULL && sig != NULL &&
		              sqlite3_column_bytes(st, 2) == 64;
		if (sig_ok) {
			memcpy(m, "fxbreaker/checkpoint/v1\n", 24);
			memcpy(m + 24, body, blen);
			sig_ok = crypto_sign_verify_detached(sig, m, 24 + blen,
			                                     pk) == 0;
		}
		free(m);
		if (!sig_ok || sqlite3_column_int(st, 3) != 1) {
			snprintf(err, errlen, "checkpoint %lld: %s",
			         (long long)sqlite3_column_int64(st, 0),
			         !sig_ok
			             ? "bad signature"
			             : "its head is not the row it names "
			               "(rows rewritten or the tail deleted)");
			ok = false;
		}
	}
	sqlite3_finalize(st);
	return ok;
}

enum fxb_err
ledger_export(const char *path, const char *out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	enum fxb_err rc = FXB_ERR_IO;
	char npath[4200];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		set_err(err, errlen, path, db);
		goto out;
	}
	sqlite3_busy_timeout(db, LEDGER_BUSY_MS * 10);
	if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		set_err(err, errlen, "export", db);
		goto out;
	}
	sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(err, errlen, out, db);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* The latest checkpoint as a note, to keep beside the snapshot. */
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT body, key_id, signature FROM checkpoints "
	        "ORDER BY size DESC LIMIT 1",
	        -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 2) == 64) {
		char *note =
		    ledger_checkpoint_note(col_text(st, 0), col_text(st, 1),
		                           sqlite3_column_blob(st, 2));
		snprintf(npath, sizeof(npath), "%s.checkpoint", out);
		FILE *f = fopen(npath, "w");
		if (note == NULL || f == NULL || fputs(note, f) < 0 ||
		    fclose(f) != 0) {
			snprintf(err, errlen, "%s: cannot write", npath);
			free(note);
			goto out;
		}
		free(note);
	}
	rc = FXB_OK;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int
ledger_note_compare(struct ledger *lg, const char *path, char *why, size_t cap)
{
	char body[1024], lid[65], head[65], mine[65], got[65] = "";
	unsigned char sig[64];
	int64_t size, t;
	sqlite3_stmt *st;

	if (ledger_note_read(path, body, sizeof(body), sig) != 0 ||
	    !ledger_checkpoint_parse(body, lid, &size, head, &t)) {
		snprintf(why, cap, "%s: not a checkpoint note", path);
		return -1;
	}
	/* An unsigned or foreign note proves nothing: it must not stop the
	 * service either. */
	if (!lg->has_key ||
	    !ledger_checkpoint_sig_ok(body, sig,
	                              (const unsigned char(*)[32])lg->pk, 1)) {
		snprintf(why, cap, "%s: not signed with this log's key", path);
		return -1;
	}
	sodium_bin2hex(mine, sizeof(mine), lg->log_id, 32);
	if (strcmp(lid, mine) != 0) {
		snprintf(
		    why, cap,
		    "%s (seq %lld) is for log %.16s, this database is log "
		    "%.16s: the log it covers is gone",
		    path, (long long)size, lid, mine);
		return 1;
	}
	if (size > lg->last_seq) {
		snprintf(why, cap,
		         "%s names seq %lld, the log ends at seq %lld: rows "
		         "%lld..%lld were acknowledged and are missing",
		         path, (long long)size, (long long)lg->last_seq,
		         (long long)lg->last_seq + 1, (long long)size);
		return 1;
	}
	if (sqlite3_prepare_v2(
	        lg->db, "SELECT hash FROM suspension_log WHERE seq = ?1", -1,
	        &st, NULL) != SQLITE_OK) {
		set_err(why, cap, "note", lg->db);
		return -1;
	}
	sqlite3_bind_int64(st, 1, size);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == 32)
		sodium_bin2hex(got, sizeof(got), sqlite3_column_blob(st, 0),
		               32);
	sqlite3_finalize(st);
	if (strcmp(got, head) != 0) {
		snprintf(why, cap,
		         "%s names seq %lld with head %.16s, the log has "
		         "%.16s there: the rows it covers were replaced",
		         path, (long long)size, head,
		         got[0] != '\0' ? got : "no row");
		return 1;
	}
	return 0;
}

void
ledger_checkpoint(struct ledger *lg)
{
	if (lg->lost[0] != '\0')
		return; /* ledger_files_intact copied what it could */
	sqlite3_wal_checkpoint_v2(lg->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	                          NULL, NULL);
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* The text of column i, or "" for NULL. */
static const char *
col_or_empty(sqlite3_stmt *st, int i)
{
	const char *s = col_text(st, i);
	return s != NULL ? s : "";
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
	        "mode, reason, (SELECT notice_id FROM notices n WHERE "
	        "n.suspension = breaker_state.suspension) FROM "
	        "breaker_state ORDER BY suspension",
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
		    .notice_id = col_text(st, 12),
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
ledger_operators(struct ledger *lg, bool history, ledger_operator_fn fn,
                 void *arg)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(
	        lg->db,
	        "SELECT seq, t, ev, k, name, roles, pubkey, src, rq, ap FROM ("
	        " SELECT seq, t, json_extract(detail, '$.event') AS ev,"
	        " json_extract(detail, '$.operator') AS k,"
	        " json_extract(detail, '$.name') AS name,"
	        " json_extract(detail, '$.roles') AS roles,"
	        " json_extract(detail, '$.pubkey') AS pubkey,"
	        " coalesce(json_extract(detail, '$.source'), 'file') AS src,"
	        " json_extract(detail, '$.requested_by') AS rq,"
	        " json_extract(detail, '$.approved_by') AS ap,"
	        " row_number() OVER (PARTITION BY"
	        "  json_extract(detail, '$.operator') ORDER BY seq DESC) AS "
	        "nth"
	        " FROM suspension_log WHERE event = 'command' AND"
	        " json_valid(detail) AND json_extract(detail, '$.event') IN"
	        " ('operator_enrolled', 'operator_revoked'))"
	        " WHERE ?1 OR (nth = 1 AND ev = 'operator_enrolled')"
	        " ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	sqlite3_bind_int(st, 1, history);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_operator_change c = {
		    .seq = sqlite3_column_int64(st, 0),
		    .t = sqlite3_column_int64(st, 1),
		    .enrolled =
		        strcmp(col_text(st, 2), "operator_enrolled") == 0,
		    .key_id = col_or_empty(st, 3),
		    .name = col_or_empty(st, 4),
		    .roles = col_or_empty(st, 5),
		    .pubkey = col_or_empty(st, 6),
		    .source = col_or_empty(st, 7),
		    .requested_by = col_or_empty(st, 8),
		    .approved_by = col_or_empty(st, 9),
		};
		if (fn(arg, &c) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FXB_OK : FXB_ERR_LEDGER;
}

enum fxb_err
ledger_query(struct ledger *lg, const struct ledger_filter *f,
             ledger_row_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc;
#define QUERY_SQL(order)                                                      \
	"SELECT seq, t, event, rule, kind, scope, scope_type, "               \
	"suspension, mode, detail, logged_at FROM suspension_log "            \
	"WHERE (?1 IS NULL OR scope = ?1) AND (?2 IS NULL OR rule = ?2) "     \
	"AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR event = ?4) "       \
	"AND t >= ?5 AND (?6 = 0 OR t < ?6) ORDER BY seq " order              \
	" LIMIT CASE WHEN ?7 > 0 THEN ?7 ELSE -1 END"
	if (sqlite3_prepare_v2(
	        lg->db, f->newest_first ? QUERY_SQL("DESC") : QUERY_SQL("ASC"),
	        -1, &st, NULL) != SQLITE_OK)
		return FXB_ERR_LEDGER;
#undef QUERY_SQL
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
