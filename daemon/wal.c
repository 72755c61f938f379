/*
 * wal.c: the write-ahead path.  Every engine event gets its log sequence
 * number when it happens (events.c, under mu) and is queued here; one
 * writer thread owns the ledger and commits the queue in batches (WAL,
 * synchronous=FULL).  After each commit, and only then, it answers the
 * calls parked on those rows (park.c), publishes the rows' events, and
 * writes the signed checkpoint note if the commit made one.
 *
 * Fail closed: when a commit fails the rows stay queued and are retried
 * with a backoff, status says degraded, and every parked call gets its
 * fail-closed answer at once (nobody waits on a disk that may not come
 * back).  When the database or its -wal file is removed under the
 * daemon, it stays degraded until restarted.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_impl.h"

/* Rows written in one transaction at most. */
#define BATCH_MAX 4096
/* A passive WAL checkpoint after this many commits, or a second idle. */
#define CHECKPOINT_EVERY 256
/* A signed log checkpoint at least this often while the log grows. */
#define CHECKPOINT_MAX_AGE_MS 60000

static void
qrow_free(struct qrow *q)
{
	free(q->rule);
	free(q->scope);
	free(q->detail);
	free(q->reason);
	free(q->ko);
	free(q->en);
	free(q->notice_id);
	free(q->notice_msg);
}

static void free_dead(struct daemon *d);

/* Queues a row (mu held, so rows queue in sequence order).  The queue
 * takes ownership of the row's strings. */
void
wal_enqueue(struct daemon *d, struct qrow *q)
{
	/* A follower's engine runs on the feed only to be warm when it is
	 * promoted: its events are not the log's (the leader's are). */
	if (atomic_load(&d->role) == ROLE_FOLLOWER) {
		qrow_free(q);
		return;
	}
	pthread_mutex_lock(&d->qmu);
	if (d->nqueue == d->capqueue) {
		size_t ncap = d->capqueue != 0 ? d->capqueue * 2 : 256;
		struct qrow *v = realloc(d->queue, ncap * sizeof(*v));
		if (v == NULL) {
			/* A row that cannot be queued cannot be written, and
			 * its sequence number is taken: carrying on would let
			 * the next commit pass over the gap.  Stop; the
			 * restart restores every written suspension from the
			 * log. */
			log_error("out of memory queueing row %lld: stopping",
			          (long long)q->row.seq);
			log_drain(1000);
			abort();
		}
		d->queue = v;
		d->capqueue = ncap;
	}
	d->queue[d->nqueue++] = *q;
	atomic_store(&d->queued, d->nqueue);
	pthread_cond_signal(&d->qcv);
	pthread_mutex_unlock(&d->qmu);
}

static void
publish_row(struct daemon *d, const struct qrow *q)
{
	board_row(d, &q->row);
	metrics_row(d, &q->row);
	oplog_row(q);
	if (q->row.detail != NULL && q->topic[0] != '\0')
		ipc_publish(d->ipc, q->topic, q->detail, strlen(q->detail));
	if (q->notice_msg != NULL) {
		char topic[BREAKER_ID_MAX + 16];
		snprintf(topic, sizeof(topic), "notice/%s",
		         q->scope != NULL ? q->scope : "");
		ipc_publish(d->ipc, topic, q->notice_msg,
		            strlen(q->notice_msg));
	}
}

/*
 * wal_export_note writes a signed checkpoint note to the checkpoint directory
 * (write, fsync, rename: a reader never sees half a note), after its
 * commit.  Failing here loses nothing in the log: the checkpoint is in the
 * database too; the temporary file goes (no empty or half note is left),
 * status says so (checkpoint_note) and stderr says it once per episode,
 * and the next note tries again.  Takes qmu.
 */
