/*
 * ipc_trust.h: the trust rules of the admin protocol (docs/PROTOCOL.md,
 * "Signed operator commands"), defined once for the service, which checks
 * them, and for fxbreakerctl, which must produce what the service accepts:
 * what a command's signature covers, an operator's key id, a key in hex
 * (in a field or in a file), an operator's name, a nonce's spelling, the
 * longest a command may live, and the largest request a socket takes.
 * A rule changed on one side only would make every command fail to
 * verify, or let through what the other side refuses.
 *
 * It decides nothing about a command (who may do what, the clock, the
 * nonces already seen): that is the service's.  It holds no key: callers
 * own theirs.
 *
 * Why in ipc/: these rules are the wire's, as PROTOCOL.md states them, and
 * ipc/ is the module both mains already link.  This file uses libsodium
 * and breaker/'s fxb.h, nothing of nng, of the engine, of the ledger or of
 * the mains, so the dependencies stay one way (breaker/ uses nothing; ipc/
 * only fxb.h; ctl/ and daemon/ use both) and any module may call it.  The
 * trip levels a threshold command may change are not here: they are the
 * engine's (breaker_threshold), which alone knows what a level does to a
 * rule's state.
 */
#ifndef IPC_TRUST_H
#define IPC_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "fxb.h"

/* What a command's signature covers: these bytes, then the body exactly
 * as sent.  The domain keeps a command's signature from meaning anything
 * as another message signed with the same key. */
#define IPC_TRUST_DOMAIN "fxbreaker/command/v1\n"

/* The largest request any socket accepts, in bytes: the service drops a
 * larger one with its connection (nng's receive cap), so a tool refuses
 * to send it. */
#define IPC_TRUST_REQUEST_MAX 65536

/* Ed25519 (libsodium's crypto_sign): the sizes, which sodium.h must not
 * be needed to know. */
#define IPC_TRUST_PK_LEN  32
#define IPC_TRUST_SK_LEN  64
#define IPC_TRUST_SIG_LEN 64
/* A signature in standard base64 with padding, and its NUL. */
#define IPC_TRUST_SIG_B64_SIZE 89

/* An operator's key id: 16 lower-case hex digits, and its NUL. */
#define IPC_TRUST_KEY_ID_SIZE 17

/* An operator's name (the person, as keygen writes it into a key file
 * and an enrol command names it): 1 to IPC_TRUST_NAME_MAX of the
 * characters below.  IPC_TRUST_NAME_RULE is how both sides say so in an
 * error. */
#define IPC_TRUST_NAME_MAX  64
#define IPC_TRUST_NAME_RULE "1 to 64 of A-Z a-z 0-9 . _ -"

/* A command's nonce: 32 lower-case hex digits (16 random bytes), and its
 * NUL.  One spelling per nonce: an upper-case twin would be a second
 * command with the same random bits. */
#define IPC_TRUST_NONCE_SIZE 33
#define IPC_TRUST_NONCE_RULE "32 lower-case hex digits"

/* The longest a command may live (expires_at - issued_at): the service
 * refuses a longer one, and remembers nonces for longer than this. */
#define IPC_TRUST_LIFETIME_MAX_MS 600000

/*
 * The signed commands and the args each takes (docs/PROTOCOL.md's table
 * of commands).  The service refuses any other arg -- a misspelt "until"
 * must not make a suspension open-ended -- and fxbreakerctl offers an
 * option only for an arg listed here.  Which role each needs is the
 * service's (daemon/cmd_apply.c).
 */
#define IPC_TRUST_ARGS_MAX 7
struct ipc_trust_command {
	const char *name;
	const char *const args[IPC_TRUST_ARGS_MAX]; /* NULL after the last */
};
/* ipc_trust_commands returns the table (*n commands). */
const struct ipc_trust_command *ipc_trust_commands(size_t *n);
/* ipc_trust_command_find returns the command named name, or NULL. */
const struct ipc_trust_command *ipc_trust_command_find(const char *name);
/* ipc_trust_command_takes: c takes the arg named arg. */
bool ipc_trust_command_takes(const struct ipc_trust_command *c,
                             const char *arg);
/* ipc_trust_arg_is_integer: the arg named arg is a JSON integer (node, until,
 * from, suspension, request); every other arg is a string. */
bool ipc_trust_arg_is_integer(const char *arg);

/*
 * ipc_trust_sign writes into b64 the signature of IPC_TRUST_DOMAIN and
 * then body[0..len) with the Ed25519 secret key sk, in standard base64
 * with padding.  Errors: FXB_ERR_NOMEM (b64 untouched).
 */
enum fxb_err ipc_trust_sign(const char *body, size_t len,
                            const unsigned char sk[IPC_TRUST_SK_LEN],
                            char b64[IPC_TRUST_SIG_B64_SIZE]);

/*
 * ipc_trust_verify: true if sig_b64 is exactly one signature in standard
 * base64 (with padding, nothing around it) and it verifies with pk over
 * IPC_TRUST_DOMAIN and then body[0..len).  false on anything else, out of
 * memory included: a command that cannot be checked is not trusted.
 */
bool ipc_trust_verify(const char *body, size_t len, const char *sig_b64,
                      const unsigned char pk[IPC_TRUST_PK_LEN]);

/*
 * ipc_trust_key_id writes the key id of the public key pk into out: the
 * first 8 bytes of unkeyed BLAKE2b-256 of the key, in lower-case hex.
 * The same id names the log key in checkpoint notes (docs/LEDGER.md).
 */
void ipc_trust_key_id(const unsigned char pk[IPC_TRUST_PK_LEN],
                      char out[IPC_TRUST_KEY_ID_SIZE]);

/* ipc_trust_name_ok: s is 1 to IPC_TRUST_NAME_MAX of A-Z a-z 0-9 . _ -:
 * one word, safe in the operators file, a log row and a terminal. */
bool ipc_trust_name_ok(const char *s);

/* ipc_trust_nonce_ok: s is exactly IPC_TRUST_NONCE_SIZE - 1 of 0-9 a-f. */
bool ipc_trust_nonce_ok(const char *s);

/* ipc_trust_request_fits: a request of len bytes is one the service
 * takes (at most IPC_TRUST_REQUEST_MAX). */
bool ipc_trust_request_fits(size_t len);

/*
 * ipc_trust_hex reads hex[0..len) as exactly n bytes into out: 2n hex
 * digits (either case) and nothing else, no space, no newline.  false if
 * it is anything else; out is then undefined.
 */
bool ipc_trust_hex(unsigned char *out, size_t n, const char *hex, size_t len);

/* What ipc_trust_hex_file_read found. */
enum ipc_trust_hex_file {
	IPC_TRUST_HEX_FILE_OK,
	IPC_TRUST_HEX_FILE_UNREADABLE, /* cannot be opened (errno says why) */
	IPC_TRUST_HEX_FILE_BAD,        /* not n bytes in hex */
};

/*
 * ipc_trust_hex_file_read reads a key file (the log's log.key and
 * log.pub): n bytes (at most 64) in hex, then any newlines and spaces, in
 * its first 255 bytes.  On IPC_TRUST_HEX_FILE_BAD, err says "PATH: not a
 * WHAT in hex" (what: "key", "public key").  On UNREADABLE err is not
 * written: what to do about it is the caller's to say (give another
 * file, or the other half of a pair is there).  out is written only on
 * OK.
 */
enum ipc_trust_hex_file ipc_trust_hex_file_read(const char *path,
                                                const char *what,
                                                unsigned char *out, size_t n,
                                                char *err, size_t errlen);

#endif /* IPC_TRUST_H */
