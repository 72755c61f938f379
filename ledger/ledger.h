/*
 * ledger.h: the suspension log, breaker state and customer notices, in
 * SQLite.  The only module that speaks SQLite.
 *
 * The database is opened in WAL mode with synchronous=FULL: a row is
 * durable when ledger_append returns FXB_OK.  Rows carry a sequence number
 * chosen by the caller (the daemon hands it out with the event, before the
 * row is written); ledger_append writes a batch in one transaction, so the
 * rows of one commit become durable together or not at all.
 *
 * One struct ledger is used by one thread at a time.  Strings passed in
 * are copied by SQLite (SQLITE_TRANSIENT); strings passed to callbacks
 * live until the callback returns.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fxb.h"

struct ledger;

/* What a row does to the breaker_state and notices tables. */
enum ledger_effect {
	LEDGER_NONE = 0, /* a record only (warn, ref_set, service_*) */
	LEDGER_OPENS,    /* opens suspension `seq` (trip, stale, force) */
	LEDGER_CLOSES,   /* ends suspension `suspension` */
};

struct ledger_row {
	int64_t seq;
	int64_t t;
	const char *event;      /* "trip", "resume", ..., "service_start" */
	const char *rule;       /* NULL for force_* and service_* */
	const char *kind;       /* rule kind, "forced" or "service" */
	const char *scope;      /* pair or product; NULL for service_* */
	const char *scope_type; /* "pair", "product" or NULL */
	int64_t suspension;     /* the suspension it opens or ends, or 0 */
	bool shadow;
	const char *detail; /* the event as JSON */
	enum ledger_effect effect;
	/* LEDGER_OPENS: the state to restore after a crash. */
	int64_t until; /* automatic end, or FXB_NEVER */
	int dir;
	bool latched;
	const char *reason; /* force_suspend: the operator's reason */
	/* A customer notice opened (LEDGER_OPENS) or closed (LEDGER_CLOSES)
	 * with this row; NULL when none (shadow rules, service rows). */
	const char *notice_id;
	const char *notice_ko;
	const char *notice_en;
};

/* An open suspension, as restored on start. */
struct ledger_state {
	int64_t suspension;
	const char *rule; /* NULL for forced */
	const char *kind;
	const char *scope;
	const char *scope_type;
	const char *event; /* trip, stale, force_suspend */
	int64_t since;
	int64_t until; /* FXB_NEVER when none */
	int dir;
	bool latched;
	bool shadow;
	const char *reason;
	const char *notice_id; /* its customer notice's id, or NULL */
};

/* What `fxbreakerctl log` asks for; NULL / 0 fields do not filter. */
struct ledger_filter {
	const char *scope; /* product or pair */
	const char *rule;
	const char *kind;
	const char *event;
	int64_t from, to; /* t in [from, to); to = 0: no upper bound */
	int64_t limit;    /* 0: no limit */
	/* Newest row first: with limit = 1, the latest match, found by
	 * walking back from the log's end (a start must not scan the
	 * whole log to find its last service_stop). */
	bool newest_first;
};

/*
 * ledger_open opens (creating if needed) the database at path, applies the
 * migrations built into the binary, and runs PRAGMA quick_check.  With
 * readonly, it only reads (no migration; an older schema is an error).
 * Errors: FXB_ERR_IO (with err), FXB_ERR_NOMEM.
 */
enum fxb_err ledger_open(const char *path, bool readonly, struct ledger **out,
                         char *err, size_t errlen);

/* ledger_close closes the database; NULL is a no-op. */
void ledger_close(struct ledger *lg);

/* ledger_quick_checked says whether ledger_open ran SQLite's quick_check
 * (it does when the log does not end with a service_stop row: the last
 * run did not stop cleanly, or the log is new to this version). */
bool ledger_quick_checked(const struct ledger *lg);

/* ledger_last_seq returns the highest sequence number written, or 0. */
int64_t ledger_last_seq(struct ledger *lg);

/* ledger_last_time returns the latest row time (t) written, or 0: the
 * daemon never starts its clock before it (docs/OPERATIONS.md, "The
 * clock"). */
int64_t ledger_last_time(struct ledger *lg);

/*
 * ledger_append writes rows[0..n) in one transaction, each with its place
 * in the hash chain (docs/LEDGER.md) and its effect on breaker_state and
 * notices; logged_at is stamped with `now`.  With `checkpoint` (and a key
 * set), a signed checkpoint of the log after these rows goes into the same
 * transaction, and *note (if not NULL) gets its exportable text (free with
 * free()).  On error nothing is written and err says why (disk full,
 * locked, read-only, I/O): the caller keeps the rows and retries.
 * Errors: FXB_ERR_LEDGER.
 */
enum fxb_err ledger_append(struct ledger *lg, const struct ledger_row *rows,
                           size_t n, int64_t now, bool checkpoint, char **note,
                           char *err, size_t errlen);

/* ledger_set_key gives the ledger the log key that signs checkpoints. */
void ledger_set_key(struct ledger *lg, const unsigned char pk[32],
                    const unsigned char sk[64]);