void
wal_export_note(struct daemon *d, int64_t size, const char *note)
{
	char path[BREAKER_TEXT_MAX + 64], tmp[BREAKER_TEXT_MAX + 72];
	int err = 0;
	snprintf(path, sizeof(path), "%s/checkpoint-%012lld.note",
	         d->checkpoint_dir, (long long)size);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		err = errno;
	} else {
		if (fputs(note, f) < 0 || fflush(f) != 0 ||
		    fsync(fileno(f)) != 0)
			err = errno;
		if (fclose(f) != 0 && err == 0)
			err = errno;
		if (err == 0 && rename(tmp, path) != 0)
			err = errno;
		if (err != 0)
			unlink(tmp);
	}
	if (f == NULL || err != 0) {
		if (err == 0)
			err = EIO;
		pthread_mutex_lock(&d->qmu);
		bool first = d->note_failed++ == 0;
		snprintf(d->note_error, sizeof(d->note_error),
		         "checkpoint %lld: %s", (long long)size,
		         strerror(err));
		pthread_mutex_unlock(&d->qmu);
		if (first)
			log_warn("cannot export checkpoint %lld to %s: %s "
			         "(status: checkpoint_note; said once until "
			         "one is written)",
			         (long long)size, d->checkpoint_dir,
			         strerror(err));
		return;
	}
	pthread_mutex_lock(&d->qmu);
	uint64_t failed = d->note_failed;
	d->note_failed = 0;
	d->note_error[0] = '\0';
	d->note_ok_seq = size;
	pthread_mutex_unlock(&d->qmu);
	if (failed > 0)
		log_info("checkpoint %lld exported to %s (%llu failed before "
		         "it)",
		         (long long)size, d->checkpoint_dir,
		         (unsigned long long)failed);
}

/*
 * The database or its -wal file was removed or replaced under the
 * daemon (ledger_files_intact): it stays degraded until restarted, since
 * every row from here on would go to a file nobody can see.  qmu held.
 */
static void
files_lost(struct daemon *d, const char *why)
{
	if (d->degraded && strcmp(d->last_error, why) == 0)
		return;
	oplog_ledger_degraded(why, d->nqueue, true);
	d->degraded = true;
	snprintf(d->last_error, sizeof(d->last_error), "%s", why);
}

/* The writer thread's own state. */
struct writer {
	struct ledger_row *rows; /* the batch being written */
	int commits;             /* since the last WAL checkpoint */
	unsigned backoff_ms;     /* before retrying a failed commit */
	/* Monotonic: a wall clock step back must not hold off the
	 * minute's checkpoint for hours. */
	int64_t last_signed;
};

/* Waits for rows or the stop (qmu held).  An idle second is a good
 * moment for a WAL checkpoint, and to see that the files are still there
 * (each commit looks too, in ledger_append). */
static void
writer_wait(struct daemon *d, struct writer *w)
{
	char err[512];
	while (d->nqueue == 0 && !d->writer_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts); /* qcv's */
		ts.tv_sec += 1;
		if (pthread_cond_timedwait(&d->qcv, &d->qmu, &ts) != ETIMEDOUT)
			continue;
		/* In a cluster the loop thread owns the ledger (cluster_fsm.c
		 * checks and checkpoints it as it applies). */
		if (d->cluster != NULL)
			continue;
		pthread_mutex_unlock(&d->qmu);
		bool intact = ledger_files_intact(d->ledger, err, sizeof(err));
		if (intact && w->commits > 0)
			ledger_checkpoint(d->ledger);
		pthread_mutex_lock(&d->qmu);
		w->commits = intact ? 0 : w->commits;
		if (!intact)
			files_lost(d, err);
	}
}

/*
 * A commit failed (qmu held, and held again on return): degraded, every
 * parked call answered closed, then a backoff before the retry.  err is
 * the commit's error; lost, when !intact, why the files are gone for
 * good.  True when the writer gives up: stopping, and already retried at
 * the longest backoff.
 */
