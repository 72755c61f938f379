/*
 * ledger_entry.c: a batch of rows as the bytes of one replicated entry,
 * and a whole log as the bytes of a snapshot (docs/LEDGER.md, "In a
 * cluster").  The leader encodes what it would have appended; every node
 * appends the decoded rows with ledger_append, so the hash chain, the
 * checkpoints (Ed25519 signs deterministically) and every row are the
 * same bytes on every node.  Nothing here knows Raft: the caller gives
 * the allocator its buffers must come from.
 *
 * An entry, all integers little-endian:
 *   "FXE1", log_id[32], logged_at i64, sign u8, nrows u32, then per row:
 *   seq, t, suspension, until (i64); dir (i32); shadow, latched,
 *   effect (u8); event, rule, kind, scope, scope_type, detail, reason,
 *   notice_id, notice_ko, notice_en: a u32 length (0xffffffff: NULL)
 *   counting a final NUL, then the bytes and the NUL.
 * A snapshot: "FXS1", log_id[32], last_seq i64, then the database file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_impl.h"

#define ENTRY_MAGIC "FXE1"
#define SNAP_MAGIC  "FXS1"
#define ENTRY_HEAD  (4 + 32 + 8 + 1 + 4)
#define SNAP_HEAD   (4 + 32 + 8)
#define STR_NULL    0xffffffffu
#define ROW_STRS    10

static const char *
row_str(const struct ledger_row *r, int i)
{
	switch (i) {
	case 0:
		return r->event;
	case 1:
		return r->rule;
	case 2:
		return r->kind;
	case 3:
		return r->scope;
	case 4:
		return r->scope_type;
	case 5:
		return r->detail;
	case 6:
		return r->reason;
	case 7:
		return r->notice_id;
	case 8:
		return r->notice_ko;
	default:
		return r->notice_en;
	}
}

static const char **
row_str_at(struct ledger_row *r, int i)
{
	switch (i) {
	case 0:
		return &r->event;
	case 1:
		return &r->rule;
	case 2:
		return &r->kind;
	case 3:
		return &r->scope;
	case 4:
		return &r->scope_type;
	case 5:
		return &r->detail;
	case 6:
		return &r->reason;
	case 7:
		return &r->notice_id;
	case 8:
		return &r->notice_ko;
	default:
		return &r->notice_en;
	}
}

static unsigned char *
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(v >> (8 * i));
	return p;
}

static unsigned char *
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(v >> (8 * i));
	return p;
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

enum fxb_err
ledger_entry_encode(struct ledger *lg, const struct ledger_row *rows, size_t n,
                    int64_t logged_at, bool sign, void *(*alloc)(size_t),
                    void **out, size_t *len)
{
	size_t size = ENTRY_HEAD;
	if (n > UINT32_MAX)
		return FXB_ERR_LIMIT;
	for (size_t i = 0; i < n; i++) {
		size += 4 * 8 + 4 + 3;
		for (int k = 0; k < ROW_STRS; k++) {
			const char *s = row_str(&rows[i], k);
			size_t sl = s != NULL ? strlen(s) + 1 : 0;
			if (sl >= STR_NULL)
				return FXB_ERR_LIMIT;
			size += 4 + sl;
		}
	}
	/* A multiple of 8 bytes, zero-padded: raft_uv 0.15 sends the
	 * entries of an AppendEntries back to back, but the receiver steps
	 * over each as if padded to 8 (uvDecodeEntriesBatch), so the entry
	 * after an unpadded one arrived shifted (third_party/raft/
	 * README.md). */
	size_t padded = (size + 7) & ~(size_t)7;
	unsigned char *b = alloc(padded), *p = b;
	if (b == NULL)
		return FXB_ERR_NOMEM;
	memset(b + size, 0, padded - size);
	memcpy(p, ENTRY_MAGIC, 4);
	memcpy(p + 4, lg->log_id, 32);
	p = put_u64(p + 36, (uint64_t)logged_at);
	*p++ = sign;
	p = put_u32(p, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct ledger_row *r = &rows[i];
		p = put_u64(p, (uint64_t)r->seq);
		p = put_u64(p, (uint64_t)r->t);
		p = put_u64(p, (uint64_t)r->suspension);
		p = put_u64(p, (uint64_t)r->until);
		p = put_u32(p, (uint32_t)r->dir);
		*p++ = r->shadow;
		*p++ = r->latched;
		*p++ = (unsigned char)r->effect;
		for (int k = 0; k < ROW_STRS; k++) {
			const char *s = row_str(r, k);
			if (s == NULL) {
				p = put_u32(p, STR_NULL);
				continue;
			}
			size_t sl = strlen(s) + 1;
			p = put_u32(p, (uint32_t)sl);
			memcpy(p, s, sl);
			p += sl;
		}
	}
	*out = b;
	*len = padded;
	return FXB_OK;
}

