#!/bin/sh
# e2e_crash.sh BUILD: SIGKILL in the middle of a burst, several rounds.
# Concurrent clients send checks that trip and reopen short volume
# breakers and record every reply; a subscriber records every event; the
# daemon is killed with SIGKILL mid-burst and restarted.  After each
# restart (docs/ARCHITECTURE.md, rules 1 and 4):
#   - every suspension id any client was told is a trip row of the log;
#   - every reopening a client saw (a deny quoting S, later an allow on the
#     same product) has its end row for S in the log;
#   - every event published is, byte for byte, the detail of a log row;
#   - seq is dense (max(seq) = count(*)), one service_start per start;
#   - a long suspension keeps its id across every crash;
#   - `fxbreakerctl verify` calls an export of the log ok.
# CRASH_ROUNDS (default 5) sets the rounds: `make soak` runs this same
# file for its 100 rounds (tests/soak.sh).  The last line before the
# tally sums them up for it: "crash summary: rounds=R acked=N lost=N
# verify_failed=N".
. "$(dirname "$0")/lib_e2e.sh"

ROUNDS=${CRASH_ROUNDS:-5}
CLIENTS=4
{
	service_conf
	echo "[pair USD/KRW]"
	for p in p1 p2 p3 p4; do
		cat <<EOF2
[product $p]
pair = USD/KRW
[rule vol-$p]
product = $p
kind = volume
window = 1s
warn = 2
trip = 3
suspend_for = 100ms
EOF2
	done
	cat <<'EOF2'
[product long]
pair = USD/KRW
[rule vol-long]
product = long
kind = volume
window = 1h
trip = 6
suspend_for = 1h
EOF2
} >"$TMP/fx.conf"

# client ROUND ID: checks in a loop until ./stop exists, one reply a line.
client() {
	n=0
	while [ ! -f stop ]; do
		n=$((n + 1))
		case $(((n + $2) % 5)) in
		0) p=long ;;
		*) p=p$(((n + $2) % 5)) ;;
		esac
		r=$(timeout 5 nngcat --req --dial "ipc://$TMP/run/check.ipc" \
			--ascii --recv-timeout 1 --send-timeout 1 \
			--data "{\"op\":\"check\",\"product\":\"$p\",\"amount\":\"1.00\",\"ref\":\"$p\"}" \
			2>/dev/null)
		[ -n "$r" ] && echo "$r" >>"reply.$1.$2"
	done
}
# subs_connected: a connection accepted on the events socket.
subs_connected() {
	[ "$(grep -c " 03 [0-9]* $TMP/run/events.ipc\$" /proc/net/unix)" -ge 1 ]
}
replies() { cat "reply.$1".* 2>/dev/null; }
enough() { # enough ROUND: a burst under way, with trips acknowledged
	[ "$(replies "$1" | wc -l)" -ge 400 ] &&
		replies "$1" | grep -q '"suspension"'
}

# restart ROUND: start the daemon again; a start that dies is a failure
# (with its exit status), and ends the test.
restart() {
	if start_daemon; then
		ok "round $1: restart after SIGKILL"
		return 0
	fi
	wait "$PID"
	fail "round $1: restart after SIGKILL" "the daemon died, status $?: \
$(grep -m 1 'runtime error\|AddressSanitizer' "$TMP/daemon.log")"
	PID=
	finish
	exit 1
}

