# tests/lib_e2e.sh: shared by the end-to-end tests (sourced, not run).
# Each test starts the real fxbreakerd in its own temporary directory and
# drives it with real clients: fxbreakerctl, nngcat and sqlite3.
#
#   ok NAME / fail NAME WHY  record a result; finish prints the tally
#   start_daemon             starts fxbreakerd on ./fx.conf, waits for it
#   stop_daemon / kill_daemon  SIGTERM (waits for exit 0) / SIGKILL
#   req JSON / admin JSON    one request on the check / admin socket
#   sql SQL                  a query on the ledger
#   operator_key NAME FILE [ROLES]  a key in $TMP/FILE.key; prints its
#                            operators-file line (roles: all three)
#   browser_tally FILE       a browser test's output (tests/*_test.py),
#                            its checks added to ours

BUILD=${1:-build}
ROOT=$(pwd)
FXD="$ROOT/$BUILD/fxbreakerd"
CTL="$ROOT/$BUILD/fxbreakerctl"
passed=0
failed=0

ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}
# check NAME GOT WANT
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got [$2], want [$3]"; fi
}
# check_has NAME HAYSTACK NEEDLE
check_has() {
	case "$2" in
	*"$3"*) ok "$1" ;;
	*) fail "$1" "[$2] lacks [$3]" ;;
	esac
}
browser_tally() {
	grep -v '^[0-9]* passed, [0-9]* failed$' "$1"
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$1")
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$1")
	if [ -z "$p" ]; then
		fail "the browser test printed its tally" "$(tail -n 5 "$1")"
	else
		passed=$((passed + p))
		failed=$((failed + f))
	fi
}
finish() {
	stop_daemon 2>/dev/null
	cd "$ROOT" && rm -rf "$TMP"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

TMP=$(mktemp -d /tmp/fxb-e2e.XXXXXX)
cd "$TMP" || exit 1
export FXBREAKER_CONFIG="$TMP/fx.conf"
PID=

# On every exit, an early one too (`start_daemon || exit 1`, a signal):
# the daemon goes, else it keeps its sockets and ports and the next test,
# or the AddressSanitizer pass that reuses every port, fails on them.
# Also the background helpers some tests keep (prometheus holds a port).
# A test that sets its own EXIT trap replaces this one: its cleanup must
# kill its daemons itself (they all do).
e2e_cleanup() {
	for p in $PID $PROMPID $SUBPID $HPID; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
trap e2e_cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

# The [service] part every test config starts with.
service_conf() {
	cat <<EOS
[service]
data_dir = $TMP/data
check_url = ipc://$TMP/run/check.ipc
tick_url = ipc://$TMP/run/tick.ipc
admin_url = ipc://$TMP/run/admin.ipc
events_url = ipc://$TMP/run/events.ipc
service_id = e2e
EOS
}

# set_faketime OFFSET: the faked daemon's wall clock from its next read
# (libfaketime's syntax: "+0", "-3h", "-10800.6").  The file is replaced
# in one rename: the daemon reads it on every clock read, and a read
# between a truncate and the write would see no offset (a step there and
# back, logged).
set_faketime() {
	printf '%s\n' "$1" >"$TMP/faketime.tmp" && mv -f "$TMP/faketime.tmp" "$TMP/faketime"
}

# faked_daemon: from here $FXD is a wrapper that execs the daemon (same
# pid) under libfaketime, its wall clock offset by what $TMP/faketime
# says ("+0" to start; set_faketime "+3h" and the next clock read
# moves), its monotonic clock real.  ASan (make asan) accepts a preloaded
# library before its runtime only if told.  Fails the test if faketime is not
# installed (make deps installs it).
faked_daemon() {
	FT_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
	if [ -z "$FT_LIB" ]; then
		fail "libfaketime" "not installed (Debian's faketime; make deps)"
		finish
		exit 1
	fi
	REAL_FXD=$FXD
	FXD="$TMP/fxbreakerd-faked"
	set_faketime "+0"
	cat >"$FXD" <<EOF
#!/bin/sh
exec env LD_PRELOAD="$FT_LIB" FAKETIME_TIMESTAMP_FILE="$TMP/faketime" \
	FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 \
	ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$REAL_FXD" "\$@"
EOF
	chmod +x "$FXD"
}

start_daemon() {
	"$FXD" -f "$TMP/fx.conf" 2>>"$TMP/daemon.log" &
	PID=$!
	i=0
	while ! "$CTL" status >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$PID" 2>/dev/null; then
			echo "daemon did not start:"
			cat "$TMP/daemon.log"
			# One that is only slow must not outlive the test.
			kill_daemon
			return 1
		fi
		sleep 0.05
	done
	# The start's own rows (service_start, restored ends, revocations)
	# are queued before the sockets open: wait until they are written,
	# or the ledger says it cannot write, so that a test reading the log
	# right after a start reads them.
	i=0
	while [ $i -lt 100 ]; do
		case $("$CTL" status --json 2>/dev/null |
			jq -r '"\(.ledger.queued) \(.ledger.state)"') in
		"0 "* | *" degraded") break ;;
		esac
		i=$((i + 1))
		sleep 0.05
	done
}

stop_daemon() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	STOP_RC=$?
	PID=
	return $STOP_RC
}

