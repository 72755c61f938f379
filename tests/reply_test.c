/*
 * reply_test.c: the wire replies of ipc/ipc_reply.h, byte for byte.  Each
 * expected string is what the daemon has always sent for that case (key
 * order, number formats, escaping); those that tests/e2e_*.sh also expect
 * from the running daemon are the same strings.  And: every error code of
 * breaker/fxb.h is in docs/PROTOCOL.md's tables with its number and name
 * (run from the top of the tree, as tests/run.sh does).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_reply.h"
#include "testlib.h"

/* EXPECT(expr, want): expr is a new string equal to want; frees it. */
#define EXPECT(expr, want)                                                    \
	do {                                                                  \
		char *got_ = (expr);                                          \
		CHECK_STR(got_, want);                                        \
		free(got_);                                                   \
	} while (0)

/* ---- a check ---- */

static void
test_allow(void)
{
	char buf[IPC_REPLY_ALLOW_MAX];
	char *s = ipc_reply_allow(NULL, buf);
	CHECK(s == buf);
	CHECK_STR(s, "{\"decision\":\"allow\"}");
	s = ipc_reply_allow("a", buf);
	CHECK(s == buf);
	CHECK_STR(s, "{\"decision\":\"allow\",\"ref\":\"a\"}");
	/* UTF-8 goes out as it came, in place. */
	s = ipc_reply_allow("\xea\xb1\xb0\xeb\x9e\x98-1", buf);
	CHECK(s == buf);
	CHECK_STR(s,
	          "{\"decision\":\"allow\",\"ref\":\"\xea\xb1\xb0\xeb\x9e\x98"
	          "-1\"}");
	/* The longest ref fits the buffer. */
	char ref[IPC_REF_MAX + 1], want[IPC_REPLY_ALLOW_MAX];
	memset(ref, 'r', IPC_REF_MAX);
	ref[IPC_REF_MAX] = '\0';
	snprintf(want, sizeof(want), "{\"decision\":\"allow\",\"ref\":\"%s\"}",
	         ref);
	s = ipc_reply_allow(ref, buf);
	CHECK(s == buf);
	CHECK_STR(s, want);
	/* A ref to escape: jansson writes it, into a new string. */
	s = ipc_reply_allow("a\"b\\c\x01", buf);
	CHECK(s != buf);
	CHECK_STR(s,
	          "{\"decision\":\"allow\",\"ref\":\"a\\\"b\\\\c\\u0001\"}");
	if (s != buf)
		free(s);
	/* The same bytes as the general builder's allow. */
	const struct breaker_decision allow = {BREAKER_VERDICT_ALLOW,
	                                       BREAKER_REASON_NONE,
	                                       NULL,
	                                       0,
	                                       NULL,
	                                       0,
	                                       -1,
	                                       {0}};
	const char *refs[] = {NULL,  "a",     "TX-0001", "\xea\xb1\xb0",
	                      "q\"", "tab\t", ref};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		char *g = ipc_reply_check(&allow, NULL, refs[i]);
		s = ipc_reply_allow(refs[i], buf);
		CHECK_STR(s, g);
		if (s != buf)
			free(s);
		free(g);
	}
}

static void
test_deny(void)
{
	/* tests/e2e_wire.sh: a rate outside the band, no suspension. */
	struct breaker_decision d = {BREAKER_VERDICT_DENY,
	                             BREAKER_REASON_RATE_OUTSIDE_BAND,
	                             "eur-band",
	                             BREAKER_BAND,
	                             "fx-rate-move",
	                             0,
	                             -1,
	                             {0}};
	const struct ipc_reply_notice n = {
	    "fx-rate-move",
	    "\xed\x99\x98\xec\x9c\xa8 \"\xea\xb8\x89\xeb\xb3\x80\"",
	    "Rates moved \"fast\"\n\tback at {until}\\", 1733232493000,
	    1733232793000};
	/* No suspension quoted: no notice, whatever the caller passes. */
	EXPECT(ipc_reply_check(&d, &n, NULL),
	       "{\"decision\":\"deny\",\"reason\":\"rate_outside_band\","
	       "\"rule\":\"eur-band\",\"kind\":\"band\"}");
	/* docs/PROTOCOL.md's deny; the rule's notice id never shows. */
	d.reason = BREAKER_REASON_SUSPENDED;
	d.rule = "usdkrw-band";
	d.suspension = 42;
	d.retry_after_ms = 297000;
	EXPECT(ipc_reply_check(&d, NULL, "TX-0001"),
	       "{\"decision\":\"deny\",\"reason\":\"suspended\",\"rule\":"
	       "\"usdkrw-band\",\"kind\":\"band\",\"suspension\":42,"
	       "\"retry_after_ms\":297000,\"ref\":\"TX-0001\"}");
	/* The notice: quotes, a newline, a tab and a backslash escaped,
	 * Hangul as it is. */
	EXPECT(ipc_reply_check(&d, &n, "TX-0001"),
	       "{\"decision\":\"deny\",\"reason\":\"suspended\",\"rule\":"
	       "\"usdkrw-band\",\"kind\":\"band\",\"suspension\":42,"
	       "\"retry_after_ms\":297000,\"notice\":{\"id\":\"fx-rate-move\","
	       "\"ko\":\"\xed\x99\x98\xec\x9c\xa8 "
	       "\\\"\xea\xb8\x89\xeb\xb3\x80\\\"\",\"en\":\"Rates moved "
	       "\\\"fast\\\"\\n\\tback at {until}\\\\\",\"since\":"
	       "1733232493000,\"until\":1733232793000},\"ref\":\"TX-0001\"}");
	/* An operator's force: no rule, no end of its own. */
	struct breaker_decision f = {BREAKER_VERDICT_DENY,
	                             BREAKER_REASON_FORCED,
	                             NULL,
	                             0,
	                             NULL,
	                             61,
	                             -1,
	                             {0}};
	struct ipc_reply_notice fn = {"default-forced", "k", "e", 5,
	                              FXB_NEVER};
	EXPECT(
	    ipc_reply_check(&f, &fn, NULL),
	    "{\"decision\":\"deny\",\"reason\":\"forced\",\"suspension\":61,"
	    "\"notice\":{\"id\":\"default-forced\",\"ko\":\"k\",\"en\":"
	    "\"e\",\"since\":5}}");
	/* A text that is not UTF-8 is left out of the notice. */
	fn.en = "\xff";
	EXPECT(
	    ipc_reply_check(&f, &fn, NULL),
	    "{\"decision\":\"deny\",\"reason\":\"forced\",\"suspension\":61,"
	    "\"notice\":{\"id\":\"default-forced\",\"ko\":\"k\",\"since\":"
	    "5}}");
	/* The denies that quote no suspension: reason, rule and kind. */
	static const struct {
		enum breaker_reason reason;
		enum breaker_kind kind;
		const char *want;
	} held[] = {
	    {BREAKER_REASON_NO_RATE, BREAKER_STALE,
	     "{\"decision\":\"deny\",\"reason\":\"no_rate\",\"rule\":\"r\","
	     "\"kind\":\"stale\"}"},
	    {BREAKER_REASON_AWAITING_REFERENCE, BREAKER_BAND,
	     "{\"decision\":\"deny\",\"reason\":\"awaiting_reference\","
	     "\"rule\":\"r\",\"kind\":\"band\"}"},
	    {BREAKER_REASON_STALE, BREAKER_STALE,
	     "{\"decision\":\"deny\",\"reason\":\"stale\",\"rule\":\"r\","
	     "\"kind\":\"stale\"}"},
	};
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		const struct breaker_decision h = {BREAKER_VERDICT_DENY,
		                                   held[i].reason,
		                                   "r",
		                                   held[i].kind,
		                                   NULL,
		                                   0,
		                                   -1,
		                                   {0}};
		EXPECT(ipc_reply_check(&h, &n, NULL), held[i].want);
	}
	/* docs/PROTOCOL.md's throttle: never a notice. */
	const struct breaker_decision t = {BREAKER_VERDICT_THROTTLE,
	                                   BREAKER_REASON_THROTTLED,
	                                   "wallet-throttle",
	                                   BREAKER_THROTTLE,
	                                   NULL,
	                                   0,
	                                   250,
	                                   {0}};
	EXPECT(ipc_reply_check(&t, &n, "TX-0001"),
	       "{\"decision\":\"throttle\",\"reason\":\"throttled\",\"rule\":"
	       "\"wallet-throttle\",\"kind\":\"throttle\",\"retry_after_ms\":"
	       "250,\"ref\":\"TX-0001\"}");
}

