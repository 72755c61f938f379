#!/bin/sh
# migrations/embed.sh OUT FILE...: writes OUT, a C file holding each
# migration (NNNN_name.sql) as a string, in order, so that the binaries
# carry their schema.  Run by the Makefile; the output is not committed.
set -eu
out=$1
shift
{
	echo '/* Generated from the migrations/ directory by migrations/embed.sh. */'
	echo '#include "ledger_impl.h"'
	echo ''
	echo 'const struct ledger_migration ledger_migrations[] = {'
	for f in "$@"; do
		name=$(basename "$f")
		v=$(echo "$name" | sed 's/_.*//; s/^0*//')
		printf '    {%s, "%s",\n' "$v" "$name"
		sed 's/\\/\\\\/g; s/"/\\"/g; s/^/     "/; s/$/\\n"/' "$f"
		printf '    },\n'
	done
	echo '};'
	echo ''
	echo "const int ledger_nmigrations = $#;"
} >"$out.tmp"
mv "$out.tmp" "$out"
