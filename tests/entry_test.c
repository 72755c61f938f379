/*
 * entry_test.c: a batch of rows as one replicated entry, and a whole log
 * as a snapshot (ledger/ledger_entry.c), on real SQLite files: two
 * ledgers fed the same entries hold the same bytes; an entry applied
 * again changes nothing; a gap, another log's entry and bytes that are
 * not an entry are refused with their codes; a snapshot installs over a
 * ledger and carries its log id.  And the planned suspensions a start
 * restores (ledger_plans), found through their index.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "testlib.h"

static char dir[64];

static struct ledger *
open_at(const char *name)
{
	char path[128], err[256];
	struct ledger *lg = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ledger_open(path, false, &lg, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		abort();
	}
	return lg;
}

static void
keyed(struct ledger *lg)
{
	unsigned char pk[32], sk[64], seed[32];
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	ledger_set_key(lg, pk, sk);
}

/* Row seq of a small trip, with an odd-length detail (the entry then
 * needs its padding). */
static struct ledger_row
trip_row(int64_t seq, const char *detail)
{
	struct ledger_row r;
	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.t = 1733230000000 + seq;
	r.event = "trip";
	r.rule = "vol-p1";
	r.kind = "volume";
	r.scope = "p1";
	r.scope_type = "product";
	r.detail = detail;
	r.effect = LEDGER_OPENS;
	r.until = FXB_NEVER;
	r.dir = 1;
	r.notice_id = "fx";
	r.notice_ko = "환전 일시 중단";
	r.notice_en = "paused";
	return r;
}

/* Every row's seq and hash, and every checkpoint, as one string. */
static char *
fingerprint(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
	         "sqlite3 %s/%s \"select group_concat(seq || hex(hash)) "
	         "from suspension_log; select group_concat(size || "
	         "hex(signature)) from checkpoints\"",
	         dir, name);
	FILE *p = popen(cmd, "r");
	static char buf[65536];
	size_t n = p != NULL ? fread(buf, 1, sizeof(buf) - 1, p) : 0;
	buf[n] = '\0';
	if (p != NULL)
		pclose(p);
	return strdup(buf);
}

static void
test_same_bytes(void)
{
	struct ledger *a = open_at("a.db"), *b = open_at("b.db");
	keyed(a);
	keyed(b);
	struct ledger_row rows[3] = {trip_row(1, "{\"n\":1}"),
	                             trip_row(2, "{\"n\":22}"),
	                             trip_row(3, "{\"n\":333}")};
	rows[1].effect = LEDGER_CLOSES;
	rows[1].event = "resume";
	rows[1].suspension = 1;
	void *e = NULL;
	size_t len = 0;
	CHECK_INT(ledger_entry_encode(a, rows, 3, 1733230009999, true, malloc,
	                              &e, &len),
	          FXB_OK);
	CHECK_INT(len % 8, 0);
	char err[256], *note = NULL;
	int64_t last = 0;
	/* a, whose id the entry carries, and b, a new log that takes it. */
	CHECK_INT(
	    ledger_entry_apply(a, e, len, &last, &note, err, sizeof(err)),
	    FXB_OK);
	CHECK_INT(last, 3);
	CHECK(note != NULL);
	free(note);
	CHECK_INT(ledger_entry_apply(b, e, len, &last, NULL, err, sizeof(err)),
	          FXB_OK);
	CHECK_INT(last, 3);
	/* Applied again (a restart's replay): nothing changes. */
	CHECK_INT(ledger_entry_apply(b, e, len, &last, NULL, err, sizeof(err)),
	          FXB_OK);
	CHECK_INT(ledger_last_seq(b), 3);
	/* Another row at a seq b holds: refused, not skipped. */
	struct ledger_row other = trip_row(2, "{\"n\":99}");
	void *eo = NULL;
	size_t lo = 0;
	ledger_entry_encode(a, &other, 1, 1733230009999, false, malloc, &eo,
	                    &lo);
	CHECK_INT(ledger_entry_apply(b, eo, lo, &last, NULL, err, sizeof(err)),
	          FXB_ERR_LEDGER);
	CHECK_STR(err, "row 2: the log holds another row at this seq");
	free(eo);
	free(e);
	ledger_close(a);
	ledger_close(b);
	char *fa = fingerprint("a.db"), *fb = fingerprint("b.db");
	CHECK_STR(fa, fb);
	CHECK(strlen(fa) > 3 * 64);
	free(fa);
	free(fb);
}

