/*
 * fxbreakerctl: the command-line tool for ops and compliance.  This file
 * only dispatches; the subcommands live in the ctl_*.c files (ctl.h says
 * which where).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "fxb.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
    {"replay", ctl_replay,
     "replay --config FILE [--decisions] TAPE   run the engine over a tape"},
    {"calibrate", ctl_calibrate,
     "calibrate --config FILE [--sweep RULE.KEY=V1,V2,...]... [--csv F]\n"
     "          [--html F] TAPE              a tape under a grid of "
     "settings"},
    {"validate", ctl_validate,
     "validate FILE [--node ID]                 check a configuration file"},
    {"check", ctl_check,
     "check PRODUCT AMOUNT [--rate R] [--ref X] ask the service"},
    {"tick", ctl_tick,
     "tick PAIR PX | PAIR --bid B --ask A       feed a rate"},
    {"status", ctl_status,
     "status [--json]                           every product and rule"},
    {"report", ctl_report,
     "report [--since T] [--format text|csv|json]  suspension episodes"},
    {"export", ctl_export,
     "export OUT                                snapshot of the ledger + "
     "note"},
    {"verify", ctl_verify,
     "verify [--pubkey F] [--anchor N]... [--checkpoint-dir D] DB\n"
     "                                          check a snapshot's log"},
    {"log", ctl_log,
     "log [--product P] [--rule R] [--event E] [--since T] [--format F]"},
    {"operators", ctl_operators,
     "operators [--history] [--json]            who may sign commands"},
    {"keygen", ctl_keygen,
     "keygen --name N --out F [--no-passphrase] make an operator key"},
    {"logkey", ctl_logkey,
     "logkey DIR                                the log key cluster nodes "
     "share"},
    {"suspend", ctl_command,
     "suspend --key F (--product P | --pair P) --reason T [--notice ID] "
     "[--from T] [--until T]"},
    {"cancel", ctl_command,
     "cancel --key F (--product P | --pair P) --reason T"},
    {"lift", ctl_command,
     "lift --key F (--product P | --pair P) --suspension N --reason T"},
    {"reset", ctl_command, "reset --key F --rule R --suspension N --reason T"},
    {"notice", ctl_command,
     "notice --key F --notice ID --lang ko|en --text T --reason T"},
    {"threshold", ctl_command,
     "threshold --key F --rule R --param K --value V --reason T"},
    {"enrol", ctl_command,
     "enrol --key F --name N --roles R --pubkey HEX --reason T"},
    {"revoke", ctl_command, "revoke --key F --operator KEY_ID --reason T"},
    {"approve", ctl_command,
     "approve --key F --request N [--suspension N | --operator K] "
     "--reason T"},
    {"cluster", ctl_cluster,
     "cluster status [--json]                   the cluster's nodes"},
    {"cluster", ctl_cluster,
     "cluster add|remove --key F --node ID --reason T"},
};

static int
usage(FILE *f)
{
	fprintf(f, "usage: fxbreakerctl COMMAND [ARGS]\n"
	           "       fxbreakerctl -V | --version | -h | --help\n"
	           "\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f,
	        "\nThe service is found through --config FILE (default "
	        "$FXBREAKER_CONFIG, else\n/etc/fxbreaker/fxbreaker.conf), "
	        "of which only [service] is needed: a typo\nelsewhere is "
	        "a warning.  --url URL (the socket the command uses: "
	        "check\nand tick the check socket, status and signed "
	        "commands the admin socket)\nreplaces the config's; a "
	        "cluster's nodes as URL,URL,... are tried in turn\n"
	        "(a not_leader reply's leader first, if listed) within "
	        "the one --timeout;\n"
	        "log, report, operators and export take --db PATH.\n"
	        "--config, --url and --service-id may come before the "
	        "command too.\n"
	        "fxbreakerctl --node ID COMMAND ... (before the command "
	        "only) uses [peer ID]'s\nsockets of a cluster's shared "
	        "config instead of [service]'s.\n"
	        "Over tls+tcp://, check, tick, status and the signed "
	        "commands take --tls-ca FILE\n(the service's CA) and, "
	        "if it asks for one, --tls-cert FILE --tls-key FILE.\n"
	        "\nsuspend, cancel, lift, reset, threshold, notice, enrol, "
	        "revoke, approve and cluster add|remove\nare signed with an "
	        "operator's key (--key FILE;\nits passphrase from "
	        "$FXBREAKER_PASSPHRASE, else the terminal) and also\n"
	        "take [--config FILE] [--url URL] [--service-id ID] "
	        "[--expires SECONDS]\n[--json] [--sign-only] (print the "
	        "signed request, send nothing)\n[--timeout MS], and, to "
	        "repeat a command without applying it twice,\n"
	        "[--issued-at MS] [--nonce HEX] (as printed when it was "
	        "not confirmed).\n"
	        "\nexit codes: 0 ok, 1 bad input data, 2 bad "
	        "configuration, 3 usage, I/O error or no answer\n"
	        "(verify: 0 intact, 1 tampered, 2 truncated or forked, "
	        "3 usage or I/O, 4 policy only;\n"
	        "signed commands: 0 applied or pending, 1 rejected)\n");
	return f == stdout ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

/* Options that may come before the command as well as after it: a
 * tired operator types `fxbreakerctl --config F suspend ...` as often as
 * `fxbreakerctl suspend ... --config F`. */
static bool
global_option(const char *a)
{
	return strcmp(a, "--config") == 0 || strcmp(a, "--url") == 0 ||
	       strcmp(a, "--service-id") == 0;
}

/* `--node ID` before the command: the node of a cluster's shared config
 * to talk to.  Taken out of argv (only ctl_service reads it); after the
 * command, --node is the command's own (validate, cluster add). */
static bool
take_node(int *argc, char **argv, int g)
{
	char *end;
	unsigned long n = strtoul(argv[g + 1], &end, 10);
	if (*end != '\0' || n < 1 || n > 65535 || argv[g + 1][0] == '-') {
		fprintf(stderr,
		        "fxbreakerctl: --node: a [peer]'s id, 1 to 65535\n");
		return false;
	}
	ctl_node = (unsigned)n;
	memmove(&argv[g], &argv[g + 2],
	        (size_t)(*argc - g - 1) * sizeof(argv[0]));
	*argc -= 2;
	return true;
}

int
main(int argc, char **argv)
{
	int g = 1; /* argv[1..g): options before the command */
	while (g + 1 < argc &&
	       (global_option(argv[g]) || strcmp(argv[g], "--node") == 0)) {
		if (strcmp(argv[g], "--node") != 0)
			g += 2;
		else if (!take_node(&argc, argv, g))
			return CTL_EXIT_USAGE;
	}
	if (g >= argc)
		return usage(stderr);
	const char *name = argv[g];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
	    strcmp(name, "-h") == 0)
		return usage(stdout);
	if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		printf("fxbreakerctl %s\n", FXB_VERSION);
		return CTL_EXIT_OK;
	}
	/* The command's own argv: its name, the options given before it,
	 * the rest (argv rotated in place); each command reads them as if
	 * they followed it. */
	char *cmd = argv[g];
	for (int i = g; i > 1; i--)
		argv[i] = argv[i - 1];
	argv[1] = cmd;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fxbreakerctl: unknown command '%s'\n", name);
	return usage(stderr);
}
