/*
 * config_service.c: [service], the daemon's own settings: where its data
 * lives, the sockets it serves, its id in signed commands, who may sign
 * them, how notices show times, its clock and watchdog, and who may
 * connect (socket modes and groups, TLS files).  The engine never sees
 * them.
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
	sv->socket_mode = 0600;
	sv->admin_socket_mode = 0600;
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
 * it (the paths are the service's own: docs/OPERATIONS.md), and a host
 * that names one address: a wildcard (0.0.0.0, [::]) listens everywhere
 * and names nothing to pin the Host header to.  Returns why not, or
 * NULL. */
static const char *
http_url_why(const char *v)
{
	static const char form[] =
	    "http://HOST:PORT (a numeric port; the HTTP side is plain HTTP: "
	    "put a TLS proxy in front for HTTPS)";
	if (strncmp(v, "http://", 7) != 0)
		return form;
	const char *host = v + 7;
	const char *colon = strrchr(host, ':');
	if (colon == NULL || colon == host || strchr(host, '/') != NULL)
		return form;
	long port = 0;
	const char *p = colon + 1;
	if (*p == '\0')
		return form;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    (port = port * 10 + (*p - '0')) > 65535)
			return form;
	}
	if (port == 0)
		return form;
	size_t n = (size_t)(colon - host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		host++, n -= 2;
	size_t zeros = 0;
	while (zeros < n && (host[zeros] == ':' || host[zeros] == '0'))
		zeros++;
	if (n == 0 || zeros == n ||
	    (n == 7 && strncmp(host, "0.0.0.0", 7) == 0))
		return "a wildcard address cannot pin the Host header: name "
		       "the address to listen on (http://127.0.0.1:PORT, or "
		       "this host's own address)";
	return NULL;
}

/*
 * socket_mode and admin_socket_mode: who may connect to an ipc:// socket
 * file.  Connecting to a Unix socket needs write permission on it, so
 * the bits that mean something are each class's w.  Refused: anything
 * but 3 or 4 octal digits; setuid, setgid and sticky bits, and execute
 * bits (meaningless on a socket: a typo for a directory's mode);
 * less than 0600 (the daemon's own user must reach its sockets: its
 * watchdog pings the check socket); group bits without w (the group
 * could not connect: a mode that says more than it does); and any bit
 * for others, on every socket: a world-writable check socket lets any
 * local account ask for decisions, a tick socket lets it move rates and
 * trip breakers, an admin socket lets it read the whole state.  Who may
 * connect is said with the group, by name.
 */
static bool
val_mode(struct ini *in, struct ini_sect *s, struct ini_kv *kv,
         const char *group_key, int *out)
{
	const char *v = kv->val;
	size_t n = strlen(v);
	int mode = 0;
	char msg[160];

	if (n < 3 || n > 4 || strspn(v, "01234567") != n) {
		config_ini_fail_kv(in, s, kv,
		                   "an octal mode such as 0660 or 0600");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		mode = mode * 8 + (v[i] - '0');
	const char *why = NULL;
	if ((mode & ~0777) != 0)
		why = "no setuid, setgid or sticky bits (a mode such as 0660)";
	else if ((mode & 0111) != 0)
		why = "no execute bits: a socket is connected to, not run "
		      "(0600 or 0660)";
	else if ((mode & 0600) != 0600)
		why = "at least 0600: the daemon's own user must reach its "
		      "socket";
	else if ((mode & 0070) != 0 && (mode & 0020) == 0)
		why = "group bits without w: connecting needs write "
		      "(0660 lets the group connect, 0600 does not)";
	else if ((mode & 0007) != 0) {
		snprintf(msg, sizeof(msg),
		         "no bits for others: name who may connect with "
		         "%s (0660 or 0600)",
		         group_key);
		why = msg;
	}
	if (why != NULL) {
		config_ini_fail_kv(in, s, kv, why);
		return false;
	}
	*out = mode;
	return true;
}

/* socket_group, admin_socket_group: a group name as useradd takes it.
 * Whether the group exists is the daemon's question at start (it fails
 * if not) and a warning in `fxbreakerctl validate`, which may run on
 * another machine than the daemon's. */
static bool
group_ok(const char *v)
{
	size_t n = strlen(v);
	return n <= CONFIG_GROUP_MAX && v[0] != '-' &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Every URL that is tls+tcp:// needs the certificate and its key: the
 * first such URL without them is refused, named, here rather than at the
 * daemon's start, so that `fxbreakerctl validate` says so too. */
static bool
tls_files_ok(struct ini *in, struct ini_sect *s, const struct service_conf *sv)
{
	static const char *const keys[] = {"check_url", "tick_url",
	                                   "admin_url", "events_url"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct ini_kv *kv = config_ini_get(s, keys[i]);
		if (kv == NULL || strncmp(kv->val, "tls+tcp://", 10) != 0 ||
		    (sv->tls_cert_file[0] != '\0' &&
		     sv->tls_key_file[0] != '\0'))
			continue;
		config_ini_fail_kv(
		    in, s, kv,
		    sv->tls_cert_file[0] == '\0'
		        ? "a tls+tcp:// address needs tls_cert_file and "
		          "tls_key_file in [service] (tls_cert_file is "
		          "missing)"
		        : "a tls+tcp:// address needs tls_cert_file and "
		          "tls_key_file in [service] (tls_key_file is "
		          "missing)");
		return false;
	}
	return true;
}

/* Reads the values of the [service] section s into sv (which holds the
 * defaults).  Its unknown keys are refused later with every section's
 * (config_ini.c), once every value has passed. */
bool
config_service_read(struct ini *in, struct ini_sect *s,
                    struct service_conf *sv)
{
	/* A new key here: if a reload cannot apply it, it also goes into
	 * daemon/daemon.c's service_changed, and into fxbreaker.conf(5). */
	static const struct {
		const char *key;
		size_t off, cap;
	} keys[] = {
#define TEXT(k) {#k, offsetof(struct service_conf, k), sizeof(sv->k)}
	    TEXT(data_dir),           TEXT(check_url),
	    TEXT(tick_url),           TEXT(admin_url),
	    TEXT(events_url),         TEXT(service_id),
	    TEXT(checkpoint_dir),     TEXT(operators_file),
	    TEXT(http_url),           TEXT(socket_group),
	    TEXT(admin_socket_group), TEXT(tls_cert_file),
	    TEXT(tls_key_file),       TEXT(tls_ca_file),
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
		const char *why = strcmp(keys[i].key, "http_url") == 0
		                      ? http_url_why(kv->val)
		                      : NULL;
		if (why != NULL) {
			config_ini_fail_kv(in, s, kv, why);
			return false;
		}
		if (strstr(keys[i].key, "socket_group") != NULL &&
		    !group_ok(kv->val)) {
			config_ini_fail_kv(in, s, kv,
			                   "a group name (letters, digits, "
			                   "'.', '_', '-'; at most 32 bytes)");
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
	if (kv != NULL &&
	    !val_duration(in, s, kv, true, &sv->clock_step_tolerance))
		return false;
	kv = config_ini_get(s, "socket_mode");
	if (kv != NULL &&
	    !val_mode(in, s, kv, "socket_group", &sv->socket_mode))
		return false;
	kv = config_ini_get(s, "admin_socket_mode");
	if (kv != NULL &&
	    !val_mode(in, s, kv, "admin_socket_group", &sv->admin_socket_mode))
		return false;
	return tls_files_ok(in, s, sv);
}
