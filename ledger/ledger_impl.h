/*
 * ledger_impl.h: private to ledger/.
 */
#ifndef LEDGER_IMPL_H
#define LEDGER_IMPL_H

#include "ledger.h"

struct ledger_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Generated from migrations/ by migrations/embed.sh (build/gen/). */
extern const struct ledger_migration ledger_migrations[];
extern const int ledger_nmigrations;

#endif /* LEDGER_IMPL_H */
