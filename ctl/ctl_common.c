/*
 * ctl_common.c: what the subcommands that talk to a running service
 * share: finding the service (its [service]: the URLs and the data
 * directory), saying how to reach it when that fails, and showing times,
 * CSV fields and a reply's strings.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_file.h"
#include "ctl.h"
#include "ledger.h"

void
ctl_csv_fput(FILE *f, const char *s, bool last)
{
	putc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
	putc(last ? '\n' : ',', f);
}

void
ctl_csv_field(const char *s, bool last)
{
	ctl_csv_fput(stdout, s, last);
}

const char *
ctl_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

const char *
ctl_default_config(void)
{
	const char *env = getenv("FXBREAKER_CONFIG");
	return env != NULL && env[0] != '\0' ? env
	                                     : "/etc/fxbreaker/fxbreaker.conf";
}

unsigned ctl_node;

int
ctl_service(const char *config, const char *instead, struct service_conf *out)
{
	char err[512], serr[512];
	struct breaker_config *cfg = NULL;
	struct service_conf svc;
	enum fxb_err rc =
	    config_file_load(config, &svc, &cfg, NULL, err, sizeof(err));

	if (rc == FXB_ERR_CONFIG) {
		/* One definition of [service]: the daemon's own parser,
		 * reading that section alone. */
		rc =
		    config_file_load_service(config, &svc, serr, sizeof(serr));
		if (rc == FXB_OK)
			fprintf(stderr,
			        "fxbreakerctl: warning: %s (only [service] "
			        "is read here; a running daemon keeps its "
			        "last good config)\n",
			        err);
		else if (rc == FXB_ERR_CONFIG)
			snprintf(err, sizeof(err), "%s", serr);
	}
	/* A cluster's nodes share one file: --node picks one's sockets
	 * (else FXBREAKER_NODE, as for fxbreakerd). */
	const char *env = getenv("FXBREAKER_NODE");
	if (rc == FXB_OK && ctl_node == 0 && env != NULL && env[0] != '\0' &&
	    svc.cluster.npeers > 0)
		ctl_node = (unsigned)strtoul(env, NULL, 10);
	if (rc == FXB_OK && ctl_node == 0 && svc.cluster.npeers > 0)
		fprintf(
		    stderr,
		    "fxbreakerctl: warning: %s is a cluster's config and no "
		    "node was named: [service]'s data_dir and sockets are "
		    "used (give --node N for [peer N]'s)\n",
		    config);
	if (rc == FXB_OK && ctl_node != 0 &&
	    (rc = config_cluster_select(&svc, ctl_node, err, sizeof(err))) !=
	        FXB_OK) {
		fprintf(stderr, "fxbreakerctl: %s: %s\n", config, err);
		breaker_config_free(cfg);
		return CTL_EXIT_CONFIG;
	}
	if (rc == FXB_OK) {
		*out = svc;
		breaker_config_free(cfg);
		return CTL_EXIT_OK;
	}
	if (rc == FXB_ERR_CONFIG) {
		fprintf(stderr,
		        "%s\nfxbreakerctl: [service] of %s is needed to "
		        "find the service: fix it, or %s\n",
		        err, config, instead);
		return CTL_EXIT_CONFIG;
	}
	fprintf(stderr,
	        "fxbreakerctl: %s\nfxbreakerctl: the config names the "
	        "service: name it with --config FILE (or $FXBREAKER_CONFIG), "
	        "or %s\n",
	        rc == FXB_ERR_IO ? err : fxb_strerror(rc), instead);
	return CTL_EXIT_USAGE;
}

void
ctl_unreachable(const struct ctl_target *t, const char *err)
{
	/* One line per node of a list. */
	for (const char *p = err, *nl;; p = nl + 1) {
		nl = strchr(p, '\n');
		fprintf(stderr, "fxbreakerctl: %.*s\n",
		        nl != NULL ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
	}
	if (t->config != NULL && ctl_node != 0)
		fprintf(stderr,
		        "fxbreakerctl: %s is %s of [peer %u] (or [service]) "
		        "of %s; give another --node or --url URL to try "
		        "another\n",
		        t->url, t->key, ctl_node, t->config);
	else if (t->config != NULL)
		fprintf(stderr,
		        "fxbreakerctl: %s is %s in [service] of %s; give "
		        "--url URL to try another\n",
		        t->url, t->key, t->config);
	else
		fprintf(stderr,
		        "fxbreakerctl: %s was given with --url; without it, "
		        "%s in [service] of the config is used\n",
		        t->url, t->key);
}

char *
ctl_format_time(char *buf, size_t cap, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
ctl_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s != '\0' && *end == '\0') {
		*out = v;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec,
	           &n) == 6 &&
	    s[n] == '\0') {
	} else if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 &&
	           s[n] == '\0') {
	} else {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	*out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
	       (int64_t)sec * 1000;
	return 0;
}

struct ledger *
ctl_open_ledger(const char *config, const char *db, int *exit_code)
{
	char path[BREAKER_TEXT_MAX + 32], err[512];
	struct ledger *lg = NULL;
	if (db == NULL) {
		struct service_conf sv;
		if ((*exit_code = ctl_service(config, "give --db PATH",
		                              &sv)) != CTL_EXIT_OK)
			return NULL;
		snprintf(path, sizeof(path), "%s/fxbreaker.db", sv.data_dir);
		db = path;
	}
	if (ledger_open(db, true, &lg, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: %s\n", err);
		*exit_code = CTL_EXIT_USAGE;
		return NULL;
	}
	return lg;
}
