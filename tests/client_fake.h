/*
 * client_fake.h: the test's side of client_test, client_outage_test and
 * client_failover_test:
 * a real nng REP server in a thread that answers canned bytes (among
 * them a cluster node's refusals: not_leader, with or without the
 * leader's URL, and no_quorum), stays silent or drops the connection,
 * and a temporary directory for ipc://.
 * Only the main thread calls CHECK (testlib is not thread-safe).
 */
#ifndef CLIENT_FAKE_H
#define CLIENT_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

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

extern char tmpdir[64];

void srv_run(void *arg);
void srv_set(struct srv *s, enum srv_mode mode, const char *reply, size_t len);
void srv_reply(struct srv *s, const char *reply);
void srv_not_leader(struct srv *s, const char *leader);
void srv_no_quorum(struct srv *s);
void srv_last_text(struct srv *s, char *buf, size_t cap);
int srv_nreq(struct srv *s);
json_t *srv_last(struct srv *s);
bool srv_start(struct srv *s, const char *url);
void srv_stop(struct srv *s);
struct fxb_client *client_open(const char *url, int timeout_ms);
bool tmpdir_make(void);
void tmpdir_remove(const char *file);
int elapsed_since(nng_time t0);

/* check_answer: a service answer carries no policy and no error. */
#define CHECK_ANSWER(res)                                                     \
	do {                                                                  \
		CHECK(!(res).by_policy);                                      \
		CHECK_INT((res).error, 0);                                    \
		CHECK_STR((res).message, "");                                 \
	} while (0)

#endif /* CLIENT_FAKE_H */
