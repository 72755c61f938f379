/*
 * wire_test.c: request decoding (ipc/ipc_wire.h).  ipc_request_parse
 * tries a fast path for flat requests before jansson; the two must agree
 * on every input: the same verdict, and on success the same op and the
 * same bytes in every field.  Checked on hand-picked edge cases and on
 * 200,000 random mutations of real requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_wire.h"
#include "testlib.h"
#include "xorshift.h"

static const char *
field(const struct ipc_request *r, int k)
{
	const char *const f[] = {r->ref,  r->product,  r->amount, r->rate,
	                         r->pair, r->px,       r->bid,    r->ask,
	                         r->body, r->signature};
	return f[k];
}

static bool
same_str(const char *x, const char *y)
{
	return (x == NULL) == (y == NULL) && (x == NULL || strcmp(x, y) == 0);
}

/* Parses buf both ways; true if they agree.  *fast_ok says whether the
 * combined parser accepted it. */
static bool
agree(const char *buf, size_t len, enum ipc_socket sock, bool *fast_ok)
{
	struct ipc_request a, b;
	char ma[256] = "", mb[256] = "";
	enum fxb_err ea =
	    ipc_request_parse(buf, len, sock, &a, ma, sizeof(ma));
	enum fxb_err eb =
	    ipc_request_parse_json(buf, len, sock, &b, mb, sizeof(mb));
	bool same = ea == eb && strcmp(ma, mb) == 0;
	if (same && ea == FXB_OK) {
		same = a.op == b.op && a.nchecks == b.nchecks;
		for (int k = 0; same && k < 10; k++)
			same = same_str(field(&a, k), field(&b, k));
		for (size_t i = 0; same && i < a.nchecks; i++)
			same =
			    same_str(a.checks[i].product,
			             b.checks[i].product) &&
			    same_str(a.checks[i].amount, b.checks[i].amount) &&
			    same_str(a.checks[i].rate, b.checks[i].rate) &&
			    same_str(a.checks[i].ref, b.checks[i].ref);
	}
	if (fast_ok != NULL)
		*fast_ok = ea == FXB_OK;
	ipc_request_free(&a);
	ipc_request_free(&b);
	return same;
}

static void
test_edges(void)
{
	static const char *const ok[] = {
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1.00\"}",
	    " {\"amount\":\"1\" , \"op\" : \"check\",\"product\":\"w\"}\n",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\",\"ref\":"
	    "\"\xea\xb0\x80\xf0\x9f\x98\x80\"}",
	    "{\"op\":\"tick\",\"pair\":\"USD/KRW\",\"px\":\"1400\"}",
	    "{\"op\":\"tick\",\"pair\":\"USD/"
	    "KRW\",\"bid\":\"1\",\"ask\":\"2\"}",
	    "{\"op\":\"ping\"}",
	    "{\"op\":\"check_batch\",\"checks\":[{\"product\":\"w\","
	    "\"amount\":\"1\"},{\"amount\":\"2\",\"product\":\"x\","
	    "\"rate\":\"3\",\"ref\":\"r\"}],\"ref\":\"b\"}",
	    "{\"checks\" : [ {\"product\":\"w\",\"amount\":\"1\"} ] ,"
	    "\"op\":\"check_batch\"}",
	};
	static const char *const other[] = {
	    "",
	    "{}",
	    "[]",
	    "{\"op\":\"check\"}",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\",\"op\":"
	    "\"check\"}",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":1}",
	    "{\"op\":\"check\",\"product\":\"w\\u0041\",\"amount\":\"1\"}",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\"} x",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\",}",
	    "{\"op\":\"check\",\"product\":\"\xc0\xaf\",\"amount\":\"1\"}",
	    "{\"op\":\"check\",\"product\":\"\xed\xa0\x80\",\"amount\":\"1\"}",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\",\"x\":"
	    "\"1\"}",
	    "{\"op\":\"status\"}",
	    "{\"op\":\"tick\",\"pair\":\"P\",\"px\":\"1\",\"bid\":\"1\"}",
	    "{\"op\":\"check_batch\",\"checks\":[]}",
	    "{\"op\":\"check_batch\",\"checks\":[{\"product\":\"w\"}]}",
	    "{\"op\":\"check_batch\",\"checks\":[{\"product\":\"w\","
	    "\"amount\":\"1\",\"op\":\"check\"}]}",
	    "{\"op\":\"check_batch\",\"checks\":[{\"product\":\"w\","
	    "\"amount\":\"1\"}],\"checks\":[]}",
	    "{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\","
	    "\"checks\":[{\"product\":\"w\",\"amount\":\"1\"}]}",
	    "{\"op\":\"check_batch\"}",
	};
	bool fast;
	for (size_t i = 0; i < TEST_COUNT(ok); i++) {
		CHECK(agree(ok[i], strlen(ok[i]), IPC_SOCKET_CHECK, &fast));
		CHECK(fast);
	}
	for (size_t i = 0; i < TEST_COUNT(other); i++)
		CHECK(
		    agree(other[i], strlen(other[i]), IPC_SOCKET_CHECK, NULL));
	/* A tick without "op" on the tick socket; a ref at and over 128. */
	const char *t = "{\"pair\":\"USD/KRW\",\"px\":\"1\"}";
	CHECK(agree(t, strlen(t), IPC_SOCKET_TICK, &fast));
	CHECK(fast);
	char buf[400];
	for (int n = 127; n <= 129; n++) {
		snprintf(buf, sizeof(buf),
		         "{\"op\":\"ping\",\"ref\":\"%0*d\"}", n, 0);
		CHECK(agree(buf, strlen(buf), IPC_SOCKET_CHECK, &fast));
		CHECK(fast == (n <= 128));
	}
	/* A batch of 64 checks is the most (fast); 65 is refused. */
	for (int n = 64; n <= 65; n++) {
		static char batch[4096];
		size_t l =
		    (size_t)snprintf(batch, sizeof(batch),
		                     "{\"op\":\"check_batch\",\"checks\":[");
		for (int k = 0; k < n; k++)
			l +=
			    (size_t)snprintf(batch + l, sizeof(batch) - l,
			                     "%s{\"product\":\"w\",\"amount\":"
			                     "\"1\"}",
			                     k > 0 ? "," : "");
		snprintf(batch + l, sizeof(batch) - l, "]}");
		CHECK(agree(batch, strlen(batch), IPC_SOCKET_CHECK, &fast));
		CHECK(fast == (n == 64));
	}
	/* Longer than the inline copy: the fast path allocates. */
	char big[700];
	snprintf(big, sizeof(big),
	         "{\"op\":\"check\",\"product\":\"%0400d\",\"amount\":\"1\"}",
	         0);
	CHECK(agree(big, strlen(big), IPC_SOCKET_CHECK, &fast));
	CHECK(fast);
}

