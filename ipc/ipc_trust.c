/*
 * ipc_trust.c: the trust rules of the admin protocol (ipc_trust.h), on
 * libsodium.  Every function here is what the service and fxbreakerctl
 * must agree on byte for byte; nothing here reads a clock or keeps state.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_trust.h"

_Static_assert(IPC_TRUST_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(IPC_TRUST_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(IPC_TRUST_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(IPC_TRUST_SIG_B64_SIZE ==
                   sodium_base64_ENCODED_LEN(IPC_TRUST_SIG_LEN,
                                             sodium_base64_VARIANT_ORIGINAL),
               "base64 signature size");

/* IPC_TRUST_DOMAIN then body, in a new buffer (free with free()); NULL on
 * out of memory.  Ed25519 hashes the whole message twice, so it cannot
 * be fed in pieces: the bytes must sit together. */
static unsigned char *
signed_bytes(const char *body, size_t len, size_t *mlen)
{
	static const char domain[] = IPC_TRUST_DOMAIN;
	const size_t dlen = sizeof(domain) - 1;
	unsigned char *m = malloc(dlen + len);
	if (m == NULL)
		return NULL;
	memcpy(m, domain, dlen);
	memcpy(m + dlen, body, len);
	*mlen = dlen + len;
	return m;
}

enum fxb_err
ipc_trust_sign(const char *body, size_t len,
               const unsigned char sk[IPC_TRUST_SK_LEN],
               char b64[IPC_TRUST_SIG_B64_SIZE])
{
	unsigned char sig[IPC_TRUST_SIG_LEN];
	size_t mlen = 0;
	unsigned char *m = signed_bytes(body, len, &mlen);
	if (m == NULL)
		return FXB_ERR_NOMEM;
	crypto_sign_detached(sig, NULL, m, mlen, sk);
	free(m);
	sodium_bin2base64(b64, IPC_TRUST_SIG_B64_SIZE, sig, sizeof(sig),
	                  sodium_base64_VARIANT_ORIGINAL);
	return FXB_OK;
}

bool
ipc_trust_verify(const char *body, size_t len, const char *sig_b64,
                 const unsigned char pk[IPC_TRUST_PK_LEN])
{
	unsigned char sig[IPC_TRUST_SIG_LEN];
	size_t got = 0, mlen = 0;
	/* No end pointer: libsodium then refuses anything after the
	 * base64, so that one signature has one spelling. */
	if (sodium_base642bin(sig, sizeof(sig), sig_b64, strlen(sig_b64), NULL,
	                      &got, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != sizeof(sig))
		return false;
	unsigned char *m = signed_bytes(body, len, &mlen);
	if (m == NULL)
		return false;
	bool ok = crypto_sign_verify_detached(sig, m, mlen, pk) == 0;
	free(m);
	return ok;
}

void
ipc_trust_key_id(const unsigned char pk[IPC_TRUST_PK_LEN],
                 char out[IPC_TRUST_KEY_ID_SIZE])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), pk, IPC_TRUST_PK_LEN, NULL, 0);
	sodium_bin2hex(out, IPC_TRUST_KEY_ID_SIZE, h,
	               (IPC_TRUST_KEY_ID_SIZE - 1) / 2);
}

bool
ipc_trust_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IPC_TRUST_NAME_MAX)
		return false;
	/* By range, not isalnum: the locale must not widen the set. */
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

bool
ipc_trust_nonce_ok(const char *s)
{
	size_t len = strspn(s, "0123456789abcdef");
	return len == IPC_TRUST_NONCE_SIZE - 1 && s[len] == '\0';
}

bool
ipc_trust_request_fits(size_t len)
{
	return len <= IPC_TRUST_REQUEST_MAX;
}

bool
ipc_trust_hex(unsigned char *out, size_t n, const char *hex, size_t len)
{
	size_t got = 0;
	const char *end = NULL;
	return len == 2 * n &&
	       sodium_hex2bin(out, n, hex, len, NULL, &got, &end) == 0 &&
	       got == n && end == hex + len;
}

enum ipc_trust_hex_file
ipc_trust_hex_file_read(const char *path, const char *what, unsigned char *out,
                        size_t n, char *err, size_t errlen)
{
	char buf[256];
	unsigned char b[64];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return IPC_TRUST_HEX_FILE_UNREADABLE;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* As echo or an editor leaves it. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	bool ok = n <= sizeof(b) && ipc_trust_hex(b, n, buf, len);
	if (ok)
		memcpy(out, b, n);
	else
		snprintf(err, errlen, "%s: not a %s in hex", path, what);
	/* It may be a secret key. */
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(b, sizeof(b));
	return ok ? IPC_TRUST_HEX_FILE_OK : IPC_TRUST_HEX_FILE_BAD;
}

static const struct ipc_trust_command commands[] = {
    {"suspend", {"reason", "product", "pair", "until", "notice", "from"}},
    {"lift", {"reason", "product", "pair", "suspension"}},
    {"reset", {"reason", "rule", "suspension"}},
    {"threshold", {"reason", "rule", "key", "value"}},
    {"notice", {"reason", "notice", "lang", "text"}},
    {"enrol", {"reason", "name", "roles", "pubkey"}},
    {"revoke", {"reason", "operator"}},
    {"approve", {"reason", "request", "suspension", "operator"}},
    {"cluster_add", {"reason", "node"}},
    {"cluster_remove", {"reason", "node"}},
    {"cancel", {"reason", "product", "pair"}},
};

const struct ipc_trust_command *
ipc_trust_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

const struct ipc_trust_command *
ipc_trust_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

bool
ipc_trust_command_takes(const struct ipc_trust_command *c, const char *arg)
{
	for (size_t i = 0; i < IPC_TRUST_ARGS_MAX && c->args[i] != NULL; i++)
		if (strcmp(arg, c->args[i]) == 0)
			return true;
	return false;
}

bool
ipc_trust_arg_is_integer(const char *arg)
{
	return strcmp(arg, "until") == 0 || strcmp(arg, "from") == 0 ||
	       strcmp(arg, "suspension") == 0 || strcmp(arg, "request") == 0 ||
	       strcmp(arg, "node") == 0;
}
