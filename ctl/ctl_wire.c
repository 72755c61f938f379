/*
 * ctl_wire.c: `fxbreakerctl check`, `tick`, `status` and `cluster
 * status`: requests to a
 * running fxbreakerd, at the address --url gives, else the config's
 * [service] (the rest of the file may be broken: see ctl_service).
 * --url may list a cluster's nodes, comma-separated: the request goes to
 * the first that answers other than "not the leader" (ipc_request_any
 * follows the leader a node names, within the list).  status's tables
 * are ctl_status_print.c's.
 *
 * Exit codes: 0 the service answered (whatever the decision), 1 it
 * answered with an error (bad input), 2 bad configuration, 3 usage, or no
 * answer (not running, timeout).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ipc_request.h"

struct wire_opts {
	const char *config;
	const char *url;
	const char *rate, *ref, *bid, *ask;
	const char *tls_ca, *tls_cert, *tls_key; /* for tls+tcp:// */
	bool json;
	int timeout_ms;
	const char *args[3];
	int nargs;
};

/* Parses the options every wire command shares; false (usage printed)
 * on anything unknown. */
static bool
wire_opts_parse(int argc, char **argv, struct wire_opts *o, const char *use)
{
	memset(o, 0, sizeof(*o));
	o->config = ctl_default_config();
	o->timeout_ms = 2000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--config") == 0)
			slot = &o->config;
		else if (strcmp(a, "--url") == 0)
			slot = &o->url;
		else if (strcmp(a, "--rate") == 0)
			slot = &o->rate;
		else if (strcmp(a, "--ref") == 0)
			slot = &o->ref;
		else if (strcmp(a, "--bid") == 0)
			slot = &o->bid;
		else if (strcmp(a, "--ask") == 0)
			slot = &o->ask;
		else if (strcmp(a, "--tls-ca") == 0)
			slot = &o->tls_ca;
		else if (strcmp(a, "--tls-cert") == 0)
			slot = &o->tls_cert;
		else if (strcmp(a, "--tls-key") == 0)
			slot = &o->tls_key;
		else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			o->timeout_ms = atoi(argv[++i]);
			continue;
		}
		if (slot != NULL && i + 1 < argc) {
			*slot = argv[++i];
			continue;
		}
		if (a[0] == '-' || slot != NULL || o->nargs == 3) {
			fprintf(stderr, "fxbreakerctl: %s '%s'\nusage: %s\n",
			        a[0] == '-' ? "unknown or incomplete option"
			                    : "too many arguments",
			        a, use);
			return false;
		}
		o->args[o->nargs++] = a;
	}
	return true;
}

/* The URL to use: --url, or the config's key (admin_url or check_url),
 * from its [service] alone.  false (said why, *code set) if neither. */
static bool
wire_target(const struct wire_opts *o, const char *key, struct ctl_target *t,
            int *code)
{
	t->key = key;
	t->config = NULL;
	if (o->url != NULL) {
		snprintf(t->url, sizeof(t->url), "%s", o->url);
		return true;
	}
	struct service_conf sv;
	if ((*code = ctl_service(o->config, "give --url URL", &sv)) !=
	    CTL_EXIT_OK)
		return false;
	snprintf(t->url, sizeof(t->url), "%s",
	         strcmp(key, "admin_url") == 0 ? sv.admin_url : sv.check_url);
	t->config = o->config;
	return true;
}

/* Sends req and parses the reply; prints why and returns NULL on
 * failure (*code set). */
static json_t *
wire_call_at(const struct wire_opts *o, const struct ctl_target *tp,
             json_t *req, int *code)
{
	struct ctl_target t = *tp;
	char err[2048];
	char *reply = NULL;
	ipc_request_tls(o->tls_ca, o->tls_cert, o->tls_key);
	char *text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	enum fxb_err e = text != NULL
	                     ? ipc_request_any(t.url, text, o->timeout_ms,
	                                       &reply, err, sizeof(err))
	                     : FXB_ERR_NOMEM;
	free(text);
	if (e != FXB_OK) {
		if (e == FXB_ERR_NOMEM)
			fprintf(stderr, "fxbreakerctl: out of memory\n");
		else
			ctl_unreachable(&t, err);
		*code = CTL_EXIT_USAGE;
		return NULL;
	}
	json_error_t jerr;
	json_t *r = json_loads(reply, 0, &jerr);
	if (r == NULL) {
		fprintf(stderr, "fxbreakerctl: unreadable reply: %s\n",
		        jerr.text);
		*code = CTL_EXIT_USAGE;
	}
	free(reply);
	return r;
}