static void
test_random(void)
{
	static const char *const seeds[] = {
	    "{\"op\":\"check\",\"product\":\"fx-wallet.USDKRW.buy\","
	    "\"amount\":"
	    "\"100.00\",\"rate\":\"1421.05\",\"ref\":\"TX-0001\"}",
	    "{\"op\":\"tick\",\"pair\":\"USD/KRW\",\"bid\":\"1420.9\",\"ask\":"
	    "\"1421.1\"}",
	    "{\"op\":\"ping\",\"ref\":\"\xea\xb0\x80\"}",
	    "{\"op\":\"check_batch\",\"checks\":[{\"product\":\"w\","
	    "\"amount\":\"1\"},{\"product\":\"x\",\"amount\":\"2\","
	    "\"ref\":\"r\"}]}",
	};
	static const char alphabet[] = "{}[]\":, \\u0\xc3\xa9\xff\x01\n";
	uint64_t rng = 0x243f6a8885a308d3ULL;
	size_t fast = 0, disagree = 0;
	char buf[256];
	for (int round = 0; round < 200000; round++) {
		const char *s = seeds[round % 4];
		size_t len = strlen(s);
		memcpy(buf, s, len);
		int edits = 1 + (int)(xorshift64(&rng) % 3);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)(xorshift64(&rng) % len);
			char c = alphabet[xorshift64(&rng) %
			                  (sizeof(alphabet) - 1)];
			switch (xorshift64(&rng) % 3) {
			case 0: /* replace */
				buf[at] = c;
				break;
			case 1: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at,
					        len - at);
					buf[at] = c;
					len++;
				}
				break;
			default: /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
		}
		bool ok;
		enum ipc_socket sock =
		    round % 7 == 0 ? IPC_SOCKET_TICK : IPC_SOCKET_CHECK;
		if (!agree(buf, len, sock, &ok) && disagree++ < 5)
			test_fail(__FILE__, __LINE__, "disagree on %.*s",
			          (int)len, buf);
		fast += ok;
	}
	CHECK_INT(disagree, 0);
	/* The mutations must reach both sides: some still parse. */
	CHECK(fast > 1000);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	    {"edges", test_edges},
	    {"random", test_random},
	};
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
