/*
 * ctl_wire.c: `fxbreakerctl check`, `tick` and `status`: requests to a
 * running fxbreakerd, at the address --url gives, else the config's
 * [service] (the rest of the file may be broken: see ctl_service).
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
wire_call(const struct wire_opts *o, const char *key, json_t *req, int *code)
{
	struct ctl_target t;
	char err[512];
	char *reply = NULL;
	if (!wire_target(o, key, &t, code))
		return NULL;
	char *text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	enum fxb_err e = text != NULL
	                     ? ipc_request_once(t.url, text, o->timeout_ms,
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

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

int
ctl_check(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl check [--config FILE | --url URL] [--json] "
	    "[--rate RATE] [--ref REF] PRODUCT AMOUNT";
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
		printf("%s", str(r, "decision"));
		if (json_object_get(r, "reason") != NULL)
			printf(": %s", str(r, "reason"));
		if (json_object_get(r, "rule") != NULL)
			printf(" by %s (%s)", str(r, "rule"), str(r, "kind"));
		json_t *v = json_object_get(r, "suspension");
		if (v != NULL)
			printf(", suspension %lld",
			       (long long)json_integer_value(v));
		v = json_object_get(r, "retry_after_ms");
		if (v != NULL)
			printf(", retry in %.1f s",
			       (double)json_integer_value(v) / 1000.0);
		putchar('\n');
		json_t *n = json_object_get(r, "notice");
		if (n != NULL)
			printf("  notice %s\n  en: %s\n  ko: %s\n",
			       str(n, "id"), str(n, "en"), str(n, "ko"));
	}
	json_decref(r);
	return code;
}

int
ctl_tick(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl tick [--config FILE | --url URL] PAIR PX | "
	    "PAIR --bid BID --ask ASK";
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
	json_t *r = wire_call(&o, "check_url", req, &code);
	json_decref(req);
	if (r == NULL)
		return code;
	if (!wire_error(r, &code))
		printf("ok\n");
	json_decref(r);
	return code;
}

/* One line when the wall clock is off the service's (stepped since
 * start, or behind the log at start); nothing otherwise. */
static void
status_clock(json_t *c)
{
	json_int_t steps = json_integer_value(json_object_get(c, "steps"));
	json_t *behind = json_object_get(c, "started_behind_ms");
	json_t *last = json_object_get(c, "last_step");
	if (steps == 0 && behind == NULL)
		return;
	printf("clock: the wall clock is %+lld ms from the service's clock",
	       (long long)json_integer_value(json_object_get(c, "offset_ms")));
	if (last != NULL)
		printf("; %lld step%s, the last %s by %lld ms",
		       (long long)steps, steps == 1 ? "" : "s",
		       str(last, "direction"),
		       (long long)json_integer_value(
		           json_object_get(last, "size_ms")));
	if (behind != NULL)
		printf("; %lld ms behind the log at start",
		       (long long)json_integer_value(behind));
	printf("\n\n");
}

/* An operator's text: control characters would act on the reader's
 * terminal, so they are shown, not sent. */
