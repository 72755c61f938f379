/*
 * ledger_chain.c: the hash chain, the log key and signed checkpoints, and
 * verification (docs/LEDGER.md is the specification; the byte layout here
 * must match it and ledger/fxb_verify_chain.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc_trust.h"
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

/* ---- the log key ---- */

/* Reads a file holding `n` bytes as hex: 0, -1 if it cannot be opened,
 * -2 if it is not n bytes in hex (the shared reader, ipc_trust.h). */
static int
read_hex_file(const char *path, unsigned char *out, size_t n)
{
	char err[8];
	switch (
	    ipc_trust_hex_file_read(path, "key", out, n, err, sizeof(err))) {
	case IPC_TRUST_HEX_FILE_OK:
		return 0;
	case IPC_TRUST_HEX_FILE_UNREADABLE:
		return -1;
	default:
		return -2;
	}
}

static int
write_hex_file(const char *path, const unsigned char *b, size_t n, int mode)
{
	char hex[256];
	sodium_bin2hex(hex, sizeof(hex), b, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -1;
	size_t len = strlen(hex);
	hex[len++] = '\n';
	int rc =
	    write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

enum fxb_err
ledger_key_load(const char *dir, bool create, unsigned char pk[32],
                unsigned char sk[64], char *err, size_t errlen)
{
	char kpath[4096], ppath[4096];
	snprintf(kpath, sizeof(kpath), "%s/log.key", dir);
	snprintf(ppath, sizeof(ppath), "%s/log.pub", dir);
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return FXB_ERR_IO;
	}
	int rk = read_hex_file(kpath, sk, 64);
	int rp = read_hex_file(ppath, pk, 32);
	if (rk == -1 && rp == -1 && create) {
		crypto_sign_keypair(pk, sk);
		if (write_hex_file(kpath, sk, 64, 0400) != 0 ||
		    write_hex_file(ppath, pk, 32, 0444) != 0) {
			snprintf(err, errlen,
			         "%s: cannot write the log key: %s", dir,
			         strerror(errno));
			return FXB_ERR_IO;
		}
		return FXB_OK;
	}
	if (rk != 0 || rp != 0) {
		snprintf(err, errlen, "%s: %s", rk != 0 ? kpath : ppath,
		         (rk != 0 ? rk : rp) == -1 ? "missing (the other half "
		                                     "of the log key is there)"
		                                   : "not a key in hex");
		return FXB_ERR_IO;
	}
	/* The two halves must belong together. */
	unsigned char derived[32];
	crypto_sign_ed25519_sk_to_pk(derived, sk);
	if (memcmp(derived, pk, 32) != 0) {
		snprintf(err, errlen, "%s does not match %s", ppath, kpath);
		return FXB_ERR_IO;
	}
	return FXB_OK;
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

static bool
checkpoint_sig_one(const char *body, const unsigned char sig[64],
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
		if (checkpoint_sig_one(body, sig, pks[i]))
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

/* ---- verification ---- */

struct verifier {
	ledger_finding_fn fn;
	void *arg;
	int worst; /* 0, or the exit code of the worst finding so far */
	int64_t nfindings;
};

static void find(struct verifier *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
find(struct verifier *v, int code, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->nfindings++;
	v->fn(v->arg, line);
	/* 1 (tampered) outranks 2 (truncated, forked), which outranks 4. */
	if (v->worst == 0 || (code == 1) || (code == 2 && v->worst == 4))
		v->worst = code;
}

/* Compares a checkpoint (from the table or an anchor note) with the
 * recomputed chain.  sig_ok, if not NULL, is the signature's check done
 * beforehand (sig_check_chunk). */
static void
check_point(struct verifier *v, const char *what, const char *body,
            const unsigned char sig[64], const unsigned char (*pks)[32],
            size_t npks, const char *log_id_hex, unsigned char (*hashes)[32],
            int64_t nrows, const bool *sig_ok)
{
	char lid[65], head[65], got[65];
	int64_t size, t;
	if (!ledger_checkpoint_parse(body, lid, &size, head, &t)) {
		find(v, 1, "%s: not a checkpoint body", what);
		return;
	}
	if (sig_ok != NULL ? !*sig_ok
	                   : !ledger_checkpoint_sig_ok(body, sig, pks, npks)) {
		find(v, 1,
		     "%s (size %lld): bad signature (forged, or not this "
		     "key)",
		     what, (long long)size);
		return;
	}
	if (strcmp(lid, log_id_hex) != 0) {
		find(v, 1, "%s (size %lld): signed for another log (%.16s...)",
		     what, (long long)size, lid);
		return;
	}
	if (size > nrows) {
		find(v, 2,
		     "%s: the log had %lld rows, it has %lld: truncated after "
		     "seq %lld",
		     what, (long long)size, (long long)nrows,
		     (long long)nrows);
		return;
	}
	sodium_bin2hex(got, sizeof(got), hashes[size - 1], 32);
	if (size > 0 && strcmp(got, head) != 0)
		find(v, 2,
		     "%s: head at size %lld is %.16s..., the rows give "
		     "%.16s...: "
		     "forked (rows rewritten)",
		     what, (long long)size, head, got);
}

/*
 * Signatures are nearly all of verify's time: the daemon signs a
 * checkpoint after every commit that opens or ends a suspension, so a log
 * holds one for every one or two rows, and an Ed25519 verification costs
 * about 35 us, some 50 times a row's hash (bench/ledger_bench.sh).  So the
 * stored checkpoints are read in chunks, each chunk's signatures are
 * checked by one thread per CPU, and then the chunk is judged in order as
 * before: the findings and their order do not change.
 */
#define SIG_CHUNK       4096
#define SIG_THREADS_MAX 16

struct ckpt {
	int64_t size, t;
	char *body; /* the column's text, or NULL */
	unsigned char sig[64];
	bool has_sig; /* a 64-byte signature */
	bool sig_ok;  /* checked if has_sig and body */
};

struct sig_share {
	struct ckpt *c;
	size_t n, first, stride;
	const unsigned char (*pks)[32];
	size_t npks;
};

static void *
sig_check_share(void *arg)
{
	const struct sig_share *w = arg;
	for (size_t i = w->first; i < w->n; i += w->stride) {
		struct ckpt *c = &w->c[i];
		c->sig_ok =
		    c->has_sig && c->body != NULL &&
		    ledger_checkpoint_sig_ok(c->body, c->sig, w->pks, w->npks);
	}
	return NULL;
}

/* Checks the signatures of c[0..n), on every CPU; a thread that cannot
 * start leaves its share to this one. */
static void
sig_check_chunk(struct ckpt *c, size_t n, const unsigned char (*pks)[32],
                size_t npks)
{
	pthread_t th[SIG_THREADS_MAX];
	struct sig_share w[SIG_THREADS_MAX];
	bool started[SIG_THREADS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nth = cpus < 1                 ? 1
	             : cpus > SIG_THREADS_MAX ? SIG_THREADS_MAX
	                                      : (size_t)cpus;
	if (nth > n / 64 + 1)
		nth = n / 64 + 1; /* a small table: not worth a thread */
	for (size_t i = 0; i < nth; i++) {
		w[i] = (struct sig_share){c, n, i, nth, pks, npks};
		started[i] =
		    i > 0 &&
		    pthread_create(&th[i], NULL, sig_check_share, &w[i]) == 0;
	}
	for (size_t i = 0; i < nth; i++)
		if (started[i])
			pthread_join(th[i], NULL);
		else
			sig_check_share(&w[i]);
}

static bool
has_trigger(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool yes = false;
	if (sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM sqlite_master WHERE type = "
	                       "'trigger' AND name = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* Reads an anchor note: body, key id and signature. */
int
ledger_note_read(const char *path, char *body, size_t cap,
                 unsigned char sig[64])
{
	char buf[2048];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *sep = strstr(buf, "\n\n\xe2\x80\x94 ");
	if (sep == NULL)
		return -2;
	size_t blen = (size_t)(sep - buf) + 1;
	if (blen >= cap)
		return -2;
	memcpy(body, buf, blen);
	body[blen] = '\0';
	char *line = sep + 2 + 4; /* "\n\n", the dash (3 bytes), space */
	char *space = strchr(line, ' ');
	if (space == NULL)
		return -2;
	char *b64 = space + 1;
	char *end = strchr(b64, '\n');
	size_t b64len = end != NULL ? (size_t)(end - b64) : strlen(b64);
	size_t got = 0;
	if (sodium_base642bin(sig, 64, b64, b64len, NULL, &got, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != 64)
		return -2;
	return 0;
}

int
ledger_verify(const char *path, const unsigned char (*pks)[32], size_t npks,
              const char *const *anchors, size_t nanchors,
              ledger_finding_fn fn, void *arg)
{
	struct verifier v = {fn, arg, 0, 0};
	char wal[4096], lid_hex[65] = "";
	unsigned char log_id[32], prev[32] = {0}, h[32];
	unsigned char(*hashes)[32] = NULL;
	struct ckpt *ck = NULL;
	size_t nck = 0; /* bodies in ck to free */
	int64_t nrows = 0, cap = 0, covered = 0, expect = 1;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;

	if (sodium_init() < 0) {
		fn(arg, "libsodium failed to start");
		return 3;
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0) {
		fn(arg,
		   "live database: its -wal file holds frames that a reader "
		   "could miss; verify a snapshot (fxbreakerctl export)");
		return 3;
	}
	if (stat(path, &sb) != 0) {
		fn(arg, "cannot open the database");
		return 3;
	}
	char uri[4200];
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", path);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
	                    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT value FROM ledger_meta WHERE key = "
	                       "'log_id'",
	                       -1, &st, NULL) != SQLITE_OK) {
		fn(arg, "not an fxbreaker ledger (no ledger_meta)");
		sqlite3_close(db);
		return 3;
	}
	size_t got = 0;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sodium_hex2bin(
	        log_id, 32, (const char *)sqlite3_column_text(st, 0),
	        (size_t)sqlite3_column_bytes(st, 0), NULL, &got, NULL) != 0 ||
	    got != 32) {
		sqlite3_finalize(st);
		find(&v, 1, "the log id is missing or damaged");
		sqlite3_close(db);
		return 1;
	}
	sqlite3_finalize(st);
	sodium_bin2hex(lid_hex, sizeof(lid_hex), log_id, 32);

	/* The chain: every row from its predecessor. */
	sqlite3_prepare_v2(
	    db,
	    "SELECT seq, t, event, rule, kind, scope, scope_type, "
	    "suspension, mode, detail, logged_at, prev_hash, "
	    "hash FROM suspension_log ORDER BY seq",
	    -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ledger_chain_row r = ledger_chain_row_read(st);
		const void *sp = sqlite3_column_blob(st, 11);
		const void *sh = sqlite3_column_blob(st, 12);
		bool sp_ok = sp != NULL && sqlite3_column_bytes(st, 11) == 32;
		bool sh_ok = sh != NULL && sqlite3_column_bytes(st, 12) == 32;
		if (r.seq != expect)
			find(&v, 1,
			     "seq %lld: missing (rows %lld..%lld deleted)",
			     (long long)expect, (long long)expect,
			     (long long)r.seq - 1);
		if (!sp_ok || memcmp(sp, prev, 32) != 0)
			find(&v, 1,
			     "seq %lld: does not follow seq %lld (inserted, "
			     "reordered, or a row before it deleted)",
			     (long long)r.seq, (long long)expect - 1);
		ledger_row_hash(log_id, prev, &r, h);
		if (!sh_ok || memcmp(sh, h, 32) != 0)
			find(&v, 1,
			     "seq %lld: edited (its hash does not match "
			     "its contents)",
			     (long long)r.seq);
		/* Go on from what the row says it is, so that one edit is
		 * one finding, not a cascade. */
		memcpy(prev, sh_ok ? sh : h, 32);
		if (nrows == cap) {
			cap = cap != 0 ? cap * 2 : 1024;
			void *nh = realloc(hashes, (size_t)cap * 32);
			if (nh == NULL) {
				fn(arg, "out of memory");
				v.worst = 3;
				goto out;
			}
			hashes = nh;
		}
		/* The head a checkpoint must match: the recomputed chain of
		 * the contents as they are. */
		memcpy(hashes[nrows], h, 32);
		nrows++;
		expect = r.seq + 1;
	}
	sqlite3_finalize(st);
	st = NULL;

	/* Checkpoints stored in the log, a chunk at a time: read, their
	 * signatures checked in parallel, judged in order. */
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT size, body, signature, t FROM checkpoints "
	        "ORDER BY size",
	        -1, &st, NULL) == SQLITE_OK) {
		ck = calloc(SIG_CHUNK, sizeof(*ck));
		bool more = ck != NULL;
		if (ck == NULL) {
			fn(arg, "out of memory");
			v.worst = 3;
			goto out;
		}
		while (more) {
			size_t n = 0;
			while (n < SIG_CHUNK &&
			       (more = sqlite3_step(st) == SQLITE_ROW)) {
				struct ckpt *c = &ck[n++];
				const char *body =
				    (const char *)sqlite3_column_text(st, 1);
				size_t blen =
				    (size_t)sqlite3_column_bytes(st, 1);
				const void *sig = sqlite3_column_blob(st, 2);
				c->size = sqlite3_column_int64(st, 0);
				c->t = sqlite3_column_int64(st, 3);
				c->body = NULL;
				if (body != NULL &&
				    (c->body = malloc(blen + 1)) == NULL) {
					nck = n;
					fn(arg, "out of memory");
					v.worst = 3;
					goto out;
				}
				if (body != NULL) {
					memcpy(c->body, body, blen);
					c->body[blen] = '\0';
				}
				c->has_sig = sig != NULL &&
				             sqlite3_column_bytes(st, 2) == 64;
				if (c->has_sig)
					memcpy(c->sig, sig, 64);
			}
			nck = n;
			sig_check_chunk(ck, n, pks, npks);
			for (size_t i = 0; i < n; i++) {
				const struct ckpt *c = &ck[i];
				int64_t bsize, bt;
				char what[64], blid[65], bhead[65];
				snprintf(what, sizeof(what), "checkpoint %lld",
				         (long long)c->size);
				/* The columns must say what the signed body
				 * says. */
				if (c->body != NULL &&
				    ledger_checkpoint_parse(
				        c->body, blid, &bsize, bhead, &bt) &&
				    (bsize != c->size || bt != c->t))
					find(&v, 1,
					     "%s: its columns differ from its "
					     "signed body (edited)",
					     what);
				if (!c->has_sig) {
					find(&v, 1, "%s: no signature", what);
					continue;
				}
				check_point(&v, what, c->body, c->sig, pks,
				            npks, lid_hex, hashes, nrows,
				            &c->sig_ok);
				if (c->size > covered && c->size <= nrows)
					covered = c->size;
			}
			for (size_t i = 0; i < n; i++)
				free(ck[i].body);
			nck = 0;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	/* Exported anchors, kept out of the database's reach. */
	for (size_t i = 0; i < nanchors; i++) {
		char body[1024], what[4200], lid[65], head[65];
		unsigned char sig[64];
		int64_t size, t;
		snprintf(what, sizeof(what), "anchor %s", anchors[i]);
		int rc = ledger_note_read(anchors[i], body, sizeof(body), sig);
		if (rc == -1) {
			fn(arg, "cannot read an anchor file");
			v.worst = v.worst == 1 || v.worst == 2 ? v.worst : 3;
			continue;
		}
		if (rc != 0) {
			find(&v, 1, "%s: not a checkpoint note", what);
			continue;
		}
		check_point(&v, what, body, sig, pks, npks, lid_hex, hashes,
		            nrows, NULL);
		if (ledger_checkpoint_parse(body, lid, &size, head, &t) &&
		    size > covered && size <= nrows)
			covered = size;
	}
	static const char *const triggers[] = {
	    "suspension_log_append_only_update",
	    "suspension_log_append_only_delete",
	    "checkpoints_append_only_update",
	    "checkpoints_append_only_delete",
	};
	for (size_t i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++)
		if (!has_trigger(db, triggers[i]))
			find(&v, 4, "policy: trigger %s is missing",
			     triggers[i]);
	if (nrows > covered)
		find(&v, 4,
		     "policy: rows %lld..%lld are not covered by a checkpoint "
		     "or anchor (a deleted tail there would not be seen)",
		     (long long)covered + 1, (long long)nrows);
out:
	if (st != NULL)
		sqlite3_finalize(st);
	sqlite3_close(db);
	free(hashes);
	for (size_t i = 0; i < nck; i++)
		free(ck[i].body);
	free(ck);
	char line[128];
	static const char *const verdicts[] = {"ok", "tampered", "truncated",
	                                       "usage", "policy"};
	snprintf(line, sizeof(line),
	         "verdict: %s (%lld rows, covered to %lld)", verdicts[v.worst],
	         (long long)nrows, (long long)covered);
	fn(arg, line);
	return v.worst;
}

/* ---- exported notes in the checkpoint directory ---- */

/*
 * Note file names.  The daemon exports checkpoint-SIZE.note (SIZE in 12
 * digits: export_note in daemon/daemon.c must match); a note that names
 * rows the log lost is renamed lost-TAG-checkpoint-SIZE.note at a
 * degraded start, so that a new row at a reused seq cannot overwrite the
 * evidence (docs/LEDGER.md "What verify can prove").
 */
static bool
note_name(const char *name, int64_t *size, bool *lost)
{
	char digits[13];
	long long tag;
	int n = 0;
	*lost = strncmp(name, "lost-", 5) == 0;
	if (*lost) {
		if (sscanf(name, "lost-%lld-%n", &tag, &n) != 1 || n == 0)
			return false;
		name += n;
	}
	n = 0;
	if (sscanf(name, "checkpoint-%12[0-9].note%n", digits, &n) != 1 ||
	    name[n] != '\0' || strlen(digits) != 12)
		return false;
	*size = strtoll(digits, NULL, 10);
	return true;
}

int
ledger_note_scan(const char *dir, ledger_note_fn fn, void *arg)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char path[4096];
	int rc = 0;
	if (dp == NULL)
		return -1;
	while (rc == 0 && (de = readdir(dp)) != NULL) {
		int64_t size;
		bool lost;
		if (!note_name(de->d_name, &size, &lost))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		rc = fn(arg, path, size, lost);
	}
	closedir(dp);
	return 0;
}

struct newest {
	char *path;
	size_t cap;
	int64_t size, below;
};

static int
newest_one(void *arg, const char *path, int64_t size, bool lost)
{
	struct newest *nw = arg;
	if (!lost && size > nw->size && size < nw->below) {
		nw->size = size;
		snprintf(nw->path, nw->cap, "%s", path);
	}
	return 0;
}

bool
ledger_note_newest(const char *dir, int64_t below, char *path, size_t cap,
                   int64_t *size)
{
	struct newest nw = {path, cap, 0, below};
	if (ledger_note_scan(dir, newest_one, &nw) != 0 || nw.size == 0)
		return false;
	*size = nw.size;
	return true;
}

struct aside {
	const char *dir;
	int64_t after;
	long long tag;
	size_t n;
	int err;
};

static int
aside_one(void *arg, const char *path, int64_t size, bool lost)
{
	struct aside *a = arg;
	char to[4200];
	if (lost || size <= a->after)
		return 0;
	snprintf(to, sizeof(to), "%s/lost-%lld-checkpoint-%012lld.note",
	         a->dir, a->tag, (long long)size);
	if (rename(path, to) == 0)
		a->n++;
	else
		a->err = errno;
	return 0;
}

long
ledger_notes_set_aside(const char *dir, int64_t after, int64_t tag)
{
	struct aside a = {dir, after, (long long)tag, 0, 0};
	if (ledger_note_scan(dir, aside_one, &a) != 0)
		return -1;
	if (a.err != 0) {
		errno = a.err;
		return -1;
	}
	return (long)a.n;
}
