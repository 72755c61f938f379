/*
 * client_test.c: the client library (ipc/fxb_client.h) against a real nng
 * REP server run in a thread of the test, on inproc:// and on ipc:// in a
 * temporary directory.  The server answers canned bytes (a reply of
 * docs/PROTOCOL.md, an error, garbage), stays silent, drops the
 * connection, or is not there at all; the tests check every field of the
 * result, the fail policy per product and that timeouts are kept.
 *
 * Only the main thread calls CHECK (testlib is not thread-safe): the
 * server and worker threads record, the main thread checks.
 */
#include <stdio.h>
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

/* Generous upper bounds: these machines are noisy, and
 * CI may share its two cores; the lower bounds prove the timeout itself. */
#define SLACK_MS 800

enum srv_mode {
	SRV_REPLY,  /* answer the canned reply */
	SRV_SILENT, /* take the request, never answer */
	SRV_DROP,   /* take the request, close its connection */
};

struct srv {
	nng_socket sock;
	nng_thread *thread;
	nng_mtx *mtx; /* guards everything below */
	enum srv_mode mode;
	char reply[8192];
	size_t reply_len;
	int nreq;
	char last[4096]; /* the last request, terminated */
};

static void
srv_run(void *arg)
{
	struct srv *s = arg;
	nng_msg *msg, *out;

	while (nng_recvmsg(s->sock, &msg, 0) == 0) {
		size_t len = nng_msg_len(msg);
		enum srv_mode mode;

		nng_mtx_lock(s->mtx);
		s->nreq++;
		if (len >= sizeof(s->last))
			len = sizeof(s->last) - 1;
		memcpy(s->last, nng_msg_body(msg), len);
		s->last[len] = '\0';
		mode = s->mode;
		out = NULL;
		if (mode == SRV_REPLY && nng_msg_alloc(&out, 0) == 0 &&
		    nng_msg_append(out, s->reply, s->reply_len) != 0) {
			nng_msg_free(out);
			out = NULL;
		}
		nng_mtx_unlock(s->mtx);

		if (mode == SRV_DROP)
			nng_pipe_close(nng_msg_get_pipe(msg));
		nng_msg_free(msg);
		/* A REP socket sends a fresh message back along the route
		 * of the request it last received. */
		if (out != NULL && nng_sendmsg(s->sock, out, 0) != 0)
			nng_msg_free(out);
	}
}

/* srv_set sets what the server does with the next requests. */
static void
srv_set(struct srv *s, enum srv_mode mode, const char *reply, size_t len)
{
	nng_mtx_lock(s->mtx);
	s->mode = mode;
	if (len > sizeof(s->reply))
		len = sizeof(s->reply);
	if (reply != NULL)
		memcpy(s->reply, reply, len);
	s->reply_len = reply != NULL ? len : 0;
	nng_mtx_unlock(s->mtx);
}

static void
srv_reply(struct srv *s, const char *reply)
{
	srv_set(s, SRV_REPLY, reply, strlen(reply));
}

static int
srv_nreq(struct srv *s)
{
	int n;

	nng_mtx_lock(s->mtx);
	n = s->nreq;
	nng_mtx_unlock(s->mtx);
	return n;
}

/* srv_last returns the last request, parsed (NULL if none or not JSON). */
static json_t *
srv_last(struct srv *s)
{
	json_t *j;

	nng_mtx_lock(s->mtx);
	j = json_loads(s->last, 0, NULL);
	nng_mtx_unlock(s->mtx);
	return j;
}

/* srv_start listens on url; returns false (and reports) on failure. */
static bool
srv_start(struct srv *s, const char *url)
{
	int rv;

	memset(s, 0, sizeof(*s));
	if ((rv = nng_mtx_alloc(&s->mtx)) != 0) {
		test_fail(__FILE__, __LINE__, "nng_mtx_alloc: %s",
		          nng_strerror(rv));
		return false;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0 ||
	    (rv = nng_listen(s->sock, url, NULL, 0)) != 0 ||
	    (rv = nng_thread_create(&s->thread, srv_run, s)) != 0) {
		test_fail(__FILE__, __LINE__, "server on %s: %s", url,
		          nng_strerror(rv));
		nng_close(s->sock);
		nng_mtx_free(s->mtx);
		return false;
	}
	return true;
}

