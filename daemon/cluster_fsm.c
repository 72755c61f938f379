/*
 * cluster_fsm.c: the cluster's FSM, on every node (docs/ARCHITECTURE.md,
 * "The FSM" and "Snapshots"): each committed entry's rows appended to
 * this node's own ledger (ledger_entry_apply: idempotent by seq,
 * byte-identical rows), the snapshot copied off the loop and installed
 * over the ledger, and the thread that writes out the checkpoint notes
 * the applies make.  libraft calls the FSM on the loop thread (the
 * snapshot's copy on a libuv worker); the loop owns the ledger.  Not
 * here: when an entry is made (cluster.c) or who leads (cluster_lease.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_impl.h"

/* A passive WAL checkpoint of the ledger after this many applies. */
#define APPLY_CHECKPOINT_EVERY 256
/* A write that fails is retried this long before the node stops: a node
 * whose ledger cannot be written must not go on voting as if it had. */
#define APPLY_RETRY_MS 5000

static int
fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct cluster *c = fsm->data;
	struct daemon *d = c->d;
	char err[512];
	int64_t last = 0, waited = 0;
	char *note = NULL;

	*result = NULL;
	for (;;) {
		enum fxb_err rc =
		    ledger_entry_apply(d->ledger, buf->base, buf->len, &last,
		                       &note, err, sizeof(err));
		if (rc == FXB_OK)
			break;
		/* Another log's entry, a gap or bytes that are not an
		 * entry: a bug or a foreign data directory, never papered
		 * over.  The Raft log keeps the entry; an operator looks. */
		if (rc != FXB_ERR_LEDGER ||
		    strstr(err, "another log") != NULL ||
		    waited >= APPLY_RETRY_MS) {
			char path[BREAKER_TEXT_MAX + 64];
			snprintf(path, sizeof(path), "%s/unapplied-entry.bin",
			         d->svc.data_dir);
			FILE *f = fopen(path, "w");
			if (f != NULL) {
				fwrite(buf->base, 1, buf->len, f);
				fclose(f);
			}
			log_error("cluster: cannot apply entry: %s: stopping "
			          "(the replicated log keeps it; docs/"
			          "OPERATIONS.md, \"A node that stopped\")",
			          err);
			log_drain(1000);
			abort();
		}
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
		waited += 50;
	}
	atomic_store(&d->applied, last);
	if (note != NULL) {
		pthread_mutex_lock(&c->mu);
		if (c->nnotes == c->capnotes) {
			size_t ncap = c->capnotes != 0 ? c->capnotes * 2 : 16;
			struct pending_note *v =
			    realloc(c->notes, ncap * sizeof(*v));
			if (v != NULL) {
				c->notes = v;
				c->capnotes = ncap;
			}
		}
		/* Out of memory: the checkpoint is in the ledger; only its
		 * file copy is missed (the next note is written). */
		if (c->nnotes < c->capnotes) {
			c->notes[c->nnotes++] =
			    (struct pending_note){last, note};
			pthread_cond_signal(&c->note_cv);
		} else {
			free(note);
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (++c->applies % APPLY_CHECKPOINT_EVERY == 0)
		ledger_checkpoint(d->ledger);
	return 0;
}

/* Called on the loop thread; the copy is made off it (snapshot_async):
 * a whole-log copy on the loop would stall heartbeats. */
static int
fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
             unsigned *n_bufs)
{
	(void)fsm;
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

/* On a libuv worker thread, while the loop goes on applying: the copy
 * may hold more rows than the snapshot's index, which is harmless, as
 * every apply after it skips the rows it already has. */
static int
fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                   unsigned *n_bufs)
{
	struct cluster *c = fsm->data;
	char err[512];
	void *b = NULL;
	size_t len = 0;
	int64_t last = 0;
	struct raft_buffer *v = raft_malloc(sizeof(*v));
	if (v == NULL)
		return RAFT_NOMEM;
	if (ledger_snapshot(c->db_path, raft_malloc, &b, &len, &last, err,
	                    sizeof(err)) != FXB_OK) {
		log_warn("cluster: snapshot failed: %s (the next one tries "
		         "again)",
		         err);
		raft_free(v);
		return RAFT_IOERR;
	}
	v->base = b;
	v->len = len;
	*bufs = v;
	*n_bufs = 1;
	atomic_fetch_add(&c->snapshots_taken, 1);
	log_info("cluster: snapshot of the ledger at seq %lld (%zu bytes)",
	         (long long)last, len);
	return 0;
}

/* A snapshot from the leader (this node was too far behind), or this
 * node's own at start.  A ledger of the same log that already holds
 * every row the snapshot does is kept: it may hold more. */
static int
fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct cluster *c = fsm->data;
	struct daemon *d = c->d;
	unsigned char id[32];
	int64_t last;
	char err[512];

	if (!ledger_snapshot_info(buf->base, buf->len, id, &last)) {
		log_error("cluster: a snapshot that is not a ledger's");
		return RAFT_MALFORMED;
	}
	if (ledger_same_log(d->ledger, id) &&
	    ledger_last_seq(d->ledger) >= last) {
		raft_free(buf->base);
		return 0;
	}
	pthread_mutex_lock(&d->mu);
	pthread_mutex_lock(&d->qmu);
	ledger_close(d->ledger);
	d->ledger = NULL;
	enum fxb_err rc = ledger_snapshot_install(c->db_path, buf->base,
	                                          buf->len, err, sizeof(err));
	if (rc == FXB_OK)
		rc = ledger_open(c->db_path, false, &d->ledger, err,
		                 sizeof(err));
	if (rc != FXB_OK) {
		log_error("cluster: cannot install the snapshot: %s: stopping",
		          err);
		log_drain(1000);
		abort();
	}
	c->h.ledger_ready(d);
	atomic_store(&d->applied, ledger_last_seq(d->ledger));
	pthread_mutex_unlock(&d->qmu);
	pthread_mutex_unlock(&d->mu);
	raft_free(buf->base);
	atomic_fetch_add(&c->snapshots_installed, 1);
	log_info("cluster: installed a snapshot of the ledger up to seq %lld",
	         (long long)last);
	return 0;
}

/* The notes' thread: the queued notes written out oldest first, c->mu
 * released while each is (its file is synced). */
static void *
note_main(void *arg)
{
	struct cluster *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->nnotes == 0 && !c->note_stop)
			pthread_cond_wait(&c->note_cv, &c->mu);
		if (c->nnotes == 0)
			break;
		struct pending_note n = c->notes[0];
		memmove(c->notes, c->notes + 1,
		        (c->nnotes - 1) * sizeof(*c->notes));
		c->nnotes--;
		pthread_mutex_unlock(&c->mu);
		c->h.export_note(c->d, n.size, n.text);
		free(n.text);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

void
cluster_fsm_init(struct cluster *c)
{
	c->fsm.version = 3;
	c->fsm.data = c;
	c->fsm.apply = fsm_apply;
	c->fsm.snapshot = fsm_snapshot;
	c->fsm.snapshot_async = fsm_snapshot_async;
	c->fsm.snapshot_finalize = NULL; /* libraft frees the buffers */
	c->fsm.restore = fsm_restore;
}

bool
cluster_notes_start(struct cluster *c)
{
	return pthread_create(&c->note_thread, NULL, note_main, c) == 0;
}

void
cluster_notes_stop(struct cluster *c)
{
	pthread_mutex_lock(&c->mu);
	c->note_stop = true;
	pthread_cond_signal(&c->note_cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->note_thread, NULL);
}
