/*
 * config_service.c: [service], the daemon's own settings: where its data
 * lives, the sockets it serves, its id in signed commands, who may sign
 * them, how notices show times, its clock and watchdog, and who may
 * connect (socket modes and groups, TLS files); and [cluster] and its
 * [peer ID] sections, the voters of a cluster and this node's place in
 * it.  The engine never sees them.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config_impl.h"

void
config_service_defaults(struct service_conf *sv)
{
	memset(sv, 0, sizeof(*sv));
	snprintf(sv->data_dir, sizeof(sv->data_dir), "/var/lib/fxbreaker");
	snprintf(sv->check_url, sizeof(sv->check_url),
	         "ipc:///run/fxbreaker/check.ipc");
	snprintf(sv->tick_url, sizeof(sv->tick_url),
	         "ipc:///run/fxbreaker/tick.ipc");
	snprintf(sv->admin_url, sizeof(sv->admin_url),
	         "ipc:///run/fxbreaker/admin.ipc");
	snprintf(sv->events_url, sizeof(sv->events_url),
	         "ipc:///run/fxbreaker/events.ipc");
	snprintf(sv->service_id, sizeof(sv->service_id), "fxbreaker");
	sv->notice_tz_min = 9 * 60; /* Korea: KST, UTC+09:00 */
	/* Above NTP's own step threshold (128 ms) and chrony's usual
	 * makestep, below anything a person would call a step. */
	sv->clock_step_tolerance = 1000;
	sv->watchdog_interval = 5000;
	sv->socket_mode = 0600;
	sv->admin_socket_mode = 0600;
	/* Raft's timing (docs/OPERATIONS.md, "Three nodes: the
	 * configuration"): a new leader within a second of losing one. */
	sv->cluster.election_timeout = 300;
	sv->cluster.heartbeat_timeout = 30;
	sv->cluster.snapshot_threshold = 65536;
}

/* Each value reader returns false (having reported) on a bad value. */

static bool
val_duration(struct ini *in, struct ini_sect *s, struct ini_kv *kv,
             bool positive, fxb_time *out)
{
	const char *why = breaker_duration_value(kv->val, positive, out);
	if (why != NULL)
		config_ini_fail_kv(in, s, kv, why);
	return why == NULL;
}

static bool
val_text(struct ini *in, struct ini_sect *s, struct ini_kv *kv, char *dst,
         size_t cap)
{
	size_t n = strlen(kv->val);
	if (n >= cap) {
		char msg[64];
		snprintf(msg, sizeof(msg), "longer than %zu bytes", cap - 1);
		config_ini_fail_kv(in, s, kv, msg);
		return false;
	}
	memcpy(dst, kv->val, n + 1);
	return true;
}

/* notice_utc_offset: +HH:MM or -HH:MM, how notices show times to
 * customers. */
static bool
val_utc_offset(struct ini *in, struct ini_sect *s, struct ini_kv *kv, int *out)
{
	const char *v = kv->val;
	if (strlen(v) != 6 || (v[0] != '+' && v[0] != '-') || v[3] != ':' ||
	    v[1] < '0' || v[1] > '1' || v[2] < '0' || v[2] > '9' ||
	    v[4] < '0' || v[4] > '5' || v[5] < '0' || v[5] > '9') {
		config_ini_fail_kv(in, s, kv,
		                   "a UTC offset: +HH:MM or -HH:MM");
		return false;
	}
	int min = ((v[1] - '0') * 10 + (v[2] - '0')) * 60 + (v[4] - '0') * 10 +
	          (v[5] - '0');
	*out = v[0] == '-' ? -min : min;
	return true;
}

/* http_url: http://HOST:PORT with a port of 1-65535 and nothing after
 * it (the paths are the service's own: docs/OPERATIONS.md), and a host
 * that names one address: a wildcard (0.0.0.0, [::]) listens everywhere
 * and names nothing to pin the Host header to.  Returns why not, or
 * NULL. */
