/*
 * client_failover_test.c: the client library (ipc/fxb_client.h) on a
 * list of endpoints, the nodes of a cluster: a not_leader hint followed,
 * a hint outside the list ignored, no_quorum and not_leader without a
 * hint sending the call on, a dead or silent node skipped within the one
 * deadline, every node down or refusing ending in the fail policy, the
 * node that answered asked first next time, and one url as it always
 * was.  Real nng REP servers on loopback TCP (client_fake.h), ports
 * 19800-19849.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "client_fake.h"
#include "fxb.h"
#include "fxb_client.h"
#include "testlib.h"

#define URL(port) "tcp://127.0.0.1:" #port

static const char allow[] = "{\"decision\":\"allow\"}";
static const char deny[] = "{\"decision\":\"deny\",\"reason\":\"suspended\"}";

/* The request a check of ("p", "1.00", ref) sends: every node must get
 * these very bytes. */
#define REQ_TEXT(ref)                                                         \
	"{\"op\":\"check\",\"product\":\"p\",\"amount\":\"1.00\",\"ref\":"    \
	"\"" ref "\"}"

static struct fxb_client *
open_list(const char *list, int timeout_ms)
{
	struct fxb_client *c = NULL;
	int rv = fxb_client_open(list, timeout_ms, &c);

	if (rv != 0)
		test_fail(__FILE__, __LINE__, "fxb_client_open(%s): %s", list,
		          nng_strerror(rv));
	return c;
}

/* A not_leader with the leader's URL, which is in the list: the call goes
 * straight there (the node between is not asked), with the same bytes,
 * and the next call asks the leader first. */
static void
test_hint_followed(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv a, b, l;
	char text[512];

	if (!srv_start(&a, URL(19800)))
		return;
	if (!srv_start(&b, URL(19801)))
		goto out_a;
	if (!srv_start(&l, URL(19802)))
		goto out_b;
	srv_not_leader(&a, URL(19802));
	srv_reply(&b, deny);
	srv_reply(&l, allow);
	if ((c = open_list(URL(19800) "," URL(19801) "," URL(19802), 2000)) ==
	    NULL)
		goto out;
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-1", &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 0);
	CHECK_INT(srv_nreq(&l), 1);
	srv_last_text(&a, text, sizeof(text));
	CHECK_STR(text, REQ_TEXT("TX-1"));
	srv_last_text(&l, text, sizeof(text));
	CHECK_STR(text, REQ_TEXT("TX-1"));

	/* The leader is remembered: asked first, alone. */
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-2", &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 0);
	CHECK_INT(srv_nreq(&l), 2);

	/* A batch is one request: it follows the same way. */
	srv_not_leader(&l, URL(19801));
	srv_reply(&b, "{\"results\":[{\"decision\":\"allow\"},"
	              "{\"decision\":\"deny\"}]}");
	{
		const struct fxb_client_check ck[2] = {
		    {"p", "1.00", NULL, "B-1"}, {"q", "2.00", NULL, "B-2"}};
		struct fxb_client_result r2[2];
		CHECK_INT((int)fxb_client_check_batch(c, ck, 2, r2), 1);
		CHECK_INT(r2[0].decision, FXB_CLIENT_ALLOW);
		CHECK_ANSWER(r2[0]);
		CHECK_INT(r2[1].decision, FXB_CLIENT_DENY);
		CHECK_ANSWER(r2[1]);
	}
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 1);
	CHECK_INT(srv_nreq(&l), 3);
	fxb_client_close(c);
out:
	srv_stop(&l);
out_b:
	srv_stop(&b);
out_a:
	srv_stop(&a);
}

/* A hint naming a node that is not in the list is not followed, even
 * when something answers there: the next node in the list is asked. */