/* Decodes an entry's rows into *rows (malloc'd; the strings point into
 * buf).  False if the bytes are not a well-formed entry. */
static bool
entry_decode(const unsigned char *buf, size_t len, int64_t *logged_at,
             bool *sign, struct ledger_row **rows, size_t *n)
{
	if (len < ENTRY_HEAD || memcmp(buf, ENTRY_MAGIC, 4) != 0)
		return false;
	*logged_at = (int64_t)get_u64(buf + 36);
	*sign = buf[44] != 0;
	uint32_t cnt = get_u32(buf + 45);
	/* Each row takes at least 79 bytes: a count beyond that is a lie
	 * that must not size an allocation. */
	if (cnt > (len - ENTRY_HEAD) / (4 * 8 + 4 + 3 + 4 * ROW_STRS))
		return false;
	struct ledger_row *v = calloc(cnt > 0 ? cnt : 1, sizeof(*v));
	if (v == NULL)
		return false;
	const unsigned char *p = buf + ENTRY_HEAD, *end = buf + len;
	for (uint32_t i = 0; i < cnt; i++) {
		struct ledger_row *r = &v[i];
		if ((size_t)(end - p) < 4 * 8 + 4 + 3)
			goto bad;
		r->seq = (int64_t)get_u64(p);
		r->t = (int64_t)get_u64(p + 8);
		r->suspension = (int64_t)get_u64(p + 16);
		r->until = (int64_t)get_u64(p + 24);
		r->dir = (int32_t)get_u32(p + 32);
		r->shadow = p[36] != 0;
		r->latched = p[37] != 0;
		if (p[38] > LEDGER_CLOSES)
			goto bad;
		r->effect = (enum ledger_effect)p[38];
		p += 39;
		for (int k = 0; k < ROW_STRS; k++) {
			if (end - p < 4)
				goto bad;
			uint32_t sl = get_u32(p);
			p += 4;
			if (sl == STR_NULL) {
				*row_str_at(r, k) = NULL;
				continue;
			}
			if (sl == 0 || (size_t)(end - p) < sl ||
			    p[sl - 1] != 0 || memchr(p, 0, sl) != p + sl - 1)
				goto bad;
			*row_str_at(r, k) = (const char *)p;
			p += sl;
		}
		if (r->event == NULL || r->kind == NULL)
			goto bad;
	}
	/* raft_uv pads an entry read back from its segments to 8 bytes:
	 * up to 7 zero bytes may follow. */
	if (end - p >= 8)
		goto bad;
	for (; p < end; p++)
		if (*p != 0)
			goto bad;
	*rows = v;
	*n = cnt;
	return true;
bad:
	free(v);
	return false;
}

/* A new, empty log takes the id of the log it is a copy of; every
 * entry after that must carry the same id. */
