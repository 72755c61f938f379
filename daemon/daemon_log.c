/*
 * daemon_log.c: one line per message on stderr, with a UTC timestamp, for
 * journald or a terminal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "daemon.h"

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
	fxb_time now = clock_now_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ fxbreakerd: %s",
	        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	        tm.tm_min, tm.tm_sec, (int)(now % 1000), level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}