static json_t *
wire_call(const struct wire_opts *o, const char *key, json_t *req, int *code)
{
	struct ctl_target t;
	if (!wire_target(o, key, &t, code))
		return NULL;
	return wire_call_at(o, &t, req, code);
}

/* An {"error": ...} reply: print it; true if it was one. */
static bool
wire_error(json_t *r, int *code)
{
	json_t *e = json_object_get(r, "error");
	if (e == NULL)
		return false;
	fprintf(stderr, "fxbreakerctl: error %lld %s: %s\n",
	        (long long)json_integer_value(json_object_get(e, "code")),
	        json_string_value(json_object_get(e, "name")),
	        json_string_value(json_object_get(e, "message")));
	*code = CTL_EXIT_DATA;
	return true;
}

static void
print_json(json_t *r)
{
	json_dumpf(r, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* A reply's customer notice, both languages, if it has one. */
static void
print_notice(json_t *n)
{
	if (n != NULL)
		printf("  notice %s\n  en: %s\n  ko: %s\n", ctl_jstr(n, "id"),
		       ctl_jstr(n, "en"), ctl_jstr(n, "ko"));
}

int
ctl_check(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl check [--config FILE | --url URL] [--json] "
	    "[--rate RATE] [--ref REF] [--tls-ca FILE [--tls-cert FILE "
	    "--tls-key FILE]] PRODUCT AMOUNT";
	struct wire_opts o;
	int code = CTL_EXIT_OK;

	if (!wire_opts_parse(argc, argv, &o, use))
		return CTL_EXIT_USAGE;
	if (o.nargs != 2) {
		fprintf(stderr, "usage: %s\n", use);
		return CTL_EXIT_USAGE;
	}
	json_t *req = json_object();
	json_object_set_new(req, "op", json_string("check"));
	json_object_set_new(req, "product", json_string(o.args[0]));
	json_object_set_new(req, "amount", json_string(o.args[1]));
	if (o.rate != NULL)
		json_object_set_new(req, "rate", json_string(o.rate));
	if (o.ref != NULL)
		json_object_set_new(req, "ref", json_string(o.ref));
	json_t *r = wire_call(&o, "check_url", req, &code);
	json_decref(req);
	if (r == NULL)
		return code;
	if (o.json)
		print_json(r);
	if (!wire_error(r, &code) && !o.json) {
		printf("%s", ctl_jstr(r, "decision"));
		if (json_object_get(r, "reason") != NULL)
			printf(": %s", ctl_jstr(r, "reason"));
		if (json_object_get(r, "rule") != NULL)
			printf(" by %s (%s)", ctl_jstr(r, "rule"),
			       ctl_jstr(r, "kind"));
		json_t *v = json_object_get(r, "suspension");
		if (v != NULL)
			printf(", suspension %lld",
			       (long long)json_integer_value(v));
		v = json_object_get(r, "retry_after_ms");
		if (v != NULL)
			printf(", retry in %.1f s",
			       (double)json_integer_value(v) / 1000.0);
		putchar('\n');
		print_notice(json_object_get(r, "notice"));
		/* A planned suspension ahead: what the customer is told. */
		json_t *u = json_object_get(r, "upcoming");
		if (u != NULL) {
			char from[40], until[40] = "lifted";
			json_t *ju = json_object_get(u, "until");
			ctl_format_time(
			    from, sizeof(from),
			    json_integer_value(json_object_get(u, "from")));
			if (ju != NULL)
				ctl_format_time(until, sizeof(until),
				                json_integer_value(ju));
			printf(
			    "  upcoming: plan %lld, suspended from %s until "
			    "%s\n",
			    (long long)json_integer_value(
			        json_object_get(u, "plan")),
			    from, until);
			print_notice(json_object_get(u, "notice"));
		}
	}
	json_decref(r);
	return code;
}

int
ctl_tick(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl tick [--config FILE | --url URL] [--tls-ca FILE "
	    "[--tls-cert FILE --tls-key FILE]] PAIR PX | PAIR --bid BID "
	    "--ask ASK";
	struct wire_opts o;
	int code = CTL_EXIT_OK;

	if (!wire_opts_parse(argc, argv, &o, use))
		return CTL_EXIT_USAGE;
	bool quote = o.bid != NULL || o.ask != NULL;
	if (o.nargs != (quote ? 1 : 2) || (quote && (!o.bid || !o.ask))) {
		fprintf(stderr, "usage: %s\n", use);
		return CTL_EXIT_USAGE;
	}
	json_t *req = json_object();
	json_object_set_new(req, "op", json_string("tick"));
	json_object_set_new(req, "pair", json_string(o.args[0]));
	if (quote) {
		json_object_set_new(req, "bid", json_string(o.bid));
		json_object_set_new(req, "ask", json_string(o.ask));
	} else {
		json_object_set_new(req, "px", json_string(o.args[1]));
	}
	/* A tick is not a decision: every node of a cluster takes it (a
	 * follower keeps its rates warm for the day it leads), so a list of
	 * URLs gets it on each, not on the first that answers. */
	struct ctl_target t;
	if (!wire_target(&o, "check_url", &t, &code)) {
		json_decref(req);
		return code;
	}
	if (strchr(t.url, ',') == NULL) {
		json_t *r = wire_call_at(&o, &t, req, &code);
		json_decref(req);
		if (r == NULL)
			return code;
		if (!wire_error(r, &code))
			printf("ok\n");
		json_decref(r);
		return code;
	}
	char *text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	char *list = strdup(t.url), *save = NULL;
	if (text == NULL || list == NULL) {
		free(text);
		free(list);
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		return CTL_EXIT_USAGE;
	}
	ipc_request_tls(o.tls_ca, o.tls_cert, o.tls_key);
	for (char *u = strtok_r(list, ",", &save); u != NULL;
	     u = strtok_r(NULL, ",", &save)) {
		char err[1024], *reply = NULL;
		if (ipc_request_once(u, text, o.timeout_ms, &reply, err,
		                     sizeof(err)) != FXB_OK) {
			printf("%s: %s\n", u, err);
			code = CTL_EXIT_USAGE;
			continue;
		}
		json_t *r = json_loads(reply, 0, NULL);
		json_t *e = r != NULL ? json_object_get(r, "error") : NULL;
		if (r == NULL || e != NULL) {
			printf("%s: error %lld %s: %s\n", u,
			       (long long)json_integer_value(
			           json_object_get(e, "code")),
			       e != NULL ? json_string_value(
			                       json_object_get(e, "name"))
			                 : "reply",
			       e != NULL ? json_string_value(
			                       json_object_get(e, "message"))
			                 : "unreadable");
			if (code == CTL_EXIT_OK)
				code = CTL_EXIT_DATA;
		} else {
			printf("%s: ok\n", u);
		}
		json_decref(r);
		free(reply);
	}
	free(text);
	free(list);
	return code;
}

/* A node's status reply, as `status` and `cluster status` ask it (use:
 * the command's usage line); NULL with *code set when there is none. */
static json_t *
status_fetch(int argc, char **argv, const char *use, struct wire_opts *o,
             int *code)
{
	*code = CTL_EXIT_OK;
	if (!wire_opts_parse(argc, argv, o, use)) {
		*code = CTL_EXIT_USAGE;
		return NULL;
	}
	if (o->nargs != 0) {
		fprintf(stderr, "usage: %s\n", use);
		*code = CTL_EXIT_USAGE;
		return NULL;
	}
	json_t *req = json_object();
	json_object_set_new(req, "op", json_string("status"));
	json_t *r = wire_call(o, "admin_url", req, code);
	json_decref(req);
	if (r != NULL && wire_error(r, code)) {
		json_decref(r);
		return NULL;
	}
	return r;
}

int
ctl_status(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl status [--config FILE | --url ADMIN_URL] [--json] "
	    "[--tls-ca FILE [--tls-cert FILE --tls-key FILE]]";
	struct wire_opts o;
	int code;
	json_t *r = status_fetch(argc, argv, use, &o, &code);
	if (r == NULL)
		return code;
	if (o.json)
		print_json(r);
	else
		ctl_status_print(r);
	json_decref(r);
	return code;
}

int
ctl_cluster_status(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl cluster status [--config FILE | --url ADMIN_URL] "
	    "[--json] [--timeout MS] [--tls-ca FILE [--tls-cert FILE "
	    "--tls-key FILE]]";
	struct wire_opts o;
	int code;
	json_t *r = status_fetch(argc, argv, use, &o, &code);
	if (r == NULL)
		return code;
	json_t *c = json_object_get(r, "cluster");
	if (o.json && c != NULL)
		print_json(c);
	else if (!ctl_cluster_print(r))
		code = CTL_EXIT_DATA;
	json_decref(r);
	return code;
}