static void
put_text(const char *s)
{
	for (const char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			printf("\\x%02x", (unsigned)*c);
		else
			putchar(*c);
}

/* A force's internal side: why (the operator's words, "... (by NAME)")
 * and which notice customers read instead. */
static void
put_force_notes(json_t *f)
{
	if (json_object_get(f, "operator_reason") == NULL)
		return;
	printf("%-28s forced: ", "");
	put_text(str(f, "operator_reason"));
	if (json_object_get(f, "notice") != NULL)
		printf("; customers see notice %s", str(f, "notice"));
	putchar('\n');
}

static void
status_table(json_t *r)
{
	char t1[40], t2[40];
	json_t *lg = json_object_get(r, "ledger"), *v;
	size_t i;

	printf("%s at %s; ledger %s (committed %lld, queued %lld)%s%s\n\n",
	       str(r, "service_id"),
	       ctl_format_time(t1, sizeof(t1),
	                       json_integer_value(json_object_get(r, "now"))),
	       str(lg, "state"),
	       (long long)json_integer_value(
	           json_object_get(lg, "committed_seq")),
	       (long long)json_integer_value(json_object_get(lg, "queued")),
	       json_object_get(lg, "last_error") != NULL ? ": " : "",
	       str(lg, "last_error"));
	status_clock(json_object_get(r, "clock"));
	/* The watchdog's finding: core banking's checks time out. */
	json_t *cs = json_object_get(r, "check_socket");
	if (strcmp(str(cs, "state"), "silent") == 0)
		printf(
		    "check socket SILENT since %s (last answer %s): %s\n\n",
		    ctl_format_time(
		        t1, sizeof(t1),
		        json_integer_value(json_object_get(cs, "since"))),
		    json_is_integer(json_object_get(cs, "last_answer"))
		        ? ctl_format_time(t2, sizeof(t2),
		                          json_integer_value(json_object_get(
		                              cs, "last_answer")))
		        : "never",
		    str(cs, "error"));
	printf("%-8s %-9s %s\n", "PAIR", "STATE", "HELD BY");
	json_array_foreach(json_object_get(r, "pairs"), i, v)
	{
		size_t k;
		json_t *h;
		printf("%-8s %-9s", str(v, "pair"), str(v, "state"));
		json_array_foreach(json_object_get(v, "held_by"), k, h)
		{
			printf("%s%s (%s%s%s)", k > 0 ? ", " : " ",
			       json_object_get(h, "rule") != NULL
			           ? str(h, "rule")
			           : "forced",
			       str(h, "kind"),
			       json_object_get(h, "state") != NULL ? ", " : "",
			       str(h, "state"));
		}
		putchar('\n');
		json_array_foreach(json_object_get(v, "held_by"), k, h)
		{
			put_force_notes(h);
		}
	}
	putchar('\n');
	printf("%-28s %-8s %-9s %-30s %6s  %-24s %s\n", "PRODUCT", "PAIR",
	       "STATE", "HELD BY", "SUSP", "SINCE", "UNTIL");
	json_array_foreach(json_object_get(r, "products"), i, v)
	{
		char held[64] = "", susp[24] = "";
		if (json_object_get(v, "rule") != NULL)
			snprintf(held, sizeof(held), "%s (%s)", str(v, "rule"),
			         str(v, "kind"));
		else if (json_object_get(v, "reason") != NULL)
			snprintf(held, sizeof(held), "%s", str(v, "reason"));
		if (json_object_get(v, "suspension") != NULL)
			snprintf(susp, sizeof(susp), "%lld",
			         (long long)json_integer_value(
			             json_object_get(v, "suspension")));
		bool held_now = json_object_get(v, "since") != NULL;
		printf(
		    "%-28s %-8s %-9s %-30s %6s  %-24s %s\n", str(v, "product"),
		    str(v, "pair"), str(v, "state"), held, susp,
		    held_now
		        ? ctl_format_time(
		              t1, sizeof(t1),
		              json_integer_value(json_object_get(v, "since")))
		        : "",
		    json_object_get(v, "until") != NULL
		        ? ctl_format_time(
		              t2, sizeof(t2),
		              json_integer_value(json_object_get(v, "until")))
		    : held_now && strcmp(str(v, "reason"), "forced") == 0
		        ? "(an operator's lift)"
		    : held_now ? "(operator or tick)"
		               : "");
		put_force_notes(v);
		/* Forces behind the one quoted: lifting that one alone
		 * would not reopen it. */
		size_t k;
		json_t *f;
		json_array_foreach(json_object_get(v, "also_forced"), k, f)
		{
			printf("%-28s also forced (%s): suspension %lld%s%s\n",
			       "", str(f, "scope"),
			       (long long)json_integer_value(
			           json_object_get(f, "suspension")),
			       json_object_get(f, "until") != NULL ? " until "
			                                           : "",
			       json_object_get(f, "until") != NULL
			           ? ctl_format_time(
			                 t2, sizeof(t2),
			                 json_integer_value(
			                     json_object_get(f, "until")))
			           : "");
		}
	}
	printf("\n%-28s %-10s %-8s %-19s %6s  %s\n", "RULE", "KIND", "MODE",
	       "STATE", "SUSP", "UNTIL");
	json_array_foreach(json_object_get(r, "rules"), i, v)
	{
		char susp[24] = "";
		if (json_object_get(v, "suspension") != NULL)
			snprintf(susp, sizeof(susp), "%lld",
			         (long long)json_integer_value(
			             json_object_get(v, "suspension")));
		printf("%-28s %-10s %-8s %-19s %6s  %s%s\n", str(v, "rule"),
		       str(v, "kind"), str(v, "mode"), str(v, "state"), susp,
		       json_object_get(v, "until") != NULL
		           ? ctl_format_time(t1, sizeof(t1),
		                             json_integer_value(
		                                 json_object_get(v, "until")))
		           : "",
		       json_is_true(json_object_get(v, "latched")) ? " LATCHED"
		                                                   : "");
		/* A trip level changed by command, not as the file says. */
		const char *k;
		json_t *cv;
		json_object_foreach(json_object_get(v, "changed"), k, cv)
		{
			printf("%-28s changed by command: %s = %s\n", "", k,
			       json_string_value(cv));
		}
	}
	json_t *edits = json_object_get(r, "notices_changed");
	if (json_array_size(edits) > 0)
		printf("\nNOTICE TEXTS CHANGED BY COMMAND\n");
	json_array_foreach(edits, i, v)
	{
		/* An operator's text: control characters would act on the
		 * reader's terminal, so they are shown, not sent. */
		printf("%-28s %-2s ", str(v, "notice"), str(v, "lang"));
		put_text(str(v, "text"));
		putchar('\n');
	}
}

int
ctl_status(int argc, char **argv)
{
	static const char use[] =
	    "fxbreakerctl status [--config FILE | --url ADMIN_URL] [--json]";
	struct wire_opts o;
	int code = CTL_EXIT_OK;

	if (!wire_opts_parse(argc, argv, &o, use))
		return CTL_EXIT_USAGE;
	if (o.nargs != 0) {
		fprintf(stderr, "usage: %s\n", use);
		return CTL_EXIT_USAGE;
	}
	json_t *req = json_object();
	json_object_set_new(req, "op", json_string("status"));
	json_t *r = wire_call(&o, "admin_url", req, &code);
	json_decref(req);
	if (r == NULL)
		return code;
	if (!wire_error(r, &code)) {
		if (o.json)
			print_json(r);
		else
			status_table(r);
	}
	json_decref(r);
	return code;
}