static void
test_hint_outside(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv a, b, x;

	if (!srv_start(&a, URL(19803)))
		return;
	if (!srv_start(&b, URL(19804)))
		goto out_a;
	if (!srv_start(&x, URL(19805)))
		goto out_b;
	srv_not_leader(&a, URL(19805));
	srv_reply(&b, "{\"decision\":\"throttle\",\"retry_after_ms\":7}");
	srv_reply(&x, allow);
	if ((c = open_list(URL(19803) "," URL(19804), 2000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-3", &res),
	          FXB_CLIENT_THROTTLE);
	CHECK_ANSWER(res);
	CHECK_INT(res.retry_after_ms, 7);
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 1);
	CHECK_INT(srv_nreq(&x), 0);
	/* A hint spelt otherwise than the list (the same node, another
	 * name) is not in it either. */
	srv_not_leader(&b, "tcp://localhost:19804");
	srv_reply(&a, allow);
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-4", &res),
	          FXB_CLIENT_ALLOW);
	CHECK_INT(srv_nreq(&a), 2);
	CHECK_INT(srv_nreq(&b), 2);
	fxb_client_close(c);
out:
	srv_stop(&x);
out_b:
	srv_stop(&b);
out_a:
	srv_stop(&a);
}

/* no_quorum, not_leader without a hint and shutdown each send the call to
 * the next node. */
static void
test_next_on_refusal(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv a, b, d;

	if (!srv_start(&a, URL(19806)))
		return;
	if (!srv_start(&b, URL(19807)))
		goto out_a;
	if (!srv_start(&d, URL(19808)))
		goto out_b;
	srv_no_quorum(&a);
	srv_not_leader(&b, NULL);
	srv_reply(&d, deny);
	if ((c = open_list(URL(19806) "," URL(19807) "," URL(19808), 2000)) ==
	    NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "p", FXB_CLIENT_FAIL_ALLOW), 0);
	/* The third node's deny is the answer: no policy. */
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-5", &res),
	          FXB_CLIENT_DENY);
	CHECK_ANSWER(res);
	CHECK_STR(res.reason, "suspended");
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 1);
	CHECK_INT(srv_nreq(&d), 1);

	/* It stops: the call wraps round the list to the first node. */
	srv_reply(&d, "{\"error\":{\"code\":23,\"name\":\"shutdown\","
	              "\"message\":\"the service is stopping\"}}");
	srv_reply(&a, allow);
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-6", &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	CHECK_INT(srv_nreq(&a), 2);
	CHECK_INT(srv_nreq(&b), 1);
	CHECK_INT(srv_nreq(&d), 2);

	/* A request error is an answer: not sent on. */
	srv_reply(&a, "{\"error\":{\"code\":6,\"name\":\"unknown_product\","
	              "\"message\":\"unknown product\"}}");
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, "TX-7", &res),
	          FXB_CLIENT_DENY);
	CHECK(!res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNKNOWN_PRODUCT);
	CHECK_STR(res.message, "unknown product");
	CHECK_INT(srv_nreq(&a), 3);
	CHECK_INT(srv_nreq(&b), 1);
	CHECK_INT(srv_nreq(&d), 2);
	fxb_client_close(c);
out:
	srv_stop(&d);
out_b:
	srv_stop(&b);
out_a:
	srv_stop(&a);
}

/* A dead node (nothing listens) and a silent one (takes the request,
 * never answers) each cost their share of the deadline, and the call is
 * answered by the next within the one deadline; then the node that
 * answered is asked first. */
