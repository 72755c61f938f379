/*
 * ipc_wire.c: request decoding and error replies (see ipc_wire.h).
 */
#include "ipc_wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_json.h"

struct field {
	const char *name;
	size_t off; /* offset of the const char * in struct ipc_request */
	bool required;
};

#define F(name, req)                                                          \
	{                                                                     \
#name, offsetof(struct ipc_request, name), req                \
	}

static const struct field check_fields[] = {
    F(product, true), F(amount, true),  F(rate, false),
    F(ref, false),    {NULL, 0, false},
};
static const struct field tick_fields[] = {
    F(pair, true), F(px, false),  F(bid, false),
    F(ask, false), F(ref, false), {NULL, 0, false},
};
static const struct field none_fields[] = {F(ref, false), {NULL, 0, false}};
/* The fields of one check in a batch, in struct ipc_check's order. */
static const char *const check_names[] = {"product", "amount", "rate", "ref"};
static const struct field batch_fields[] = {F(ref, false), {NULL, 0, false}};
static const struct field command_fields[] = {
    F(body, true), F(signature, true), F(ref, false), {NULL, 0, false}};

static const struct {
	const char *name;
	enum ipc_op op;
	const struct field *fields;
} ops[] = {
    {"check", IPC_OP_CHECK, check_fields},
    {"tick", IPC_OP_TICK, tick_fields},
    {"ping", IPC_OP_PING, none_fields},
    {"status", IPC_OP_STATUS, none_fields},
    {"command", IPC_OP_COMMAND, command_fields},
    {"check_batch", IPC_OP_CHECK_BATCH, batch_fields},
};

static bool
op_allowed(enum ipc_op op, enum ipc_socket sock)
{
	switch (sock) {
	case IPC_SOCKET_CHECK:
		return op == IPC_OP_CHECK || op == IPC_OP_CHECK_BATCH ||
		       op == IPC_OP_TICK || op == IPC_OP_PING;
	case IPC_SOCKET_ADMIN:
		return op == IPC_OP_STATUS || op == IPC_OP_PING ||
		       op == IPC_OP_COMMAND;
	case IPC_SOCKET_TICK:
		return op == IPC_OP_TICK;
	}
	return false;
}

static const char **
slot(struct ipc_request *r, size_t off)
{
	return (const char **)(void *)((char *)r + off);
}

/* A batch's "checks": each element shaped as a check, all or nothing. */
static enum fxb_err
parse_checks(json_t *arr, struct ipc_request *out, char *msg, size_t msglen)
{
	if (!json_is_array(arr)) {
		snprintf(msg, msglen, "\"checks\" must be an array");
		return FXB_ERR_TYPE;
	}
	size_t n = json_array_size(arr);
	if (n == 0 || n > IPC_BATCH_MAX) {
		snprintf(msg, msglen,
		         "\"checks\" holds 1 to %d checks, not %zu",
		         IPC_BATCH_MAX, n);
		return FXB_ERR_RANGE;
	}
	out->checks = calloc(n, sizeof(*out->checks));
	if (out->checks == NULL) {
		snprintf(msg, msglen, "out of memory");
		return FXB_ERR_NOMEM;
	}
	out->nchecks = n;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(arr, i), *v;
		const char *key;
		const char **f[] = {&out->checks[i].product,
		                    &out->checks[i].amount,
		                    &out->checks[i].rate, &out->checks[i].ref};
		if (!json_is_object(c)) {
			snprintf(msg, msglen, "checks[%zu]: not an object", i);
			return FXB_ERR_TYPE;
		}
		json_object_foreach(c, key, v)
		{
			size_t k = 0;
			while (k < 4 && strcmp(key, check_names[k]) != 0)
				k++;
			if (k == 4) {
				snprintf(
				    msg, msglen,
				    "checks[%zu]: unknown field \"%.64s\"", i,
				    key);
				return FXB_ERR_SYNTAX;
			}
			if (!json_is_string(v)) {
				snprintf(
				    msg, msglen,
				    "checks[%zu]: \"%s\" must be a string", i,
				    key);
				return FXB_ERR_TYPE;
			}
			if (k == 3 && json_string_length(v) > IPC_REF_MAX) {
				snprintf(
				    msg, msglen,
				    "checks[%zu]: \"ref\" is longer than %d "
				    "bytes",
				    i, IPC_REF_MAX);
				return FXB_ERR_RANGE;
			}
			*f[k] = json_string_value(v);
		}
		if (out->checks[i].product == NULL ||
		    out->checks[i].amount == NULL) {
			snprintf(msg, msglen, "checks[%zu]: \"%s\" is missing",
			         i,
			         out->checks[i].product == NULL ? "product"
			                                        : "amount");
			return FXB_ERR_MISSING;
		}
	}
	return FXB_OK;
}

