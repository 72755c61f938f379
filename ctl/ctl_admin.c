/*
 * ctl_admin.c: an operator's key and the commands signed with it
 * (docs/PROTOCOL.md, "Signed operator commands").  `keygen` makes an
 * Ed25519 key whose secret half is sealed under a passphrase; `suspend`,
 * `lift`, `reset` and `approve` sign one command with it and send it to
 * the admin socket.  This file decides nothing: the service checks the
 * signature, the operator's roles, the clock and the four eyes.
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
 *
 * Exit codes: 0 applied or pending, 1 rejected or an error reply,
 * 2 bad configuration, 3 usage, I/O or no answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ipc_request.h"
#include "ipc_trust.h"

#define KEY_MAGIC    "fxbreaker operator key v1"
#define KEY_FILE_MAX 4096 /* a key file is about 400 bytes */
#define PASS_MAX     1024
#define EXPIRES_DEF  300
#define EXPIRES_MAX  (IPC_TRUST_LIFETIME_MAX_MS / 1000)
#define PK_LEN       IPC_TRUST_PK_LEN
#define SK_LEN       IPC_TRUST_SK_LEN
#define NONCE_LEN    crypto_secretbox_NONCEBYTES
#define SEALED_LEN   (NONCE_LEN + crypto_secretbox_MACBYTES + SK_LEN)
/* Bounds on a key file's argon2id parameters, so that a damaged file
 * cannot make us allocate or spin without end. */
#define KDF_OPS_MAX 64ULL
#define KDF_MEM_MAX (1ULL << 30) /* libsodium's MEMLIMIT_SENSITIVE */

/* The secrets, in one guarded block (sodium_malloc). */
struct admin_secret {
	unsigned char sk[SK_LEN];
	unsigned char key[crypto_secretbox_KEYBYTES];
	char pass[PASS_MAX + 2];
	char again[PASS_MAX + 2];
	char hex[2 * SEALED_LEN + 1];
	char file[KEY_FILE_MAX + 1];
};

/* The public half of a key file, and the sealed secret. */
struct admin_key {
	char name[IPC_TRUST_NAME_MAX + 1];
	unsigned char pk[PK_LEN];
	char id[IPC_TRUST_KEY_ID_SIZE];
	bool sealed; /* kdf argon2id (else kdf none) */
	unsigned long long ops;
	size_t mem;
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char box[SEALED_LEN]; /* nonce || secretbox, when sealed */
};

static struct admin_secret *
secret_new(void)
{
	struct admin_secret *s = sodium_malloc(sizeof(*s));
	if (s != NULL)
		memset(s, 0, sizeof(*s));
	else
		fprintf(stderr, "fxbreakerctl: out of memory\n");
	return s;
}

/* hex is exactly n bytes in hex (ipc_trust_hex), written to out. */
static bool
hex_exact(const char *hex, unsigned char *out, size_t n)
{
	return ipc_trust_hex(out, n, hex, strlen(hex));
}

/* ---- the passphrase ---- */

static volatile sig_atomic_t tty_signal;

static void
tty_on_signal(int sig)
{
	tty_signal = sig;
}

static void
tty_write(int fd, const char *s)
{
	ssize_t w = write(fd, s, strlen(s));
	(void)w; /* a lost prompt is not worth failing for */
}

/*
 * tty_read asks on the terminal with echo off and reads one line into buf
 * (at most PASS_MAX bytes).  Echo is restored on every path: a signal
 * (Ctrl-C) while it waits restores the terminal, then is delivered again.
 * 0, or -1 with the reason printed.
 */
