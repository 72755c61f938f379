/*
 * ctl_key.c: an operator's key file (docs/PROTOCOL.md, "Signed operator
 * commands"): read, unsealed with its passphrase, checked, and written.
 * An Ed25519 key whose secret half is sealed under a passphrase; this
 * file signs nothing and sends nothing (ctl_command.c does).
 *
 * The key file (mode 0600, text):
 *
 *	fxbreaker operator key v1
 *	name NAME
 *	public <the 32-byte public key in hex>
 *	kdf argon2id <opslimit> <memlimit> <the 16-byte salt in hex>
 *	secret <hex of nonce (24) || crypto_secretbox_easy(secret key (64))>
 *
 * or, for automation only, `kdf none` and `secret <the 64-byte secret key
 * in hex>`.  Everything secret (the passphrase, the derived key, the
 * secret key, the file's text) lives in one sodium_malloc'd block: locked
 * in memory, wiped when freed, and freed before anything is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ipc_trust.h"

#define KEY_MAGIC  "fxbreaker operator key v1"
#define PK_LEN     IPC_TRUST_PK_LEN
#define SK_LEN     IPC_TRUST_SK_LEN
#define NONCE_LEN  crypto_secretbox_NONCEBYTES
#define SEALED_LEN CTL_KEY_SEALED_LEN
/* Bounds on a key file's argon2id parameters, so that a damaged file
 * cannot make us allocate or spin without end. */
#define KDF_OPS_MAX 64ULL
#define KDF_MEM_MAX (1ULL << 30) /* libsodium's MEMLIMIT_SENSITIVE */

struct ctl_secret *
ctl_secret_new(void)
{
	struct ctl_secret *s = sodium_malloc(sizeof(*s));
	if (s != NULL)
		memset(s, 0, sizeof(*s));
	else
		fprintf(stderr, "fxbreakerctl: out of memory\n");
	return s;
}

void
ctl_secret_free(struct ctl_secret *s)
{
	sodium_free(s);
}

/* hex is exactly n bytes in hex (ipc_trust_hex), written to out. */
static bool
hex_exact(const char *hex, unsigned char *out, size_t n)
{
	return ipc_trust_hex(out, n, hex, strlen(hex));
}

/* The secretbox key from s->pass and k's salt and limits, into s->key. */
static int
pass_derive(struct ctl_secret *s, const struct ctl_key *k)
{
	if (crypto_pwhash(s->key, sizeof(s->key), s->pass, strlen(s->pass),
	                  k->salt, k->ops, k->mem,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		fprintf(stderr, "fxbreakerctl: cannot derive a key from the "
		                "passphrase (out of memory)\n");
		return -1;
	}
	return 0;
}

/* The next line of *cur (its newline replaced by a NUL), or NULL at the
 * end of the text. */
static char *
next_line(char **cur)
{
	char *l = *cur;
	if (*l == '\0')
		return NULL;
	char *nl = strchr(l, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = l + strlen(l);
	}
	return l;
}

/* Parses a key file's text (which it overwrites); a `kdf none` secret
 * goes straight to s->sk.  False if it is not a key file. */
static bool
key_parse(char *text, struct ctl_key *k, struct ctl_secret *s)
{
	char *cur = text, *l;
	char ops[21], mem[21], salt[33];
	int n = 0;

	if ((l = next_line(&cur)) == NULL || strcmp(l, KEY_MAGIC) != 0)
		return false;
	if ((l = next_line(&cur)) == NULL || strncmp(l, "name ", 5) != 0 ||
	    !ipc_trust_name_ok(l + 5))
		return false;
	memcpy(k->name, l + 5, strlen(l + 5) + 1);
	if ((l = next_line(&cur)) == NULL || strncmp(l, "public ", 7) != 0 ||
	    !hex_exact(l + 7, k->pk, PK_LEN))
		return false;
	if ((l = next_line(&cur)) == NULL)
		return false;
	if (strcmp(l, "kdf none") == 0) {
		k->sealed = false;
	} else if (sscanf(l, "kdf argon2id %20[0-9] %20[0-9] %32[0-9a-f]%n",
	                  ops, mem, salt, &n) == 3 &&
	           l[n] == '\0') {
		unsigned long long o = strtoull(ops, NULL, 10);
		unsigned long long m = strtoull(mem, NULL, 10);
		if (o < crypto_pwhash_OPSLIMIT_MIN || o > KDF_OPS_MAX ||
		    m < crypto_pwhash_MEMLIMIT_MIN || m > KDF_MEM_MAX ||
		    !hex_exact(salt, k->salt, sizeof(k->salt)))
			return false;
		k->sealed = true;
		k->ops = o;
		k->mem = (size_t)m;
	} else {
		return false;
	}
	if ((l = next_line(&cur)) == NULL || strncmp(l, "secret ", 7) != 0)
		return false;
	if (k->sealed ? !hex_exact(l + 7, k->box, SEALED_LEN)
	              : !hex_exact(l + 7, s->sk, SK_LEN))
		return false;
	return *cur == '\0';
}

/* Reads the file at path into s->file and parses it into *k (and s->sk
 * when not sealed).  The file must be private to its owner (like ssh's).
 * 0, or -1 with the reason printed. */
static int
key_read(const char *path, struct ctl_key *k, struct ctl_secret *s)
{
	struct stat st;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", path,
		        S_ISREG(st.st_mode)
		            ? "others may read this key: chmod 600 it"
		            : "not a file");
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r =
		    read(fd, s->file + len, CTL_KEY_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len > CTL_KEY_FILE_MAX)
			break;
	}
	close(fd);
	memset(k, 0, sizeof(*k));
	bool ok =
	    len <= CTL_KEY_FILE_MAX && memchr(s->file, '\0', len) == NULL;
	if (ok) {
		s->file[len] = '\0';
		ok = key_parse(s->file, k, s);
	}
	if (!ok) {
		fprintf(stderr,
		        "fxbreakerctl: %s: not an fxbreaker operator key\n",
		        path);
		return -1;
	}
	return 0;
}

