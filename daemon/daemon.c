/*
 * daemon.c: the service's start, reload and stop, and the admin socket's
 * dispatch.  It wires the pure engine to the clock, the log and the
 * sockets; the rules that hold everywhere live in the files named here:
 *
 * - Write ahead.  Every engine event gets its log sequence number when it
 *   happens, under the engine lock (events.c), and is queued for the
 *   writer thread, which commits batches (wal.c).  A reply that reflects
 *   a state whose row has not committed yet -- a deny quoting a
 *   suspension just opened, an allow on a product just reopened -- is
 *   parked and sent by the writer right after the commit (park.c).
 *   Events are published only after their commit.  An allowed check on a
 *   settled product never waits (check.c).
 * - Fail closed.  When a commit fails the rows stay queued and are
 *   retried; the status says degraded; parked replies and any reply that
 *   would depend on an unwritten row become denies (`ledger_unavailable`);
 *   a full queue refuses checks the same way.
 * - State survives restart: open suspensions live in breaker_state and are
 *   restored into a new engine (restore.c); ends that passed while down
 *   fire at their own time.
 *
 * Threads: nng's task threads run the request handlers; one writer thread
 * owns the ledger (wal.c); one timer thread moves the engine's clock when
 * no request does (clock.c).  The lock order is at the top of
 * daemon_impl.h.
 */
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config_file.h"
#include "daemon.h"
#include "daemon_impl.h"
#include "ipc_server.h"
#include "ipc_wire.h"
#include "ledger.h"

/* Rows whose chain the daemon checks on start. */
#define VERIFY_TAIL_ROWS 1000

/* The admin socket: status, a signed command (command.c), or a ping. */
static void
on_admin(void *arg, struct ipc_call *call, const char *buf, size_t len)
{
	struct daemon *d = arg;
	struct ipc_request r;
	char msg[256];
	const char *leader;
	enum fxb_err e = ipc_request_parse(buf, len, IPC_SOCKET_ADMIN, &r, msg,
	                                   sizeof(msg));
	if (e == FXB_OK)
		ipc_call_set_tag(call, (unsigned)r.op);
	if (e != FXB_OK) {
		oplog_refused(ipc_call_peer(call), e, msg);
		daemon_reply_error(call, e, msg, r.ref);
	} else if (r.op == IPC_OP_STATUS) {
		char *s = status_reply(d, r.ref);
		daemon_send_reply(call, s);
		free(s);
		/* A status of 100,000 products builds about 300 MB of JSON
		 * objects; give the freed pages back rather than keep the
		 * peak resident for the daemon's life (glibc). */
		malloc_trim(0);
	} else if (r.op == IPC_OP_COMMAND &&
	           (e = cluster_gate(d, msg, sizeof(msg), &leader)) !=
	               FXB_OK) {
		/* Only the leader writes, so only it takes commands.  The
		 * hint is a check_url, not an admin socket: none is given
		 * (fxbreakerctl tries the next --admin URL). */
		daemon_reply_error(call, e, msg, r.ref);
	} else if (r.op == IPC_OP_COMMAND) {
		commands_handle(d, call, &r);
	} else {
		status_ok_reply(d, call, r.ref, true);
	}
	ipc_request_free(&r);
}

/* mkdir -p with mode 0750 for the directories fxbreakerd owns. */
static int
make_dirs(const char *path)
{
	char buf[BREAKER_TEXT_MAX + 1];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* The gids of socket_group and admin_socket_group (-1: none), looked up
 * once, before anything is opened: a group that does not exist here is
 * a configuration error. */
struct sock_groups {
	long long gid, admin_gid;
};

/* The kernel lets a process give a file to a group only as root or as
 * one of the group's members: what a start would find when it gives the
 * socket files their group, found before anything opens (and by -n). */
static bool
may_give_to(gid_t gid)
{
	if (geteuid() == 0 || getegid() == gid)
		return true;
	int n = getgroups(0, NULL);
	gid_t *groups = n > 0 ? calloc((size_t)n, sizeof(*groups)) : NULL;
	bool member = false;
	if (groups != NULL)
		n = getgroups(n, groups);
	for (int i = 0; groups != NULL && i < n; i++)
		member = member || groups[i] == gid;
	free(groups);
	return member;
}

static bool
group_lookup(const char *key, const char *name, long long *out)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	int rv = ERANGE;
	*out = -1;
	if (name[0] == '\0')
		return true;
	/* A group's entry holds its members: a big group needs a big
	 * buffer (ERANGE asks for more); 1 MiB is past any sane one. */
	for (size_t cap = 16384; rv == ERANGE && cap <= (1u << 20); cap *= 2) {
		char *nb = realloc(buf, cap);
		if (nb == NULL) {
			rv = ENOMEM;
			break;
		}
		buf = nb;
		rv = getgrnam_r(name, &gr, buf, cap, &res);
	}
	if (res != NULL && !may_give_to(res->gr_gid)) {
		log_error("%s %s: fxbreakerd runs as uid %u, neither root nor "
		          "a member of the group, so it cannot give socket "
		          "files to it (usermod -aG %s USER, or "
		          "SupplementaryGroups= in the unit)",
		          key, name, (unsigned)geteuid(), name);
		res = NULL;
	} else if (res != NULL)
		*out = (long long)res->gr_gid;
	else
		log_error("%s %s: %s", key, name,
		          rv != 0 ? strerror(rv)
		                  : "no such group on this machine "
		                    "(groupadd it, or fix the name)");
	free(buf);
	return res != NULL;
}