static enum fxb_err
entry_log_id(struct ledger *lg, const unsigned char id[32], char *err,
             size_t errlen)
{
	if (memcmp(lg->log_id, id, 32) == 0)
		return FXB_OK;
	if (lg->last_seq != 0) {
		snprintf(err, errlen,
		         "the entry belongs to another log (this ledger has "
		         "%lld rows of its own)",
		         (long long)lg->last_seq);
		return FXB_ERR_LEDGER;
	}
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), id, 32);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(lg->db,
	                            "UPDATE ledger_meta SET value = ?1 WHERE "
	                            "key = 'log_id'",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
		rc = ledger_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		ledger_set_err(err, errlen, "log_id", lg->db);
		return FXB_ERR_LEDGER;
	}
	memcpy(lg->log_id, id, 32);
	return FXB_OK;
}

/* A row the log already has must be the same row: its stored hash is
 * the one these bytes chain to from its stored prev_hash.  Two entries
 * with one seq and different rows would be two logs. */
static bool
entry_row_held(struct ledger *lg, const struct ledger_row *r,
               int64_t logged_at, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	bool same = false;
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT prev_hash, hash FROM suspension_log "
	                       "WHERE seq = ?1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, r->seq);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == 32 &&
		    sqlite3_column_bytes(st, 1) == 32) {
			unsigned char h[32];
			struct ledger_chain_row c =
			    ledger_chain_row_of(r, logged_at);
			ledger_row_hash(lg->log_id, sqlite3_column_blob(st, 0),
			                &c, h);
			same = memcmp(h, sqlite3_column_blob(st, 1), 32) == 0;
		}
	}
	sqlite3_finalize(st);
	if (!same)
		snprintf(err, errlen,
		         "row %lld: the log holds another row at this seq",
		         (long long)r->seq);
	return same;
}

enum fxb_err
ledger_entry_apply(struct ledger *lg, const void *buf, size_t len,
                   int64_t *last, char **note, char *err, size_t errlen)
{
	struct ledger_row *rows = NULL;
	size_t n = 0, skip = 0;
	int64_t logged_at;
	bool sign;

	if (note != NULL)
		*note = NULL;
	if (!entry_decode(buf, len, &logged_at, &sign, &rows, &n)) {
		snprintf(err, errlen, "a malformed entry (%zu bytes)", len);
		return FXB_ERR_SYNTAX;
	}
	enum fxb_err rc =
	    entry_log_id(lg, (const unsigned char *)buf + 4, err, errlen);
	/* Idempotent by seq: rows the log has are an entry applied again
	 * (after a restart, or over a snapshot that already held them). */
	while (rc == FXB_OK && skip < n && rows[skip].seq <= lg->last_seq) {
		if (!entry_row_held(lg, &rows[skip], logged_at, err, errlen))
			rc = FXB_ERR_LEDGER;
		skip++;
	}
	if (rc == FXB_OK && skip < n && rows[skip].seq != lg->last_seq + 1) {
		snprintf(err, errlen,
		         "a gap: the log ends at %lld, the entry "
		         "goes on at %lld",
		         (long long)lg->last_seq, (long long)rows[skip].seq);
		rc = FXB_ERR_RANGE;
	}
	for (size_t i = skip + 1; rc == FXB_OK && i < n; i++)
		if (rows[i].seq != rows[i - 1].seq + 1) {
			snprintf(err, errlen,
			         "rows out of order in an entry "
			         "(%lld after %lld)",
			         (long long)rows[i].seq,
			         (long long)rows[i - 1].seq);
			rc = FXB_ERR_SYNTAX;
		}
	/* A checkpoint closes the whole batch: signed only if the batch's
	 * rows are all appended now, so that a partly applied entry cannot
	 * sign a size other than the leader's. */
	if (rc == FXB_OK && skip < n)
		rc = ledger_append(lg, rows + skip, n - skip, logged_at,
		                   sign && skip == 0, note, err, errlen);
	if (last != NULL)
		*last = lg->last_seq;
	free(rows);
	return rc;
}

void
ledger_set_durable(struct ledger *lg, bool full)
{
	ledger_exec(lg->db,
	            full ? "PRAGMA synchronous = FULL"
	                 : "PRAGMA synchronous = NORMAL",
	            NULL, 0);
}

