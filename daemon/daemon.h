/*
 * daemon.h: fxbreakerd's private header: the service that wires the
 * engine (breaker/), the log (ledger/) and the sockets (ipc/).  One section
 * per file.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* daemon_log.c */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
fxb_time clock_now_ms(void);

/* watchdog.c */
struct watchdog;
/* What the watchdog knows of the check socket (times: wall clock ms). */
struct watchdog_state {
	bool silent;          /* the last probe and its retry got no answer */
	fxb_time last_answer; /* the last right answer; 0: none yet */
	fxb_time since;       /* silent: the first probe missed */
	char error[200];      /* silent: what the probe got instead */
	uint64_t probes;
};
typedef void (*watchdog_fn)(void *arg, const struct watchdog_state *st);
struct watchdog_conf {
	const char *url;        /* the check socket (copied) */
	const char *service_id; /* the answer must name it (copied) */
	fxb_time interval_ms;   /* between probes */
	fxb_time timeout_ms;    /* each probe's wait, twice at most */
	/* Called on the watchdog's thread, no watchdog lock held, when the
	 * socket goes silent and when it answers again. */
	watchdog_fn on_change;
	void *arg;
};
/* watchdog_start probes conf->url now and every interval, on a thread of
 * its own.  NULL on out of memory or no thread. */
struct watchdog *watchdog_start(const struct watchdog_conf *conf);
/* watchdog_get copies the current state into *out.  Any thread. */
void watchdog_get(struct watchdog *w, struct watchdog_state *out);
/* watchdog_stop stops and frees; waits for a probe under way (at most
 * twice its timeout).  NULL is a no-op. */
void watchdog_stop(struct watchdog *w);

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
