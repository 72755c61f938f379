#!/bin/sh
# e2e_fds.sh BUILD: running out of file descriptors is said, not silent
# (docs/OPERATIONS.md): with the daemon's limit lowered to 40 (prlimit),
# connections held open on its events socket take it to 90 % (a warning
# on stderr, status fds.state "high"), past the limit (still one warning;
# nng accepts the waiting ones once some go), and back under 80 % (said
# too).
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[product x]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
prlimit --pid "$PID" --nofile=40:40
fds() { ls "/proc/$PID/fd" | wc -l; }
# (wait_for re-runs a command: a function re-reads the count each time)
fds_is() { [ "$(fds)" = "$1" ]; }
fd_lines_are() { [ "$(grep -c 'file descriptors' daemon.log)" = "$1" ]; }
# The baseline once start_daemon's own status connections are gone.
stable() { a=$(fds) && sleep 0.3 && [ "$(fds)" = "$a" ]; }
wait_for stable
B=$(fds)
status_fds() { "$CTL" status --json | jq -c .fds; }
check "status: the count (with status's own connection) and the limit" \
	"$(status_fds)" "{\"open\":$((B + 1)),\"limit\":40,\"state\":\"ok\",\"high_episodes\":0}"

# A client holding connections, driven through a fifo.
mkfifo hold.in
python3 "$ROOT/tests/hold_conns.py" "$TMP/run/events.ipc" <hold.in >hold.out &
HPID=$!
exec 8>hold.in
answered() { [ "$(grep -c . hold.out)" -gt "$1" ]; }
hold() { # hold CMD N: waits for its answer
	n=$(grep -c . hold.out)
	echo "$1 $2" >&8
	wait_for answered "$n"
}

# --- 37 of 40: at least 90 %: one warning ---------------------------------
hold open $((37 - B))
wait_for fds_is 37
wait_for grep -q 'file descriptors' daemon.log
check "90 %: the warning" \
	"$(grep 'file descriptors' daemon.log | sed 's/^[^ ]* //')" \
	"fxbreakerd: warning: file descriptors: 37 of 40 in use (90 % or more): new connections will be refused at the limit; raise it (ulimit -n, systemd LimitNOFILE=)"
check "90 %: status" "$(status_fds)" \
	'{"open":38,"limit":40,"state":"high","high_episodes":1}'

# --- 10 more: past the limit; nng cannot accept them yet -----------------
hold open 10
# Every descriptor under the limit in use.  (Not "40 open": one the
# daemon inherited above the limit, such as a test harness's pipe, is
# open too but takes no place under it.)
full() { [ "$(ls "/proc/$PID/fd" | awk '$1 < 40' | wc -l)" = 40 ]; }
wait_for full
sleep 1.5
check "at the limit: the daemon runs on" "$(kill -0 "$PID" && echo yes)" yes
check "at the limit: still one warning" \
	"$(grep -c 'file descriptors' daemon.log)" 1
# The oldest go: the waiting ones are accepted (their headers are in).
hold close $((37 - B))
wait_for fds_is $((B + 10))
wait_for fd_lines_are 2
# (the watch looks once a second: its line says it has seen it)
check "below 80 %: serving again" "$(status_fds)" \
	"{\"open\":$((B + 11)),\"limit\":40,\"state\":\"ok\",\"high_episodes\":1}"
check "below 80 %: said" \
	"$(grep 'file descriptors' daemon.log | tail -n 1 | sed -e 's/^[^ ]* //' -e 's/: [0-9]* of/: N of/')" \
	"fxbreakerd: info: file descriptors: N of 40 in use (below 80 % again)"
hold close 10
wait_for fds_is "$B"
check "all gone: status" "$(status_fds)" \
	"{\"open\":$((B + 1)),\"limit\":40,\"state\":\"ok\",\"high_episodes\":1}"
check "all gone: nothing more said" \
	"$(grep -c 'file descriptors' daemon.log)" 2
exec 8>&-
wait "$HPID"
HPID=

finish
