/*
 * ctl.h: fxbreakerctl's private header.  One section per file, from the
 * bottom up: a file calls only files whose sections come before its own
 * (none calls back up, so no two call each other).
 *
 * Exit codes are shared by every subcommand (docs/OPERATIONS.md):
 * 0 success, 1 bad input data (a tape line), 2 bad configuration,
 * 3 usage or I/O error.
 */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "breaker.h"
#include "config.h"
#include "ipc_trust.h"

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
/* The same with changes laid over the file's keys (config_parse); a
 * configuration error is said after `what` (if not NULL) and ": ". */
struct breaker_config *ctl_load_config_over(const char *path,
                                            const struct config_override *ov,
                                            size_t nov, const char *what,
                                            int *exit_code);

/* ctl_common.c */
/* The config file when none is named: $FXBREAKER_CONFIG, or
 * /etc/fxbreaker/fxbreaker.conf. */
const char *ctl_default_config(void);
/* `fxbreakerctl --node N COMMAND`: the [peer N] of a cluster's shared
 * config whose sockets ctl_service gives (0: [service]'s). */
extern unsigned ctl_node;
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
 * the URL: one line per URL of a list) and where that URL came from and
 * how to give another. */
void ctl_unreachable(const struct ctl_target *t, const char *err);
/* One CSV field on stdout, quoted, quotes doubled (RFC 4180); NULL is
 * "".  Then ',' or, for the last, '\n'. */
void ctl_csv_field(const char *s, bool last);
/* The same on f. */
void ctl_csv_fput(FILE *f, const char *s, bool last);
/* o[key] if it is a string, else "": a reply's field for printing. */
const char *ctl_jstr(json_t *o, const char *key);
/* "2024-12-03T13:28:13.000Z" */
char *ctl_format_time(char *buf, size_t cap, int64_t ms);
/* Epoch ms, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC); -1 if neither. */
int ctl_parse_time(const char *s, int64_t *out);
/* The ledger, read-only: db, or DATA_DIR/fxbreaker.db of the config.
 * Prints why and returns NULL (with *exit_code) on failure. */
struct ledger *ctl_open_ledger(const char *config, const char *db,
                               int *exit_code);

/* ctl_status_print.c */
/* ctl_status_print prints the admin socket's status reply r as tables on
 * stdout: what `status` shows without --json. */
void ctl_status_print(json_t *r);
/* ctl_cluster_print prints status reply r's cluster object: what
 * `cluster status` shows without --json.  false (said why) if r has
 * none (a single node). */
bool ctl_cluster_print(json_t *r);

/* ctl_wire.c */
int ctl_check(int argc, char **argv);
int ctl_tick(int argc, char **argv);
int ctl_status(int argc, char **argv);
/* `cluster status` (argv[0] "status"): the status reply's cluster. */
int ctl_cluster_status(int argc, char **argv);

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
/* A tape line, parsed: its names resolved to the engine's indexes (the
 * same in every engine built from one file's sections), its prices and
 * amounts to numbers (10^-9 units; minor units). */