static const char *
http_url_why(const char *v)
{
	static const char form[] =
	    "http://HOST:PORT (a numeric port; the HTTP side is plain HTTP: "
	    "put a TLS proxy in front for HTTPS)";
	if (strncmp(v, "http://", 7) != 0)
		return form;
	const char *host = v + 7;
	const char *colon = strrchr(host, ':');
	if (colon == NULL || colon == host || strchr(host, '/') != NULL)
		return form;
	long port = 0;
	const char *p = colon + 1;
	if (*p == '\0')
		return form;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    (port = port * 10 + (*p - '0')) > 65535)
			return form;
	}
	if (port == 0)
		return form;
	size_t n = (size_t)(colon - host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		host++, n -= 2;
	size_t zeros = 0;
	while (zeros < n && (host[zeros] == ':' || host[zeros] == '0'))
		zeros++;
	if (n == 0 || zeros == n ||
	    (n == 7 && strncmp(host, "0.0.0.0", 7) == 0))
		return "a wildcard address cannot pin the Host header: name "
		       "the address to listen on (http://127.0.0.1:PORT, or "
		       "this host's own address)";
	return NULL;
}

/*
 * socket_mode and admin_socket_mode: who may connect to an ipc:// socket
 * file.  Connecting to a Unix socket needs write permission on it, so
 * the bits that mean something are each class's w.  Refused: anything
 * but 3 or 4 octal digits; setuid, setgid and sticky bits, and execute
 * bits (meaningless on a socket: a typo for a directory's mode);
 * less than 0600 (the daemon's own user must reach its sockets: its
 * watchdog pings the check socket); group bits without w (the group
 * could not connect: a mode that says more than it does); and any bit
 * for others, on every socket: a world-writable check socket lets any
 * local account ask for decisions, a tick socket lets it move rates and
 * trip breakers, an admin socket lets it read the whole state.  Who may
 * connect is said with the group, by name.
 */
