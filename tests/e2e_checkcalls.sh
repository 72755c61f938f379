#!/bin/sh
# e2e_checkcalls.sh BUILD: `make check`'s call-graph rule can fail
# (tests/check_calls.py, docs/ARCHITECTURE.md): two objects that call each
# other are a cycle, named; one-way calls, and a call back up through a
# function pointer, are not; and the daemon's own objects pass.
. "$(dirname "$0")/lib_e2e.sh"

cat >low.c <<'EOF2'
void low(void);
void high(void);
void low(void) { high(); }
EOF2
cat >high.c <<'EOF2'
void low(void);
void high(void);
void high(void) { low(); }
EOF2
cat >pointer.c <<'EOF2'
void low(void);
void (*up)(void);
void low(void) { if (up) up(); }
EOF2
cc -c low.c high.c && cc -c pointer.c -o pointer.o
out=$(python3 "$ROOT/tests/check_calls.py" low.o high.o)
check "a cycle fails" "$?" 1
check "and is named" "$out" \
	"check: daemon files call each other in a cycle: high -> low -> high"
python3 "$ROOT/tests/check_calls.py" pointer.o high.o >/dev/null
check "a call up through a pointer is no cycle" "$?" 0
# The objects of today's sources (a stale object of a removed file is
# not the daemon).
objs=$(for c in "$ROOT"/daemon/*.c; do
	n=$(basename "$c" .c)
	echo "$ROOT/$BUILD/daemon/$n.o"
done)
python3 "$ROOT/tests/check_calls.py" $objs
check "the daemon's files call one way" "$?" 0
finish
