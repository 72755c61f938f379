/*
 * ledger_impl.h: private to ledger/.  One section per file, from the
 * bottom up: a file uses only the files in the sections above its own.
 *
 *   ledger_sql.c      SQLite's errors, statements and columns, once
 *   ledger_chain.c    the bytes of a row hash and of a checkpoint
 *   ledger_key.c      the log key: its files, and the ledger's copy
 *   ledger_files.c    the database and -wal files as opened (issue 9)
 *   ledger_append.c   the write path: rows, effects, checkpoints
 *   ledger_open.c     open, migrate, set up the chain, close
 *   ledger_read.c     the read paths: states, resumes, operators,
 *                     queries, export
 *   ledger_notes.c    exported checkpoint notes in a directory
 *   ledger_verify.c   verification: the daemon's tail check and a
 *                     snapshot's whole chain
 *
 * docs/LEDGER.md is the contract for every byte the chain, the
 * checkpoints, the notes and verify's output hold.
 */
#ifndef LEDGER_IMPL_H
#define LEDGER_IMPL_H

#include <sqlite3.h>
#include <sys/types.h>

#include "ledger.h"

/* The prepared statements of the write path (ledger_append.c). */
enum ledger_stmt {
	LEDGER_ST_LOG,
	LEDGER_ST_STATE_OPEN,
	LEDGER_ST_STATE_CLOSE,
	LEDGER_ST_NOTICE_OPEN,
	LEDGER_ST_NOTICE_CLOSE,
	LEDGER_ST_CHECKPOINT,
	LEDGER_ST_COUNT,
};

struct ledger {
	sqlite3 *db;
	bool readonly;
	sqlite3_stmt *st[LEDGER_ST_COUNT];
	unsigned char log_id[32];
	int64_t last_seq; /* the chain's tail, as committed */
	unsigned char last_hash[32];
	bool clean_stop;    /* the tail is a service_stop row */
	bool quick_checked; /* so PRAGMA quick_check ran at open */
	bool has_key;
	unsigned char pk[32], sk[64];
	char key_id[17];
	/* The files as opened: [0] the database, [1] its -wal file
	 * (ledger_files.c).  lost: why they are not any more; once set, it
	 * stays. */
	char *path[2];
	dev_t dev[2];
	ino_t ino[2];
	bool known[2];
	char lost[512];
	bool db_replaced; /* lost: the database file itself went */
};

struct ledger_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Generated from migrations/ by migrations/embed.sh (build/gen/). */
extern const struct ledger_migration ledger_migrations[];
extern const int ledger_nmigrations;

/* How long a write waits for a lock held by another process (a reader's
 * `sqlite3` shell, a backup) before the batch is refused and retried;
 * an export waits ten times as long. */
#define LEDGER_BUSY_MS 200

/* ---- ledger_sql.c ---- */

/* ledger_set_err puts "what: SQLite's message" in err. */
void ledger_set_err(char *err, size_t errlen, const char *what, sqlite3 *db);
/* ledger_exec runs sql; on error err gets SQLite's message. */
int ledger_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* ledger_step runs a bound statement to completion and resets it:
 * SQLITE_OK when done. */
int ledger_step(sqlite3_stmt *st);
/* ledger_bind_text binds a string or NULL; ledger_bind_time a time or,
 * for FXB_NEVER, NULL. */
int ledger_bind_text(sqlite3_stmt *st, int i, const char *s);
int ledger_bind_time(sqlite3_stmt *st, int i, int64_t t);
/* ledger_col_text is column i as text (NULL for NULL). */
const char *ledger_col_text(sqlite3_stmt *st, int i);

/* ---- ledger_chain.c ---- */

/* The columns a row hash covers (docs/LEDGER.md), in that order. */
struct ledger_chain_row {
	int64_t seq, t;
	const char *event, *rule, *kind, *scope, *scope_type;
	int64_t suspension;
	bool suspension_null; /* hashed as NULL (the daemon stores 0 so) */
	const char *mode, *detail;
	int64_t logged_at;
};

/* ledger_chain_row_of is a row to be written as the chain sees it, with
 * the values ledger_append stores for it. */
struct ledger_chain_row ledger_chain_row_of(const struct ledger_row *r,
                                            int64_t logged_at);
/* ledger_chain_row_read is a stored row selected as "seq, t, event,
 * rule, kind, scope, scope_type, suspension, mode, detail, logged_at,
 * ...". */
struct ledger_chain_row ledger_chain_row_read(sqlite3_stmt *st);
void ledger_row_hash(const unsigned char log_id[32],
                     const unsigned char prev[32],
                     const struct ledger_chain_row *r, unsigned char out[32]);
void ledger_checkpoint_body(char *buf, size_t cap,
                            const unsigned char log_id[32], int64_t size,
                            const unsigned char head[32], int64_t t);
void ledger_checkpoint_sign(const char *body, const unsigned char sk[64],
                            unsigned char sig[64]);
char *ledger_checkpoint_note(const char *body, const char *key_id,
                             const unsigned char sig[64]);
/* ledger_checkpoint_sig_one says whether pk signed body; sig_ok whether
 * any of pks did (a log keeps its checkpoints across a key rotation). */
bool ledger_checkpoint_sig_one(const char *body, const unsigned char sig[64],
                               const unsigned char pk[32]);
bool ledger_checkpoint_sig_ok(const char *body, const unsigned char sig[64],
                              const unsigned char (*pks)[32], size_t npks);
bool ledger_checkpoint_parse(const char *body, char lid[65], int64_t *size,
                             char head[65], int64_t *t);

/* ---- ledger_key.c ---- */

/* (ledger_key_load and ledger_set_key, in ledger.h) */

/* ---- ledger_files.c ---- */

/* ledger_files_note remembers the identity of path and path-wal as
 * opened.  Errors: FXB_ERR_NOMEM. */
enum fxb_err ledger_files_note(struct ledger *lg, const char *path);
/* ledger_files_orphan moves the -wal file aside when the database file
 * went under us; after the database is closed. */
void ledger_files_orphan(struct ledger *lg);

/* ---- ledger_append.c ---- */

/* ledger_stmts_prepare prepares the write path's statements, once.
 * Errors: FXB_ERR_LEDGER (with err). */
enum fxb_err ledger_stmts_prepare(struct ledger *lg, char *err, size_t errlen);

/* ---- ledger_open.c ---- */

/* (ledger_open, ledger_close, ledger_quick_checked, ledger_last_seq,
 * ledger_last_time, in ledger.h) */

/* ---- ledger_read.c ---- */

/* (ledger_states, ledger_resumes, ledger_operators, ledger_query,
 * ledger_export, in ledger.h) */

/* ---- ledger_notes.c ---- */

/* ledger_note_read reads a note file: 0, -1 (cannot open), -2 (not a
 * note). */
int ledger_note_read(const char *path, char *body, size_t cap,
                     unsigned char sig[64]);

/* ---- ledger_verify.c ---- */

/* (ledger_verify_tail, ledger_verify, in ledger.h) */

#endif /* LEDGER_IMPL_H */
