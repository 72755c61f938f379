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
	IPC_OP_COMMAND, /* a signed operator command (admin socket) */
};

/* Longest caller reference echoed back. */
#define IPC_REF_MAX 128

/* A decoded request.  Strings point into the parsed JSON and live until
 * ipc_request_free. */
struct ipc_request {
	enum ipc_op op;
	const char *ref; /* NULL if none */
	const char *product, *amount, *rate;
	const char *pair, *px, *bid, *ask;
	const char *body, *signature; /* command */
	void *root;                   /* the parsed JSON (json_t) */
};

/* Which ops a socket serves. */
enum ipc_socket {
	IPC_SOCKET_CHECK, /* check, tick, ping */
	IPC_SOCKET_ADMIN, /* status, ping */
	IPC_SOCKET_TICK,  /* tick; "op" may be omitted */
};

/*
 * ipc_request_parse decodes buf[0..len).  Checks the shape: the op for the
 * socket, required fields present, every field a string, no unknown
 * field, ref at most IPC_REF_MAX bytes.  It does not parse decimals or look
 * up ids (the daemon does, with the engine).  On error, msg says why and
 * out->ref is set if the request had a readable one; the caller still
 * calls ipc_request_free.  Errors: FXB_ERR_SYNTAX, FXB_ERR_UNKNOWN_OP,
 * FXB_ERR_MISSING, FXB_ERR_TYPE, FXB_ERR_RANGE.
 */
enum fxb_err ipc_request_parse(const char *buf, size_t len,
                               enum ipc_socket sock, struct ipc_request *out,
                               char *msg, size_t msglen);

void ipc_request_free(struct ipc_request *req);

/*
 * ipc_error_reply returns a new NUL-terminated error reply
 * {"error":{"code","name","message"},"ref"} (ref may be NULL), or NULL on
 * out of memory.  Free with free().
 */
char *ipc_error_reply(enum fxb_err code, const char *message, const char *ref);

#endif /* IPC_WIRE_H */