static void
test_fail_closed(void)
{
	/* tests/e2e_failclosed.sh, tests/e2e_walgone.sh. */
	EXPECT(ipc_reply_fail_closed(NULL),
	       "{\"decision\":\"deny\",\"reason\":\"ledger_unavailable\"}");
	EXPECT(ipc_reply_fail_closed("c"),
	       "{\"decision\":\"deny\",\"reason\":\"ledger_unavailable\","
	       "\"ref\":\"c\"}");
	EXPECT(ipc_reply_fail_closed("a\"\\"),
	       "{\"decision\":\"deny\",\"reason\":\"ledger_unavailable\","
	       "\"ref\":\"a\\\"\\\\\"}");
}

/* ---- errors, ok, ping ---- */

static void
test_error(void)
{
	/* docs/PROTOCOL.md's example. */
	EXPECT(ipc_reply_error(FXB_ERR_UNKNOWN_PRODUCT,
	                       "unknown product \"fx-wallet.XXX\"", "TX-0001"),
	       "{\"error\":{\"code\":6,\"name\":\"unknown_product\","
	       "\"message\":\"unknown product \\\"fx-wallet.XXX\\\"\"},"
	       "\"ref\":\"TX-0001\"}");
	EXPECT(
	    ipc_reply_error(FXB_ERR_SHUTDOWN, "the service is stopping", NULL),
	    "{\"error\":{\"code\":23,\"name\":\"shutdown\",\"message\":"
	    "\"the service is stopping\"}}");
	/* The daemon quotes names with "%.64s": a Hangul name cut in the
	 * middle of a character is not UTF-8; the message keeps its text,
	 * the cut character's stray byte written as U+FFFD. */
	char msg[128], name[80] = "";
	for (int i = 0; i < 25; i++)
		strcat(name, "\xea\xb0\x80"); /* 75 bytes */
	snprintf(msg, sizeof(msg), "unknown product \"%.64s\"", name);
	char want1[200];
	snprintf(want1, sizeof(want1),
	         "{\"error\":{\"code\":6,\"name\":\"unknown_product\","
	         "\"message\":\"unknown product \\\"%.63s\xef\xbf\xbd\\\"\"},"
	         "\"ref\":\"z\"}",
	         name);
	EXPECT(ipc_reply_error(FXB_ERR_UNKNOWN_PRODUCT, msg, "z"), want1);
	/* A message the daemon's 256-byte buffer holds whole goes out
	 * whole, control characters escaped. */
	char longmsg[256];
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	longmsg[0] = '\x1f';
	char want[400];
	snprintf(want, sizeof(want),
	         "{\"error\":{\"code\":2,\"name\":\"syntax\",\"message\":"
	         "\"\\u001F%s\"}}",
	         longmsg + 1);
	EXPECT(ipc_reply_error(FXB_ERR_SYNTAX, longmsg, NULL), want);
}

static void
test_nomem(void)
{
	char buf[IPC_REPLY_NOMEM_MAX];
	const char *s = ipc_reply_nomem(buf);
	CHECK(s == buf);
	CHECK_STR(s, "{\"error\":{\"code\":1,\"name\":\"nomem\",\"message\":"
	             "\"out of memory\"}}");
	/* Written by hand, it must be what jansson would write. */
	EXPECT(
	    ipc_reply_error(FXB_ERR_NOMEM, fxb_strerror(FXB_ERR_NOMEM), NULL),
	    s);
}

static void
test_ok_ping(void)
{
	EXPECT(ipc_reply_ok(NULL), "{\"ok\":true}");
	EXPECT(ipc_reply_ok("t1"), "{\"ok\":true,\"ref\":\"t1\"}");
	EXPECT(ipc_reply_ping("fxbreaker-dev", 1733232493000, NULL),
	       "{\"ok\":true,\"service_id\":\"fxbreaker-dev\",\"now\":"
	       "1733232493000}");
	EXPECT(ipc_reply_ping("e2e", 0, "p"),
	       "{\"ok\":true,\"service_id\":\"e2e\",\"now\":0,\"ref\":\"p\"}");
}

/* ---- a batch ---- */

