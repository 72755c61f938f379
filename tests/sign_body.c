/*
 * sign_body.c: signs a command body read from stdin with an operator key
 * file, exactly as fxbreakerctl signs (ctl_sign_body, the same code), and
 * prints the envelope.  The e2e tests use it to send bodies fxbreakerctl
 * never writes (an unknown field, an upper-case nonce) and to see that
 * the service refuses them.  Not installed.
 *
 *	sign_body KEYFILE <body.json
 *
 * The body's bytes are signed as read, less one trailing newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctl/ctl.h"
#include "ipc_trust.h"

int
main(int argc, char **argv)
{
	static char body[IPC_TRUST_REQUEST_MAX + 1];
	if (argc != 2) {
		fprintf(stderr, "usage: sign_body KEYFILE <body\n");
		return 3;
	}
	size_t n = fread(body, 1, sizeof(body) - 1, stdin);
	if (n > 0 && body[n - 1] == '\n')
		n--;
	body[n] = '\0';
	char *env = ctl_sign_body(argv[1], body);
	if (env == NULL)
		return 3;
	printf("%s\n", env);
	free(env);
	return 0;
}