static void
srv_stop(struct srv *s)
{
	/* Closing the socket ends the server's blocked receive. */
	nng_close(s->sock);
	nng_thread_destroy(s->thread);
	nng_mtx_free(s->mtx);
}

static struct fxb_client *
client_open(const char *url, int timeout_ms)
{
	struct fxb_client *c = NULL;
	int rv = fxb_client_open(url, timeout_ms, &c);

	if (rv != 0)
		test_fail(__FILE__, __LINE__, "fxb_client_open(%s): %s", url,
		          nng_strerror(rv));
	return c;
}

/* A temporary directory for ipc:// sockets. */
static char tmpdir[64];

static bool
tmpdir_make(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fxb-client-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		test_fail(__FILE__, __LINE__, "mkdtemp failed");
		return false;
	}
	return true;
}

static void
tmpdir_remove(const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	(void)unlink(path);
	(void)rmdir(tmpdir);
}

static int
elapsed_since(nng_time t0)
{
	return (int)(nng_clock() - t0);
}

/* check_answer: a service answer carries no policy and no error. */
#define CHECK_ANSWER(res)                                                     \
	do {                                                                  \
		CHECK(!(res).by_policy);                                      \
		CHECK_INT((res).error, 0);                                    \
		CHECK_STR((res).message, "");                                 \
	} while (0)

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

/* A server that takes the request and never answers: the call ends at
 * the timeout, and the next call gets the next reply, not a late one. */
static void
test_timeout(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;
	nng_time t0;
	int ms;

	if (!srv_start(&s, "inproc://client-timeout"))
		return;
	srv_set(&s, SRV_SILENT, NULL, 0);
	if ((c = client_open("inproc://client-timeout", 300)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "open", FXB_CLIENT_FAIL_ALLOW), 0);

	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "closed", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNAVAILABLE);
	CHECK_CONTAINS(res.message, "300 ms");
	if (ms < 250 || ms >= 300 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "timed out after %d ms", ms);

	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "open", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNAVAILABLE);
	if (ms >= 300 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "timed out after %d ms", ms);
	CHECK_INT(srv_nreq(&s), 2);

	/* The service answers again. */
	srv_reply(&s, "{\"decision\":\"throttle\",\"retry_after_ms\":9}");
	CHECK_INT(fxb_client_check(c, "open", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_THROTTLE);
	CHECK_ANSWER(res);
	CHECK_INT(res.retry_after_ms, 9);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* The server drops the connection (as nng does with an oversized
 * request): no answer, at once rather than at the timeout. */
static void
test_dropped(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;
	char url[128];
	nng_time t0;
	int ms;

	if (!tmpdir_make())
		return;
	snprintf(url, sizeof(url), "ipc://%s/check.ipc", tmpdir);
	if (!srv_start(&s, url))
		goto out_dir;
	srv_set(&s, SRV_DROP, NULL, 0);
	if ((c = client_open(url, 2000)) == NULL)
		goto out;
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNAVAILABLE);
	CHECK(res.message[0] != '\0');
	if (ms >= 2000)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);

	/* The dialer reconnects; the next call is answered. */
	srv_reply(&s, "{\"decision\":\"allow\"}");
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	fxb_client_close(c);
out:
	srv_stop(&s);
out_dir:
	tmpdir_remove("check.ipc");
}

/* No server at all: every call ends at the timeout with the product's
 * fail policy, and says it could not connect (36), not that the service
 * was slow (24), and why. */