static void
test_batch(void)
{
	struct ipc_reply_batch b = IPC_REPLY_BATCH_INIT;
	EXPECT(ipc_reply_batch_end(&b, NULL), "{\"results\":[]}");

	struct ipc_reply_batch one = IPC_REPLY_BATCH_INIT;
	ipc_reply_batch_add(&one, "{\"decision\":\"allow\",\"ref\":\"TX-1\"}");
	EXPECT(ipc_reply_batch_end(&one, NULL),
	       "{\"results\":[{\"decision\":\"allow\",\"ref\":\"TX-1\"}]}");

	/* docs/PROTOCOL.md's batch, with an answer that could not be built
	 * and a ref to escape. */
	struct ipc_reply_batch n = IPC_REPLY_BATCH_INIT;
	char buf[IPC_REPLY_ALLOW_MAX];
	ipc_reply_batch_add(&n, ipc_reply_allow("TX-1", buf));
	char *e = ipc_reply_error(FXB_ERR_UNKNOWN_PRODUCT,
	                          "unknown product \"no-such\"", "TX-3");
	ipc_reply_batch_add(&n, e);
	free(e);
	ipc_reply_batch_add(&n, NULL);
	EXPECT(
	    ipc_reply_batch_end(&n, "BATCH-\"7\""),
	    "{\"results\":[{\"decision\":\"allow\",\"ref\":\"TX-1\"},"
	    "{\"error\":{\"code\":6,\"name\":\"unknown_product\","
	    "\"message\":\"unknown product \\\"no-such\\\"\"},\"ref\":"
	    "\"TX-3\"},{\"error\":{\"code\":1,\"name\":\"nomem\","
	    "\"message\":\"out of memory\"}}],\"ref\":\"BATCH-\\\"7\\\"\"}");

	/* IPC_BATCH_MAX long denies: the buffer grows past its first 4 KiB. */
	struct ipc_reply_batch big = IPC_REPLY_BATCH_INIT;
	static char want[IPC_BATCH_MAX * 200];
	const char *deny = "{\"decision\":\"deny\",\"reason\":\"suspended\","
	                   "\"suspension\":12345678901,\"ref\":\"r\"}";
	size_t at = (size_t)snprintf(want, sizeof(want), "{\"results\":[");
	for (int i = 0; i < IPC_BATCH_MAX; i++) {
		ipc_reply_batch_add(&big, deny);
		at += (size_t)snprintf(want + at, sizeof(want) - at, "%s%s",
		                       i > 0 ? "," : "", deny);
	}
	snprintf(want + at, sizeof(want) - at, "]}");
	CHECK(strlen(want) > 4096);
	EXPECT(ipc_reply_batch_end(&big, NULL), want);
}

static void
test_batch_fail_closed(void)
{
	static const char req[] =
	    "{\"op\":\"check_batch\",\"ref\":\"B\",\"checks\":["
	    "{\"product\":\"w\",\"amount\":\"1\",\"ref\":\"r1\"},"
	    "{\"product\":\"w\",\"amount\":\"1\"},"
	    "{\"product\":\"w\",\"amount\":\"1\",\"ref\":\"r\\\"3\"}]}";
	struct ipc_request r;
	char msg[256];
	CHECK_INT(ipc_request_parse(req, sizeof(req) - 1, IPC_SOCKET_CHECK, &r,
	                            msg, sizeof(msg)),
	          FXB_OK);
	EXPECT(ipc_reply_batch_fail_closed(&r),
	       "{\"results\":[{\"decision\":\"deny\",\"reason\":"
	       "\"ledger_unavailable\",\"ref\":\"r1\"},{\"decision\":\"deny\","
	       "\"reason\":\"ledger_unavailable\"},{\"decision\":\"deny\","
	       "\"reason\":\"ledger_unavailable\",\"ref\":\"r\\\"3\"}],"
	       "\"ref\":\"B\"}");
	ipc_request_free(&r);
	static const char one[] = "{\"op\":\"check_batch\",\"checks\":["
	                          "{\"product\":\"w\",\"amount\":\"1\"}]}";
	CHECK_INT(ipc_request_parse(one, sizeof(one) - 1, IPC_SOCKET_CHECK, &r,
	                            msg, sizeof(msg)),
	          FXB_OK);
	EXPECT(ipc_reply_batch_fail_closed(&r),
	       "{\"results\":[{\"decision\":\"deny\",\"reason\":"
	       "\"ledger_unavailable\"}]}");
	ipc_request_free(&r);
}

/* ---- signed commands ---- */

static void
test_cmd(void)
{
	struct ipc_reply_cmd c = {IPC_CMD_APPLIED, 61, 0, 0};
	/* suspend */
	EXPECT(ipc_reply_cmd(&c),
	       "{\"result\":\"applied\",\"suspension\":61}");
	/* lift, reset, loosening, enrol, revoke: a request */
	c = (struct ipc_reply_cmd){IPC_CMD_PENDING, 0, 62, 0};
	EXPECT(ipc_reply_cmd(&c), "{\"result\":\"pending\",\"request\":62}");
	/* the approval of a lift or reset */
	c = (struct ipc_reply_cmd){IPC_CMD_APPLIED, 38, 62, 0};
	EXPECT(ipc_reply_cmd(&c),
	       "{\"result\":\"applied\",\"request\":62,\"suspension\":38}");
	/* threshold (tightening), notice */
	c = (struct ipc_reply_cmd){IPC_CMD_APPLIED, 0, 0, 70};
	EXPECT(ipc_reply_cmd(&c), "{\"result\":\"applied\",\"change\":70}");
	/* the approval of a loosening, an enrol or a revoke: its change
	 * first, as the daemon always wrote it */
	c = (struct ipc_reply_cmd){IPC_CMD_APPLIED, 0, 71, 73};
	EXPECT(ipc_reply_cmd(&c),
	       "{\"change\":73,\"result\":\"applied\",\"request\":71}");

	EXPECT(ipc_reply_cmd_rejected(FXB_ERR_BAD_SIGNATURE,
	                              "the signature does not verify"),
	       "{\"result\":\"rejected\",\"error\":{\"code\":26,\"name\":"
	       "\"bad_signature\",\"message\":\"the signature does not "
	       "verify\"}}");
	EXPECT(ipc_reply_cmd_rejected(FXB_ERR_SYNTAX,
	                              "args: unknown field \"untill\" for "
	                              "suspend"),
	       "{\"result\":\"rejected\",\"error\":{\"code\":2,\"name\":"
	       "\"syntax\",\"message\":\"args: unknown field \\\"untill\\\" "
	       "for suspend\"}}");
	/* A message cut inside a character keeps its text: the stray
	 * bytes read U+FFFD. */
	EXPECT(ipc_reply_cmd_rejected(FXB_ERR_UNKNOWN_PRODUCT,
	                              "no such product \"\xea\xb0\""),
	       "{\"result\":\"rejected\",\"error\":{\"code\":6,\"name\":"
	       "\"unknown_product\",\"message\":\"no such product "
	       "\\\"\xef\xbf\xbd\xef\xbf\xbd\\\"\"}}");
	/* The daemon's text, unchanged. */
	EXPECT(ipc_reply_cmd_unconfirmed(),
	       "{\"result\":\"unconfirmed\",\"error\":{\"code\":21,\"name\":"
	       "\"ledger\",\"message\":\"this command's row is not written "
	       "(the log is failing, or the service is stopping or "
	       "overloaded), so it is not confirmed; resend the same signed "
	       "request once status says the ledger is ok for its "
	       "answer\"}}");
}

/* ---- the admin status ---- */

