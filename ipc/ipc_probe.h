/*
 * ipc_probe.h: one request and its answer over a connection of its own,
 * for the daemon's watchdog (daemon/watchdog.c) to ask its own check
 * socket whether it still answers.
 *
 * Each probe dials anew and closes after the answer: a connection kept
 * open would still be served by a listener that no longer accepts new
 * ones (nng issue #1518's failure, third_party/nng/README.md), so only a
 * fresh connection sees what a new client sees.
 */
#ifndef IPC_PROBE_H
#define IPC_PROBE_H

#include <stddef.h>

#include "fxb.h"

/*
 * ipc_probe connects to url (ipc:// or tcp:// only), does the SP handshake
 * as a REQ peer, sends req (NUL-terminated) once and waits for its answer,
 * all within timeout_ms.
 * On success reply (cap bytes) holds the answer, NUL-terminated (a longer
 * answer is an error).  Errors: FXB_ERR_UNAVAILABLE (no answer in time:
 * err says at which step), FXB_ERR_IO (refused, reset, not an SP REP
 * socket, another transport), FXB_ERR_LIMIT (answer too long); err
 * (errlen bytes) says what happened.  Blocks up to timeout_ms: call it
 * from a thread of its own, holding no lock.
 */
enum fxb_err ipc_probe(const char *url, const char *req, int timeout_ms,
                       char *reply, size_t cap, char *err, size_t errlen);

#endif /* IPC_PROBE_H */
