/*
 * ipc_reply_impl.h: what the reply builders share (ipc_reply.h is their
 * API), a section per file:
 *
 *   ipc_reply.c         a check's answers, errors, ok, ping, a batch; the
 *                       helpers every builder uses
 *   ipc_reply_cmd.c     the answers to signed commands
 *   ipc_reply_status.c  the admin status; the objects the board shows too
 *   ipc_reply_board.c   the live board's document and /products
 *
 * A file calls only files listed before its own: each calls ipc_reply.c's
 * helpers, and ipc_reply_board.c calls ipc_reply_status.c's objects, so
 * that a pair, a calendar, a plan and a cluster node read the same in
 * status and on the board.
 */
#ifndef IPC_REPLY_IMPL_H
#define IPC_REPLY_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ipc_reply.h"

/* Every reply: compact, keys in the order they were set. */
#define IPC_REPLY_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* ipc_reply.c */
char *ipc_reply_dump(json_t *o);
void ipc_reply_set_ref(json_t *o, const char *ref);
json_t *ipc_reply_int_or_null(int64_t v, bool shown);

/* ipc_reply_status.c: objects status and the board both show, each new. */
json_t *ipc_reply_pair_json(const struct ipc_status_pair *p);
json_t *ipc_reply_calendar_json(const struct ipc_status_calendar *c);
json_t *ipc_reply_plan_json(const struct ipc_status_plan *p);
json_t *ipc_reply_cluster_json(const struct ipc_status_cluster *c);

#endif /* IPC_REPLY_IMPL_H */
