#!/bin/sh
# e2e_clock.sh BUILD: wall clock steps (issue 9; docs/OPERATIONS.md, "The
# clock").  The daemon alone runs under Debian's libfaketime, its wall
# clock moved while it runs by rewriting a timestamp file (monotonic time
# left alone); the clients keep the real clock.
#   - back 3 h: one clock_step row (direction, size), status and stderr
#     say so, and the stale rule still trips max_age after a tick, exactly;
#   - signed commands on the operator's stepped clock: a suspend, an
#     emergency suspend outside every window, a lift and its approval;
#   - forward 5 h during a 6 s suspension: still denied, and it ends 6 s
#     after its trip in engine time and in real time;
# Real-time bounds are tight below (nothing ends early) and loose above
# (a loaded machine may be slow to look); engine times are exact.
#   - a restart with the wall clock 3 h behind the log: a clock_behind
#     row, and no row earlier than the log's latest;
#   - moves under the tolerance add up until they pass it.
. "$(dirname "$0")/lib_e2e.sh"

faked_daemon
H3=10800000
now_ms() { date +%s%3N; }
# within NAME GOT WANT SLACK: |GOT - WANT| <= SLACK
within() {
	if [ -n "$2" ] && [ $(($2 - $3)) -le "$4" ] && [ $(($3 - $2)) -le "$4" ]; then
		ok "$1"
	else
		fail "$1" "got [$2], want $3 +-$4"
	fi
}

{
	operator_key alice alice
	operator_key bob bob
} >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[pair EUR/KRW]
[product usd]
pair = USD/KRW
[product eur]
pair = EUR/KRW
[product vol]
pair = EUR/KRW
[rule feed]
pair = USD/KRW
kind = stale
max_age = 2s
[rule v]
product = vol
kind = volume
window = 60s
trip = 2
suspend_for = 6s
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
rows() { sql "select count(*) from suspension_log where event='$1'"; }
row() { sql "select $2 from suspension_log where event='$1' order by seq desc limit 1"; }
cmd() { "$CTL" "$@" --json 2>/dev/null | jq -r '"\(.result) \(.error.name // "")"'; }
last_cmd() { sql "select detail from suspension_log where event='command' order by seq desc limit 1"; }
in_order() {
	sql "select count(*) from suspension_log a join suspension_log b on b.seq = a.seq + 1 where b.t < a.t"
}
check "the status table: no clock line" "$("$CTL" status | grep -c '^clock:')" 0
check "status: the default tolerance, no step" \
	"$("$CTL" status --json | jq -c '[.clock.tolerance_ms, .clock.steps, .clock.last_step]')" \
	"[1000,0,null]"
check "the first tick" "$(req '{"op":"tick","pair":"USD/KRW","px":"1400"}')" '{"ok":true}'

# --- the wall clock steps back 3 h --------------------------------------
set_faketime "-3h"
has_rows() { [ "$(rows "$1")" = "$2" ]; }
wait_for has_rows clock_step 1
check "one clock_step row" "$(rows clock_step)" 1
check "its direction" "$(row clock_step "json_extract(detail, '$.direction')")" back
# The step is exact (libfaketime's offset); what is measured is how close
# the anchor's millisecond and the reads are: 50 ms.
within "its size: 3 h" "$(row clock_step "json_extract(detail, '$.size_ms')")" $H3 50
check "from - to = size" \
	"$(row clock_step "json_extract(detail, '$.from') - json_extract(detail, '$.to') = json_extract(detail, '$.size_ms')")" 1
within "from: the real time (the clients' clock)" \
	"$(row clock_step "json_extract(detail, '$.from')")" "$(now_ms)" 3000
check "the row keeps the engine's time, not the wall's" \
	"$(row clock_step "t - json_extract(detail, '$.engine') between -1000 and 0")" 1
check "status: one step, back" \
	"$("$CTL" status --json | jq -r '"\(.clock.steps) \(.clock.last_step.direction)"')" "1 back"