static int
tty_read(const char *prompt, char *buf, size_t cap)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	struct sigaction sa, saved[sizeof(sigs) / sizeof(sigs[0])];
	struct termios old, quiet;
	size_t n = 0;
	bool too_long = false, eof = false;

	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || tcgetattr(fd, &old) != 0) {
		fprintf(stderr, "fxbreakerctl: no passphrase: set "
		                "FXBREAKER_PASSPHRASE or run on a terminal\n");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: read() must return */
	tty_signal = 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &saved[i]);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	tty_write(fd, prompt);
	while (tty_signal == 0) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			eof = true;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n < cap - 1 && n < PASS_MAX)
			buf[n++] = c;
		else
			too_long = true;
	}
	buf[n] = '\0';
	tty_write(fd, "\n");
	tcsetattr(fd, TCSAFLUSH, &old);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &saved[i], NULL);
	close(fd);
	if (tty_signal != 0) {
		raise(tty_signal);
		fprintf(stderr, "fxbreakerctl: interrupted\n");
		return -1;
	}
	if (eof || too_long) {
		fprintf(stderr, "fxbreakerctl: %s\n",
		        eof ? "no passphrase (end of input)"
		            : "passphrase too long (at most 1024 bytes)");
		return -1;
	}
	return 0;
}

/* The passphrase, into s->pass: $FXBREAKER_PASSPHRASE, else asked on the
 * terminal (twice when confirm).  0, or -1 with the reason printed. */
static int
pass_get(struct admin_secret *s, const char *prompt, bool confirm)
{
	const char *env = getenv("FXBREAKER_PASSPHRASE");
	if (env != NULL && env[0] != '\0') {
		size_t n = strlen(env);
		if (n > PASS_MAX) {
			fprintf(stderr, "fxbreakerctl: FXBREAKER_PASSPHRASE "
			                "too long (at most 1024 bytes)\n");
			return -1;
		}
		memcpy(s->pass, env, n + 1);
		return 0;
	}
	if (tty_read(prompt, s->pass, sizeof(s->pass)) != 0)
		return -1;
	if (!confirm)
		return 0;
	if (tty_read("Again: ", s->again, sizeof(s->again)) != 0)
		return -1;
	if (strcmp(s->pass, s->again) != 0) {
		fprintf(stderr, "fxbreakerctl: the passphrases differ\n");
		return -1;
	}
	return 0;
}

/* The secretbox key from s->pass and k's salt and limits, into s->key. */
static int
pass_derive(struct admin_secret *s, const struct admin_key *k)
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

/* ---- the key file ---- */

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
key_parse(char *text, struct admin_key *k, struct admin_secret *s)
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

/*
 * key_load reads the key file at path, asks for its passphrase when it
 * has one, and leaves the secret key in s->sk and the rest in *k.  The
 * file must be private to its owner (like ssh's).  0, or -1 with the
 * reason printed.
 */
static int
key_load(const char *path, struct admin_key *k, struct admin_secret *s)
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
		ssize_t r = read(fd, s->file + len, KEY_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len > KEY_FILE_MAX)
			break;
	}
	close(fd);
	memset(k, 0, sizeof(*k));
	bool ok = len <= KEY_FILE_MAX && memchr(s->file, '\0', len) == NULL;
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
	ipc_trust_key_id(k->pk, k->id);
	if (k->sealed) {
		char prompt[IPC_TRUST_NAME_MAX + 64];
		snprintf(prompt, sizeof(prompt),
		         "Passphrase for %s (key %s): ", k->name, k->id);
		if (pass_get(s, prompt, false) != 0 || pass_derive(s, k) != 0)
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

/* Writes the key file's text for k (s->sk when not sealed) into s->file. */
static void
key_format(const struct admin_key *k, struct admin_secret *s)
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
	 * guarantees it.  The file is created only once the key is ready,
	 * so that an interrupted prompt leaves nothing behind. */
	if (access(out, F_OK) == 0) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", out,
		        strerror(EEXIST));
		return CTL_EXIT_USAGE;
	}
	struct admin_secret *s = secret_new();
	struct admin_key k;
	int fd = -1;
	memset(&k, 0, sizeof(k));
	if (s == NULL)
		goto out;
	memcpy(k.name, name, strlen(name) + 1);
	crypto_sign_keypair(k.pk, s->sk);
	ipc_trust_key_id(k.pk, k.id);
	if (!plain) {
		char prompt[IPC_TRUST_NAME_MAX + 64];
		snprintf(prompt, sizeof(prompt),
		         "New passphrase for %s: ", name);
		if (pass_get(s, prompt, true) != 0)
			goto out;
		if (s->pass[0] == '\0') {
			fprintf(stderr,
			        "fxbreakerctl: empty passphrase (a key "
			        "without one: --no-passphrase)\n");
			goto out;
		}
		k.sealed = true;
		k.ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		k.mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		randombytes_buf(k.salt, sizeof(k.salt));
		if (pass_derive(s, &k) != 0)
			goto out;
		randombytes_buf(k.box, NONCE_LEN);
		crypto_secretbox_easy(k.box + NONCE_LEN, s->sk, SK_LEN, k.box,
		                      s->key);
	}
	key_format(&k, s);
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
	char pk[2 * PK_LEN + 1];
	sodium_bin2hex(pk, sizeof(pk), k.pk, PK_LEN);
	printf("# key id %s\n%s suspend,reset,approve %s\n", k.id, name, pk);
	code = CTL_EXIT_OK;