static void
test_dead_skipped(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv b, h;
	nng_time t0;
	int ms;

	if (!srv_start(&b, URL(19811)))
		return;
	srv_reply(&b, allow);
	/* Nothing listens on 19810. */
	if ((c = open_list(URL(19810) "," URL(19811), 600)) == NULL)
		goto out_b;
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	ms = elapsed_since(t0);
	CHECK_ANSWER(res);
	if (ms < 250 || ms >= 600)
		test_fail(__FILE__, __LINE__, "answered after %d ms", ms);
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	ms = elapsed_since(t0);
	if (ms >= 200)
		test_fail(__FILE__, __LINE__, "the leader took %d ms", ms);
	CHECK_INT(srv_nreq(&b), 2);
	fxb_client_close(c);

	/* A silent first node: 1,200 ms over three nodes, 400 ms its
	 * share; the second answers. */
	if (!srv_start(&h, URL(19812)))
		goto out_b;
	srv_set(&h, SRV_SILENT, NULL, 0);
	if ((c = open_list(URL(19812) "," URL(19811) "," URL(19810), 1200)) ==
	    NULL)
		goto out_h;
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	ms = elapsed_since(t0);
	CHECK_ANSWER(res);
	if (ms < 350 || ms >= 1200)
		test_fail(__FILE__, __LINE__, "answered after %d ms", ms);
	CHECK_INT(srv_nreq(&h), 1);
	CHECK_INT(srv_nreq(&b), 3);
	fxb_client_close(c);
out_h:
	srv_stop(&h);
out_b:
	srv_stop(&b);
}

/* Every node down: the fail policy, with 36 as for one service when none
 * could be reached, 24 when one took the request and never answered;
 * every node refusing: the last refusal's code.  All within the one
 * deadline, and the message says how many nodes were asked. */
static void
test_all_down(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv h, a, b;
	nng_time t0;
	int ms;

	/* Nothing listens on 19820 and 19821. */
	if ((c = open_list(URL(19820) "," URL(19821), 400)) == NULL)
		return;
	CHECK_INT(fxb_client_set_policy(c, "open", FXB_CLIENT_FAIL_ALLOW), 0);
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNREACHABLE);
	/* The wait each message quotes is the node's share of the time
	 * left: about 200 ms, to the millisecond as the clock says. */
	CHECK_CONTAINS(res.message,
	               "cannot connect to " URL(19821) " within ");
	CHECK_CONTAINS(res.message, " ms (asked 2 of 2 endpoints)");
	if (ms < 350 || ms >= 400 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);
	CHECK_INT(fxb_client_check(c, "open", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNREACHABLE);
	CHECK_INT(fxb_client_ping(c, NULL, 0), FXB_ERR_UNREACHABLE);
	fxb_client_close(c);

	/* One silent, one dead: 24 (the silent one may have decided). */
	if (!srv_start(&h, URL(19822)))
		return;
	srv_set(&h, SRV_SILENT, NULL, 0);
	if ((c = open_list(URL(19820) "," URL(19822), 400)) == NULL)
		goto out_h;
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNAVAILABLE);
	CHECK_CONTAINS(res.message, URL(19822) ": no answer within ");
	CHECK_CONTAINS(res.message, " ms (asked 2 of 2 endpoints)");
	if (ms < 350 || ms >= 400 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);
	CHECK_INT(srv_nreq(&h), 1);
	fxb_client_close(c);

	/* Two nodes that name each other, a third that has no leader: each
	 * asked once, no bouncing; the last refusal decides, by policy. */
	if (!srv_start(&a, URL(19823)))
		goto out_h;
	if (!srv_start(&b, URL(19824)))
		goto out_a;
	srv_not_leader(&a, URL(19824));
	srv_not_leader(&b, URL(19823));
	srv_no_quorum(&h);
	if ((c = open_list(URL(19823) "," URL(19822) "," URL(19824), 1000)) ==
	    NULL)
		goto out_b;
	CHECK_INT(fxb_client_set_policy(c, "open", FXB_CLIENT_FAIL_ALLOW), 0);
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "open", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_NO_QUORUM);
	CHECK_STR(res.message, "no quorum (asked 3 of 3 endpoints)");
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 1);
	CHECK_INT(srv_nreq(&h), 2);
	if (ms >= 500)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);
	/* Nobody answered: the next call starts past the node this one
	 * started with (a leader that died would cost every call its share
	 * first): h (no quorum), then b, whose hint names a, which answers. */
	srv_reply(&a, allow);
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK_ANSWER(res);
	CHECK_INT(srv_nreq(&a), 2);
	CHECK_INT(srv_nreq(&b), 2);
	CHECK_INT(srv_nreq(&h), 3);
	fxb_client_close(c);
