/*
 * ipc_http.h: fxbreakerd's read-only HTTP side on nng's own HTTP server
 * ([service] http_url, docs/OPERATIONS.md "Watching it"): the board, the
 * metrics, status.json, and one Server-Sent Events stream that keeps the
 * board live.  GET only (nng answers 405 to any other method, 404 to any
 * other path); the Host header is pinned to http_url's host:port, so a
 * page on another site cannot read it through a rebound DNS name (another
 * Host gets 421 naming the right one; a wildcard address such as 0.0.0.0
 * is refused, since it pins nothing).  No command, signature or write of
 * any kind ever goes over HTTP.  Every answer carries Cache-Control:
 * no-store, X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer
 * and a Content-Security-Policy.
 *
 * Like ipc_server.h it moves bytes and knows nothing of their meaning:
 * the daemon builds every body.
 *
 * Threads: a route's get and the stream's hello run on one thread of the
 * server's own, one at a time (never on nng's task threads, which serve
 * the checks too).
 */
#ifndef IPC_HTTP_H
#define IPC_HTTP_H

#include <stddef.h>

#include "fxb.h"

struct ipc_http;

/* What a route answers.  body is malloc'd (the server frees it) or NULL
 * with len 0; status is 200 unless the route sets another (a 4xx with a
 * one-line text/plain body that says what is wrong). */
struct ipc_http_response {
	int status;
	const char *content_type; /* a literal: "text/plain; ..." */
	char *body;
	size_t len;
};

/* A GET of the route's path; query is what followed '?' ("" if nothing).
 * On failure to build a body (memory), set status 503. */
typedef void (*ipc_http_get_fn)(void *arg, const char *query,
                                struct ipc_http_response *res);

struct ipc_http_route {
	const char *path; /* "/metrics" */
	ipc_http_get_fn get;
	/* NULL: "default-src 'none'"; the board's page names its own inline
	 * script and style by hash. */
	const char *content_security_policy;
};

struct ipc_http_conf {
	const char *url; /* http://HOST:PORT */
	const struct ipc_http_route *routes;
	size_t nroutes;
	/* The Server-Sent Events stream ("/live"), or NULL for none.  hello
	 * answers a new stream client's first event, "event: hello" (its
	 * content type is ignored; a status of 500 or more refuses the
	 * client with 503): the whole picture, so that it never waits for
	 * the next broadcast.  The stream opens with "retry: 2000" (a
	 * browser whose stream broke tries again after 2 s) and carries
	 * ": keepalive" comment lines between events. */
	const char *stream_path;
	ipc_http_get_fn stream_hello;
	void *arg; /* every get's and hello's first argument */
	/* A comment line (": keepalive") to every stream client this often,
	 * so that proxies and browsers see an idle stream alive and a
	 * vanished client is noticed; 0: IPC_HTTP_KEEPALIVE_MS. */
	unsigned keepalive_ms;
};

#define IPC_HTTP_KEEPALIVE_MS 15000
/* The stream's bounds: clients at once (one more gets 503), and bytes
 * queued for one client behind the write in flight (one more byte and it
 * is dropped).  So the stream holds at most 32 x 4 MiB however slow its
 * readers. */
#define IPC_HTTP_STREAM_CLIENTS_MAX 32
/* Requests waiting for that thread at most; one more gets 503. */
#define IPC_HTTP_QUEUE_MAX        64
#define IPC_HTTP_STREAM_QUEUE_MAX (4u << 20)

/*
 * ipc_http_open listens on conf->url and serves.  Errors: FXB_ERR_IO with
 * err naming the URL and nng's reason (the port taken, say),
 * FXB_ERR_NOMEM.
 */
enum fxb_err ipc_http_open(const struct ipc_http_conf *conf,
                           struct ipc_http **out, char *err, size_t errlen);

/*
 * ipc_http_broadcast sends "event: EVENT\ndata: DATA\n\n" to every stream
 * client (one JSON document; a newline in data would start another
 * "data: " line, which the browser joins back; event holds none).  It never
 * blocks: a client that has not taken what was sent before it is dropped
 * (its browser reconnects and gets a hello), so a stalled board cannot
 * hold the daemon.  Any thread; h NULL is a no-op.
 */
void ipc_http_broadcast(struct ipc_http *h, const char *event,
                        const char *data, size_t len);

/* ipc_http_stream_clients counts the stream's clients now.  NULL: 0. */
unsigned ipc_http_stream_clients(struct ipc_http *h);

/* ipc_http_close stops serving, closes the stream clients and waits for
 * routes to return.  NULL is a no-op. */
void ipc_http_close(struct ipc_http *h);

#endif /* IPC_HTTP_H */