within "status: the wall clock's offset" "$("$CTL" status --json | jq .clock.offset_ms)" -$H3 100
within "status: now is the real time" "$("$CTL" status --json | jq .now)" "$(now_ms)" 1000
# Two millisecond truncations: 3h0m0.000s, or a millisecond short.
check "stderr says so" \
	"$(wait_for grep -q ' event=clock_step ' daemon.log; grep -Ec 'warning: event=clock_step seq=[0-9]+ t=[^ ]+ kind=service from=[0-9]+ to=[0-9]+ size_ms=(10800000|1079999[0-9]) direction=back ' daemon.log)" 1
line=$("$CTL" status | grep '^clock:')
within "the status table says so" \
	"$(echo "$line" | sed -n 's/^clock: the wall clock is \(-[0-9]*\) ms from the service.s clock; 1 step, the last back by [0-9]* ms$/\1/p')" -$H3 100
sleep 1.2
check "once per step" "$(rows clock_step)" 1

# The stale rule trips on the engine's clock: exactly max_age after a tick.
wait_for has_rows stale 1
check "stale tripped after the step" "$(rows stale)" 1
t0=$(now_ms)
check "a tick" "$(req '{"op":"tick","pair":"USD/KRW","px":"1401"}')" '{"ok":true}'
wait_for has_rows fresh 1
check "fresh" "$(rows fresh)" 1
wait_for has_rows stale 2
t1=$(now_ms)
check "stale again, 2 s after the fresh row (engine ms)" \
	"$(sql "select (select t from suspension_log where event='stale' order by seq desc limit 1) - (select t from suspension_log where event='fresh')")" 2000
real=$((t1 - t0))
if [ "$real" -ge 1900 ] && [ "$real" -le 6000 ]; then
	ok "and about 2 s later in real time ($real ms)"
else
	fail "and about 2 s later in real time" "$real ms"
fi

# --- signed commands on the operator's stepped clock --------------------
wall=$(($(now_ms) - H3)) # what this machine's clock now says
check "a suspend signed on the stepped clock is applied" \
	"$(cmd suspend --key alice.key --product eur --reason pause --issued-at "$wall")" "applied "
check "judged on the wall clock, skew in its row" \
	"$(last_cmd | jq -r --argjson h $H3 '"\(.window) \(.skew_ms < -$h + 5000 and .skew_ms > -$h - 5000)"')" \
	"wall true"
susp=$(sql "select suspension from breaker_state where scope='eur'")
env5=$("$CTL" suspend --key alice.key --product usd --reason emergency \
	--issued-at $(($(now_ms) - 5 * 3600000)) --sign-only)
check "an emergency suspend 5 h off both clocks is applied" \
	"$(nngcat --req --dial "ipc://$TMP/run/admin.ipc" --data "$env5" --ascii | jq -r .result)" applied
check "its row: outside" "$(last_cmd | jq -r .window)" outside
check "a lift 5 h off both clocks is refused" \
	"$(cmd lift --key alice.key --product eur --suspension "$susp" --reason r --issued-at $(($(now_ms) - 5 * 3600000)))" \
	"rejected expired"
check "a lift on the stepped clock is taken" \
	"$(cmd lift --key alice.key --product eur --suspension "$susp" --reason r --issued-at "$(($(now_ms) - H3))")" \
	"pending "
rq=$(sql "select max(seq) from suspension_log where event='command'")
check "its approval on the stepped clock reopens (the request's expiry read on the wall clock)" \
	"$(cmd approve --key bob.key --request "$rq" --suspension "$susp" --reason ok --issued-at "$(($(now_ms) - H3))")" \
	"applied "
check "eur reopened" "$(req '{"op":"check","product":"eur","amount":"1.00"}' | jq -r .decision)" allow

