/*
 * ipc_http.c: the read-only HTTP side on nng's HTTP server (see
 * ipc_http.h).
 *
 * One nng handler per path, for GET (nng adds HEAD, answers 405 to any
 * other method and 404 to a path no handler has).  The Host header is
 * checked here, not with nng_http_handler_set_host: a handler pinned that
 * way leaves any other Host a bare 404, which tells the operator who typed
 * "localhost" nothing, and a second, unpinned handler on the same path to
 * answer 421 instead takes every HEAD (nng 1.5.2 hands HEAD to the last
 * GET handler that matched).  Here a wrong Host gets 421 naming the
 * address to use.
 *
 * Routes run on a thread of this file's own, one request at a time, not
 * on nng's task threads: those also run the check socket's handlers, and
 * a route that takes its time (a status.json of 100,000 products takes
 * most of a second) must not take one of them from the checks.  nng's
 * handler only checks the Host and queues the request (at most
 * IPC_HTTP_QUEUE_MAX wait; one more gets 503); the worker answers it.
 *
 * The event stream: the worker builds the hello, hijacks the connection
 * (from then on nng's server has forgotten it) and writes the response
 * head itself.  Each client has one write in flight and a bounded queue
 * behind it; a broadcast appends to the queue and never waits, and a
 * client whose queue would pass its cap is dropped.  A read stays posted
 * on each client so that a closed browser is noticed at once, not at the
 * next write.  All client state is under one mutex; a client is freed by
 * whichever of its callbacks runs last.  A dropped client's connection is
 * closed by the worker, holding no lock: nng's close waits for the
 * connection's own callbacks, which need a task thread, and the task
 * threads may all be waiting for that mutex (or serving checks).
 */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc_http.h"

#define HTTP_DEFAULT_CSP "default-src 'none'; frame-ancestors 'none'"
#define HTTP_TEXT        "text/plain; charset=utf-8"

struct ipc_http;

/* A request waiting for the worker: nng's handler aio and its inputs. */
struct http_job {
	nng_aio *aio;
	nng_http_req *req;
	nng_http_conn *conn;
	struct http_rctx *rc;
	struct http_job *next;
};

/* A handler's data: which route. */
struct http_rctx {
	struct ipc_http *h;
	const struct ipc_http_route *route; /* NULL: the stream */
};

/* One buffer of a stream client: what is being written, or what waits. */
struct http_buf {
	char *p;
	size_t len, cap;
};

struct http_client {
	struct ipc_http *h;
	struct http_client *next; /* the live list; NULL once dropped */
	nng_http_conn *conn;      /* NULL once closed */
	nng_aio *waio, *raio;
	struct http_buf out;  /* being written */
	struct http_buf wait; /* queued behind it */
	char rbuf[256];       /* what a client sends is read and ignored */
	bool writing, reading, dead;
};

struct ipc_http {
	nng_http_server *srv;
	nng_mtx *mtx;
	nng_cv *cv;
	nng_aio *keepalive;
	nng_duration keepalive_ms;
	struct ipc_http_route *routes; /* a copy of conf's */
	size_t nroutes;
	char *stream_path;
	ipc_http_get_fn stream_hello;
	void *arg;
	struct http_rctx *rctx; /* 1 per route and 1 for the stream */
	char host[128];         /* http_url's HOST:PORT */
	char hostname[128];     /* its HOST, without brackets */
	char misdirected[320];  /* the 421 body */
	/* Under mtx. */
	struct http_job *jobs, **jobs_tail; /* for the worker, in order */
	unsigned njobs;
	nng_cv *jcv; /* a job queued, or the worker to stop */
	nng_thread *worker;
	bool worker_stop;
	struct http_client *clients; /* live ones */
	struct http_client *closeq;  /* dropped, to be closed by the worker */
	unsigned nclients;           /* live ones */
	unsigned nall;               /* live ones and those not yet freed */
	unsigned busy;               /* gets running */
	bool closing;
};

static char *
http_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/* Answers aio with status, content type and body (copied); the headers
 * every answer carries.  false: out of memory. */
