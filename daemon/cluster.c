/*
 * cluster.c: three nodes on Raft (docs/ARCHITECTURE.md, "Three nodes on
 * Raft"): the node.  libraft 0.15 (canonical/raft) runs on a libuv loop
 * on a thread of its own; every raft call is made on that thread.  This
 * file sets raft up for the node (its I/O, the FSM, the config's voters
 * bootstrapped), runs the loop thread, starts and stops it, and takes the
 * writer's batches: the writer thread hands it one batch at a time
 * (cluster_commit) and waits: the batch is one Raft entry, and the
 * replies that wait for its rows go out only once a majority has it and
 * this node's ledger holds it.
 *
 * Every node's FSM appends each entry's rows to its own ledger
 * (cluster_fsm.c).  The leader's engine decides; a follower's engine
 * takes the rate feed and its events are dropped (wal_enqueue), to be
 * rebuilt from the log the moment it is promoted (daemon_promote, from
 * cluster_lease.c, which also keeps the lease).  Membership changes are
 * cluster_members.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cluster_impl.h"

/* How often the loop looks at raft's state: the role, the leader, the
 * lease.  libraft 0.15 has no state-change callback. */
#define POLL_MS 5

/* ---- the loop's wake-up, and the writer's hand-over ---- */

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

/* What other threads handed the loop under c->mu: a stop, a membership
 * change (cluster_members.c), the writer's batch. */
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
			cluster_change_done(c, RAFT_SHUTDOWN);
		return;
	}
	if (change)
		cluster_change_start(c);
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

/* ---- the loop thread, start, stop ---- */

static void *
loop_main(void *arg)
{
	struct cluster *c = arg;
	uv_run(&c->loop, UV_RUN_DEFAULT);
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
	const struct peer_conf *me = cluster_peer_of(cc, cc->node_id);
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
	cluster_fsm_init(c);
	/* raft gets a copy of raft_uv's io whose start watches what
	 * arrives (cluster_lease.c's on_recv); raft_uv calls back with its
	 * own, which must then lead to the same raft. */
	cluster_lease_watch(c);
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
	c->last_poll = cluster_mono_ms();
	uv_timer_start(&c->poll, cluster_on_poll, POLL_MS, POLL_MS);
	if (!cluster_notes_start(c))
		return false;
	if (pthread_create(&c->thread, NULL, loop_main, c) != 0) {
		cluster_notes_stop(c);
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
		cluster_notes_stop(c);
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
