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
#include <time.h>

#include "breaker.h"

struct daemon;

/* daemon.c */
struct daemon_opts {
	const char *config_path;
	int check_contexts; /* nng contexts on the check socket */
	/* --node: this node's [peer ID]; 0 takes [cluster] node_id
	 * (config_cluster_select). */
	unsigned node;
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
struct service_conf;
/* daemon_check_access checks what a start checks of who may connect and
 * the file alone cannot say: the socket groups exist, the TLS files can
 * be used.  false, with the same lines a start prints, if a start would
 * refuse them.  For -n. */
bool daemon_check_access(const struct service_conf *sv);

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
/* roster.c */
/* commands_check_operators reads the operators file at path as a start
 * would (owner, mode, every line) and keeps nothing: false, with the same
 * warnings a start prints, if a start would refuse it.  For -n. */
bool commands_check_operators(const char *path);

/* daemon_log.c: "TIME fxbreakerd: LEVEL: TEXT" on stderr, one write
 * per line.  log_error is for what stops the daemon (or keeps it from
 * starting); log_warn for what an operator must look at. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
fxb_time clock_now_ms(void);
/* log_start: from here no logging thread waits for stderr (lines go
 * through a buffer, dropped and counted when it is full); false if it
 * could not start (lines then go out at once, as before).  log_stop
 * writes out what is buffered and goes back to writing at once. */
bool log_start(void);
void log_stop(void);
/* log_drain waits up to ms milliseconds for the buffered lines to go out:
 * before an abort, which would lose them, without hanging on a reader
 * that never reads. */
void log_drain(int ms);

/* timebase.c */
/* A step of the wall clock against the engine's. */
struct timebase_step {
	fxb_time at;       /* engine time when it was seen */
	fxb_time from, to; /* the wall clock as expected, and as read */
	int64_t size_ms;   /* |to - from| */
	int64_t offset_ms; /* wall - engine after it */
	bool back;
};
struct timebase {
	/* Set at start, then read without a lock. */
	fxb_time anchor;      /* engine time at anchor_ns */
	int64_t anchor_ns;    /* CLOCK_MONOTONIC */
	fxb_time start_wall;  /* the wall clock at start */
	fxb_time ledger_last; /* the log's latest row time at start */
	/* The rest under the daemon's engine lock (mu). */
	int64_t offset_ms; /* wall - engine, as last reported */
	uint64_t steps;
	struct timebase_step last; /* the latest, if steps > 0 */
};
int64_t timebase_mono_ns(void);
/* timebase_start starts engine time at max(wall, ledger_last); true when
 * the wall clock is behind the log by more than tolerance_ms (the caller
 * logs a clock_behind row). */
bool timebase_start(struct timebase *tb, fxb_time wall, fxb_time ledger_last,
                    int64_t tolerance_ms);
/* timebase_now returns engine time: never back, monotonic rate. */
fxb_time timebase_now(const struct timebase *tb);
/* timebase_check compares the wall clock with engine time: true (and
 * *out) once per step, when the offset moved by more than tolerance_ms
 * since it was last reported. */
bool timebase_check(struct timebase *tb, fxb_time engine, fxb_time wall,
                    int64_t tolerance_ms, struct timebase_step *out);
/* timebase_deadline: engine time t as a CLOCK_MONOTONIC deadline (for a
 * condition variable made with that clock). */
void timebase_deadline(const struct timebase *tb, fxb_time t,
                       struct timespec *ts);
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
/* notice_reason: {reason} in the customer's words for a rule's kind (0:
 * forced, "operational reasons"). */
void notice_reason(enum breaker_kind kind, const char **ko, const char **en);
char *notice_render(const char *tpl, const struct notice_vars *v, bool ko);
char *notice_render_closed(const struct notice_vars *v, bool ko);

#endif /* DAEMON_H */