out_b:
	srv_stop(&b);
out_a:
	srv_stop(&a);
out_h:
	srv_stop(&h);
}

/* A hint to a dead leader: asked (its share), then the rest of the
 * list. */
static void
test_hint_dead(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv a, b;

	if (!srv_start(&a, URL(19825)))
		return;
	if (!srv_start(&b, URL(19826)))
		goto out_a;
	/* Nothing listens on 19827. */
	srv_not_leader(&a, URL(19827));
	srv_reply(&b, allow);
	if ((c = open_list(URL(19825) "," URL(19826) "," URL(19827), 900)) ==
	    NULL)
		goto out;
	nng_time t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	int ms = elapsed_since(t0);
	CHECK_ANSWER(res);
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 1);
	/* The dead leader's share: 900 / 2. */
	if (ms < 400 || ms >= 900)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);
	fxb_client_close(c);
out:
	srv_stop(&b);
out_a:
	srv_stop(&a);
}

/* One url: no list, nothing followed, today's messages to the letter. */
static void
test_single_url(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv a, l;
	char msg[256];
	nng_time t0;
	int ms;

	if (!srv_start(&a, URL(19830)))
		return;
	if (!srv_start(&l, URL(19831)))
		goto out_a;
	srv_not_leader(&a, URL(19831));
	srv_reply(&l, allow);
	if ((c = open_list(URL(19830), 500)) == NULL)
		goto out;
	CHECK_INT(fxb_client_set_policy(c, "open", FXB_CLIENT_FAIL_ALLOW), 0);
	CHECK_INT(fxb_client_check(c, "open", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_NOT_LEADER);
	CHECK_STR(res.message, "not the leader");
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_NOT_LEADER);
	CHECK_INT(srv_nreq(&a), 2);
	CHECK_INT(srv_nreq(&l), 0);
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), FXB_ERR_NOT_LEADER);
	CHECK_STR(msg, "not the leader");
	fxb_client_close(c);

	/* Nothing listens on 19832: the whole deadline, today's text. */
	if ((c = open_list(URL(19832), 300)) == NULL)
		goto out;
	t0 = nng_clock();
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_DENY);
	ms = elapsed_since(t0);
	CHECK(res.by_policy);
	CHECK_INT(res.error, FXB_ERR_UNREACHABLE);
	CHECK_STR(res.message, "cannot connect to " URL(19832) " within 300 "
	                                                       "ms");
	if (ms < 250 || ms >= 300 + SLACK_MS)
		test_fail(__FILE__, __LINE__, "took %d ms", ms);
	fxb_client_close(c);
out:
	srv_stop(&l);
out_a:
	srv_stop(&a);
}

/* ping on a list: the first node that answers without a refusal; it does
 * not change which node checks ask first. */
static void
test_ping_list(void)
{
	struct fxb_client_result res;
	struct fxb_client *c;
	struct srv a, b;
	char msg[256];

	if (!srv_start(&a, URL(19833)))
		return;
	if (!srv_start(&b, URL(19834)))
		goto out_a;
	srv_not_leader(&a, NULL);
	srv_reply(&b, "{\"ok\":true,\"service_id\":\"t\",\"now\":1}");
	if ((c = open_list(URL(19833) "," URL(19834), 1000)) == NULL)
		goto out;
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), 0);
	CHECK_STR(msg, "");
	CHECK_INT(srv_nreq(&a), 1);
	CHECK_INT(srv_nreq(&b), 1);
	srv_reply(&b, allow);
	CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
	          FXB_CLIENT_ALLOW);
	CHECK_INT(srv_nreq(&a), 2);
	CHECK_INT(srv_nreq(&b), 2);
	/* Both refuse: the last refusal's code and message. */
	srv_not_leader(&b, NULL);
	CHECK_INT(fxb_client_ping(c, msg, sizeof(msg)), FXB_ERR_NOT_LEADER);
	CHECK_STR(msg, "not the leader (asked 2 of 2 endpoints)");
	fxb_client_close(c);