enum ctl_rec_op {
	CTL_REC_TICK,          /* idx: pair; a: px */
	CTL_REC_QUOTE,         /* idx: pair; a: bid, b: ask */
	CTL_REC_CHECK,         /* idx: product; a: amount, b: rate (0) */
	CTL_REC_END,           /* the tape's end: timers fire up to t */
	CTL_REC_FORCE_SUSPEND, /* on_pair, idx; until, reason */
	CTL_REC_FORCE_PLAN,    /* the same from `from` (a planned one) */
	CTL_REC_FORCE_LIFT,    /* on_pair, idx */
	CTL_REC_FORCE_CANCEL,  /* on_pair, idx: its plan */
	CTL_REC_RESET,         /* idx: rule */
};
struct ctl_rec {
	fxb_time t;
	long line; /* in the tape, for errors */
	enum ctl_rec_op op;
	bool on_pair;
	int32_t idx;
	int64_t a, b;
	fxb_time from, until;
	const char *reason; /* or NULL */
};
/* A whole tape in memory, up to its "end". */
struct ctl_tape {
	struct ctl_rec *rec;
	size_t n, cap;
	char **reasons; /* the records' reasons, owned */
	size_t nreasons;
};
/* What a play tells its caller; any hook may be NULL. */
struct ctl_play_hooks {
	void *arg;
	/* every event, with its replay id (the event's ordinal) */
	void (*event)(void *arg, const struct breaker_event *ev, int64_t id);
	/* the engine as a record finds it: every timer due by then fired */
	void (*before)(void *arg, const struct breaker *b,
	               const struct ctl_rec *rec);
	/* a check's decision */
	void (*decision)(void *arg, const struct breaker *b,
	                 const struct ctl_rec *rec,
	                 const struct breaker_decision *d);
	/* the engine after each instant that may change it: each timer's
	 * expiry (timers fire one instant at a time), and each record */
	void (*after)(void *arg, const struct breaker *b, fxb_time t);
	/* set: a reset the engine refuses as not_tripped is handed here
	 * and the play goes on (under another setting the rule may not
	 * have tripped); NULL: it stops the play, as in replay */
	void (*skipped)(void *arg, const struct ctl_rec *rec);
};
/* ctl_tape_load reads the tape in (named name in errors) into *tp, its
 * names resolved against cfg, exactly as replay reads it: the first bad
 * line stops it with its number on stderr.  Returns an exit code; on
 * success free *tp with ctl_tape_free. */
int ctl_tape_load(const struct breaker_config *cfg, const char *name, FILE *in,
                  struct ctl_tape *tp);
void ctl_tape_free(struct ctl_tape *tp);
/* ctl_tape_play runs a new engine built from cfg (whose sections must be
 * those tp was loaded with: only rule keys may differ) over tp, telling
 * h.  Returns an exit code (a record the engine refuses, said on
 * stderr). */
int ctl_tape_play(const struct ctl_tape *tp, const char *name,
                  const struct breaker_config *cfg,
                  const struct ctl_play_hooks *h);

/* ctl_calibrate_html.c */
/* calibrate's findings, which its text, CSV and HTML show. */
#define CTL_SWEEPS_MAX 2
/* --sweep RULE.KEY=V1,V2,...: [rule RULE]'s KEY set to each value. */
struct ctl_sweep {
	char *rule, *key; /* into the argument's copy, split in place */
	char **v;
	size_t nv;
};
/* A stretch of time a product was suspended, the hold quoted as a check
 * would quote it (the one that ends last). */
struct ctl_span {
	int32_t product;
	int32_t rule; /* its index; -1: an operator's */
	enum breaker_reason reason;
	fxb_time from, to;
};
/* What one setting did to the tape's customers. */
struct ctl_setting {
	size_t vi[CTL_SWEEPS_MAX]; /* its value of each sweep */
	bool config;               /* the config as written: no sweep */
	int64_t trips;             /* enforcing rules' trip events */
	fxb_time first_trip;       /* FXB_NEVER: none */
	int64_t allow, deny, throttle;
	int64_t skipped; /* the tape's resets of untripped rules */
	fxb_time skip_t; /* the first one's time and rule */
	int32_t skip_rule;
	int64_t *held_ms; /* per product: time suspended, in ms */
	int64_t *denied;  /* per product: checks denied */
	struct ctl_span *span;
	size_t nspan, capspan;
};
/* A pair's rate and limits over one column of the rate chart: the
 * lowest and highest rate, the tightest band edges and velocity range
 * in force as a tick arrived (10^-9 units). */
#define CTL_LEVEL_COLS 720
#define CTL_HAS_RATE   1u
#define CTL_HAS_BAND   2u
#define CTL_HAS_VEL    4u
struct ctl_level_col {
	int64_t rmin, rmax, blo, bhi, vlo, vhi;
	unsigned has;
};
struct ctl_calib {
	const char *config_path, *tape_path;
	const struct breaker_config *cfg; /* the config as written */
	const struct ctl_tape *tape;
	fxb_time t0, t1; /* the tape's first and last record */
	struct ctl_sweep sweep[CTL_SWEEPS_MAX];
	size_t nsweeps;
	struct ctl_setting *set; /* the grid: sweep 0's values outer */
	size_t nset;
	struct ctl_setting base; /* the config as written */
	struct ctl_level_col (*levels)[CTL_LEVEL_COLS]; /* per pair: base's */
};
/* The setting's values as "RULE.KEY=V, RULE.KEY=V" ("as configured" for
 * the config as written). */
