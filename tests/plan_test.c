/*
 * plan_test.c: planned suspensions (RULES.md 9) through the daemon, in
 * process: a real daemon (its sockets, its writer, its SQLite log, its
 * timer) started on a temporary directory, a plan made the way the
 * signed commands make one (daemon_force_plan, daemon_force_cancel, under
 * mu), and everything else read from outside: the checks through the C
 * client library (fxb_client_check_upcoming) on the check socket, the
 * rows with sqlite3, status as the admin socket builds it.  Across two
 * restarts: the plan comes back with its notice, starts by the timer at
 * its own instant with that notice, a cancelled one stays cancelled, and
 * one whose start passed while the daemon was down starts at the next
 * start, stamped with its own instant.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "fxb_client.h"
#include "testlib.h"

static char dir[64], conf[128], url[128];

/* ms milliseconds (POSIX 2008 has no usleep). */
static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* One value (the first column of the first row) of a query on the log. */
static char *
sql(const char *q)
{
	static char buf[4096];
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sqlite3 %s/data/fxbreaker.db \"%s\"", dir,
	         q);
	FILE *p = popen(cmd, "r");
	size_t n = p != NULL ? fread(buf, 1, sizeof(buf) - 1, p) : 0;
	if (p != NULL)
		pclose(p);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return buf;
}

/* "2026-12-06 16:20 (UTC+09:00)": {start} as notices show it. */
static void
kst(char *buf, size_t cap, fxb_time t)
{
	time_t s = (time_t)(t / 1000 + 9 * 3600);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d (UTC+09:00)",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min);
}

/* "2026-12-06T16:20:01.123Z", as fxbreakerctl prints times. */
static void
iso(char *buf, size_t cap, fxb_time t)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)(t % 1000));
}

/* Status as the admin socket answers it, parsed. */
static json_t *
status(struct daemon *d)
{
	char *s = status_reply(d, NULL);
	json_t *o = s != NULL ? json_loads(s, 0, NULL) : NULL;
	free(s);
	return o;
}

/* Waits (up to 5 s) until every row handed out is written. */
static void
drained(struct daemon *d)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&d->mu);
		int64_t last = events_last_seq(d);
		pthread_mutex_unlock(&d->mu);
		if (atomic_load(&d->committed) >= last)
			return;
		pause_ms(10);
	}
}

static struct daemon *
start(void)
{
	const struct daemon_opts opts = {conf, 4, 0};
	struct daemon *d = daemon_start(&opts);
	if (d == NULL) {
		fprintf(stderr, "the daemon did not start\n");
		exit(1);
	}
	return d;
}

