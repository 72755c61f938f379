/*
 * fxbreakerd: the FX conversion circuit breaker service.
 *
 *	fxbreakerd [-n] -f FILE
 *
 * Runs in the foreground and logs to stderr.  SIGHUP reloads FILE (a bad
 * file keeps the running config); SIGTERM or SIGINT stops cleanly: stop
 * accepting, answer what is in flight, log the stop, exit 0.  -n only
 * checks FILE and the operators file it names (as a start would: owner,
 * mode, lines) and exits.  Exit codes: 0 ok, 2 bad configuration, 100
 * usage, 111 could not start (another fxbreakerd holds the data
 * directory, ledger, sockets).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "daemon.h"

static int
usage(void)
{
	fprintf(stderr, "usage: fxbreakerd [-n] -f FILE\n");
	return 100;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	bool check_only = false;
	int c;

	while ((c = getopt(argc, argv, "nf:")) != -1) {
		switch (c) {
		case 'n':
			check_only = true;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			return usage();
		}
	}
	if (file == NULL || optind != argc)
		return usage();
	if (check_only) {
		struct breaker_config *cfg = NULL;
		struct service_conf svc;
		char err[512];
		enum fxb_err e =
		    config_file_load(file, &svc, &cfg, NULL, err, sizeof(err));
		if (e != FXB_OK) {
			breaker_config_free(cfg);
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		/* The operators file too, as a start checks it (its owner
		 * and mode as well as its lines), with the same words. */
		const char *ops = svc.operators_file;
		if (ops[0] != '\0' && !commands_check_operators(ops)) {
			log_warn("cannot load the operators (%s)", ops);
			breaker_config_free(cfg);
			return 2;
		}
		/* Who may connect: the groups, the TLS files. */
		if (!daemon_check_access(&svc)) {
			breaker_config_free(cfg);
			return 2;
		}
		breaker_config_free(cfg);
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

	struct daemon_opts opts = {.config_path = file, .check_contexts = 64};
	struct daemon *d = daemon_start(&opts);
	if (d == NULL) {
		/* The warnings above say why; this says what it means. */
		fprintf(stderr, "fxbreakerd: not starting (exit 111)\n");
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
	return 0;
}
