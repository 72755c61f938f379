/*
 * ipc_server.c: the daemon's nng sockets (see ipc_server.h).
 *
 * Each REP socket is served by a pool of contexts in nng's demo/async
 * shape: a context receives a request, hands it to the handler, and sends
 * the reply when the handler calls ipc_call_reply, then receives again.
 * The reply reuses the request's message (no allocation per request).
 */
#include <errno.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc_server.h"

enum call_state { CALL_RECV, CALL_BUSY, CALL_SEND };

struct ipc_call {
	struct ipc_server *srv;
	ipc_request_fn fn;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg; /* the request, kept to carry the reply */
	enum call_state state;
	nng_pipe pipe; /* the request's connection */
	char peer[64]; /* who sent it, "uid=0 pid=123"; "" until asked */
	uint64_t t0;   /* CLOCK_MONOTONIC ns when handed to fn */
	unsigned tag;  /* the handler's (ipc_call_set_tag), 0 until set */
};

struct ipc_server {
	nng_socket check, admin, tick, events;
	bool check_open, admin_open, tick_open, events_open;
	struct ipc_call *calls;
	int ncalls;
	pthread_t tick_thread;
	bool tick_started;
	ipc_message_fn on_tick;
	void *arg;
	/* Checks before ticks (see tick_main).  last_check: nng_clock() of
	 * the latest request received on check_url. */
	_Atomic nng_time last_check;
	_Atomic uint64_t tick_waits;
	ipc_request_fn on_check_fn;
	ipc_reply_fn on_reply;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
call_recv(struct ipc_call *c)
{
	c->state = CALL_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

static void
call_cb(void *arg)
{
	struct ipc_call *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->state == CALL_SEND) {
		if (rv != 0) /* the peer went away: the reply is ours again */
			nng_msg_free(nng_aio_get_msg(c->aio));
		call_recv(c);
		return;
	}
	if (rv != 0) {
		/* NNG_ECLOSED: shutting down.  Anything else is transient. */
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
			call_recv(c);
		return;
	}
	c->msg = nng_aio_get_msg(c->aio);
	c->state = CALL_BUSY;
	if (c->fn == c->srv->on_check_fn)
		atomic_store_explicit(&c->srv->last_check, nng_clock(),
		                      memory_order_relaxed);
	c->pipe = nng_msg_get_pipe(c->msg);
	c->peer[0] = '\0';
	c->tag = 0;
	if (c->srv->on_reply != NULL)
		c->t0 = mono_ns();
	c->fn(c->srv->arg, c, nng_msg_body(c->msg), nng_msg_len(c->msg));
}

/* From where, asked only by those who log it (operator commands): two
 * socket options are two system calls, too many for every check. */
const char *
ipc_call_peer(struct ipc_call *c)
{
	uint64_t uid = 0, pid = 0;
	if (c->peer[0] != '\0')
		return c->peer;
	/* ipc:// peers have a uid and pid; other transports say so. */
	if (nng_pipe_get_uint64(c->pipe, NNG_OPT_IPC_PEER_UID, &uid) == 0) {
		nng_pipe_get_uint64(c->pipe, NNG_OPT_IPC_PEER_PID, &pid);
		snprintf(c->peer, sizeof(c->peer), "uid=%llu pid=%llu",
		         (unsigned long long)uid, (unsigned long long)pid);
	} else {
		snprintf(c->peer, sizeof(c->peer), "pipe=%u",
		         (unsigned)nng_pipe_id(c->pipe));
	}
	return c->peer;
}

void
ipc_call_set_tag(struct ipc_call *c, unsigned tag)
{
	c->tag = tag;
}

void
ipc_call_reply(struct ipc_call *c, const char *buf, size_t len)
{
	nng_msg *m = c->msg;
	c->msg = NULL;
	nng_msg_clear(m);
	if (nng_msg_append(m, buf, len) != 0) {
		/* Out of memory: no reply; the client times out and applies
		 * its fail policy. */
		nng_msg_free(m);
		call_recv(c);
		return;
	}
	/* Timed up to here: once sent, the context may already be serving
	 * its next request. */
	if (c->srv->on_reply != NULL)
		c->srv->on_reply(c->srv->arg, c->tag, mono_ns() - c->t0);
	c->state = CALL_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

/*
 * Checks before ticks (issue 9).  Ticks are read by one thread of our
 * own, not by nng's task threads, which are the checks'.  A flood of
 * ticks (tens of thousands a second) would otherwise take as much of the
 * machine as the checks do: each tick costs nng's receive, a parse and
 * the engine lock, and the feeder's sending besides.  So while checks
 * are being served (one arrived in the last IPC_TICK_CHECK_RECENT_MS),
 * the reader takes at most IPC_TICK_BURST ticks and then sleeps
 * IPC_TICK_PAUSE_US before receiving again: ticks get at most about
 * IPC_TICK_BURST per pause, checks the rest.  With no checks it reads as
 * fast as ticks come.
 *
 * No tick is dropped or coalesced: every tick moves a band's mean and a
 * velocity window (RULES.md 4.2, 4.3), so skipping one could change a
 * decision.  A pausing reader leaves ticks in the socket's buffers and
 * the feed's PUSH blocks (nng's backpressure): the flood is slowed at
 * its source.  ipc_server_tick_waits counts the pauses (status shows it).
 */
#define IPC_TICK_BURST           32
#define IPC_TICK_PAUSE_US        1000
#define IPC_TICK_CHECK_RECENT_MS 10

static void *
tick_main(void *arg)
{
	struct ipc_server *srv = arg;
	int burst = 0;

	for (;;) {
		nng_msg *m;
		int rv = nng_recvmsg(srv->tick, &m, 0);
		if (rv == NNG_ECLOSED)
			return NULL;
		if (rv != 0) { /* out of memory: no spinning on it */
			struct timespec ts = {0, IPC_TICK_PAUSE_US * 1000L};
			nanosleep(&ts, NULL);
			continue;
		}
		srv->on_tick(srv->arg, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
		if (++burst < IPC_TICK_BURST)
			continue;
		burst = 0;
		if (nng_clock() - atomic_load_explicit(&srv->last_check,
		                                       memory_order_relaxed) >
		    IPC_TICK_CHECK_RECENT_MS)
			continue;
		atomic_fetch_add_explicit(&srv->tick_waits, 1,
		                          memory_order_relaxed);
		struct timespec ts = {0, IPC_TICK_PAUSE_US * 1000L};
		nanosleep(&ts, NULL);
	}
}

uint64_t
ipc_server_tick_waits(struct ipc_server *srv)
{
	return atomic_load_explicit(&srv->tick_waits, memory_order_relaxed);
}

static int
set_err(char *err, size_t errlen, const char *url, const char *what, int rv)
{
	snprintf(err, errlen, "%s: %s: %s", url, what, nng_strerror(rv));
	return -1;
}

/*
 * Listens on url with the receive cap; ipc:// files get mode 0600.  nng's
 * transports compare the cap with the whole message as it came on the
 * wire, and a REQ sends its 4-byte request id ahead of the body: a REP
 * socket's cap is IPC_RECV_MAX plus that header (IPC_REQ_HEADER), so that
 * the body a client wrote is what IPC_RECV_MAX counts (docs/PROTOCOL.md).
 */
static int
listen_on(nng_socket s, const char *url, size_t header, char *err,
          size_t errlen)
{
	nng_listener l;
	int rv;
	if ((rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ,
	                              IPC_RECV_MAX + header)) != 0)
		return set_err(err, errlen, url, "recv-size-max", rv);
	if ((rv = nng_listener_create(&l, s, url)) != 0)
		return set_err(err, errlen, url, "listen", rv);
	if (strncmp(url, "ipc://", 6) == 0 &&
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600)) != 0)
		return set_err(err, errlen, url, "permissions", rv);
	if ((rv = nng_listener_start(l, 0)) != 0)
		return set_err(err, errlen, url, "listen", rv);
	return 0;
}

