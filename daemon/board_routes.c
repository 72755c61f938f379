/*
 * board_routes.c: the board's HTTP routes (ipc_http_get_fns on the HTTP
 * side's thread, whose arg is the daemon; the table is http.c's): GET /
 * (the page, build/gen/board_html.c from daemon/board.html), /board.json
 * and the stream's hello (the document, board_document.c), and
 * /products (a page of a suspension's products from the last scan, or
 * of the products whose id starts with a prefix).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_impl.h"

/* Products a page holds at most, and by default. */
#define BOARD_PAGE_MAX 1000
#define BOARD_PAGE_DEF 200

/* The page: build/gen/board_html.c, from daemon/board.html. */
extern const size_t board_html_len;

/* A suspension id shown only once its row is written (status's rule). */
static int64_t
visible(struct daemon *d, int64_t id)
{
	return id > 0 && id <= atomic_load(&d->committed) ? id : 0;
}

static void
text_answer(struct ipc_http_response *res, int status, const char *msg)
{
	res->status = status;
	res->content_type = "text/plain; charset=utf-8";
	res->body = strdup(msg);
	res->len = res->body != NULL ? strlen(res->body) : 0;
	if (res->body == NULL)
		res->status = 503;
}

static void
json_answer(struct ipc_http_response *res, char *body)
{
	if (body == NULL) {
		text_answer(res, 503, "out of memory\n");
		return;
	}
	res->status = 200;
	res->content_type = "application/json";
	res->body = body;
	res->len = strlen(body);
}

void
board_get_page(void *arg, const char *query, struct ipc_http_response *res)
{
	(void)arg;
	(void)query;
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
	res->body = malloc(board_html_len);
	res->len = board_html_len;
	if (res->body == NULL)
		text_answer(res, 503, "out of memory\n");
	else
		memcpy(res->body, board_html, board_html_len);
}

void
board_get_json(void *arg, const char *query, struct ipc_http_response *res)
{
	struct daemon *d = arg;
	(void)query;
	json_answer(res,
	            d->board != NULL ? board_document(d->board, 0) : NULL);
}

void
board_stream_hello(void *arg, const char *query, struct ipc_http_response *res)
{
	board_get_json(arg, query, res);
}

/* The value of key in a query string ("a=1&b=2"), percent-decoded into
 * out; false if absent or too long. */
static bool
query_value(const char *query, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *p = query; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&');
		size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			size_t n = 0;
			for (size_t i = klen + 1; i < len; i++) {
				unsigned c = (unsigned char)p[i];
				unsigned hi, lo;
				if (c == '%' && i + 2 < len + 0 &&
				    sscanf(p + i + 1, "%1x%1x", &hi, &lo) ==
				        2) {
					c = hi * 16 + lo;
					i += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (n + 1 >= cap)
					return false;
				out[n++] = (char)c;
			}
			out[n] = '\0';
			return true;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return false;
}

/* A query's non-negative integer (absent: def); false if malformed. */
static bool
query_size(const char *query, const char *key, size_t def, size_t max,
           size_t *out)
{
	char buf[24], *end;
	if (!query_value(query, key, buf, sizeof(buf))) {
		*out = def;
		return true;
	}
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || *end != '\0' || errno != 0 ||
	    v > max)
		return false;
	*out = (size_t)v;
	return true;
}

/* One product of a page (mu held): as a check would meet it. */
static void
page_product(struct daemon *d, int32_t i, struct ipc_board_product *p)
{
	struct breaker_decision dec;
	fxb_time since;
	breaker_product_status(d->engine, i, &dec, &since);
	bool held = dec.verdict == BREAKER_VERDICT_DENY;
	*p = (struct ipc_board_product){
	    .product = d->cfg->products[i].id,
	    .pair = d->cfg->pairs[d->cfg->products[i].pair].name,
	    .held = held,
	    .suspension = held ? visible(d, dec.suspension) : 0,
	    .rule = held ? dec.rule : NULL,
	    .until = held && dec.retry_after_ms >= 0
	                 ? breaker_now(d->engine) + dec.retry_after_ms
	                 : FXB_NEVER,
	};
}

/*
 * GET /products?suspension=ID&prefix=P&offset=N&limit=N: the products a
 * suspension holds (from the last scan, in the config's order), or every
 * product whose id starts with P (held or not), or both; limit at most
 * BOARD_PAGE_MAX.
 */
void
board_get_products(void *arg, const char *query, struct ipc_http_response *res)
{
	struct daemon *d = arg;
	struct board *b = d->board;
	char susp_s[24], prefix[BREAKER_ID_MAX + 1], *end;
	struct ipc_board_page pg = {0};
	bool by_susp =
	    query_value(query, "suspension", susp_s, sizeof(susp_s));
	bool by_prefix = query_value(query, "prefix", prefix, sizeof(prefix));
	if (by_susp) {
		errno = 0;
		long long v = strtoll(susp_s, &end, 10);
		if (susp_s[0] < '1' || susp_s[0] > '9' || *end != '\0' ||
		    errno != 0) {
			text_answer(res, 400,
			            "suspension: a suspension id (a positive "
			            "integer)\n");
			return;
		}
		pg.suspension = v;
	}
	if (!query_size(query, "offset", 0, SIZE_MAX / 2, &pg.offset) ||
	    !query_size(query, "limit", BOARD_PAGE_DEF, BOARD_PAGE_MAX,
	                &pg.limit)) {
		text_answer(res, 400,
		            "offset: a number from 0; limit: a number from 0 "
		            "to 1000\n");
		return;
	}
	if (!by_susp && !by_prefix) {
		text_answer(
		    res, 400,
		    "name a suspension (suspension=ID) or a product id "
		    "prefix (prefix=P), or both\n");
		return;
	}
	if (by_prefix)
		pg.prefix = prefix;
	struct ipc_board_product *out =
	    calloc(pg.limit > 0 ? pg.limit : 1, sizeof(*out));
	if (b == NULL || out == NULL) {
		free(out);
		text_answer(res, 503, "out of memory\n");
		return;
	}
	pg.products = out;
	size_t plen = by_prefix ? strlen(prefix) : 0;
	pthread_mutex_lock(&b->bm);
	bool ok = board_scan(b);
	pthread_mutex_lock(&d->mu);
	if (ok && board_scan_current(b, d) && by_susp) {
		/* The suspension's run of the sorted scan, filtered by the
		 * prefix if one was given. */
		size_t k = 0;
		while (k < b->ngroups &&
		       b->held[b->groups[k].head].suspension != pg.suspension)
			k++;
		for (size_t i = 0; k < b->ngroups && i < b->groups[k].n; i++) {
			int32_t pi = b->held[b->groups[k].first + i].product;
			if (plen > 0 && strncmp(d->cfg->products[pi].id,
			                        prefix, plen) != 0)
				continue;
			if (pg.total >= pg.offset && pg.n < pg.limit)
				page_product(d, pi, &out[pg.n++]);
			pg.total++;
		}
	} else if (ok && board_scan_current(b, d)) {
		for (size_t i = 0; i < d->cfg->nproducts; i++) {
			if (strncmp(d->cfg->products[i].id, prefix, plen) != 0)
				continue;
			if (pg.total >= pg.offset && pg.n < pg.limit)
				page_product(d, (int32_t)i, &out[pg.n++]);
			pg.total++;
		}
	}
	/* Built under mu: the names point into the running config. */
	char *s = ok ? ipc_reply_board_page(&pg) : NULL;
	pthread_mutex_unlock(&d->mu);
	pthread_mutex_unlock(&b->bm);
	free(out);
	json_answer(res, s);
}