out:
	srv_stop(&b);
out_a:
	srv_stop(&a);
}

/* What a list may be. */
static void
test_open_list(void)
{
	static const char *const bad[] = {
	    "",
	    ",",
	    URL(19840) ",",
	    "," URL(19840),
	    URL(19840) ",," URL(19841),
	    URL(19840) "," URL(19840),
	    URL(19840) ",tls+tcp://127.0.0.1:19841",
	};
	const char *urls[FXB_CLIENT_ENDPOINTS_MAX + 1];
	char names[FXB_CLIENT_ENDPOINTS_MAX + 1][32];
	char list[(FXB_CLIENT_ENDPOINTS_MAX + 1) * 32];
	struct fxb_client *c = NULL;
	size_t len = 0;

	for (size_t i = 0; i < TEST_COUNT(bad); i++) {
		c = NULL;
		if (fxb_client_open(bad[i], 100, &c) != NNG_EINVAL)
			test_fail(__FILE__, __LINE__, "\"%s\" not refused",
			          bad[i]);
		CHECK(c == NULL);
	}
	for (size_t i = 0; i <= FXB_CLIENT_ENDPOINTS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "tcp://127.0.0.1:%zu",
		         19800 + i);
		urls[i] = names[i];
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		                        i > 0 ? "," : "", names[i]);
	}
	/* 17 is one too many; 16 is fine, as a string or an array. */
	CHECK_INT(fxb_client_open(list, 100, &c), NNG_EINVAL);
	CHECK_INT(fxb_client_open_list(urls, FXB_CLIENT_ENDPOINTS_MAX + 1, 100,
	                               NULL, &c),
	          NNG_EINVAL);
	*strrchr(list, ',') = '\0';
	CHECK_INT(fxb_client_open(list, 100, &c), 0);
	fxb_client_close(c);
	CHECK_INT(fxb_client_open_list(urls, FXB_CLIENT_ENDPOINTS_MAX, 100,
	                               NULL, &c),
	          0);
	fxb_client_close(c);
	CHECK_INT(fxb_client_open_list(urls, 0, 100, NULL, &c), NNG_EINVAL);
	CHECK_INT(fxb_client_open_list(NULL, 1, 100, NULL, &c), NNG_EINVAL);
	/* TLS wants tls+tcp:// for every node. */
	{
		const struct fxb_client_tls tls = {"/nonexistent/ca.pem", NULL,
		                                   NULL, NULL};
		CHECK_INT(fxb_client_open_tls(URL(19840) "," URL(19841), 100,
		                              &tls, &c),
		          NNG_ENOTSUP);
	}
	/* The array form takes a url with a comma in it as one. */
	{
		struct fxb_client_result res;
		struct srv s;
		const char *one[] = {"inproc://fail,over"};
		if (!srv_start(&s, one[0]))
			return;
		srv_reply(&s, allow);
		/* As a string it is two urls, the second not one. */
		CHECK(fxb_client_open(one[0], 1000, &c) != 0);
		CHECK_INT(fxb_client_open_list(one, 1, 1000, NULL, &c), 0);
		CHECK_INT(fxb_client_check(c, "p", "1.00", NULL, NULL, &res),
		          FXB_CLIENT_ALLOW);
		CHECK_ANSWER(res);
		fxb_client_close(c);
		srv_stop(&s);
	}
}

static const struct test tests[] = {
    {"hint_followed", test_hint_followed},
    {"hint_outside", test_hint_outside},
    {"next_on_refusal", test_next_on_refusal},
    {"dead_skipped", test_dead_skipped},
    {"all_down", test_all_down},
    {"hint_dead", test_hint_dead},
    {"single_url", test_single_url},
    {"ping_list", test_ping_list},
    {"open_list", test_open_list},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
