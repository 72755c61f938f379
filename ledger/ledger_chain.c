/*
 * ledger_chain.c: the bytes of the hash chain and of a signed checkpoint:
 * which columns a row hash covers and how each is encoded, a checkpoint's
 * body, signature and exported note.  docs/LEDGER.md is the
 * specification; the byte layout here must match it and
 * ledger/fxb_verify_chain.py.  No SQL is run here: the files that write,
 * set up and verify the chain all hash through these functions.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"

static const char row_prefix[] = "fxbreaker/log/v1";           /* 16 bytes */
static const char ckpt_prefix[] = "fxbreaker/checkpoint/v1\n"; /* 24 bytes */

/* ---- row hashes ---- */

static void
put_int(crypto_generichash_state *st, int64_t v)
{
	unsigned char b[9];
	uint64_t u = (uint64_t)v;
	b[0] = 0x01;
	for (int i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(u >> (56 - 8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

static void
put_null(crypto_generichash_state *st)
{
	unsigned char b = 0x00;
	crypto_generichash_update(st, &b, 1);
}

static void
put_text(crypto_generichash_state *st, const char *s)
{
	if (s == NULL) {
		put_null(st);
		return;
	}
	size_t n = strlen(s);
	unsigned char b[5] = {0x02, (unsigned char)(n >> 24),
	                      (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};
	crypto_generichash_update(st, b, sizeof(b));
	crypto_generichash_update(st, (const unsigned char *)s, n);
}

void
ledger_row_hash(const unsigned char log_id[32], const unsigned char prev[32],
                const struct ledger_chain_row *r, unsigned char out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)row_prefix, 16);
	crypto_generichash_update(&st, log_id, 32);
	crypto_generichash_update(&st, prev, 32);
	put_int(&st, r->seq);
	put_int(&st, r->t);
	put_text(&st, r->event);
	put_text(&st, r->rule);
	put_text(&st, r->kind);
	put_text(&st, r->scope);
	put_text(&st, r->scope_type);
	if (r->suspension_null)
		put_null(&st);
	else
		put_int(&st, r->suspension);
	put_text(&st, r->mode);
	put_text(&st, r->detail);
	put_int(&st, r->logged_at);
	crypto_generichash_final(&st, out, 32);
}

/* The chain's columns of a row selected as "seq, t, event, rule, kind,
 * scope, scope_type, suspension, mode, detail, logged_at, ..." (every
 * reader of the chain selects them in this order). */
struct ledger_chain_row
ledger_chain_row_read(sqlite3_stmt *st)
{
	struct ledger_chain_row r = {
	    .seq = sqlite3_column_int64(st, 0),
	    .t = sqlite3_column_int64(st, 1),
	    .event = (const char *)sqlite3_column_text(st, 2),
	    .rule = (const char *)sqlite3_column_text(st, 3),
	    .kind = (const char *)sqlite3_column_text(st, 4),
	    .scope = (const char *)sqlite3_column_text(st, 5),
	    .scope_type = (const char *)sqlite3_column_text(st, 6),
	    .suspension = sqlite3_column_int64(st, 7),
	    .suspension_null = sqlite3_column_type(st, 7) == SQLITE_NULL,
	    .mode = (const char *)sqlite3_column_text(st, 8),
	    .detail = (const char *)sqlite3_column_text(st, 9),
	    .logged_at = sqlite3_column_int64(st, 10),
	};
	return r;
}

/* The row as ledger_append stores it (append_row in ledger_append.c
 * must match): shadow or enforce for the mode, "{}" for no detail, and
 * no suspension (0) as NULL, so that the hash covers what a verifier
 * reads back. */
struct ledger_chain_row
ledger_chain_row_of(const struct ledger_row *r, int64_t logged_at)
{
	struct ledger_chain_row c = {
	    .seq = r->seq,
	    .t = r->t,
	    .event = r->event,
	    .rule = r->rule,
	    .kind = r->kind,
	    .scope = r->scope,
	    .scope_type = r->scope_type,
	    .suspension = r->suspension,
	    .suspension_null = r->suspension <= 0,
	    .mode = r->shadow ? "shadow" : "enforce",
	    .detail = r->detail != NULL ? r->detail : "{}",
	    .logged_at = logged_at,
	};
	return c;
}

/* ---- checkpoints ---- */

void
ledger_checkpoint_body(char *buf, size_t cap, const unsigned char log_id[32],
                       int64_t size, const unsigned char head[32], int64_t t)
{
	char lid[65], h[65];
	sodium_bin2hex(lid, sizeof(lid), log_id, 32);
	sodium_bin2hex(h, sizeof(h), head, 32);
	snprintf(buf, cap,
	         "fxbreaker checkpoint v1\nlog %s\nsize %lld\nhead %s\ntime "
	         "%lld\n",
	         lid, (long long)size, h, (long long)t);
}

void
ledger_checkpoint_sign(const char *body, const unsigned char sk[64],
                       unsigned char sig[64])
{
	size_t n = strlen(body);
	unsigned char *m = malloc(24 + n);
	if (m == NULL)
		abort(); /* a few hundred bytes */
	memcpy(m, ckpt_prefix, 24);
	memcpy(m + 24, body, n);
	crypto_sign_detached(sig, NULL, m, 24 + n, sk);
	free(m);
}

bool
ledger_checkpoint_sig_one(const char *body, const unsigned char sig[64],
                          const unsigned char pk[32])
{
	size_t n = strlen(body);
	unsigned char *m = malloc(24 + n);
	if (m == NULL)
		return false;
	memcpy(m, ckpt_prefix, 24);
	memcpy(m + 24, body, n);
	bool ok = crypto_sign_verify_detached(sig, m, 24 + n, pk) == 0;
	free(m);
	return ok;
}

char *
ledger_checkpoint_note(const char *body, const char *key_id,
                       const unsigned char sig[64])
{
	char b64[128];
	sodium_bin2base64(b64, sizeof(b64), sig, 64,
	                  sodium_base64_VARIANT_ORIGINAL);
	size_t cap = strlen(body) + strlen(key_id) + strlen(b64) + 16;
	char *note = malloc(cap);
	if (note != NULL)
		snprintf(note, cap, "%s\n\xe2\x80\x94 %s %s\n", body, key_id,
		         b64);
	return note;
}

/* A checkpoint is good if any of the log's keys signed it (a log keeps
 * its checkpoints across a key rotation). */
bool
ledger_checkpoint_sig_ok(const char *body, const unsigned char sig[64],
                         const unsigned char (*pks)[32], size_t npks)
{
	for (size_t i = 0; i < npks; i++)
		if (ledger_checkpoint_sig_one(body, sig, pks[i]))
			return true;
	return false;
}

/* Parses a checkpoint body into its fields; false if it is not one. */
bool
ledger_checkpoint_parse(const char *body, char lid[65], int64_t *size,
                        char head[65], int64_t *t)
{
	long long sz, tt;
	int n = 0;
	if (sscanf(body,
	           "fxbreaker checkpoint v1\nlog %64[0-9a-f]\nsize %lld\nhead "
	           "%64[0-9a-f]\ntime %lld\n%n",
	           lid, &sz, head, &tt, &n) != 4 ||
	    body[n] != '\0' || strlen(lid) != 64 || strlen(head) != 64)
		return false;
	*size = sz;
	*t = tt;
	return true;
}
