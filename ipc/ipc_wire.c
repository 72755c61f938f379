/*
 * ipc_wire.c: request decoding and error replies (see ipc_wire.h).
 */
#include "ipc_wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	static const char *const names[] = {"product", "amount", "rate",
	                                    "ref"};
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
			while (k < 4 && strcmp(key, names[k]) != 0)
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

enum fxb_err
ipc_request_parse(const char *buf, size_t len, enum ipc_socket sock,
                  struct ipc_request *out, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	size_t k;

	memset(out, 0, sizeof(*out));
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
	/* The reference first, so that every later error can echo it. */
	v = json_object_get(root, "ref");
	if (v != NULL) {
		if (!json_is_string(v)) {
			snprintf(msg, msglen, "\"ref\" must be a string");
			return FXB_ERR_TYPE;
		}
		if (json_string_length(v) > IPC_REF_MAX) {
			snprintf(msg, msglen,
			         "\"ref\" is longer than %d bytes",
			         IPC_REF_MAX);
			return FXB_ERR_RANGE;
		}
		out->ref = json_string_value(v);
	}
	v = json_object_get(root, "op");
	const char *opname =
	    v != NULL && json_is_string(v) ? json_string_value(v) : NULL;
	if (v == NULL && sock == IPC_SOCKET_TICK)
		opname = "tick";
	for (k = 0; opname != NULL && k < sizeof(ops) / sizeof(ops[0]); k++)
		if (strcmp(opname, ops[k].name) == 0)
			break;
	if (opname == NULL || k == sizeof(ops) / sizeof(ops[0]) ||
	    !op_allowed(ops[k].op, sock)) {
		snprintf(msg, msglen, "%s%s%s",
		         opname == NULL ? "\"op\" missing or not a string"
		                        : "unknown op \"",
		         opname != NULL ? opname : "",
		         opname != NULL ? "\" on this socket" : "");
		return FXB_ERR_UNKNOWN_OP;
	}
	out->op = ops[k].op;
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
}

char *
ipc_error_reply(enum fxb_err code, const char *message, const char *ref)
{
	json_t *o = json_object(), *e = json_object();
	char *s = NULL;
	if (o != NULL && e != NULL &&
	    json_object_set_new(e, "code", json_integer(code)) == 0 &&
	    json_object_set_new(e, "name", json_string(fxb_errname(code))) ==
	        0 &&
	    json_object_set_new(e, "message", json_string(message)) == 0 &&
	    json_object_set(o, "error", e) == 0 &&
	    (ref == NULL ||
	     json_object_set_new(o, "ref", json_string(ref)) == 0))
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(e);
	json_decref(o);
	return s;
}