static void
test_status(void)
{
	struct ipc_reply_status *st = ipc_reply_status_new();
	CHECK(st != NULL);
	const struct ipc_status_clock clock = {
	    1733221693000,
	    -10800000,
	    1000,
	    1733200000000,
	    0,
	    1,
	    {1733232400000, 1733232400000, 1733221600000, 10800000, true}};
	ipc_reply_status_service(st, "fxbreaker-dev", 1733232493000, &clock);
	ipc_reply_status_notice_changed(st, "fx-heavy-use", "en",
	                                "Heavy use: \"wait\"");

	const struct ipc_status_hold band = {"usdkrw-band", "band",
	                                     "tripped",     42,
	                                     1733232193000, 1733232793000};
	const struct ipc_status_pair usd = {"USD/KRW", NULL, &band, 1};
	const struct ipc_status_force eur_force = {
	    true, 61, 100, FXB_NEVER, "halt (by alice)", "fx-ops"};
	const struct ipc_status_pair eur = {"EUR/KRW", &eur_force, NULL, 0};
	const struct ipc_status_pair jpy = {"JPY/KRW", NULL, NULL, 0};
	ipc_reply_status_pair(st, &usd);
	ipc_reply_status_pair(st, &eur);
	ipc_reply_status_pair(st, &jpy);

	const struct ipc_status_force behind = {false, 60,           90,
	                                        500,   "r (by bob)", NULL};
	const struct ipc_status_product p1 = {"fx-wallet.USDKRW.buy",
	                                      "USD/KRW",
	                                      true,
	                                      false,
	                                      "suspended",
	                                      "usdkrw-band",
	                                      "band",
	                                      42,
	                                      1733232193000,
	                                      1733232793000,
	                                      NULL,
	                                      NULL,
	                                      &behind,
	                                      1};
	const struct ipc_status_product p2 = {"fx-wallet.EURKRW.buy",
	                                      "EUR/KRW",
	                                      true,
	                                      false,
	                                      "forced",
	                                      NULL,
	                                      NULL,
	                                      61,
	                                      100,
	                                      FXB_NEVER,
	                                      "halt (by alice)",
	                                      "fx-ops",
	                                      NULL,
	                                      0};
	const struct ipc_status_product p3 = {"fx-wallet.JPYKRW.buy",
	                                      "JPY/KRW",
	                                      false,
	                                      false,
	                                      NULL,
	                                      NULL,
	                                      NULL,
	                                      0,
	                                      0,
	                                      FXB_NEVER,
	                                      NULL,
	                                      NULL,
	                                      NULL,
	                                      0};
	const struct ipc_status_product p4 = {"fx-wallet.JPYKRW.sell",
	                                      "JPY/KRW",
	                                      false,
	                                      true,
	                                      NULL,
	                                      NULL,
	                                      NULL,
	                                      0,
	                                      0,
	                                      FXB_NEVER,
	                                      NULL,
	                                      NULL,
	                                      NULL,
	                                      0};
	ipc_reply_status_product(st, &p1);
	ipc_reply_status_product(st, &p2);
	ipc_reply_status_product(st, &p3);
	ipc_reply_status_product(st, &p4);
	/* Outside its opening hours: closed, not suspended, until it opens. */
	const struct ipc_status_product p5 = {
	    .product = "remittance.USDKRW",
	    .pair = "USD/KRW",
	    .held = true,
	    .reason = "closed",
	    .since = 7,
	    .until = 1733443200000,
	};
	ipc_reply_status_product(st, &p5);
	/* docs/PROTOCOL.md's calendar and plan; a calendar west of UTC
	 * that never changes; a pair's plan with no end, its row not yet
	 * written, no reason, the default notice. */
	const struct ipc_status_calendar c1 = {"krx", 540, "day",
	                                       1733293800000, "night"};
	const struct ipc_status_calendar c2 = {"nyc", -300, "off", FXB_NEVER,
	                                       NULL};
	ipc_reply_status_calendar(st, &c1);
	ipc_reply_status_calendar(st, &c2);
	const struct ipc_status_plan pl1 = {
	    57,
	    "remittance.USDKRW",
	    false,
	    1733239200000,
	    1733270400000,
	    "overseas remittance stop (by Kim)",
	    "remit-stop"};
	const struct ipc_status_plan pl2 = {0,         "USD/KRW", true, 9,
	                                    FXB_NEVER, "",        NULL};
	ipc_reply_status_plan(st, &pl1);
	ipc_reply_status_plan(st, &pl2);

	const struct ipc_status_change trip = {"trip", "400"};
	const struct ipc_status_rule r1 = {
	    "usdkrw-band", "band",        "USD/KRW", true,  false, "tripped",
	    1733232193000, 1733232793000, 42,        false, &trip, 1};
	const struct ipc_status_rule r2 = {"wallet-vol",
	                                   "volume",
	                                   "fx-wallet.JPYKRW.buy",
	                                   false,
	                                   true,
	                                   "normal",
	                                   0,
	                                   FXB_NEVER,
	                                   0,
	                                   true,
	                                   NULL,
	                                   0};
	ipc_reply_status_rule(st, &r1);
	ipc_reply_status_rule(st, &r2);

	const struct ipc_status_ledger lg = {false, 57, 0, NULL, 57, 0, NULL};
	ipc_reply_status_ledger(st, &lg);
	const struct ipc_status_fds fds = {15, 1024, false, 0};
	const struct ipc_status_socket sock = {true, false, 1733232490011, 0,
	                                       NULL};
	const struct ipc_status_ticks ticks = {1204311, 7, 0};
	EXPECT(
	    ipc_reply_status_end(st, &fds, &sock, &ticks, NULL),
	    "{\"service_id\":\"fxbreaker-dev\",\"now\":1733232493000,"
	    "\"clock\":{\"wall\":1733221693000,\"offset_ms\":-10800000,"
	    "\"tolerance_ms\":1000,\"started_at\":1733200000000,\"steps\":1,"
	    "\"last_step\":{\"t\":1733232400000,\"from\":1733232400000,"
	    "\"to\":1733221600000,\"size_ms\":10800000,\"direction\":"
	    "\"back\"}},"
	    "\"ledger\":{\"state\":\"ok\",\"committed_seq\":57,\"queued\":0},"
	    "\"checkpoint_note\":{\"ok\":true,\"last_ok_seq\":57},"
	    "\"fds\":{\"open\":15,\"limit\":1024,\"state\":\"ok\","
	    "\"high_episodes\":0},"
	    "\"check_socket\":{\"state\":\"answering\",\"last_answer\":"
	    "1733232490011},"
	    "\"state\":\"ok\","
	    "\"ticks\":{\"applied\":1204311,\"refused\":7,\"waits\":0},"
	    "\"pairs\":["
	    "{\"pair\":\"USD/KRW\",\"state\":\"suspended\",\"held_by\":["
	    "{\"rule\":\"usdkrw-band\",\"kind\":\"band\",\"state\":"
	    "\"tripped\",\"suspension\":42,\"since\":1733232193000,\"until\":"
	    "1733232793000}]},"
	    "{\"pair\":\"EUR/KRW\",\"state\":\"suspended\",\"held_by\":["
	    "{\"kind\":\"forced\",\"suspension\":61,\"since\":100,"
	    "\"operator_reason\":\"halt (by alice)\",\"notice\":\"fx-ops\"}]},"
	    "{\"pair\":\"JPY/KRW\",\"state\":\"open\",\"held_by\":[]}],"
	    "\"products\":["
	    "{\"product\":\"fx-wallet.USDKRW.buy\",\"pair\":\"USD/KRW\","
	    "\"state\":\"suspended\",\"reason\":\"suspended\",\"rule\":"
	    "\"usdkrw-band\",\"kind\":\"band\",\"suspension\":42,\"since\":"
	    "1733232193000,\"until\":1733232793000,\"also_forced\":["
	    "{\"scope\":\"product\",\"suspension\":60,\"since\":90,\"until\":"
	    "500,\"operator_reason\":\"r (by bob)\"}]},"
	    "{\"product\":\"fx-wallet.EURKRW.buy\",\"pair\":\"EUR/KRW\","
	    "\"state\":\"suspended\",\"reason\":\"forced\",\"suspension\":61,"
	    "\"since\":100,\"operator_reason\":\"halt (by alice)\","
	    "\"notice\":\"fx-ops\"},"
	    "{\"product\":\"fx-wallet.JPYKRW.buy\",\"pair\":\"JPY/KRW\","
	    "\"state\":\"open\"},"
	    "{\"product\":\"fx-wallet.JPYKRW.sell\",\"pair\":\"JPY/KRW\","
	    "\"state\":\"suspended\",\"reason\":\"reopening_not_logged\"},"
	    "{\"product\":\"remittance.USDKRW\",\"pair\":\"USD/KRW\","
	    "\"state\":\"closed\",\"reason\":\"closed\",\"until\":"
	    "1733443200000}],"
	    "\"rules\":["
	    "{\"rule\":\"usdkrw-band\",\"kind\":\"band\",\"scope\":"
	    "\"USD/KRW\",\"scope_type\":\"pair\",\"mode\":\"enforce\","
	    "\"state\":\"tripped\",\"since\":1733232193000,\"until\":"
	    "1733232793000,\"suspension\":42,\"latched\":false,\"changed\":"
	    "{\"trip\":\"400\"}},"
	    "{\"rule\":\"wallet-vol\",\"kind\":\"volume\",\"scope\":"
	    "\"fx-wallet.JPYKRW.buy\",\"scope_type\":\"product\",\"mode\":"
	    "\"shadow\",\"state\":\"normal\",\"since\":0,\"latched\":true}],"
	    "\"notices_changed\":[{\"notice\":\"fx-heavy-use\",\"lang\":"
	    "\"en\",\"text\":\"Heavy use: \\\"wait\\\"\"}],"
	    "\"calendars\":[{\"calendar\":\"krx\",\"utc_offset\":\"+09:00\","
	    "\"session\":\"day\",\"next\":1733293800000,\"next_session\":"
	    "\"night\"},{\"calendar\":\"nyc\",\"utc_offset\":\"-05:00\","
	    "\"session\":\"off\"}],"
	    "\"plans\":[{\"plan\":57,\"scope\":\"remittance.USDKRW\","
	    "\"scope_type\":\"product\",\"from\":1733239200000,\"until\":"
	    "1733270400000,\"operator_reason\":\"overseas remittance stop (by "
	    "Kim)\",\"notice\":\"remit-stop\"},{\"scope\":\"USD/KRW\","
	    "\"scope_type\":\"pair\",\"from\":9}]}");
}

