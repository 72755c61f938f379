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
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"

/* A line longer than this is cut, and says so: no log line may need an
 * allocation (out of memory is one of the things it reports). */
#define LINE_MAX_BYTES 8192

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
	fwrite(line, 1, len, stderr);
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
