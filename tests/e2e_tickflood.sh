#!/bin/sh
# e2e_tickflood.sh BUILD: checks keep priority over a tick flood (issue 9
# item 8; ipc/ipc_server.c, tick_main).  While checks are served, the tick
# reader pauses between bursts (status ticks.waits counts the pauses);
# with no checks it never pauses.  Either way no tick is dropped or
# coalesced: every tick the feed sent is applied, to the one.  The feed
# and the checks are bench/tickfeed and bench/loadgen (built by make).
. "$(dirname "$0")/lib_e2e.sh"
{
	service_conf
	# The watchdog's ping is a request on check_url too, and would give
	# the reader a pause every few seconds in the "alone" part.
	echo "watchdog_interval = 0"
	cat <<'EOF2'
[pair USD/KRW]
tick = 0.1
[pair JPY/KRW]
[pair EUR/KRW]
[product w]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
TICK="ipc://$TMP/run/tick.ipc"
echo '{"op":"check","product":"w","amount":"1.00"}' >req.jsonl
ticks() { "$CTL" status --json | jq -r ".ticks.$1"; }
val() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# drained N: the daemon applied N ticks in all (the feed's queue empty).
drained() { [ "$(ticks applied)" -ge "$1" ]; }

# A flood beside checks.
"$ROOT/$BUILD/bench/loadgen" -k 16 -w 0 -d 4 -f req.jsonl \
	"ipc://$TMP/run/check.ipc" >lg.out 2>&1 &
lg=$!
sleep 0.5
feed=$("$ROOT/$BUILD/bench/tickfeed" -r 0 -d 2 -e "$(date +%s%3N)" "$TICK")
wait $lg
sent=$(val sent "$feed")
wait_for drained "$sent"
check "beside checks: every tick sent is applied" "$(ticks applied)" "$sent"
check "beside checks: none refused" "$(ticks refused)" 0
waits=$(ticks waits)
if [ "$waits" -gt 0 ]; then
	ok "beside checks: the tick reader paused ($waits times, $sent ticks)"
else
	fail "beside checks: the tick reader paused" "waits $waits"
fi
lgo=$(cat lg.out)
check "the checks beside the flood: no error, no timeout" \
	"$(val errors "$lgo") $(val timeouts "$lgo")" "0 0"
[ "$(val rps "$lgo")" -gt 0 ] && ok "checks answered beside the flood" ||
	fail "checks answered beside the flood" "$lgo"

# A flood alone: no check in the last 10 ms, so no pause.
sleep 0.2
feed=$("$ROOT/$BUILD/bench/tickfeed" -r 0 -d 1 -e "$(date +%s%3N)" "$TICK")
sent2=$(val sent "$feed")
wait_for drained $((sent + sent2))
check "alone: every tick sent is applied" "$(ticks applied)" \
	$((sent + sent2))
check "alone: the reader never paused" "$(ticks waits)" "$waits"
stop_daemon
check "clean stop: exit 0" "$STOP_RC" 0
finish