static void
test_server_down(void)
{
	static const struct {
		const char *product;
		enum fxb_client_decision want;
	} cases[] = {
	    {"fx-wallet.USDKRW.buy", FXB_CLIENT_ALLOW},
	    {"fx-wallet.USDKRW.sell", FXB_CLIENT_DENY},
	    {"fx-wallet.USDJPY.buy", FXB_CLIENT_DENY},
	    {"fx-card.USDKRW.buy", FXB_CLIENT_ALLOW},
	};
	struct fxb_client_result res;
	struct fxb_client *c;
	char url[128];
	nng_time t0;
	int ms;

	if (!tmpdir_make())
		return;
	snprintf(url, sizeof(url), "ipc://%s/nobody.ipc", tmpdir);
	if ((c = client_open(url, 200)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "fx-wallet.USDKRW.buy",
	                                FXB_CLIENT_FAIL_ALLOW),
	          0);
	CHECK_INT(fxb_client_set_policy(c, "fx-card.USDKRW.buy",
	                                FXB_CLIENT_FAIL_ALLOW),
	          0);
	CHECK_INT(fxb_client_set_policy(c, "fx-wallet.USDJPY.buy",
	                                FXB_CLIENT_FAIL_DENY),
	          0);
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		t0 = nng_clock();
		CHECK_INT(fxb_client_check(c, cases[i].product, "100.00",
		                           "1421.05", "TX-1", &res),
		          cases[i].want);
		ms = elapsed_since(t0);
		CHECK_INT(res.decision, cases[i].want);
		CHECK(res.by_policy);
		CHECK_INT(res.error, FXB_ERR_UNREACHABLE);
		CHECK_STR(res.reason, "");
		CHECK_INT(res.retry_after_ms, -1);
		{
			char want[192];
			snprintf(want, sizeof(want),
			         "cannot connect to %s: no such socket file",
			         url);
			CHECK_STR(res.message, want);
		}
		if (ms < 150 || ms >= 200 + SLACK_MS)
			test_fail(__FILE__, __LINE__, "%s: %d ms",
			          cases[i].product, ms);
	}
	/* Back to deny. */
	CHECK_INT(fxb_client_set_policy(c, "fx-card.USDKRW.buy",
	                                FXB_CLIENT_FAIL_DENY),
	          0);
	CHECK_INT(fxb_client_check(c, "fx-card.USDKRW.buy", "1.00", NULL, NULL,
	                           &res),
	          FXB_CLIENT_DENY);
	fxb_client_close(c);
out:
	tmpdir_remove("nobody.ipc");
}

/* Opened before the service is up: the dialer keeps trying, and a call
 * once the service listens is answered. */
static void
test_server_late(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv s;
	char url[128];

	if (!tmpdir_make())
		return;
	snprintf(url, sizeof(url), "ipc://%s/late.ipc", tmpdir);
	if ((c = client_open(url, 3000)) == NULL)
		goto out_dir;
	nng_msleep(150);
	if (!srv_start(&s, url))
		goto out_client;
	srv_reply(&s, "{\"decision\":\"allow\"}");
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	srv_stop(&s);
out_client:
	fxb_client_close(c);
out_dir:
	tmpdir_remove("late.ipc");
}