out:
	sodium_free(s);
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

/* ---- signed commands ---- */

enum opt {
	O_KEY,
	O_PRODUCT,
	O_PAIR,
	O_RULE,
	O_REQUEST,
	O_SUSPENSION,
	O_REASON,
	O_UNTIL,
	O_CONFIG,
	O_URL,
	O_SERVICE_ID,
	O_EXPIRES,
	O_TIMEOUT,
	O_ISSUED_AT,
	O_NONCE,
	O_PARAM,
	O_VALUE,
	O_NOTICE,
	O_LANG,
	O_TEXT,
	O_NAME,
	O_ROLES,
	O_PUBKEY,
	O_OPERATOR,
	O_COUNT
};

static const char *const opt_flag[O_COUNT] = {
    [O_KEY] = "--key",
    [O_PRODUCT] = "--product",
    [O_PAIR] = "--pair",
    [O_RULE] = "--rule",
    [O_REQUEST] = "--request",
    [O_SUSPENSION] = "--suspension",
    [O_REASON] = "--reason",
    [O_UNTIL] = "--until",
    [O_CONFIG] = "--config",
    [O_URL] = "--url",
    [O_SERVICE_ID] = "--service-id",
    [O_EXPIRES] = "--expires",
    [O_TIMEOUT] = "--timeout",
    [O_ISSUED_AT] = "--issued-at",
    [O_NONCE] = "--nonce",
    [O_PARAM] = "--param",
    [O_VALUE] = "--value",
    [O_NOTICE] = "--notice",
    [O_LANG] = "--lang",
    [O_TEXT] = "--text",
    [O_NAME] = "--name",
    [O_ROLES] = "--roles",
    [O_PUBKEY] = "--pubkey",
    [O_OPERATOR] = "--operator",
};

#define B(o) (1u << (o))
#define COMMON                                                                \
	(B(O_KEY) | B(O_REASON) | B(O_CONFIG) | B(O_URL) | B(O_SERVICE_ID) |  \
	 B(O_EXPIRES) | B(O_TIMEOUT) | B(O_ISSUED_AT) | B(O_NONCE))
#define SCOPE (B(O_PRODUCT) | B(O_PAIR))
#define TAIL                                                                  \
	" [--config FILE] [--url URL] [--service-id ID] [--expires SECONDS] " \
	"[--json] [--sign-only] [--timeout MS]; to repeat: [--issued-at MS] " \
	"[--nonce HEX]"

/* What each command takes: docs/PROTOCOL.md's table of args.  A command
 * with SCOPE needs exactly one of --product and --pair. */
