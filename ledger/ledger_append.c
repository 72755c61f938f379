/*
 * ledger_append.c: the write path.  A batch of rows goes in as one
 * transaction: each row chained to the one before (ledger_chain.c), its
 * effect on breaker_state and notices, and, when asked, a signed
 * checkpoint of the log after them.  The chain's tail in memory moves
 * only once the commit succeeded.  Durability is the point: the database
 * is in WAL mode with synchronous=FULL (ledger_open.c), so a batch is on
 * disk when ledger_append returns FXB_OK, and every statement here is
 * prepared once, at open.  SQLite's result codes stop here: callers get
 * FXB_ERR_LEDGER and a message naming the SQLite error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"

static const char *const stmt_sql[LEDGER_ST_COUNT] = {
    [LEDGER_ST_LOG] =
        "INSERT INTO suspension_log (seq, t, event, rule, kind, "
        "scope, scope_type, suspension, mode, detail, logged_at, "
        "prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11, ?12, ?13)",
    [LEDGER_ST_STATE_OPEN] =
        "INSERT INTO breaker_state (suspension, rule, kind, "
        "scope, scope_type, event, since, until, dir, "
        "latched, mode, reason) VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [LEDGER_ST_STATE_CLOSE] =
        "DELETE FROM breaker_state WHERE suspension = ?1",
    [LEDGER_ST_NOTICE_OPEN] =
        "INSERT INTO notices (suspension, notice_id, scope, "
        "opened_at, ko, en) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [LEDGER_ST_NOTICE_CLOSE] =
        "UPDATE notices SET closed_at = ?2, closed_ko = ?3, "
        "closed_en = ?4 WHERE suspension = ?1 AND "
        "closed_at IS NULL",
    [LEDGER_ST_CHECKPOINT] =
        "INSERT INTO checkpoints (size, t, head, body, "
        "key_id, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

enum fxb_err
ledger_stmts_prepare(struct ledger *lg, char *err, size_t errlen)
{
	for (int i = 0; i < LEDGER_ST_COUNT; i++)
		if (sqlite3_prepare_v3(lg->db, stmt_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &lg->st[i],
		                       NULL) != SQLITE_OK) {
			ledger_set_err(err, errlen, "prepare", lg->db);
			return FXB_ERR_LEDGER;
		}
	return FXB_OK;
}

/* The row, chained, and its effect: a suspension opened (its state and
 * customer notice) or ended.  What it binds for the hashed columns must
 * match ledger_chain_row_of. */
static int
append_row(struct ledger *lg, const struct ledger_row *r, int64_t now,
           const unsigned char prev[32], const unsigned char hash[32])
{
	sqlite3_stmt *st = lg->st[LEDGER_ST_LOG];
	sqlite3_bind_int64(st, 1, r->seq);
	sqlite3_bind_int64(st, 2, r->t);
	ledger_bind_text(st, 3, r->event);
	ledger_bind_text(st, 4, r->rule);
	ledger_bind_text(st, 5, r->kind);
	ledger_bind_text(st, 6, r->scope);
	ledger_bind_text(st, 7, r->scope_type);
	if (r->suspension > 0)
		sqlite3_bind_int64(st, 8, r->suspension);
	ledger_bind_text(st, 9, r->shadow ? "shadow" : "enforce");
	ledger_bind_text(st, 10, r->detail != NULL ? r->detail : "{}");
	sqlite3_bind_int64(st, 11, now);
	sqlite3_bind_blob(st, 12, prev, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 13, hash, 32, SQLITE_TRANSIENT);
	int rc = ledger_step(st);
	if (rc != SQLITE_OK)
		return rc;

	if (r->effect == LEDGER_OPENS) {
		st = lg->st[LEDGER_ST_STATE_OPEN];
		sqlite3_bind_int64(st, 1, r->seq);
		ledger_bind_text(st, 2, r->rule);
		ledger_bind_text(st, 3, r->kind);
		ledger_bind_text(st, 4, r->scope);
		ledger_bind_text(st, 5, r->scope_type);
		ledger_bind_text(st, 6, r->event);
		sqlite3_bind_int64(st, 7, r->t);
		ledger_bind_time(st, 8, r->until);
		sqlite3_bind_int(st, 9, r->dir);
		sqlite3_bind_int(st, 10, r->latched);
		ledger_bind_text(st, 11, r->shadow ? "shadow" : "enforce");
		ledger_bind_text(st, 12, r->reason);
		if ((rc = ledger_step(st)) != SQLITE_OK)
			return rc;
		if (r->notice_id != NULL) {
			st = lg->st[LEDGER_ST_NOTICE_OPEN];
			sqlite3_bind_int64(st, 1, r->seq);
			ledger_bind_text(st, 2, r->notice_id);
			ledger_bind_text(st, 3, r->scope);
			sqlite3_bind_int64(st, 4, r->t);
			ledger_bind_text(st, 5, r->notice_ko);
			ledger_bind_text(st, 6, r->notice_en);
			if ((rc = ledger_step(st)) != SQLITE_OK)
				return rc;
		}
	} else if (r->effect == LEDGER_CLOSES) {
		st = lg->st[LEDGER_ST_STATE_CLOSE];
		sqlite3_bind_int64(st, 1, r->suspension);
		if ((rc = ledger_step(st)) != SQLITE_OK)
			return rc;
		if (r->notice_ko != NULL) {
			st = lg->st[LEDGER_ST_NOTICE_CLOSE];
			sqlite3_bind_int64(st, 1, r->suspension);
			sqlite3_bind_int64(st, 2, r->t);
			ledger_bind_text(st, 3, r->notice_ko);
			ledger_bind_text(st, 4, r->notice_en);
			if ((rc = ledger_step(st)) != SQLITE_OK)
				return rc;
		}
	}
	return SQLITE_OK;
}