/* docs/PROTOCOL.md's closed deny and upcoming: on an allow (not the
 * hand-written allow any more), with the notice texts; on a deny with its
 * own notice; with no end; without texts (they could not be rendered). */
static void
test_upcoming(void)
{
	struct breaker_decision d = {BREAKER_VERDICT_DENY,
	                             BREAKER_REASON_CLOSED,
	                             NULL,
	                             0,
	                             NULL,
	                             0,
	                             207000000,
	                             {0}};
	EXPECT(ipc_reply_check_upcoming(&d, NULL, NULL, "TX-0001"),
	       "{\"decision\":\"deny\",\"reason\":\"closed\","
	       "\"retry_after_ms\":207000000,\"ref\":\"TX-0001\"}");
	struct breaker_decision a = {
	    BREAKER_VERDICT_ALLOW,
	    BREAKER_REASON_NONE,
	    NULL,
	    0,
	    NULL,
	    0,
	    -1,
	    {57, 1733239200000, 1733270400000, false, "stop (by Kim)"}};
	const struct ipc_reply_notice up = {"default-forced", "\xed\x99\x98",
	                                    "paused \"soon\"", 1733239200000,
	                                    1733270400000};
	EXPECT(ipc_reply_check_upcoming(&a, NULL, &up, "TX-0001"),
	       "{\"decision\":\"allow\",\"upcoming\":{\"plan\":57,\"from\":"
	       "1733239200000,\"until\":1733270400000,\"notice\":{\"id\":"
	       "\"default-forced\",\"ko\":\"\xed\x99\x98\",\"en\":\"paused "
	       "\\\"soon\\\"\"}},\"ref\":\"TX-0001\"}");
	/* ipc_reply_check: the same, without texts. */
	EXPECT(ipc_reply_check(&a, NULL, NULL),
	       "{\"decision\":\"allow\",\"upcoming\":{\"plan\":57,\"from\":"
	       "1733239200000,\"until\":1733270400000}}");
	/* A forced deny now, a plan ahead with no end: both notices. */
	struct breaker_decision f = {BREAKER_VERDICT_DENY,
	                             BREAKER_REASON_FORCED,
	                             NULL,
	                             0,
	                             NULL,
	                             61,
	                             -1,
	                             {62, 9000, FXB_NEVER, true, ""}};
	const struct ipc_reply_notice now = {"default-forced", "k", "e", 5,
	                                     FXB_NEVER};
	EXPECT(ipc_reply_check_upcoming(&f, &now, &up, NULL),
	       "{\"decision\":\"deny\",\"reason\":\"forced\",\"suspension\":"
	       "61,\"notice\":{\"id\":\"default-forced\",\"ko\":\"k\",\"en\":"
	       "\"e\",\"since\":5},\"upcoming\":{\"plan\":62,\"from\":9000,"
	       "\"notice\":{\"id\":\"default-forced\",\"ko\":\"\xed\x99\x98\","
	       "\"en\":\"paused \\\"soon\\\"\"}}}");
}