static int
open_calls(struct ipc_server *srv, nng_socket s, ipc_request_fn fn, int first,
           int n, char *err, size_t errlen)
{
	for (int i = first; i < first + n; i++) {
		struct ipc_call *c = &srv->calls[i];
		int rv;
		c->srv = srv;
		c->fn = fn;
		if ((rv = nng_aio_alloc(&c->aio, call_cb, c)) != 0 ||
		    (rv = nng_ctx_open(&c->ctx, s)) != 0) {
			snprintf(err, errlen, "context: %s", nng_strerror(rv));
			return -1;
		}
		srv->ncalls = i + 1;
	}
	return 0;
}

enum fxb_err
ipc_server_open(const struct ipc_server_conf *conf, struct ipc_server **out,
                char *err, size_t errlen)
{
	struct ipc_server *srv = calloc(1, sizeof(*srv));
	int admin_contexts = 2;
	int rv;

	if (srv == NULL)
		return FXB_ERR_NOMEM;
	srv->on_tick = conf->on_tick;
	srv->on_check_fn = conf->on_check;
	srv->on_reply = conf->on_reply;
	srv->arg = conf->arg;
	srv->calls = calloc((size_t)(conf->check_contexts + admin_contexts),
	                    sizeof(*srv->calls));
	if (srv->calls == NULL) {
		free(srv);
		return FXB_ERR_NOMEM;
	}
	if ((rv = nng_rep0_open(&srv->check)) == 0)
		srv->check_open = true;
	if (rv == 0 && (rv = nng_rep0_open(&srv->admin)) == 0)
		srv->admin_open = true;
	if (rv == 0 && (rv = nng_pull0_open(&srv->tick)) == 0)
		srv->tick_open = true;
	if (rv == 0 && (rv = nng_pub0_open(&srv->events)) == 0)
		srv->events_open = true;
	if (rv != 0) {
		snprintf(err, errlen, "socket: %s", nng_strerror(rv));
		goto fail;
	}
	if (listen_on(srv->check, conf->check_url, IPC_REQ_HEADER, err,
	              errlen) != 0 ||
	    listen_on(srv->admin, conf->admin_url, IPC_REQ_HEADER, err,
	              errlen) != 0 ||
	    listen_on(srv->tick, conf->tick_url, 0, err, errlen) != 0 ||
	    listen_on(srv->events, conf->events_url, 0, err, errlen) != 0)
		goto fail;
	if (open_calls(srv, srv->check, conf->on_check, 0,
	               conf->check_contexts, err, errlen) != 0 ||
	    open_calls(srv, srv->admin, conf->on_admin, conf->check_contexts,
	               admin_contexts, err, errlen) != 0)
		goto fail;
	if ((rv = pthread_create(&srv->tick_thread, NULL, tick_main, srv)) !=
	    0) {
		snprintf(err, errlen, "tick reader: %s", strerror(rv));
		goto fail;
	}
	srv->tick_started = true;
	for (int i = 0; i < srv->ncalls; i++)
		call_recv(&srv->calls[i]);
	*out = srv;
	return FXB_OK;
fail:
	ipc_server_close(srv);
	return FXB_ERR_IO;
}