static const struct cmd_spec {
	const char *name;
	unsigned allowed, required;
	const char *use;
} cmd_specs[] = {
    /* --reason is for the log; customers read --notice's [notice], or
     * the default forced notice. */
    {"suspend", COMMON | SCOPE | B(O_UNTIL) | B(O_NOTICE),
     B(O_KEY) | B(O_REASON),
     "fxbreakerctl suspend --key FILE (--product ID | --pair PAIR) "
     "--reason TEXT [--notice ID] [--until TIME]" TAIL},
    {"lift", COMMON | SCOPE | B(O_SUSPENSION),
     B(O_KEY) | B(O_REASON) | B(O_SUSPENSION),
     "fxbreakerctl lift --key FILE (--product ID | --pair PAIR) "
     "--suspension N --reason TEXT" TAIL},
    {"reset", COMMON | B(O_RULE) | B(O_SUSPENSION),
     B(O_KEY) | B(O_REASON) | B(O_RULE) | B(O_SUSPENSION),
     "fxbreakerctl reset --key FILE --rule ID --suspension N "
     "--reason TEXT" TAIL},
    {"threshold", COMMON | B(O_RULE) | B(O_PARAM) | B(O_VALUE),
     B(O_KEY) | B(O_REASON) | B(O_RULE) | B(O_PARAM) | B(O_VALUE),
     "fxbreakerctl threshold --key FILE --rule ID --param KEY --value V "
     "--reason TEXT" TAIL},
    {"notice", COMMON | B(O_NOTICE) | B(O_LANG) | B(O_TEXT),
     B(O_KEY) | B(O_REASON) | B(O_NOTICE) | B(O_LANG) | B(O_TEXT),
     "fxbreakerctl notice --key FILE --notice ID --lang ko|en --text TEXT "
     "--reason TEXT" TAIL},
    {"enrol", COMMON | B(O_NAME) | B(O_ROLES) | B(O_PUBKEY),
     B(O_KEY) | B(O_REASON) | B(O_NAME) | B(O_ROLES) | B(O_PUBKEY),
     "fxbreakerctl enrol --key FILE --name NAME --roles ROLE[,ROLE...] "
     "--pubkey HEX --reason TEXT" TAIL},
    {"revoke", COMMON | B(O_OPERATOR), B(O_KEY) | B(O_REASON) | B(O_OPERATOR),
     "fxbreakerctl revoke --key FILE --operator KEY_ID --reason TEXT" TAIL},
    /* --suspension: the one a lift or reset request names; --operator:
     * the key an enrol or revoke request names; neither for a threshold
     * request. */
    {"approve", COMMON | B(O_REQUEST) | B(O_SUSPENSION) | B(O_OPERATOR),
     B(O_KEY) | B(O_REASON) | B(O_REQUEST),
     "fxbreakerctl approve --key FILE --request N [--suspension N | "
     "--operator KEY_ID] --reason TEXT" TAIL},
};

struct cmd_opts {
	const struct cmd_spec *spec;
	const char *v[O_COUNT];
	bool json, sign_only;
	int64_t request, suspension, until, issued_at;
	int expires_s, timeout_ms;
};

/* A whole decimal integer in [min, max]. */
static bool
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Prints "subject complaint" and the command's usage; false. */
static bool
cmd_usage(const struct cmd_spec *spec, const char *subject,
          const char *complaint)
{
	fprintf(stderr, "fxbreakerctl: %s%s\nusage: %s\n", subject, complaint,
	        spec->use);
	return false;
}

/* Parses and checks a command's options; false (usage printed) on
 * anything wrong. */
