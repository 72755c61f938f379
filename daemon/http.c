/*
 * http.c: the daemon's read-only HTTP side ([service] http_url,
 * docs/OPERATIONS.md "Watching it"): the table of what each path answers,
 * over ipc/ipc_http.c, which moves the bytes.  Nothing here writes:
 * every route reads what metrics.c counts or what status.c shows, and no
 * command or signature ever comes this way.
 *
 * Routes run on ipc_http.c's own thread, one at a time, never on the
 * threads that serve checks; each takes mu only as long as the status or
 * metrics it reads need it.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "ipc_http.h"

/* GET /metrics: the Prometheus text exposition, version 0.0.4. */
static void
get_metrics(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)query;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if ((res->body = metrics_text(arg, &res->len)) == NULL)
		res->status = 503;
}

/*
 * GET /status.json: the admin status op's answer, the very bytes status.c
 * builds for it, with "counters" added at its end (metrics.c).  Spliced,
 * not parsed and dumped again: a status of 100,000 products is tens of
 * megabytes of JSON.
 */
static void
get_status(void *arg, const char *query, struct ipc_http_response *res)
{
	struct daemon *d = arg;
	(void)query;
	res->content_type = "application/json";
	char *st = status_reply(d, NULL);
	json_t *c = metrics_counters_json(d);
	char *cs = c != NULL
	               ? json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER)
	               : NULL;
	json_decref(c);
	size_t n = st != NULL ? strlen(st) : 0;
	/* An object: {...} with something in it. */
	if (st == NULL || cs == NULL || n < 2 || st[n - 1] != '}' ||
	    (res->body = malloc(n + strlen(cs) + 16)) == NULL) {
		res->status = 503;
		free(st);
		free(cs);
		return;
	}
	memcpy(res->body, st, n - 1);
	res->len = n - 1;
	res->len +=
	    (size_t)sprintf(res->body + res->len, ",\"counters\":%s}\n", cs);
	free(st);
	free(cs);
	/* As the admin socket's status does: give the peak back. */
	malloc_trim(0);
}

/* What each path answers.  The board adds its rows here. */
static const struct ipc_http_route routes[] = {
    {"/metrics", get_metrics, NULL},
    {"/status.json", get_status, NULL},
    /* The board (board_routes.c): its page may run only its own inline style
     * and script, named by their hashes. */
    {"/", board_get_page, board_csp},
    {"/board.json", board_get_json, NULL},
    {"/products", board_get_products, NULL},
};

bool
http_start(struct daemon *d)
{
	char err[512];
	if (d->svc.http_url[0] == '\0')
		return true;
	const struct ipc_http_conf conf = {
	    .url = d->svc.http_url,
	    .routes = routes,
	    .nroutes = sizeof(routes) / sizeof(routes[0]),
	    .stream_path = "/live",
	    .stream_hello = board_stream_hello,
	    .arg = d,
	};
	/* Not fatal: the board's routes then answer 503. */
	if (!board_new(d))
		log_warn("cannot make the board: out of memory");
	if (ipc_http_open(&conf, &d->http, err, sizeof(err)) != FXB_OK) {
		board_free(d);
		log_error("http_url %s", err);
		return false;
	}
	/* Nor is this: the board's page then stays still (its stream says
	 * hello, and no more). */
	if (d->board != NULL && !board_start(d, d->http))
		log_warn("cannot start the board's thread: the board will not "
		         "update");
	log_info("board and metrics on %s/ (read-only: /metrics, "
	         "/status.json)",
	         d->svc.http_url);
	return true;
}

void
http_stop(struct daemon *d)
{
	/* The board's thread broadcasts on the stream; its routes read the
	 * board until the server has closed. */
	board_stop(d);
	ipc_http_close(d->http);
	d->http = NULL;
	board_free(d);
}
