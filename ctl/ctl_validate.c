/*
 * ctl_validate.c: `fxbreakerctl validate FILE`: check a configuration file
 * the way the daemon will, before it goes through a change process.
 */
#include <grp.h>
#include <stdio.h>
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

int
ctl_validate(int argc, char **argv)
{
	int code = CTL_EXIT_OK;

	if (argc != 2) {
		fprintf(stderr, "usage: fxbreakerctl validate FILE\n");
		return CTL_EXIT_USAGE;
	}
	struct breaker_config *cfg = ctl_load_config(argv[1], &code);
	if (cfg == NULL)
		return code;
	machine_warnings(argv[1]);
	printf("%s: ok: %zu pairs, %zu products, %zu rules, %zu notices\n",
	       argv[1], cfg->npairs, cfg->nproducts, cfg->nrules,
	       cfg->nnotices);
	breaker_config_free(cfg);
	return CTL_EXIT_OK;
}
