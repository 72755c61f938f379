/*
 * ctl.h: fxbreakerctl's private header.  One section per file.
 *
 * Exit codes are shared by every subcommand (docs/OPERATIONS.md):
 * 0 success, 1 bad input data (a tape line), 2 bad configuration,
 * 3 usage or I/O error.
 */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "breaker.h"
#include "config.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_DATA = 1,
	CTL_EXIT_CONFIG = 2,
	CTL_EXIT_USAGE = 3,
};

/* ctl_util.c */
/* ctl_load_config reads and validates a config file; prints the error and
 * returns NULL on failure (*exit_code says which). */
struct breaker_config *ctl_load_config(const char *path, int *exit_code);

/* ctl_common.c */
/* The config file when none is named: $FXBREAKER_CONFIG, or
 * /etc/fxbreaker/fxbreaker.conf. */
const char *ctl_default_config(void);
/*
 * ctl_service reads the [service] of config into *out: all a command
 * needs to reach the daemon or its ledger.  The rest of the file may be
 * broken (a reload the daemon refused): that is one warning line on
 * stderr, not an error.  An unreadable file or a bad [service] is fatal:
 * prints why and how to do without the file (`instead`, e.g. "give --url
 * URL") and returns the exit code; 0 on success.
 */
int ctl_service(const char *config, const char *instead,
                struct service_conf *out);
/* Where a command's socket address came from, for its failure message:
 * key is the [service] key ("admin_url"), config the file, or NULL when
 * the address was given with --url. */
struct ctl_target {
	char url[BREAKER_TEXT_MAX + 1];
	const char *key;
	const char *config;
};
/* ctl_unreachable prints why a request to t failed (err, which names
 * the URL) and where that URL came from and how to give another. */
void ctl_unreachable(const struct ctl_target *t, const char *err);
/* One CSV field on stdout, quoted, quotes doubled (RFC 4180); NULL is
 * "".  Then ',' or, for the last, '\n'. */
void ctl_csv_field(const char *s, bool last);
/* "2024-12-03T13:28:13.000Z" */
char *ctl_format_time(char *buf, size_t cap, int64_t ms);
/* Epoch ms, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC); -1 if neither. */
int ctl_parse_time(const char *s, int64_t *out);
/* The ledger, read-only: db, or DATA_DIR/fxbreaker.db of the config.
 * Prints why and returns NULL (with *exit_code) on failure. */
struct ledger *ctl_open_ledger(const char *config, const char *db,
                               int *exit_code);

/* ctl_wire.c */
int ctl_check(int argc, char **argv);
int ctl_tick(int argc, char **argv);
int ctl_status(int argc, char **argv);

/* ctl_log.c */
int ctl_log(int argc, char **argv);

/* ctl_operators.c */
/* `operators`: the roster the log records, or its history. */
int ctl_operators(int argc, char **argv);

/* ctl_report.c */
int ctl_report(int argc, char **argv);

/* ctl_verify.c */
int ctl_verify(int argc, char **argv);
int ctl_export(int argc, char **argv);

/* ctl_replay.c */
int ctl_replay(int argc, char **argv);
/* ctl_replay_run replays the tape read from in (named name in errors)
 * on a new engine built from cfg (which stays the caller's): events, and
 * decisions if asked, on stdout, then the summary; the first bad line
 * stops it with its number on stderr.  Returns an exit code.
 * tests/fuzz/fuzz_tape.c calls it on a tape in memory. */
int ctl_replay_run(struct breaker_config *cfg, const char *name, FILE *in,
                   bool decisions);

/* ctl_validate.c */
int ctl_validate(int argc, char **argv);

/* ctl_admin.c */
/* `keygen`: a new operator key file, and its operators-file line. */
int ctl_keygen(int argc, char **argv);
/* `suspend`, `lift`, `reset`, `threshold`, `notice`, `enrol`, `revoke`,
 * `approve` (argv[0] says which): one command
 * signed with an operator's key, sent to the admin socket.  Exit 0
 * applied or pending, 1 rejected or an error reply, 2 bad configuration,
 * 3 usage, I/O or no answer. */
int ctl_command(int argc, char **argv);
/* ctl_sign_body signs body (a command's body text, sent as is) with the
 * key file at key_path exactly as ctl_command signs, and returns the
 * envelope (free with free()), or NULL with the reason printed.  For
 * tests/sign_body, which sends bodies fxbreakerctl would never write. */
char *ctl_sign_body(const char *key_path, const char *body);

#endif /* CTL_H */
