/*
 * cluster_lease.c: who leads, and whether this node may answer a check
 * (docs/ARCHITECTURE.md, "Promotion" and "Fail closed without a
 * majority: the lease").  On the loop thread, every POLL_MS: raft's
 * state, the leader, the members and the term read for the other
 * threads; promotion once a barrier has every earlier entry applied,
 * demotion when raft says so.  Every message raft sends and receives
 * passes through here, so that the lease counts only contacts this loop
 * saw happen.  cluster_gate and cluster_status read the result from any
 * thread.
 *
 * The lease: a leader answers checks only while a majority has been
 * heard from recently enough that no other node can have been elected
 * (cluster_gate).  libraft's own step-down takes up to two election
 * timeouts and keeps stale flags across a stopped process; the lease
 * uses only contacts this loop saw happen, so a leader that was stopped
 * (SIGSTOP, a VM pause) or cut off answers no_quorum from the first
 * request after one election timeout.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cluster_impl.h"

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
 * arrive (on_recv) and where the loop polls (cluster_on_poll), whichever runs
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
 * raft c->rio, cluster_lease_watch's, whose start installs this).  An
 * AppendEntries result of this leader's term is a follower that heard from it;
 * but when?  Not when the answer arrives: a follower answers entries only
 * after its disk has them, and this loop may read late.  Requests reach a
 * follower in order (one TCP connection), and each is answered once, so with n
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
	int64_t now = cluster_mono_ms();
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
			p->sent[(p->head + p->n) % SENT_MAX] =
			    cluster_mono_ms();
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

void
cluster_lease_watch(struct cluster *c)
{
	c->rio = c->io;
	c->rio.start = rio_start;
	c->rio.send = rio_send;
}

void
cluster_on_poll(uv_timer_t *h)
{
	struct cluster *c = h->data;
	struct daemon *d = c->d;
	int64_t now = cluster_mono_ms();
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
		if (cluster_mono_ms() < atomic_load(&c->lease_until))
			return FXB_OK;
		snprintf(msg, cap,
		         "node %u has not heard from a majority of the "
		         "cluster within %lld ms: another node may lead",
		         c->id, (long long)c->election_ms);
		return FXB_ERR_NO_QUORUM;
	}
	unsigned lid = atomic_load(&c->leader);
	const struct peer_conf *p = lid != 0 && lid != c->id
	                                ? cluster_peer_of(&d->svc.cluster, lid)
	                                : NULL;
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
	int64_t left = atomic_load(&c->lease_until) - cluster_mono_ms();
	st->lease_ms = left > 0 ? left : 0;
	st->elections = atomic_load(&c->elections);
	st->snapshots_taken = atomic_load(&c->snapshots_taken);
	st->snapshots_installed = atomic_load(&c->snapshots_installed);
	st->applied = atomic_load(&d->applied);
}
