/*
 * cluster_impl.h: what the cluster's files share (docs/ARCHITECTURE.md,
 * "Three nodes on Raft"): struct cluster, and a section per file, lowest
 * first.  Only the cluster's files include it: the rest of the daemon
 * sees the cluster through daemon_impl.h's cluster sections, and only
 * these files call raft or libuv.
 *
 *   cluster_fsm.c      applying entries, snapshots, the checkpoint notes'
 *                      thread
 *   cluster_members.c  membership changes (add, remove), the member list
 *   cluster_lease.c    the role, the leader, the lease; cluster_gate
 *   cluster.c          the node: raft set up, the loop thread, the
 *                      writer's hand-over, start and stop
 *
 * cluster.c calls the other three; they call none of the cluster's files
 * (tests/check_calls.py).  libraft is single-threaded: every raft call is
 * made on the loop thread, and other threads hand it work under c->mu and
 * the c->wake async.
 *
 * Locks: c->mu is a leaf: no other lock is taken, and no hook called,
 * with it held.  The loop takes the daemon's mu, then qmu, to install a
 * snapshot (cluster_fsm.c); its hooks (promote, demote) take them too.
 */
#ifndef CLUSTER_IMPL_H
#define CLUSTER_IMPL_H

#include <raft.h>
#include <raft/uv.h>
#include <time.h>
#include <uv.h>

#include "daemon_impl.h"

/* AppendEntries in flight to one peer that the lease keeps the send
 * times of (two seconds of heartbeats). */
#define SENT_MAX 64

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
static inline int64_t
cluster_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The config's [peer id], or NULL. */
static inline const struct peer_conf *
cluster_peer_of(const struct cluster_conf *cc, unsigned id)
{
	for (size_t i = 0; i < cc->npeers; i++)
		if (cc->peers[i].id == id)
			return &cc->peers[i];
	return NULL;
}

/* cluster_fsm.c: the FSM (every node, the loop thread) and the thread
 * that writes the checkpoint notes its applies make. */

/* cluster_fsm_init fills in c->fsm (apply, snapshot, restore). */
void cluster_fsm_init(struct cluster *c);
/* cluster_notes_start starts the notes' thread; false if it cannot.
 * cluster_notes_stop has it write every note queued, then joins it. */
bool cluster_notes_start(struct cluster *c);
void cluster_notes_stop(struct cluster *c);

/* cluster_members.c: membership changes, on the loop thread. */

/* cluster_change_start starts the change c->chg asks (taken off the queue
 * by the loop's wake-up); cluster_change_done ends it with status (0, or
 * a raft error) and wakes cluster_change.  Loop thread, c->mu not held. */
void cluster_change_start(struct cluster *c);
void cluster_change_done(struct cluster *c, int status);

/* cluster_lease.c: the role, the leader, the lease (the loop thread). */

/* cluster_lease_watch makes c->rio raft_uv's c->io with its send and
 * start passing through the lease's bookkeeping (before raft_init). */
void cluster_lease_watch(struct cluster *c);
/* cluster_on_poll, every POLL_MS (cluster.c): the leader, the members, the
 * term, the lease; promotion (after a barrier) and demotion. */
void cluster_on_poll(uv_timer_t *h);

#endif /* CLUSTER_IMPL_H */