static bool
cmd_opts_parse(int argc, char **argv, struct cmd_opts *o)
{
	int64_t v;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < sizeof(cmd_specs) / sizeof(cmd_specs[0]); i++)
		if (strcmp(argv[0], cmd_specs[i].name) == 0)
			o->spec = &cmd_specs[i];
	if (o->spec == NULL)
		abort(); /* the command table names only these */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int k;
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--sign-only") == 0) {
			o->sign_only = true;
			continue;
		}
		for (k = 0; k < O_COUNT; k++)
			if (strcmp(a, opt_flag[k]) == 0)
				break;
		if (k == O_COUNT || (o->spec->allowed & B(k)) == 0)
			return cmd_usage(o->spec, a,
			                 a[0] == '-'
			                     ? ": no such option here"
			                     : ": unexpected argument");
		if (i + 1 == argc)
			return cmd_usage(o->spec, a, " needs a value");
		if (o->v[k] != NULL)
			return cmd_usage(o->spec, a, " given twice");
		o->v[k] = argv[++i];
	}
	if (o->v[O_CONFIG] == NULL)
		o->v[O_CONFIG] = ctl_default_config();
	for (int k = 0; k < O_COUNT; k++)
		if ((o->spec->required & B(k)) != 0 && o->v[k] == NULL)
			return cmd_usage(o->spec, opt_flag[k], " is required");
	if ((o->spec->allowed & SCOPE) != 0 &&
	    (o->v[O_PRODUCT] == NULL) == (o->v[O_PAIR] == NULL))
		return cmd_usage(o->spec, "--product or --pair",
		                 ": give exactly one");
	if (o->v[O_REQUEST] != NULL &&
	    !parse_int(o->v[O_REQUEST], 1, INT64_MAX, &o->request))
		return cmd_usage(o->spec, "--request",
		                 ": a log sequence number");
	if (o->v[O_SUSPENSION] != NULL &&
	    !parse_int(o->v[O_SUSPENSION], 1, INT64_MAX, &o->suspension))
		return cmd_usage(o->spec, "--suspension",
		                 ": a suspension id (its log seq)");
	if (o->v[O_UNTIL] != NULL &&
	    ctl_parse_time(o->v[O_UNTIL], &o->until) != 0)
		return cmd_usage(o->spec, "--until",
		                 ": epoch ms, YYYY-MM-DD or "
		                 "YYYY-MM-DDTHH:MM:SSZ");
	o->expires_s = EXPIRES_DEF;
	if (o->v[O_EXPIRES] != NULL) {
		if (!parse_int(o->v[O_EXPIRES], 1, EXPIRES_MAX, &v))
			return cmd_usage(o->spec, "--expires",
			                 ": 1 to 600 seconds");
		o->expires_s = (int)v;
	}
	o->timeout_ms = 2000;
	if (o->v[O_TIMEOUT] != NULL) {
		if (!parse_int(o->v[O_TIMEOUT], 1, 3600000, &v))
			return cmd_usage(o->spec, "--timeout",
			                 ": milliseconds");
		o->timeout_ms = (int)v;
	}
	if (o->v[O_ISSUED_AT] != NULL &&
	    !parse_int(o->v[O_ISSUED_AT], 0, INT64_MAX - EXPIRES_MAX * 1000,
	               &o->issued_at))
		return cmd_usage(o->spec, "--issued-at",
		                 ": epoch milliseconds");
	if (o->v[O_NONCE] != NULL && !ipc_trust_nonce_ok(o->v[O_NONCE]))
		return cmd_usage(o->spec, "--nonce",
		                 ": " IPC_TRUST_NONCE_RULE);
	return true;
}

/* Sets obj[key] to the string val; false (said why) if val is not UTF-8,
 * which a JSON string must be. */
static bool
set_str(json_t *obj, const char *key, const char *val, const char *flag)
{
	json_t *s = json_string(val);
	if (s == NULL) {
		fprintf(stderr, "fxbreakerctl: %s is not valid UTF-8\n", flag);
		return false;
	}
	json_object_set_new(obj, key, s);
	return true;
}

/*
 * The command's body, as PROTOCOL.md lists its fields and args (in that
 * order, which is only for the reader: the signature covers the bytes,
 * whatever their order).  NULL (said why) on text that is not UTF-8.
 */