kill_daemon() {
	[ -n "$PID" ] || return 0
	kill -KILL "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

# wait_for CMD...: retries CMD (a test command) for up to 10 s, so that
# a slow machine (CI, AddressSanitizer) does not make a test flaky.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}

req() { nngcat --req --dial "ipc://$TMP/run/check.ipc" --data "$1" --ascii 2>&1; }
admin() { nngcat --req --dial "ipc://$TMP/run/admin.ipc" --data "$1" --ascii 2>&1; }
sql() { sqlite3 "$TMP/data/fxbreaker.db" "$1"; }
# ascii: what nngcat --ascii makes of text: every byte outside printable
# ASCII becomes "." (a Hangul syllable, three bytes, becomes "...").
ascii() { LC_ALL=C sed 's/[^ -~]/./g'; }
# json FIELD: a top-level field of the JSON on stdin (jq).
json() { jq -r "$1"; }

# lock_db: another process (the sqlite3 shell) takes the write lock of $DB
# (else the test's data_dir database) and keeps it until unlock_db.  In
# WAL mode BEGIN EXCLUSIVE holds the write lock; readers (sqlite3,
# fxbreakerctl log) still work.
LOCKPID=
lock_db() {
	rm -f lk.fifo lk.out
	mkfifo lk.fifo
	sqlite3 -bail "${DB:-$TMP/data/fxbreaker.db}" <lk.fifo >lk.out 2>&1 &
	LOCKPID=$!
	exec 7>lk.fifo
	echo "PRAGMA busy_timeout=0; BEGIN EXCLUSIVE; SELECT 'locked';" >&7
	if ! wait_for grep -q '^locked$' lk.out; then
		echo "could not take the lock: $(cat lk.out)"
		return 1
	fi
}
unlock_db() {
	echo "COMMIT;" >&7
	exec 7>&-
	wait "$LOCKPID"
	LOCKPID=
}

# while_degraded NAME CMD...: runs CMD (a signed fxbreakerctl command,
# with --json) while the log cannot be written: another signed command
# makes the daemon fail a commit first, so that CMD meets a degraded log.
# Both run in the background until the lock goes; returns once the log is
# written again.  Leaves CMD's output in NAME.out, the suspend's (its
# answer: unconfirmed) in degrade.out.
ledger_degraded() { [ "$("$CTL" status --json | jq -r .ledger.state)" = degraded ]; }
ledger_ok() { [ "$("$CTL" status --json | jq -r .ledger.state)" = ok ]; }
while_degraded() {
	name=$1
	shift
	lock_db || return 1
	"$CTL" suspend --key "$DEGRADE_KEY" --product "$DEGRADE_PRODUCT" \
		--reason "make the log fail" --timeout 30000 >degrade.out 2>&1 &
	p1=$!
	wait_for ledger_degraded
	"$@" --timeout 30000 >"$name.out" 2>&1 &
	p2=$!
	sleep 0.3
	unlock_db
	wait "$p1" "$p2"
	wait_for ledger_ok
}

operator_key() {
	"$CTL" keygen --name "$1" --out "$TMP/$2.key" --no-passphrase |
		grep -v '^#' |
		sed "s/ suspend,reset,approve / ${3:-suspend,reset,approve} /"
}