static void
test_status_degraded(void)
{
	struct ipc_reply_status *st = ipc_reply_status_new();
	const struct ipc_status_clock clock = {5, 0, 1000, 1, 3, 0, {0}};
	ipc_reply_status_service(st, "s", 5, &clock);
	const struct ipc_status_ledger lg = {
	    true,
	    3,
	    2,
	    "disk full",
	    0,
	    2,
	    "checkpoint 61: No space left on device"};
	ipc_reply_status_ledger(st, &lg);
	const struct ipc_status_fds fds = {-1, -1, true, 1};
	const struct ipc_status_socket sock = {
	    true, true, 0, 5,
	    "ipc:///x/check.ipc: no answer within 1000 ms (receive)"};
	const struct ipc_status_ticks ticks = {0, 0, 0};
	EXPECT(ipc_reply_status_end(st, &fds, &sock, &ticks, "S-1"),
	       "{\"service_id\":\"s\",\"now\":5,\"clock\":{\"wall\":5,"
	       "\"offset_ms\":0,\"tolerance_ms\":1000,\"started_at\":1,"
	       "\"started_behind_ms\":3,\"steps\":0},"
	       "\"ledger\":{\"state\":\"degraded\",\"committed_seq\":3,"
	       "\"queued\":2,\"last_error\":\"disk full\"},"
	       "\"checkpoint_note\":{\"ok\":false,\"last_ok_seq\":0,\"error\":"
	       "\"checkpoint 61: No space left on device\",\"failed\":2},"
	       "\"fds\":{\"open\":null,\"limit\":null,\"state\":\"high\","
	       "\"high_episodes\":1},"
	       "\"check_socket\":{\"state\":\"silent\",\"last_answer\":null,"
	       "\"since\":5,\"error\":\"ipc:///x/check.ipc: no answer within "
	       "1000 ms (receive)\"},"
	       "\"state\":\"degraded\","
	       "\"ticks\":{\"applied\":0,\"refused\":0,\"waits\":0},"
	       "\"pairs\":[],\"products\":[],\"rules\":[],"
	       "\"notices_changed\":[],\"calendars\":[],\"plans\":[],"
	       "\"ref\":\"S-1\"}");
}

/* The top-level state from its two sources, and the parts the e2e tests
 * read back from the running daemon (jq keeps key order). */
static char *
status_with(bool degraded, bool watched, bool silent)
{
	struct ipc_reply_status *st = ipc_reply_status_new();
	const struct ipc_status_clock clock = {0};
	ipc_reply_status_service(st, "e2e", 0, &clock);
	const struct ipc_status_ledger lg = {degraded, 3, 0, "x", 0, 0, NULL};
	ipc_reply_status_ledger(st, &lg);
	const struct ipc_status_fds fds = {38, 40, true, 1};
	const struct ipc_status_socket sock = {watched, silent, 7, 7, "e"};
	const struct ipc_status_ticks ticks = {1, 0, 0};
	return ipc_reply_status_end(st, &fds, &sock, &ticks, NULL);
}

static void
test_status_state(void)
{
	char *s = status_with(false, true, false);
	CHECK_CONTAINS(s, "\"state\":\"ok\",\"ticks\"");
	CHECK_CONTAINS(s, "\"ledger\":{\"state\":\"ok\",\"committed_seq\":3,"
	                  "\"queued\":0}");
	CHECK_CONTAINS(s, "\"ticks\":{\"applied\":1,\"refused\":0,"
	                  "\"waits\":0}");
	CHECK_CONTAINS(s, "\"fds\":{\"open\":38,\"limit\":40,\"state\":"
	                  "\"high\",\"high_episodes\":1}");
	free(s);
	s = status_with(false, false, true);
	CHECK_CONTAINS(s, "\"check_socket\":{\"state\":\"unwatched\"},"
	                  "\"state\":\"ok\"");
	free(s);
	s = status_with(false, true, true);
	CHECK_CONTAINS(s, "\"state\":\"degraded\",\"ticks\"");
	free(s);
	s = status_with(true, false, false);
	CHECK_CONTAINS(s, "\"state\":\"degraded\",\"ticks\"");
	free(s);
	/* Dropped unfinished, or never made: no leak, no reply. */
	ipc_reply_status_free(ipc_reply_status_new());
	ipc_reply_status_free(NULL);
	CHECK(ipc_reply_status_end(NULL, NULL, NULL, NULL, NULL) == NULL);
}