static bool
val_mode(struct ini *in, struct ini_sect *s, struct ini_kv *kv,
         const char *group_key, int *out)
{
	const char *v = kv->val;
	size_t n = strlen(v);
	int mode = 0;
	char msg[160];

	if (n < 3 || n > 4 || strspn(v, "01234567") != n) {
		config_ini_fail_kv(in, s, kv,
		                   "an octal mode such as 0660 or 0600");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		mode = mode * 8 + (v[i] - '0');
	const char *why = NULL;
	if ((mode & ~0777) != 0)
		why = "no setuid, setgid or sticky bits (a mode such as 0660)";
	else if ((mode & 0111) != 0)
		why = "no execute bits: a socket is connected to, not run "
		      "(0600 or 0660)";
	else if ((mode & 0600) != 0600)
		why = "at least 0600: the daemon's own user must reach its "
		      "socket";
	else if ((mode & 0070) != 0 && (mode & 0020) == 0)
		why = "group bits without w: connecting needs write "
		      "(0660 lets the group connect, 0600 does not)";
	else if ((mode & 0007) != 0) {
		snprintf(msg, sizeof(msg),
		         "no bits for others: name who may connect with "
		         "%s (0660 or 0600)",
		         group_key);
		why = msg;
	}
	if (why != NULL) {
		config_ini_fail_kv(in, s, kv, why);
		return false;
	}
	*out = mode;
	return true;
}

/* socket_group, admin_socket_group: a group name as useradd takes it.
 * Whether the group exists is the daemon's question at start (it fails
 * if not) and a warning in `fxbreakerctl validate`, which may run on
 * another machine than the daemon's. */
static bool
group_ok(const char *v)
{
	size_t n = strlen(v);
	return n <= CONFIG_GROUP_MAX && v[0] != '-' &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* A text key of [service] (or of a [peer], which may set the same
 * addresses): not empty, and of the form its name says. */
static bool
val_text_key(struct ini *in, struct ini_sect *s, struct ini_kv *kv)
{
	const char *key = kv->key;
	if (kv->val[0] == '\0') {
		config_ini_fail_kv(in, s, kv, "must not be empty");
		return false;
	}
	const char *why =
	    strcmp(key, "http_url") == 0 ? http_url_why(kv->val) : NULL;
	if (why != NULL) {
		config_ini_fail_kv(in, s, kv, why);
		return false;
	}
	if (strstr(key, "socket_group") != NULL && !group_ok(kv->val)) {
		config_ini_fail_kv(in, s, kv,
		                   "a group name (letters, digits, "
		                   "'.', '_', '-'; at most 32 bytes)");
		return false;
	}
	if (strstr(key, "_url") != NULL && strcmp(key, "http_url") != 0 &&
	    strncmp(kv->val, "ipc://", 6) != 0 &&
	    strncmp(kv->val, "tcp://", 6) != 0 &&
	    strncmp(kv->val, "tls+tcp://", 10) != 0) {
		config_ini_fail_kv(in, s, kv,
		                   "an nng address: ipc://PATH, "
		                   "tcp://HOST:PORT or "
		                   "tls+tcp://HOST:PORT");
		return false;
	}
	return true;
}

/* Every URL that is tls+tcp:// needs the certificate and its key: the
 * first such URL without them (in s: [service] or a [peer]) is refused,
 * named, here rather than at the daemon's start, so that `fxbreakerctl
 * validate` says so too. */
static bool
tls_files_ok(struct ini *in, struct ini_sect *s, const struct service_conf *sv)
{
	static const char *const keys[] = {"check_url", "tick_url",
	                                   "admin_url", "events_url"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct ini_kv *kv = config_ini_get(s, keys[i]);
		if (kv == NULL || strncmp(kv->val, "tls+tcp://", 10) != 0 ||
		    (sv->tls_cert_file[0] != '\0' &&
		     sv->tls_key_file[0] != '\0'))
			continue;
		config_ini_fail_kv(
		    in, s, kv,
		    sv->tls_cert_file[0] == '\0'
		        ? "a tls+tcp:// address needs tls_cert_file and "
		          "tls_key_file in [service] (tls_cert_file is "
		          "missing)"
		        : "a tls+tcp:// address needs tls_cert_file and "
		          "tls_key_file in [service] (tls_key_file is "
		          "missing)");
		return false;
	}
	return true;
}

/* Reads the values of the [service] section s into sv (which holds the
 * defaults).  Its unknown keys are refused later with every section's
 * (config_ini.c), once every value has passed. */
bool
config_service_read(struct ini *in, struct ini_sect *s,
                    struct service_conf *sv)
{
	/* A new key here: if a reload cannot apply it, it also goes into
	 * daemon/daemon.c's service_changed, and into fxbreaker.conf(5). */
	static const struct {
		const char *key;
		size_t off, cap;
	} keys[] = {
#define TEXT(k) {#k, offsetof(struct service_conf, k), sizeof(sv->k)}
	    TEXT(data_dir),           TEXT(check_url),
	    TEXT(tick_url),           TEXT(admin_url),
	    TEXT(events_url),         TEXT(service_id),
	    TEXT(checkpoint_dir),     TEXT(operators_file),
	    TEXT(http_url),           TEXT(socket_group),
	    TEXT(admin_socket_group), TEXT(tls_cert_file),
	    TEXT(tls_key_file),       TEXT(tls_ca_file),
#undef TEXT
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct ini_kv *kv = config_ini_get(s, keys[i].key);
		if (kv != NULL &&
		    (!val_text_key(in, s, kv) ||
		     !val_text(in, s, kv, (char *)sv + keys[i].off,
		               keys[i].cap)))
			return false;
	}
	struct ini_kv *kv = config_ini_get(s, "notice_utc_offset");
	if (kv != NULL && !val_utc_offset(in, s, kv, &sv->notice_tz_min))
		return false;
	kv = config_ini_get(s, "watchdog_interval");
	if (kv != NULL &&
	    !val_duration(in, s, kv, false, &sv->watchdog_interval))
		return false;
	if (kv != NULL && sv->watchdog_interval != 0 &&
	    sv->watchdog_interval < 100) {
		config_ini_fail_kv(in, s, kv, "0 (off) or at least 100ms");
		return false;
	}
	kv = config_ini_get(s, "clock_step_tolerance");
	if (kv != NULL &&
	    !val_duration(in, s, kv, true, &sv->clock_step_tolerance))
		return false;
	kv = config_ini_get(s, "socket_mode");
	if (kv != NULL &&
	    !val_mode(in, s, kv, "socket_group", &sv->socket_mode))
		return false;
	kv = config_ini_get(s, "admin_socket_mode");
	if (kv != NULL &&
	    !val_mode(in, s, kv, "admin_socket_group", &sv->admin_socket_mode))
		return false;
	return tls_files_ok(in, s, sv);
}

/* A whole number in lo..hi written plainly (no sign, no leading zero):
 * *out, or false. */
static bool
plain_uint(const char *v, unsigned long lo, unsigned long hi, unsigned *out)
{
	unsigned long n = 0;
	if (v[0] < '1' || v[0] > '9')
		return false;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    (n = n * 10 + (unsigned long)(*p - '0')) > hi)
			return false;
	}
	if (n < lo)
		return false;
	*out = (unsigned)n;
	return true;
}

