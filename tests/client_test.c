/*
 * client_test.c: the client library (ipc/fxb_client.h) reading what the
 * service answers: every field of an allow, a deny, a throttle, an error
 * reply, garbage, lenient fields and truncated texts, from a real nng REP
 * server (client_fake.h) on inproc:// and ipc://.  Timeouts, outages, the
 * fail policy and ping are in client_outage_test.c.
 */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "fxb.h"
#include "fxb_client.h"
#include "testlib.h"
#include "client_fake.h"

/* PROTOCOL.md: an allow, and the request that asked for it. */
static void
test_allow(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;
	json_t *req;

	if (!srv_start(&s, "inproc://client-allow"))
		return;
	srv_reply(&s, "{\"decision\":\"allow\",\"ref\":\"TX-0001\"}");
	if ((c = client_open("inproc://client-allow", 2000)) == NULL)
		goto out;

	CHECK_INT(fxb_client_check(c, "fx-wallet.USDKRW.buy", "100.00",
	                           "1421.05", "TX-0001", &res),
	          FXB_CLIENT_ALLOW);
	CHECK_INT(res.decision, FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	CHECK_STR(res.reason, "");
	CHECK_STR(res.rule, "");
	CHECK_STR(res.kind, "");
	CHECK_INT(res.suspension, 0);
	CHECK_INT(res.retry_after_ms, -1);
	CHECK_STR(res.notice_ko, "");
	CHECK_STR(res.notice_en, "");

	/* The request: decimals as the caller's strings, exactly. */
	req = srv_last(&s);
	CHECK(json_is_object(req));
	CHECK_INT(json_object_size(req), 5);
	CHECK_STR(json_string_value(json_object_get(req, "op")), "check");
	CHECK_STR(json_string_value(json_object_get(req, "product")),
	          "fx-wallet.USDKRW.buy");
	CHECK_STR(json_string_value(json_object_get(req, "amount")), "100.00");
	CHECK_STR(json_string_value(json_object_get(req, "rate")), "1421.05");
	CHECK_STR(json_string_value(json_object_get(req, "ref")), "TX-0001");
	json_decref(req);

	/* Without rate and ref, neither is sent; trailing zeros stay. */
	CHECK_INT(fxb_client_check(c, "fx-wallet.USDJPY.buy", "1.10", NULL,
	                           NULL, &res),
	          FXB_CLIENT_ALLOW);
	req = srv_last(&s);
	CHECK_INT(json_object_size(req), 3);
	CHECK_STR(json_string_value(json_object_get(req, "amount")), "1.10");
	CHECK(json_object_get(req, "rate") == NULL);
	CHECK(json_object_get(req, "ref") == NULL);
	json_decref(req);
	CHECK_INT(srv_nreq(&s), 2);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* PROTOCOL.md: a deny with every field, the notice in Korean and
 * English. */
static void
test_deny_full(void)
{
	static const char reply[] =
	    "{\"decision\":\"deny\",\"reason\":\"suspended\","
	    "\"rule\":\"usdkrw-band\",\"kind\":\"band\",\"suspension\":42,"
	    "\"retry_after_ms\":297000,"
	    "\"notice\":{\"id\":\"fx-rate-move\","
	    "\"ko\":\"\xed\x99\x98\xec\x9c\xa8 "
	    "\xea\xb8\x89\xeb\xb3\x80\xec\x9c"
	    "\xbc\xeb\xa1\x9c \xed\x99\x98\xec\xa0\x84\xec\x9d\xb4 "
	    "\xec\xa4\x91\xec\xa7\x80\xeb\x90\x98\xec\x97\x88\xec\x8a\xb5"
	    "\xeb\x8b\x88\xeb\x8b\xa4.\","
	    "\"en\":\"Conversions are paused after a sharp rate move.\","
	    "\"since\":1733232493000,\"until\":1733232793000},"
	    "\"ref\":\"TX-0001\"}";
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;

	if (!srv_start(&s, "inproc://client-deny"))
		return;
	srv_reply(&s, reply);
	if ((c = client_open("inproc://client-deny", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_check(c, "fx-wallet.USDKRW.buy", "100.00",
	                           "1421.05", "TX-0001", &res),
	          FXB_CLIENT_DENY);
	CHECK_INT(res.decision, FXB_CLIENT_DENY);
	CHECK_ANSWER(res);
	CHECK_STR(res.reason, "suspended");
	CHECK_STR(res.rule, "usdkrw-band");
	CHECK_STR(res.kind, "band");
	CHECK_INT(res.suspension, 42);
	CHECK_INT(res.retry_after_ms, 297000);
	CHECK_STR(
	    res.notice_ko,
	    "\xed\x99\x98\xec\x9c\xa8 \xea\xb8\x89\xeb\xb3\x80\xec\x9c"
	    "\xbc\xeb\xa1\x9c \xed\x99\x98\xec\xa0\x84\xec\x9d\xb4 "
	    "\xec\xa4\x91\xec\xa7\x80\xeb\x90\x98\xec\x97\x88\xec\x8a\xb5"
	    "\xeb\x8b\x88\xeb\x8b\xa4.");
	CHECK_STR(res.notice_en,
	          "Conversions are paused after a sharp rate move.");

	/* A forced suspension: no rule, kind or retry; a service deny
	 * stands even for a product whose fail policy is allow. */
	CHECK_INT(fxb_client_set_policy(c, "fx-wallet.USDKRW.buy",
	                                FXB_CLIENT_FAIL_ALLOW),
	          0);
	srv_reply(&s, "{\"decision\":\"deny\",\"reason\":\"forced\","
	              "\"suspension\":7}");
	CHECK_INT(fxb_client_check(c, "fx-wallet.USDKRW.buy", "5.00", NULL,
	                           NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK_ANSWER(res);
	CHECK_STR(res.reason, "forced");
	CHECK_STR(res.rule, "");
	CHECK_STR(res.kind, "");
	CHECK_INT(res.suspension, 7);
	CHECK_INT(res.retry_after_ms, -1);
	CHECK_STR(res.notice_ko, "");
	fxb_client_close(c);
out:
	srv_stop(&s);
}

static void
test_throttle(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;

	if (!srv_start(&s, "inproc://client-throttle"))
		return;
	srv_reply(&s, "{\"decision\":\"throttle\",\"reason\":\"throttled\","
	              "\"rule\":\"wallet-throttle\",\"kind\":\"throttle\","
	              "\"retry_after_ms\":250,\"ref\":\"TX-0002\"}");
	if ((c = client_open("inproc://client-throttle", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_check(c, "fx-wallet.USDKRW.buy", "100.00", NULL,
	                           "TX-0002", &res),
	          FXB_CLIENT_THROTTLE);
	CHECK_INT(res.decision, FXB_CLIENT_THROTTLE);
	CHECK_ANSWER(res);
	CHECK_STR(res.reason, "throttled");
	CHECK_STR(res.rule, "wallet-throttle");
	CHECK_STR(res.kind, "throttle");
	CHECK_INT(res.suspension, 0);
	CHECK_INT(res.retry_after_ms, 250);
	CHECK_STR(res.notice_en, "");
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* An error reply: a request error (bad input) is a deny whatever the
 * policy; a service error (shutdown, ...) goes to the fail policy; both
 * keep the service's code and message. */
static void
test_error_reply(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;

	if (!srv_start(&s, "inproc://client-error"))
		return;
	srv_reply(&s, "{\"error\":{\"code\":6,\"name\":\"unknown_product\","
	              "\"message\":\"unknown product "
	              "\\\"fx-wallet.XXX\\\"\"},\"ref\":\"TX-0001\"}");
	if ((c = client_open("inproc://client-error", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "fx-wallet.XXX.open",
	                                FXB_CLIENT_FAIL_ALLOW),
	          0);

	CHECK_INT(fxb_client_check(c, "fx-wallet.XXX", "100.00", NULL,
	                           "TX-0001", &res),
	          FXB_CLIENT_DENY);
	CHECK_INT(res.decision, FXB_CLIENT_DENY);
	CHECK(!res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNKNOWN_PRODUCT);
	CHECK_STR(res.message, "unknown product \"fx-wallet.XXX\"");
	CHECK_STR(res.reason, "");
	CHECK_INT(res.retry_after_ms, -1);

	/* Bad input is never allowed through, even for a product whose
	 * fail policy is allow. */
	CHECK_INT(fxb_client_check(c, "fx-wallet.XXX.open", "100.00", NULL,
	                           NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK(!res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNKNOWN_PRODUCT);

	/* A service error goes to the policy: allow for this product. */
	srv_reply(&s, "{\"error\":{\"code\":23,\"name\":\"shutdown\"}}");
	CHECK_INT(fxb_client_check(c, "fx-wallet.XXX.open", "1.00", NULL, NULL,
	                           &res),
	          FXB_CLIENT_ALLOW);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_SHUTDOWN);

	/* Without a message the name stands in. */
	CHECK_INT(fxb_client_check(c, "fx-wallet.USDKRW.buy", "1.00", NULL,
	                           NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_SHUTDOWN);
	CHECK_STR(res.message, "shutdown");
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* Bytes that are no usable reply: never a crash, always the policy. */
static void
test_garbage(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len; /* 0: strlen */
	} cases[] = {
	    {"empty", "", 0},
	    {"text", "not json at all", 0},
	    {"truncated", "{\"decision\":\"allow\"", 0},
	    {"trailing data", "{\"decision\":\"allow\"} {}", 0},
	    {"array", "[\"allow\"]", 0},
	    {"string", "\"allow\"", 0},
	    {"null", "null", 0},
	    {"number", "1", 0},
	    {"no decision", "{\"ref\":\"TX-0001\"}", 0},
	    {"decision a number", "{\"decision\":0}", 0},
	    {"decision unknown", "{\"decision\":\"maybe\"}", 0},
	    {"decision in caps", "{\"decision\":\"ALLOW\"}", 0},
	    {"decision null", "{\"decision\":null}", 0},
	    {"duplicate decision",
	     "{\"decision\":\"deny\",\"decision\":\"allow\"}", 0},
	    {"embedded NUL", "{\"decision\":\"allow\"}\0xx", 23},
	    {"NUL in string", "{\"decision\":\"allow\\u0000\"}", 0},
	    {"invalid UTF-8", "{\"decision\":\"allow\",\"reason\":\"\xff\"}",
	     0},
	    {"binary", "\xff\xfe\x00\x01\x80", 5},
	    {"huge integer",
	     "{\"decision\":\"allow\",\"suspension\":"
	     "99999999999999999999999}",
	     0},
	    {"deep nesting",
	     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	     0},
	    {"error not an object", "{\"error\":\"boom\"}", 0},
	    {"error without code", "{\"error\":{\"message\":\"x\"}}", 0},
	    {"error code a string", "{\"error\":{\"code\":\"6\"}}", 0},
	    {"error code zero", "{\"error\":{\"code\":0}}", 0},
	    {"error code negative", "{\"error\":{\"code\":-6}}", 0},
	    {"error code huge", "{\"error\":{\"code\":4294967302}}", 0},
	    {"error and decision",
	     "{\"decision\":\"allow\",\"error\":{\"code\":\"x\"}}", 0},
	};
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;

	if (!srv_start(&s, "inproc://client-garbage"))
		return;
	if ((c = client_open("inproc://client-garbage", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "open", FXB_CLIENT_FAIL_ALLOW), 0);
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		size_t len =
		    cases[i].len ? cases[i].len : strlen(cases[i].bytes);
		enum fxb_client_decision d;

		srv_set(&s, SRV_REPLY, cases[i].bytes, len);
		d = fxb_client_check(c, "closed", "1.00", NULL, NULL, &res);
		if (d != FXB_CLIENT_DENY || res.decision != FXB_CLIENT_DENY ||
		    !res.by_policy || res.error != FXB_ERR_SYNTAX ||
		    res.message[0] == '\0')
			test_fail(__FILE__, __LINE__,
			          "%s: decision %d/%d by_policy %d error %d "
			          "message \"%s\"",
			          cases[i].name, (int)d, (int)res.decision,
			          (int)res.by_policy, res.error, res.message);
		d = fxb_client_check(c, "open", "1.00", NULL, NULL, &res);
		if (d != FXB_CLIENT_ALLOW || !res.by_policy)
			test_fail(__FILE__, __LINE__,
			          "%s: fail-allow product got %d",
			          cases[i].name, (int)d);
	}
	/* After all that, a good reply still reads. */
	srv_reply(&s, "{\"decision\":\"allow\"}");
	CHECK_INT(fxb_client_check(c, "closed", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* Once the service decided, an optional field of the wrong type reads as
 * absent: it never turns a deny into the fail policy (which may be
 * allow). */
static void
test_lenient_fields(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;

	if (!srv_start(&s, "inproc://client-lenient"))
		return;
	srv_reply(&s, "{\"decision\":\"deny\",\"reason\":7,\"rule\":null,"
	              "\"kind\":[\"band\"],\"suspension\":\"42\","
	              "\"retry_after_ms\":-5,\"notice\":\"closed\","
	              "\"extra\":{\"future\":true}}");
	if ((c = client_open("inproc://client-lenient", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "p", FXB_CLIENT_FAIL_ALLOW), 0);
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK_ANSWER(res);
	CHECK_STR(res.reason, "");
	CHECK_STR(res.rule, "");
	CHECK_STR(res.kind, "");
	CHECK_INT(res.suspension, 0);
	CHECK_INT(res.retry_after_ms, -1);
	CHECK_STR(res.notice_ko, "");

	srv_reply(&s, "{\"decision\":\"deny\",\"suspension\":1.5,"
	              "\"retry_after_ms\":2.5,"
	              "\"notice\":{\"ko\":1,\"en\":\"paused\"}}");
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK_ANSWER(res);
	CHECK_INT(res.suspension, 0);
	CHECK_INT(res.retry_after_ms, -1);
	CHECK_STR(res.notice_ko, "");
	CHECK_STR(res.notice_en, "paused");

	/* A suspension is a log sequence number (> 0); 0 ms is a retry. */
	srv_reply(&s, "{\"decision\":\"throttle\",\"suspension\":-3,"
	              "\"retry_after_ms\":0}");
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_THROTTLE);
	CHECK_ANSWER(res);
	CHECK_INT(res.suspension, 0);
	CHECK_INT(res.retry_after_ms, 0);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* Texts longer than their field are cut, terminated, at a UTF-8 character
 * boundary. */
static void
test_truncation(void)
{
	static const char hangul[] = "\xed\x99\x98"; /* one syllable */
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;
	char reply[8192];
	size_t n = 0;

	n += (size_t)snprintf(reply + n, sizeof(reply) - n,
	                      "{\"decision\":\"deny\",\"reason\":\"");
	for (int i = 0; i < 40; i++)
		reply[n++] = 'r';
	n += (size_t)snprintf(reply + n, sizeof(reply) - n, "\",\"rule\":\"");
	for (int i = 0; i < 100; i++)
		reply[n++] = 'x';
	n += (size_t)snprintf(reply + n, sizeof(reply) - n,
	                      "\",\"notice\":{\"ko\":\"");
	/* 1025 syllables: 3075 bytes for a 1023-byte field; 1023 is a
	 * multiple of 3, so make it cut mid-character with one ASCII
	 * byte in front. */
	reply[n++] = 'a';
	for (int i = 0; i < 1025; i++) {
		memcpy(reply + n, hangul, 3);
		n += 3;
	}
	n += (size_t)snprintf(reply + n, sizeof(reply) - n, "\"}}");

	if (!srv_start(&s, "inproc://client-truncation"))
		return;
	srv_set(&s, SRV_REPLY, reply, n);
	if ((c = client_open("inproc://client-truncation", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK_ANSWER(res);
	CHECK_INT(strlen(res.reason), sizeof(res.reason) - 1);
	CHECK_INT(strlen(res.rule), sizeof(res.rule) - 1);
	/* 'a' + 340 whole syllables = 1021 bytes; the 341st would need
	 * bytes 1021..1023, one too many. */
	CHECK_INT(strlen(res.notice_ko), 1 + 340 * 3);
	CHECK(memcmp(res.notice_ko + 1 + 339 * 3, hangul, 3) == 0);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* PROTOCOL.md's upcoming: on an allow, on a closed deny (none), with no
 * end, in a batch; an answer that leaves it out clears the last one. */
static void
test_upcoming(void)
{
	struct fxb_client_result res, bres[2];
	struct fxb_client_upcoming up, bup[2];
	struct fxb_client *c;
	struct srv s;

	/* The layout docs/PROTOCOL.md gives the JNA mapping. */
	CHECK_INT(sizeof(struct fxb_client_upcoming), 2080);
	CHECK_INT(offsetof(struct fxb_client_upcoming, plan), 8);
	CHECK_INT(offsetof(struct fxb_client_upcoming, until), 24);
	CHECK_INT(offsetof(struct fxb_client_upcoming, notice_en), 1056);
	CHECK_INT(sizeof(struct fxb_client_result), 2448);
	if (!srv_start(&s, "inproc://client-upcoming"))
		return;
	srv_reply(&s, "{\"decision\":\"allow\",\"upcoming\":{\"plan\":"
	              "17,\"from\":1733268000000,\"until\":1733299200000,"
	              "\"notice\":{\"id\":\"default-forced\",\"ko\":\"k "
	              "\\u00e9\",\"en\":\"paused from 00:20\"}}}");
	if ((c = client_open("inproc://client-upcoming", 2000)) == NULL)
		goto out;
	CHECK_INT(
	    fxb_client_check_upcoming(c, "p", "1", NULL, NULL, &res, &up),
	    FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	CHECK(up.has_upcoming);
	CHECK_INT(up.plan, 17);
	CHECK_INT(up.from, 1733268000000);
	CHECK_INT(up.until, 1733299200000);
	CHECK_STR(up.notice_ko, "k \xc3\xa9");
	CHECK_STR(up.notice_en, "paused from 00:20");
	/* A closed product: no suspension, a retry, nothing planned. */
	srv_reply(&s, "{\"decision\":\"deny\",\"reason\":\"closed\","
	              "\"retry_after_ms\":207000000}");
	CHECK_INT(
	    fxb_client_check_upcoming(c, "p", "1", NULL, NULL, &res, &up),
	    FXB_CLIENT_DENY);
	CHECK_STR(res.reason, "closed");
	CHECK_INT(res.suspension, 0);
	CHECK_INT(res.retry_after_ms, 207000000);
	CHECK(!up.has_upcoming);
	CHECK_INT(up.plan, 0);
	CHECK_STR(up.notice_ko, "");
	/* A deny with a plan ahead and no end; no plan id is none. */
	srv_reply(&s, "{\"results\":[{\"decision\":\"deny\",\"reason\":"
	              "\"forced\",\"suspension\":9,\"upcoming\":{\"plan\":"
	              "12,\"from\":5}},{\"decision\":\"allow\","
	              "\"upcoming\":{\"from\":5}}]}");
	const struct fxb_client_check ck[2] = {{"p", "1", NULL, NULL},
	                                       {"q", "1", NULL, NULL}};
	CHECK_INT(fxb_client_check_batch_upcoming(c, ck, 2, bres, bup), 1);
	CHECK(bup[0].has_upcoming);
	CHECK_INT(bup[0].plan, 12);
	CHECK_INT(bup[0].from, 5);
	CHECK_INT(bup[0].until, -1);
	CHECK(!bup[1].has_upcoming);
	/* The service gone: the policy decides, nothing upcoming (the
	 * last answer's plan is not left behind). */
	srv_reply(&s, "{\"decision\":\"allow\",\"upcoming\":{\"plan\":"
	              "3,\"from\":5}}");
	CHECK_INT(
	    fxb_client_check_upcoming(c, "p", "1", NULL, NULL, &res, &up),
	    FXB_CLIENT_ALLOW);
	CHECK_INT(up.plan, 3);
	fxb_client_close(c);
	srv_stop(&s);
	if ((c = client_open("inproc://client-upcoming", 100)) == NULL)
		return;
	CHECK_INT(
	    fxb_client_check_upcoming(c, "p", "1", NULL, NULL, &res, &up),
	    FXB_CLIENT_DENY);
	CHECK(res.by_policy);
	CHECK(!up.has_upcoming);
	CHECK_INT(up.plan, 0);
	fxb_client_close(c);
	return;
out:
	srv_stop(&s);
}

/* A server that takes the request and never answers: the call ends at
 * the timeout, and the next call gets the next reply, not a late one. */

static const struct test tests[] = {
    {"upcoming", test_upcoming},
    {"allow", test_allow},
    {"deny_full", test_deny_full},
    {"throttle", test_throttle},
    {"error_reply", test_error_reply},
    {"garbage", test_garbage},
    {"lenient_fields", test_lenient_fields},
    {"truncation", test_truncation},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
