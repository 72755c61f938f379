/*
 * config_service.c: [service], the daemon's own settings: where its data
 * lives, the sockets it serves, its id in signed commands, who may sign
 * them, how notices show times, and its clock and watchdog.  The engine
 * never sees them.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config_impl.h"

void
config_service_defaults(struct service_conf *sv)
{
	memset(sv, 0, sizeof(*sv));
	snprintf(sv->data_dir, sizeof(sv->data_dir), "/var/lib/fxbreaker");
	snprintf(sv->check_url, sizeof(sv->check_url),
	         "ipc:///run/fxbreaker/check.ipc");
	snprintf(sv->tick_url, sizeof(sv->tick_url),
	         "ipc:///run/fxbreaker/tick.ipc");
	snprintf(sv->admin_url, sizeof(sv->admin_url),
	         "ipc:///run/fxbreaker/admin.ipc");
	snprintf(sv->events_url, sizeof(sv->events_url),
	         "ipc:///run/fxbreaker/events.ipc");
	snprintf(sv->service_id, sizeof(sv->service_id), "fxbreaker");
	sv->notice_tz_min = 9 * 60; /* Korea: KST, UTC+09:00 */
	/* Above NTP's own step threshold (128 ms) and chrony's usual
	 * makestep, below anything a person would call a step. */
	sv->clock_step_tolerance = 1000;
	sv->watchdog_interval = 5000;
}

/* Each value reader returns false (having reported) on a bad value. */

static bool
val_duration(struct ini *in, struct ini_sect *s, struct ini_kv *kv,
             bool positive, fxb_time *out)
{
	const char *why = breaker_duration_value(kv->val, positive, out);
	if (why != NULL)
		config_ini_fail_kv(in, s, kv, why);
	return why == NULL;
}

static bool
val_text(struct ini *in, struct ini_sect *s, struct ini_kv *kv, char *dst,
         size_t cap)
{
	size_t n = strlen(kv->val);
	if (n >= cap) {
		char msg[64];
		snprintf(msg, sizeof(msg), "longer than %zu bytes", cap - 1);
		config_ini_fail_kv(in, s, kv, msg);
		return false;
	}
	memcpy(dst, kv->val, n + 1);
	return true;
}

/* notice_utc_offset: +HH:MM or -HH:MM, how notices show times to
 * customers. */
static bool
val_utc_offset(struct ini *in, struct ini_sect *s, struct ini_kv *kv, int *out)
{
	const char *v = kv->val;
	if (strlen(v) != 6 || (v[0] != '+' && v[0] != '-') || v[3] != ':' ||
	    v[1] < '0' || v[1] > '1' || v[2] < '0' || v[2] > '9' ||
	    v[4] < '0' || v[4] > '5' || v[5] < '0' || v[5] > '9') {
		config_ini_fail_kv(in, s, kv,
		                   "a UTC offset: +HH:MM or -HH:MM");
		return false;
	}
	int min = ((v[1] - '0') * 10 + (v[2] - '0')) * 60 + (v[4] - '0') * 10 +
	          (v[5] - '0');
	*out = v[0] == '-' ? -min : min;
	return true;
}

/* http_url: http://HOST:PORT with a port of 1-65535 and nothing after
 * it (the paths are the service's own: docs/OPERATIONS.md). */
static bool
http_url_ok(const char *v)
{
	if (strncmp(v, "http://", 7) != 0)
		return false;
	const char *host = v + 7;
	const char *colon = strrchr(host, ':');
	if (colon == NULL || colon == host || strchr(host, '/') != NULL)
		return false;
	long port = 0;
	const char *p = colon + 1;
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    (port = port * 10 + (*p - '0')) > 65535)
			return false;
	}
	return port > 0;
}

/* Reads the values of the [service] section s into sv (which holds the
 * defaults).  Its unknown keys are refused later with every section's
 * (config_ini.c), once every value has passed. */
bool
config_service_read(struct ini *in, struct ini_sect *s,
                    struct service_conf *sv)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} keys[] = {
#define TEXT(k) {#k, offsetof(struct service_conf, k), sizeof(sv->k)}
	    TEXT(data_dir),       TEXT(check_url),      TEXT(tick_url),
	    TEXT(admin_url),      TEXT(events_url),     TEXT(service_id),
	    TEXT(checkpoint_dir), TEXT(operators_file), TEXT(http_url),
#undef TEXT
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct ini_kv *kv = config_ini_get(s, keys[i].key);
		if (kv == NULL)
			continue;
		if (kv->val[0] == '\0') {
			config_ini_fail_kv(in, s, kv, "must not be empty");
			return false;
		}
		if (strcmp(keys[i].key, "http_url") == 0 &&
		    !http_url_ok(kv->val)) {
			config_ini_fail_kv(
			    in, s, kv,
			    "http://HOST:PORT (a numeric port; "
			    "the HTTP side is plain HTTP: put a "
			    "TLS proxy in front for HTTPS)");
			return false;
		}
		if (strstr(keys[i].key, "_url") != NULL &&
		    strcmp(keys[i].key, "http_url") != 0 &&
		    strncmp(kv->val, "ipc://", 6) != 0 &&
		    strncmp(kv->val, "tcp://", 6) != 0 &&
		    strncmp(kv->val, "tls+tcp://", 10) != 0) {
			config_ini_fail_kv(in, s, kv,
			                   "an nng address: ipc://PATH, "
			                   "tcp://HOST:PORT or "
			                   "tls+tcp://HOST:PORT");
			return false;
		}
		if (!val_text(in, s, kv, (char *)sv + keys[i].off,
		              keys[i].cap))
			return false;
	}
	struct ini_kv *kv = config_ini_get(s, "notice_utc_offset");
	if (kv != NULL && !val_utc_offset(in, s, kv, &sv->notice_tz_min))
		return false;
	kv = config_ini_get(s, "watchdog_interval");
	if (kv != NULL &&
	    !val_duration(in, s, kv, false, &sv->watchdog_interval))
		return false;
	if (kv != NULL && sv->watchdog_interval != 0 &&
	    sv->watchdog_interval < 100) {
		config_ini_fail_kv(in, s, kv, "0 (off) or at least 100ms");
		return false;
	}
	kv = config_ini_get(s, "clock_step_tolerance");
	return kv == NULL ||
	       val_duration(in, s, kv, true, &sv->clock_step_tolerance);
}
