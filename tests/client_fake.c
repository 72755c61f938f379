/*
 * client_fake.c: the fake service of the client tests (client_fake.h).
 */
#include "client_fake.h"

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

void
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
void
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

void
srv_reply(struct srv *s, const char *reply)
{
	srv_set(s, SRV_REPLY, reply, strlen(reply));
}

/* srv_not_leader answers as a cluster node that does not lead: the
 * daemon's reply (ipc_error_reply_leader), with error.leader when leader
 * is not NULL. */
void
srv_not_leader(struct srv *s, const char *leader)
{
	char buf[512];

	if (leader != NULL)
		snprintf(buf, sizeof(buf),
		         "{\"error\":{\"code\":%d,\"name\":\"not_leader\","
		         "\"message\":\"not the leader\",\"leader\":\"%s\"}}",
		         FXB_ERR_NOT_LEADER, leader);
	else
		snprintf(buf, sizeof(buf),
		         "{\"error\":{\"code\":%d,\"name\":\"not_leader\","
		         "\"message\":\"not the leader\"}}",
		         FXB_ERR_NOT_LEADER);
	srv_reply(s, buf);
}

/* srv_no_quorum answers as a leader cut off from its majority. */
void
srv_no_quorum(struct srv *s)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	         "{\"error\":{\"code\":%d,\"name\":\"no_quorum\","
	         "\"message\":\"no quorum\"}}",
	         FXB_ERR_NO_QUORUM);
	srv_reply(s, buf);
}

/* srv_last_text copies the last request's bytes ("" if none). */
void
srv_last_text(struct srv *s, char *buf, size_t cap)
{
	nng_mtx_lock(s->mtx);
	snprintf(buf, cap, "%s", s->last);
	nng_mtx_unlock(s->mtx);
}

int
srv_nreq(struct srv *s)
{
	int n;

	nng_mtx_lock(s->mtx);
	n = s->nreq;
	nng_mtx_unlock(s->mtx);
	return n;
}

/* srv_last returns the last request, parsed (NULL if none or not JSON). */
json_t *
srv_last(struct srv *s)
{
	json_t *j;

	nng_mtx_lock(s->mtx);
	j = json_loads(s->last, 0, NULL);
	nng_mtx_unlock(s->mtx);
	return j;
}

/* srv_start listens on url; returns false (and reports) on failure. */
bool
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

void
srv_stop(struct srv *s)
{
	/* Closing the socket ends the server's blocked receive. */
	nng_close(s->sock);
	nng_thread_destroy(s->thread);
	nng_mtx_free(s->mtx);
}

struct fxb_client *
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
char tmpdir[64];

bool
tmpdir_make(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fxb-client-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		test_fail(__FILE__, __LINE__, "mkdtemp failed");
		return false;
	}
	return true;
}

void
tmpdir_remove(const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	(void)unlink(path);
	(void)rmdir(tmpdir);
}

int
elapsed_since(nng_time t0)
{
	return (int)(nng_clock() - t0);
}
