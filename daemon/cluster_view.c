/*
 * cluster_view.c: the cluster as status, the board and /metrics show it
 * (docs/PROTOCOL.md, "status"): cluster_lease.c's and
 * cluster_members.c's numbers with the config's names for them (the
 * roles' words, each member's check_url).  A file of its own so that
 * those three, which sit at different heights, all read it from below.
 */
#include <stdio.h>

#include "daemon_impl.h"

bool
cluster_view(struct daemon *d, struct cluster_view *v)
{
	static const char *const roles[] = {"single", "follower", "promoting",
	                                    "leader"};
	struct cluster_state cs;
	const struct cluster_conf *cc = &d->svc.cluster;
	if (d->cluster == NULL)
		return false;
	cluster_status(d, &cs);
	const char *url = NULL;
	for (size_t i = 0; i < cc->npeers; i++)
		if (cs.leader != 0 && cc->peers[i].id == cs.leader)
			url = cc->peers[i].check_url;
	size_t nm = cluster_members(d->cluster, v->mem, CLUSTER_PEERS_MAX + 4);
	for (size_t i = 0; i < nm; i++) {
		v->im[i] =
		    (struct ipc_status_member){v->mem[i].id, v->mem[i].role,
		                               v->mem[i].raft_address, NULL};
		for (size_t k = 0; k < cc->npeers; k++)
			if (cc->peers[k].id == v->mem[i].id)
				v->im[i].check_url = cc->peers[k].check_url;
	}
	v->state = cs;
	v->c = (struct ipc_status_cluster){
	    cs.node,
	    cs.leader,
	    roles[cs.role & 3],
	    url,
	    cs.term,
	    cs.lease_ms,
	    cs.applied,
	    cs.elections,
	    cs.snapshots_taken,
	    cs.snapshots_installed,
	    v->im,
	    nm,
	};
	return true;
}
