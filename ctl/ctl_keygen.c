/*
 * ctl_keygen.c: `fxbreakerctl keygen`: a new operator key file (its
 * format: ctl_key.c), sealed under a new passphrase unless
 * --no-passphrase, and the line to add to the operators file.  The file
 * is created only once the key is ready and never over another: an
 * interrupted prompt leaves nothing behind, and an old key is never
 * lost.
 *
 * Exit codes: 0 written, 3 usage or I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ipc_trust.h"

/* A new key pair for name in *k and s, sealed under a passphrase asked
 * twice unless plain, and its file's text in s->file.  0, or -1 with the
 * reason printed. */
static int
keygen_make(const char *name, bool plain, struct ctl_key *k,
            struct ctl_secret *s)
{
	ctl_key_new(name, k, s);
	if (!plain) {
		char prompt[IPC_TRUST_NAME_MAX + 64];
		snprintf(prompt, sizeof(prompt),
		         "New passphrase for %s: ", name);
		if (ctl_passphrase_get(s, prompt, true) != 0)
			return -1;
		if (s->pass[0] == '\0') {
			fprintf(stderr,
			        "fxbreakerctl: empty passphrase (a key "
			        "without one: --no-passphrase)\n");
			return -1;
		}
		if (ctl_key_seal(k, s) != 0)
			return -1;
	}
	ctl_key_format(k, s);
	return 0;
}

int
ctl_keygen(int argc, char **argv)
{
	static const char use[] = "usage: fxbreakerctl keygen --name NAME "
	                          "--out FILE [--no-passphrase]";
	const char *name = NULL, *out = NULL;
	bool plain = false;
	int code = CTL_EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--no-passphrase") == 0)
			plain = true;
		else {
			fprintf(stderr, "%s\n", use);
			return CTL_EXIT_USAGE;
		}
	}
	if (name == NULL || out == NULL) {
		fprintf(stderr, "%s\n", use);
		return CTL_EXIT_USAGE;
	}
	if (!ipc_trust_name_ok(name)) {
		fprintf(stderr,
		        "fxbreakerctl: --name: " IPC_TRUST_NAME_RULE "\n");
		return CTL_EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "fxbreakerctl: libsodium failed to start\n");
		return CTL_EXIT_USAGE;
	}
	/* A refusal before any passphrase is typed; O_EXCL below is what
	 * guarantees it. */
	if (access(out, F_OK) == 0) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", out,
		        strerror(EEXIST));
		return CTL_EXIT_USAGE;
	}
	struct ctl_secret *s = ctl_secret_new();
	struct ctl_key k;
	int fd = -1;
	if (s == NULL || keygen_make(name, plain, &k, s) != 0)
		goto out;
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", out,
		        strerror(errno));
		goto out;
	}
	size_t len = strlen(s->file);
	if (write(fd, s->file, len) != (ssize_t)len || fsync(fd) != 0) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", out,
		        strerror(errno));
		goto out;
	}
	char pk[2 * IPC_TRUST_PK_LEN + 1];
	sodium_bin2hex(pk, sizeof(pk), k.pk, IPC_TRUST_PK_LEN);
	printf("# key id %s\n%s suspend,reset,approve %s\n", k.id, name, pk);
	code = CTL_EXIT_OK;
out:
	ctl_secret_free(s);
	if (fd >= 0) { /* ours: complete, or removed */
		if (close(fd) != 0 && code == CTL_EXIT_OK) {
			fprintf(stderr, "fxbreakerctl: %s: %s\n", out,
			        strerror(errno));
			code = CTL_EXIT_USAGE;
		}
		if (code != CTL_EXIT_OK)
			unlink(out);
	}
	return code;
}
