/*
 * ledger_impl.h: private to ledger/.
 */
#ifndef LEDGER_IMPL_H
#define LEDGER_IMPL_H

#include <sqlite3.h>

#include "ledger.h"

struct ledger_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Generated from migrations/ by migrations/embed.sh (build/gen/). */
extern const struct ledger_migration ledger_migrations[];
extern const int ledger_nmigrations;

/* The columns a row hash covers (docs/LEDGER.md), in that order. */
struct ledger_chain_row {
	int64_t seq, t;
	const char *event, *rule, *kind, *scope, *scope_type;
	int64_t suspension;
	bool suspension_null; /* hashed as NULL (the daemon stores 0 so) */
	const char *mode, *detail;
	int64_t logged_at;
};

/* ledger_chain.c */
struct ledger_chain_row ledger_chain_row_read(sqlite3_stmt *st);
void ledger_row_hash(const unsigned char log_id[32],
                     const unsigned char prev[32],
                     const struct ledger_chain_row *r, unsigned char out[32]);
void ledger_checkpoint_body(char *buf, size_t cap,
                            const unsigned char log_id[32], int64_t size,
                            const unsigned char head[32], int64_t t);
void ledger_checkpoint_sign(const char *body, const unsigned char sk[64],
                            unsigned char sig[64]);
char *ledger_checkpoint_note(const char *body, const char *key_id,
                             const unsigned char sig[64]);
bool ledger_checkpoint_sig_ok(const char *body, const unsigned char sig[64],
                              const unsigned char (*pks)[32], size_t npks);
bool ledger_checkpoint_parse(const char *body, char lid[65], int64_t *size,
                             char head[65], int64_t *t);
/* ledger_note_read reads a note file: 0, -1 (cannot open), -2 (not a
 * note). */
int ledger_note_read(const char *path, char *body, size_t cap,
                     unsigned char sig[64]);

#endif /* LEDGER_IMPL_H */