int
ctl_key_load(const char *path, struct ctl_key *k, struct ctl_secret *s)
{
	if (key_read(path, k, s) != 0)
		return -1;
	ipc_trust_key_id(k->pk, k->id);
	if (k->sealed) {
		char prompt[IPC_TRUST_NAME_MAX + 64];
		snprintf(prompt, sizeof(prompt),
		         "Passphrase for %s (key %s): ", k->name, k->id);
		if (ctl_passphrase_get(s, prompt, false) != 0 ||
		    pass_derive(s, k) != 0)
			return -1;
		if (crypto_secretbox_open_easy(s->sk, k->box + NONCE_LEN,
		                               SEALED_LEN - NONCE_LEN, k->box,
		                               s->key) != 0) {
			fprintf(stderr, "fxbreakerctl: %s: wrong passphrase\n",
			        path);
			return -1;
		}
	}
	/* The two halves must belong together, or we would sign for
	 * someone else's key id. */
	unsigned char derived[PK_LEN];
	crypto_sign_ed25519_sk_to_pk(derived, s->sk);
	if (memcmp(derived, k->pk, PK_LEN) != 0) {
		fprintf(stderr,
		        "fxbreakerctl: %s: the secret key does not match the "
		        "public key\n",
		        path);
		return -1;
	}
	return 0;
}

void
ctl_key_new(const char *name, struct ctl_key *k, struct ctl_secret *s)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->name, name, strlen(name) + 1);
	crypto_sign_keypair(k->pk, s->sk);
	ipc_trust_key_id(k->pk, k->id);
}

int
ctl_key_seal(struct ctl_key *k, struct ctl_secret *s)
{
	k->sealed = true;
	k->ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	k->mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	randombytes_buf(k->salt, sizeof(k->salt));
	if (pass_derive(s, k) != 0)
		return -1;
	randombytes_buf(k->box, NONCE_LEN);
	crypto_secretbox_easy(k->box + NONCE_LEN, s->sk, SK_LEN, k->box,
	                      s->key);
	return 0;
}

void
ctl_key_format(const struct ctl_key *k, struct ctl_secret *s)
{
	char pk[2 * PK_LEN + 1], kdf[128];
	sodium_bin2hex(pk, sizeof(pk), k->pk, PK_LEN);
	if (k->sealed) {
		char salt[2 * crypto_pwhash_SALTBYTES + 1];
		sodium_bin2hex(salt, sizeof(salt), k->salt, sizeof(k->salt));
		snprintf(kdf, sizeof(kdf), "argon2id %llu %zu %s", k->ops,
		         k->mem, salt);
		sodium_bin2hex(s->hex, sizeof(s->hex), k->box, SEALED_LEN);
	} else {
		snprintf(kdf, sizeof(kdf), "none");
		sodium_bin2hex(s->hex, sizeof(s->hex), s->sk, SK_LEN);
	}
	snprintf(s->file, sizeof(s->file),
	         KEY_MAGIC "\nname %s\npublic %s\nkdf %s\nsecret %s\n",
	         k->name, pk, kdf, s->hex);
}