static void
test_refused(void)
{
	struct ledger *a = open_at("c.db"), *other = open_at("d.db");
	struct ledger_row r1 = trip_row(1, "{}"), r5 = trip_row(5, "{}");
	void *e1 = NULL, *e5 = NULL, *eo = NULL;
	size_t l1, l5, lo;
	char err[256];
	int64_t last;
	ledger_entry_encode(a, &r1, 1, 1, false, malloc, &e1, &l1);
	ledger_entry_encode(a, &r5, 1, 1, false, malloc, &e5, &l5);
	ledger_entry_encode(other, &r1, 1, 1, false, malloc, &eo, &lo);
	CHECK_INT(ledger_entry_apply(a, e1, l1, &last, NULL, err, sizeof(err)),
	          FXB_OK);
	/* A gap: row 5 after row 1. */
	CHECK_INT(ledger_entry_apply(a, e5, l5, &last, NULL, err, sizeof(err)),
	          FXB_ERR_RANGE);
	CHECK_STR(err, "a gap: the log ends at 1, the entry goes on at 5");
	/* Another log's entry, over rows of this one. */
	CHECK_INT(ledger_entry_apply(a, eo, lo, &last, NULL, err, sizeof(err)),
	          FXB_ERR_LEDGER);
	CHECK_CONTAINS(err, "another log");
	/* Not an entry: cut short, a stray byte in the padding, junk. */
	CHECK_INT(
	    ledger_entry_apply(a, e1, l1 - 9, &last, NULL, err, sizeof(err)),
	    FXB_ERR_SYNTAX);
	unsigned char *bad = malloc(l1);
	memcpy(bad, e1, l1);
	bad[l1 - 1] = 1;
	CHECK_INT(
	    ledger_entry_apply(a, bad, l1, &last, NULL, err, sizeof(err)),
	    FXB_ERR_SYNTAX);
	memset(bad, 0xff, l1);
	CHECK_INT(
	    ledger_entry_apply(a, bad, l1, &last, NULL, err, sizeof(err)),
	    FXB_ERR_SYNTAX);
	CHECK_INT(ledger_last_seq(a), 1);
	free(bad);
	free(e1);
	free(e5);
	free(eo);
	ledger_close(a);
	ledger_close(other);
}

static void
test_snapshot(void)
{
	struct ledger *a = open_at("e.db"), *b = open_at("f.db");
	struct ledger_row rows[2] = {trip_row(1, "{}"), trip_row(2, "{}")};
	void *e = NULL, *snap = NULL;
	size_t len, slen;
	char err[256], path[128];
	int64_t last = 0, slast = 0;
	ledger_entry_encode(a, rows, 2, 1, false, malloc, &e, &len);
	CHECK_INT(ledger_entry_apply(a, e, len, &last, NULL, err, sizeof(err)),
	          FXB_OK);
	snprintf(path, sizeof(path), "%s/e.db", dir);
	CHECK_INT(ledger_snapshot(path, malloc, &snap, &slen, &slast, err,
	                          sizeof(err)),
	          FXB_OK);
	CHECK_INT(slast, 2);
	unsigned char id[32];
	int64_t ilast = 0;
	CHECK(ledger_snapshot_info(snap, slen, id, &ilast));
	CHECK_INT(ilast, 2);
	CHECK(ledger_same_log(a, id));
	CHECK(!ledger_same_log(b, id));
	ledger_close(b);
	snprintf(path, sizeof(path), "%s/f.db", dir);
	CHECK_INT(ledger_snapshot_install(path, snap, slen, err, sizeof(err)),
	          FXB_OK);
	b = open_at("f.db");
	CHECK_INT(ledger_last_seq(b), 2);
	CHECK(ledger_same_log(b, id));
	/* The next entry goes on from the snapshot's rows. */
	struct ledger_row r3 = trip_row(3, "{}");
	void *e3 = NULL;
	size_t l3;
	ledger_entry_encode(a, &r3, 1, 1, false, malloc, &e3, &l3);
	CHECK_INT(ledger_entry_apply(b, e3, l3, &last, NULL, err, sizeof(err)),
	          FXB_OK);
	CHECK_INT(last, 3);
	CHECK_INT(ledger_snapshot_install(path, "junk", 4, err, sizeof(err)),
	          FXB_ERR_SYNTAX);
	free(e);
	free(e3);
	free(snap);
	ledger_close(a);
	ledger_close(b);
}

/* A section 9 row of scope (a product, or "USD/KRW" a pair). */
static struct ledger_row
plan_row(int64_t seq, const char *event, const char *scope, const char *detail)
{
	struct ledger_row r;
	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.t = 1733230000000 + seq;
	r.event = event;
	r.kind = "forced";
	r.scope = scope;
	r.scope_type = strchr(scope, '/') != NULL ? "pair" : "product";
	r.detail = detail;
	r.until = FXB_NEVER;
	if (strcmp(event, "force_suspend") == 0) {
		r.effect = LEDGER_OPENS;
		r.reason = "stop";
	}
	return r;
}