/*
 * ledger_key_load reads DIR/log.key and DIR/log.pub (hex), or, with create
 * and both absent, makes a new Ed25519 pair and writes them (log.key mode
 * 0400).  Refuses a pair whose halves do not match.  Errors: FXB_ERR_IO.
 */
enum fxb_err ledger_key_load(const char *dir, bool create,
                             unsigned char pk[32], unsigned char sk[64],
                             char *err, size_t errlen);

/*
 * ledger_verify_tail checks, on an open ledger, the last `rows` rows'
 * chain and the latest checkpoint (its signature with pk, and its head
 * against the row it names).  Returns true if intact; otherwise err says
 * where.  For the daemon's start.
 */
bool ledger_verify_tail(struct ledger *lg, const unsigned char pk[32],
                        int64_t rows, char *err, size_t errlen);

/*
 * ledger_verify checks a snapshot file (docs/LEDGER.md): the whole chain,
 * every stored checkpoint and every anchor note (paths); a checkpoint is
 * good if any of the npks keys signed it (keys rotate).  Calls
 * fn once per finding and once with the verdict line.  Returns the exit
 * code: 0 intact, 1 tampered, 2 truncated or forked, 3 usage or I/O (a
 * live WAL too), 4 policy only.
 */
typedef void (*ledger_finding_fn)(void *arg, const char *line);
int ledger_verify(const char *path, const unsigned char (*pks)[32],
                  size_t npks, const char *const *anchors, size_t nanchors,
                  ledger_finding_fn fn, void *arg);

/*
 * ledger_export writes a consistent snapshot of the database at path to
 * out (VACUUM INTO, which reads committed WAL frames too) and the latest
 * checkpoint's note to out + ".checkpoint".  Errors: FXB_ERR_IO.
 */
enum fxb_err ledger_export(const char *path, const char *out, char *err,
                           size_t errlen);

/*
 * ledger_files_intact says whether the database file and its -wal file
 * at their paths are still the ones this ledger opened (same device and
 * inode).  If either was removed or replaced, every commit from then on
 * would go to a file nobody else sees and die with the process: it
 * returns false with why naming the file, and keeps returning it (and
 * ledger_append keeps failing with it) until the ledger is closed.  When
 * only the -wal file went, it first copies the committed rows into the
 * database file (a checkpoint through the descriptor SQLite still holds)
 * and why says whether that worked.  Two stat(2) calls: cheap enough
 * for every commit and a once-a-second tick.  Writer thread only.
 */
bool ledger_files_intact(struct ledger *lg, char *why, size_t cap);

/*
 * Exported checkpoint notes (the daemon writes DIR/checkpoint-SIZE.note
 * after commits; docs/LEDGER.md).  ledger_note_scan calls fn for every
 * note file in dir: its path, the size its name gives, and whether it
 * was set aside as naming rows the log lost (lost-TAG-checkpoint-SIZE
 * .note).  -1 if dir cannot be read.  fn returns 0 to go on.
 */
typedef int (*ledger_note_fn)(void *arg, const char *path, int64_t size,
                              bool lost);
int ledger_note_scan(const char *dir, ledger_note_fn fn, void *arg);

/* ledger_note_newest puts the path of dir's newest note below `below`
 * (the largest size under it, not set aside) in path and its size in
 * *size; false if none. */
bool ledger_note_newest(const char *dir, int64_t below, char *path, size_t cap,
                        int64_t *size);

/*
 * ledger_note_compare checks a note against the open log.  Returns 0 if
 * the log holds the row the note names, with the hash it names; 1 if it
 * does not (rows the log acknowledged are missing: the note names a seq
 * past the log's end, another hash at that seq, or another log), why
 * says which; -1 if the note cannot be trusted (unreadable, not a note,
 * not signed with the log key set by ledger_set_key), why says so.
 */
int ledger_note_compare(struct ledger *lg, const char *path, char *why,
                        size_t cap);

/* ledger_notes_set_aside renames every note in dir whose size is beyond
 * `after` to lost-TAG-checkpoint-SIZE.note, so that notes for reused
 * sequence numbers cannot overwrite it.  Returns how many, or -1 (errno). */
long ledger_notes_set_aside(const char *dir, int64_t after, int64_t tag);

/* ledger_checkpoint runs a passive WAL checkpoint (never blocks writers
 * for long); call it from the writer thread, not from a commit. */
void ledger_checkpoint(struct ledger *lg);

/* Callbacks return 0 to go on, anything else to stop. */
typedef int (*ledger_state_fn)(void *arg, const struct ledger_state *st);
typedef int (*ledger_time_fn)(void *arg, int64_t t);
typedef int (*ledger_row_fn)(void *arg, const struct ledger_row *row,
                             int64_t logged_at);

/* ledger_states calls fn for every open suspension, oldest first. */
enum fxb_err ledger_states(struct ledger *lg, ledger_state_fn fn, void *arg);

