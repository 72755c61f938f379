/*
 * trust_test.c: the admin protocol's trust rules (ipc/ipc_trust.h), which
 * fxbreakerd and fxbreakerctl must apply alike: key ids of known keys,
 * what a signature covers (RFC 8032's first key, so the values can be
 * checked by hand), names, nonces, keys in hex and in files with their
 * exact messages, and the request cap at its boundary.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_server.h"
#include "ipc_trust.h"
#include "testlib.h"

/* RFC 8032, section 7.1, TEST 1. */
static const char rfc_seed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pk[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static void
unhex(unsigned char *out, size_t n, const char *hex)
{
	size_t got = 0;
	if (sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL) != 0 ||
	    got != n)
		abort(); /* a typo in this file */
}

static void
rfc_keypair(unsigned char pk[32], unsigned char sk[64])
{
	unsigned char seed[32];
	unhex(seed, sizeof(seed), rfc_seed);
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* The first 8 bytes of BLAKE2b-256, as Python's
 * hashlib.blake2b(pk, digest_size=32).hexdigest()[:16] gives them. */
static void
test_key_id(void)
{
	static const struct {
		const char *pk, *id;
	} cases[] = {
	    {"000000000000000000000000000000000000000000000000000000000000000"
	     "0",
	     "89eb0d6a8a691dae"},
	    {"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	     "f",
	     "e2021160500f0119"},
	    {rfc_pk, "7849ac3049680be1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char pk[32];
		char id[IPC_TRUST_KEY_ID_SIZE];
		memset(id, 'x', sizeof(id));
		unhex(pk, sizeof(pk), cases[i].pk);
		ipc_trust_key_id(pk, id);
		CHECK_STR(id, cases[i].id);
	}
	/* The RFC's seed gives the RFC's public key: the pair below is
	 * the one the RFC prints. */
	unsigned char pk[32], sk[64], want[32];
	rfc_keypair(pk, sk);
	unhex(want, sizeof(want), rfc_pk);
	CHECK(memcmp(pk, want, 32) == 0);
}

/* The signature covers "fxbreaker/command/v1\n" and then the body's very
 * bytes; verify takes exactly that and nothing near it. */
static void
test_sign_verify(void)
{
	static const char body[] = "{\"v\":1,\"cmd\":\"suspend\"}";
	static const char domain[] = "fxbreaker/command/v1\n";
	unsigned char pk[32], sk[64], sig[64], other_pk[32], other_sk[64];
	char b64[IPC_TRUST_SIG_B64_SIZE], want[IPC_TRUST_SIG_B64_SIZE];
	char m[sizeof(domain) + sizeof(body)];

	CHECK_STR(IPC_TRUST_DOMAIN, domain);
	rfc_keypair(pk, sk);
	CHECK_INT(ipc_trust_sign(body, strlen(body), sk, b64), FXB_OK);
	/* By hand: the domain, then the body, signed as one message. */
	snprintf(m, sizeof(m), "%s%s", domain, body);
	crypto_sign_detached(sig, NULL, (const unsigned char *)m, strlen(m),
	                     sk);
	sodium_bin2base64(want, sizeof(want), sig, sizeof(sig),
	                  sodium_base64_VARIANT_ORIGINAL);
	CHECK_STR(b64, want);
	/* Ed25519 is deterministic: this key and body, this signature. */
	CHECK_STR(b64, "T9yJAO09Y0yzaAUnZJVGNYcVd4PvxEKvxtQc9FA/VDa9VSVmkzMbFd"
	               "ABUUrfVKsJRkk5ero2ablHscWq5acBAw==");
	CHECK(ipc_trust_verify(body, strlen(body), b64, pk));

	/* The body alone, without the domain, is not what was signed. */
	crypto_sign_detached(sig, NULL, (const unsigned char *)body,
	                     strlen(body), sk);
	sodium_bin2base64(want, sizeof(want), sig, sizeof(sig),
	                  sodium_base64_VARIANT_ORIGINAL);
	CHECK(!ipc_trust_verify(body, strlen(body), want, pk));

	/* One byte more or less of the body. */
	CHECK(!ipc_trust_verify(body, strlen(body) - 1, b64, pk));
	CHECK(!ipc_trust_verify("{\"v\":1,\"cmd\":\"suspend\"} ",
	                        strlen(body) + 1, b64, pk));
	/* Another key. */
	crypto_sign_keypair(other_pk, other_sk);
	CHECK(!ipc_trust_verify(body, strlen(body), b64, other_pk));

	/* One spelling of the signature: no padding dropped, nothing
	 * after it, not the URL-safe alphabet, not a short one. */
	char s[2 * IPC_TRUST_SIG_B64_SIZE];
	CHECK_INT(strlen(b64), 88);
	CHECK(b64[86] == '=' && b64[87] == '=');
	snprintf(s, sizeof(s), "%.86s", b64);
	CHECK(!ipc_trust_verify(body, strlen(body), s, pk));
	snprintf(s, sizeof(s), "%s\n", b64);
	CHECK(!ipc_trust_verify(body, strlen(body), s, pk));
	snprintf(s, sizeof(s), " %s", b64);
	CHECK(!ipc_trust_verify(body, strlen(body), s, pk));
	sodium_bin2base64(s, sizeof(s), sig, 63,
	                  sodium_base64_VARIANT_ORIGINAL);
	CHECK(!ipc_trust_verify(body, strlen(body), s, pk));
	CHECK(!ipc_trust_verify(body, strlen(body), "", pk));
	snprintf(s, sizeof(s), "%s", b64);
	for (char *c = s; *c != '\0'; c++)
		*c = *c == '/' ? '_' : *c == '+' ? '-' : *c;
	CHECK(strcmp(s, b64) != 0); /* the pinned one has a '/' */
	CHECK(!ipc_trust_verify(body, strlen(body), s, pk));

	/* An empty body is still a message: the domain alone. */
	CHECK_INT(ipc_trust_sign("", 0, sk, b64), FXB_OK);
	CHECK(ipc_trust_verify("", 0, b64, pk));
	crypto_sign_detached(sig, NULL, (const unsigned char *)domain,
	                     strlen(domain), sk);
	sodium_bin2base64(want, sizeof(want), sig, sizeof(sig),
	                  sodium_base64_VARIANT_ORIGINAL);
	CHECK_STR(b64, want);
}

static void
test_name(void)
{
	char n64[66];
	memset(n64, 'a', 64);
	n64[64] = '\0';
	CHECK(ipc_trust_name_ok(n64));
	n64[64] = 'a';
	n64[65] = '\0';
	CHECK(!ipc_trust_name_ok(n64));
	CHECK(!ipc_trust_name_ok(""));
	CHECK(ipc_trust_name_ok("a"));
	CHECK(ipc_trust_name_ok("alice"));
	CHECK(ipc_trust_name_ok("Alice.Kim_2-b"));
	CHECK(ipc_trust_name_ok("09AZaz._-"));
	CHECK(ipc_trust_name_ok("."));
	CHECK(ipc_trust_name_ok("-"));
	/* Each neighbour of the ranges, and what a shell or a file would
	 * trip on. */
	static const char *const bad[] = {
	    "a/b", "a:b", "a@b", "a[b", "a`b",  "a{b",  "a b",         "a\tb",
	    "a\n", "a,b", "a+b", "a'b", "a\"b", "a\\b", "kim\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ipc_trust_name_ok(bad[i]))
			test_fail(__FILE__, __LINE__, "accepted \"%s\"",
			          bad[i]);
	CHECK_STR(IPC_TRUST_NAME_RULE, "1 to 64 of A-Z a-z 0-9 . _ -");
}

static void
test_nonce(void)
{
	CHECK(ipc_trust_nonce_ok("0123456789abcdef0123456789abcdef"));
	CHECK(ipc_trust_nonce_ok("00000000000000000000000000000000"));
	CHECK(!ipc_trust_nonce_ok("0123456789abcdef0123456789abcde"));
	CHECK(!ipc_trust_nonce_ok("0123456789abcdef0123456789abcdef0"));
	CHECK(!ipc_trust_nonce_ok("0123456789ABCDEF0123456789abcdef"));
	CHECK(!ipc_trust_nonce_ok("0123456789abcdeg0123456789abcdef"));
	CHECK(!ipc_trust_nonce_ok("0123456789abcdef0123456789abcdef\n"));
	CHECK(!ipc_trust_nonce_ok(" 0123456789abcdef0123456789abcdef"));
	CHECK(!ipc_trust_nonce_ok(""));
	CHECK_INT(IPC_TRUST_NONCE_SIZE, 33);
	CHECK_STR(IPC_TRUST_NONCE_RULE, "32 lower-case hex digits");
}

/* The cap counts the request's bytes; the server's receive cap is the
 * same number. */
static void
test_request_cap(void)
{
	CHECK_INT(IPC_TRUST_REQUEST_MAX, 65536);
	CHECK_INT(IPC_RECV_MAX, IPC_TRUST_REQUEST_MAX);
	CHECK(ipc_trust_request_fits(0));
	CHECK(ipc_trust_request_fits(65535));
	CHECK(ipc_trust_request_fits(65536));
	CHECK(!ipc_trust_request_fits(65537));
	CHECK(!ipc_trust_request_fits((size_t)-1));
	CHECK_INT(IPC_TRUST_LIFETIME_MAX_MS, 600000);
}

static void
test_hex(void)
{
	unsigned char b[32], want[32];
	char up[65];
	unhex(want, sizeof(want), rfc_pk);
	CHECK(ipc_trust_hex(b, 32, rfc_pk, 64));
	CHECK(memcmp(b, want, 32) == 0);
	for (size_t i = 0; i < 65; i++)
		up[i] = (char)(rfc_pk[i] >= 'a' && rfc_pk[i] <= 'f'
		                   ? rfc_pk[i] - 'a' + 'A'
		                   : rfc_pk[i]);
	CHECK(ipc_trust_hex(b, 32, up, 64));
	CHECK(memcmp(b, want, 32) == 0);
	CHECK(!ipc_trust_hex(b, 32, rfc_pk, 63));
	CHECK(!ipc_trust_hex(b, 32, rfc_pk, 62));
	CHECK(!ipc_trust_hex(b, 31, rfc_pk, 64));
	CHECK(!ipc_trust_hex(b, 32, "", 0));
	char s[80];
	snprintf(s, sizeof(s), "%s\n", rfc_pk);
	CHECK(!ipc_trust_hex(b, 32, s, 65));
	snprintf(s, sizeof(s), "%s0", rfc_pk);
	CHECK(!ipc_trust_hex(b, 32, s, 65));
	CHECK(!ipc_trust_hex(b, 32, s, 66)); /* odd, and a NUL */
	snprintf(s, sizeof(s), "%.31sg%s", rfc_pk, rfc_pk + 32);
	CHECK(!ipc_trust_hex(b, 32, s, 64));
	snprintf(s, sizeof(s), "%.32s  %s", rfc_pk, rfc_pk + 34);
	CHECK(!ipc_trust_hex(b, 32, s, 64));
	/* A NUL inside what the caller counts is not hex. */
	memcpy(s, rfc_pk, 64);
	s[10] = '\0';
	CHECK(!ipc_trust_hex(b, 32, s, 64));
}

static char tmpdir[64];

/* Writes len bytes of text to tmpdir/name; its path into path. */
static void
put_file(const char *name, const char *text, size_t len, char *path,
         size_t cap)
{
	snprintf(path, cap, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
}

/* A key file as the service writes it and as people edit it; anything
 * else refused with the file's name and what it should have held. */
static void
test_hex_file(void)
{
	unsigned char pk[32], want[32], sk[64];
	char path[128], err[256], msg[256], text[512];
	unhex(want, sizeof(want), rfc_pk);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fxb-trust-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		test_fail(__FILE__, __LINE__, "mkdtemp failed");
		return;
	}

	/* The file: before, the first `digits` of the key, after. */
	static const struct {
		const char *name, *before;
		int digits;
		const char *after;
		bool ok;
	} cases[] = {
	    {"plain", "", 64, "", true},
	    {"newline", "", 64, "\n", true},
	    {"trailing", "", 64, " \n \n\n ", true},
	    {"crlf", "", 64, "\r\n", false},
	    {"leading", " ", 64, "\n", false},
	    {"two", "", 64, "\n00\n", false},
	    {"short", "", 62, "\n", false},
	    {"long", "", 64, "00\n", false},
	    {"tab", "", 64, "\t\n", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n =
		    snprintf(text, sizeof(text), "%s%.*s%s", cases[i].before,
		             cases[i].digits, rfc_pk, cases[i].after);
		put_file(cases[i].name, text, (size_t)n, path, sizeof(path));
		memset(pk, 0xa5, sizeof(pk));
		strcpy(err, "untouched");
		enum ipc_trust_hex_file r = ipc_trust_hex_file_read(
		    path, "public key", pk, 32, err, sizeof(err));
		if (cases[i].ok) {
			if (r != IPC_TRUST_HEX_FILE_OK)
				test_fail(__FILE__, __LINE__, "%s: %s",
				          cases[i].name, err);
			CHECK(memcmp(pk, want, 32) == 0);
			CHECK_STR(err, "untouched");
			continue;
		}
		if (r != IPC_TRUST_HEX_FILE_BAD)
			test_fail(__FILE__, __LINE__, "%s: accepted",
			          cases[i].name);
		snprintf(msg, sizeof(msg), "%s: not a public key in hex",
		         path);
		CHECK_STR(err, msg);
		CHECK(pk[0] == 0xa5 && pk[31] == 0xa5); /* out untouched */
	}

	/* A NUL after the key: the file is not text. */
	memcpy(text, rfc_pk, 64);
	memcpy(text + 64, "\0\n", 2);
	put_file("nul", text, 66, path, sizeof(path));
	CHECK_INT(ipc_trust_hex_file_read(path, "public key", pk, 32, err,
	                                  sizeof(err)),
	          IPC_TRUST_HEX_FILE_BAD);
	put_file("empty", "", 0, path, sizeof(path));
	CHECK_INT(
	    ipc_trust_hex_file_read(path, "key", pk, 32, err, sizeof(err)),
	    IPC_TRUST_HEX_FILE_BAD);
	snprintf(msg, sizeof(msg), "%s: not a key in hex", path);
	CHECK_STR(err, msg);

	/* Only the first 255 bytes are read: spaces past them are not
	 * seen, and a key past them is not found. */
	memcpy(text, rfc_pk, 64);
	memset(text + 64, ' ', 300);
	put_file("spaces", text, 364, path, sizeof(path));
	CHECK_INT(ipc_trust_hex_file_read(path, "public key", pk, 32, err,
	                                  sizeof(err)),
	          IPC_TRUST_HEX_FILE_OK);
	memset(text, '\n', 200);
	memcpy(text + 200, rfc_pk, 64);
	put_file("late", text, 264, path, sizeof(path));
	CHECK_INT(ipc_trust_hex_file_read(path, "public key", pk, 32, err,
	                                  sizeof(err)),
	          IPC_TRUST_HEX_FILE_BAD);

	/* A secret key: 64 bytes, 128 digits. */
	unsigned char rpk[32], rsk[64];
	rfc_keypair(rpk, rsk);
	char skhex[129];
	sodium_bin2hex(skhex, sizeof(skhex), rsk, sizeof(rsk));
	int n = snprintf(text, sizeof(text), "%s\n", skhex);
	put_file("log.key", text, (size_t)n, path, sizeof(path));
	CHECK_INT(
	    ipc_trust_hex_file_read(path, "key", sk, 64, err, sizeof(err)),
	    IPC_TRUST_HEX_FILE_OK);
	CHECK(memcmp(sk, rsk, 64) == 0);
	/* ... which is not a public key. */
	CHECK_INT(ipc_trust_hex_file_read(path, "public key", pk, 32, err,
	                                  sizeof(err)),
	          IPC_TRUST_HEX_FILE_BAD);

	/* Missing: the caller says what to do; err is not written. */
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	strcpy(err, "untouched");
	CHECK_INT(ipc_trust_hex_file_read(path, "public key", pk, 32, err,
	                                  sizeof(err)),
	          IPC_TRUST_HEX_FILE_UNREADABLE);
	CHECK_STR(err, "untouched");

	static const char *const names[] = {
	    "plain", "newline", "trailing", "crlf",    "leading",
	    "two",   "short",   "long",     "tab",     "nul",
	    "empty", "spaces",  "late",     "log.key",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(tmpdir);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	    {"key_id", test_key_id},
	    {"sign_verify", test_sign_verify},
	    {"name", test_name},
	    {"nonce", test_nonce},
	    {"request_cap", test_request_cap},
	    {"hex", test_hex},
	    {"hex_file", test_hex_file},
	};
	if (sodium_init() < 0) {
		fprintf(stderr, "trust_test: libsodium failed to start\n");
		return 1;
	}
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
