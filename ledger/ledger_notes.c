/*
 * ledger_notes.c: exported checkpoint notes, the copies of signed
 * checkpoints kept out of the database's reach (docs/LEDGER.md): reading
 * one, finding them in the checkpoint directory by name, setting aside
 * the ones that name rows the log lost, and comparing one with the open
 * log at start.  A note's text is made by ledger_checkpoint_note
 * (ledger_chain.c); ledger_note_read must read back what it writes.
 */
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_impl.h"

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

/*
 * Note file names.  The daemon exports checkpoint-SIZE.note (SIZE in 12
 * digits: export_note in daemon/wal.c must match); a note that names
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

int
ledger_note_compare(struct ledger *lg, const char *path, char *why, size_t cap)
{
	char body[1024], lid[65], head[65], mine[65], got[65] = "";
	unsigned char sig[64];
	int64_t size, t;
	sqlite3_stmt *st;

	if (ledger_note_read(path, body, sizeof(body), sig) != 0 ||
	    !ledger_checkpoint_parse(body, lid, &size, head, &t)) {
		snprintf(why, cap, "%s: not a checkpoint note", path);
		return -1;
	}
	/* An unsigned or foreign note proves nothing: it must not stop the
	 * service either. */
	if (!lg->has_key ||
	    !ledger_checkpoint_sig_ok(body, sig,
	                              (const unsigned char(*)[32])lg->pk, 1)) {
		snprintf(why, cap, "%s: not signed with this log's key", path);
		return -1;
	}
	sodium_bin2hex(mine, sizeof(mine), lg->log_id, 32);
	if (strcmp(lid, mine) != 0) {
		snprintf(
		    why, cap,
		    "%s (seq %lld) is for log %.16s, this database is log "
		    "%.16s: the log it covers is gone",
		    path, (long long)size, lid, mine);
		return 1;
	}
	if (size > lg->last_seq) {
		snprintf(why, cap,
		         "%s names seq %lld, the log ends at seq %lld: rows "
		         "%lld..%lld were acknowledged and are missing",
		         path, (long long)size, (long long)lg->last_seq,
		         (long long)lg->last_seq + 1, (long long)size);
		return 1;
	}
	if (sqlite3_prepare_v2(
	        lg->db, "SELECT hash FROM suspension_log WHERE seq = ?1", -1,
	        &st, NULL) != SQLITE_OK) {
		ledger_set_err(why, cap, "note", lg->db);
		return -1;
	}
	sqlite3_bind_int64(st, 1, size);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == 32)
		sodium_bin2hex(got, sizeof(got), sqlite3_column_blob(st, 0),
		               32);
	sqlite3_finalize(st);
	if (strcmp(got, head) != 0) {
		snprintf(why, cap,
		         "%s names seq %lld with head %.16s, the log has "
		         "%.16s there: the rows it covers were replaced",
		         path, (long long)size, head,
		         got[0] != '\0' ? got : "no row");
		return 1;
	}
	return 0;
}
