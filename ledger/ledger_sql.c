/*
 * ledger_sql.c: the few SQLite idioms every ledger file uses, written
 * once: an error message naming SQLite's, a statement run to its end,
 * NULL-aware binds and a text column.  SQLite's result codes stop at
 * ledger/: these keep its message for the caller's err, never its code.
 */
#include <stdio.h>

#include "ledger_impl.h"

void
ledger_set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s: %s", what,
		         db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

int
ledger_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK && errlen > 0)
		snprintf(err, errlen, "%s",
		         msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* Reset and cleared, so that a prepared statement is ready for the next
 * row of the batch, and no bound text outlives the call. */
int
ledger_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
ledger_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s != NULL ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
	                 : sqlite3_bind_null(st, i);
}

int
ledger_bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	return t != FXB_NEVER ? sqlite3_bind_int64(st, i, t)
	                      : sqlite3_bind_null(st, i);
}

const char *
ledger_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}
