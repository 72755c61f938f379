#!/bin/sh
# e2e_failclosed.sh BUILD: docs/ARCHITECTURE.md rule 2 end to end, "fail closed on the
# ledger" (docs/PROTOCOL.md "Fail closed", docs/OPERATIONS.md "When the
# ledger is degraded").
#
# (a) Another process holds the database's write lock.  A trip that cannot
#     be logged is answered with a fail-closed deny that quotes no
#     suspension; the product stays denied; status says degraded with the
#     error; other products keep their allows; no event is published.
#     Once the lock goes, the row commits with the sequence number it was
#     given, the event is published, later denies quote it.  A timed
#     resume that falls while the log fails reopens nothing until its row
#     commits, and the fail-closed denies meanwhile are not counted as
#     volume.
# (b) The disk is full, then the file system is read-only: the daemon's
#     writes to its data directory fail with ENOSPC, then EROFS (a small
#     LD_PRELOAD shim over write/pwrite64, switched by a flag file: no
#     root, no mount, deterministic).  Same checks, with the error named.
. "$(dirname "$0")/lib_e2e.sh"

write_conf() { # write_conf DATA_DIR
	{
		service_conf | sed "s|^data_dir = .*|data_dir = $1|"
		cat <<'EOF2'
[pair USD/KRW]
[product wallet]
pair = USD/KRW
[product other]
pair = USD/KRW
[product quick]
pair = USD/KRW
[rule vol]
product = wallet
kind = volume
window = 60s
trip = 3
suspend_for = 1h
notice = busy
[rule other-vol]
product = other
kind = volume
window = 60s
trip = 1000
suspend_for = 1h
[product late]
pair = USD/KRW
[rule late-vol]
product = late
kind = volume
window = 60s
trip = 2
suspend_for = 1h
[rule quick-vol]
product = quick
kind = volume
window = 60s
trip = 3
suspend_for = 2s
[notice busy]
ko = {product} 일시 중단
en = {product}: suspended {until} ({reason})
EOF2
	} >"$TMP/fx.conf"
}

# start_or_fail NAME: start the daemon; a start that fails is a failure
# (with its exit status) and ends the test with its tally.
start_or_fail() {
	if start_daemon; then
		return 0
	fi
	wait "$PID"
	fail "$1" "the daemon did not start, status $?: \
$(grep -m 1 'runtime error\|AddressSanitizer' "$TMP/daemon.log")"
	PID=
	finish
	exit 1
}
DB="$TMP/data/fxbreaker.db"
db() { sqlite3 "$DB" "$1"; }
st() { "$CTL" status --json; }
ledger_is() { [ "$(st | json .ledger.state)" = "$1" ]; }

# Events: nngcat --ascii prints messages with no separator, so the stream
# is split before each topic (no text in this config contains one).
SUBPID=
sub_start() { # sub_start FILE
	nngcat --sub --dial "ipc://$TMP/run/events.ipc" --subscribe '' \
		--ascii >"$1" 2>&1 &
	SUBPID=$!
	wait_for subs_connected
}
# subs_connected: a connection accepted on the events socket (PUB drops
# what it publishes before a subscriber is connected).
subs_connected() {
	[ "$(grep -c " 03 [0-9]* $TMP/run/events.ipc\$" /proc/net/unix)" -ge 1 ]
}
sub_stop() {
	kill "$SUBPID" 2>/dev/null
	wait "$SUBPID" 2>/dev/null
	SUBPID=
}
events() { # events FILE [TOPIC]: one "TOPIC JSON" a line
	sed 's/}\(product\/\|pair\/\|notice\/\)/}\n\1/g' "$1" |
		grep "^${2:-}"
}
# payloads FILE TOPIC: the JSON of each message on exactly TOPIC
payloads() { events "$1" "$2 " | sed "s|^$2 ||"; }

