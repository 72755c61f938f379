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

/* commands.c */
/* commands_check_operators reads the operators file at path as a start
 * would (owner, mode, every line) and keeps nothing: false, with the same
 * warnings a start prints, if a start would refuse it.  For -n. */
bool commands_check_operators(const char *path);

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