/*
 * The directories of an ipc:// socket file, created (mkdir -p) with mode
 * 0750.  Those this start creates get the socket's group (gid, -1: none)
 * so that its members can reach the socket; the mode is set again after
 * mkdir, whose umask could have taken the group's x.  A directory that
 * exists is left as it is, whoever made it: the daemon never loosens or
 * regroups a directory that may be someone else's (/run itself, or a
 * RuntimeDirectory systemd made); socket_dir_warn says when one keeps a
 * group out.  The first socket to create a directory gives it its group:
 * check, tick and events come before admin, so an admin socket with a
 * group of its own belongs in a directory of its own.
 */
static int
make_socket_dir(const char *url, long long gid)
{
	if (strncmp(url, "ipc://", 6) != 0)
		return 0;
	char dir[BREAKER_TEXT_MAX + 1];
	snprintf(dir, sizeof(dir), "%s", url + 6);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0750) == 0) {
			if (gid >= 0 &&
			    (chown(dir, (uid_t)-1, (gid_t)gid) != 0 ||
			     chmod(dir, 0750) != 0))
				return -1;
		} else if (errno != EEXIST) {
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* A warning for each directory on the way to an ipc:// socket with a
 * group that does not let that group through (neither its group with x
 * nor others' x): its members would get "permission denied".  Only a
 * warning: an ACL may let them through all the same.  seen holds the
 * directories already warned of (sockets share directories). */
static void
socket_dir_warn(const char *key, const char *group, const char *url,
                long long gid, char *seen, size_t cap)
{
	if (gid < 0 || strncmp(url, "ipc://", 6) != 0)
		return;
	char dir[BREAKER_TEXT_MAX + 1];
	snprintf(dir, sizeof(dir), "%s", url + 6);
	char *slash;
	while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		struct stat st;
		if (stat(dir, &st) != 0)
			continue;
		if ((st.st_mode & 0001) != 0 ||
		    ((st.st_mode & 0010) != 0 && (long long)st.st_gid == gid))
			continue;
		char tag[BREAKER_TEXT_MAX + 32];
		snprintf(tag, sizeof(tag), "|%lld:%s|", gid, dir);
		if (strstr(seen, tag) != NULL)
			continue;
		if (strlen(seen) + strlen(tag) < cap)
			strcat(seen, tag);
		log_warn("%s %s: directory %s (mode %04o, gid %lld) does not "
		         "let the group through: its members cannot reach "
		         "the sockets in it",
		         key, group, dir, (unsigned)(st.st_mode & 07777),
		         (long long)st.st_gid);
	}
}

static char *
service_detail(struct daemon *d, const char *what)
{
	json_t *o = json_object();
	json_object_set_new(o, "config", json_string(d->config_path));
	json_object_set_new(o, "config_hash", json_string(d->config_hash));
	json_object_set_new(o, "service_id", json_string(d->svc.service_id));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "what", json_string(what));
	json_object_set_new(o, "thresholds_changed",
	                    json_integer((json_int_t)d->nchanges));
	/* A clean stop carries each open suspension's denied count to the
	 * next start (carried_load): the report's count survives it. */
	if (strcmp(what, "stop") == 0) {
		json_t *a = json_array();
		for (size_t i = 0; i < d->nnotices; i++) {
			const struct onotice *n = &d->notices[i];
			json_t *e = json_pack("{sIsI}", "suspension",
			                      (json_int_t)n->suspension,
			                      "denied", (json_int_t)n->denied);
			if (n->denied_partial)
				json_object_set_new(e, "denied_partial",
				                    json_true());
			json_array_append_new(a, e);
		}
		json_object_set_new(o, "denied", a);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* What a start carries from one step to the next. */
struct start {
	char path[BREAKER_TEXT_MAX + 32]; /* the log's file */
	bool chain_ok;                    /* else chain_err says why */
	char chain_err[512];
	bool notes_ok; /* else lost says why */
	char lost[1200];
	struct change_log *tl; /* changes the log holds, to drop */
};

/*
 * The data directory, its lock, the log and its key, the checkpoint
 * directory; then the log's own checks (the chain's tail, the newest
 * checkpoint note), whose failures start the service degraded.  Prints
 * why and returns false if the log cannot be used at all.
 */
static bool
start_ledger(struct daemon *d, struct start *st)
{
	const struct service_conf *sv = &d->svc;
	char err[512];

	if (make_dirs(sv->data_dir) != 0) {
		log_error("%s: %s", sv->data_dir, strerror(errno));
		return false;
	}
	/* One daemon per data_dir, decided before anything is opened or
	 * listened on: a second daemon must not touch the ledger, the key
	 * or the first one's sockets. */
	if ((d->lock_fd =
	         daemon_lock_take(sv->data_dir, st->path, sizeof(st->path),
	                          err, sizeof(err))) < 0) {
		log_error("%s", err);
		return false;
	}
	snprintf(st->path, sizeof(st->path), "%s/fxbreaker.db", sv->data_dir);
	if (ledger_open(st->path, false, &d->ledger, err, sizeof(err)) !=
	    FXB_OK) {
		log_error("ledger %s: %s", st->path, err);
		return false;
	}
	if (ledger_quick_checked(d->ledger))
		log_info("ledger %s: quick_check ok (the last run did not "
		         "stop cleanly)",
		         st->path);
	/* The log key signs checkpoints; made on first start.  Cluster
	 * nodes share one (every node signs the same checkpoints, and any
	 * may become leader): each is given a copy, never makes its own. */
	unsigned char pk[32], sk[64];
	bool clustered = sv->cluster.node_id != 0;
	if (ledger_key_load(sv->data_dir, !clustered, pk, sk, err,
	                    sizeof(err)) != FXB_OK) {
		log_error("%s%s", err,
		          clustered
		              ? " (cluster nodes share one log key: "
		                "make it once with `fxbreakerctl logkey "
		                "DIR` and copy log.key and log.pub into "
		                "every node's data_dir; docs/OPERATIONS.md, "
		                "\"Three nodes\")"
		              : "");
		return false;
	}
	ledger_set_key(d->ledger, pk, sk);
	if (sv->checkpoint_dir[0] != '\0')
		snprintf(d->checkpoint_dir, sizeof(d->checkpoint_dir), "%s",
		         sv->checkpoint_dir);
	else if (snprintf(d->checkpoint_dir, sizeof(d->checkpoint_dir),
	                  "%.1000s/checkpoints", sv->data_dir) < 0)
		return false;
	if (make_dirs(d->checkpoint_dir) != 0) {
		log_error("%s: %s", d->checkpoint_dir, strerror(errno));
		return false;
	}
	st->chain_ok =
	    ledger_verify_tail(d->ledger, pk, VERIFY_TAIL_ROWS, st->chain_err,
	                       sizeof(st->chain_err));
	/* The ledger keeps its copy; wipe this one. */
	memset(sk, 0, sizeof(sk));
	st->notes_ok = restore_notes_check(d, st->lost, sizeof(st->lost));
	return true;
}

/*
 * The state the log holds: the changes by command, the clock, the
 * engine, the operators and the command memory, the open suspensions.
 * At start, and again when this node becomes the cluster's leader.
 * Prints why and returns false if the service cannot run on it.
 */
static bool
state_from_log(struct daemon *d, struct start *st, bool *behind)
{
	events_start(d, ledger_last_seq(d->ledger));
	atomic_store(&d->committed, events_last_seq(d));
	if ((st->tl = calloc(1, sizeof(*st->tl))) == NULL ||
	    !override_restore(d, st->tl))
		return false;
	/* The config may be a new one (the changes laid over it). */
	const struct service_conf *sv = &d->svc;
	/* The clock never starts before the log's latest row. */
	*behind =
	    timebase_start(&d->tb, clock_now_ms(), ledger_last_time(d->ledger),
	                   sv->clock_step_tolerance);
	if (breaker_new(d->cfg, d->tb.anchor, events_sink, d, &d->engine) !=
	        FXB_OK ||
	    !gate_build_engine(&d->gate, d->engine, events_last_seq(d))) {
		log_error("out of memory");
		return false;
	}
	d->cmds = commands_new();
	if (d->cmds == NULL ||
	    !commands_load_operators(d, sv->operators_file)) {
		log_error("cannot load the operators (%s)",
		          sv->operators_file[0] != '\0' ? sv->operators_file
		                                        : "none configured");
		return false;
	}
	commands_restore(d);
	if (restore_suspensions(d) != FXB_OK) {
		log_error("ledger %s: cannot restore the open suspensions",
		          st->path);
		return false;
	}
	/* Whatever restore queued (ends of retired suspensions) must be
	 * written before any product reopens. */
	gate_all(&d->gate, events_last_seq(d));
	return true;
}

/* The start's own rows after state_from_log: the clock's, service_start
 * (a cluster node writes none: only a leader writes, and it logs
 * leader_elected), the dropped changes; then a degraded start if the
 * log's checks failed. */
static bool
start_state(struct daemon *d, struct start *st)
{
	bool behind;
	if (!state_from_log(d, st, &behind))
		return false;
	if (d->svc.cluster.node_id == 0) {
		if (behind)
			clock_log_behind(d);
		char *detail = service_detail(d, "start");
		events_service(d, "service_start", detail);
		free(detail);
		override_log_dropped(d, st->tl);
	}
	free(st->tl);
	st->tl = NULL;
	if (!st->chain_ok)
		restore_degraded(d, st->chain_err);
	else if (!st->notes_ok)
		restore_degraded(d, st->lost);
	return true;
}

static int64_t
daemon_promote(struct daemon *d, unsigned node, uint64_t term)
{
	struct start st;
	bool behind;
	int64_t seq = 0;

	memset(&st, 0, sizeof(st));
	snprintf(st.path, sizeof(st.path), "%s/fxbreaker.db", d->svc.data_dir);
	pthread_mutex_lock(&d->mu);
	/* What this node knew as a follower is not the log: only the warm
	 * engine's feed (rates, bands, velocity windows) is kept. */
	struct breaker *warm = d->engine;
	d->engine = NULL;
	onotice_free_all(d);
	events_plan_notices_free(d);
	gate_free(&d->gate);
	commands_free(d->cmds);
	d->cmds = NULL;
	d->nchanges = 0;
	struct breaker_config *cfg = NULL;
	struct service_conf svc;
	char hash[65], err[512];
	/* The file as it is now (the changes by command are laid over the
	 * file's values); one that does not parse now (an edit half done
	 * on this host) must not cost the cluster its leader: the running
	 * config goes on. */
	if (config_file_load(d->config_path, &svc, &cfg, hash, err,
	                     sizeof(err)) != FXB_OK) {
		log_warn("%s: %s: the new leader keeps the config it runs "
		         "(hash %.16s)",
		         d->config_path, err, d->config_hash);
	} else {
		if (strcmp(hash, d->config_hash) != 0)
			log_warn("%s changed since this node started: the new "
			         "leader runs it as it is now (hash %.16s)",
			         d->config_path, hash);
		breaker_config_free(d->cfg);
		d->cfg = cfg;
		snprintf(d->config_hash, sizeof(d->config_hash), "%s", hash);
	}
	atomic_store(&d->role, ROLE_PROMOTING);
	if (!state_from_log(d, &st, &behind))
		goto out;
	if (warm != NULL)
		breaker_adopt_feed(warm, d->engine);
	if (behind)
		clock_log_behind(d);
	char *detail = service_detail(d, "leader_elected");
	json_t *o = json_loads(detail, 0, NULL);
	free(detail);
	json_object_set_new(o, "node", json_integer(node));
	json_object_set_new(o, "term", json_integer((json_int_t)term));
	detail = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	seq = events_service(d, "leader_elected", detail);
	free(detail);
	override_log_dropped(d, st.tl);
	metrics_pairs_map(d);
	log_info("cluster: node %u leads (term %llu) from seq %lld", node,
	         (unsigned long long)term, (long long)seq);
out:
	free(st.tl);
	breaker_free(warm);
	pthread_mutex_unlock(&d->mu);
	daemon_timer_poke(d);
	return seq;
}

static void
daemon_demote(struct daemon *d, unsigned leader)
{
	pthread_mutex_lock(&d->mu);
	int was = atomic_exchange(&d->role, ROLE_FOLLOWER);
	pthread_mutex_lock(&d->qmu);
	size_t dropped = d->nqueue;
	/* The writer's batch in flight points into the queue: it frees
	 * what is retired here once its commit call returns. */
	wal_retire_queue(d);
	struct parked *fail = park_take(d, 0, true);
	pthread_mutex_unlock(&d->qmu);
	pthread_mutex_unlock(&d->mu);
	park_send(fail, true);
	if (was == ROLE_FOLLOWER)
		return;
	char who[48] = "no leader known";
	if (leader != 0)
		snprintf(who, sizeof(who), "the leader is node %u", leader);
	log_warn("cluster: no longer the leader (%s); %zu queued rows "
	         "dropped, outcome unknown (never acknowledged; the new "
	         "leader's log says)",
	         who, dropped);
}

static void
daemon_ledger_ready(struct daemon *d)
{
	unsigned char pk[32], sk[64];
	char err[512];
	if (ledger_key_load(d->svc.data_dir, false, pk, sk, err,
	                    sizeof(err)) == FXB_OK)
		ledger_set_key(d->ledger, pk, sk);
	else
		log_error("%s", err);
	memset(sk, 0, sizeof(sk));
	ledger_set_durable(d->ledger, false);
}

/* The sockets, then the writer.  Prints why and returns false. */
static bool
start_sockets(struct daemon *d, const struct daemon_opts *opts,
              const struct sock_groups *g)
{
	const struct service_conf *sv = &d->svc;
	char err[512];

	if (make_socket_dir(sv->check_url, g->gid) != 0 ||
	    make_socket_dir(sv->tick_url, g->gid) != 0 ||
	    make_socket_dir(sv->events_url, g->gid) != 0 ||
	    make_socket_dir(sv->admin_url, g->admin_gid) != 0) {
		log_error("socket directory: %s", strerror(errno));
		return false;
	}
	char seen[4096] = "";
	socket_dir_warn("socket_group", sv->socket_group, sv->check_url,
	                g->gid, seen, sizeof(seen));
	socket_dir_warn("socket_group", sv->socket_group, sv->tick_url, g->gid,
	                seen, sizeof(seen));
	socket_dir_warn("socket_group", sv->socket_group, sv->events_url,
	                g->gid, seen, sizeof(seen));
	socket_dir_warn("admin_socket_group", sv->admin_socket_group,
	                sv->admin_url, g->admin_gid, seen, sizeof(seen));
	struct ipc_server_conf ic = {
	    .check_url = sv->check_url,
	    .admin_url = sv->admin_url,
	    .tick_url = sv->tick_url,
	    .events_url = sv->events_url,
	    .socket_mode = sv->socket_mode,
	    .admin_socket_mode = sv->admin_socket_mode,
	    .socket_group = sv->socket_group,
	    .admin_socket_group = sv->admin_socket_group,
	    .socket_gid = g->gid,
	    .admin_socket_gid = g->admin_gid,
	    .tls_cert_file = sv->tls_cert_file,
	    .tls_key_file = sv->tls_key_file,
	    .tls_ca_file = sv->tls_ca_file,
	    .check_contexts = opts->check_contexts,
	    .on_check = check_on_request,
	    .on_admin = on_admin,
	    .on_tick = check_on_tick,
	    .on_reply = metrics_request,
	    .arg = d,
	};
	/* Sockets before threads: the writer publishes every row it
	 * commits, and a restored suspension may end (and be written) at
	 * once.  A request that arrives first just waits for the writer. */
	if (ipc_server_open(&ic, &d->ipc, err, sizeof(err)) != FXB_OK) {
		log_error("%s", err);
		return false;
	}
	if (!http_start(d))
		return false;
	if (!wal_start(d)) {
		log_error("cannot start the writer thread");
		return false; /* nothing written or acknowledged yet */
	}
	return true;
}

/* The watchers, which only tell: the descriptors, the check socket. */
static void
start_watchers(struct daemon *d)
{
	const struct service_conf *sv = &d->svc;
	/* Not fatal: it only tells (status shows the count either way). */
	if ((d->fdw = fdwatch_start()) == NULL)
		log_warn("cannot start the file descriptor watch");
	/* ipc_probe speaks plain SP: a tls+tcp:// check socket is not
	 * watched (status says "unwatched"). */
	bool probeable = strncmp(sv->check_url, "ipc://", 6) == 0 ||
	                 strncmp(sv->check_url, "tcp://", 6) == 0;
	if (sv->watchdog_interval > 0 && !probeable)
		log_info("watchdog: %s is not watched (only ipc:// and "
		         "tcp:// are)",
		         sv->check_url);
	if (sv->watchdog_interval > 0 && probeable) {
		struct watchdog_conf wc = {
		    .url = sv->check_url,
		    .service_id = sv->service_id,
		    .interval_ms = sv->watchdog_interval,
		    /* A healthy check answers in well under 1 ms; 1 s
		     * leaves room for a loaded machine, not for a core
		     * banking client's patience. */
		    .timeout_ms = 1000,
		    .on_change = events_watchdog,
		    .arg = d,
		};
		if ((d->wd = watchdog_start(&wc)) == NULL)
			log_warn("cannot start the watchdog: the check socket "
			         "is not watched");
	}
}

struct daemon *
daemon_start(const struct daemon_opts *opts)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct start st;
	char err[512];

	if (d == NULL) {
		log_error("out of memory");
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->qmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->qcv, &ca);
	pthread_cond_init(&d->tcv, &ca);
	pthread_condattr_destroy(&ca);
	parkq_init(&d->parked);
	/* The board's history (rates, rows) from the start, whether or not
	 * a board is served: NULL only keeps none. */
	d->feed = board_feed_new();
	/* What a check parked on a reopening is decided again by. */
	d->check_redo = check_on_request;
	d->lock_fd = -1;
	d->config_path = strdup(opts->config_path);
	if ((d->metrics = metrics_new()) == NULL) {
		log_error("out of memory");
		goto fail;
	}
	d->node = opts->node;
	if (config_file_load(opts->config_path, &d->svc, &d->cfg,
	                     d->config_hash, err, sizeof(err)) != FXB_OK) {
		log_error("%s", err);
		goto fail;
	}
	if (config_cluster_select(&d->svc, d->node, err, sizeof(err)) !=
	    FXB_OK) {
		log_error("%s: %s", opts->config_path, err);
		goto fail;
	}
	/* A cluster node starts as a follower: it writes nothing until it
	 * is elected (daemon_promote). */
	if (d->svc.cluster.node_id != 0)
		atomic_store(&d->role, ROLE_FOLLOWER);
	struct sock_groups g;
	if (!group_lookup("socket_group", d->svc.socket_group, &g.gid) ||
	    !group_lookup("admin_socket_group", d->svc.admin_socket_group,
	                  &g.admin_gid))
		goto fail;
	if (!start_ledger(d, &st) || !start_state(d, &st))
		goto fail;
	if (d->svc.cluster.node_id != 0) {
		/* The replicated log is the durable record: the ledger
		 * need not sync every commit (docs/ARCHITECTURE.md). */
		ledger_set_durable(d->ledger, false);
		atomic_store(&d->applied, ledger_last_seq(d->ledger));
		static const struct cluster_hooks hooks = {
		    daemon_promote, daemon_demote, daemon_ledger_ready,
		    wal_export_note};
		if ((d->cluster = cluster_new(d, &hooks, err, sizeof(err))) ==
		    NULL) {
			log_error("cluster: %s", err);
			goto fail;
		}
	}
	metrics_pairs_map(d);
	if (!start_sockets(d, opts, &g))
		goto fail;
	if (!clock_start(d)) {
		log_error("cannot start the timer thread");
		daemon_stop(d);
		return NULL;
	}
	if (d->cluster != NULL && !cluster_start(d->cluster)) {
		log_error("cluster: cannot start");
		daemon_stop(d);
		return NULL;
	}
	start_watchers(d);
	if (d->cluster != NULL)
		/* A follower's next seq is the leader's to give: what this
		 * node has is what it applied. */
		log_info(
		    "serving %s as node %u of %zu (config %s, hash %.16s, "
		    "ledger %s, applied seq %lld; a follower until "
		    "elected)",
		    d->svc.service_id, d->svc.cluster.node_id,
		    d->svc.cluster.npeers, opts->config_path, d->config_hash,
		    st.path, (long long)atomic_load(&d->applied));
	else
		log_info("serving %s (config %s, hash %.16s, ledger %s, next "
		         "seq %lld)",
		         d->svc.service_id, opts->config_path, d->config_hash,
		         st.path, (long long)events_last_seq(d) + 1);
	return d;
fail:
	/* No thread started yet: close and free. */
	free(st.tl);
	http_stop(d);
	ipc_server_close(d->ipc);
	wal_free_queue(d);
	onotice_free_all(d);
	events_plan_notices_free(d);
	breaker_free(d->engine);
	breaker_config_free(d->cfg);
	ledger_close(d->ledger);
	gate_free(&d->gate);
	free(d->config_path);
	commands_free(d->cmds);
	daemon_lock_release(d->lock_fd);
	board_feed_free(d->feed);
	metrics_free(d->metrics);
	free(d);
	return NULL;
}

bool
daemon_check_access(const struct service_conf *sv)
{
	long long gid;
	char err[512];
	if (!group_lookup("socket_group", sv->socket_group, &gid) ||
	    !group_lookup("admin_socket_group", sv->admin_socket_group, &gid))
		return false;
	struct ipc_server_conf ic = {
	    .check_url = sv->check_url,
	    .admin_url = sv->admin_url,
	    .tick_url = sv->tick_url,
	    .events_url = sv->events_url,
	    .tls_cert_file = sv->tls_cert_file,
	    .tls_key_file = sv->tls_key_file,
	    .tls_ca_file = sv->tls_ca_file,
	};
	if (ipc_server_tls_check(&ic, err, sizeof(err)) != FXB_OK) {
		log_error("%s", err);
		return false;
	}
	return true;
}

/* The first field of [service] a reload cannot change that differs, or
 * NULL: the sockets are open and the ledger is in use.  Who may connect
 * goes with the addresses: the socket files' modes and groups, and the
 * TLS files, are applied when a socket starts listening, and a reload
 * does not reopen sockets. */
static const char *
service_changed(const struct service_conf *a, const struct service_conf *b)
{
	/* size 0: a string; else the field's bytes.  A new [service] key
	 * (config/config_service.c) that a reload cannot apply goes here
	 * too. */
	static const struct {
		const char *key;
		size_t off, size;
	} fixed[] = {
#define TEXT(k) {#k, offsetof(struct service_conf, k), 0}
#define NUM(k)                                                                \
	{                                                                     \
#k, offsetof(struct service_conf, k),                         \
		    sizeof(((struct service_conf *)0)->k)                     \
	}
	    TEXT(data_dir),           TEXT(check_url),
	    TEXT(tick_url),           TEXT(admin_url),
	    TEXT(events_url),         NUM(socket_mode),
	    NUM(admin_socket_mode),   TEXT(socket_group),
	    TEXT(admin_socket_group), TEXT(tls_cert_file),
	    TEXT(tls_key_file),       TEXT(tls_ca_file),
	    TEXT(http_url),           TEXT(service_id),
	    TEXT(checkpoint_dir),     NUM(watchdog_interval),
#undef TEXT
#undef NUM
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *x = (const char *)a + fixed[i].off;
		const char *y = (const char *)b + fixed[i].off;
		if (fixed[i].size == 0 ? strcmp(x, y) != 0
		                       : memcmp(x, y, fixed[i].size) != 0)
			return fixed[i].key;
	}
	return NULL;
}

/*
 * Whether [cluster] or a [peer] differs (the key, as "[peer 2]
 * raft_address", in key): a reload refuses any change, since the voters
 * must agree on who votes and libraft's timing is set at its start.
 * The nodes change together, by restarting, one at a time.
 */
static bool
cluster_changed(const struct cluster_conf *a, const struct cluster_conf *b,
                char *key, size_t keylen)
{
	/* A new [cluster] or [peer] key (config/config_service.c) goes
	 * here too. */
	static const struct {
		const char *key;
		size_t off, size;
	} ck[] = {
#define NUM(k) {#k, offsetof(struct cluster_conf, k), sizeof(a->k)}
	    NUM(node_id),
	    NUM(election_timeout),
	    NUM(heartbeat_timeout),
	    NUM(snapshot_threshold),
#undef NUM
	};
	static const struct {
		const char *key;
		size_t off;
	} pk[] = {
#define TEXT(k) {#k, offsetof(struct peer_conf, k)}
	    TEXT(raft_address), TEXT(check_url), TEXT(data_dir),
	    TEXT(tick_url),     TEXT(admin_url), TEXT(events_url),
	    TEXT(http_url),
#undef TEXT
	};
	for (size_t i = 0; i < sizeof(ck) / sizeof(ck[0]); i++)
		if (memcmp((const char *)a + ck[i].off,
		           (const char *)b + ck[i].off, ck[i].size) != 0) {
			snprintf(key, keylen, "[cluster] %s", ck[i].key);
			return true;
		}
	if (a->npeers != b->npeers) {
		snprintf(key, keylen, "the number of [peer] sections");
		return true;
	}
	for (size_t p = 0; p < a->npeers; p++) {
		const struct peer_conf *x = &a->peers[p], *y = &b->peers[p];
		if (x->id != y->id) {
			snprintf(key, keylen, "[peer %u]", x->id);
			return true;
		}
		for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]); i++)
			if (strcmp((const char *)x + pk[i].off,
			           (const char *)y + pk[i].off) != 0) {
				snprintf(key, keylen, "[peer %u] %s", x->id,
				         pk[i].key);
				return true;
			}
		if (x->spare != y->spare) {
			snprintf(key, keylen, "[peer %u] voter", x->id);
			return true;
		}
	}
	return false;
}

