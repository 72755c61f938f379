/*
 * client_e2e.c: the client library (ipc/fxb_client.h) against the real
 * fxbreakerd, driven by tests/e2e_client.sh.
 *
 *	client_e2e URL TIMEOUT_MS
 *	client_e2e URL TIMEOUT_MS ping [wait]
 *
 * Phase 1, the service up: prints one line per call (an allow, the
 * tripping deny, a settled deny, an allow of a fail-allow product, error
 * replies under each policy), then "STOP" and waits for a line on stdin
 * while the script stops the daemon.  Phase 2, the service gone: the same
 * client, then a client opened after the stop, each asking for a
 * fail-allow and a default product.  Every line is
 *
 *	NAME decision=D by_policy=B error=E reason=R rule=R kind=K
 *	susp=S retry=R in_time=T
 *
 * then, when there is a notice, "NAME ko=..." and "NAME en=..." lines; a
 * message, "NAME message=...".  in_time is 1 when the call returned
 * within the timeout + 300 ms.  The script compares exact lines.
 *
 * With "ping": fxb_client_ping, then a check of product "fd" (fail
 * closed), each printed ("ping rc=R in_time=T msg=M"); with "wait" too,
 * "WAIT", a line from stdin, and the same again on the same client (its
 * connection made before whatever the script did meanwhile).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fxb_client.h"

static int timeout_ms;

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
decision_name(enum fxb_client_decision d)
{
	switch (d) {
	case FXB_CLIENT_ALLOW:
		return "allow";
	case FXB_CLIENT_DENY:
		return "deny";
	case FXB_CLIENT_THROTTLE:
		return "throttle";
	}
	return "?";
}

static void
print_result(const char *name, enum fxb_client_decision d,
             const struct fxb_client_result *rp, int64_t took)
{
	const struct fxb_client_result r = *rp;
	printf("%s decision=%s by_policy=%d error=%d reason=%s rule=%s "
	       "kind=%s susp=%lld retry=%lld in_time=%d\n",
	       name, decision_name(d), r.by_policy ? 1 : 0, r.error, r.reason,
	       r.rule, r.kind, (long long)r.suspension,
	       (long long)r.retry_after_ms,
	       took <= (int64_t)timeout_ms + 300 ? 1 : 0);
	if (d != r.decision)
		printf("%s returned %s but the result says %s\n", name,
		       decision_name(d), decision_name(r.decision));
	if (r.notice_ko[0] != '\0')
		printf("%s ko=%s\n", name, r.notice_ko);
	if (r.notice_en[0] != '\0')
		printf("%s en=%s\n", name, r.notice_en);
	if (r.message[0] != '\0')
		printf("%s message=%s\n", name, r.message);
	fprintf(stderr, "%s took %lld ms\n", name, (long long)took);
	fflush(stdout);
}

static void
call(struct fxb_client *c, const char *name, const char *product,
     const char *amount, const char *ref)
{
	struct fxb_client_result r;
	int64_t t0 = now_ms();
	enum fxb_client_decision d =
	    fxb_client_check(c, product, amount, NULL, ref, &r);
	print_result(name, d, &r, now_ms() - t0);
}

/* A batch: one line per check, NAME-I, and "NAME allowed=N". */
static void
batch(struct fxb_client *c, const char *name,
      const struct fxb_client_check *ck, size_t n)
{
	struct fxb_client_result r[80];
	char item[64];
	int64_t t0 = now_ms();
	size_t allowed = fxb_client_check_batch(c, ck, n, r);
	int64_t took = now_ms() - t0;
	printf("%s allowed=%zu\n", name, allowed);
	for (size_t i = 0; i < n && i < 4; i++) {
		snprintf(item, sizeof(item), "%s-%zu", name, i);
		print_result(item, r[i].decision, &r[i], took);
	}
}

