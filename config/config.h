/*
 * config.h: the configuration file's text (RULES.md section 8) read into
 * the service's settings and the engine's config.
 *
 * config/ reads the INI (libinih), keeps sections and line numbers, owns
 * [service] (where the daemon keeps its data, the sockets it serves, who
 * may sign commands), and hands every other section, key by key, to the
 * engine's builder (breaker_config.h), which validates what it owns.
 * Every error says "FILE:LINE: [section] key: what is wrong".  Reading
 * the file from disk is config_file.h's.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "breaker_config.h"
#include "fxb.h"

/* The longest group name socket_group takes (useradd's limit). */
#define CONFIG_GROUP_MAX 32

/* [service]: the daemon's own settings (docs/OPERATIONS.md). */
/*
 * [cluster] and one [peer ID] per voter, this node included
 * (docs/OPERATIONS.md, "Three nodes: the configuration").  A peer section
 * may also set the node's own data_dir and URLs, so that nodes sharing
 * one host (examples/cluster.conf, the tests) can share one file too; ""
 * leaves [service]'s.
 */
#define CLUSTER_PEERS_MAX 7
struct peer_conf {
	unsigned id;                             /* [peer ID]: 1..65535 */
	char raft_address[BREAKER_TEXT_MAX + 1]; /* HOST:PORT */
	char check_url[BREAKER_TEXT_MAX + 1];    /* what clients dial */
	char data_dir[BREAKER_TEXT_MAX + 1];
	char tick_url[BREAKER_TEXT_MAX + 1];
	char admin_url[BREAKER_TEXT_MAX + 1];
	char events_url[BREAKER_TEXT_MAX + 1];
	char http_url[BREAKER_TEXT_MAX + 1];
	/* voter = no: not in the voters a new cluster starts with; it
	 * joins later by `fxbreakerctl cluster add` */
	bool spare;
};

struct cluster_conf {
	/* [cluster] node_id, 0 if unset; config_cluster_select makes it
	 * this node's, so that after it 0 means no [cluster]: one node, as
	 * before.  npeers is 0 without [cluster] (it needs peers). */
	unsigned node_id;
	fxb_time election_timeout;   /* ms; default 300 */
	fxb_time heartbeat_timeout;  /* ms; default 30 */
	unsigned snapshot_threshold; /* entries between snapshots; 65536 */
	size_t npeers;
	struct peer_conf peers[CLUSTER_PEERS_MAX];
};

struct service_conf {
	char data_dir[BREAKER_TEXT_MAX + 1];
	char check_url[BREAKER_TEXT_MAX + 1];
	char tick_url[BREAKER_TEXT_MAX + 1];
	char admin_url[BREAKER_TEXT_MAX + 1];
	char events_url[BREAKER_TEXT_MAX + 1];
	/* "": no HTTP; else http://HOST:PORT, the read-only board and
	 * metrics (docs/OPERATIONS.md, "Watching it") */
	char http_url[BREAKER_TEXT_MAX + 1];
	char service_id[BREAKER_ID_MAX + 1];
	/* "": DATA_DIR/checkpoints */
	char checkpoint_dir[BREAKER_TEXT_MAX + 1];
	/* "": no operators (every command is refused) */
	char operators_file[BREAKER_TEXT_MAX + 1];
	int notice_tz_min; /* notice_utc_offset: minutes east of UTC */
	/* clock_step_tolerance: a wall clock step larger than this is
	 * logged (docs/OPERATIONS.md, "The clock"); default 1 s. */
	fxb_time clock_step_tolerance;
	/* watchdog_interval: how often the daemon pings its own check
	 * socket; 0 turns the watchdog off.  Default 5 s. */
	fxb_time watchdog_interval;
	/* Who may connect to the ipc:// socket files (docs/OPERATIONS.md,
	 * "Who may connect"): socket_mode and socket_group for check, tick
	 * and events, admin_socket_mode and admin_socket_group for admin.
	 * Modes default to 0600; a group of "" leaves the daemon's own. */
	int socket_mode, admin_socket_mode;
	char socket_group[CONFIG_GROUP_MAX + 1];
	char admin_socket_group[CONFIG_GROUP_MAX + 1];
	/* PEM files for tls+tcp:// URLs: the server's certificate and key
	 * (required when any URL is tls+tcp://) and, if set, the CA whose
	 * client certificates the service then requires. */
	char tls_cert_file[BREAKER_TEXT_MAX + 1];
	char tls_key_file[BREAKER_TEXT_MAX + 1];
	char tls_ca_file[BREAKER_TEXT_MAX + 1];
	struct cluster_conf cluster;
};

/*
 * config_cluster_select makes svc this node's: node (0: [cluster]'s
 * node_id) must name a [peer]; its check_url becomes svc's, and the
 * data_dir and URLs it sets replace [service]'s.  No-op without
 * [cluster] (and node must then be 0).  Errors: FXB_ERR_CONFIG (err says
 * why, naming the file's keys; the caller adds the file's name).
 */
/* config_cluster_voters: the peers bootstrapped as voters (a peer with
 * voter = no joins later, by command). */
size_t config_cluster_voters(const struct cluster_conf *cc);

enum fxb_err config_cluster_select(struct service_conf *svc, unsigned node,
                                   char *err, size_t errlen);

/* A threshold change (or, with notice, a notice's text) laid over the
 * file's value (docs/PROTOCOL.md, "threshold" and "notice"). */
struct config_override {
	const char *rule, *key, *value; /* rule: the [notice] id if notice */
	bool notice;
};

/*
 * config_parse parses and validates INI text (text[0..len), need not be
 * NUL-terminated) read from `filename` (used only in messages), with nov
 * threshold changes laid over it, each checked as if the file said it.
 * On success *svc (if not NULL) gets [service] and *out a new engine
 * config to free with breaker_config_free.  On FXB_ERR_CONFIG, err
 * (errlen bytes) holds "FILE:LINE: message" for the first problem found.
 * Errors: FXB_ERR_CONFIG, FXB_ERR_NOMEM.
 */
enum fxb_err config_parse(const char *text, size_t len, const char *filename,
                          const struct config_override *ov, size_t nov,
                          struct service_conf *svc,
                          struct breaker_config **out, char *err,
                          size_t errlen);

/*
 * config_parse_service reads only the [service] sections of the text
 * (and [cluster] and [peer ID], where a node's addresses may be),
 * exactly as config_parse does (the same code), and skips every other
 * section unread: a typo in a rule cannot fail it.  What still fails it:
 * a bad [service] or cluster section (its keys, values, a line inih
 * cannot read inside it, [service] twice), and no [service] at all (it
 * may be misspelt: the defaults would be a guess).  Errors as
 * config_parse.
 */
enum fxb_err config_parse_service(const char *text, size_t len,
                                  const char *filename,
                                  struct service_conf *svc, char *err,
                                  size_t errlen);

#endif /* CONFIG_H */
