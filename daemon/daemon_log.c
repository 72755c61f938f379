/*
 * daemon_log.c: one line per message on stderr, for journald or a
 * terminal:
 *
 *	2024-12-03T13:25:00.123Z fxbreakerd: LEVEL: TEXT
 *
 * LEVEL is info, warning or error; docs/OPERATIONS.md ("Logs") keeps the
 * format.  Each line goes out in one write: the writer thread, nng's
 * threads and the main thread log at once, and a line cut in two by
 * another's would not parse.
 *
 * Between log_start and log_stop no thread that logs ever waits for
 * stderr: a line goes into a buffer and a thread of its own writes it
 * out.  stderr is a pipe to journald or to whatever started the daemon,
 * and a reader that stops reading would otherwise stall the log writer
 * (which prints a line per row) and, through it, every reply waiting for
 * a row: a pre-trade check silenced by a log line.  When the buffer is
 * full a line is dropped and counted, and the count is said once the
 * reader takes lines again.  Before log_start and after log_stop (start
 * errors, -n, the tests' programs) lines are written at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

/* A line longer than this is cut, and says so: no log line may need an
 * allocation (out of memory is one of the things it reports). */
#define LINE_MAX_BYTES 8192
/* What may wait for a slow reader: thousands of lines, a few seconds of
 * a trip storm; beyond it a stalled reader loses lines, not checks. */
#define RING_BYTES (1u << 20)

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf;        /* RING_BYTES, a ring */
	size_t head, len; /* unwritten bytes: buf[head..head + len) */
	uint64_t dropped; /* lines dropped since the last said */
	bool on, stop;    /* the thread runs; it is to drain and end */
	pthread_t thread;
} ring = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Writes buf[0..len) to stderr whole, whatever EINTR and short writes do;
 * gives up on any other error (stderr closed: nothing to tell). */
static void
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void *
ring_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ring.mu);
	for (;;) {
		while (ring.len == 0 && ring.dropped == 0 && !ring.stop)
			pthread_cond_wait(&ring.cv, &ring.mu);
		if (ring.len == 0 && ring.dropped == 0)
			break; /* stop, and nothing left */
		/* What lies contiguous from head: the rest on the next
		 * turn. */
		size_t n = ring.len;
		if (n > RING_BYTES - ring.head)
			n = RING_BYTES - ring.head;
		char *at = ring.buf + ring.head;
		uint64_t dropped = n == 0 ? ring.dropped : 0;
		if (n == 0)
			ring.dropped = 0;
		pthread_mutex_unlock(&ring.mu);
		if (n > 0) {
			write_all(at, n);
		} else {
			/* Said once the reader is back and the backlog out:
			 * a reader that never returns hears nothing more. */
			log_warn("%llu log lines dropped: stderr was not "
			         "being read (the log in the database has "
			         "every row)",
			         (unsigned long long)dropped);
		}
		pthread_mutex_lock(&ring.mu);
		ring.head = (ring.head + n) % RING_BYTES;
		ring.len -= n;
	}
	pthread_mutex_unlock(&ring.mu);
	return NULL;
}

bool
log_start(void)
{
	pthread_mutex_lock(&ring.mu);
	if (ring.on) {
		pthread_mutex_unlock(&ring.mu);
		return true;
	}
	if (ring.buf == NULL && (ring.buf = malloc(RING_BYTES)) == NULL) {
		pthread_mutex_unlock(&ring.mu);
		return false;
	}
	ring.stop = false;
	ring.on = pthread_create(&ring.thread, NULL, ring_main, NULL) == 0;
	pthread_mutex_unlock(&ring.mu);
	return ring.on;
}

void
log_stop(void)
{
	pthread_mutex_lock(&ring.mu);
	if (!ring.on) {
		pthread_mutex_unlock(&ring.mu);
		return;
	}
	ring.stop = true;
	pthread_cond_signal(&ring.cv);
	pthread_mutex_unlock(&ring.mu);
	pthread_join(ring.thread, NULL);
	pthread_mutex_lock(&ring.mu);
	ring.on = false;
	pthread_mutex_unlock(&ring.mu);
}

void
log_drain(int ms)
{
	for (int i = 0; i < ms; i++) {
		pthread_mutex_lock(&ring.mu);
		bool empty = !ring.on || ring.len == 0;
		pthread_mutex_unlock(&ring.mu);
		if (empty)
			return;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

/* One whole line into the ring, or counted as dropped; at once if the
 * ring's thread is not running. */
static void
emit(const char *line, size_t len)
{
	pthread_mutex_lock(&ring.mu);
	if (!ring.on) {
		pthread_mutex_unlock(&ring.mu);
		write_all(line, len);
		return;
	}
	if (len > RING_BYTES - ring.len) {
		ring.dropped++;
	} else {
		size_t tail = (ring.head + ring.len) % RING_BYTES;
		size_t first =
		    len < RING_BYTES - tail ? len : RING_BYTES - tail;
		memcpy(ring.buf + tail, line, first);
		memcpy(ring.buf, line + first, len - first);
		ring.len += len;
	}
	pthread_cond_signal(&ring.cv);
	pthread_mutex_unlock(&ring.mu);
}

fxb_time
clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (fxb_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void vlog(const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	static const char cut[] = " (cut)";
	char line[LINE_MAX_BYTES];
	fxb_time now = clock_now_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	int n =
	    snprintf(line, sizeof(line),
	             "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ fxbreakerd: %s: ",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	             tm.tm_min, tm.tm_sec, (int)(now % 1000), level);
	size_t len = (size_t)n;
	int m = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof(line) - len) {
		len = sizeof(line) - sizeof(cut) - 1;
		snprintf(line + len, sizeof(cut), "%s", cut);
		len += sizeof(cut) - 1;
	} else {
		len += (size_t)m;
	}
	line[len++] = '\n';
	emit(line, len);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}
