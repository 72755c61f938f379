/*
 * config_file.h: reading a configuration file from disk, shared by the
 * daemon and fxbreakerctl.  The parsing itself is config_parse (config.h).
 */
#ifndef CONFIG_FILE_H
#define CONFIG_FILE_H

#include <stddef.h>

#include "config.h"

/* Files larger than this are refused: 64 MiB holds about 190,000 products
 * with two rules of their own each (a bank's config is a few KiB). */
#define CONFIG_FILE_MAX (64u << 20)

/*
 * config_file_read reads a whole file of at most `max` bytes into a new
 * NUL-terminated buffer (free with free()).  On failure returns NULL with
 * err naming the file and the reason.
 */
char *config_file_read(const char *path, size_t max, size_t *len, char *err,
                       size_t errlen);

/*
 * config_file_load reads and validates a config file: *svc (if not NULL)
 * gets its [service], *out the engine's config.  On failure returns
 * FXB_ERR_CONFIG (err: "FILE:LINE: ...") or FXB_ERR_IO / FXB_ERR_NOMEM.
 * hash, if not NULL, gets a hex digest of the file's bytes (65 bytes).
 */
enum fxb_err config_file_load(const char *path, struct service_conf *svc,
                              struct breaker_config **out, char *hash,
                              char *err, size_t errlen);

/* config_file_load_over: the same, with threshold changes laid over the
 * file (config_parse). */
enum fxb_err config_file_load_over(const char *path,
                                   const struct config_override *ov,
                                   size_t nov, struct service_conf *svc,
                                   struct breaker_config **out, char *hash,
                                   char *err, size_t errlen);

/* config_file_load_service: the file's [service] alone
 * (config_parse_service): what a tool needs to reach the daemon,
 * whatever the rest of the file says.  Errors as config_file_load. */
enum fxb_err config_file_load_service(const char *path,
                                      struct service_conf *svc, char *err,
                                      size_t errlen);

#endif /* CONFIG_FILE_H */