struct plans_seen {
	char buf[512];
};

static int
plan_seen(void *arg, const struct ledger_row *r, int64_t logged_at)
{
	struct plans_seen *ps = arg;
	size_t n = strlen(ps->buf);
	snprintf(ps->buf + n, sizeof(ps->buf) - n, "%lld %s %s %s;",
	         (long long)r->seq, r->scope, r->scope_type, r->detail);
	return logged_at != 0; /* always 0: go on */
}

/* ledger_plans: the force_scheduled rows no later force_cancel,
 * force_suspend or plan_lapsed names, oldest first, read through the
 * index of migrations 0004 and 0005 (the start must not scan the log). */
static void
test_plans(void)
{
	struct ledger *a = open_at("plans.db");
	keyed(a);
	struct ledger_row rows[] = {
	    plan_row(1, "force_scheduled", "p1",
	             "{\"plan\":1,\"from\":100,\"until\":200}"),
	    plan_row(2, "force_scheduled", "p2", "{\"plan\":2,\"from\":100}"),
	    /* p1's cancelled, then planned again */
	    plan_row(3, "force_cancel", "p1", "{\"plan\":1,\"from\":100}"),
	    plan_row(4, "force_scheduled", "p1",
	             "{\"plan\":4,\"from\":300,\"notice\":\"maint\"}"),
	    /* p2's started */
	    plan_row(5, "force_suspend", "p2", "{\"plan\":2}"),
	    /* a force of its own names no plan */
	    plan_row(6, "force_suspend", "p3", "{\"reason\":\"x\"}"),
	    plan_row(7, "force_scheduled", "USD/KRW",
	             "{\"plan\":7,\"from\":9}"),
	    /* a row that names plan 7 but neither cancels nor starts it */
	    plan_row(8, "command", "USD/KRW", "{\"plan\":7}"),
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	char err[256];
	CHECK_INT(ledger_append(a, rows, n, 1733230009999, false, NULL, err,
	                        sizeof(err)),
	          FXB_OK);
	struct plans_seen ps = {""};
	CHECK_INT(ledger_plans(a, plan_seen, &ps), FXB_OK);
	CHECK_STR(ps.buf,
	          "4 p1 product {\"plan\":4,\"from\":300,\"notice\":"
	          "\"maint\"};7 USD/KRW pair {\"plan\":7,\"from\":9};");
	/* Plan 7 cancelled, plan 10 lapsed: only 4 is left. */
	struct ledger_row c[] = {
	    plan_row(9, "force_cancel", "USD/KRW", "{\"plan\":7,\"from\":9}"),
	    plan_row(10, "force_scheduled", "p3", "{\"plan\":10,\"from\":50}"),
	    plan_row(11, "plan_lapsed", "p3", "{\"plan\":10,\"from\":50}"),
	};
	CHECK_INT(ledger_append(a, c, 3, 1733230009999, false, NULL, err,
	                        sizeof(err)),
	          FXB_OK);
	ps.buf[0] = '\0';
	CHECK_INT(ledger_plans(a, plan_seen, &ps), FXB_OK);
	CHECK_STR(ps.buf, "4 p1 product {\"plan\":4,\"from\":300,\"notice\":"
	                  "\"maint\"};");
	ledger_close(a);
	/* ledger_plans's query as SQLite plans it: both tables searched by
	 * index, none scanned. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "sqlite3 %s/plans.db \"EXPLAIN QUERY PLAN %s\"", dir,
	         ledger_plans_sql);
	FILE *p = popen(cmd, "r");
	char plan[1024];
	size_t got = p != NULL ? fread(plan, 1, sizeof(plan) - 1, p) : 0;
	plan[got] = '\0';
	if (p != NULL)
		pclose(p);
	CHECK(strstr(plan, "USING COVERING INDEX suspension_log_event") !=
	          NULL ||
	      strstr(plan, "USING INDEX suspension_log_event") != NULL);
	CHECK(strstr(plan, "USING INDEX suspension_log_plan") != NULL);
	CHECK(strstr(plan, "SCAN") == NULL);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	    {"same_bytes", test_same_bytes},
	    {"refused", test_refused},
	    {"snapshot", test_snapshot},
	    {"plans", test_plans},
	};
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/fxb-entry.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	int rc = test_main(tests, TEST_COUNT(tests), argc, argv);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