/* ---- the error table and docs/PROTOCOL.md ---- */

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf != NULL &&
	       (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			char *b = realloc(buf, cap * 2);
			if (b == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

#define CODES_MAX 256

/* The enum fxb_err of fxb.h's text: enum[n] is FXB_ERR_...'s name. */
static int
header_codes(const char *text, char names[CODES_MAX][40])
{
	int count = 0;
	const char *p = strstr(text, "enum fxb_err {");
	const char *end = p != NULL ? strstr(p, "};") : NULL;
	while (p != NULL && (p = strstr(p, "FXB_ERR_")) != NULL && p < end) {
		char name[40];
		int num, len;
		if (sscanf(p, "%39[A-Z_] = %d%n", name, &num, &len) == 2 &&
		    num > 0 && num < CODES_MAX) {
			if (names[num][0] != '\0')
				test_fail(
				    __FILE__, __LINE__,
				    "breaker/fxb.h: code %d is both %s and "
				    "%s",
				    num, names[num], name);
			snprintf(names[num], sizeof(names[num]), "%s", name);
			count++;
		}
		p += 8;
	}
	return count;
}

/* The rows "| N | `name` | ..." of PROTOCOL.md's tables: doc[n]. */
static int
doc_codes(const char *text, char doc[CODES_MAX][40])
{
	int count = 0;
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		int num, len = 0;
		char name[40];
		if (sscanf(line, "| %d | `%39[a-z_]` |%n", &num, name, &len) ==
		        2 &&
		    len > 0 && num > 0 && num < CODES_MAX) {
			if (doc[num][0] != '\0')
				test_fail(
				    __FILE__, __LINE__,
				    "docs/PROTOCOL.md lists code %d twice "
				    "(`%s`, `%s`)",
				    num, doc[num], name);
			snprintf(doc[num], sizeof(doc[num]), "%s", name);
			count++;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return count;
}

static void
test_protocol_codes(void)
{
	static char hdr[CODES_MAX][40], doc[CODES_MAX][40];
	char *h = slurp("breaker/fxb.h"), *d = slurp("docs/PROTOCOL.md");
	if (h == NULL || d == NULL) {
		test_fail(__FILE__, __LINE__,
		          "cannot read breaker/fxb.h or docs/PROTOCOL.md "
		          "(run from the top of the tree)");
		free(h);
		free(d);
		return;
	}
	int nh = header_codes(h, hdr), nd = doc_codes(d, doc);
	CHECK(nh >= 35);
	CHECK(nd > 0);
	for (int n = 1; n < CODES_MAX; n++) {
		const char *name = fxb_errname((enum fxb_err)n);
		bool named = strcmp(name, "unknown") != 0;
		if (hdr[n][0] != '\0' && !named)
			test_fail(__FILE__, __LINE__,
			          "%s = %d has no name in breaker/fxb_err.c",
			          hdr[n], n);
		if (hdr[n][0] == '\0' && named)
			test_fail(
			    __FILE__, __LINE__,
			    "fxb_errname(%d) is \"%s\" but breaker/fxb.h "
			    "has no code %d",
			    n, name, n);
		if (hdr[n][0] != '\0' && named && doc[n][0] == '\0')
			test_fail(__FILE__, __LINE__,
			          "docs/PROTOCOL.md lacks code %d `%s` (%s)",
			          n, name, hdr[n]);
		if (hdr[n][0] != '\0' && named && doc[n][0] != '\0' &&
		    strcmp(doc[n], name) != 0)
			test_fail(__FILE__, __LINE__,
			          "docs/PROTOCOL.md names code %d `%s`; "
			          "fxb_errname says `%s` (%s)",
			          n, doc[n], name, hdr[n]);
		if (hdr[n][0] == '\0' && doc[n][0] != '\0')
			test_fail(__FILE__, __LINE__,
			          "docs/PROTOCOL.md lists code %d `%s`, which "
			          "breaker/fxb.h does not have",
			          n, doc[n]);
	}
	free(h);
	free(d);
}

/* The live board's document and a page of products, byte for byte
 * (docs/PROTOCOL.md, "The board's stream"). */
static void
test_board(void)
{
	struct ipc_reply_board *b = ipc_reply_board_new();
	CHECK(b != NULL);
	const struct ipc_status_hold vel = {"usdkrw-velocity", "velocity",
	                                    "tripped",         31,
	                                    1733232465000,     1733232765000};
	const struct ipc_status_pair usd = {"USD/KRW", NULL, &vel, 1};
	const struct ipc_status_pair jpy = {"JPY/KRW", NULL, NULL, 0};
	const struct ipc_board_pair p1 = {
	    .status = &usd,
	    .ticked = true,
	    .last = {.t = 1733232478000, .rate = 1424100000000},
	    .now = {.band = true,
	            .lower = 1381860000000,
	            .upper = 1423940000000},
	    .band_rule = "usdkrw-band",
	};
	const struct ipc_board_pair p2 = {
	    .status = &jpy,
	    .now = {.velocity = true,
	            .vlower = 9200000000,
	            .vupper = 9500000000},
	    .velocity_rule = "jpykrw-velocity",
	};
	ipc_reply_board_pair(b, &p1);
	ipc_reply_board_pair(b, &p2);
	const struct ipc_board_point pts[] = {
	    {1733232470000, 1421400000000, true, 1381860000000, 1423940000000,
	     false, 0, 0},
	    {1733232471000, 1421500000000, false, 0, 0, true, 1410000000000,
	     1430000000000},
	};
	ipc_reply_board_chart(b, 0, pts, 2);
	ipc_reply_board_chart(b, 7, pts, 2); /* no such pair: nothing */
	const char *first[] = {"fx-wallet.USDKRW.buy", "remittance.USDKRW"};
	const struct ipc_board_suspension s1 = {31,
	                                        "usdkrw-velocity",
	                                        "velocity",
	                                        "USD/KRW",
	                                        "pair",
	                                        1733232465000,
	                                        1733232765000,
	                                        NULL,
	                                        2,
	                                        first,
	                                        2};
	const struct ipc_board_suspension s2 = {
	    0,         NULL,  "forced",  "x",
	    "product", 5,     FXB_NEVER, "halt (by alice)",
	    1,         first, 1};
	ipc_reply_board_suspension(b, &s1);
	ipc_reply_board_suspension(b, &s2);
	const struct ipc_board_event e1 = {
	    31,         31,        1733232465000, "trip", "usdkrw-velocity",
	    "velocity", "USD/KRW", "pair"};
	const struct ipc_board_event e2 = {1,  0,         5,  "service_start",
	                                   "", "service", "", ""};
	ipc_reply_board_event(b, &e1);
	ipc_reply_board_event(b, &e2);
	const struct ipc_status_calendar cal = {"krx", 540, "day",
	                                        1733293800000, "night"};
	ipc_reply_board_calendar(b, &cal);
	const struct ipc_status_plan plan = {
	    57,  "remittance.USDKRW", false, 1733239200000, FXB_NEVER, "stop",
	    NULL};
	ipc_reply_board_plan(b, &plan);
	const struct ipc_board_head h = {
	    "fxbreaker-dev", 1733232493000, 540, 2.5, 9, 3, 2, 2};
	const struct ipc_status_ledger lg = {false, 42, 1, "", 0, 0, ""};
	EXPECT(
	    ipc_reply_board_end(b, &h, &lg),
	    "{\"service_id\":\"fxbreaker-dev\",\"now\":1733232493000,"
	    "\"notice_utc_offset_min\":540,\"state\":\"ok\","
	    "\"ledger\":{\"state\":\"ok\",\"committed_seq\":42,"
	    "\"queued\":1},\"decisions_per_second\":2.5,"
	    "\"products\":{\"total\":9,\"open\":6,\"suspended\":3},"
	    "\"pairs_total\":2,\"suspensions_total\":2,"
	    "\"pairs\":["
	    "{\"pair\":\"USD/KRW\",\"state\":\"suspended\",\"held_by\":["
	    "{\"rule\":\"usdkrw-velocity\",\"kind\":\"velocity\","
	    "\"state\":\"tripped\",\"suspension\":31,\"since\":"
	    "1733232465000,\"until\":1733232765000}],"
	    "\"rate\":\"1424.10\",\"rate_t\":1733232478000,"
	    "\"band\":{\"rule\":\"usdkrw-band\",\"lower\":\"1381.86\","
	    "\"upper\":\"1423.94\"},"
	    "\"history\":[[1733232470000,1421400000000,1381860000000,"
	    "1423940000000,null,null],[1733232471000,1421500000000,null,null,"
	    "1410000000000,1430000000000]]},"
	    "{\"pair\":\"JPY/KRW\",\"state\":\"open\",\"held_by\":[],"
	    "\"rate\":null,\"velocity\":{\"rule\":\"jpykrw-velocity\","
	    "\"lower\":\"9.20\",\"upper\":\"9.50\"},\"history\":[]}],"
	    "\"suspensions\":["
	    "{\"suspension\":31,\"rule\":\"usdkrw-velocity\",\"kind\":"
	    "\"velocity\",\"scope\":\"USD/KRW\",\"scope_type\":\"pair\","
	    "\"since\":1733232465000,\"until\":1733232765000,\"products\":2,"
	    "\"first\":[\"fx-wallet.USDKRW.buy\",\"remittance.USDKRW\"]},"
	    "{\"suspension\":null,\"rule\":null,\"kind\":\"forced\","
	    "\"scope\":\"x\",\"scope_type\":\"product\",\"since\":5,"
	    "\"operator_reason\":\"halt (by alice)\",\"products\":1,"
	    "\"first\":[\"fx-wallet.USDKRW.buy\"]}],"
	    "\"events\":["
	    "{\"seq\":31,\"t\":1733232465000,\"event\":\"trip\",\"rule\":"
	    "\"usdkrw-velocity\",\"kind\":\"velocity\",\"scope\":"
	    "\"USD/KRW\",\"scope_type\":\"pair\",\"suspension\":31},"
	    "{\"seq\":1,\"t\":5,\"event\":\"service_start\",\"kind\":"
	    "\"service\"}],"
	    "\"calendars\":[{\"calendar\":\"krx\",\"utc_offset\":\"+09:00\","
	    "\"session\":\"day\",\"next\":1733293800000,\"next_session\":"
	    "\"night\"}],"
	    "\"plans\":[{\"plan\":57,\"scope\":\"remittance.USDKRW\","
	    "\"scope_type\":\"product\",\"from\":1733239200000,"
	    "\"operator_reason\":\"stop\"}]}");

	/* Not measured yet: null; the ledger degraded says why. */
	b = ipc_reply_board_new();
	const struct ipc_board_head h0 = {"s", 1, -300, -1, 0, 0, 0, 0};
	const struct ipc_status_ledger bad = {true, 7, 3, "disk I/O error",
	                                      0,    0, ""};
	EXPECT(ipc_reply_board_end(b, &h0, &bad),
	       "{\"service_id\":\"s\",\"now\":1,\"notice_utc_offset_min\":"
	       "-300,\"state\":\"degraded\",\"ledger\":{\"state\":"
	       "\"degraded\",\"committed_seq\":7,\"queued\":3,"
	       "\"last_error\":\"disk I/O error\"},\"decisions_per_second\":"
	       "null,\"products\":{\"total\":0,\"open\":0,\"suspended\":0},"
	       "\"pairs_total\":0,\"suspensions_total\":0,\"pairs\":[],"
	       "\"suspensions\":[],\"events\":[],\"calendars\":[],"
	       "\"plans\":[]}");

	/* A cluster node's document ends with status's cluster object: a
	 * follower that knows no leader (null check_url), and one member
	 * with no [peer] in its config. */
	b = ipc_reply_board_new();
	const struct ipc_status_member mem[] = {
	    {1, "voter", "127.0.0.1:9701", "tcp://127.0.0.1:7401"},
	    {4, "spare", "127.0.0.1:9704", NULL},
	};
	const struct ipc_status_cluster cl = {2,  0, "follower", NULL, 7,   0,
	                                      42, 1, 2,          3,    mem, 2};
	ipc_reply_board_cluster(b, &cl);
	EXPECT(ipc_reply_board_end(b, &h0, &lg),
	       "{\"service_id\":\"s\",\"now\":1,\"notice_utc_offset_min\":"
	       "-300,\"state\":\"ok\",\"ledger\":{\"state\":\"ok\","
	       "\"committed_seq\":42,\"queued\":1},"
	       "\"decisions_per_second\":null,\"products\":{\"total\":0,"
	       "\"open\":0,\"suspended\":0},\"pairs_total\":0,"
	       "\"suspensions_total\":0,\"pairs\":[],\"suspensions\":[],"
	       "\"events\":[],\"calendars\":[],\"plans\":[],"
	       "\"cluster\":{\"node\":2,\"role\":"
	       "\"follower\",\"leader\":0,\"term\":7,\"lease_ms\":0,"
	       "\"applied_seq\":42,\"elections\":1,\"snapshots\":{"
	       "\"taken\":2,\"installed\":3},\"leader_check_url\":null,"
	       "\"members\":[{\"id\":1,\"role\":\"voter\",\"raft_address\":"
	       "\"127.0.0.1:9701\",\"check_url\":\"tcp://127.0.0.1:7401\"},"
	       "{\"id\":4,\"role\":\"spare\",\"raft_address\":"
	       "\"127.0.0.1:9704\",\"check_url\":null}]}}");
	/* Set twice: the last one stands, the first freed. */
	b = ipc_reply_board_new();
	ipc_reply_board_cluster(b, &cl);
	const struct ipc_status_cluster lead = {
	    1, 1,   "leader", "tcp://127.0.0.1:7401", 8, 250, 43, 2, 0,
	    0, mem, 0};
	ipc_reply_board_cluster(b, &lead);
	char *doc = ipc_reply_board_end(b, &h0, &lg);
	CHECK(doc != NULL &&
	      strstr(doc, ",\"cluster\":{\"node\":1,\"role\":\"leader\","
	                  "\"leader\":1,\"term\":8,\"lease_ms\":250,"
	                  "\"applied_seq\":43,\"elections\":2,\"snapshots\":"
	                  "{\"taken\":0,\"installed\":0},"
	                  "\"leader_check_url\":\"tcp://127.0.0.1:7401\","
	                  "\"members\":[]}}") != NULL);
	free(doc);
	ipc_reply_board_free(NULL); /* a no-op */
	ipc_reply_board_cluster(NULL, &cl);

	const struct ipc_board_product prods[] = {
	    {"fx-wallet.USDKRW.buy", "USD/KRW", true, 31, "usdkrw-velocity",
	     1733232765000},
	    {"fx-wallet.USDKRW.sell", "USD/KRW", false, 0, NULL, FXB_NEVER},
	};
	const struct ipc_board_page pg = {31, "fx-", 0, 200, 2, prods, 2};
	EXPECT(ipc_reply_board_page(&pg),
	       "{\"suspension\":31,\"prefix\":\"fx-\",\"offset\":0,"
	       "\"limit\":200,\"total\":2,\"products\":["
	       "{\"product\":\"fx-wallet.USDKRW.buy\",\"pair\":\"USD/KRW\","
	       "\"state\":\"suspended\",\"suspension\":31,\"rule\":"
	       "\"usdkrw-velocity\",\"until\":1733232765000},"
	       "{\"product\":\"fx-wallet.USDKRW.sell\",\"pair\":\"USD/KRW\","
	       "\"state\":\"open\"}]}");
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	    {"upcoming", test_upcoming},
	    {"allow", test_allow},
	    {"deny", test_deny},
	    {"fail_closed", test_fail_closed},
	    {"error", test_error},
	    {"nomem", test_nomem},
	    {"ok_ping", test_ok_ping},
	    {"batch", test_batch},
	    {"batch_fail_closed", test_batch_fail_closed},
	    {"cmd", test_cmd},
	    {"status", test_status},
	    {"status_degraded", test_status_degraded},
	    {"status_state", test_status_state},
	    {"board", test_board},
	    {"protocol_codes", test_protocol_codes},
	};
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
