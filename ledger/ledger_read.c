/*
 * ledger_read.c: the read paths, for the daemon's start and for
 * fxbreakerctl: the open suspensions, a rule's automatic resumes, the
 * operator roster as the log recorded it, the rows a filter selects, and
 * a consistent snapshot of the whole database (export).  Nothing here
 * writes to the log; strings handed to a callback live until it returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"

/* The text of column i, or "" for NULL. */
static const char *
col_or_empty(sqlite3_stmt *st, int i)
{
	const char *s = ledger_col_text(st, i);
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
		    .rule = ledger_col_text(st, 1),
		    .kind = ledger_col_text(st, 2),
		    .scope = ledger_col_text(st, 3),
		    .scope_type = ledger_col_text(st, 4),
		    .event = ledger_col_text(st, 5),
		    .since = sqlite3_column_int64(st, 6),
		    .until = col_time(st, 7),
		    .dir = sqlite3_column_int(st, 8),
		    .latched = sqlite3_column_int(st, 9) != 0,
		    .shadow = strcmp(ledger_col_text(st, 10), "shadow") == 0,
		    .reason = ledger_col_text(st, 11),
		    .notice_id = ledger_col_text(st, 12),
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
	ledger_bind_text(st, 1, rule);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, sqlite3_column_int64(st, 0)) != 0)
			break;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FXB_OK : FXB_ERR_LEDGER;
}

/* A plan is pending until a row of one of these events names it in its
 * detail's "plan".  "+s.seq": a comparison without the column's
 * affinity, so that the planner matches suspension_log_plan's expression
 * (migrations 0004, 0005).  tests/entry_test.c asks SQLite how it plans
 * this very text: both tables by index, neither scanned. */
const char ledger_plans_sql[] =
    "SELECT s.seq, s.t, s.scope, s.scope_type, s.detail FROM "
    "suspension_log s WHERE s.event = 'force_scheduled' AND NOT "
    "EXISTS (SELECT 1 FROM suspension_log c WHERE c.event IN "
    "('force_cancel', 'force_suspend', 'plan_lapsed') AND "
    "json_extract(c.detail, '$.plan') = +s.seq) ORDER BY s.seq";

enum fxb_err
ledger_plans(struct ledger *lg, ledger_row_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(lg->db, ledger_plans_sql, -1, &st, NULL) !=
	    SQLITE_OK)
		return FXB_ERR_LEDGER;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_row r = {
		    .seq = sqlite3_column_int64(st, 0),
		    .t = sqlite3_column_int64(st, 1),
		    .event = "force_scheduled",
		    .kind = "forced",
		    .scope = ledger_col_text(st, 2),
		    .scope_type = ledger_col_text(st, 3),
		    .detail = ledger_col_text(st, 4),
		};
		if (fn(arg, &r, 0) != 0)
			break;
	}
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
		    .enrolled = strcmp(ledger_col_text(st, 2),
		                       "operator_enrolled") == 0,
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
	ledger_bind_text(st, 1, f->scope);
	ledger_bind_text(st, 2, f->rule);
	ledger_bind_text(st, 3, f->kind);
	ledger_bind_text(st, 4, f->event);
	sqlite3_bind_int64(st, 5, f->from);
	sqlite3_bind_int64(st, 6, f->to);
	sqlite3_bind_int64(st, 7, f->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_row r = {
		    .seq = sqlite3_column_int64(st, 0),
		    .t = sqlite3_column_int64(st, 1),
		    .event = ledger_col_text(st, 2),
		    .rule = ledger_col_text(st, 3),
		    .kind = ledger_col_text(st, 4),
		    .scope = ledger_col_text(st, 5),
		    .scope_type = ledger_col_text(st, 6),
		    .suspension = sqlite3_column_int64(st, 7),
		    .shadow = ledger_col_text(st, 8) != NULL &&
		              strcmp(ledger_col_text(st, 8), "shadow") == 0,
		    .detail = ledger_col_text(st, 9),
		};
		if (fn(arg, &r, sqlite3_column_int64(st, 10)) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FXB_OK : FXB_ERR_LEDGER;
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
		ledger_set_err(err, errlen, path, db);
		goto out;
	}
	sqlite3_busy_timeout(db, LEDGER_BUSY_MS * 10);
	if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		ledger_set_err(err, errlen, "export", db);
		goto out;
	}
	sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_set_err(err, errlen, out, db);
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
		char *note = ledger_checkpoint_note(
		    ledger_col_text(st, 0), ledger_col_text(st, 1),
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