/* The signed checkpoint of the chain as it stands after `size` rows. */
static int
append_checkpoint(struct ledger *lg, int64_t size,
                  const unsigned char head[32], int64_t now, char **note)
{
	char body[512];
	unsigned char sig[64];
	sqlite3_stmt *st = lg->st[LEDGER_ST_CHECKPOINT];

	ledger_checkpoint_body(body, sizeof(body), lg->log_id, size, head,
	                       now);
	ledger_checkpoint_sign(body, lg->sk, sig);
	sqlite3_bind_int64(st, 1, size);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_blob(st, 3, head, 32, SQLITE_TRANSIENT);
	ledger_bind_text(st, 4, body);
	ledger_bind_text(st, 5, lg->key_id);
	sqlite3_bind_blob(st, 6, sig, 64, SQLITE_TRANSIENT);
	int rc = ledger_step(st);
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
	if (ledger_exec(lg->db, "BEGIN IMMEDIATE", err, errlen) != SQLITE_OK)
		return FXB_ERR_LEDGER;
	/* The chain advances in memory only once the commit succeeds. */
	memcpy(prev, lg->last_hash, 32);
	for (size_t i = 0; i < n; i++) {
		struct ledger_chain_row c = ledger_chain_row_of(&rows[i], now);
		ledger_row_hash(lg->log_id, prev, &c, hash);
		if (append_row(lg, &rows[i], now, prev, hash) != SQLITE_OK) {
			ledger_set_err(err, errlen, "append", lg->db);
			ledger_exec(lg->db, "ROLLBACK", NULL, 0);
			return FXB_ERR_LEDGER;
		}
		memcpy(prev, hash, 32);
	}
	int64_t size = n > 0 ? rows[n - 1].seq : lg->last_seq;
	if (checkpoint && lg->has_key && size > 0 &&
	    append_checkpoint(lg, size, prev, now, &made) != SQLITE_OK) {
		ledger_set_err(err, errlen, "checkpoint", lg->db);
		ledger_exec(lg->db, "ROLLBACK", NULL, 0);
		return FXB_ERR_LEDGER;
	}
	if (ledger_exec(lg->db, "COMMIT", err, errlen) != SQLITE_OK) {
		ledger_exec(lg->db, "ROLLBACK", NULL, 0);
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

void
ledger_checkpoint(struct ledger *lg)
{
	if (lg->lost[0] != '\0')
		return; /* ledger_files_intact copied what it could */
	sqlite3_wal_checkpoint_v2(lg->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	                          NULL, NULL);
}