/* ---- the fast path ----
 *
 * Nearly every request is a flat object of plain strings: a check or a
 * tick.  fast_parse decodes exactly that shape without jansson (no
 * allocation for a request that fits in small[]) and gives up, returning
 * false, on anything else -- an escape, a number, a nested value, a
 * duplicate or unknown key, bytes that are not UTF-8, any error at all --
 * so that the general parser below decides, and words, every refusal.
 * What it accepts, jansson would accept with the same meaning.
 */

static size_t
skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n &&
	       (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

/* A plain string at t[i] ('"' ... '"'), NUL-terminated in place; its
 * start, or NULL to give up.  *i moves past it. */
static char *
plain_string(char *t, size_t *i, size_t n)
{
	if (*i >= n || t[*i] != '"')
		return NULL;
	size_t j = *i + 1, start = j;
	while (j < n && t[j] != '"') {
		unsigned char c = (unsigned char)t[j];
		if (c == '\\' || c < 0x20)
			return NULL;
		size_t l = ipc_utf8_len((const unsigned char *)t + j, n - j);
		if (l == 0)
			return NULL;
		j += l;
	}
	if (j >= n)
		return NULL;
	t[j] = '\0';
	*i = j + 1;
	return t + start;
}

#define FAST_KEYS 8

static bool check_array(char *t, size_t *i, size_t n, struct ipc_request *out);

/*
 * flat_object reads {"key":"value",...} at t[*i] into key[], val[] (at
 * most max members, no key twice).  With batch non-NULL, one member may
 * be "checks" with an array of such objects (check_array): it goes into
 * batch, not into key[].  false to give up.
 */
static bool
flat_object(char *t, size_t *i, size_t n, const char **key, const char **val,
            size_t *nk, size_t max, struct ipc_request *batch)
{
	*nk = 0;
	*i = skip_ws(t, *i, n);
	if (*i >= n || t[(*i)++] != '{')
		return false;
	for (;;) {
		const char *k;
		*i = skip_ws(t, *i, n);
		if ((k = plain_string(t, i, n)) == NULL)
			return false;
		*i = skip_ws(t, *i, n);
		if (*i >= n || t[(*i)++] != ':')
			return false;
		*i = skip_ws(t, *i, n);
		if (batch != NULL && *i < n && t[*i] == '[' &&
		    strcmp(k, "checks") == 0 && batch->checks == NULL) {
			if (!check_array(t, i, n, batch))
				return false;
		} else {
			if (*nk == max)
				return false;
			key[*nk] = k;
			if ((val[*nk] = plain_string(t, i, n)) == NULL)
				return false;
			for (size_t j = 0; j < *nk; j++)
				if (strcmp(key[j], k) == 0)
					return false;
			(*nk)++;
		}
		*i = skip_ws(t, *i, n);
		if (*i < n && t[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < n && t[*i] == '}') {
			(*i)++;
			return true;
		}
		return false;
	}
}

/* A batch's "checks": 1 to IPC_BATCH_MAX flat objects, each a check. */
static bool
check_array(char *t, size_t *i, size_t n, struct ipc_request *out)
{
	if ((out->checks = calloc(IPC_BATCH_MAX, sizeof(*out->checks))) ==
	    NULL)
		return false;
	(*i)++; /* '[' */
	for (;;) {
		const char *key[4], *val[4];
		size_t nk;
		if (out->nchecks == IPC_BATCH_MAX ||
		    !flat_object(t, i, n, key, val, &nk, 4, NULL))
			return false;
		struct ipc_check *c = &out->checks[out->nchecks++];
		const char **f[] = {&c->product, &c->amount, &c->rate,
		                    &c->ref};
		for (size_t k = 0; k < nk; k++) {
			size_t m = 0;
			while (m < 4 && strcmp(key[k], check_names[m]) != 0)
				m++;
			if (m == 4)
				return false;
			*f[m] = val[k];
		}
		if (c->product == NULL || c->amount == NULL ||
		    (c->ref != NULL && strlen(c->ref) > IPC_REF_MAX))
			return false;
		*i = skip_ws(t, *i, n);
		if (*i < n && t[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < n && t[*i] == ']') {
			(*i)++;
			return true;
		}
		return false;
	}
}

static bool
fast_parse(const char *buf, size_t len, enum ipc_socket sock,
           struct ipc_request *out)
{
	const char *key[FAST_KEYS], *val[FAST_KEYS];
	size_t nk = 0, i = 0;
	char *t;

	if (len < sizeof(out->small)) {
		t = out->small;
	} else if ((t = malloc(len + 1)) != NULL) {
		out->text = t;
	} else {
		return false;
	}
	memcpy(t, buf, len);
	t[len] = '\0';
	if (!flat_object(t, &i, len, key, val, &nk, FAST_KEYS, out) ||
	    skip_ws(t, i, len) != len)
		return false;

	const char *opname = sock == IPC_SOCKET_TICK ? "tick" : NULL;
	size_t op;
	for (size_t k = 0; k < nk; k++)
		if (strcmp(key[k], "op") == 0)
			opname = val[k];
	for (op = 0; opname != NULL && op < sizeof(ops) / sizeof(ops[0]); op++)
		if (strcmp(opname, ops[op].name) == 0)
			break;
	if (opname == NULL || op == sizeof(ops) / sizeof(ops[0]) ||
	    !op_allowed(ops[op].op, sock) ||
	    (ops[op].op == IPC_OP_CHECK_BATCH) != (out->checks != NULL))
		return false;
	out->op = ops[op].op;
	for (size_t k = 0; k < nk; k++) {
		const struct field *f;
		if (strcmp(key[k], "op") == 0)
			continue;
		for (f = ops[op].fields; f->name != NULL; f++)
			if (strcmp(key[k], f->name) == 0)
				break;
		if (f->name == NULL)
			return false;
		*slot(out, f->off) = val[k];
	}
	for (const struct field *f = ops[op].fields; f->name != NULL; f++)
		if (f->required && *slot(out, f->off) == NULL)
			return false;
	if (out->ref != NULL && strlen(out->ref) > IPC_REF_MAX)
		return false;
	if (out->op == IPC_OP_TICK &&
	    !((out->px != NULL && out->bid == NULL && out->ask == NULL) ||
	      (out->px == NULL && out->bid != NULL && out->ask != NULL)))
		return false;
	return true;
}

enum fxb_err
ipc_request_parse(const char *buf, size_t len, enum ipc_socket sock,
                  struct ipc_request *out, char *msg, size_t msglen)
{
	memset(out, 0, offsetof(struct ipc_request, small));
	if (fast_parse(buf, len, sock, out))
		return FXB_OK;
	free(out->text);
	free(out->checks);
	return ipc_request_parse_json(buf, len, sock, out, msg, msglen);
}

/* The reference, read first so that every later error can echo it. */
static enum fxb_err
parse_ref(json_t *root, struct ipc_request *out, char *msg, size_t msglen)
{
	json_t *v = json_object_get(root, "ref");
	if (v == NULL)
		return FXB_OK;
	if (!json_is_string(v)) {
		snprintf(msg, msglen, "\"ref\" must be a string");
		return FXB_ERR_TYPE;
	}
	if (json_string_length(v) > IPC_REF_MAX) {
		snprintf(msg, msglen, "\"ref\" is longer than %d bytes",
		         IPC_REF_MAX);
		return FXB_ERR_RANGE;
	}
	out->ref = json_string_value(v);
	return FXB_OK;
}

/* The op, one of ops[] that sock serves (a tick socket's default is
 * tick); *k gets its index. */
static enum fxb_err
parse_op(json_t *root, enum ipc_socket sock, size_t *k, char *msg,
         size_t msglen)
{
	json_t *v = json_object_get(root, "op");
	const char *opname =
	    v != NULL && json_is_string(v) ? json_string_value(v) : NULL;
	if (v == NULL && sock == IPC_SOCKET_TICK)
		opname = "tick";
	for (*k = 0; opname != NULL && *k < sizeof(ops) / sizeof(ops[0]);
	     (*k)++)
		if (strcmp(opname, ops[*k].name) == 0)
			break;
	if (opname == NULL || *k == sizeof(ops) / sizeof(ops[0]) ||
	    !op_allowed(ops[*k].op, sock)) {
		snprintf(msg, msglen, "%s%s%s",
		         opname == NULL ? "\"op\" missing or not a string"
		                        : "unknown op \"",
		         opname != NULL ? opname : "",
		         opname != NULL ? "\" on this socket" : "");
		return FXB_ERR_UNKNOWN_OP;
	}
	return FXB_OK;
}

/* Every other field: one the op takes, a string (a batch's checks are
 * parse_checks'), then the ones it needs. */
static enum fxb_err
parse_fields(json_t *root, size_t k, struct ipc_request *out, char *msg,
             size_t msglen)
{
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		const struct field *f;
		if (strcmp(key, "op") == 0 || strcmp(key, "ref") == 0)
			continue;
		if (out->op == IPC_OP_CHECK_BATCH &&
		    strcmp(key, "checks") == 0) {
			enum fxb_err e = parse_checks(v, out, msg, msglen);
			if (e != FXB_OK)
				return e;
			continue;
		}
		for (f = ops[k].fields; f->name != NULL; f++)
			if (strcmp(key, f->name) == 0)
				break;
		if (f->name == NULL) {
			snprintf(msg, msglen, "unknown field \"%.64s\"", key);
			return FXB_ERR_SYNTAX;
		}
		if (!json_is_string(v)) {
			snprintf(msg, msglen, "\"%s\" must be a string%s", key,
			         json_is_number(v) ? " (decimals are strings: "
			                             "\"100.00\")"
			                           : "");
			return FXB_ERR_TYPE;
		}
		*slot(out, f->off) = json_string_value(v);
	}
	for (const struct field *f = ops[k].fields; f->name != NULL; f++)
		if (f->required && *slot(out, f->off) == NULL) {
			snprintf(msg, msglen, "\"%s\" is missing", f->name);
			return FXB_ERR_MISSING;
		}
	return FXB_OK;
}

enum fxb_err
ipc_request_parse_json(const char *buf, size_t len, enum ipc_socket sock,
                       struct ipc_request *out, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *root;
	size_t k;
	enum fxb_err e;

	memset(out, 0, offsetof(struct ipc_request, small));
	if (len == 0) {
		snprintf(msg, msglen, "empty message");
		return FXB_ERR_SYNTAX;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(msg, msglen, "not JSON: %s", jerr.text);
		return FXB_ERR_SYNTAX;
	}
	out->root = root;
	if (!json_is_object(root)) {
		snprintf(msg, msglen, "a request is a JSON object");
		return FXB_ERR_SYNTAX;
	}
	if ((e = parse_ref(root, out, msg, msglen)) != FXB_OK ||
	    (e = parse_op(root, sock, &k, msg, msglen)) != FXB_OK)
		return e;
	out->op = ops[k].op;
	if ((e = parse_fields(root, k, out, msg, msglen)) != FXB_OK)
		return e;
	if (out->op == IPC_OP_CHECK_BATCH && out->checks == NULL) {
		snprintf(msg, msglen, "\"checks\" is missing");
		return FXB_ERR_MISSING;
	}
	if (out->op == IPC_OP_TICK &&
	    !((out->px != NULL && out->bid == NULL && out->ask == NULL) ||
	      (out->px == NULL && out->bid != NULL && out->ask != NULL))) {
		snprintf(msg, msglen, "a tick has px, or bid and ask");
		return FXB_ERR_MISSING;
	}
	return FXB_OK;
}

void
ipc_request_free(struct ipc_request *req)
{
	json_decref(req->root);
	req->root = NULL;
	free(req->checks);
	req->checks = NULL;
	free(req->text);
	req->text = NULL;
}

char *
ipc_error_reply_leader(enum fxb_err code, const char *message,
                       const char *leader, const char *ref)
{
	json_t *o = json_object(), *e = json_object();
	char *s = NULL;
	if (o != NULL && e != NULL &&
	    json_object_set_new(e, "code", json_integer(code)) == 0 &&
	    json_object_set_new(e, "name", json_string(fxb_errname(code))) ==
	        0 &&
	    json_object_set_new(e, "message", ipc_json_text(message)) == 0 &&
	    (leader == NULL ||
	     json_object_set_new(e, "leader", ipc_json_text(leader)) == 0) &&
	    json_object_set(o, "error", e) == 0 &&
	    (ref == NULL ||
	     json_object_set_new(o, "ref", json_string(ref)) == 0))
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(e);
	json_decref(o);
	return s;
}

char *
ipc_error_reply(enum fxb_err code, const char *message, const char *ref)
{
	return ipc_error_reply_leader(code, message, NULL, ref);
}