enum fxb_err
ledger_snapshot(const char *path, void *(*alloc)(size_t), void **out,
                size_t *len, int64_t *last, char *err, size_t errlen)
{
	struct ledger *lg = NULL;
	enum fxb_err rc = ledger_open(path, true, &lg, err, errlen);
	if (rc != FXB_OK)
		return rc;
	sqlite3_int64 size = 0;
	unsigned char *img = NULL;
	rc = FXB_ERR_LEDGER;
	/* One read transaction: the image and the seq it ends at agree. */
	if (ledger_exec(lg->db, "BEGIN", err, errlen) != SQLITE_OK)
		goto out;
	sqlite3_stmt *st = NULL;
	int64_t seq = 0;
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT COALESCE(MAX(seq), 0) FROM "
	                       "suspension_log",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	unsigned char id[32];
	if (sqlite3_prepare_v2(lg->db,
	                       "SELECT value FROM ledger_meta WHERE "
	                       "key = 'log_id'",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    sodium_hex2bin(id, 32, ledger_col_text(st, 0),
	                   (size_t)sqlite3_column_bytes(st, 0), NULL, NULL,
	                   NULL) != 0) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "%s: no log_id", path);
		goto out;
	}
	sqlite3_finalize(st);
	img = sqlite3_serialize(lg->db, "main", &size, 0);
	if (img == NULL || size <= 0) {
		ledger_set_err(err, errlen, "serialize", lg->db);
		goto out;
	}
	unsigned char *b = alloc(SNAP_HEAD + (size_t)size);
	if (b == NULL) {
		rc = FXB_ERR_NOMEM;
		goto out;
	}
	memcpy(b, SNAP_MAGIC, 4);
	memcpy(b + 4, id, 32);
	put_u64(b + 36, (uint64_t)seq);
	memcpy(b + SNAP_HEAD, img, (size_t)size);
	*out = b;
	*len = SNAP_HEAD + (size_t)size;
	*last = seq;
	rc = FXB_OK;
out:
	sqlite3_free(img);
	ledger_exec(lg->db, "COMMIT", NULL, 0);
	ledger_close(lg);
	return rc;
}

bool
ledger_snapshot_info(const void *buf, size_t len, unsigned char id[32],
                     int64_t *last)
{
	const unsigned char *b = buf;
	if (len < SNAP_HEAD + 100 || memcmp(b, SNAP_MAGIC, 4) != 0 ||
	    memcmp(b + SNAP_HEAD, "SQLite format 3", 16) != 0)
		return false;
	memcpy(id, b + 4, 32);
	*last = (int64_t)get_u64(b + 36);
	return true;
}

bool
ledger_same_log(struct ledger *lg, const unsigned char id[32])
{
	return memcmp(lg->log_id, id, 32) == 0;
}

enum fxb_err
ledger_snapshot_install(const char *path, const void *buf, size_t len,
                        char *err, size_t errlen)
{
	unsigned char id[32];
	int64_t last;
	if (!ledger_snapshot_info(buf, len, id, &last)) {
		snprintf(err, errlen, "not a ledger snapshot (%zu bytes)",
		         len);
		return FXB_ERR_SYNTAX;
	}
	char tmp[4200], side[4200];
	snprintf(tmp, sizeof(tmp), "%s.snapshot", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto io;
	const unsigned char *p = (const unsigned char *)buf + SNAP_HEAD;
	size_t left = len - SNAP_HEAD;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			goto io;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		close(fd);
		goto io;
	}
	close(fd);
	/* The old log's -wal and -shm describe the file being replaced:
	 * SQLite would lay them over the new one. */
	snprintf(side, sizeof(side), "%s-wal", path);
	if (unlink(side) != 0 && errno != ENOENT)
		goto io;
	snprintf(side, sizeof(side), "%s-shm", path);
	if (unlink(side) != 0 && errno != ENOENT)
		goto io;
	if (rename(tmp, path) != 0)
		goto io;
	return FXB_OK;
io:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	unlink(tmp);
	return FXB_ERR_IO;
}
