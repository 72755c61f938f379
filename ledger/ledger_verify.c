/*
 * ledger_verify.c: verification, the proof docs/LEDGER.md promises, in two
 * readers of the same chain.  ledger_verify_tail is the daemon's check at
 * every start: on the open log, the last rows and the latest checkpoint,
 * stopping at the first fault.  ledger_verify is fxbreakerctl's check of
 * a snapshot file: every row, every stored checkpoint and every anchor
 * note, each fault one finding, then a verdict line and its exit code.
 * docs/LEDGER.md fixes the findings, the verdict and the exit codes;
 * ledger/fxb_verify_chain.py checks the same chain independently.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger_impl.h"

/* ---- the daemon's start: the tail ---- */

/* The last `rows` rows must chain, the first one's predecessor taken on
 * trust (what came before was checked when it was the tail). */
static bool
tail_chain(struct ledger *lg, int64_t rows, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	unsigned char prev[32] = {0}, h[32];
	bool ok = true, first = true;
	int64_t from = lg->last_seq - rows + 1, expect = from < 1 ? 1 : from;

	if (sqlite3_prepare_v2(
	        lg->db,
	        "SELECT seq, t, event, rule, kind, scope, "
	        "scope_type, suspension, mode, detail, logged_at, "
	        "prev_hash, hash FROM suspension_log WHERE seq >= "
	        "?1 ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK) {
		ledger_set_err(err, errlen, "verify", lg->db);
		return false;
	}
	sqlite3_bind_int64(st, 1, expect);
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		struct ledger_chain_row r = ledger_chain_row_read(st);
		const void *sp = sqlite3_column_blob(st, 11);
		const void *sh = sqlite3_column_blob(st, 12);
		if (sp == NULL || sh == NULL ||
		    sqlite3_column_bytes(st, 11) != 32 ||
		    sqlite3_column_bytes(st, 12) != 32) {
			snprintf(err, errlen, "seq %lld: no hash",
			         (long long)r.seq);
			ok = false;
			break;
		}
		if (first)
			memcpy(prev, sp, 32);
		first = false;
		ledger_row_hash(lg->log_id, prev, &r, h);
		if (r.seq != expect || memcmp(sp, prev, 32) != 0 ||
		    memcmp(sh, h, 32) != 0) {
			snprintf(
			    err, errlen,
			    "seq %lld: the chain is broken (edited, deleted "
			    "or inserted rows)",
			    (long long)r.seq);
			ok = false;
		}
		memcpy(prev, h, 32);
		expect = r.seq + 1;
	}
	sqlite3_finalize(st);
	return ok;
}

/* The latest checkpoint: signed with pk, and its head the hash of the
 * row it names (a deleted tail leaves it naming a row that is gone). */
static bool
tail_checkpoint(struct ledger *lg, const unsigned char pk[32], char *err,
                size_t errlen)
{
	sqlite3_stmt *st;
	bool ok = true;

	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT c.size, c.body, c.signature, l.hash = "
	                       "c.head FROM checkpoints c LEFT JOIN "
	                       "suspension_log l ON l.seq = c.size ORDER BY "
	                       "c.size DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return true; /* no checkpoints yet */
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *body = ledger_col_text(st, 1);
		const unsigned char *sig = sqlite3_column_blob(st, 2);
		bool sig_ok = sig != NULL &&
		              sqlite3_column_bytes(st, 2) == 64 &&
		              ledger_checkpoint_sig_one(body, sig, pk);
		if (!sig_ok || sqlite3_column_int(st, 3) != 1) {
			snprintf(err, errlen, "checkpoint %lld: %s",
			         (long long)sqlite3_column_int64(st, 0),
			         !sig_ok
			             ? "bad signature"
			             : "its head is not the row it names "
			               "(rows rewritten or the tail deleted)");
			ok = false;
		}
	}
	sqlite3_finalize(st);
	return ok;
}

bool
ledger_verify_tail(struct ledger *lg, const unsigned char pk[32], int64_t rows,
                   char *err, size_t errlen)
{
	return tail_chain(lg, rows, err, errlen) &&
	       tail_checkpoint(lg, pk, err, errlen);
}

/* ---- a snapshot: the whole chain ---- */