void ctl_setting_label(const struct ctl_calib *cb, const struct ctl_setting *s,
                       char *buf, size_t cap);
/* Tape times from 2000 to 2100 are read as epoch ms: shown in UTC. */
bool ctl_calib_epoch(const struct ctl_calib *cb);
/* ctl_calibrate_html writes the report to f: one page, nothing fetched
 * (inline SVG, CSS and script).  false on a write error. */
bool ctl_calibrate_html(const struct ctl_calib *cb, FILE *f);

/* ctl_calibrate.c */
/* `calibrate`: one tape replayed under a grid of rule settings. */
int ctl_calibrate(int argc, char **argv);

/* ctl_validate.c */
int ctl_validate(int argc, char **argv);

/* ctl_passphrase.c */
#define CTL_PASS_MAX 1024
struct ctl_secret; /* ctl_key.c's guarded block */
/* ctl_passphrase_get puts the passphrase into s->pass: from
 * $FXBREAKER_PASSPHRASE, else asked on the terminal after prompt, with
 * echo off (and asked again, into s->again, when confirm: they must be
 * equal).  0, or -1 with the reason printed. */
int ctl_passphrase_get(struct ctl_secret *s, const char *prompt, bool confirm);

/* ctl_key.c */
#define CTL_KEY_FILE_MAX 4096 /* a key file is about 400 bytes */
/* The sealed secret key: nonce || crypto_secretbox_easy(secret key). */
#define CTL_KEY_SEALED_LEN                                                    \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +            \
	 IPC_TRUST_SK_LEN)
/* Everything secret, in one guarded block (sodium_malloc: locked in
 * memory, wiped when freed). */
struct ctl_secret {
	unsigned char sk[IPC_TRUST_SK_LEN];
	unsigned char key[crypto_secretbox_KEYBYTES]; /* from the passphrase */
	char pass[CTL_PASS_MAX + 2];
	char again[CTL_PASS_MAX + 2];
	char hex[2 * CTL_KEY_SEALED_LEN + 1];
	char file[CTL_KEY_FILE_MAX + 1]; /* the key file's text */
};
/* The public half of a key file, and the sealed secret. */
struct ctl_key {
	char name[IPC_TRUST_NAME_MAX + 1];
	unsigned char pk[IPC_TRUST_PK_LEN];
	char id[IPC_TRUST_KEY_ID_SIZE];
	bool sealed; /* kdf argon2id (else kdf none) */
	unsigned long long ops;
	size_t mem;
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char box[CTL_KEY_SEALED_LEN]; /* when sealed */
};
/* A zeroed secret block, or NULL (said why); ctl_secret_free wipes and
 * frees one (NULL is a no-op).  Call sodium_init first. */
struct ctl_secret *ctl_secret_new(void);
void ctl_secret_free(struct ctl_secret *s);
/* ctl_key_load reads the key file at path, asks for its passphrase when
 * it has one, and leaves the secret key in s->sk and the rest in *k.  The
 * file must be private to its owner (like ssh's) and its two halves must
 * belong together.  0, or -1 with the reason printed. */
int ctl_key_load(const char *path, struct ctl_key *k, struct ctl_secret *s);
/* ctl_key_new makes a new key pair for name: *k, not sealed, and s->sk. */
void ctl_key_new(const char *name, struct ctl_key *k, struct ctl_secret *s);
/* ctl_key_seal seals s->sk into k under the passphrase in s->pass
 * (argon2id at libsodium's interactive limits, a new salt and nonce).
 * 0, or -1 with the reason printed. */
int ctl_key_seal(struct ctl_key *k, struct ctl_secret *s);
/* ctl_key_format writes the key file's text for k (s->sk when not
 * sealed) into s->file. */
void ctl_key_format(const struct ctl_key *k, struct ctl_secret *s);

/* ctl_logkey.c */
/* `logkey DIR`: the log key cluster nodes share, made once. */
int ctl_logkey(int argc, char **argv);

