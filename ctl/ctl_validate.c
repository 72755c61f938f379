/*
 * ctl_validate.c: `fxbreakerctl validate FILE [--node ID]`: check a
 * configuration file the way the daemon will, before it goes through a
 * change process.
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "ctl.h"

/*
 * What depends on the machine the daemon runs on, not on the file: the
 * socket groups and the TLS files.  validate may run elsewhere (a change
 * process, a build machine), so a group or file missing here is a
 * warning on stderr, not a failure; fxbreakerd itself refuses to start
 * without them.
 */
static void
machine_warnings(const char *file)
{
	struct service_conf sv;
	char err[512];
	if (config_file_load_service(file, &sv, err, sizeof(err)) != FXB_OK)
		return;
	const struct {
		const char *key, *val;
		bool group;
	} v[] = {
	    {"socket_group", sv.socket_group, true},
	    {"admin_socket_group", sv.admin_socket_group, true},
	    {"tls_cert_file", sv.tls_cert_file, false},
	    {"tls_key_file", sv.tls_key_file, false},
	    {"tls_ca_file", sv.tls_ca_file, false},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].val[0] == '\0')
			continue;
		if (v[i].group && getgrnam(v[i].val) == NULL)
			fprintf(stderr,
			        "fxbreakerctl: warning: %s %s: no such group "
			        "on this machine (fxbreakerd will not start "
			        "where it does not exist)\n",
			        v[i].key, v[i].val);
		else if (!v[i].group && access(v[i].val, R_OK) != 0)
			fprintf(stderr,
			        "fxbreakerctl: warning: %s %s: not readable "
			        "here (fxbreakerd will not start where it "
			        "cannot read it)\n",
			        v[i].key, v[i].val);
	}
}

/* --node's value: 1-65535, written plainly; 0 if not. */
static unsigned
node_arg(const char *v)
{
	unsigned long n = 0;
	if (v[0] < '1' || v[0] > '9' || strlen(v) > 5)
		return 0;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	return n <= 65535 ? (unsigned)n : 0;
}

/*
 * A cluster's file: an even number of voters is a warning (it tolerates
 * no more failures than one fewer); with --node, the node is selected
 * as fxbreakerd --node selects it, and where it keeps its data and
 * answers checks is printed.  The exit code, or -1 to go on.
 */
static int
cluster_check(const char *file, unsigned node)
{
	struct service_conf sv;
	char err[512];
	if (config_file_load_service(file, &sv, err, sizeof(err)) != FXB_OK)
		return -1; /* the full parse passed: cannot happen */
	size_t voters = config_cluster_voters(&sv.cluster);
	if (voters > 0 && voters % 2 == 0)
		fprintf(stderr,
		        "fxbreakerctl: warning: %zu voters: an even number "
		        "tolerates no more failures than one fewer (3 or 5 "
		        "is the usual)\n",
		        voters);
	if (node == 0)
		return -1;
	if (config_cluster_select(&sv, node, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "%s: %s\n", file, err);
		return CTL_EXIT_CONFIG;
	}
	printf("%s: node %u: check_url %s, data_dir %s\n", file, node,
	       sv.check_url, sv.data_dir);
	return -1;
}

int
ctl_validate(int argc, char **argv)
{
	int code = CTL_EXIT_OK;
	unsigned node = 0;

	if (argc == 4 && strcmp(argv[2], "--node") == 0 &&
	    (node = node_arg(argv[3])) == 0) {
		fprintf(stderr,
		        "fxbreakerctl: --node %s: a peer's id, a number from "
		        "1 to 65535\n",
		        argv[3]);
		return CTL_EXIT_USAGE;
	}
	if (argc != 2 && (argc != 4 || node == 0)) {
		fprintf(stderr,
		        "usage: fxbreakerctl validate FILE [--node ID]\n");
		return CTL_EXIT_USAGE;
	}
	struct breaker_config *cfg = ctl_load_config(argv[1], &code);
	if (cfg == NULL)
		return code;
	machine_warnings(argv[1]);
	if ((code = cluster_check(argv[1], node)) >= 0) {
		breaker_config_free(cfg);
		return code;
	}
	printf("%s: ok: %zu pairs, %zu products, %zu rules, %zu notices\n",
	       argv[1], cfg->npairs, cfg->nproducts, cfg->nrules,
	       cfg->nnotices);
	breaker_config_free(cfg);
	return CTL_EXIT_OK;
}