void
ipc_publish(struct ipc_server *srv, const char *topic, const char *json,
            size_t len)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, 0) != 0)
		return;
	if (nng_msg_append(m, topic, strlen(topic)) != 0 ||
	    nng_msg_append(m, " ", 1) != 0 ||
	    nng_msg_append(m, json, len) != 0 ||
	    nng_sendmsg(srv->events, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
}

void
ipc_server_close(struct ipc_server *srv)
{
	if (srv == NULL)
		return;
	/* Closing the sockets aborts every pending receive and send; then
	 * stop each aio, which waits for its callback to finish. */
	if (srv->check_open)
		nng_close(srv->check);
	if (srv->admin_open)
		nng_close(srv->admin);
	if (srv->tick_open)
		nng_close(srv->tick);
	if (srv->events_open)
		nng_close(srv->events);
	for (int i = 0; i < srv->ncalls; i++) {
		if (srv->calls[i].aio != NULL) {
			nng_aio_stop(srv->calls[i].aio);
			nng_aio_free(srv->calls[i].aio);
		}
		if (srv->calls[i].msg != NULL)
			nng_msg_free(srv->calls[i].msg);
	}
	/* The tick socket is closed: the reader's receive fails and it
	 * returns. */
	if (srv->tick_started)
		pthread_join(srv->tick_thread, NULL);
	free(srv->calls);
	free(srv);
}
