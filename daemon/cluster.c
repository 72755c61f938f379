/*
 * cluster.c: three nodes on Raft (docs/ARCHITECTURE.md, "Three nodes on
 * Raft").  libraft 0.15 (canonical/raft) runs on a libuv loop on a thread
 * of its own; every raft call is made on that thread.  The writer thread
 * hands it one batch at a time (cluster_commit) and waits: the batch is
 * one Raft entry, and the replies that wait for its rows go out only once
 * a majority has it and this node's ledger holds it.
 *
 * Every node's FSM appends each entry's rows to its own ledger
 * (ledger_entry_apply: idempotent by seq, byte-identical rows).  The
 * leader's engine decides; a follower's engine takes the rate feed and
 * its events are dropped (wal_enqueue), to be rebuilt from the log the
 * moment it is promoted (daemon_promote).
 *
 * The lease: a leader answers checks only while a majority has been
 * heard from recently enough that no other node can have been elected
 * (cluster_gate).  libraft's own step-down takes up to two election
 * timeouts and keeps stale flags across a stopped process; the lease
 * uses only contacts this loop saw happen, so a leader that was stopped
 * (SIGSTOP, a VM pause) or cut off answers no_quorum from the first
 * request after one election timeout.
 */
#include <errno.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "daemon_impl.h"

/* How often the loop looks at raft's state: the role, the leader, the
 * lease.  libraft 0.15 has no state-change callback. */
#define POLL_MS 5
/* AppendEntries in flight to one peer that the lease keeps the send
 * times of (two seconds of heartbeats). */
#define SENT_MAX 64
/* A passive WAL checkpoint of the ledger after this many applies. */
#define APPLY_CHECKPOINT_EVERY 256
/* A write that fails is retried this long before the node stops: a node
 * whose ledger cannot be written must not go on voting as if it had. */
#define APPLY_RETRY_MS 5000

/* One batch handed over by the writer (cluster_commit), under c->mu. */
struct submit {
	struct raft_buffer buf;
	bool queued; /* waiting for the loop */
	bool done;   /* the loop's answer is in status */
	int status;  /* 0, or a raft error */
	char err[256];
};

/* One membership change asked by a command (cluster_change), under
 * c->mu. */
struct change {
	bool queued, done;
	bool add; /* else remove */
	unsigned id;
	char address[BREAKER_TEXT_MAX + 1];
	int status;
	char err[256];
	struct raft_change req;
};

/* A checkpoint's note waiting for the note thread. */
struct pending_note {
	int64_t size;
	char *text;
};

/* What the lease knows of one peer (c->contact). */
struct peer_contact {
	raft_id id;
	int64_t at; /* it had heard from this leader by then */
	int64_t sent[SENT_MAX];
	unsigned head, n;
};

struct cluster {
	struct daemon *d;
	struct cluster_hooks h;
	unsigned id;
	char address[BREAKER_TEXT_MAX + 1];
	char raft_dir[BREAKER_TEXT_MAX + 16];
	char db_path[BREAKER_TEXT_MAX + 32];
	int64_t election_ms, heartbeat_ms;

	uv_loop_t loop;
	uv_async_t wake;
	uv_timer_t poll;
	struct raft_uv_transport transport;
	struct raft_io io;  /* raft_uv's */
	struct raft_io rio; /* what raft is given: io, its receipts watched */
	raft_io_recv_cb raft_recv;
	struct raft_fsm fsm;
	struct raft raft;
	pthread_t thread;
	bool started, closed;
	/* Checkpoint notes to write out, oldest first (c->mu): a note's
	 * file is synced, which the loop must not wait for (a trip's
	 * checkpoint would double its commit time on every node). */
	pthread_t note_thread;
	pthread_cond_t note_cv;
	struct pending_note *notes;
	size_t nnotes, capnotes;
	bool note_stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct submit sub;
	struct raft_apply apply;
	struct change chg;
	/* raft's configuration as the loop last saw it. */
	struct cluster_member members[CLUSTER_PEERS_MAX + 4];
	size_t nmembers;
	bool stop;

	/* Loop thread only. */
	struct raft_barrier barrier;
	bool barrier_pending;
	raft_term barrier_term;
	unsigned applies;
	/* The lease: per peer id, the send times of the AppendEntries not
	 * yet answered (oldest first), and the latest time the peer is
	 * known to have heard from this leader; no answer counts before
	 * quiet_until. */
	struct peer_contact contact[CLUSTER_PEERS_MAX];
	int64_t last_poll, quiet_until;