struct verifier {
	ledger_finding_fn fn;
	void *arg;
	int worst; /* 0, or the exit code of the worst finding so far */
	int64_t nfindings;
	const unsigned char (
	    *pks)[32]; /* a checkpoint signed by any is good */
	size_t npks;
	sqlite3 *db;
	unsigned char log_id[32];
	char lid_hex[65];
	/* The recomputed chain of the rows as they are: hashes[i] is the
	 * head a checkpoint of size i + 1 must name. */
	unsigned char (*hashes)[32];
	int64_t nrows;
	/* The largest size a signed checkpoint or anchor names within the
	 * log: the rows after it are covered by nothing. */
	int64_t covered;
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

/* Not a finding: the verify could not be done (exit code 3). */
static void
verify_oom(struct verifier *v)
{
	v->fn(v->arg, "out of memory");
	v->worst = 3;
}

/* Compares a checkpoint (from the table or an anchor note) with the
 * recomputed chain.  sig_ok, if not NULL, is the signature's check done
 * beforehand (sig_check_chunk). */
static void
check_point(struct verifier *v, const char *what, const char *body,
            const unsigned char sig[64], const bool *sig_ok)
{
	char lid[65], head[65], got[65];
	int64_t size, t;
	if (!ledger_checkpoint_parse(body, lid, &size, head, &t)) {
		find(v, 1, "%s: not a checkpoint body", what);
		return;
	}
	if (sig_ok != NULL
	        ? !*sig_ok
	        : !ledger_checkpoint_sig_ok(body, sig, v->pks, v->npks)) {
		find(v, 1,
		     "%s (size %lld): bad signature (forged, or not this "
		     "key)",
		     what, (long long)size);
		return;
	}
	if (strcmp(lid, v->lid_hex) != 0) {
		find(v, 1, "%s (size %lld): signed for another log (%.16s...)",
		     what, (long long)size, lid);
		return;
	}
	if (size > v->nrows) {
		find(v, 2,
		     "%s: the log had %lld rows, it has %lld: truncated after "
		     "seq %lld",
		     what, (long long)size, (long long)v->nrows,
		     (long long)v->nrows);
		return;
	}
	/* A size of 0 or less names no row: no head to compare, and no
	 * hashes[size - 1] to read. */
	if (size <= 0)
		return;
	sodium_bin2hex(got, sizeof(got), v->hashes[size - 1], 32);
	if (strcmp(got, head) != 0)
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

/* Opens the snapshot read-only and reads its log id.  0 to go on, or the
 * exit code to return at once, with no verdict line: 3 when it is not
 * something verify can read (a live database among them), 1 when its log
 * id is damaged. */
static int
verify_open(struct verifier *v, const char *path)
{
	char wal[4096], uri[4200];
	struct stat sb;
	sqlite3_stmt *st = NULL;
	size_t got = 0;

	if (sodium_init() < 0) {
		v->fn(v->arg, "libsodium failed to start");
		return 3;
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0) {
		v->fn(v->arg,
		      "live database: its -wal file holds frames that a "
		      "reader could miss; verify a snapshot (fxbreakerctl "
		      "export)");
		return 3;
	}
	if (stat(path, &sb) != 0) {
		v->fn(v->arg, "cannot open the database");
		return 3;
	}
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", path);
	if (sqlite3_open_v2(uri, &v->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
	                    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(v->db,
	                       "SELECT value FROM ledger_meta WHERE key = "
	                       "'log_id'",
	                       -1, &st, NULL) != SQLITE_OK) {
		v->fn(v->arg, "not an fxbreaker ledger (no ledger_meta)");
		sqlite3_close(v->db);
		return 3;
	}
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sodium_hex2bin(v->log_id, 32, ledger_col_text(st, 0),
	                   (size_t)sqlite3_column_bytes(st, 0), NULL, &got,
	                   NULL) != 0 ||
	    got != 32) {
		sqlite3_finalize(st);
		find(v, 1, "the log id is missing or damaged");
		sqlite3_close(v->db);
		return 1;
	}
	sqlite3_finalize(st);
	sodium_bin2hex(v->lid_hex, sizeof(v->lid_hex), v->log_id, 32);
	return 0;
}

/* The chain: every row from its predecessor, and the recomputed heads.
 * False if it ran out of memory (reported). */
static bool
verify_rows(struct verifier *v)
{
	sqlite3_stmt *st = NULL;
	unsigned char prev[32] = {0}, h[32];
	int64_t cap = 0, expect = 1;

	sqlite3_prepare_v2(v->db,
	                   "SELECT seq, t, event, rule, kind, scope, "
	                   "scope_type, suspension, mode, detail, "
	                   "logged_at, prev_hash, hash FROM suspension_log "
	                   "ORDER BY seq",
	                   -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ledger_chain_row r = ledger_chain_row_read(st);
		const void *sp = sqlite3_column_blob(st, 11);
		const void *sh = sqlite3_column_blob(st, 12);
		bool sp_ok = sp != NULL && sqlite3_column_bytes(st, 11) == 32;
		bool sh_ok = sh != NULL && sqlite3_column_bytes(st, 12) == 32;
		if (r.seq != expect)
			find(v, 1,
			     "seq %lld: missing (rows %lld..%lld deleted)",
			     (long long)expect, (long long)expect,
			     (long long)r.seq - 1);
		if (!sp_ok || memcmp(sp, prev, 32) != 0)
			find(v, 1,
			     "seq %lld: does not follow seq %lld (inserted, "
			     "reordered, or a row before it deleted)",
			     (long long)r.seq, (long long)expect - 1);
		ledger_row_hash(v->log_id, prev, &r, h);
		if (!sh_ok || memcmp(sh, h, 32) != 0)
			find(v, 1,
			     "seq %lld: edited (its hash does not match "
			     "its contents)",
			     (long long)r.seq);
		/* Go on from what the row says it is, so that one edit is
		 * one finding, not a cascade. */
		memcpy(prev, sh_ok ? sh : h, 32);
		if (v->nrows == cap) {
			cap = cap != 0 ? cap * 2 : 1024;
			void *nh = realloc(v->hashes, (size_t)cap * 32);
			if (nh == NULL) {
				verify_oom(v);
				sqlite3_finalize(st);
				return false;
			}
			v->hashes = nh;
		}
		/* The head a checkpoint must match: the recomputed chain of
		 * the contents as they are. */
		memcpy(v->hashes[v->nrows], h, 32);
		v->nrows++;
		expect = r.seq + 1;
	}
	sqlite3_finalize(st);
	return true;
}

/* Reads up to SIG_CHUNK stored checkpoints into ck; *n says how many
 * (their bodies are the caller's to free), *more whether the table may
 * hold more.  False if it ran out of memory (reported). */
static bool
ckpt_read_chunk(struct verifier *v, sqlite3_stmt *st, struct ckpt *ck,
                size_t *n, bool *more)
{
	*n = 0;
	while (*n < SIG_CHUNK && (*more = sqlite3_step(st) == SQLITE_ROW)) {
		struct ckpt *c = &ck[(*n)++];
		const char *body = ledger_col_text(st, 1);
		size_t blen = (size_t)sqlite3_column_bytes(st, 1);
		const void *sig = sqlite3_column_blob(st, 2);
		c->size = sqlite3_column_int64(st, 0);
		c->t = sqlite3_column_int64(st, 3);
		c->body = NULL;
		if (body != NULL && (c->body = malloc(blen + 1)) == NULL) {
			verify_oom(v);
			return false;
		}
		if (body != NULL) {
			memcpy(c->body, body, blen);
			c->body[blen] = '\0';
		}
		c->has_sig = sig != NULL && sqlite3_column_bytes(st, 2) == 64;
		if (c->has_sig)
			memcpy(c->sig, sig, 64);
	}
	return true;
}

/* Judges ck[0..n), signatures checked, in the table's order. */
static void
ckpt_judge_chunk(struct verifier *v, const struct ckpt *ck, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct ckpt *c = &ck[i];
		int64_t bsize, bt;
		char what[64], blid[65], bhead[65];
		snprintf(what, sizeof(what), "checkpoint %lld",
		         (long long)c->size);
		/* The columns must say what the signed body says. */
		if (c->body != NULL &&
		    ledger_checkpoint_parse(c->body, blid, &bsize, bhead,
		                            &bt) &&
		    (bsize != c->size || bt != c->t))
			find(v, 1,
			     "%s: its columns differ from its signed body "
			     "(edited)",
			     what);
		if (!c->has_sig) {
			find(v, 1, "%s: no signature", what);
			continue;
		}
		check_point(v, what, c->body, c->sig, &c->sig_ok);
		if (c->size > v->covered && c->size <= v->nrows)
			v->covered = c->size;
	}
}

/* Checkpoints stored in the log, a chunk at a time: read, their
 * signatures checked in parallel, judged in order.  False if it ran out
 * of memory (reported). */
static bool
verify_checkpoints(struct verifier *v)
{
	sqlite3_stmt *st = NULL;
	struct ckpt *ck;
	size_t n;
	bool more, ok = true;

	if (sqlite3_prepare_v2(v->db,
	                       "SELECT size, body, signature, t FROM "
	                       "checkpoints ORDER BY size",
	                       -1, &st, NULL) != SQLITE_OK)
		return true; /* a log from before the chain: no table */
	if ((ck = calloc(SIG_CHUNK, sizeof(*ck))) == NULL) {
		verify_oom(v);
		sqlite3_finalize(st);
		return false;
	}
	more = true;
	while (ok && more) {
		ok = ckpt_read_chunk(v, st, ck, &n, &more);
		if (ok) {
			sig_check_chunk(ck, n, v->pks, v->npks);
			ckpt_judge_chunk(v, ck, n);
		}
		for (size_t i = 0; i < n; i++)
			free(ck[i].body);
	}
	free(ck);
	sqlite3_finalize(st);
	return ok;
}

/* Exported anchors, kept out of the database's reach. */
static void
verify_anchors(struct verifier *v, const char *const *anchors, size_t nanchors)
{
	for (size_t i = 0; i < nanchors; i++) {
		char body[1024], what[4200], lid[65], head[65];
		unsigned char sig[64];
		int64_t size, t;
		snprintf(what, sizeof(what), "anchor %s", anchors[i]);
		int rc = ledger_note_read(anchors[i], body, sizeof(body), sig);
		if (rc == -1) {
			v->fn(v->arg, "cannot read an anchor file");
			v->worst =
			    v->worst == 1 || v->worst == 2 ? v->worst : 3;
			continue;
		}
		if (rc != 0) {
			find(v, 1, "%s: not a checkpoint note", what);
			continue;
		}
		check_point(v, what, body, sig, NULL);
		if (ledger_checkpoint_parse(body, lid, &size, head, &t) &&
		    size > v->covered && size <= v->nrows)
			v->covered = size;
	}
}

/* What the chain cannot see by itself: the append-only triggers gone,
 * and rows after the last checkpoint or anchor (a tail deleted there
 * leaves a shorter chain that is still whole). */
static void
verify_policy(struct verifier *v)
{
	static const char *const triggers[] = {
	    "suspension_log_append_only_update",
	    "suspension_log_append_only_delete",
	    "checkpoints_append_only_update",
	    "checkpoints_append_only_delete",
	};
	for (size_t i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++)
		if (!has_trigger(v->db, triggers[i]))
			find(v, 4, "policy: trigger %s is missing",
			     triggers[i]);
	if (v->nrows > v->covered)
		find(v, 4,
		     "policy: rows %lld..%lld are not covered by a checkpoint "
		     "or anchor (a deleted tail there would not be seen)",
		     (long long)v->covered + 1, (long long)v->nrows);
}

int
ledger_verify(const char *path, const unsigned char (*pks)[32], size_t npks,
              const char *const *anchors, size_t nanchors,
              ledger_finding_fn fn, void *arg)
{
	static const char *const verdicts[] = {"ok", "tampered", "truncated",
	                                       "usage", "policy"};
	struct verifier v = {.fn = fn, .arg = arg, .pks = pks, .npks = npks};
	char line[128];
	int rc = verify_open(&v, path);

	if (rc != 0)
		return rc;
	/* Out of memory stops it where it was: the verdict says usage. */
	if (verify_rows(&v) && verify_checkpoints(&v)) {
		verify_anchors(&v, anchors, nanchors);
		verify_policy(&v);
	}
	sqlite3_close(v.db);
	free(v.hashes);
	snprintf(line, sizeof(line),
	         "verdict: %s (%lld rows, covered to %lld)", verdicts[v.worst],
	         (long long)v.nrows, (long long)v.covered);
	fn(arg, line);
	return v.worst;
}