/* ledger_resumes calls fn with the time of every automatic resume of rule
 * at or after `since`, oldest first (for max_auto_resumes after a
 * restart). */
enum fxb_err ledger_resumes(struct ledger *lg, const char *rule, int64_t since,
                            ledger_time_fn fn, void *arg);

/*
 * ledger_plans calls fn, oldest first, for every planned suspension still
 * pending (RULES.md 9): each force_scheduled row that no later
 * force_cancel, force_suspend or plan_lapsed names in its detail's
 * "plan".  Read through indexes (migrations 0004, 0005): as many rows as
 * plans were ever made, not the log's length.  logged_at is 0.
 * ledger_plans_sql is its query, for a test to ask SQLite how it plans it.
 */
enum fxb_err ledger_plans(struct ledger *lg, ledger_row_fn fn, void *arg);
extern const char ledger_plans_sql[];

/*
 * One change to the operator roster, as the log recorded it: an
 * `operator_enrolled` (new, or new roles) or `operator_revoked` command
 * row.  roles is "suspend,reset,approve,admin" or a subset, in that order;
 * pubkey is 64 hex digits.  Either may be "" on rows older than 0.4.
 */
struct ledger_operator_change {
	int64_t seq, t;
	bool enrolled; /* false: revoked */
	const char *key_id, *name, *roles, *pubkey;
	/* "file" (rows written before sources were logged read so) or
	 * "command", with the request's two people ("" for the file). */
	const char *source, *requested_by, *approved_by;
};
typedef int (*ledger_operator_fn)(void *arg,
                                  const struct ledger_operator_change *c);

/* ledger_operators calls fn, oldest first, for every roster change
 * (history), or for each operator enrolled now with the enrolment in
 * force (the latest change to each key, where that is an enrolment). */
enum fxb_err ledger_operators(struct ledger *lg, bool history,
                              ledger_operator_fn fn, void *arg);

/* ledger_query calls fn for each log row matching f, in sequence order
 * (reversed with f->newest_first). */
enum fxb_err ledger_query(struct ledger *lg, const struct ledger_filter *f,
                          ledger_row_fn fn, void *arg);

/*
 * In a cluster (ledger_entry.c; docs/LEDGER.md, "In a cluster"): the
 * leader encodes each batch it would append as one replicated entry;
 * every node applies it with ledger_entry_apply, so that every node's log
 * holds the same bytes.
 *
 * ledger_entry_encode puts rows[0..n), logged_at and whether the batch
 * signs a checkpoint, with lg's log id, in a buffer from alloc.  Errors:
 * FXB_ERR_NOMEM, FXB_ERR_LIMIT.
 */
enum fxb_err ledger_entry_encode(struct ledger *lg,
                                 const struct ledger_row *rows, size_t n,
                                 int64_t logged_at, bool sign,
                                 void *(*alloc)(size_t), void **out,
                                 size_t *len);

/*
 * ledger_entry_apply appends an entry's rows that the log does not hold
 * yet (idempotent by seq), as ledger_append would; an empty log first
 * takes the entry's log id.  *last gets the log's last seq after it;
 * *note a checkpoint's text as ledger_append gives it.  Errors:
 * FXB_ERR_SYNTAX (not an entry, or rows out of order), FXB_ERR_RANGE (a
 * gap after the log's last row), FXB_ERR_LEDGER (another log's entry, a
 * row held already that differs from the entry's, or the write failed:
 * err says which).
 */
enum fxb_err ledger_entry_apply(struct ledger *lg, const void *buf, size_t len,
                                int64_t *last, char **note, char *err,
                                size_t errlen);

/* ledger_set_durable: synchronous=FULL (full) or NORMAL, for a node
 * whose replicated log is the durable record. */
void ledger_set_durable(struct ledger *lg, bool full);

/*
 * ledger_snapshot reads the database at path through a connection of its
 * own (any thread; the writer goes on) into a buffer from alloc: a
 * header (log id, last seq, which *last gets) and the database file's
 * bytes.  Errors: FXB_ERR_LEDGER, FXB_ERR_NOMEM, FXB_ERR_IO.
 */
enum fxb_err ledger_snapshot(const char *path, void *(*alloc)(size_t),
                             void **out, size_t *len, int64_t *last, char *err,
                             size_t errlen);

/* ledger_snapshot_info reads a snapshot's log id and last seq; false if
 * buf is not a snapshot. */
bool ledger_snapshot_info(const void *buf, size_t len, unsigned char id[32],
                          int64_t *last);

/* ledger_same_log: lg is the log whose id is id. */
bool ledger_same_log(struct ledger *lg, const unsigned char id[32]);

/*
 * ledger_snapshot_install replaces the database file at path (closed by
 * the caller) with a snapshot's: written beside it, synced, the old -wal
 * and -shm removed, renamed into place.  Errors: FXB_ERR_SYNTAX,
 * FXB_ERR_IO.
 */
enum fxb_err ledger_snapshot_install(const char *path, const void *buf,
                                     size_t len, char *err, size_t errlen);

#endif /* LEDGER_H */
