/*
 * ctl_cluster.c: `fxbreakerctl cluster status|add|remove`
 * (docs/OPERATIONS.md, "Adding and replacing a node").  status reads the
 * status reply's cluster object; add and remove are the signed,
 * four-eyes commands cluster_add and cluster_remove, which another admin
 * approves with `approve --request N`.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static int
cluster_usage(void)
{
	fprintf(stderr,
	        "usage: fxbreakerctl cluster status [--json]\n"
	        "       fxbreakerctl cluster add --key FILE --node ID "
	        "--reason TEXT\n"
	        "       fxbreakerctl cluster remove --key FILE --node ID "
	        "--reason TEXT\n"
	        "(and the options of status, or of a signed command)\n");
	return CTL_EXIT_USAGE;
}

int
ctl_cluster(int argc, char **argv)
{
	/* The options given before `cluster` come first (--config F,
	 * --url U, --service-id I: each with its value); the verb after
	 * them moves to the front, as fxbreakerctl's main moves a command. */
	int i = 1;
	while (i < argc && argv[i][0] == '-')
		i += 2;
	if (i >= argc)
		return cluster_usage();
	char *verb = argv[i];
	for (; i > 1; i--)
		argv[i] = argv[i - 1];
	argv[1] = verb;
	if (strcmp(argv[1], "status") == 0)
		return ctl_cluster_status(argc - 1, argv + 1);
	/* The signed command's name, as ctl_command reads argv[0]. */
	static char add[] = "cluster_add", remove_[] = "cluster_remove";
	if (strcmp(argv[1], "add") == 0)
		argv[1] = add;
	else if (strcmp(argv[1], "remove") == 0)
		argv[1] = remove_;
	else
		return cluster_usage();
	return ctl_command(argc - 1, argv + 1);
}