static bool
http_answer(nng_aio *aio, int status, const char *reason, const char *type,
            const char *csp, const char *body, size_t len)
{
	nng_http_res *res;
	if (nng_http_res_alloc(&res) != 0)
		return false;
	if (nng_http_res_set_status(res, (uint16_t)status) != 0 ||
	    (reason != NULL && nng_http_res_set_reason(res, reason) != 0) ||
	    nng_http_res_set_header(res, "Content-Type", type) != 0 ||
	    nng_http_res_set_header(res, "Content-Security-Policy",
	                            csp != NULL ? csp : HTTP_DEFAULT_CSP) !=
	        0 ||
	    nng_http_res_set_header(res, "Cache-Control", "no-store") != 0 ||
	    nng_http_res_set_header(res, "X-Content-Type-Options",
	                            "nosniff") != 0 ||
	    nng_http_res_set_header(res, "Referrer-Policy", "no-referrer") !=
	        0 ||
	    (len > 0 ? nng_http_res_copy_data(res, body, len)
	             : nng_http_res_set_data(res, NULL, 0)) != 0) {
		nng_http_res_free(res);
		return false;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	return true;
}

static void
http_answer_text(nng_aio *aio, int status, const char *reason,
                 const char *text)
{
	/* Out of memory: nng closes the connection. */
	if (!http_answer(aio, status, reason, HTTP_TEXT, NULL, text,
	                 strlen(text)))
		nng_aio_finish(aio, NNG_ENOMEM);
}

/* Counts a get in, or says the server is closing. */
static bool
http_enter(struct ipc_http *h)
{
	bool ok;
	nng_mtx_lock(h->mtx);
	if ((ok = !h->closing))
		h->busy++;
	nng_mtx_unlock(h->mtx);
	return ok;
}

static void
http_leave(struct ipc_http *h)
{
	nng_mtx_lock(h->mtx);
	if (--h->busy == 0 && h->closing)
		nng_cv_wake(h->cv);
	nng_mtx_unlock(h->mtx);
}

/* The Host header names http_url's host, with its port or none
 * (case-insensitive, as DNS names are).  HTTP/1.0 may send no Host at
 * all: refused too, there is nothing to check. */
static bool
http_host_ok(struct ipc_http *h, nng_http_req *req)
{
	const char *v = nng_http_req_get_header(req, "Host");
	if (v == NULL)
		return false;
	if (strcasecmp(v, h->host) == 0 || strcasecmp(v, h->hostname) == 0)
		return true;
	/* An IPv6 address without its port: "[::1]". */
	size_t n = strlen(h->hostname);
	return v[0] == '[' && strncasecmp(v + 1, h->hostname, n) == 0 &&
	       v[n + 1] == ']' && v[n + 2] == '\0';
}

static const char *
http_query(nng_http_req *req)
{
	const char *q = strchr(nng_http_req_get_uri(req), '?');
	return q != NULL ? q + 1 : "";
}

/* Calls get; the route's answer or 503.  res.body is ours afterwards. */
static void
http_call(struct ipc_http *h, ipc_http_get_fn get, const char *query,
          struct ipc_http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->status = 200;
	if (!http_enter(h)) {
		res->status = 503;
		return;
	}
	get(h->arg, query, res);
	http_leave(h);
}

/* A route's GET, on the worker. */
static void
http_route_run(struct ipc_http *h, nng_aio *aio, nng_http_req *req,
               const struct http_rctx *rc)
{
	struct ipc_http_response res;
	http_call(h, rc->route->get, http_query(req), &res);
	if (res.status == 503 && res.body == NULL) {
		http_answer_text(
		    aio, 503, NULL,
		    "fxbreakerd: cannot answer now (out of memory "
		    "or stopping): try again\n");
		return;
	}
	if (!http_answer(
	        aio, res.status, NULL,
	        res.content_type != NULL ? res.content_type : HTTP_TEXT,
	        rc->route->content_security_policy, res.body, res.len))
		nng_aio_finish(aio, NNG_ENOMEM);
	free(res.body);
}

/* The stream's clients.  Every function named _locked runs under mtx. */

static bool
http_buf_add(struct http_buf *b, const char *p, size_t len, size_t cap)
{
	if (len == 0)
		return true;
	if (b->len + len > cap)
		return false;
	if (b->len + len > b->cap) {
		size_t n = b->cap != 0 ? b->cap : 4096;
		while (n < b->len + len)
			n *= 2;
		char *q = realloc(b->p, n);
		if (q == NULL)
			return false;
		b->p = q;
		b->cap = n;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return true;
}

static void
http_client_write_locked(struct http_client *c)
{
	nng_iov iov = {.iov_buf = c->out.p, .iov_len = c->out.len};
	c->writing = true;
	nng_aio_set_iov(c->waio, 1, &iov);
	nng_http_conn_write_all(c->conn, c->waio);
}

static void
http_client_read_locked(struct http_client *c)
{
	nng_iov iov = {.iov_buf = c->rbuf, .iov_len = sizeof(c->rbuf)};
	c->reading = true;
	nng_aio_set_iov(c->raio, 1, &iov);
	nng_http_conn_read(c->conn, c->raio);
}

/* Drops c: out of the live list, and onto the worker's list to close,
 * which ends its write and read with an error.  Never waits. */
static void
http_client_drop_locked(struct http_client *c)
{
	struct ipc_http *h = c->h;
	if (c->dead)
		return;
	c->dead = true;
	for (struct http_client **pp = &h->clients; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	h->nclients--;
	c->next = h->closeq;
	h->closeq = c;
	nng_cv_wake(h->jcv);
}

/* c's last callback frees it.  true: it is to be freed (outside mtx). */
static bool
http_client_done_locked(struct http_client *c)
{
	struct ipc_http *h = c->h;
	if (!c->dead || c->conn != NULL || c->writing || c->reading)
		return false;
	if (--h->nall == 0 && h->closing)
		nng_cv_wake(h->cv);
	return true;
}

static void
http_client_free(struct http_client *c)
{
	/* From the client's own callback: nng_aio_free would wait for that
	 * callback to return; nng's reaper frees them after it has. */
	if (c->waio != NULL)
		nng_aio_reap(c->waio);
	if (c->raio != NULL)
		nng_aio_reap(c->raio);
	free(c->out.p);
	free(c->wait.p);
	free(c);
}

/* Queues p for c, or drops c if its queue is full. */
static void
http_client_send_locked(struct http_client *c, const char *p, size_t len)
{
	if (c->dead)
		return;
	if (!c->writing) {
		c->out.len = 0;
		if (!http_buf_add(&c->out, p, len, (size_t)-1)) {
			http_client_drop_locked(c);
			return;
		}
		http_client_write_locked(c);
		return;
	}
	if (!http_buf_add(&c->wait, p, len, IPC_HTTP_STREAM_QUEUE_MAX))
		http_client_drop_locked(c);
}

static void
http_client_wcb(void *arg)
{
	struct http_client *c = arg;
	struct ipc_http *h = c->h;
	int rv = nng_aio_result(c->waio);

	nng_mtx_lock(h->mtx);
	c->writing = false;
	if (rv != 0) {
		http_client_drop_locked(c);
	} else if (!c->dead && c->wait.len > 0) {
		struct http_buf t = c->out;
		c->out = c->wait;
		c->wait = t;
		c->wait.len = 0;
		http_client_write_locked(c);
	}
	bool done = http_client_done_locked(c);
	nng_mtx_unlock(h->mtx);
	if (done)
		http_client_free(c);
}

static void
http_client_rcb(void *arg)
{
	struct http_client *c = arg;
	struct ipc_http *h = c->h;
	int rv = nng_aio_result(c->raio);

	nng_mtx_lock(h->mtx);
	c->reading = false;
	if (rv != 0) /* closed by the browser, or by us */
		http_client_drop_locked(c);
	else if (!c->dead)
		http_client_read_locked(c);
	bool done = http_client_done_locked(c);
	nng_mtx_unlock(h->mtx);
	if (done)
		http_client_free(c);
}

/* The response head: no length, the body ends when the connection does. */
static const char http_stream_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Content-Security-Policy: " HTTP_DEFAULT_CSP "\r\n"
    "Connection: close\r\n"
    "\r\n"
    "retry: 2000\n\n";

/* Frames one event: "event: E\ndata: D\n\n", a newline in D starting
 * another data line (the browser joins them with a newline again). */
static bool
http_frame(struct http_buf *b, const char *event, const char *data, size_t len)
{
	if (!http_buf_add(b, "event: ", 7, (size_t)-1) ||
	    !http_buf_add(b, event, strlen(event), (size_t)-1) ||
	    !http_buf_add(b, "\ndata: ", 7, (size_t)-1))
		return false;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
		if (!http_buf_add(b, data + i, n, (size_t)-1))
			return false;
		i += n;
		if (nl != NULL) {
			if (!http_buf_add(b, "\ndata: ", 7, (size_t)-1))
				return false;
			i++;
		}
	}
	return http_buf_add(b, "\n\n", 2, (size_t)-1);
}

/* A new stream client, on the worker. */
static void
http_stream_run(struct ipc_http *h, nng_aio *aio, nng_http_req *req,
                nng_http_conn *conn)
{
	if (strcmp(nng_http_req_get_method(req), "HEAD") == 0) {
		if (!http_answer(aio, 200, NULL,
		                 "text/event-stream; charset=utf-8", NULL, "",
		                 0))
			nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}

	/* A place among the clients first, so that the hello is built
	 * only for one that will get it. */
	nng_mtx_lock(h->mtx);
	bool room = !h->closing && h->nclients < IPC_HTTP_STREAM_CLIENTS_MAX;
	if (room) {
		h->nclients++;
		h->nall++;
	}
	nng_mtx_unlock(h->mtx);
	if (!room) {
		http_answer_text(aio, 503, NULL,
		                 "fxbreakerd: too many live boards open "
		                 "(or stopping): close one and reload\n");
		return;
	}

	struct http_client *c = calloc(1, sizeof(*c));
	struct ipc_http_response res;
	memset(&res, 0, sizeof(res));
	res.status = 503;
	if (c != NULL) {
		c->h = h;
		http_call(h, h->stream_hello, http_query(req), &res);
	}
	if (c == NULL || res.status >= 500 ||
	    nng_aio_alloc(&c->waio, http_client_wcb, c) != 0 ||
	    nng_aio_alloc(&c->raio, http_client_rcb, c) != 0 ||
	    !http_buf_add(&c->out, http_stream_head,
	                  sizeof(http_stream_head) - 1, (size_t)-1) ||
	    !http_frame(&c->out, "hello", res.body, res.len)) {
		free(res.body);
		if (c != NULL) {
			nng_aio_free(c->waio);
			nng_aio_free(c->raio);
			free(c->out.p);
			free(c);
		}
		nng_mtx_lock(h->mtx);
		h->nclients--;
		if (--h->nall == 0 && h->closing)
			nng_cv_wake(h->cv);
		nng_mtx_unlock(h->mtx);
		http_answer_text(aio, 503, NULL,
		                 "fxbreakerd: cannot open the live stream now "
		                 "(out of memory or stopping): try again\n");
		return;
	}
	free(res.body);

	/* Ours from here: nng's server forgets the connection and the
	 * request, and answers nothing (no response in the aio). */
	nng_http_hijack(conn);
	nng_http_req_free(req);
	c->conn = conn;
	nng_mtx_lock(h->mtx);
	if (h->closing) {
		/* Counted above, so close waits for this one too. */
		nng_mtx_unlock(h->mtx);
		nng_http_conn_close(conn);
		nng_mtx_lock(h->mtx);
		h->nclients--;
		if (--h->nall == 0)
			nng_cv_wake(h->cv);
		nng_mtx_unlock(h->mtx);
		c->conn = NULL;
		http_client_free(c);
	} else {
		c->next = h->clients;
		h->clients = c;
		http_client_write_locked(c);
		http_client_read_locked(c);
		nng_mtx_unlock(h->mtx);
	}
	nng_aio_set_output(aio, 0, NULL);
	nng_aio_finish(aio, 0);
}

/* nng's handler, on its task thread: the Host, then the queue. */
static void
http_handler_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	struct http_rctx *rc =
	    nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	struct ipc_http *h = rc->h;

	if (!http_host_ok(h, req)) {
		http_answer_text(aio, 421, "Misdirected Request",
		                 h->misdirected);
		return;
	}
	struct http_job *j = calloc(1, sizeof(*j));
	nng_mtx_lock(h->mtx);
	bool queued =
	    j != NULL && !h->closing && h->njobs < IPC_HTTP_QUEUE_MAX;
	if (queued) {
		j->aio = aio;
		j->req = req;
		j->conn = nng_aio_get_input(aio, 2);
		j->rc = rc;
		*h->jobs_tail = j;
		h->jobs_tail = &j->next;
		h->njobs++;
		nng_cv_wake(h->jcv);
	}
	nng_mtx_unlock(h->mtx);
	if (!queued) {
		free(j);
		http_answer_text(aio, 503, NULL,
		                 "fxbreakerd: too many HTTP requests at once "
		                 "(or stopping): try again\n");
	}
}

static void
http_worker(void *arg)
{
	struct ipc_http *h = arg;
	nng_mtx_lock(h->mtx);
	for (;;) {
		while (h->jobs == NULL && h->closeq == NULL && !h->worker_stop)
			nng_cv_wait(h->jcv);
		struct http_client *c = h->closeq;
		if (c != NULL) {
			h->closeq = c->next;
			nng_mtx_unlock(h->mtx);
			nng_http_conn_close(c->conn);
			nng_mtx_lock(h->mtx);
			c->conn = NULL;
			if (http_client_done_locked(c)) {
				nng_mtx_unlock(h->mtx);
				http_client_free(c);
				nng_mtx_lock(h->mtx);
			}
			continue;
		}
		struct http_job *j = h->jobs;
		if (j == NULL)
			break; /* stopping, and nothing left */
		if ((h->jobs = j->next) == NULL)
			h->jobs_tail = &h->jobs;
		h->njobs--;
		nng_mtx_unlock(h->mtx);
		if (j->rc->route != NULL)
			http_route_run(h, j->aio, j->req, j->rc);
		else
			http_stream_run(h, j->aio, j->req, j->conn);
		free(j);
		nng_mtx_lock(h->mtx);
	}
	nng_mtx_unlock(h->mtx);
}

static void
http_keepalive_cb(void *arg)
{
	struct ipc_http *h = arg;
	static const char ka[] = ": keepalive\n\n";

	if (nng_aio_result(h->keepalive) != 0)
		return; /* stopped */
	nng_mtx_lock(h->mtx);
	if (!h->closing) {
		struct http_client *c = h->clients, *next;
		for (; c != NULL; c = next) {
			next = c->next;
			http_client_send_locked(c, ka, sizeof(ka) - 1);
		}
		nng_sleep_aio(h->keepalive_ms, h->keepalive);
	}
	nng_mtx_unlock(h->mtx);
}

void
ipc_http_broadcast(struct ipc_http *h, const char *event, const char *data,
                   size_t len)
{
	struct http_buf b = {0};
	if (h == NULL || strchr(event, '\n') != NULL)
		return;
	bool framed = http_frame(&b, event, data, len);
	nng_mtx_lock(h->mtx);
	struct http_client *c = h->clients, *next;
	for (; c != NULL; c = next) {
		next = c->next;
		/* Out of memory for the frame: every client would miss this
		 * event; dropped, each reconnects to a whole hello. */
		if (framed)
			http_client_send_locked(c, b.p, b.len);
		else
			http_client_drop_locked(c);
	}
	nng_mtx_unlock(h->mtx);
	free(b.p);
}

unsigned
ipc_http_stream_clients(struct ipc_http *h)
{
	if (h == NULL)
		return 0;
	nng_mtx_lock(h->mtx);
	unsigned n = h->nclients;
	nng_mtx_unlock(h->mtx);
	return n;
}

/* Adds path's handler, GET (and HEAD) only, taking no request body (a
 * GET with one gets 400). */
static int
http_add(struct ipc_http *h, const char *path, void (*cb)(nng_aio *),
         struct http_rctx *rc)
{
	nng_http_handler *hd;
	int rv;
	if ((rv = nng_http_handler_alloc(&hd, path, cb)) != 0)
		return rv;
	if ((rv = nng_http_handler_collect_body(hd, true, 0)) != 0 ||
	    (rv = nng_http_handler_set_data(hd, rc, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(h->srv, hd)) != 0) {
		nng_http_handler_free(hd);
		return rv;
	}
	return 0;
}

/* Stops the worker once it has answered every queued request. */
static void
http_worker_stop(struct ipc_http *h)
{
	if (h->worker == NULL)
		return;
	nng_mtx_lock(h->mtx);
	h->worker_stop = true;
	nng_cv_wake(h->jcv);
	nng_mtx_unlock(h->mtx);
	nng_thread_destroy(h->worker);
	h->worker = NULL;
}

static void
http_free(struct ipc_http *h)
{
	if (h->keepalive != NULL)
		nng_aio_free(h->keepalive);
	if (h->cv != NULL)
		nng_cv_free(h->cv);
	if (h->jcv != NULL)
		nng_cv_free(h->jcv);
	if (h->mtx != NULL)
		nng_mtx_free(h->mtx);
	free(h->routes);
	free(h->stream_path);
	free(h->rctx);
	free(h);
}

/* A wildcard address listens on every interface and names no host a
 * client would send: nothing to pin the Host header to. */
static bool
http_host_wild(const char *host)
{
	return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
	       strspn(host, ":0") == strlen(host);
}

enum fxb_err
ipc_http_open(const struct ipc_http_conf *conf, struct ipc_http **out,
              char *err, size_t errlen)
{
	struct ipc_http *h;
	nng_url *url = NULL;
	int rv;
	const char *what = "cannot listen";

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->routes = calloc(conf->nroutes + 1, sizeof(*h->routes))) ==
	        NULL ||
	    (h->rctx = calloc(conf->nroutes + 1, sizeof(*h->rctx))) == NULL ||
	    (conf->stream_path != NULL &&
	     (h->stream_path = http_strdup(conf->stream_path)) == NULL) ||
	    nng_mtx_alloc(&h->mtx) != 0 || nng_cv_alloc(&h->cv, h->mtx) != 0 ||
	    nng_cv_alloc(&h->jcv, h->mtx) != 0 ||
	    nng_aio_alloc(&h->keepalive, http_keepalive_cb, h) != 0) {
		if (h != NULL)
			http_free(h);
		snprintf(err, errlen, "%s: out of memory", conf->url);
		return FXB_ERR_NOMEM;
	}
	h->jobs_tail = &h->jobs;
	memcpy(h->routes, conf->routes, conf->nroutes * sizeof(*h->routes));
	h->nroutes = conf->nroutes;
	h->stream_hello = conf->stream_hello;
	h->arg = conf->arg;
	h->keepalive_ms = conf->keepalive_ms != 0
	                      ? (nng_duration)conf->keepalive_ms
	                      : IPC_HTTP_KEEPALIVE_MS;

	if ((rv = nng_url_parse(&url, conf->url)) != 0) {
		what = "not a URL";
		goto fail;
	}
	if (http_host_wild(url->u_hostname)) {
		snprintf(err, errlen,
		         "%s: a wildcard address cannot pin the Host header; "
		         "name the address to listen on "
		         "(http://127.0.0.1:PORT, or this host's own address)",
		         conf->url);
		nng_url_free(url);
		http_free(h);
		return FXB_ERR_IO;
	}
	if (strlen(url->u_host) >= sizeof(h->host)) {
		what = "host name too long";
		rv = NNG_EINVAL;
		goto fail;
	}
	snprintf(h->host, sizeof(h->host), "%s", url->u_host);
	snprintf(h->hostname, sizeof(h->hostname), "%s", url->u_hostname);
	snprintf(h->misdirected, sizeof(h->misdirected),
	         "fxbreakerd answers only to Host: %s (its http_url): "
	         "open %s/\n",
	         url->u_host, conf->url);
	if ((rv = nng_http_server_hold(&h->srv, url)) != 0)
		goto fail;
	for (size_t i = 0; i < h->nroutes; i++) {
		h->rctx[i].h = h;
		h->rctx[i].route = &h->routes[i];
		if ((rv = http_add(h, h->routes[i].path, http_handler_cb,
		                   &h->rctx[i])) != 0) {
			what = "cannot add a route";
			goto fail;
		}
	}
	if (h->stream_path != NULL) {
		struct http_rctx *rc = &h->rctx[h->nroutes];
		rc->h = h;
		if ((rv = http_add(h, h->stream_path, http_handler_cb, rc)) !=
		    0) {
			what = "cannot add the stream";
			goto fail;
		}
	}
	if ((rv = nng_thread_create(&h->worker, http_worker, h)) != 0) {
		what = "cannot start its thread";
		goto fail;
	}
	if ((rv = nng_http_server_start(h->srv)) != 0)
		goto fail;
	nng_url_free(url);
	nng_sleep_aio(h->keepalive_ms, h->keepalive);
	*out = h;
	return FXB_OK;
fail:
	snprintf(err, errlen, "%s: %s: %s", conf->url, what, nng_strerror(rv));
	http_worker_stop(h);
	if (h->srv != NULL)
		nng_http_server_release(h->srv);
	nng_url_free(url);
	http_free(h);
	return rv == NNG_ENOMEM ? FXB_ERR_NOMEM : FXB_ERR_IO;
}

void
ipc_http_close(struct ipc_http *h)
{
	if (h == NULL)
		return;
	nng_mtx_lock(h->mtx);
	h->closing = true;
	while (h->clients != NULL)
		http_client_drop_locked(h->clients);
	nng_mtx_unlock(h->mtx);
	/* The stream clients closed and the queued requests answered (503:
	 * closing) before nng's server stops: it waits for each handler's
	 * aio. */
	http_worker_stop(h);
	nng_aio_stop(h->keepalive);
	nng_http_server_stop(h->srv);
	nng_http_server_release(h->srv);
	nng_mtx_lock(h->mtx);
	while (h->busy > 0 || h->nall > 0)
		nng_cv_wait(h->cv);
	nng_mtx_unlock(h->mtx);
	http_free(h);
}