/* raft_address: HOST:PORT, HOST a numeric IPv4 address or a host name
 * (what libraft's TCP transport dials and binds), never a wildcard: the
 * other nodes dial it.  The host's length, or 0 if refused. */
static size_t
raft_host_len(const char *v)
{
	const char *colon = strrchr(v, ':');
	unsigned port;
	if (colon == NULL || colon == v ||
	    !plain_uint(colon + 1, 1, 65535, &port))
		return 0;
	size_t n = (size_t)(colon - v);
	if (n > 253)
		return 0;
	/* Labels of letters, digits and '-' (not first or last). */
	bool numeric = true;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? v[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || v[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alpha && !(c >= '0' && c <= '9') && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (alpha || c == '-')
			numeric = false;
		label++;
	}
	if (!numeric)
		return n;
	/* All digits and dots: an IPv4 address, four parts of 0-255. */
	unsigned parts = 0;
	for (const char *p = v; p < colon; parts++) {
		unsigned long b = 0;
		const char *q = p;
		while (q < colon && *q != '.')
			b = b * 10 + (unsigned long)(*q++ - '0');
		if (q - p > 3 || b > 255 || (q - p > 1 && *p == '0'))
			return 0;
		p = q < colon ? q + 1 : q;
	}
	if (parts != 4 || strncmp(v, "0.0.0.0:", 8) == 0)
		return 0;
	return n;
}

/* Reads one [peer ID] into pc; false having failed. */
static bool
peer_read(struct ini *in, struct ini_sect *s, const struct service_conf *sv,
          struct peer_conf *pc)
{
	static const struct {
		const char *key;
		size_t off, cap;
		bool required;
	} keys[] = {
#define TEXT(k, req) {#k, offsetof(struct peer_conf, k), sizeof(pc->k), req}
	    TEXT(raft_address, true), TEXT(check_url, true),
	    TEXT(data_dir, false),    TEXT(tick_url, false),
	    TEXT(admin_url, false),   TEXT(events_url, false),
	    TEXT(http_url, false),
#undef TEXT
	};
	memset(pc, 0, sizeof(*pc));
	if (!plain_uint(s->name, 1, 65535, &pc->id)) {
		config_ini_fail(in, s->line,
		                "[peer %s]: a peer's id is a number from 1 to "
		                "65535",
		                s->name);
		return false;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct ini_kv *kv = config_ini_get(s, keys[i].key);
		if (kv == NULL && keys[i].required) {
			config_ini_fail(in, s->line,
			                "[peer %s]: %s is required", s->name,
			                keys[i].key);
			return false;
		}
		if (kv == NULL)
			continue;
		if (strcmp(keys[i].key, "raft_address") == 0) {
			if (raft_host_len(kv->val) == 0) {
				config_ini_fail_kv(
				    in, s, kv,
				    "HOST:PORT, HOST a numeric IPv4 address "
				    "(not 0.0.0.0) or a host name, PORT "
				    "1-65535");
				return false;
			}
		} else if (!val_text_key(in, s, kv))
			return false;
		if (!val_text(in, s, kv, (char *)pc + keys[i].off,
		              keys[i].cap))
			return false;
	}
	/* A node to be added later must not be one of the voters every
	 * node bootstraps: it would count towards a majority before it
	 * exists. */
	struct ini_kv *kv = config_ini_get(s, "voter");
	if (kv != NULL && strcmp(kv->val, "yes") != 0 &&
	    strcmp(kv->val, "no") != 0) {
		config_ini_fail_kv(in, s, kv, "yes or no");
		return false;
	}
	pc->spare = kv != NULL && strcmp(kv->val, "no") == 0;
	return tls_files_ok(in, s, sv);
}

/* The data_dir peer p would use: its own, or [service]'s. */
static const char *
peer_data_dir(const struct service_conf *sv, const struct peer_conf *p)
{
	return p->data_dir[0] != '\0' ? p->data_dir : sv->data_dir;
}

/* What no two peers may share: the id (a section defined twice, refused
 * before), the raft_address, the check_url, and on one host the data
 * directory (two daemons on one ledger: the second would not start). */
static bool
peers_distinct(struct ini *in, struct ini_sect **ps,
               const struct service_conf *sv)
{
	const struct cluster_conf *c = &sv->cluster;
	for (size_t j = 1; j < c->npeers; j++)
		for (size_t i = 0; i < j; i++) {
			const struct peer_conf *a = &c->peers[i],
			                       *b = &c->peers[j];
			const char *key = NULL;
			char msg[BREAKER_TEXT_MAX + 160];
			if (strcmp(a->raft_address, b->raft_address) == 0)
				key = "raft_address";
			else if (strcmp(a->check_url, b->check_url) == 0)
				key = "check_url";
			if (key != NULL) {
				snprintf(
				    msg, sizeof(msg),
				    "also [peer %u]'s (line %d): each node "
				    "needs its own",
				    a->id, ps[i]->line);
				config_ini_fail_kv(in, ps[j],
				                   config_ini_get(ps[j], key),
				                   msg);
				return false;
			}
			size_t ha = raft_host_len(a->raft_address);
			if (ha != raft_host_len(b->raft_address) ||
			    strncmp(a->raft_address, b->raft_address, ha) !=
			        0 ||
			    strcmp(peer_data_dir(sv, a),
			           peer_data_dir(sv, b)) != 0)
				continue;
			struct ini_kv *kj = config_ini_get(ps[j], "data_dir");
			struct ini_kv *ki = config_ini_get(ps[i], "data_dir");
			if (kj == NULL && ki == NULL) {
				config_ini_fail(
				    in, ps[j]->line,
				    "[peer %u]: on the same host as [peer %u] "
				    "(%.*s), and both would use [service]'s "
				    "data_dir: each needs its own data_dir",
				    b->id, a->id, (int)ha, a->raft_address);
				return false;
			}
			/* Named where it is set, against the other one. */
			const struct peer_conf *o = kj != NULL ? a : b;
			snprintf(
			    msg, sizeof(msg),
			    "also the data_dir of [peer %u] (line %d), on "
			    "the same host (%.*s): each node needs its own",
			    o->id, kj != NULL ? ps[i]->line : ps[j]->line,
			    (int)ha, a->raft_address);
			config_ini_fail_kv(in, kj != NULL ? ps[j] : ps[i],
			                   kj != NULL ? kj : ki, msg);
			return false;
		}
	return true;
}

/* [cluster]'s own keys into c; false having failed. */
static bool
cluster_keys(struct ini *in, struct ini_sect *cs, struct cluster_conf *c)
{
	struct ini_kv *kv = config_ini_get(cs, "node_id");
	if (kv != NULL && !plain_uint(kv->val, 1, 65535, &c->node_id)) {
		config_ini_fail_kv(in, cs, kv,
		                   "a peer's id, a number from 1 to 65535");
		return false;
	}
	struct ini_kv *el = config_ini_get(cs, "election_timeout");
	if (el != NULL &&
	    !val_duration(in, cs, el, true, &c->election_timeout))
		return false;
	struct ini_kv *hb = config_ini_get(cs, "heartbeat_timeout");
	if (hb != NULL &&
	    !val_duration(in, cs, hb, true, &c->heartbeat_timeout))
		return false;
	if (hb != NULL && c->heartbeat_timeout < 10) {
		config_ini_fail_kv(in, cs, hb, "at least 10ms");
		return false;
	}
	/* A follower must miss several heartbeats before it stands: fewer,
	 * and a slow tick or a dropped packet starts an election. */
	if (c->election_timeout < 5 * c->heartbeat_timeout) {
		char msg[128];
		if (el != NULL) {
			snprintf(msg, sizeof(msg),
			         "at least 5 times heartbeat_timeout (%lldms)",
			         (long long)c->heartbeat_timeout);
			config_ini_fail_kv(in, cs, el, msg);
		} else {
			snprintf(msg, sizeof(msg),
			         "at most a fifth of election_timeout "
			         "(%lldms)",
			         (long long)c->election_timeout);
			config_ini_fail_kv(in, cs, hb, msg);
		}
		return false;
	}
	kv = config_ini_get(cs, "snapshot_threshold");
	if (kv != NULL &&
	    !plain_uint(kv->val, 1024, 4294967295UL, &c->snapshot_threshold)) {
		config_ini_fail_kv(in, cs, kv,
		                   "a number of log entries, at least 1024");
		return false;
	}
	return true;
}

bool
config_cluster_read(struct ini *in, struct service_conf *sv)
{
	/* A new key here: a reload refuses any change of these
	 * (daemon/daemon.c, cluster_changed); and fxbreaker.conf(5). */
	struct cluster_conf *c = &sv->cluster;
	struct ini_sect *cs = NULL, *ps[CLUSTER_PEERS_MAX];
	for (size_t i = 0; i < in->nsects; i++) {
		struct ini_sect *s = &in->sects[i];
		if (s->type == INI_CLUSTER)
			cs = s;
		if (s->type != INI_PEER)
			continue;
		if (c->npeers == CLUSTER_PEERS_MAX) {
			config_ini_fail(in, s->line,
			                "[peer %s]: more than %d peers",
			                s->name, CLUSTER_PEERS_MAX);
			return false;
		}
		ps[c->npeers] = s;
		if (!peer_read(in, s, sv, &c->peers[c->npeers]))
			return false;
		c->npeers++;
	}
	if (cs == NULL && c->npeers > 0) {
		config_ini_fail(in, ps[0]->line,
		                "[peer %s] without [cluster]: a cluster's "
		                "file has both",
		                ps[0]->name);
		return false;
	}
	if (cs == NULL)
		return true;
	if (c->npeers == 0) {
		config_ini_fail(in, cs->line,
		                "[cluster] without any [peer ID]: name every "
		                "voter, this node included");
		return false;
	}
	if (!cluster_keys(in, cs, c) || !peers_distinct(in, ps, sv))
		return false;
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].id == c->node_id || c->node_id == 0)
			return true;
	config_ini_fail_kv(in, cs, config_ini_get(cs, "node_id"),
	                   "names no [peer] in this file");
	return false;
}