# --- forward 5 h (to +2 h) during a 6 s suspension -----------------------
# tt before the check that trips: real time from it is never short.
req '{"op":"check","product":"vol","amount":"1.00"}' >/dev/null
tt=$(now_ms)
req '{"op":"check","product":"vol","amount":"1.00"}' >/dev/null
wait_for has_rows trip 1
check "vol tripped" "$(rows trip)" 1
set_faketime "+2h"
d=$(req '{"op":"check","product":"vol","amount":"1.00"}')
check "right after the step: still denied" "$(echo "$d" | jq -r .decision)" deny
check "  retry after at most 6 s (the engine's clock did not jump)" \
	"$(echo "$d" | jq '.retry_after_ms > 0 and .retry_after_ms <= 6000')" true
# The timer compares the clocks once a second: the row follows.
wait_for has_rows clock_step 2
check "the step is logged (within the timer's second)" "$(rows clock_step)" 2
check "forward" "$(row clock_step "json_extract(detail, '$.direction')")" forward
within "by 5 h" "$(row clock_step "json_extract(detail, '$.size_ms')")" 18000000 50
sleep 1
check "a second on: still denied, no resume" \
	"$(req '{"op":"check","product":"vol","amount":"1.00"}' | jq -r .decision) $(rows resume)" "deny 0"
wait_for has_rows resume 1
tr=$(now_ms)
check "it ends 6 s after its trip (engine ms)" \
	"$(sql "select (select t from suspension_log where event='resume') - (select t from suspension_log where event='trip')")" 6000
real=$((tr - tt))
if [ "$real" -ge 5900 ] && [ "$real" -le 9000 ]; then
	ok "and 6 s later in real time ($real ms)"
else
	fail "and 6 s later in real time" "$real ms"
fi
check "no row back in time" "$(in_order)" 0

# --- a restart with the wall clock 3 h behind the log -------------------
stop_daemon
check "a clean stop (exit 0)" "$?" 0
last=$(sql "select max(t) from suspension_log")
n=$(sql "select max(seq) from suspension_log")
set_faketime "-3h"
start_daemon || exit 1
check "a clock_behind row" "$(rows clock_behind)" 1
check "it starts the clock at the log's latest row" \
	"$(row clock_behind "json_extract(detail, '$.ledger_last') || ' ' || json_extract(detail, '$.engine') || ' ' || t")" \
	"$last $last $last"
within "the wall clock it read" "$(row clock_behind "json_extract(detail, '$.wall')")" \
	$(($(now_ms) - H3)) 3000
check "no row earlier than the log's latest" \
	"$(sql "select count(*) from suspension_log where seq > $n and t < $last")" 0
check "and rows after it: service_start and on" \
	"$(sql "select count(*) >= 2 from suspension_log where seq > $n")" 1
within "status: started behind by 3 h" \
	"$("$CTL" status --json | jq .clock.started_behind_ms)" $H3 3000
check "stderr says so" \
	"$(wait_for grep -q ' event=clock_behind ' daemon.log; grep -Ec 'warning: event=clock_behind seq=[0-9]+ t=[^ ]+ kind=service wall=[0-9]+ ledger_last=[0-9]+ behind_ms=107[0-9]{5} ' daemon.log)" 1
n=$(rows force_suspend)
check "the emergency suspend replayed after the restart: its stored answer" \
	"$(nngcat --req --dial "ipc://$TMP/run/admin.ipc" --data "$env5" --ascii | jq -r .result) $(rows force_suspend)" \
	"applied $n"

# --- moves under the tolerance add up -----------------------------------
set_faketime "-10800.6"
sleep 1.3
check "0.6 s back, under the 1 s tolerance: no row" "$(rows clock_step)" 2
set_faketime "-10801.3"
wait_for has_rows clock_step 3
check "0.7 s more: a step, counted from the last one reported" "$(rows clock_step)" 3
within "  of 1.3 s" "$(row clock_step "json_extract(detail, '$.size_ms')")" 1300 50
check "  back" "$(row clock_step "json_extract(detail, '$.direction')")" back
req '{"op":"check","product":"eur","amount":"1.00"}' >/dev/null
check "no row back in time, all along" "$(in_order)" 0
finish
