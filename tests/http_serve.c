/*
 * http_serve URL KEEPALIVE_MS: ipc/ipc_http.c alone, with a few fixed
 * routes and a stream, for tests/e2e_http.sh (which talks to it with
 * Python's http.client and raw sockets).  Driven by lines on stdin, each
 * answered by one line on stdout:
 *
 *   send EVENT N BYTES [MS]  broadcasts N events of BYTES bytes each
 *                       ("x"s, the first ones the event's number), MS
 *                       milliseconds apart; answers the longest one
 *                       broadcast took, in microseconds
 *   clients             answers ipc_http_stream_clients
 *   quit                closes the server, answers "closed"
 *
 * Routes: /hello (text), /query (echoes the query), /status (a 404 from
 * the route itself), /csp (its own Content-Security-Policy), /slow (50 ms
 * to answer).  Stream:
 * /live, whose hello is {"hello":N}, N counting hellos.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc_http.h"

static atomic_uint hellos;

static char *
dup_text(const char *s, size_t *len)
{
	*len = strlen(s);
	char *p = malloc(*len + 1);
	if (p != NULL)
		memcpy(p, s, *len + 1);
	return p;
}

static void
get_hello(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)arg;
	(void)query;
	res->content_type = "text/plain; charset=utf-8";
	res->body = dup_text("hello from ipc_http\n", &res->len);
}

static void
get_query(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)arg;
	res->content_type = "text/plain; charset=utf-8";
	res->body = dup_text(query, &res->len);
}

static void
get_status(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)arg;
	(void)query;
	res->status = 404;
	res->content_type = "text/plain; charset=utf-8";
	res->body = dup_text("no such thing\n", &res->len);
}

static void
get_csp(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)arg;
	(void)query;
	res->content_type = "text/html; charset=utf-8";
	res->body = dup_text("<p>page</p>\n", &res->len);
}

static void
get_slow(void *arg, const char *query, struct ipc_http_response *res)
{
	struct timespec ts = {0, 50 * 1000000L};
	(void)arg;
	(void)query;
	nanosleep(&ts, NULL);
	res->content_type = "text/plain; charset=utf-8";
	res->body = dup_text("slow\n", &res->len);
}

static void
stream_hello(void *arg, const char *query, struct ipc_http_response *res)
{
	char buf[64];
	(void)arg;
	(void)query;
	snprintf(buf, sizeof(buf), "{\"hello\":%u}",
	         atomic_fetch_add(&hellos, 1) + 1);
	res->content_type = "application/json";
	res->body = dup_text(buf, &res->len);
}

static const struct ipc_http_route routes[] = {
    {"/hello", get_hello, NULL},
    {"/query", get_query, NULL},
    {"/status", get_status, NULL},
    {"/csp", get_csp, "default-src 'none'; style-src 'sha256-x'"},
    {"/slow", get_slow, NULL},
};

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	struct ipc_http *h;
	char err[256], line[256];

	if (argc != 3) {
		fprintf(stderr, "usage: http_serve URL KEEPALIVE_MS\n");
		return 100;
	}
	struct ipc_http_conf conf = {
	    .url = argv[1],
	    .routes = routes,
	    .nroutes = sizeof(routes) / sizeof(routes[0]),
	    .stream_path = "/live",
	    .stream_hello = stream_hello,
	    .keepalive_ms = (unsigned)strtoul(argv[2], NULL, 10),
	};
	if (ipc_http_open(&conf, &h, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "http_serve: %s\n", err);
		return 111;
	}
	printf("listening\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char ev[32];
		unsigned n, bytes, ms = 0;
		if (sscanf(line, "send %31s %u %u %u", ev, &n, &bytes, &ms) >=
		    3) {
			char *data = malloc(bytes + 1);
			long long worst = 0;
			if (data == NULL)
				return 111;
			memset(data, 'x', bytes);
			for (unsigned i = 0; i < n; i++) {
				int k = snprintf(data, bytes + 1, "%u", i);
				if (k > 0 && (unsigned)k < bytes)
					data[k] = 'x';
				long long t0 = now_us();
				ipc_http_broadcast(h, ev, data, bytes);
				if (now_us() - t0 > worst)
					worst = now_us() - t0;
				struct timespec ts = {0, (long)ms * 1000000};
				nanosleep(&ts, NULL);
			}
			free(data);
			printf("%lld\n", worst);
		} else if (strncmp(line, "clients", 7) == 0) {
			printf("%u\n", ipc_http_stream_clients(h));
		} else if (strncmp(line, "quit", 4) == 0) {
			ipc_http_close(h);
			printf("closed\n");
			fflush(stdout);
			return 0;
		} else {
			printf("?\n");
		}
		fflush(stdout);
	}
	ipc_http_close(h);
	return 0;
}
