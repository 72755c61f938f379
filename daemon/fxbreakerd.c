/*
 * fxbreakerd: the FX conversion circuit breaker service.
 *
 *	fxbreakerd [-n] [--node ID] -f FILE
 *	fxbreakerd -V | -h
 *
 * Runs in the foreground and logs to stderr.  SIGHUP reloads FILE (a bad
 * file keeps the running config); SIGTERM or SIGINT stops cleanly: stop
 * accepting, answer what is in flight, log the stop, exit 0.  -n only
 * checks FILE and the operators file it names (as a start would: owner,
 * mode, lines) and exits.  --node ID: this node's [peer ID] in a
 * cluster's file (else [cluster] node_id).  -V prints the version, -h the
 *usage (both to stdout, exit 0).  Exit codes: 0 ok, 2 bad configuration, 100
 *usage, 111 could not start (another fxbreakerd holds the data directory,
 * ledger, sockets).  What stops a start says `error:`.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "daemon.h"
#include "fxb.h"

static const char usage_text[] =
    "usage: fxbreakerd [-n] [--node ID] -f FILE\n"
    "       fxbreakerd -V | -h\n"
    "\n"
    "  -f, --config FILE  the configuration (docs/RULES.md, [service] in\n"
    "                     docs/OPERATIONS.md)\n"
    "  -n, --check        check FILE and the operators file it names, as a\n"
    "                     start would, and exit (0 ok, 2 bad)\n"
    "      --node ID      in a cluster's file, run as [peer ID] (default:\n"
    "                     $FXBREAKER_NODE, else [cluster] node_id)\n"
    "  -V, --version      print the version and exit\n"
    "  -h, --help         print this and exit\n"
    "\n"
    "Runs in the foreground and logs to stderr, one line per event\n"
    "(\"TIME fxbreakerd: LEVEL: ...\", docs/OPERATIONS.md \"Logs\").\n"
    "SIGHUP reloads FILE; SIGTERM or SIGINT stops cleanly.\n"
    "exit codes: 0 ok, 2 bad configuration, 100 usage, 111 could not "
    "start\n";

static int
usage(FILE *f)
{
	fputs(usage_text, f);
	return f == stdout ? 0 : 100;
}

/* The config file, the operators file it names (owner, mode, every line)
 * and who may connect (the socket groups, the TLS files), checked as a
 * start checks them, with the same words; false having said why. */
static bool
config_ok(const char *file, unsigned node)
{
	struct breaker_config *cfg = NULL;
	struct service_conf svc;
	char err[512];
	bool ok = false;
	if (config_file_load(file, &svc, &cfg, NULL, err, sizeof(err)) !=
	    FXB_OK) {
		log_error("%s", err);
		goto out;
	}
	if (config_cluster_select(&svc, node, err, sizeof(err)) != FXB_OK) {
		log_error("%s: %s", file, err);
		goto out;
	}
	size_t voters = config_cluster_voters(&svc.cluster);
	if (voters % 2 == 0 && voters > 0)
		log_warn("%s: %zu voters: an even number tolerates no more "
		         "failures than one fewer (3 or 5 is the usual)",
		         file, voters);
	const char *ops = svc.operators_file;
	if (ops[0] != '\0' && !commands_check_operators(ops)) {
		log_error("cannot load the operators (%s)", ops);
		goto out;
	}
	ok = daemon_check_access(&svc);
out:
	breaker_config_free(cfg);
	return ok;
}

/* --node's value: a [peer ID]'s id, 1-65535, written plainly. */
static bool
node_arg(const char *v, unsigned *out)
{
	unsigned long n = 0;
	if (v[0] < '1' || v[0] > '9' || strlen(v) > 5)
		return false;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n > 65535)
		return false;
	*out = (unsigned)n;
	return true;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"check", no_argument, NULL, 'n'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {"node", required_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	unsigned node = 0;
	bool check_only = false;
	int c;

	while ((c = getopt_long(argc, argv, "nf:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			check_only = true;
			break;
		case 'f':
			file = optarg;
			break;
		case 'N':
			if (!node_arg(optarg, &node)) {
				fprintf(stderr,
				        "fxbreakerd: --node %s: a peer's id, "
				        "a number from 1 to 65535\n",
				        optarg);
				return 100;
			}
			break;
		case 'V':
			printf("fxbreakerd %s\n", FXB_VERSION);
			return 0;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (file == NULL || optind != argc)
		return usage(stderr);
	/* FXBREAKER_NODE: the node of a host whose unit and config are the
	 * same as its peers' (a systemd drop-in sets it; docs/OPERATIONS.md,
	 * "Three nodes"); --node wins. */
	const char *env = getenv("FXBREAKER_NODE");
	if (node == 0 && env != NULL && env[0] != '\0' &&
	    !node_arg(env, &node)) {
		fprintf(stderr,
		        "fxbreakerd: FXBREAKER_NODE=%s: a peer's id, "
		        "1-65535\n",
		        env);
		return 100;
	}
	/* What -n checks, a start checks first: a file a restart cannot
	 * fix exits 2, which the systemd unit does not restart on (111 is
	 * for what may come right: a port taken, a ledger busy). */
	if (!config_ok(file, node)) {
		if (!check_only)
			log_error("not starting (exit 2)");
		return 2;
	}
	if (check_only) {
		fprintf(stderr, "%s: ok\n", file);
		return 0;
	}

	/* Signals are taken by this thread alone, with sigwait: every thread
	 * started from here inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct daemon_opts opts = {
	    .config_path = file, .check_contexts = 64, .node = node};
	if (!log_start())
		log_warn("cannot start the log's thread: stderr lines are "
		         "written at once (a stalled reader can stall the "
		         "service)");
	struct daemon *d = daemon_start(&opts);
	if (d == NULL) {
		/* The errors above say why; this says what it means. */
		log_error("not starting (exit 111)");
		log_stop();
		return 111;
	}
	for (;;) {
		int sig = 0;
		sigwait(&set, &sig);
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", file);
			daemon_reload(d);
			continue;
		}
		log_info("%s: stopping",
		         sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	daemon_stop(d);
	log_stop();
	return 0;
}
