/*
 * ctl_verify.c: `fxbreakerctl verify` and `fxbreakerctl export`
 * (docs/LEDGER.md).  export takes a consistent snapshot of a live ledger
 * with its latest checkpoint note; verify checks a snapshot's chain,
 * checkpoints and anchors and exits with the verdict:
 * 0 intact, 1 tampered, 2 truncated or forked, 3 usage or I/O, 4 policy.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ipc_trust.h"
#include "ledger.h"

#define MAX_ANCHORS 64

static void
print_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

/* The public key: --pubkey FILE, or log.pub beside the database. */
static int
load_pubkey(const char *file, const char *db, unsigned char pk[32])
{
	char path[4096], err[4096 + 64];
	if (file == NULL) {
		const char *slash = strrchr(db, '/');
		int dirlen = slash != NULL ? (int)(slash - db) : 1;
		snprintf(path, sizeof(path), "%.*s/log.pub", dirlen,
		         slash != NULL ? db : ".");
		file = path;
	}
	switch (ipc_trust_hex_file_read(file, "public key", pk,
	                                IPC_TRUST_PK_LEN, err, sizeof(err))) {
	case IPC_TRUST_HEX_FILE_OK:
		return 0;
	case IPC_TRUST_HEX_FILE_UNREADABLE:
		fprintf(stderr,
		        "fxbreakerctl: %s: cannot read the public key (give "
		        "--pubkey FILE)\n",
		        file);
		return -1;
	case IPC_TRUST_HEX_FILE_BAD:
		break;
	}
	fprintf(stderr, "fxbreakerctl: %s\n", err);
	return -1;
}

/* The anchors a checkpoint directory gives: its newest note, and every
 * note set aside at a degraded start as naming rows the log lost. */
struct dir_anchors {
	char **path;
	size_t n, cap;
	int64_t newest;
	size_t newest_at; /* in path, or n: none yet */
	bool nomem;
};

static int
dir_anchor(void *arg, const char *path, int64_t size, bool lost)
{
	struct dir_anchors *a = arg;
	if (!lost && a->newest_at < a->n && size <= a->newest)
		return 0;
	char *p = strdup(path);
	if (p == NULL) {
		a->nomem = true;
		return 1;
	}
	if (!lost && a->newest_at < a->n) {
		/* A newer note than the one kept: it takes its place. */
		free(a->path[a->newest_at]);
		a->path[a->newest_at] = p;
		a->newest = size;
		return 0;
	}
	if (a->n == a->cap) {
		size_t ncap = a->cap != 0 ? a->cap * 2 : 16;
		char **v = realloc(a->path, ncap * sizeof(*v));
		if (v == NULL) {
			free(p);
			a->nomem = true;
			return 1;
		}
		a->path = v;
		a->cap = ncap;
	}
	if (!lost) {
		a->newest_at = a->n;
		a->newest = size;
	}
	a->path[a->n++] = p;
	return 0;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ctl_verify(int argc, char **argv)
{
	static const char use[] =
	    "usage: fxbreakerctl verify [--pubkey FILE]... [--anchor NOTE]... "
	    "[--checkpoint-dir DIR] DB";
	const char *pubfiles[MAX_ANCHORS], *db = NULL, *dir = NULL;
	const char **anchors = NULL;
	size_t nanchors = 0, npub = 0;
	unsigned char pks[MAX_ANCHORS][32];
	struct dir_anchors da = {NULL, 0, 0, 0, SIZE_MAX, false};
	int code = CTL_EXIT_USAGE;

	if ((anchors = calloc(MAX_ANCHORS, sizeof(*anchors))) == NULL)
		return CTL_EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pubkey") == 0 && i + 1 < argc &&
		    npub < MAX_ANCHORS)
			pubfiles[npub++] = argv[++i];
		else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc &&
		         nanchors < MAX_ANCHORS)
			anchors[nanchors++] = argv[++i];
		else if (strcmp(argv[i], "--checkpoint-dir") == 0 &&
		         i + 1 < argc && dir == NULL)
			dir = argv[++i];
		else if (argv[i][0] != '-' && db == NULL)
			db = argv[i];
		else {
			fprintf(stderr, "%s\n", use);
			goto out;
		}
	}
	if (db == NULL) {
		fprintf(stderr, "%s\n", use);
		goto out;
	}
	if (dir != NULL) {
		if (ledger_note_scan(dir, dir_anchor, &da) != 0 || da.nomem) {
			fprintf(stderr,
			        "fxbreakerctl: %s: cannot read the checkpoint "
			        "notes\n",
			        dir);
			goto out;
		}
		/* In name order, so that findings come in the same order
		 * on every machine: the newest note, then the set-aside
		 * ones by when and size. */
		qsort(da.path, da.n, sizeof(*da.path), cmp_path);
		const char **v =
		    realloc(anchors, (nanchors + da.n + 1) * sizeof(*v));
		if (v == NULL)
			goto out;
		anchors = v;
		for (size_t i = 0; i < da.n; i++)
			anchors[nanchors++] = da.path[i];
	}
	if (sodium_init() < 0)
		goto out;
	/* Every key the log was signed with (keys rotate); by default the
	 * log.pub beside the database. */
	if (npub == 0) {
		if (load_pubkey(NULL, db, pks[0]) != 0)
			goto out;
		npub = 1;
	} else {
		for (size_t i = 0; i < npub; i++)
			if (load_pubkey(pubfiles[i], db, pks[i]) != 0)
				goto out;
	}
	code = ledger_verify(db, (const unsigned char(*)[32])pks, npub,
	                     anchors, nanchors, print_line, NULL);
	fflush(stdout);
out:
	for (size_t i = 0; i < da.n; i++)
		free(da.path[i]);
	free(da.path);
	free(anchors);
	return code;
}

int
ctl_export(int argc, char **argv)
{
	static const char use[] =
	    "usage: fxbreakerctl export [--config FILE | --db PATH] OUT";
	const char *config = ctl_default_config(), *db = NULL, *out = NULL;
	char path[BREAKER_TEXT_MAX + 32], err[512];
	int code = CTL_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (argv[i][0] != '-' && out == NULL)
			out = argv[i];
		else {
			fprintf(stderr, "%s\n", use);
			return CTL_EXIT_USAGE;
		}
	}
	if (out == NULL) {
		fprintf(stderr, "%s\n", use);
		return CTL_EXIT_USAGE;
	}
	if (access(out, F_OK) == 0) {
		fprintf(stderr,
		        "fxbreakerctl: %s exists: refusing to overwrite\n",
		        out);
		return CTL_EXIT_USAGE;
	}
	if (db == NULL) {
		struct service_conf sv;
		if ((code = ctl_service(config, "give --db PATH", &sv)) !=
		    CTL_EXIT_OK)
			return code;
		snprintf(path, sizeof(path), "%s/fxbreaker.db", sv.data_dir);
		db = path;
	}
	if (ledger_export(db, out, err, sizeof(err)) != FXB_OK) {
		fprintf(stderr, "fxbreakerctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	printf("%s\n%s.checkpoint\n", out, out);
	return CTL_EXIT_OK;
}
