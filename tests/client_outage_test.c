/*
 * client_outage_test.c: the client library (ipc/fxb_client.h) when the
 * service does not answer: timeouts kept, a dropped connection, no
 * server (unreachable) or a late one, the fail policy per product, bad
 * arguments, a client shared by threads, and ping; against a real nng REP
 * server (client_fake.h).  What it reads from answers: client_test.c.
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
#include "client_fake.h"

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