void
daemon_reload(struct daemon *d)
{
	struct breaker_config *cfg = NULL;
	struct service_conf svc;
	char err[512], hash[65];

	if (config_file_load(d->config_path, &svc, &cfg, hash, err,
	                     sizeof(err)) != FXB_OK) {
		log_warn("reload refused, keeping the running config: %s",
		         err);
		return;
	}
	if (config_cluster_select(&svc, d->node, err, sizeof(err)) != FXB_OK) {
		breaker_config_free(cfg);
		log_warn("reload refused, keeping the running config: %s: %s",
		         d->config_path, err);
		return;
	}
	pthread_mutex_lock(&d->mu);
	char ckey[64];
	if (cluster_changed(&svc.cluster, &d->svc.cluster, ckey,
	                    sizeof(ckey))) {
		pthread_mutex_unlock(&d->mu);
		breaker_config_free(cfg);
		log_warn("reload refused, keeping the running config: %s "
		         "changed (the cluster's voters and timing): restart "
		         "every node to change it",
		         ckey);
		return;
	}
	const char *changed = service_changed(&svc, &d->svc);
	if (changed != NULL) {
		pthread_mutex_unlock(&d->mu);
		breaker_config_free(cfg);
		log_warn("reload refused, keeping the running config: "
		         "[service] %s changed (addresses, who may connect, "
		         "TLS files, data, service id): restart to change "
		         "it",
		         changed);
		return;
	}
	if (!override_reload(d, cfg, hash)) {
		pthread_mutex_unlock(&d->mu);
		log_warn("reload refused: out of memory");
		return;
	}
	metrics_pairs_map(d);
	d->svc = svc;
	if (!commands_load_operators(d, d->svc.operators_file))
		log_warn("reload: the operators file is bad: keeping the "
		         "operators as they were");
	char *detail = service_detail(d, "reload");
	events_service(d, "config_reload", detail);
	free(detail);
	daemon_timer_poke(d);
	pthread_mutex_unlock(&d->mu);
	/* The config_reload row's line says it, once written (oplog.c). */
}