# Whatever ends the script (a failed step, a closed pipe), nothing it
# started outlives it.
cleanup() {
	for p in $PID $LOCKPID $SUBPID; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

write_conf "$TMP/data"
start_or_fail "(a) start"
sub_start ev_a.txt

# ======================= (a) the database is locked =====================
check "before: check 1 allowed" \
	"$(req '{"op":"check","product":"wallet","amount":"10.00","ref":"a"}')" \
	'{"decision":"allow","ref":"a"}'
check "before: check 2 allowed" \
	"$(req '{"op":"check","product":"wallet","amount":"10.00"}')" \
	'{"decision":"allow"}'
check "before: log holds only service_start" \
	"$(db "select group_concat(seq || ':' || event) from suspension_log")" \
	"1:service_start"

lock_db || { fail "take the lock" "$(cat lk.out)"; finish; exit 1; }
# The third check trips the rule; its row (seq 2) cannot be written, so
# the answer must quote neither suspension 2 nor its notice.
r3=$(req '{"op":"check","product":"wallet","amount":"10.00","ref":"c"}')
check "locked: the tripping check is a fail-closed deny" "$r3" \
	'{"decision":"deny","reason":"ledger_unavailable","ref":"c"}'
r4=$(req '{"op":"check","product":"wallet","amount":"10.00","ref":"d"}')
check "locked: later checks on the product are denied" "$r4" \
	'{"decision":"deny","reason":"ledger_unavailable","ref":"d"}'
check "locked: still denied, no suspension id" \
	"$(req '{"op":"check","product":"wallet","amount":"0.01"}')" \
	'{"decision":"deny","reason":"ledger_unavailable"}'
check "locked: fxbreakerctl check exits 0 and says so" \
	"$("$CTL" check wallet 1.00; echo "rc=$?")" \
	"deny: ledger_unavailable
rc=0"
wait_for ledger_is degraded
s=$(st)
check "locked: status ledger degraded" "$(echo "$s" | json .ledger.state)" \
	degraded
check "locked: status last_error names the lock" \
	"$(echo "$s" | json .ledger.last_error)" "database is locked"
check "locked: committed_seq is still the start row" \
	"$(echo "$s" | json .ledger.committed_seq)" 1
check "locked: the trip row waits in the queue" \
	"$(echo "$s" | json .ledger.queued)" 1
check "locked: the product is suspended in status" \
	"$(echo "$s" | jq -r '.products[] | select(.product=="wallet") | .state')" \
	suspended
echo "note: status while degraded quotes wallet's suspension" \
	"$(echo "$s" | jq -c '.products[] | select(.product=="wallet") | .suspension')" \
	"(committed_seq $(echo "$s" | json .ledger.committed_seq))"
check_has "locked: status table says degraded with the error" \
	"$("$CTL" status | head -n 1)" "; ledger degraded (committed 1, queued 1): database is locked"
check "locked: other products still allowed" \
	"$(req '{"op":"check","product":"other","amount":"5.00","ref":"o"}')" \
	'{"decision":"allow","ref":"o"}'
check "locked: other products still allowed (2)" \
	"$(req '{"op":"check","product":"other","amount":"5.00"}')" \
	'{"decision":"allow"}'
check "locked: ping still answered" "$(req '{"op":"ping"}' | json .ok)" true
check "locked: a tick is still answered" \
	"$(req '{"op":"tick","pair":"USD/KRW","px":"1400"}')" '{"ok":true}'
check "locked: a reader still sees the committed tail" \
	"$(db "select max(seq) from suspension_log")" 1
check "locked: fxbreakerctl log still reads" \
	"$("$CTL" log --format csv | sed 1d | cut -d, -f1,4)" '"1","service_start"'
check "locked: no breaker_state row yet" \
	"$(db "select count(*) from breaker_state")" 0
check "locked: no trip event published" \
	"$(events ev_a.txt | grep -c '"event":"trip"')" 0
wait_for grep -q 'warning: event=ledger_degraded ' "$TMP/daemon.log"
check "locked: degraded logged to stderr once" \
	"$(grep -c 'warning: event=ledger_degraded why="database is locked" queued=1 retrying=true$' "$TMP/daemon.log")" 1

unlock_db
if wait_for ledger_is ok; then ok "unlocked: status returns to ok"; else
	fail "unlocked: status returns to ok" "still $(st | json .ledger)"
fi
s=$(st)
check "unlocked: no last_error" \
	"$(echo "$s" | json '.ledger | has("last_error")')" false
check "unlocked: queue empty, committed_seq 2" \
	"$(echo "$s" | jq -r '"\(.ledger.queued) \(.ledger.committed_seq)"')" "0 2"
check "unlocked: the trip row has seq 2" \
	"$(db "select seq, event, rule, scope, suspension from suspension_log where event='trip'")" \
	"2|trip|vol|wallet|2"
check "unlocked: breaker_state holds suspension 2" \
	"$(db "select suspension, rule from breaker_state")" "2|vol"
check "unlocked: notice stored" \
	"$(db "select notice_id, closed_at is null from notices where suspension=2")" \
	"busy|1"
r=$(req '{"op":"check","product":"wallet","amount":"10.00","ref":"e"}')
check "unlocked: a later deny quotes the seq" \
	"$(echo "$r" | jq -c '[.decision, .reason, .rule, .suspension, .notice.id, .ref]')" \
	'["deny","suspended","vol",2,"busy","e"]'
check "unlocked: status quotes the seq" \
	"$(echo "$s" | jq -r '.products[] | select(.product=="wallet") | "\(.state) \(.rule) \(.suspension)"')" \
	"suspended vol 2"
check "unlocked: other still allowed" \
	"$(req '{"op":"check","product":"other","amount":"5.00"}')" \
	'{"decision":"allow"}'
published() { [ -n "$(payloads ev_a.txt notice/wallet)" ]; }
wait_for published
check "unlocked: the trip event is published with seq 2" \
	"$(payloads ev_a.txt product/wallet | jq -c 'select(.event=="trip") | [.rule, .suspension]')" \
	'["vol",2]'
check "unlocked: its notice is published" \
	"$(payloads ev_a.txt notice/wallet | jq -c '[.suspension, .state, .notice]')" \
	'[2,"open","busy"]'
wait_for grep -q 'info: event=ledger_recovered ' "$TMP/daemon.log"
check "unlocked: recovery logged" \
	"$(grep -c 'info: event=ledger_recovered written=1$' "$TMP/daemon.log")" 1

# --- a timed resume that falls while the log fails reopens nothing ------
req '{"op":"check","product":"quick","amount":"1.00"}' >/dev/null
req '{"op":"check","product":"quick","amount":"1.00"}' >/dev/null
rq=$(req '{"op":"check","product":"quick","amount":"1.00"}')
check "quick: tripped with a committed row" \
	"$(echo "$rq" | jq -c '[.decision, .suspension]')" '["deny",3]'
q_until=$(db "select until from breaker_state where suspension=3")
lock_db || { fail "take the lock" "$(cat lk.out)"; finish; exit 1; }
# The 2 s suspension ends while the lock is held.
past() { [ "$(date +%s%3N)" -gt $(($1 + 50)) ]; }
wait_for past "$q_until"
rq=$(req '{"op":"check","product":"quick","amount":"1.00","ref":"q"}')
check "locked: resume not committed: no reopening" "$rq" \
	'{"decision":"deny","reason":"ledger_unavailable","ref":"q"}'
check "locked: still no reopening" \
	"$(req '{"op":"check","product":"quick","amount":"1.00"}')" \
	'{"decision":"deny","reason":"ledger_unavailable"}'
wait_for ledger_is degraded
check "locked: resume row not in the log" \
	"$(db "select count(*) from suspension_log where event='resume'")" 0
check "locked: breaker_state still holds suspension 3" \
	"$(db "select group_concat(suspension) from breaker_state")" "2,3"
check "locked: no resume event published" \
	"$(events ev_a.txt | grep -c '"event":"resume"')" 0
unlock_db
wait_for ledger_is ok
check "unlocked: resume row committed with seq 4" \
	"$(db "select seq, rule, suspension from suspension_log where event='resume'")" \
	"4|quick-vol|3"
# Only allowed checks count as volume: the two fail-closed denies above
# must not count, so two checks pass before the third trips again.
check "unlocked: quick reopens" \
	"$(req '{"op":"check","product":"quick","amount":"1.00"}')" \
	'{"decision":"allow"}'
check "unlocked: fail-closed denies were not counted as volume" \
	"$(req '{"op":"check","product":"quick","amount":"1.00"}' | json .decision)" \
	allow
check "unlocked: wallet still suspended by 2" \
	"$(req '{"op":"check","product":"wallet","amount":"1.00"}' | json .suspension)" 2
resumed() { events ev_a.txt | grep -q '"event":"resume"'; }
wait_for resumed
sub_stop
check "resume event published once, after its commit, with its seq" \
	"$(payloads ev_a.txt product/quick | jq -c 'select(.event=="resume") | .suspension')" 3
check "(a) log dense" "$(db "select max(seq) = count(*) from suspension_log")" 1

# --- SIGTERM while degraded: the unwritten trip was never acknowledged --
# (No timed suspension may end while the daemon is down here: that is
# e2e_crash.sh's subject.)
quick_open() { [ "$(db "select count(*) from breaker_state where rule='quick-vol'")" = 0 ]; }
wait_for quick_open
check "late: first check allowed" \
	"$(req '{"op":"check","product":"late","amount":"1.00"}')" \
	'{"decision":"allow"}'
lock_db || { fail "take the lock" "$(cat lk.out)"; finish; exit 1; }
check "locked: late trips, fail-closed deny" \
	"$(req '{"op":"check","product":"late","amount":"1.00"}')" \
	'{"decision":"deny","reason":"ledger_unavailable"}'
wait_for ledger_is degraded
last=$(db "select max(seq) from suspension_log")
stop_daemon # the writer retries, then gives up: the lock is still held
check "SIGTERM while degraded: exit 0" "$STOP_RC" 0
check "SIGTERM while degraded: says what was not written" \
	"$(grep -c 'stopping with 2 rows not written (never acknowledged)' "$TMP/daemon.log")" 1
unlock_db
check "SIGTERM while degraded: neither the trip nor service_stop logged" \
	"$(db "select max(seq) from suspension_log")" "$last"
start_or_fail "restart after SIGTERM while degraded"
check "restart: late is open (its trip never committed)" \
	"$(req '{"op":"check","product":"late","amount":"1.00"}')" \
	'{"decision":"allow"}'
check "restart: wallet still suspended by 2" \
	"$(req '{"op":"check","product":"wallet","amount":"1.00"}' | json .suspension)" 2
check "restart: the log goes on densely from the last written row" \
	"$(db "select event from suspension_log where seq = $last + 1"),$(db "select max(seq) = count(*) from suspension_log")" \
	"service_start,1"
stop_daemon
check "(a) SIGTERM: exit 0" "$STOP_RC" 0
check "(a) service_stop logged" \
	"$(db "select event from suspension_log order by seq desc limit 1")" service_stop

# ============== (b) disk full, then a read-only file system ==============
# A shim over write(2)/pwrite64(2): while the file FLAG exists, a write
# to a file under DIR fails with the errno named in FLAG.
cat >shim.c <<'EOF2'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int
injected(int fd)
{
	const char *flag = getenv("FXB_SHIM_FLAG"), *dir = getenv("FXB_SHIM_DIR");
	char link[64], path[4096], how[16] = "";
	ssize_t n;
	FILE *f;
	if (flag == NULL || dir == NULL || (f = fopen(flag, "r")) == NULL)
		return 0;
	if (fgets(how, sizeof(how), f) == NULL)
		how[0] = '\0';
	fclose(f);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[n] = '\0';
	if (strncmp(path, dir, strlen(dir)) != 0)
		return 0;
	return strncmp(how, "EROFS", 5) == 0 ? EROFS : ENOSPC;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	int e = injected(fd);
	if (e != 0) {
		errno = e;
		return -1;
	}
	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	return real(fd, buf, n);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	int e = injected(fd);
	if (e != 0) {
		errno = e;
		return -1;
	}
	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	return real(fd, buf, n, off);
}
EOF2
if ! ${CC:-cc} -shared -fPIC -O1 shim.c -o shim.so -ldl 2>shim.err; then
	fail "(b) shim builds" "$(cat shim.err)"
	finish
	exit 1
fi
# The daemon alone runs with the shim (an ASan build must accept a
# library loaded before its runtime).
cat >fxd-shim <<EOF2
#!/bin/sh
export LD_PRELOAD="$TMP/shim.so" FXB_SHIM_FLAG="$TMP/shim.flag" FXB_SHIM_DIR="$TMP/data2/"
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec "$FXD" "\$@"
EOF2
chmod +x fxd-shim
REAL_FXD=$FXD
FXD="$TMP/fxd-shim"
write_conf "$TMP/data2"
DB="$TMP/data2/fxbreaker.db"
start_or_fail "(b) start with the shim"
FXD=$REAL_FXD
sub_start ev_b.txt

req '{"op":"check","product":"wallet","amount":"10.00"}' >/dev/null
req '{"op":"check","product":"wallet","amount":"10.00"}' >/dev/null
echo ENOSPC >shim.flag
r=$(req '{"op":"check","product":"wallet","amount":"10.00","ref":"f"}')
check "full: the tripping check is a fail-closed deny" "$r" \
	'{"decision":"deny","reason":"ledger_unavailable","ref":"f"}'
check "full: later checks on it denied, no suspension id" \
	"$(req '{"op":"check","product":"wallet","amount":"10.00"}')" \
	'{"decision":"deny","reason":"ledger_unavailable"}'
wait_for ledger_is degraded
s=$(st)
check "full: status degraded" "$(echo "$s" | json .ledger.state)" degraded
check "full: last_error says the disk is full" \
	"$(echo "$s" | json .ledger.last_error)" "database or disk is full"
check "full: other products allowed" \
	"$(req '{"op":"check","product":"other","amount":"1.00"}')" \
	'{"decision":"allow"}'
check "full: nothing written" "$(db "select max(seq) from suspension_log")" 1
wait_for grep -q 'why="database or disk is full"' "$TMP/daemon.log"
check_has "full: stderr says degraded" "$(cat "$TMP/daemon.log")" \
	'warning: event=ledger_degraded why="database or disk is full" queued=1 retrying=true'
# Read-only: another failure while still degraded; still closed.
echo EROFS >shim.flag
ioerr() { [ "$(st | json .ledger.last_error)" = "disk I/O error" ]; }
if wait_for ioerr; then ok "read-only: last_error says disk I/O error"; else
	fail "read-only: last_error says disk I/O error" "$(st | json .ledger)"
fi
check "read-only: still degraded, trip row still queued" \
	"$(st | jq -r '"\(.ledger.state) \(.ledger.queued) \(.ledger.committed_seq)"')" \
	"degraded 1 1"
check "read-only: still denied" \
	"$(req '{"op":"check","product":"wallet","amount":"10.00","ref":"g"}')" \
	'{"decision":"deny","reason":"ledger_unavailable","ref":"g"}'
check "read-only: other products allowed" \
	"$(req '{"op":"check","product":"other","amount":"1.00"}')" \
	'{"decision":"allow"}'
check "read-only: no trip event" \
	"$(events ev_b.txt | grep -c '"event":"trip"')" 0
rm -f shim.flag
if wait_for ledger_is ok; then ok "writable again: status ok"; else
	fail "writable again: status ok" "$(st | json .ledger)"
fi
check "writable again: trip row seq 2" \
	"$(db "select seq, event, rule, suspension from suspension_log where event='trip'")" \
	"2|trip|vol|2"
check "writable again: breaker_state and notice" \
	"$(db "select s.suspension, n.notice_id from breaker_state s join notices n using (suspension)")" \
	"2|busy"
check "writable again: deny quotes seq 2" \
	"$(req '{"op":"check","product":"wallet","amount":"1.00"}' | jq -c '[.reason, .suspension]')" \
	'["suspended",2]'
published_b() { [ -n "$(payloads ev_b.txt notice/wallet)" ]; }
wait_for published_b
sub_stop
check "writable again: trip event published with seq 2" \
	"$(payloads ev_b.txt product/wallet | jq -c 'select(.event=="trip") | .suspension')" 2
check "(b) log dense" "$(db "select max(seq) = count(*) from suspension_log")" 1
stop_daemon
check "(b) SIGTERM: exit 0" "$STOP_RC" 0
check "(b) after the stop: breaker_state keeps suspension 2" \
	"$(db "select suspension from breaker_state")" 2
finish