static json_t *
cmd_body(const struct cmd_opts *o, const char *service_id,
         const char *key_id_hex, int64_t issued_at, const char *nonce)
{
	json_t *b = json_object(), *args = json_object();
	bool ok = true;

	json_object_set_new(b, "v", json_integer(1));
	ok = ok && set_str(b, "service_id", service_id, "--service-id");
	json_object_set_new(b, "operator", json_string(key_id_hex));
	json_object_set_new(b, "issued_at", json_integer(issued_at));
	json_object_set_new(b, "expires_at",
	                    json_integer(issued_at + o->expires_s * 1000LL));
	json_object_set_new(b, "nonce", json_string(nonce));
	json_object_set_new(b, "cmd", json_string(o->spec->name));
	if (o->v[O_PRODUCT] != NULL)
		ok = ok &&
		     set_str(args, "product", o->v[O_PRODUCT], "--product");
	if (o->v[O_PAIR] != NULL)
		ok = ok && set_str(args, "pair", o->v[O_PAIR], "--pair");
	if (o->v[O_RULE] != NULL)
		ok = ok && set_str(args, "rule", o->v[O_RULE], "--rule");
	if (o->v[O_PARAM] != NULL)
		ok = ok && set_str(args, "key", o->v[O_PARAM], "--param");
	if (o->v[O_VALUE] != NULL)
		ok = ok && set_str(args, "value", o->v[O_VALUE], "--value");
	if (o->v[O_NOTICE] != NULL)
		ok = ok && set_str(args, "notice", o->v[O_NOTICE], "--notice");
	if (o->v[O_LANG] != NULL)
		ok = ok && set_str(args, "lang", o->v[O_LANG], "--lang");
	if (o->v[O_TEXT] != NULL)
		ok = ok && set_str(args, "text", o->v[O_TEXT], "--text");
	if (o->v[O_NAME] != NULL)
		ok = ok && set_str(args, "name", o->v[O_NAME], "--name");
	if (o->v[O_ROLES] != NULL)
		ok = ok && set_str(args, "roles", o->v[O_ROLES], "--roles");
	if (o->v[O_PUBKEY] != NULL)
		ok = ok && set_str(args, "pubkey", o->v[O_PUBKEY], "--pubkey");
	if (o->v[O_OPERATOR] != NULL)
		ok = ok &&
		     set_str(args, "operator", o->v[O_OPERATOR], "--operator");
	if (o->v[O_REQUEST] != NULL)
		json_object_set_new(args, "request", json_integer(o->request));
	if (o->v[O_SUSPENSION] != NULL)
		json_object_set_new(args, "suspension",
		                    json_integer(o->suspension));
	ok = ok && set_str(args, "reason", o->v[O_REASON], "--reason");
	if (o->v[O_UNTIL] != NULL)
		json_object_set_new(args, "until", json_integer(o->until));
	json_object_set_new(b, "args", args);
	if (!ok) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* The envelope of body text: the text's very bytes, signed (as
 * ipc_trust_sign: its domain ahead) and sent as the body string.  NULL on
 * out of memory or text that is not UTF-8. */
static char *
envelope_of(const char *text, const unsigned char sk[SK_LEN])
{
	char b64[IPC_TRUST_SIG_B64_SIZE];
	if (ipc_trust_sign(text, strlen(text), sk, b64) != FXB_OK)
		return NULL;
	json_t *e = json_object();
	json_object_set_new(e, "op", json_string("command"));
	json_object_set_new(e, "body", json_string(text));
	json_object_set_new(e, "signature", json_string(b64));
	char *env = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(e);
	return env;
}

/*
 * The envelope {"op":"command","body":...,"signature":...} as compact
 * JSON (free with free()).  body is serialized once, and those very bytes
 * are both signed and sent: the service verifies the string it receives,
 * never a re-serialization.  NULL on out of memory.
 */
static char *
cmd_envelope(json_t *body, const unsigned char sk[SK_LEN])
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return NULL;
	char *env = envelope_of(text, sk);
	free(text);
	return env;
}

