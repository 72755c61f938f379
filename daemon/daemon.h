/*
 * daemon.h: fxbreakerd's private header: the service that wires the
 * engine (breaker/), the log (ledger/) and the sockets (ipc/).  One section
 * per file.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "breaker.h"

struct daemon;

/* daemon.c */
struct daemon_opts {
	const char *config_path;
	int check_contexts; /* nng contexts on the check socket */
};
/* daemon_start reads the config, opens and checks the ledger, restores
 * every breaker, and starts serving.  Prints why on failure. */
struct daemon *daemon_start(const struct daemon_opts *opts);
/* daemon_reload re-reads the config (SIGHUP); a bad file keeps the
 * running one. */
void daemon_reload(struct daemon *d);
/* daemon_stop stops accepting, answers what is in flight, logs the stop,
 * waits for the log to be written, and frees everything. */
void daemon_stop(struct daemon *d);

/* datadir_lock.c */
/* daemon_lock_take takes the exclusive lock on DATA_DIR/fxbreakerd.lock
 * (its path into path) and writes this pid into it.  Returns the
 * descriptor that holds the lock (keep it open for the process's life),
 * or -1 with err saying why: another daemon holds it (err names its pid
 * and the file), or the file cannot be opened. */
int daemon_lock_take(const char *data_dir, char *path, size_t pathcap,
                     char *err, size_t errcap);
/* daemon_lock_release drops the lock (-1 is a no-op). */
void daemon_lock_release(int fd);

/* daemon_log.c */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
fxb_time clock_now_ms(void);

/* notice.c */
struct notice_vars {
	const char *product;
	fxb_time start, until, end;
	const char *reason_ko, *reason_en;
	int tz_min; /* the notice time zone, minutes east of UTC */
};
extern const char *const notice_default_ko;
extern const char *const notice_default_en;
void notice_reason(enum breaker_kind kind, const char *operator_reason,
                   const char **ko, const char **en);
char *notice_render(const char *tpl, const struct notice_vars *v, bool ko);
char *notice_render_closed(const struct notice_vars *v, bool ko);

#endif /* DAEMON_H */
