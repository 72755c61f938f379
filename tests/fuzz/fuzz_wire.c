/*
 * fuzz_wire.c: libFuzzer target for the wire request parser
 * (ipc/ipc_wire.c), every op on every socket.  The first byte picks the
 * socket (check, admin, tick), the rest is the request.  ipc_request_parse
 * (the fast flat parser, then jansson) and ipc_request_parse_json
 * (jansson alone) must agree on every input, as tests/wire_test.c checks
 * on its table: the same verdict and message, and on success the same op
 * and the same bytes in every field.  A disagreement aborts; so does any
 * crash, leak or undefined behaviour (ASan, UBSan).  The error reply is
 * built too, with the request's ref, and must be valid JSON text.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_str(const char *x, const char *y)
{
	return (x == NULL) == (y == NULL) && (x == NULL || strcmp(x, y) == 0);
}

static bool
same_request(const struct ipc_request *a, const struct ipc_request *b)
{
	const char *const fa[] = {a->ref,  a->product,  a->amount, a->rate,
	                          a->pair, a->px,       a->bid,    a->ask,
	                          a->body, a->signature};
	const char *const fb[] = {b->ref,  b->product,  b->amount, b->rate,
	                          b->pair, b->px,       b->bid,    b->ask,
	                          b->body, b->signature};
	if (a->op != b->op || a->nchecks != b->nchecks)
		return false;
	for (size_t k = 0; k < sizeof(fa) / sizeof(fa[0]); k++)
		if (!same_str(fa[k], fb[k]))
			return false;
	for (size_t i = 0; i < a->nchecks; i++)
		if (!same_str(a->checks[i].product, b->checks[i].product) ||
		    !same_str(a->checks[i].amount, b->checks[i].amount) ||
		    !same_str(a->checks[i].rate, b->checks[i].rate) ||
		    !same_str(a->checks[i].ref, b->checks[i].ref))
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ipc_socket socks[] = {
	    IPC_SOCKET_CHECK, IPC_SOCKET_ADMIN, IPC_SOCKET_TICK};
	struct ipc_request a, b;
	char ma[256] = "", mb[256] = "";

	if (size < 1)
		return 0;
	enum ipc_socket sock = socks[data[0] % 3];
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;

	enum fxb_err ea =
	    ipc_request_parse(buf, len, sock, &a, ma, sizeof(ma));
	enum fxb_err eb =
	    ipc_request_parse_json(buf, len, sock, &b, mb, sizeof(mb));
	if (ea != eb || strcmp(ma, mb) != 0 ||
	    (ea == FXB_OK && !same_request(&a, &b))) {
		fprintf(stderr,
		        "fuzz_wire: the parsers disagree on %.*s:\n"
		        "  fast+json: %d %s\n  json: %d %s\n",
		        (int)len, buf, (int)ea, ma, (int)eb, mb);
		abort();
	}
	if (ea != FXB_OK) {
		char *reply = ipc_error_reply(ea, ma, a.ref);
		json_error_t jerr;
		json_t *j = reply != NULL ? json_loads(reply, 0, &jerr) : NULL;
		if (reply != NULL && j == NULL) {
			fprintf(stderr,
			        "fuzz_wire: error reply is not JSON: %s\n",
			        reply);
			abort();
		}
		json_decref(j);
		free(reply);
	}
	ipc_request_free(&a);
	ipc_request_free(&b);
	return 0;
}