/* The policy table holds 256 products; it never grows past that. */
static void
test_policy_table(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	char product[32], url[128], longest[66];

	if (!tmpdir_make())
		return;
	snprintf(url, sizeof(url), "ipc://%s/nobody.ipc", tmpdir);
	if ((c = client_open(url, 30)) == NULL)
		goto out;
	for (int i = 0; i < 256; i++) {
		snprintf(product, sizeof(product), "p%03d", i);
		if (fxb_client_set_policy(c, product, FXB_CLIENT_FAIL_ALLOW) !=
		    0)
			test_fail(__FILE__, __LINE__, "set %s failed",
			          product);
	}
	CHECK_INT(fxb_client_set_policy(c, "p256", FXB_CLIENT_FAIL_ALLOW), -1);
	/* Changing a product already there, or setting the default, needs
	 * no new slot. */
	CHECK_INT(fxb_client_set_policy(c, "p000", FXB_CLIENT_FAIL_DENY), 0);
	CHECK_INT(fxb_client_set_policy(c, "p257", FXB_CLIENT_FAIL_DENY), 0);
	CHECK_INT(fxb_client_set_policy(NULL, "p1", FXB_CLIENT_FAIL_ALLOW),
	          -1);
	CHECK_INT(fxb_client_set_policy(c, NULL, FXB_CLIENT_FAIL_ALLOW), -1);
	/* A product id longer than the service's 64 bytes. */
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	CHECK_INT(fxb_client_set_policy(c, longest, FXB_CLIENT_FAIL_DENY), -1);

	CHECK_INT(fxb_client_check(c, "p255", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK(res.by_policy);
	CHECK_INT(fxb_client_check(c, "p000", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK_INT(fxb_client_check(c, "p256", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	/* A value that is not a policy fails closed. */
	CHECK_INT(fxb_client_set_policy(c, "p255", (enum fxb_client_policy)7),
	          0);
	CHECK_INT(fxb_client_check(c, "p255", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	fxb_client_close(c);
out:
	tmpdir_remove("nobody.ipc");
}

/* Bad arguments are answered at once, by policy, without a request. */
static void
test_bad_args(void)
{
	struct fxb_client_result res;
	struct fxb_client *c = NULL;
	struct srv s;
	char *big;

	CHECK_INT(fxb_client_open(NULL, 100, &c), NNG_EINVAL);
	CHECK_INT(fxb_client_open("inproc://x", 0, &c), NNG_EINVAL);
	CHECK_INT(fxb_client_open("inproc://x", 100, NULL), NNG_EINVAL);
	CHECK(fxb_client_open("nosuch://x", 100, &c) != 0);
	CHECK(c == NULL);
	/* The url is kept for "cannot connect to URL": 255 bytes at most. */
	{
		char url[300];
		snprintf(url, sizeof(url), "inproc://%0246d", 0);
		CHECK_INT(fxb_client_open(url, 100, &c), 0);
		fxb_client_close(c);
		c = NULL;
		snprintf(url, sizeof(url), "inproc://%0247d", 0);
		CHECK_INT(fxb_client_open(url, 100, &c), NNG_EINVAL);
		CHECK(c == NULL);
	}
	fxb_client_close(NULL);

	CHECK_INT(fxb_client_check(NULL, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_MISSING);
	CHECK_INT(fxb_client_check(NULL, "p", "1.00", NULL, NULL, NULL),
	          FXB_CLIENT_DENY);

	if (!srv_start(&s, "inproc://client-args"))
		return;
	srv_reply(&s, "{\"decision\":\"allow\"}");
	if ((c = client_open("inproc://client-args", 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "p", FXB_CLIENT_FAIL_ALLOW), 0);
	CHECK_INT(fxb_client_check(c, NULL, "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK_INT(res.error, FXB_ERR_MISSING);
	CHECK_INT(fxb_client_check(c, "p", NULL, NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_MISSING);
	CHECK_INT(fxb_client_check(c, "p", "1.00", "\xff\xfe", NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_SYNTAX);

	/* A request over 64 KiB would make the service drop the
	 * connection: it is refused here. */
	if ((big = malloc(70000)) != NULL) {
		memset(big, 'r', 69999);
		big[69999] = '\0';
		CHECK_INT(fxb_client_check(c, "q", "1.00", NULL, big, &res),
		          FXB_CLIENT_DENY);
		CHECK(res.by_policy);
		CHECK_INT(res.error, FXB_ERR_LIMIT);
		free(big);
	}
	CHECK_INT(srv_nreq(&s), 0);
	/* A NULL result still gets the service's answer. */
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, NULL),
	          FXB_CLIENT_ALLOW);
	CHECK_INT(srv_nreq(&s), 1);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

#define WORKERS 4
#define CALLS   50

struct worker {
	struct fxb_client *c;
	nng_thread *thread;
	int answered; /* allows that the service gave */
	int max_ms;   /* the slowest call */
	int calls;
};

static void
worker_run(void *arg)
{
	struct worker *w = arg;
	struct fxb_client_result res;

	for (int i = 0; i < w->calls; i++) {
		nng_time t0 = nng_clock();
		enum fxb_client_decision d =
		    fxb_client_check(w->c, "p", "1.00", NULL, NULL, &res);
		int ms = elapsed_since(t0);

		if (d == FXB_CLIENT_ALLOW && !res.by_policy)
			w->answered++;
		if (ms > w->max_ms)
			w->max_ms = ms;
	}
}

/* One client shared by several threads: calls are serialised, every one
 * is answered. */
static void
test_shared_client(void)
{
	struct worker w[WORKERS];
	struct fxb_client *c;
	struct srv s;
	int rv;

	if (!srv_start(&s, "inproc://client-shared"))
		return;
	srv_reply(&s, "{\"decision\":\"allow\"}");
	if ((c = client_open("inproc://client-shared", 5000)) == NULL)
		goto out;
	memset(w, 0, sizeof(w));
	for (int i = 0; i < WORKERS; i++) {
		w[i].c = c;
		w[i].calls = CALLS;
		if ((rv = nng_thread_create(&w[i].thread, worker_run,
		                            &w[i])) != 0)
			test_fail(__FILE__, __LINE__, "thread: %s",
			          nng_strerror(rv));
	}
	for (int i = 0; i < WORKERS; i++) {
		if (w[i].thread != NULL)
			nng_thread_destroy(w[i].thread);
		CHECK_INT(w[i].answered, CALLS);
	}
	CHECK_INT(srv_nreq(&s), WORKERS * CALLS);
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* A call queued behind a slow one on a shared client still returns
 * within its own timeout. */
static void
test_shared_timeout(void)
{
	struct worker w[3];
	struct fxb_client *c;
	struct srv s;

	if (!srv_start(&s, "inproc://client-shared-timeout"))
		return;
	srv_set(&s, SRV_SILENT, NULL, 0);
	if ((c = client_open("inproc://client-shared-timeout", 300)) == NULL)
		goto out;
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 3; i++) {
		w[i].c = c;
		w[i].calls = 1;
		if (nng_thread_create(&w[i].thread, worker_run, &w[i]) != 0)
			test_fail(__FILE__, __LINE__, "thread");
	}
	for (int i = 0; i < 3; i++) {
		if (w[i].thread != NULL)
			nng_thread_destroy(w[i].thread);
		CHECK_INT(w[i].answered, 0);
		if (w[i].max_ms >= 300 + SLACK_MS)
			test_fail(__FILE__, __LINE__, "worker %d waited %d ms",
			          i, w[i].max_ms);
	}
	fxb_client_close(c);
out:
	srv_stop(&s);
}

/* fxb_client_ping: 0 on {"ok":true}; the service's code on an error
 * reply; 24 when connected and silent; 36 with nobody to connect to
 * (inproc://: nng's own, so no reason beyond the deadline). */
static void
test_ping(void)
{
	struct fxb_client *c;
	struct srv s;
	char msg[256];
	nng_time t0;
	int ms;

	if (!srv_start(&s, "inproc://client-ping"))
		return;
	srv_reply(&s, "{\"ok\":true,\"service_id\":\"t\",\"now\":1}");
	if ((c = client_open("inproc://client-ping", 300)) == NULL)
		goto out;
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), 0);
	CHECK_STR(msg, "");
	json_t *last = srv_last(&s);
	CHECK_STR(json_string_value(json_object_get(last, "op")), "ping");
	json_decref(last);
	srv_reply(&s, "{\"error\":{\"code\":23,\"name\":\"shutdown\","
	              "\"message\":\"the service is stopping\"}}");
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), FXB_ERR_SHUTDOWN);
	CHECK_STR(msg, "the service is stopping");
	srv_reply(&s, "{\"decision\":\"allow\"}");
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), FXB_ERR_SYNTAX);
	CHECK_STR(msg, "not an answer to ping");
	srv_set(&s, SRV_SILENT, NULL, 0);
	t0 = nng_clock();
	CHECK_INT(fxb_client_ping(c, NULL, 0), FXB_ERR_UNAVAILABLE);
	CHECK_INT(fxb_client_ping(c, msg, 4), FXB_ERR_UNAVAILABLE);
	CHECK_STR(msg, "no ");
	ms = elapsed_since(t0);
	if (ms < 500 || ms >= 600 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "two pings took %d ms", ms);
	fxb_client_close(c);

	if ((c = client_open("inproc://client-nobody", 200)) == NULL)
		goto out;
	t0 = nng_clock();
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), FXB_ERR_UNREACHABLE);
	ms = elapsed_since(t0);
	CHECK_STR(msg, "cannot connect to inproc://client-nobody within "
	               "200 ms");
	if (ms < 150 || ms >= 200 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);
	fxb_client_close(c);
	CHECK_INT(fxb_client_ping(NULL, msg, sizeof(msg)), FXB_ERR_MISSING);
	CHECK_STR(msg, "no client");
out:
	srv_stop(&s);
}

static const struct test tests[] = {
    {"allow", test_allow},
    {"deny_full", test_deny_full},
    {"throttle", test_throttle},
    {"error_reply", test_error_reply},
    {"garbage", test_garbage},
    {"lenient_fields", test_lenient_fields},
    {"truncation", test_truncation},
    {"timeout", test_timeout},
    {"dropped", test_dropped},
    {"server_down", test_server_down},
    {"server_late", test_server_late},
    {"policy_table", test_policy_table},
    {"bad_args", test_bad_args},
    {"shared_client", test_shared_client},
    {"shared_timeout", test_shared_timeout},
    {"ping", test_ping},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
