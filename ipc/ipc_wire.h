/*
 * ipc_wire.h: requests and error replies of the wire protocol
 * (docs/PROTOCOL.md), as bytes <-> structs.  jansson; no sockets.
 */
#ifndef IPC_WIRE_H
#define IPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "fxb.h"

enum ipc_op {
	IPC_OP_CHECK = 1,
	IPC_OP_TICK,
	IPC_OP_PING,
	IPC_OP_STATUS,
	IPC_OP_COMMAND,     /* a signed operator command (admin socket) */
	IPC_OP_CHECK_BATCH, /* several checks, decided in order */
};

/* Longest caller reference echoed back. */
#define IPC_REF_MAX 128

/* Most checks in one check_batch: the request stays far below the 64 KiB
 * receive cap (a check is about 100 bytes), the reply below nng's default
 * 1 MiB on the client's side even when every check is denied with a long
 * bilingual notice, and a batch holds the engine lock for a few
 * microseconds only. */
#define IPC_BATCH_MAX 64

/* One check of a batch (the fields of a single check). */
struct ipc_check {
	const char *product, *amount, *rate, *ref;
};

/* A decoded request.  Strings point into the parsed JSON (or a copy of the
 * request) and live until ipc_request_free. */
struct ipc_request {
	enum ipc_op op;
	const char *ref; /* NULL if none */
	const char *product, *amount, *rate;
	const char *pair, *px, *bid, *ask;
	const char *body, *signature; /* command */
	struct ipc_check *checks;     /* check_batch: nchecks of them */
	size_t nchecks;
	void *root;      /* the parsed JSON (json_t), or NULL: ... */
	char *text;      /* ... the strings, NUL-terminated in a copy of it */
	char small[256]; /* the copy, when the request fits */
};

/* Which ops a socket serves. */
enum ipc_socket {
	IPC_SOCKET_CHECK, /* check, check_batch, tick, ping */
	IPC_SOCKET_ADMIN, /* status, ping */
	IPC_SOCKET_TICK,  /* tick; "op" may be omitted */
};

/*
 * ipc_request_parse decodes buf[0..len).  Checks the shape: the op for the
 * socket, required fields present, every field a string, no unknown
 * field, ref at most IPC_REF_MAX bytes.  It does not parse decimals or look
 * up ids (the daemon does, with the engine).  A check_batch is checked
 * whole: 1 to IPC_BATCH_MAX objects, each shaped as a check (no "op").  On
 * error, msg says why and out->ref is set if the request had a readable one;
 * the caller still calls ipc_request_free.  Errors: FXB_ERR_SYNTAX,
 * FXB_ERR_UNKNOWN_OP, FXB_ERR_MISSING, FXB_ERR_TYPE, FXB_ERR_RANGE.
 */
enum fxb_err ipc_request_parse(const char *buf, size_t len,
                               enum ipc_socket sock, struct ipc_request *out,
                               char *msg, size_t msglen);

/* ipc_request_parse_json is the general parser alone (jansson), without
 * the fast path for flat requests that ipc_request_parse tries first; the
 * two must agree, and tests/wire_test.c checks that they do. */
enum fxb_err ipc_request_parse_json(const char *buf, size_t len,
                                    enum ipc_socket sock,
                                    struct ipc_request *out, char *msg,
                                    size_t msglen);

void ipc_request_free(struct ipc_request *req);

/*
 * ipc_error_reply returns a new NUL-terminated error reply
 * {"error":{"code","name","message"},"ref"} (ref may be NULL), or NULL on
 * out of memory.  Free with free().
 */
char *ipc_error_reply(enum fxb_err code, const char *message, const char *ref);

/* ipc_error_reply_leader is ipc_error_reply with error.leader set to
 * leader (a not_leader reply's hint: the leader's check_url), or without
 * it when leader is NULL. */
char *ipc_error_reply_leader(enum fxb_err code, const char *message,
                             const char *leader, const char *ref);

#endif /* IPC_WIRE_H */
