/*
 * cluster_members.c: membership changes (docs/OPERATIONS.md, "Three
 * nodes"): an approved cluster_add or cluster_remove, carried out by
 * command.c on a thread of its own, handed to the loop thread here
 * (cluster_change) and waited for; a node added joins as a spare and is
 * promoted to voter once caught up.  One change at a time.  Also raft's
 * member list as the loop last saw it (cluster_members).  The four-eyes
 * approval itself is foureyes.c's and cmd_apply.c's.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cluster_impl.h"

void
cluster_change_done(struct cluster *c, int status)
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
	cluster_change_done(req->data, status);
}

/* A node added joins as a spare (it takes the log, votes on nothing);
 * promoted to voter once libraft has caught it up. */
static void
on_added(struct raft_change *req, int status)
{
	struct cluster *c = req->data;
	if (status != 0) {
		cluster_change_done(c, status);
		return;
	}
	int rv = raft_assign(&c->raft, &c->chg.req, c->chg.id, RAFT_VOTER,
	                     on_assigned);
	if (rv != 0)
		cluster_change_done(c, rv);
}

void
cluster_change_start(struct cluster *c)
{
	c->chg.req.data = c;
	int rv = c->chg.add ? raft_add(&c->raft, &c->chg.req, c->chg.id,
	                               c->chg.address, on_added)
	                    : raft_remove(&c->raft, &c->chg.req, c->chg.id,
	                                  on_assigned);
	if (rv != 0)
		cluster_change_done(c, rv);
}

enum fxb_err
cluster_change(struct cluster *c, bool add, unsigned id, char *err,
               size_t errlen)
{
	const struct peer_conf *p = cluster_peer_of(&c->d->svc.cluster, id);
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