char *
ctl_sign_body(const char *key_path, const char *body)
{
	struct admin_key k;
	struct admin_secret *s = NULL;
	char *env = NULL;
	if (sodium_init() < 0 || (s = secret_new()) == NULL ||
	    key_load(key_path, &k, s) != 0)
		goto out;
	if ((env = envelope_of(body, s->sk)) == NULL)
		fprintf(stderr, "fxbreakerctl: out of memory\n");
out:
	sodium_free(s);
	return env;
}

/* Not an exit code: no answer, or an answer that says the command is not
 * logged yet.  The caller says how to ask again, and exits 3. */
#define CTL_EXIT_UNCONFIRMED (-1)

/* Prints the service's answer; returns the exit code. */
static int
cmd_reply(const struct cmd_opts *o, const char *reply)
{
	static const char *const ids[] = {"seq", "suspension", "request",
	                                  "change"};
	json_error_t jerr;
	json_t *r = json_loads(reply, 0, &jerr), *e;
	int code = CTL_EXIT_OK;

	if (r == NULL) {
		fprintf(stderr, "fxbreakerctl: unreadable reply: %s\n",
		        jerr.text);
		return CTL_EXIT_USAGE;
	}
	if (o->json)
		printf("%s\n", reply);
	const char *result = json_string_value(json_object_get(r, "result"));
	e = json_object_get(r, "error");
	const char *ename = json_string_value(json_object_get(e, "name"));
	const char *emsg = json_string_value(json_object_get(e, "message"));
	if (result == NULL && e != NULL) {
		/* Not a command's answer: the socket refused the request
		 * itself (a service without signed commands says
		 * unknown_op). */
		fprintf(
		    stderr, "fxbreakerctl: error %lld %s: %s\n",
		    (long long)json_integer_value(json_object_get(e, "code")),
		    ename != NULL ? ename : "?", emsg != NULL ? emsg : "");
		code = CTL_EXIT_DATA;
	} else if (result != NULL && strcmp(result, "applied") == 0) {
		const char *sep = ": ";
		if (!o->json) {
			printf("applied");
			for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]);
			     i++) {
				json_t *v = json_object_get(r, ids[i]);
				if (!json_is_integer(v))
					continue;
				printf("%s%s %lld", sep, ids[i],
				       (long long)json_integer_value(v));
				sep = ", ";
			}
			putchar('\n');
		}
	} else if (result != NULL && strcmp(result, "pending") == 0) {
		if (!o->json)
			printf("pending: request %lld (needs an approval by "
			       "another operator)\n",
			       (long long)json_integer_value(
			           json_object_get(r, "request")));
	} else if (result != NULL && strcmp(result, "rejected") == 0) {
		if (!o->json)
			printf("rejected: %s: %s\n",
			       ename != NULL ? ename : "?",
			       emsg != NULL ? emsg : "");
		code = CTL_EXIT_DATA;
	} else if (result != NULL && strcmp(result, "unconfirmed") == 0) {
		/* Its row is not written (the log is failing): whatever it
		 * did is not confirmed; the caller says how to ask again. */
		if (!o->json)
			printf("unconfirmed: %s\n", emsg != NULL ? emsg : "");
		code = CTL_EXIT_UNCONFIRMED;
	} else {
		fprintf(stderr, "fxbreakerctl: unexpected reply: %s\n", reply);
		code = CTL_EXIT_USAGE;
	}
	json_decref(r);
	return code;
}