static struct fxb_client *
open_client(const char *url)
{
	struct fxb_client *c = NULL;
	int rv = fxb_client_open(url, timeout_ms, &c);
	if (rv != 0) {
		printf("fxb_client_open: %d\n", rv);
		exit(1);
	}
	/* fa fails open; fd and everything else fail closed (default). */
	if (fxb_client_set_policy(c, "fa", FXB_CLIENT_FAIL_ALLOW) != 0 ||
	    fxb_client_set_policy(c, "fd", FXB_CLIENT_FAIL_DENY) != 0) {
		printf("fxb_client_set_policy failed\n");
		exit(1);
	}
	return c;
}

static void
ping(struct fxb_client *c, const char *name)
{
	char msg[256];
	int64_t t0 = now_ms();
	int rv = fxb_client_ping(c, msg, sizeof(msg));
	int64_t took = now_ms() - t0;
	printf("%s rc=%d in_time=%d msg=%s\n", name, rv,
	       took <= (int64_t)timeout_ms + 300 ? 1 : 0, msg);
	fprintf(stderr, "%s took %lld ms\n", name, (long long)took);
	fflush(stdout);
}

static int
ping_mode(const char *url, bool wait)
{
	char line[64];
	struct fxb_client *c = open_client(url);
	ping(c, "ping");
	call(c, "check", "fd", "1.00", NULL);
	if (wait) {
		printf("WAIT\n");
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 1;
		ping(c, "ping2");
		call(c, "check2", "fd", "1.00", NULL);
	}
	fxb_client_close(c);
	return 0;
}

int
main(int argc, char **argv)
{
	char line[64];

	if (argc < 3 || argc > 5 ||
	    (argc >= 4 && strcmp(argv[3], "ping") != 0) ||
	    (argc == 5 && strcmp(argv[4], "wait") != 0)) {
		fprintf(stderr,
		        "usage: client_e2e URL TIMEOUT_MS [ping [wait]]\n");
		return 2;
	}
	timeout_ms = atoi(argv[2]);
	if (argc >= 4)
		return ping_mode(argv[1], argc == 5);
	struct fxb_client *c = open_client(argv[1]);

	/* Phase 1: the service answers. */
	call(c, "allow", "wallet", "10.00", "T-1");
	call(c, "trip", "wallet", "10.00", "T-2");
	call(c, "settled", "wallet", "0.01", NULL);
	call(c, "fa-up", "fa", "1.00", NULL);
	call(c, "fd-up", "fd", "1.00", NULL);
	call(c, "unknown", "nope", "1.00", NULL);
	call(c, "fa-bad", "fa", "1.001", NULL);
	call(c, "fd-bad", "fd", "1.001", NULL);
	const struct fxb_client_check mix[] = {
	    {"fa", "1.00", NULL, "B-1"},
	    {"wallet", "1.00", NULL, NULL},
	    {"nope", "1.00", NULL, NULL},
	    {"fd", "1.001", NULL, NULL},
	};
	batch(c, "mix", mix, 4);
	struct fxb_client_check big[65];
	for (size_t i = 0; i < 65; i++)
		big[i] = (struct fxb_client_check){"fa", "1.00", NULL, NULL};
	batch(c, "big", big, 65);
	printf("STOP\n");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;

	/* Phase 2: the service is gone. */
	call(c, "fa-down", "fa", "1.00", NULL);
	call(c, "fd-down", "fd", "1.00", NULL);
	call(c, "other-down", "wallet", "1.00", NULL);
	const struct fxb_client_check down[] = {
	    {"fa", "1.00", NULL, NULL},
	    {"fd", "1.00", NULL, NULL},
	};
	batch(c, "bdown", down, 2);
	fxb_client_close(c);
	c = open_client(argv[1]);
	call(c, "fa-fresh", "fa", "1.00", NULL);
	call(c, "fd-fresh", "fd", "1.00", NULL);
	fxb_client_close(c);
	printf("END\n");
	return 0;
}
