/*
 * ipc_tls.h: a tls+tcp:// dialer's TLS files, for the two clients that
 * dial one: the client library (fxb_client_open_tls) and fxbreakerctl
 * (ipc_request.c).  One reading of the files and one order of nng's TLS
 * calls; each caller words its own errors (the library returns a code,
 * the tool names its option).  Also inside libfxbclient.so, hidden: not
 * part of its API.
 */
#ifndef IPC_TLS_H
#define IPC_TLS_H

#include <nng/nng.h>

/* Which file a failure is about. */
enum ipc_tls_file { IPC_TLS_NONE, IPC_TLS_CA, IPC_TLS_CERT, IPC_TLS_KEY };

/*
 * ipc_tls_dialer sets dialer d's own TLS config (nng made it for the URL:
 * client mode, the server verified, the URL's host the name its
 * certificate must carry): the CA file (required), server_name if not
 * NULL, and this client's certificate and key files (both or neither).
 * Call it before the dialer starts.  Returns 0 or an nng error:
 * NNG_EINVAL for a missing CA or half a key pair (*bad IPC_TLS_NONE), or
 * a file that is not PEM; NNG_ESYSERR | errno when one cannot be read;
 * nng's own for a PEM that is not a certificate or key; NNG_ENOTSUP if
 * d is not a tls+tcp:// dialer.  *bad names the file at fault.
 */
__attribute__((visibility("hidden"))) int
ipc_tls_dialer(nng_dialer d, const char *ca_file, const char *cert_file,
               const char *key_file, const char *server_name,
               enum ipc_tls_file *bad);

#endif /* IPC_TLS_H */