	/* Read by any thread. */
	_Atomic int64_t lease_until; /* ms, monotonic */
	_Atomic unsigned leader;     /* 0: none known */
	_Atomic uint64_t term;
	_Atomic int64_t promoted_seq; /* leader_elected's row */
	_Atomic uint64_t elections, snapshots_taken, snapshots_installed;
};

/* The lease's clock: CLOCK_BOOTTIME, which, unlike CLOCK_MONOTONIC,
 * goes on counting while the host is suspended: a leader resumed from a
 * suspend must find its lease run out. */
static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the FSM: every node, the loop thread ---- */

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

/* ---- the writer's hand-over ---- */

static void
apply_done(struct raft_apply *req, int status, void *result)
{
	struct cluster *c = req->data;
	(void)result;
	pthread_mutex_lock(&c->mu);
	c->sub.done = true;
	c->sub.status = status;
	if (status != 0)
		snprintf(c->sub.err, sizeof(c->sub.err), "%s",
		         raft_strerror(status));
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
change_done(struct cluster *c, int status)
{
	pthread_mutex_lock(&c->mu);
	c->chg.done = true;
	c->chg.status = status;
	if (status != 0)
		snprintf(c->chg.err, sizeof(c->chg.err), "%s",
		         raft_strerror(status));
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
on_assigned(struct raft_change *req, int status)
{
	change_done(req->data, status);
}

/* A node added joins as a spare (it takes the log, votes on nothing);
 * promoted to voter once libraft has caught it up. */
static void
on_added(struct raft_change *req, int status)
{
	struct cluster *c = req->data;
	if (status != 0) {
		change_done(c, status);
		return;
	}
	int rv = raft_assign(&c->raft, &c->chg.req, c->chg.id, RAFT_VOTER,
	                     on_assigned);
	if (rv != 0)
		change_done(c, rv);
}

static void
change_start(struct cluster *c)
{
	c->chg.req.data = c;
	int rv = c->chg.add ? raft_add(&c->raft, &c->chg.req, c->chg.id,
	                               c->chg.address, on_added)
	                    : raft_remove(&c->raft, &c->chg.req, c->chg.id,
	                                  on_assigned);
	if (rv != 0)
		change_done(c, rv);
}

static void
on_wake(uv_async_t *h)
{
	struct cluster *c = h->data;
	pthread_mutex_lock(&c->mu);
	bool change = c->chg.queued;
	c->chg.queued = false;
	bool stop = c->stop;
	bool go = c->sub.queued;
	struct raft_buffer buf = c->sub.buf;
	c->sub.queued = false;
	pthread_mutex_unlock(&c->mu);
	if (stop) {
		if (!c->closed) {
			c->closed = true;
			uv_timer_stop(&c->poll);
			uv_close((uv_handle_t *)&c->poll, NULL);
			uv_close((uv_handle_t *)&c->wake, NULL);
			raft_close(&c->raft, NULL);
		}
		if (go)
			raft_free(buf.base);
		if (go)
			apply_done(&c->apply, RAFT_SHUTDOWN, NULL);
		if (change)
			change_done(c, RAFT_SHUTDOWN);
		return;
	}
	if (change)
		change_start(c);
	if (!go)
		return;
	c->apply.data = c;
	int rv = raft_apply(&c->raft, &c->apply, &buf, 1, apply_done);
	if (rv != 0) {
		raft_free(buf.base);
		apply_done(&c->apply, rv, NULL);
	}
}

enum fxb_err
cluster_commit(struct cluster *c, const struct ledger_row *rows, size_t n,
               int64_t now, bool sign, char *err, size_t errlen)
{
	void *b = NULL;
	size_t len = 0;
	enum fxb_err rc = ledger_entry_encode(c->d->ledger, rows, n, now, sign,
	                                      raft_malloc, &b, &len);
	if (rc != FXB_OK) {
		snprintf(err, errlen, "cannot encode the entry: %s",
		         fxb_strerror(rc));
		return FXB_ERR_LEDGER;
	}
	pthread_mutex_lock(&c->mu);
	c->sub.buf.base = b;
	c->sub.buf.len = len;
	c->sub.queued = true;
	c->sub.done = false;
	c->sub.err[0] = '\0';
	pthread_mutex_unlock(&c->mu);
	uv_async_send(&c->wake);

	pthread_mutex_lock(&c->mu);
	while (!c->sub.done)
		pthread_cond_wait(&c->cv, &c->mu);
	int status = c->sub.status;
	if (status != 0)
		snprintf(err, errlen,
		         "the cluster did not commit the rows: %s",
		         c->sub.err);
	pthread_mutex_unlock(&c->mu);
	if (status == 0)
		return FXB_OK;
	/* Not the leader any more (or never was): the rows are not this
	 * node's to write.  Anything else is the leader's log failing. */
	return status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST ||
	               status == RAFT_SHUTDOWN
	           ? FXB_ERR_NOT_LEADER
	           : FXB_ERR_LEDGER;
}

/* ---- the role, the leader, the lease: the loop thread ---- */

static void
on_barrier(struct raft_barrier *req, int status)
{
	struct cluster *c = req->data;
	c->barrier_pending = false;
	if (status != 0 || raft_state(&c->raft) != RAFT_LEADER ||
	    c->raft.current_term != c->barrier_term)
		return; /* the next poll sees what became of it */
	/* Every entry of earlier terms is applied: the log is whole.  No
	 * check is answered until this term's leader_elected is committed
	 * (an earlier term's must not count). */
	atomic_store(&c->promoted_seq, 0);
	int64_t seq = c->h.promote(c->d, c->id, c->barrier_term);
	if (seq <= 0) {
		/* Out of memory, or the log unreadable: a leader that
		 * cannot serve must not hold the leadership.  Stopping
		 * hands it to another node within an election. */
		log_error("cluster: cannot take over as leader (term %llu): "
		          "stopping",
		          (unsigned long long)c->barrier_term);
		log_drain(1000);
		abort();
	}
	atomic_store(&c->promoted_seq, seq);
	atomic_fetch_add(&c->elections, 1);
}

/* The lease from the contacts: the majority-th most recent answer among
 * the voters (this node counts as now). */
static void
lease_update(struct cluster *c, int64_t now)
{
	struct raft *r = &c->raft;
	int64_t heard[CLUSTER_PEERS_MAX + 1];
	size_t voters = 0;

	for (unsigned i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		if (s->role != RAFT_VOTER || voters == CLUSTER_PEERS_MAX + 1)
			continue;
		int64_t at = s->id == r->id ? now : 0;
		for (size_t k = 0; at == 0 && k < CLUSTER_PEERS_MAX; k++)
			if (c->contact[k].id == s->id)
				at = c->contact[k].at;
		heard[voters++] = at;
	}
	if (voters == 0)
		return;
	for (size_t i = 1; i < voters; i++)
		for (size_t j = i; j > 0 && heard[j] > heard[j - 1]; j--) {
			int64_t t = heard[j];
			heard[j] = heard[j - 1];
			heard[j - 1] = t;
		}
	int64_t quorum_at = heard[voters / 2];
	/* A follower that answered at quorum_at had heard from this leader
	 * just before, and neither votes for another nor stands itself
	 * until an election timeout after that; one heartbeat is the
	 * margin for the flight of the messages. */
	if (quorum_at > 0)
		atomic_store(&c->lease_until,
		             quorum_at + c->election_ms - c->heartbeat_ms);
}

/* A gap in the loop's polls (the process was stopped, or the loop held
 * up): for one heartbeat from now, no answer counts for the lease, as
 * it may have waited in the socket since before.  Asked where answers
 * arrive (on_recv) and where the loop polls (on_poll), whichever runs
 * first after the gap. */
static void
stall_seen(struct cluster *c, int64_t now)
{
	if (now - c->last_poll > 2 * c->heartbeat_ms)
		c->quiet_until = now + c->heartbeat_ms;
}

/* The peer's slot in c->contact, taken on first use; NULL if full. */
static struct peer_contact *
contact_of(struct cluster *c, raft_id id)
{
	size_t k, free_k = CLUSTER_PEERS_MAX;
	for (k = 0; k < CLUSTER_PEERS_MAX; k++) {
		if (c->contact[k].id == id)
			return &c->contact[k];
		if (c->contact[k].id == 0 && free_k == CLUSTER_PEERS_MAX)
			free_k = k;
	}
	if (free_k == CLUSTER_PEERS_MAX)
		return NULL;
	memset(&c->contact[free_k], 0, sizeof(c->contact[free_k]));
	c->contact[free_k].id = id;
	return &c->contact[free_k];
}

/*
 * Every message raft_uv receives passes here first (cluster_new gives
 * raft c->rio, whose start installs this).  An AppendEntries result of
 * this leader's term is a follower that heard from it; but when?  Not
 * when the answer arrives: a follower answers entries only after its
 * disk has them, and this loop may read late.  Requests reach a follower
 * in order (one TCP connection), and each is answered once, so with n
 * answers in the follower has had at least the first n requests: the
 * n-th request's send time is when it heard from this leader, at the
 * latest.  A lost answer only makes that older (safe); sends older than
 * the lease could use are dropped so that one cannot hold the lease back
 * for good.
 */
static void
on_recv(struct raft_io *io, struct raft_message *m)
{
	struct cluster *c =
	    (struct cluster *)(void *)((char *)io -
	                               offsetof(struct cluster, io));
	int64_t now = mono_ms();
	/* Messages read right after this loop stood still (the process was
	 * stopped) may have waited in the socket since before: they prove
	 * nothing about now.  Only answers to what is sent from here on
	 * count. */
	stall_seen(c, now);
	if (m->type == RAFT_IO_APPEND_ENTRIES_RESULT &&
	    raft_state(&c->raft) == RAFT_LEADER &&
	    m->append_entries_result.term == c->raft.current_term) {
		struct peer_contact *p = contact_of(c, m->server_id);
		int64_t stale = now - (c->election_ms - c->heartbeat_ms);
		while (p != NULL && p->n > 0 && p->sent[p->head] < stale) {
			p->head = (p->head + 1) % SENT_MAX;
			p->n--;
		}
		if (p != NULL && p->n > 0) {
			int64_t at = p->sent[p->head];
			p->head = (p->head + 1) % SENT_MAX;
			p->n--;
			if (now >= c->quiet_until && at > p->at)
				p->at = at;
			lease_update(c, now);
		}
	}
	c->raft_recv(io, m);
}

/* Every message raft sends passes here: an AppendEntries' send time is
 * kept for the answer (on_recv). */
static int
rio_send(struct raft_io *io, struct raft_io_send *req,
         const struct raft_message *m, raft_io_send_cb cb)
{
	struct cluster *c =
	    (struct cluster *)(void *)((char *)io -
	                               offsetof(struct cluster, rio));
	if (m->type == RAFT_IO_APPEND_ENTRIES &&
	    raft_state(&c->raft) == RAFT_LEADER) {
		struct peer_contact *p = contact_of(c, m->server_id);
		/* Full: the peer answers nothing; the newest send is the one
		 * not kept, which can only make a later credit older. */
		if (p != NULL && p->n < SENT_MAX) {
			p->sent[(p->head + p->n) % SENT_MAX] = mono_ms();
			p->n++;
		}
	}
	return c->io.send(&c->io, req, m, cb);
}

static int
rio_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
          raft_io_recv_cb recv)
{
	struct cluster *c =
	    (struct cluster *)(void *)((char *)io -
	                               offsetof(struct cluster, rio));
	c->raft_recv = recv;
	return c->io.start(&c->io, msecs, tick, on_recv);
}

static void
on_poll(uv_timer_t *h)
{
	struct cluster *c = h->data;
	struct daemon *d = c->d;
	int64_t now = mono_ms();
	int state = raft_state(&c->raft);
	raft_id lid = 0;
	const char *laddr = NULL;

	stall_seen(c, now);
	c->last_poll = now;
	raft_leader(&c->raft, &lid, &laddr);
	atomic_store(&c->leader, (unsigned)lid);
	pthread_mutex_lock(&c->mu);
	c->nmembers = 0;
	for (unsigned i = 0; i < c->raft.configuration.n &&
	                     c->nmembers < CLUSTER_PEERS_MAX + 4;
	     i++) {
		const struct raft_server *sv =
		    &c->raft.configuration.servers[i];
		struct cluster_member *m = &c->members[c->nmembers++];
		m->id = (unsigned)sv->id;
		m->role = sv->role == RAFT_VOTER     ? "voter"
		          : sv->role == RAFT_STANDBY ? "standby"
		                                     : "spare";
		snprintf(m->raft_address, sizeof(m->raft_address), "%s",
		         sv->address);
	}
	pthread_mutex_unlock(&c->mu);
	atomic_store(&c->term, (uint64_t)c->raft.current_term);
	if (state == RAFT_LEADER) {
		lease_update(c, now);
		int64_t promoted = atomic_load(&c->promoted_seq);
		int want = ROLE_PROMOTING;
		if (promoted > 0 && atomic_load(&d->committed) >= promoted)
			atomic_compare_exchange_strong(&d->role, &want,
			                               ROLE_LEADER);
		if (atomic_load(&d->role) == ROLE_FOLLOWER &&
		    !c->barrier_pending) {
			c->barrier_pending = true;
			c->barrier_term = c->raft.current_term;
			c->barrier.data = c;
			if (raft_barrier(&c->raft, &c->barrier, on_barrier) !=
			    0)
				c->barrier_pending = false;
		}
		return;
	}
	memset(c->contact, 0, sizeof(c->contact));
	atomic_store(&c->lease_until, 0);
	atomic_store(&c->promoted_seq, 0);
	if (atomic_load(&d->role) != ROLE_FOLLOWER)
		c->h.demote(d, (unsigned)lid);
}

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

static void *
loop_main(void *arg)
{
	struct cluster *c = arg;
	uv_run(&c->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ---- start, stop, what others read ---- */

static const struct peer_conf *
peer_of(const struct cluster_conf *cc, unsigned id)
{
	for (size_t i = 0; i < cc->npeers; i++)
		if (cc->peers[i].id == id)
			return &cc->peers[i];
	return NULL;
}

/* raft_uv keeps its term and vote in metadata1 and metadata2: either
 * means this directory has a Raft log already. */
static bool
raft_state_exists(const char *dir)
{
	char path[BREAKER_TEXT_MAX + 32];
	struct stat st;
	for (int i = 1; i <= 2; i++) {
		snprintf(path, sizeof(path), "%s/metadata%d", dir, i);
		if (stat(path, &st) == 0)
			return true;
	}
	return false;
}

struct cluster *
cluster_new(struct daemon *d, const struct cluster_hooks *h, char *err,
            size_t errlen)
{
	const struct cluster_conf *cc = &d->svc.cluster;
	const struct peer_conf *me = peer_of(cc, cc->node_id);
	struct cluster *c = calloc(1, sizeof(*c));
	int rv;

	if (c == NULL || me == NULL) {
		snprintf(err, errlen, "%s",
		         c == NULL ? "out of memory"
		                   : "no [peer] for this node");
		free(c);
		return NULL;
	}
	c->d = d;
	c->h = *h;
	c->id = cc->node_id;
	c->election_ms = cc->election_timeout;
	c->heartbeat_ms = cc->heartbeat_timeout;
	snprintf(c->address, sizeof(c->address), "%s", me->raft_address);
	snprintf(c->raft_dir, sizeof(c->raft_dir), "%s/raft", d->svc.data_dir);
	snprintf(c->db_path, sizeof(c->db_path), "%s/fxbreaker.db",
	         d->svc.data_dir);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->note_cv, NULL);
	if (mkdir(c->raft_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", c->raft_dir, strerror(errno));
		goto fail;
	}
	if (uv_loop_init(&c->loop) != 0) {
		snprintf(err, errlen, "cannot start the cluster's event loop");
		goto fail;
	}
	c->wake.data = c;
	c->poll.data = c;
	if (uv_async_init(&c->loop, &c->wake, on_wake) != 0 ||
	    uv_timer_init(&c->loop, &c->poll) != 0 ||
	    (rv = raft_uv_tcp_init(&c->transport, &c->loop)) != 0 ||
	    (rv = raft_uv_init(&c->io, &c->loop, c->raft_dir,
	                       &c->transport)) != 0) {
		snprintf(err, errlen, "cluster I/O in %s: %s", c->raft_dir,
		         c->io.errmsg[0] != '\0' ? c->io.errmsg
		                                 : "cannot start");
		goto fail;
	}
	c->fsm.version = 3;
	c->fsm.data = c;
	c->fsm.apply = fsm_apply;
	c->fsm.snapshot = fsm_snapshot;
	c->fsm.snapshot_async = fsm_snapshot_async;
	c->fsm.snapshot_finalize = NULL; /* libraft frees the buffers */
	c->fsm.restore = fsm_restore;
	/* raft gets a copy of raft_uv's io whose start watches what
	 * arrives (on_recv); raft_uv calls back with its own, which must
	 * then lead to the same raft. */
	c->rio = c->io;
	c->rio.start = rio_start;
	c->rio.send = rio_send;
	/* Debian's raft_uv 0.15 fills in async_work (libuv's thread pool)
	 * but still says version 1, which raft_init takes to mean "no
	 * asynchronous snapshots". */
	if (c->rio.async_work != NULL)
		c->rio.version = 2;
	if ((rv = raft_init(&c->raft, &c->rio, &c->fsm, c->id, c->address)) !=
	    0) {
		snprintf(err, errlen, "raft: %s", raft_errmsg(&c->raft));
		goto fail;
	}
	c->io.data = &c->raft;
	raft_set_election_timeout(&c->raft, (unsigned)c->election_ms);
	raft_set_heartbeat_timeout(&c->raft, (unsigned)c->heartbeat_ms);
	raft_set_snapshot_threshold(&c->raft, cc->snapshot_threshold);
	raft_set_snapshot_trailing(&c->raft, cc->snapshot_threshold / 4);
	/* A node that was cut off asks before it disrupts the majority
	 * with a higher term. */
	raft_set_pre_vote(&c->raft, true);

	/* Every node bootstraps the same voters (a voter = no peer is
	 * added later, by command); a node with state of its own keeps it
	 * (RAFT_CANTBOOTSTRAP). */
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	for (size_t i = 0; i < cc->npeers; i++)
		if (!cc->peers[i].spare &&
		    raft_configuration_add(&conf, cc->peers[i].id,
		                           cc->peers[i].raft_address,
		                           RAFT_VOTER) != 0) {
			raft_configuration_close(&conf);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	/* A new cluster log under a ledger with rows of its own: those
	 * rows are in no node's Raft log, and the others' ledgers would
	 * fork from this one.  Asked before raft_bootstrap writes anything,
	 * so that a second start refuses as the first did. */
	if (!raft_state_exists(c->raft_dir) &&
	    ledger_last_seq(d->ledger) > 0) {
		raft_configuration_close(&conf);
		snprintf(
		    err, errlen,
		    "%s/fxbreaker.db has %lld rows but %s is a new "
		    "cluster log: a node starts from an empty data_dir or "
		    "from its own (docs/OPERATIONS.md, \"Three nodes\")",
		    d->svc.data_dir, (long long)ledger_last_seq(d->ledger),
		    c->raft_dir);
		goto fail;
	}
	rv = raft_bootstrap(&c->raft, &conf);
	raft_configuration_close(&conf);
	if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
		snprintf(err, errlen, "raft bootstrap in %s: %s", c->raft_dir,
		         raft_errmsg(&c->raft));
		goto fail;
	}
	return c;
fail:
	/* raft_init's and uv's resources are the process's to reclaim:
	 * the daemon is not starting. */
	free(c);
	return NULL;
}

bool
cluster_start(struct cluster *c)
{
	/* A node that starts knows no leader, and libraft 0.15 refuses a
	 * vote only while it knows one: started at once, it could help
	 * elect a new leader while the old one still holds its lease (it
	 * heard this node before the restart).  One election timeout of
	 * silence first lets every such lease run out. */
	struct timespec ts = {(time_t)(c->election_ms / 1000),
	                      (long)(c->election_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	int rv = raft_start(&c->raft);
	if (rv != 0) {
		log_error("raft: %s", raft_errmsg(&c->raft));
		return false;
	}
	c->last_poll = mono_ms();
	uv_timer_start(&c->poll, on_poll, POLL_MS, POLL_MS);
	if (pthread_create(&c->note_thread, NULL, note_main, c) != 0)
		return false;
	if (pthread_create(&c->thread, NULL, loop_main, c) != 0) {
		pthread_mutex_lock(&c->mu);
		c->note_stop = true;
		pthread_cond_signal(&c->note_cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->note_thread, NULL);
		return false;
	}
	c->started = true;
	return true;
}

void
cluster_stop(struct cluster *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_mutex_unlock(&c->mu);
		uv_async_send(&c->wake);
		pthread_join(c->thread, NULL);
		/* The notes the last applies made are written before the
		 * daemon's checkpoint directory goes. */
		pthread_mutex_lock(&c->mu);
		c->note_stop = true;
		pthread_cond_signal(&c->note_cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->note_thread, NULL);
		raft_uv_close(&c->io);
		raft_uv_tcp_close(&c->transport);
		uv_loop_close(&c->loop);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->note_cv);
	free(c->notes);
	free(c);
}

enum fxb_err
cluster_gate(struct daemon *d, char *msg, size_t cap, const char **leader)
{
	struct cluster *c = d->cluster;
	*leader = NULL;
	if (c == NULL)
		return FXB_OK;
	int role = atomic_load(&d->role);
	if (role == ROLE_LEADER || role == ROLE_PROMOTING) {
		int64_t promoted = atomic_load(&c->promoted_seq);
		if (promoted <= 0 || atomic_load(&d->committed) < promoted) {
			snprintf(msg, cap,
			         "node %u was just elected and has "
			         "not yet logged it; ask again",
			         c->id);
			return FXB_ERR_NOT_LEADER;
		}
		if (mono_ms() < atomic_load(&c->lease_until))
			return FXB_OK;
		snprintf(msg, cap,
		         "node %u has not heard from a majority of the "
		         "cluster within %lld ms: another node may lead",
		         c->id, (long long)c->election_ms);
		return FXB_ERR_NO_QUORUM;
	}
	unsigned lid = atomic_load(&c->leader);
	const struct peer_conf *p =
	    lid != 0 && lid != c->id ? peer_of(&d->svc.cluster, lid) : NULL;
	if (p != NULL) {
		*leader = p->check_url;
		snprintf(msg, cap,
		         "node %u is a follower; the leader is node %u", c->id,
		         lid);
	} else {
		snprintf(msg, cap,
		         "node %u is a follower and knows no leader (an "
		         "election is under way, or no majority is up)",
		         c->id);
	}
	return FXB_ERR_NOT_LEADER;
}

void
cluster_status(struct daemon *d, struct cluster_state *st)
{
	struct cluster *c = d->cluster;
	memset(st, 0, sizeof(*st));
	if (c == NULL)
		return;
	st->node = c->id;
	st->leader = atomic_load(&c->leader);
	st->term = atomic_load(&c->term);
	st->role = atomic_load(&d->role);
	int64_t left = atomic_load(&c->lease_until) - mono_ms();
	st->lease_ms = left > 0 ? left : 0;
	st->elections = atomic_load(&c->elections);
	st->snapshots_taken = atomic_load(&c->snapshots_taken);
	st->snapshots_installed = atomic_load(&c->snapshots_installed);
	st->applied = atomic_load(&d->applied);
}

enum fxb_err
cluster_change(struct cluster *c, bool add, unsigned id, char *err,
               size_t errlen)
{
	const struct peer_conf *p = peer_of(&c->d->svc.cluster, id);
	if (add && p == NULL) {
		snprintf(err, errlen,
		         "node %u has no [peer %u] in this node's config: add "
		         "it to every node's file and restart them one at a "
		         "time first",
		         id, id);
		return FXB_ERR_CONFIG;
	}
	if (atomic_load(&c->d->role) != ROLE_LEADER) {
		snprintf(err, errlen, "node %u is not the leader", c->id);
		return FXB_ERR_NOT_LEADER;
	}
	pthread_mutex_lock(&c->mu);
	if (c->chg.queued || (!c->chg.done && c->chg.id != 0)) {
		pthread_mutex_unlock(&c->mu);
		snprintf(err, errlen,
		         "another membership change is under way");
		return FXB_ERR_BUSY;
	}
	memset(&c->chg, 0, sizeof(c->chg));
	c->chg.queued = true;
	c->chg.add = add;
	c->chg.id = id;
	if (p != NULL)
		snprintf(c->chg.address, sizeof(c->chg.address), "%s",
		         p->raft_address);
	pthread_mutex_unlock(&c->mu);
	uv_async_send(&c->wake);
	pthread_mutex_lock(&c->mu);
	while (!c->chg.done)
		pthread_cond_wait(&c->cv, &c->mu);
	int status = c->chg.status;
	snprintf(err, errlen, "%s", c->chg.err);
	c->chg.id = 0;
	pthread_mutex_unlock(&c->mu);
	if (status == 0)
		return FXB_OK;
	return status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST
	           ? FXB_ERR_NOT_LEADER
	           : FXB_ERR_STALE_APPROVAL;
}

size_t
cluster_members(struct cluster *c, struct cluster_member *out, size_t cap)
{
	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	size_t n = c->nmembers < cap ? c->nmembers : cap;
	memcpy(out, c->members, n * sizeof(*out));
	pthread_mutex_unlock(&c->mu);
	return n;
}
