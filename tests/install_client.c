/*
 * install_client.c: a core banking program as a bank would write it,
 * built by tests/e2e_install.sh against an installed libfxbclient (its
 * .pc, header and library under a DESTDIR, nothing of this tree).
 *
 *	install_client URL PRODUCT AMOUNT
 *
 * Prints the answer on one line:
 *
 *	decision=D by_policy=B error=E reason=R rule=R kind=K susp=S
 *
 * and exits 0, or 3 if the client cannot be opened.
 */
#include <stdio.h>

#include <fxb_client.h>

int
main(int argc, char **argv)
{
	static const char *const names[] = {"allow", "deny", "throttle"};
	struct fxb_client *c = NULL;
	struct fxb_client_result r;

	if (argc != 4) {
		fprintf(stderr, "usage: install_client URL PRODUCT AMOUNT\n");
		return 3;
	}
	int rv = fxb_client_open(argv[1], 2000, &c);
	if (rv != 0) {
		fprintf(stderr, "install_client: open: error %d\n", rv);
		return 3;
	}
	enum fxb_client_decision d =
	    fxb_client_check(c, argv[2], argv[3], NULL, NULL, &r);
	printf("decision=%s by_policy=%d error=%d reason=%s rule=%s kind=%s "
	       "susp=%lld\n",
	       names[d], r.by_policy ? 1 : 0, r.error, r.reason, r.rule,
	       r.kind, (long long)r.suspension);
	fxb_client_close(c);
	return 0;
}