/* ctl_keygen.c */
/* `keygen`: a new operator key file, and its operators-file line. */
int ctl_keygen(int argc, char **argv);

/* ctl_cmd_spec.c */
/* A signed command's options, by index into ctl_cmd_opts.v. */
enum ctl_opt {
	CTL_OPT_KEY,
	CTL_OPT_PRODUCT,
	CTL_OPT_PAIR,
	CTL_OPT_RULE,
	CTL_OPT_REQUEST,
	CTL_OPT_SUSPENSION,
	CTL_OPT_REASON,
	CTL_OPT_UNTIL,
	CTL_OPT_CONFIG,
	CTL_OPT_URL,
	CTL_OPT_SERVICE_ID,
	CTL_OPT_EXPIRES,
	CTL_OPT_TIMEOUT,
	CTL_OPT_ISSUED_AT,
	CTL_OPT_NONCE,
	CTL_OPT_PARAM,
	CTL_OPT_VALUE,
	CTL_OPT_NOTICE,
	CTL_OPT_LANG,
	CTL_OPT_TEXT,
	CTL_OPT_NAME,
	CTL_OPT_ROLES,
	CTL_OPT_PUBKEY,
	CTL_OPT_OPERATOR,
	CTL_OPT_TLS_CA,
	CTL_OPT_TLS_CERT,
	CTL_OPT_TLS_KEY,
	CTL_OPT_NODE,
	CTL_OPT_FROM,
	CTL_OPT_COUNT
};
struct ctl_cmd_spec; /* one command: the options it takes and needs */
/* A command line, parsed and checked. */
struct ctl_cmd_opts {
	const struct ctl_cmd_spec *spec;
	unsigned allowed; /* the options it takes (B(CTL_OPT_...)) */
	const char *v[CTL_OPT_COUNT]; /* each option's text, or NULL */
	bool json, sign_only;
	int64_t request, suspension, until, from, issued_at; /* from v */
	int64_t node;                                        /* ditto */
	int expires_s, timeout_ms; /* from v, or their defaults */
};
/* ctl_cmd_opts_parse parses and checks the options of the command
 * argv[0] (one of the table's); false, with the complaint and the
 * command's usage printed, on anything wrong. */
bool ctl_cmd_opts_parse(int argc, char **argv, struct ctl_cmd_opts *o);
/* ctl_cmd_body builds the command's body, as docs/PROTOCOL.md lists its
 * fields and args (in that order, which is only for the reader: the
 * signature covers the bytes, whatever their order).  NULL (said why) on
 * text that is not UTF-8. */
json_t *ctl_cmd_body(const struct ctl_cmd_opts *o, const char *service_id,
                     const char *key_id_hex, int64_t issued_at,
                     const char *nonce);

/* ctl_cmd_reply.c */
/* Not an exit code: no answer, or an answer that says the command is not
 * logged yet.  ctl_command says how to ask again, and exits 3. */
#define CTL_EXIT_UNCONFIRMED (-1)
/* ctl_cmd_reply prints the service's answer to a command (as sent, with
 * json) and returns the exit code it means, or CTL_EXIT_UNCONFIRMED. */
int ctl_cmd_reply(const char *reply, bool json);

/* ctl_command.c */
/* `suspend`, `lift`, `reset`, `threshold`, `notice`, `enrol`, `revoke`,
 * `approve`, `cluster_add`, `cluster_remove` (argv[0] says which): one
 * command
 * signed with an operator's key, sent to the admin socket.  Exit 0
 * applied or pending, 1 rejected or an error reply, 2 bad configuration,
 * 3 usage, I/O or no answer. */
int ctl_command(int argc, char **argv);
/* ctl_sign_body signs body (a command's body text, sent as is) with the
 * key file at key_path exactly as ctl_command signs, and returns the
 * envelope (free with free()), or NULL with the reason printed.  For
 * tests/sign_body, which sends bodies fxbreakerctl would never write. */
char *ctl_sign_body(const char *key_path, const char *body);

/* ctl_cluster.c */
/* `cluster status|add|remove`: status over the admin socket; add and
 * remove are the signed commands cluster_add and cluster_remove. */
int ctl_cluster(int argc, char **argv);

#endif /* CTL_H */
