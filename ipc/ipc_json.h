/*
 * ipc_json.h: the JSON shape of engine events and decisions, shared by the
 * replay tool, the event stream and the check replies so that the same
 * event reads the same everywhere (RULES.md section 6).  Uses jansson; no
 * sockets here.
 */
#ifndef IPC_JSON_H
#define IPC_JSON_H

#include <jansson.h>

#include "breaker.h"

/*
 * ipc_event_json returns a new JSON object for ev (NULL on out of memory).
 * `suspension` is the id of the suspension the event opens (trip, stale,
 * force_suspend) or ends; 0 prints none.
 */
json_t *ipc_event_json(const struct breaker_event *ev, int64_t suspension);

/* ipc_decision_json returns a new JSON object for a check's decision. */
json_t *ipc_decision_json(const struct breaker_decision *d);

/* ipc_json_set_px sets obj[key] to a price string ("1421.05"). */
int ipc_json_set_px(json_t *obj, const char *key, int64_t px);

/* ipc_utf8_len: the length of the valid UTF-8 sequence at p[0..n), or
 * 0 (overlong, surrogate, beyond U+10FFFF, cut short). */
size_t ipc_utf8_len(const unsigned char *p, size_t n);

/*
 * ipc_json_text returns a new JSON string of s, NUL-terminated text that
 * may have been cut inside a character (a "%.64s" of a Hangul name): each
 * byte that starts no valid UTF-8 sequence is written as U+FFFD, so an
 * error's message survives.  NULL only on out of memory or NULL s.
 */
json_t *ipc_json_text(const char *s);

#endif /* IPC_JSON_H */