/* The clock the service compares issued_at with: UTC epoch ms. */
static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ctl_command(int argc, char **argv)
{
	struct cmd_opts o;
	struct admin_key k;
	struct admin_secret *s = NULL;
	char sid[BREAKER_TEXT_MAX + 1] = "";
	char nonce[IPC_TRUST_NONCE_SIZE], err[512];
	char *env = NULL, *reply = NULL;
	json_t *body = NULL;
	int code = CTL_EXIT_USAGE;
	int64_t issued_at = 0;

	if (!cmd_opts_parse(argc, argv, &o))
		return CTL_EXIT_USAGE;
	/* The config only for what the options do not give, and of it
	 * only [service]: an emergency suspend must not wait for a typo
	 * in a rule to be fixed. */
	struct ctl_target t = {.key = "admin_url"};
	if ((o.v[O_URL] == NULL && !o.sign_only) ||
	    o.v[O_SERVICE_ID] == NULL) {
		struct service_conf sv;
		const char *instead = o.v[O_URL] != NULL
		                          ? "give --service-id ID"
		                      : o.v[O_SERVICE_ID] != NULL
		                          ? "give --url URL"
		                          : "give --url URL --service-id "
		                            "ID";
		if ((code = ctl_service(o.v[O_CONFIG], instead, &sv)) !=
		    CTL_EXIT_OK)
			return code;
		snprintf(t.url, sizeof(t.url), "%s", sv.admin_url);
		snprintf(sid, sizeof(sid), "%s", sv.service_id);
		t.config = o.v[O_CONFIG];
	}
	if (o.v[O_URL] != NULL) {
		snprintf(t.url, sizeof(t.url), "%s", o.v[O_URL]);
		t.config = NULL;
	}
	if (o.v[O_SERVICE_ID] != NULL)
		snprintf(sid, sizeof(sid), "%s", o.v[O_SERVICE_ID]);
	if (sodium_init() < 0) {
		fprintf(stderr, "fxbreakerctl: libsodium failed to start\n");
		return CTL_EXIT_USAGE;
	}
	if ((s = secret_new()) == NULL || key_load(o.v[O_KEY], &k, s) != 0)
		goto out;
	if (o.v[O_NONCE] != NULL) {
		memcpy(nonce, o.v[O_NONCE], sizeof(nonce));
	} else {
		unsigned char nb[(IPC_TRUST_NONCE_SIZE - 1) / 2];
		randombytes_buf(nb, sizeof(nb));
		sodium_bin2hex(nonce, sizeof(nonce), nb, sizeof(nb));
	}
	/* Read the clock only now: typing the passphrase takes time. */
	issued_at = o.v[O_ISSUED_AT] != NULL ? o.issued_at : now_ms();
	if ((body = cmd_body(&o, sid, k.id, issued_at, nonce)) == NULL)
		goto out;
	env = cmd_envelope(body, s->sk);
	sodium_free(s); /* nothing secret is needed past here */
	s = NULL;
	if (env == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		goto out;
	}
	if (o.sign_only) {
		printf("%s\n", env);
		code = CTL_EXIT_OK;
		goto out;
	}
	if (!ipc_trust_request_fits(strlen(env))) {
		fprintf(stderr,
		        "fxbreakerctl: the command is %zu bytes, over the "
		        "service's limit of %d (shorten --reason)\n",
		        strlen(env), IPC_TRUST_REQUEST_MAX);
		goto out;
	}
	enum fxb_err e = ipc_request_once(t.url, env, o.timeout_ms, &reply,
	                                  err, sizeof(err));
	if (e != FXB_OK) {
		if (e == FXB_ERR_NOMEM)
			fprintf(stderr, "fxbreakerctl: out of memory\n");
		else
			ctl_unreachable(&t, err);
		if (e == FXB_ERR_UNAVAILABLE)
			code = CTL_EXIT_UNCONFIRMED;
		goto out;
	}
	code = cmd_reply(&o, reply);
out:
	/* The service may have applied it and lost the reply, or not
	 * logged it yet: the very same command again gets the stored
	 * answer and does nothing twice. */
	if (code == CTL_EXIT_UNCONFIRMED) {
		fprintf(stderr,
		        "fxbreakerctl: it may have been applied; "
		        "to ask again without applying it twice, "
		        "repeat the command with --issued-at %lld "
		        "--nonce %s\n",
		        (long long)issued_at, nonce);
		code = CTL_EXIT_USAGE;
	}
	sodium_free(s);
	json_decref(body);
	free(env);
	free(reply);
	return code;
}
