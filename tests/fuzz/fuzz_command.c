/*
 * fuzz_command.c: libFuzzer target for a signed operator command as the
 * admin socket receives it (docs/PROTOCOL.md, "Signed commands"): the
 * envelope {"op":"command","body":...,"signature":...} through the wire
 * parser, then its body through commands_body_parse (daemon/command.c),
 * the same function the daemon calls before it looks at any operator or
 * signature.  The first byte picks what the rest is: even, a whole
 * envelope; odd, a body alone (a body inside an envelope is a JSON string,
 * which the fuzzer rarely gets right, so bodies are also fed raw).  A
 * parsed body must hold every field with its type; any crash, leak or
 * undefined behaviour aborts (ASan, UBSan).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "ipc_trust.h"
#include "ipc_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
body(const char *text)
{
	const char *service, *opid, *nonce, *cmd;
	json_int_t issued, expires;
	json_t *args;
	char msg[256] = "";
	json_t *b =
	    commands_body_parse(text, &service, &opid, &issued, &expires,
	                        &nonce, &cmd, &args, msg, sizeof(msg));
	if (b == NULL) {
		if (strncmp(msg, "body: ", 6) != 0) {
			fprintf(stderr,
			        "fuzz_command: refused without a "
			        "message: %s\n",
			        text);
			abort();
		}
		return;
	}
	/* What commands_handle relies on once the parse said yes. */
	if (service == NULL || opid == NULL || nonce == NULL || cmd == NULL ||
	    !ipc_trust_nonce_ok(nonce) || !json_is_object(args)) {
		fprintf(stderr,
		        "fuzz_command: accepted a body without its "
		        "fields: %s\n",
		        text);
		abort();
	}
	json_decref(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;

	if (data[0] % 2 == 1) {
		/* A body is a C string by the time the daemon parses it. */
		char *text = malloc(len + 1);
		if (text == NULL)
			return 0;
		memcpy(text, buf, len);
		text[len] = '\0';
		body(text);
		free(text);
		return 0;
	}
	struct ipc_request r;
	char msg[256];
	if (ipc_request_parse(buf, len, IPC_SOCKET_ADMIN, &r, msg,
	                      sizeof(msg)) == FXB_OK &&
	    r.op == IPC_OP_COMMAND) {
		if (r.body == NULL || r.signature == NULL) {
			fprintf(stderr, "fuzz_command: a command without body "
			                "or signature passed the parser\n");
			abort();
		}
		body(r.body);
	}
	ipc_request_free(&r);
	return 0;
}