void
daemon_stop(struct daemon *d)
{
	/* First: a probe answered "stopping" is no answer. */
	watchdog_stop(d->wd);
	atomic_store(&d->stopping, true);
	/* A membership change under way finishes first: its rows go
	 * through the writer and the cluster, stopped below. */
	commands_stop(d);
	pthread_mutex_lock(&d->mu);
	char *detail = service_detail(d, "stop");
	events_service(d, "service_stop", detail);
	free(detail);
	clock_stop(d);
	pthread_mutex_unlock(&d->mu);
	clock_join(d);
	fdwatch_stop(d->fdw);

	wal_stop(d);
	http_stop(d);
	ipc_server_close(d->ipc);
	/* After the writer (a leader's last rows, service_stop, go through
	 * the cluster) and after the sockets (a status or a check reads
	 * the cluster's state). */
	cluster_stop(d->cluster);
	d->cluster = NULL;
	ledger_close(d->ledger);
	/* Last: the next daemon may start once the log and sockets are
	 * closed. */
	daemon_lock_release(d->lock_fd);
	onotice_free_all(d);
	events_plan_notices_free(d);
	wal_free_queue(d);
	breaker_free(d->engine);
	breaker_config_free(d->cfg);
	gate_free(&d->gate);
	free(d->config_path);
	commands_free(d->cmds);
	board_feed_free(d->feed);
	metrics_free(d->metrics);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->qmu);
	pthread_cond_destroy(&d->qcv);
	pthread_cond_destroy(&d->tcv);
	log_info("stopped");
	free(d);
}