# Whatever ends the script (a failed step, a closed pipe), nothing it
# started outlives it.
subpid=
pids=
cleanup() {
	touch "$TMP/stop" 2>/dev/null
	for p in $PID $subpid $pids; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

long_susp=
acked_total=0
lost_total=0
verify_failed=0
if ! start_daemon; then
	fail "start" "the daemon did not start"
	finish
	exit 1
fi
round=1
while [ $round -le $ROUNDS ]; do
	rm -f stop
	nngcat --sub --dial "ipc://$TMP/run/events.ipc" --subscribe '' \
		--ascii >"events.$round" 2>/dev/null &
	subpid=$!
	wait_for subs_connected
	pids=
	c=1
	while [ $c -le $CLIENTS ]; do
		client $round $c &
		pids="$pids $!"
		c=$((c + 1))
	done
	if ! wait_for enough $round; then
		fail "round $round: burst" "only $(replies $round | wc -l) replies"
	fi
	kill_daemon # SIGKILL, mid-burst: the clients are still sending
	touch stop
	for p in $pids; do wait "$p"; done
	kill "$subpid" 2>/dev/null
	wait "$subpid" 2>/dev/null
	restart $round

	# Every reply is JSON with a decision (an error or a cut reply
	# would be a failure of the daemon, not of the crash).
	check "round $round: every reply well formed" \
		"$(replies $round | jq -r '.decision // "BAD"' | grep -cv '^allow$\|^deny$')" 0
	replies $round | jq -r 'select(.suspension) | .suspension' |
		sort -u >acked.$round
	sql "select seq from suspension_log where event='trip'" |
		sort -u >trips.$round
	check "round $round: acknowledged suspension ids are all trip rows" \
		"$(comm -23 acked.$round trips.$round | tr '\n' ' ')" ""
	acked_total=$((acked_total + $(wc -l <acked.$round)))
	lost_total=$((lost_total + $(comm -23 acked.$round trips.$round | wc -l)))
	# The whole log, as compliance would check it: an export verified
	# against the daemon's public key.
	rm -f snap.db snap.db.checkpoint
	"$CTL" export snap.db >/dev/null 2>&1
	"$CTL" verify --pubkey "$TMP/data/log.pub" snap.db >verify.out 2>&1
	vrc=$?
	check "round $round: verify of an export: ok (0)" "$vrc" 0
	[ "$vrc" -eq 0 ] || verify_failed=$((verify_failed + 1))
	# Each client is sequential: deny(S) then allow on the same product
	# means S's reopening was acknowledged, so its row must be there.
	for f in "reply.$round".*; do
		jq -r '"\(.ref) \(.decision) \(.suspension // 0)"' "$f" |
			awk '$2 == "deny" && $3 > 0 { last[$1] = $3 }
			     $2 == "allow" && last[$1] > 0 { print last[$1]; last[$1] = 0 }'
	done | sort -u >reopened.$round
	sql "select suspension from suspension_log where event in ('resume','reset','retired')" |
		sort -u >ends.$round
	check "round $round: acknowledged reopenings all have their end row" \
		"$(comm -23 reopened.$round ends.$round | tr '\n' ' ')" ""
	sed 's/}\(product\/\|pair\/\|notice\/\)/}\n\1/g' "events.$round" |
		grep '^product/' | sed 's/^[^ ]* //' | sort -u >published.$round
	sql "select detail from suspension_log" | ascii | sort -u >details.$round
	check "round $round: every published event is a log row" \
		"$(comm -23 published.$round details.$round | head -n 3)" ""
	check "round $round: seq dense" \
		"$(sql "select max(seq) = count(*) and min(seq) = 1 from suspension_log")" 1
	check "round $round: one service_start per start" \
		"$(sql "select count(*) from suspension_log where event='service_start'")" \
		$((round + 1))
	check "round $round: open suspensions have no end row" \
		"$(sql "select count(*) from breaker_state b join suspension_log l on l.suspension = b.suspension and l.event in ('resume','reset','retired')")" 0
	# The round's figures, for the record (not assertions).
	echo "round $round: $(replies $round | wc -l) replies," \
		"$(wc -l <acked.$round) suspension ids acknowledged," \
		"$(wc -l <reopened.$round) reopenings seen," \
		"$(wc -l <published.$round) events, log at seq $(sql "select max(seq) from suspension_log")"
	if [ "$(wc -l <acked.$round)" -gt 0 ]; then
		ok "round $round: the burst tripped breakers before the kill"
	else
		fail "round $round: the burst tripped breakers before the kill" "no id"
	fi

	# The long suspension: tripped in some round, never lost after.
	ls=$(sql "select seq from suspension_log where event='trip' and rule='vol-long'")
	if [ -n "$long_susp" ]; then
		check "round $round: the long suspension survives with its id" \
			"$ls" "$long_susp"
	fi
	if [ -n "$ls" ]; then
		long_susp=$ls
		check "round $round: long still denied by suspension $ls" \
			"$(req '{"op":"check","product":"long","amount":"1.00"}' | jq -c '[.decision, .suspension]')" \
			"[\"deny\",$ls]"
	fi
	round=$((round + 1))
done
check "the long rule tripped once in all" \
	"$(sql "select count(*) from suspension_log where event='trip' and rule='vol-long'")" 1
checks() { grep -c 'quick_check ok (the last run did not stop cleanly)' "$TMP/daemon.log"; }
# (the last start's line is written by the log's thread: it may lag)
checks_are() { [ "$(checks)" = "$1" ]; }
wait_for checks_are "$ROUNDS"
check "each start after a kill ran quick_check" "$(checks)" "$ROUNDS"
echo "crash summary: rounds=$ROUNDS acked=$acked_total lost=$lost_total" \
	"verify_failed=$verify_failed"
stop_daemon
check "clean stop after the crashes: exit 0" "$STOP_RC" 0
start_daemon || exit 1
check "a start after a clean stop skips it" "$(checks)" "$ROUNDS"
stop_daemon
finish
