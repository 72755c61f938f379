/*
 * ipc_request.h: one request, one reply, for tools (fxbreakerctl): dial a
 * REQ socket, send, wait at most timeout_ms, close.
 */
#ifndef IPC_REQUEST_H
#define IPC_REQUEST_H

#include <stddef.h>

#include "fxb.h"

/*
 * ipc_request_once sends req to url and returns the reply in a new
 * NUL-terminated buffer (*reply, free with free()).  Errors:
 * FXB_ERR_UNAVAILABLE (no answer in time; err says why), FXB_ERR_IO.
 */
enum fxb_err ipc_request_once(const char *url, const char *req, int timeout_ms,
                              char **reply, char *err, size_t errlen);

/*
 * ipc_request_any is ipc_request_once on urls, a comma-separated list of
 * the nodes of a cluster (at most IPC_REQUEST_URLS_MAX; one URL, no
 * comma, is exactly ipc_request_once), all within the one timeout_ms:
 * each node in turn may take its share of the time left.  A node that
 * cannot be reached or does not answer, or answers 37 not_leader, 38
 * no_quorum or 23 shutdown, sends req on: to the leader a not_leader
 * names, if that URL is in the list and not yet asked, else to the next
 * in the list; each node is asked at most once.  The first other answer
 * is *reply.  When none answers: FXB_ERR_UNAVAILABLE if any node took
 * req and did not answer (it may have acted on it), else the last
 * refusal as *reply (FXB_OK), else FXB_ERR_IO; err holds one line per
 * node that failed ('\n' between them).  A list with an empty item or
 * too many: FXB_ERR_SYNTAX.
 */
#define IPC_REQUEST_URLS_MAX 16
enum fxb_err ipc_request_any(const char *urls, const char *req, int timeout_ms,
                             char **reply, char *err, size_t errlen);

/*
 * ipc_request_tls sets the TLS files of every later request and push to
 * a tls+tcp:// URL (the tool's --tls-ca, --tls-cert, --tls-key): ca the
 * CA that signed the service's certificate (needed for tls+tcp://), cert
 * and key this client's own (both or neither; when the service asks for
 * one).  The strings must outlive the requests; NULL: none.
 */
void ipc_request_tls(const char *ca, const char *cert, const char *key);

/* ipc_push_once sends msg on a PUSH socket to url (the tick socket). */
enum fxb_err ipc_push_once(const char *url, const char *msg, int timeout_ms,
                           char *err, size_t errlen);

#endif /* IPC_REQUEST_H */