static bool
writer_failed(struct daemon *d, struct writer *w, const char *err, bool intact,
              const char *lost)
{
	if (!intact)
		files_lost(d, lost); /* for good */
	else if (!d->degraded)
		oplog_ledger_degraded(err, d->nqueue, false);
	d->degraded = true;
	snprintf(d->last_error, sizeof(d->last_error), "%s", err);
	/* Nobody waits on a disk that may not come back. */
	struct parked *fail = park_take(d, 0, true);
	pthread_mutex_unlock(&d->qmu);
	park_send(fail, true);
	pthread_mutex_lock(&d->qmu);
	bool give_up = d->writer_stop && w->backoff_ms >= 1000;
	pthread_mutex_unlock(&d->qmu);
	if (give_up) {
		pthread_mutex_lock(&d->qmu);
		return true; /* the count is logged on the way out */
	}
	/* Doubled up to a second, no more: a nanosecond field of a second
	 * or more is EINVAL, and a sleep that returns at once would spin
	 * the writer on a failing disk (it did, at 1,600 ms, before
	 * issue 10). */
	struct timespec ts = {(time_t)(w->backoff_ms / 1000),
	                      (long)(w->backoff_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	w->backoff_ms = w->backoff_ms >= 500 ? 1000 : w->backoff_ms * 2;
	pthread_mutex_lock(&d->qmu);
	return false;
}

/*
 * This node lost the leadership with rows queued (qmu held, and held
 * again on return): they are not its to write any more, and the new
 * leader's rows will take their seqs.  Every call parked on them is
 * answered closed; daemon_demote, on the loop thread, does the rest.
 */
static void
writer_not_leader(struct daemon *d, const char *err)
{
	size_t dropped = d->nqueue;
	for (size_t i = 0; i < d->nqueue; i++)
		qrow_free(&d->queue[i]);
	d->nqueue = 0;
	atomic_store(&d->queued, 0);
	struct parked *fail = park_take(d, 0, true);
	pthread_mutex_unlock(&d->qmu);
	park_send(fail, true);
	if (dropped > 0)
		log_warn(
		    "cluster: %zu rows dropped, outcome unknown: %s (never "
		    "acknowledged; whether the cluster committed them, "
		    "the new leader's log says)",
		    dropped, err);
	pthread_mutex_lock(&d->qmu);
}

/*
 * The first n queued rows committed (qmu held, and held again on
 * return): they leave the queue, then, with no lock held, the calls
 * parked on them are answered, their events published, and note (the
 * commit's checkpoint, or NULL) is written out and freed.
 */
static void
writer_committed(struct daemon *d, struct writer *w, size_t n, char *note)
{
	if (d->degraded)
		oplog_ledger_recovered(n);
	d->degraded = false;
	d->last_error[0] = '\0';
	w->backoff_ms = 50;
	int64_t committed = d->queue[n - 1].row.seq;
	atomic_store(&d->committed, committed);
	struct qrow *done = malloc(n * sizeof(*done));
	if (done != NULL)
		memcpy(done, d->queue, n * sizeof(*done));
	memmove(d->queue, d->queue + n, (d->nqueue - n) * sizeof(*d->queue));
	d->nqueue -= n;
	atomic_store(&d->queued, d->nqueue);
	struct parked *ready = park_take(d, committed, false);
	pthread_mutex_unlock(&d->qmu);

	park_send(ready, false);
	for (size_t i = 0; done != NULL && i < n; i++) {
		publish_row(d, &done[i]);
		qrow_free(&done[i]);
	}
	free(done);
	/* The note file (its own fsync) after the replies: the
	 * checkpoint is in the log already; the file is a copy. */
	if (note != NULL) {
		wal_export_note(d, w->rows[n - 1].seq, note);
		free(note);
	}
	if (d->cluster == NULL && ++w->commits >= CHECKPOINT_EVERY) {
		ledger_checkpoint(d->ledger);
		w->commits = 0;
	}
	pthread_mutex_lock(&d->qmu);
}

static void *
writer_main(void *arg)
{
	struct daemon *d = arg;
	struct writer w = {calloc(BATCH_MAX, sizeof(*w.rows)), 0, 50,
	                   timebase_mono_ns() / 1000000};
	char err[512], lost[512];

	if (w.rows == NULL)
		abort(); /* at start, before anything was promised */
	pthread_mutex_lock(&d->qmu);
	for (;;) {
		free_dead(d);
		writer_wait(d, &w);
		free_dead(d);
		if (d->nqueue == 0 && d->writer_stop)
			break;
		uint64_t gen = d->qgen;
		size_t n = d->nqueue < BATCH_MAX ? d->nqueue : BATCH_MAX;
		bool sign = false;
		for (size_t i = 0; i < n; i++) {
			w.rows[i] = d->queue[i].row;
			/* A checkpoint after every suspension, reset,
			 * service event or operator command, accepted or
			 * rejected, and every plan made or cancelled
			 * (docs/LEDGER.md). */
			sign |=
			    w.rows[i].effect != LEDGER_NONE ||
			    strcmp(w.rows[i].kind, "service") == 0 ||
			    strcmp(w.rows[i].kind, "operator") == 0 ||
			    strcmp(w.rows[i].event, "force_scheduled") == 0 ||
			    strcmp(w.rows[i].event, "force_cancel") == 0;
		}
		pthread_mutex_unlock(&d->qmu);

		/* logged_at is the wall clock as read: evidence of what it
		 * said, beside the engine's t. */
		fxb_time now = clock_now_ms();
		int64_t mono = timebase_mono_ns() / 1000000;
		sign |= mono - w.last_signed >= CHECKPOINT_MAX_AGE_MS;
		char *note = NULL;
		int64_t t0 = timebase_mono_ns();
		/* In a cluster the batch is one Raft entry, and every
		 * node's FSM writes it (and its checkpoint's note). */
		enum fxb_err rc =
		    d->cluster != NULL
		        ? cluster_commit(d->cluster, w.rows, n, now, sign, err,
		                         sizeof(err))
		        : ledger_append(d->ledger, w.rows, n, now, sign, &note,
		                        err, sizeof(err));
		metrics_commit(d, (uint64_t)(timebase_mono_ns() - t0));
		if (rc == FXB_OK && (note != NULL || (sign && d->cluster)))
			w.last_signed = mono;
		/* A failed commit: is it the files (for good) or the disk
		 * (retried)?  Asked before qmu: it may stat, or copy. */
		bool intact =
		    rc == FXB_OK || d->cluster != NULL ||
		    ledger_files_intact(d->ledger, lost, sizeof(lost));

		pthread_mutex_lock(&d->qmu);
		if (d->qgen != gen) {
			/* Demoted while the batch was out: its rows were
			 * retired with the queue (and are freed at the top),
			 * their calls answered closed.  Committed or not, the
			 * log now says, not this node. */
			free(note);
			continue;
		}
		if (rc == FXB_ERR_NOT_LEADER) {
			writer_not_leader(d, err);
			continue;
		}
		if (rc != FXB_OK) {
			if (writer_failed(d, &w, err, intact, lost))
				break;
			continue;
		}
		writer_committed(d, &w, n, note);
	}
	struct parked *rest = park_take(d, 0, true);
	d->writer_done = true;
	if (d->nqueue > 0)
		log_warn("stopping with %zu rows not written (never "
		         "acknowledged)",
		         d->nqueue);
	pthread_mutex_unlock(&d->qmu);
	park_send(rest, true);
	free(w.rows);
	return NULL;
}

bool
wal_start(struct daemon *d)
{
	return pthread_create(&d->writer, NULL, writer_main, d) == 0;
}

void
wal_stop(struct daemon *d)
{
	/* The writer drains the queue (every parked reply goes out with its
	 * commit), then stops. */
	pthread_mutex_lock(&d->qmu);
	d->writer_stop = true;
	pthread_cond_signal(&d->qcv);
	pthread_mutex_unlock(&d->qmu);
	pthread_join(d->writer, NULL);

	/* A reply parked after the writer's last look: answer it closed. */
	pthread_mutex_lock(&d->qmu);
	struct parked *late = park_take(d, 0, true);
	pthread_mutex_unlock(&d->qmu);
	park_send(late, true);
}

void
wal_retire_queue(struct daemon *d)
{
	if (d->nqueue > 0) {
		struct qrow *v =
		    realloc(d->dead, (d->ndead + d->nqueue) * sizeof(*v));
		if (v == NULL) {
			/* Nothing may be freed under the writer's batch: stop,
			 * as for any row that cannot be queued. */
			log_error(
			    "out of memory retiring the queue: stopping");
			log_drain(1000);
			abort();
		}
		memcpy(v + d->ndead, d->queue, d->nqueue * sizeof(*v));
		d->dead = v;
		d->ndead += d->nqueue;
	}
	free(d->queue);
	d->queue = NULL;
	d->nqueue = d->capqueue = 0;
	atomic_store(&d->queued, 0);
	d->qgen++;
}

/* Frees what demotions retired (qmu held; no batch in flight). */
static void
free_dead(struct daemon *d)
{
	for (size_t i = 0; i < d->ndead; i++)
		qrow_free(&d->dead[i]);
	free(d->dead);
	d->dead = NULL;
	d->ndead = 0;
}

void
wal_free_queue(struct daemon *d)
{
	for (size_t i = 0; i < d->nqueue; i++)
		qrow_free(&d->queue[i]);
	free(d->queue);
	d->queue = NULL;
	d->nqueue = d->capqueue = 0;
	free_dead(d);
}