static void
test_plans(void)
{
	char msg[2048], a[64], b[64];
	struct fxb_client_result res;
	struct fxb_client_upcoming up;
	struct fxb_client *c = NULL;
	struct daemon *d = start();
	int64_t plan = 0, xplan = 0, other = 0;

	/* w: from 8 s from now (room for a slow browser below) to 68 s,
	 * [notice maint]; x: far ahead, the default notice.  Then the
	 * refusals: a second plan of w, a cancel of a product with none, a
	 * start not after now. */
	pthread_mutex_lock(&d->mu);
	fxb_time now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	int32_t w = breaker_product_find(d->engine, "w", 1);
	int32_t x = breaker_product_find(d->engine, "x", 1);
	fxb_time from = now + 8000, until = now + 68000;
	CHECK_INT(daemon_force_plan(d, now, false, w, from, until,
	                            "maintenance (by alice)", "maint", &plan),
	          FXB_OK);
	CHECK_INT(daemon_force_plan(d, now, false, x, now + 600000, FXB_NEVER,
	                            "x stop (by bob)", NULL, &xplan),
	          FXB_OK);
	CHECK_INT(daemon_force_plan(d, now, false, w, now + 5000, FXB_NEVER,
	                            "again", NULL, &other),
	          FXB_ERR_ALREADY_PLANNED);
	CHECK_INT(other, 0);
	int32_t pair = breaker_pair_find(d->engine, "USD/KRW", 7);
	CHECK_INT(daemon_force_cancel(d, now, true, pair, &other),
	          FXB_ERR_NOT_PLANNED);
	CHECK_INT(daemon_force_plan(d, now, true, pair, now, FXB_NEVER, "r",
	                            NULL, &other),
	          FXB_ERR_RANGE);
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	CHECK(plan > 0 && xplan == plan + 1);
	drained(d);

	/* The rows: the plan's id is its row's seq; the notice is kept in
	 * it; each signed a checkpoint. */
	char want[1024];
	snprintf(msg, sizeof(msg),
	         "select event || '|' || kind || '|' || scope || '|' || "
	         "scope_type || '|' || coalesce(suspension, 'NULL') || '|' "
	         "|| detail from suspension_log where seq = %lld",
	         (long long)plan);
	snprintf(want, sizeof(want),
	         "force_scheduled|forced|w|product|NULL|{\"t\":%lld,\"event\":"
	         "\"force_scheduled\",\"scope\":\"w\",\"scope_type\":"
	         "\"product\",\"plan\":%lld,\"from\":%lld,\"until\":%lld,"
	         "\"reason\":\"maintenance (by alice)\",\"notice\":\"maint\"}",
	         (long long)now, (long long)plan, (long long)from,
	         (long long)until);
	CHECK_STR(sql(msg), want);
	/* One commit wrote both (a checkpoint signs a batch's end): no
	 * other row of that batch signs. */
	snprintf(msg, sizeof(msg),
	         "select count(*) from checkpoints where size = %lld",
	         (long long)xplan);
	CHECK_STR(sql(msg), "1");

	/* A check on w before the start: allowed, and told what is coming,
	 * in the customer's words: the notice chosen, {start} the start. */
	snprintf(url, sizeof(url), "ipc://%s/run/check.ipc", dir);
	CHECK_INT(fxb_client_open(url, 3000, &c), 0);
	if (c == NULL)
		goto out;
	CHECK_INT(
	    fxb_client_check_upcoming(c, "w", "1.00", NULL, NULL, &res, &up),
	    FXB_CLIENT_ALLOW);
	CHECK(up.has_upcoming);
	CHECK_INT(up.plan, plan);
	CHECK_INT(up.from, from);
	CHECK_INT(up.until, until);
	kst(a, sizeof(a), from);
	kst(b, sizeof(b), until);
	snprintf(want, sizeof(want), "w: maintenance from %s, until %s.", a,
	         b);
	CHECK_STR(up.notice_en, want);
	snprintf(want, sizeof(want), "w: %s부터 %s까지 점검합니다.", a, b);
	CHECK_STR(up.notice_ko, want);
	/* x's plan has no end: the default forced notice, "until further
	 * notice", and no end in upcoming. */
	CHECK_INT(
	    fxb_client_check_upcoming(c, "x", "1.00", NULL, NULL, &res, &up),
	    FXB_CLIENT_ALLOW);
	CHECK_INT(up.plan, xplan);
	CHECK_INT(up.until, -1);
	kst(a, sizeof(a), now + 600000);
	snprintf(want, sizeof(want),
	         "x: exchange is temporarily unavailable until further notice "
	         "(operational reasons), since %s.",
	         a);
	CHECK_STR(up.notice_en, want);

	/* Status lists both, in the config's order. */
	json_t *st = status(d);
	char *plans = json_dumps(json_object_get(st, "plans"), JSON_COMPACT);
	snprintf(want, sizeof(want),
	         "[{\"plan\":%lld,\"scope\":\"w\",\"scope_type\":\"product\","
	         "\"from\":%lld,\"until\":%lld,\"operator_reason\":"
	         "\"maintenance (by alice)\",\"notice\":\"maint\"},"
	         "{\"plan\":%lld,\"scope\":\"x\",\"scope_type\":\"product\","
	         "\"from\":%lld,\"operator_reason\":\"x stop (by bob)\"}]",
	         (long long)plan, (long long)from, (long long)until,
	         (long long)xplan, (long long)(now + 600000));
	CHECK_STR(plans, want);
	free(plans);
	json_decref(st);

	/* A reload (SIGHUP) keeps both, w's notice too. */
	daemon_reload(d);
	st = status(d);
	plans = json_dumps(json_object_get(st, "plans"), JSON_COMPACT);
	CHECK_STR(plans, want);
	free(plans);
	json_decref(st);

	/* A restart before the start: both plans come back, w's with its
	 * notice. */
	fxb_client_close(c);
	c = NULL;
	daemon_stop(d);
	d = start();
	CHECK_INT(fxb_client_open(url, 3000, &c), 0);
	if (c == NULL)
		goto out;
	st = status(d);
	plans = json_dumps(json_object_get(st, "plans"), JSON_COMPACT);
	CHECK_STR(plans, want);
	free(plans);
	json_decref(st);
	/* fxbreakerctl status prints them (from the top of the tree, as
	 * tests/run.sh runs). */
	char cmd[512], text[4096];
	snprintf(cmd, sizeof(cmd),
	         "build/fxbreakerctl --config %s status | sed -n "
	         "'/^PLAN/,$p'",
	         conf);
	FILE *p = popen(cmd, "r");
	size_t got = p != NULL ? fread(text, 1, sizeof(text) - 1, p) : 0;
	text[got] = '\0';
	if (p != NULL)
		pclose(p);
	char f1[64], u1[64], f2[64];
	iso(f1, sizeof(f1), from);
	iso(u1, sizeof(u1), until);
	iso(f2, sizeof(f2), now + 600000);
	snprintf(
	    want, sizeof(want),
	    "PLAN   SCOPE                        TYPE     FROM            "
	    "          UNTIL\n"
	    "%-6lld w                            product  %s  %s\n"
	    "       planned: maintenance (by alice); customers read "
	    "[notice maint]\n"
	    "%-6lld x                            product  %s  until "
	    "lifted\n"
	    "       planned: x stop (by bob); customers read the default "
	    "forced notice\n",
	    (long long)plan, f1, u1, (long long)xplan, f2);
	CHECK_STR(text, want);
	/* The board in headless chromium (tests/board_test.py). */
	snprintf(cmd, sizeof(cmd),
	         "BOARD_PROFILE=%s/chromium python3 tests/board_test.py plans "
	         "http://127.0.0.1:19901 %lld %lld",
	         dir, (long long)plan, (long long)xplan);
	p = popen(cmd, "r");
	got = p != NULL ? fread(text, 1, sizeof(text) - 1, p) : 0;
	text[got] = '\0';
	int brc = p != NULL ? pclose(p) : -1;
	CHECK_STR(strstr(text, "passed, 0 failed") != NULL ? "" : text, "");
	CHECK_INT(brc, 0);
	CHECK_INT(
	    fxb_client_check_upcoming(c, "w", "1.00", NULL, NULL, &res, &up),
	    FXB_CLIENT_ALLOW);
	CHECK_INT(up.plan, plan);
	kst(a, sizeof(a), from);
	snprintf(want, sizeof(want), "w: maintenance from %s, until %s.", a,
	         b);
	CHECK_STR(up.notice_en, want);

	/* The start, by the timer, at `from` exactly: a force_suspend that
	 * names the plan, and w's checks denied with the planned notice. */
	snprintf(msg, sizeof(msg),
	         "select count(*) from suspension_log where event = "
	         "'force_suspend' and json_extract(detail, '$.plan') = %lld",
	         (long long)plan);
	for (int i = 0; i < 1000 && strcmp(sql(msg), "1") != 0; i++)
		pause_ms(10);
	snprintf(msg, sizeof(msg),
	         "select seq || '|' || t || '|' || suspension || '|' || "
	         "json_extract(detail, '$.until') from suspension_log where "
	         "event = 'force_suspend' and json_extract(detail, '$.plan') "
	         "= %lld",
	         (long long)plan);
	char row[256];
	snprintf(row, sizeof(row), "%s", sql(msg));
	long long seq = atoll(row);
	snprintf(want, sizeof(want), "%lld|%lld|%lld|%lld", seq,
	         (long long)from, seq, (long long)until);
	CHECK_STR(row, want);
	CHECK_INT(
	    fxb_client_check_upcoming(c, "w", "1.00", NULL, NULL, &res, &up),
	    FXB_CLIENT_DENY);
	CHECK_STR(res.reason, "forced");
	CHECK_INT(res.suspension, seq);
	CHECK(!up.has_upcoming);
	snprintf(want, sizeof(want), "w: maintenance from %s, until %s.", a,
	         b);
	CHECK_STR(res.notice_en, want);
	snprintf(msg, sizeof(msg),
	         "select notice_id from notices where suspension = %lld", seq);
	CHECK_STR(sql(msg), "maint");

	/* x's plan cancelled: its row names it, and signs a checkpoint. */
	pthread_mutex_lock(&d->mu);
	now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	CHECK_INT(daemon_force_cancel(d, now, false, x, &other), FXB_OK);
	pthread_mutex_unlock(&d->mu);
	CHECK_INT(other, xplan);
	drained(d);
	snprintf(msg, sizeof(msg),
	         "select seq || '|' || detail from suspension_log where event "
	         "= 'force_cancel'");
	snprintf(row, sizeof(row), "%s", sql(msg));
	seq = atoll(row);
	/* from is x's planned start, as its own row has it. */
	snprintf(msg, sizeof(msg),
	         "select json_extract(detail, '$.from') from suspension_log "
	         "where seq = %lld",
	         (long long)xplan);
	long long xfrom = atoll(sql(msg));
	snprintf(want, sizeof(want),
	         "%lld|{\"t\":%lld,\"event\":\"force_cancel\",\"scope\":\"x\","
	         "\"scope_type\":\"product\",\"plan\":%lld,\"from\":%lld}",
	         seq, (long long)now, (long long)xplan, xfrom);
	CHECK_STR(row, want);
	snprintf(msg, sizeof(msg),
	         "select count(*) from checkpoints where size = %lld", seq);
	CHECK_STR(sql(msg), "1");
	CHECK_INT(
	    fxb_client_check_upcoming(c, "x", "1.00", NULL, NULL, &res, &up),
	    FXB_CLIENT_ALLOW);
	CHECK(!up.has_upcoming);

	/* x planned again, 1 s ahead, [notice maint]; the daemon down
	 * across its start.  At the next start it fires at once, stamped
	 * with the restarted clock (never before the service_start row:
	 * the clock does not go back), with the notice its row keeps. */
	int64_t x2 = 0;
	pthread_mutex_lock(&d->mu);
	now = daemon_engine_now(d);
	breaker_advance(d->engine, now);
	fxb_time x2from = now + 1000;
	CHECK_INT(daemon_force_plan(d, now, false, x, x2from, FXB_NEVER,
	                            "x again (by bob)", "maint", &x2),
	          FXB_OK);
	pthread_mutex_unlock(&d->mu);
	fxb_client_close(c);
	c = NULL;
	daemon_stop(d);
	pause_ms(1500);
	d = start();
	drained(d);
	snprintf(msg, sizeof(msg),
	         "select (t >= %lld) || '|' || (seq > (select seq from "
	         "suspension_log "
	         "where event = 'service_start' order by seq desc limit 1)) "
	         "|| '|' || (select notice_id from notices n where "
	         "n.suspension = s.seq) from suspension_log s where event = "
	         "'force_suspend' and json_extract(detail, '$.plan') = %lld",
	         (long long)x2from, (long long)x2);
	snprintf(want, sizeof(want), "1|1|maint");
	CHECK_STR(sql(msg), want);

	/* Nothing pending now (two started, one cancelled); both
	 * suspensions are open ones like any other. */
	st = status(d);
	plans = json_dumps(json_object_get(st, "plans"), JSON_COMPACT);
	CHECK_STR(plans, "[]");
	free(plans);
	for (size_t i = 0; i < 2; i++) {
		json_t *pr =
		    json_array_get(json_object_get(st, "products"), i);
		CHECK_STR(json_string_value(json_object_get(pr, "reason")),
		          "forced");
		CHECK_STR(json_string_value(json_object_get(pr, "notice")),
		          "maint");
	}
	json_decref(st);
out:
	fxb_client_close(c);
	daemon_stop(d);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	    {"plans", test_plans},
	};
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/fxb-plan.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(conf, sizeof(conf), "%s/fx.conf", dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		return 1;
	fprintf(f,
	        "[service]\ndata_dir = %s/data\ncheck_url = ipc://%s/run/"
	        "check.ipc\ntick_url = ipc://%s/run/tick.ipc\nadmin_url = "
	        "ipc://%s/run/admin.ipc\nevents_url = ipc://%s/run/"
	        "events.ipc\nservice_id = plan-test\nnotice_utc_offset = "
	        "+09:00\nhttp_url = http://127.0.0.1:19901\n[pair "
	        "USD/KRW]\n[product w]\npair = USD/KRW\n"
	        "[product x]\npair = USD/KRW\n[notice maint]\n"
	        "ko = {product}: {start}부터 {until} 점검합니다.\n"
	        "en = {product}: maintenance from {start}, {until}.\n",
	        dir, dir, dir, dir, dir);
	fclose(f);
	/* The daemon's lines (stderr) go to a file, shown on failure. */
	char logf[128];
	snprintf(logf, sizeof(logf), "%s/daemon.log", dir);
	if (freopen(logf, "w", stderr) == NULL)
		return 1;
	int rc = test_main(tests, TEST_COUNT(tests), argc, argv);
	if (rc != 0) {
		char show[160];
		snprintf(show, sizeof(show), "cat %s", logf);
		fflush(stdout);
		if (system(show) != 0)
			rc = 1;
	}
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
