/*
 * ipc_server.h: fxbreakerd's sockets (docs/PROTOCOL.md): REP on the check
 * and admin URLs, served by many nng contexts at once; PULL for ticks; PUB
 * for events.  It moves bytes and knows nothing of their meaning.
 *
 * Threads: handlers run on nng's task threads, several at once; on_tick
 * runs on one reader thread of the server's own, one tick at a time.  A
 * request handler must answer each call exactly once with ipc_call_reply,
 * now or later and from any thread (the daemon parks a reply until the log
 * row it depends on has committed); until then that context serves
 * nothing else.
 */
#ifndef IPC_SERVER_H
#define IPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "fxb.h"
#include "ipc_trust.h"

struct ipc_server;
struct ipc_call;

/* Largest message body accepted on any socket; nng drops a larger one and
 * the connection it came on. */
#define IPC_RECV_MAX IPC_TRUST_REQUEST_MAX
/* The request id a direct REQ peer sends ahead of each body (one hop of
 * nng's REQ/REP backtrace): counted by nng's cap, not by IPC_RECV_MAX. */
#define IPC_REQ_HEADER 4

typedef void (*ipc_request_fn)(void *arg, struct ipc_call *call,
                               const char *req, size_t len);
typedef void (*ipc_message_fn)(void *arg, const char *msg, size_t len);
/* A request answered: the call's tag (ipc_call_set_tag) and the time from
 * the moment the request was handed to its handler to the moment its reply
 * was handed to nng, however long it was held in between. */
typedef void (*ipc_reply_fn)(void *arg, unsigned tag, uint64_t ns);

struct ipc_server_conf {
	const char *check_url, *admin_url, *tick_url, *events_url;
	int check_contexts; /* requests served at once on check_url */
	ipc_request_fn on_check;
	ipc_request_fn on_admin;
	ipc_message_fn on_tick;
	ipc_reply_fn on_reply; /* NULL: nothing is timed */
	void *arg;
};

/*
 * ipc_server_open listens on the four URLs (ipc:// socket files with mode
 * 0600) and starts serving.  Errors: FXB_ERR_IO with err naming the URL
 * and nng's reason, FXB_ERR_NOMEM.
 */
enum fxb_err ipc_server_open(const struct ipc_server_conf *conf,
                             struct ipc_server **out, char *err,
                             size_t errlen);

/* ipc_call_peer describes the sender of call's request ("uid=0 pid=123"
 * on ipc://), for the log. */
const char *ipc_call_peer(struct ipc_call *call);

/* ipc_call_set_tag labels call for on_reply (what kind of request it
 * is: the server does not know). */
void ipc_call_set_tag(struct ipc_call *call, unsigned tag);

/* ipc_call_reply sends buf[0..len) as the answer to call.  Any thread. */
void ipc_call_reply(struct ipc_call *call, const char *buf, size_t len);

/* ipc_publish sends "topic json" on the events socket; never blocks (a
 * slow subscriber loses messages, nng's PUB semantics). */
void ipc_publish(struct ipc_server *srv, const char *topic, const char *json,
                 size_t len);

/* ipc_server_tick_waits counts the times the tick reader paused to leave
 * the machine to checks (ipc_server.c, tick_main). */
uint64_t ipc_server_tick_waits(struct ipc_server *srv);

/*
 * ipc_server_close closes every socket and waits for handlers to return.
 * Calls not yet answered are dropped (their clients time out): answer
 * them first.  NULL is a no-op.
 */
void ipc_server_close(struct ipc_server *srv);

#endif /* IPC_SERVER_H */