/* The peer whose id is id, or NULL. */
static const struct peer_conf *
peer_find(const struct cluster_conf *c, unsigned id)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].id == id)
			return &c->peers[i];
	return NULL;
}

enum fxb_err
config_cluster_select(struct service_conf *svc, unsigned node, char *err,
                      size_t errlen)
{
	struct cluster_conf *c = &svc->cluster;
	if (c->npeers == 0) {
		if (node == 0)
			return FXB_OK;
		snprintf(err, errlen,
		         "--node %u: the file has no [cluster] (one node: "
		         "start without --node)",
		         node);
		return FXB_ERR_CONFIG;
	}
	if (node == 0)
		node = c->node_id;
	if (node == 0) {
		snprintf(err, errlen,
		         "no node: set [cluster] node_id or start with "
		         "--node ID");
		return FXB_ERR_CONFIG;
	}
	const struct peer_conf *p = peer_find(c, node);
	if (p == NULL) {
		int n = snprintf(err, errlen,
		                 "--node %u: no [peer %u] (the "
		                 "file's peers:",
		                 node, node);
		for (size_t i = 0;
		     i < c->npeers && n >= 0 && (size_t)n < errlen; i++)
			n += snprintf(err + n, errlen - (size_t)n, " %u",
			              c->peers[i].id);
		if (n >= 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, ")");
		return FXB_ERR_CONFIG;
	}
	c->node_id = node;
	/* The node's own: the address its clients dial, and whatever else
	 * its [peer] sets. */
	static const struct {
		size_t to, from;
	} f[] = {
#define F(k) {offsetof(struct service_conf, k), offsetof(struct peer_conf, k)}
	    F(check_url), F(data_dir),   F(tick_url),
	    F(admin_url), F(events_url), F(http_url),
#undef F
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *from = (const char *)p + f[i].from;
		if (from[0] != '\0')
			memcpy((char *)svc + f[i].to, from,
			       BREAKER_TEXT_MAX + 1);
	}
	return FXB_OK;
}

size_t
config_cluster_voters(const struct cluster_conf *cc)
{
	size_t n = 0;
	for (size_t i = 0; i < cc->npeers; i++)
		n += !cc->peers[i].spare;
	return n;
}
