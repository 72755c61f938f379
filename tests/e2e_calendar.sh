#!/bin/sh
# e2e_calendar.sh BUILD: calendars in the running daemon (RULES.md 9,
# issue 13).  The daemon runs under libfaketime, its wall clock set a few
# seconds before Friday 2026-12-04 15:30 KST, the KRX calendar's day ->
# night boundary; its service clock starts at that wall time and runs on
# the real CLOCK_MONOTONIC (docs/OPERATIONS.md, "The clock"), so that the
# boundary comes by the daemon's own timer.  Asserted: the `session` row,
# stamped with the boundary's exact ms and published on calendar/krx;
# status's session and next change, exact; the night level in force from
# the boundary (a window already above it trips at its next check); then
# a start on Saturday morning: no row for the boundary crossed while down,
# the product `closed` until Monday 09:00 KST, with retry_after_ms to it.
. "$(dirname "$0")/lib_e2e.sh"
faked_daemon

# Epoch seconds of the instants, UTC.
B=$(date -u -d 2026-12-04T06:30:00Z +%s)    # Fri 15:30 KST: day -> night
NIGHT_END=$(date -u -d 2026-12-04T17:00:00Z +%s) # Sat 02:00 KST: -> off
SAT=$(date -u -d 2026-12-05T01:00:00Z +%s)  # Sat 10:00 KST
MON=$(date -u -d 2026-12-07T00:00:00Z +%s)  # Mon 09:00 KST: off -> day

# set_wall EPOCH_S: the daemon's next start reads its wall clock as
# EPOCH_S from now on (an offset from the real clock: it keeps running).
set_wall() {
	set_faketime "$(awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { printf "%+.3f", t - n }')"
}
# get PATH: the daemon's HTTP side (python3's urllib: no curl).
get() {
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:19900" + sys.argv[1]).read().decode())' "$1"
}
metric() { get /metrics | grep -F "$1 " | sed 's/.* //'; }

{
	service_conf
	cat <<'EOF2'
http_url = http://127.0.0.1:19900
[pair USD/KRW]
[calendar krx]
utc_offset = +09:00
session.day = mon-fri 09:00-15:30
session.night = mon-fri 15:30-02:00
[product w]
pair = USD/KRW
hours = krx:day,night
[rule w-volume]
product = w
kind = volume
measure = count
window = 600s
warn = 4
trip = 5
calendar = krx
trip@night = 2
warn@night = 1
suspend_for = 0
EOF2
} >"$TMP/fx.conf"
"$CTL" validate "$TMP/fx.conf" >/dev/null 2>&1
check "the config validates" "$?" 0

# --- Friday, 8 s before the close of the day session ------------------------
set_wall "$((B - 8))"
start_daemon || exit 1
nngcat --sub --dial "ipc://$TMP/run/events.ipc" --subscribe "calendar/" \
	--ascii >"$TMP/sub.out" 2>&1 &
SUBPID=$!
st=$("$CTL" status --json)
# PUB drops what it publishes before a subscriber is connected: wait for
# the connection (after the status read, which times the start).
subs_connected() {
	[ "$(grep -c " 03 [0-9]* $TMP/run/events.ipc\$" /proc/net/unix)" -ge 1 ]
}
wait_for subs_connected
now=$(echo "$st" | json .now)
# The wall clock was set 8 s before b; the start took under 7 s.
if [ "$now" -ge $(((B - 8) * 1000)) ] && [ "$now" -lt $(((B - 1) * 1000)) ]; then
	ok "the service clock starts at the faked wall clock"
else
	fail "the service clock starts at the faked wall clock" "now $now, b $((B * 1000))"
fi
check "status: krx is in its day session, next night at b exactly" \
	"$(echo "$st" | jq -c '.calendars')" \
	"[{\"calendar\":\"krx\",\"utc_offset\":\"+09:00\",\"session\":\"day\",\"next\":$((B * 1000)),\"next_session\":\"night\"}]"
check "status: w is open" "$(echo "$st" | jq -r '.products[0].state')" open
check "status: no plan" "$(echo "$st" | jq -c '.plans')" "[]"

# Two checks in the day: the day's trip level (5) lets both through; the
# night's (2) would have tripped at the second.
r1=$(req '{"op":"check","product":"w","amount":"1.00"}')
r2=$(req '{"op":"check","product":"w","amount":"1.00"}')
check "day: first check allowed" "$r1" '{"decision":"allow"}'
check "day: second check allowed (day level 5, not night's 2)" "$r2" '{"decision":"allow"}'
check "day: both before the boundary" \
	"$([ "$("$CTL" status --json | json .now)" -lt $((B * 1000)) ] && echo yes)" yes

# --- the boundary ------------------------------------------------------------
past_b() { [ "$("$CTL" status --json | json .now)" -gt $((B * 1000 + 100)) ]; }
wait_for past_b
session_rows() { [ "$(sql "select count(*) from suspension_log where event='session'")" = 1 ]; }
wait_for session_rows
check "one session row, stamped b exactly, kind calendar, no rule" \
	"$(sql "select t || '|' || coalesce(rule, 'NULL') || '|' || kind || '|' || scope || '|' || scope_type || '|' || coalesce(suspension, 'NULL') || '|' || detail from suspension_log where event='session'")" \
	"$((B * 1000))|NULL|calendar|krx|calendar|NULL|{\"t\":$((B * 1000)),\"event\":\"session\",\"calendar\":\"krx\",\"from\":\"day\",\"to\":\"night\"}"
published() { grep -q '"event":"session"' "$TMP/sub.out"; }
wait_for published
check "published on calendar/krx, the row's JSON" "$(cat "$TMP/sub.out")" \
	"calendar/krx {\"t\":$((B * 1000)),\"event\":\"session\",\"calendar\":\"krx\",\"from\":\"day\",\"to\":\"night\"}"
kill "$SUBPID" 2>/dev/null
wait "$SUBPID" 2>/dev/null
SUBPID=
check "the board's events list the session row whole" \
	"$(get /board.json | jq -c '[.events[] | select(.event == "session")][0]')" \
	"{\"seq\":$(sql "select seq from suspension_log where event='session'"),\"t\":$((B * 1000)),\"event\":\"session\",\"kind\":\"calendar\",\"scope\":\"krx\",\"scope_type\":\"calendar\"}"
check "status: night now, next off at Saturday 02:00 KST" \
	"$("$CTL" status --json | jq -c '.calendars[0] | [.session, .next, .next_session]')" \
	"[\"night\",$((NIGHT_END * 1000)),\"off\"]"
text=$("$CTL" status)
check_has "fxbreakerctl status prints the calendar" "$text" \
	"krx                          +09:00  night            2026-12-04T17:00:00.000Z  off"

# The window (2 checks) is above the night's trip level (2): nothing was
# evaluated at b; the next check trips.
r3=$(req '{"op":"check","product":"w","amount":"1.00"}')
trip=$(sql "select seq from suspension_log where event='trip'")
check "night: the next check trips at the night level" \
	"$(echo "$r3" | jq -c '[.decision, .reason, .rule, .suspension]')" \
	"[\"deny\",\"suspended\",\"w-volume\",$trip]"
check "the trip row: n 3 against the night's threshold 2, after b" \
	"$(sql "select json_extract(detail, '\$.n') || '|' || json_extract(detail, '\$.threshold') || '|' || (t > $((B * 1000))) from suspension_log where seq=$trip")" \
	"3|2|1"
check "fxbreakerctl log --kind calendar: the one row" \
	"$("$CTL" log --kind calendar --format json | jq -c '[.seq, .t, .event, .calendar, .from, .to]')" \
	"[$(sql "select seq from suspension_log where event='session'"),$((B * 1000)),\"session\",\"krx\",\"day\",\"night\"]"
check "the session row comes before the trip" \
	"$(sql "select (select seq from suspension_log where event='session') < $trip")" 1

# --- Saturday 10:00 KST: closed until Monday 09:00 ---------------------------
stop_daemon
check "clean stop" "$STOP_RC" 0
rows=$(sql "select count(*) from suspension_log")
set_wall "$SAT"
start_daemon || exit 1
st=$("$CTL" status --json)
check "status: krx off, next day on Monday 09:00 KST" \
	"$(echo "$st" | jq -c '.calendars[0] | [.session, .next, .next_session]')" \
	"[\"off\",$((MON * 1000)),\"day\"]"
check "no session row for the boundary crossed while down" \
	"$(sql "select count(*) from suspension_log where event='session'")" 1
check "status: w closed until Monday 09:00 KST exactly" \
	"$(echo "$st" | jq -c '.products[0] | [.state, .reason, .until]')" \
	"[\"closed\",\"closed\",$((MON * 1000))]"
n1=$("$CTL" status --json | json .now)
r=$(req '{"op":"check","product":"w","amount":"1.00","ref":"S-1"}')
n2=$("$CTL" status --json | json .now)
check "closed: a deny with no rule, no suspension, no notice" \
	"$(echo "$r" | jq -c '[.decision, .reason, (keys | sort)]')" \
	'["deny","closed",["decision","reason","ref","retry_after_ms"]]'
retry=$(echo "$r" | json .retry_after_ms)
# The check was decided between the two status reads: its retry is the
# time from then to Monday 09:00 KST.
if [ "$retry" -le $((MON * 1000 - n1)) ] && [ "$retry" -ge $((MON * 1000 - n2)) ]; then
	ok "closed: retry_after_ms is the time to Monday 09:00 KST"
else
	fail "closed: retry_after_ms is the time to Monday 09:00 KST" \
		"$retry not in [$((MON * 1000 - n2)), $((MON * 1000 - n1))]"
fi
check "closed: about 47 h (Sat 10:00 to Mon 09:00 KST)" \
	"$((retry / 60000))" "$(((MON - SAT) / 60 - 1))"
b=$(req '{"op":"check_batch","checks":[{"product":"w","amount":"1.00"},{"product":"w","amount":"2.00"}]}')
check "closed in a batch too" "$(echo "$b" | jq -c '[.results[] | .reason]')" \
	'["closed","closed"]'
sleep 0.2
# The start's own rows only (service_start): a closed check logs nothing.
check "closed checks write no log row" \
	"$(sql "select group_concat(event) from suspension_log where seq > $rows")" \
	"service_start"
check "the metric counts them" \
	"$(metric 'fxbreaker_checks_total{decision="deny",reason="closed"}')" 3
check "the session gauge: krx off, its sessions 0" \
	"$(get /metrics | grep '^fxbreaker_calendar_session' | tr '\n' ' ')" \
	'fxbreaker_calendar_session{calendar="krx",session="off"} 1 fxbreaker_calendar_session{calendar="krx",session="day"} 0 fxbreaker_calendar_session{calendar="krx",session="night"} 0 '
check "the board's document: krx off, next day on Monday, no plan" \
	"$(get /board.json | jq -c '[.calendars[0].session, .calendars[0].next, .calendars[0].next_session, .plans]')" \
	"[\"off\",$((MON * 1000)),\"day\",[]]"

# The board in a browser (headless chromium, tests/board_test.py); its
# checks join this test's tally.
BOARD_PROFILE="$TMP/chromium" python3 "$ROOT/tests/board_test.py" calendar \
	http://127.0.0.1:19900 "$((MON * 1000))" >"$TMP/board.out" 2>&1
grep -v '^[0-9]* passed, [0-9]* failed$' "$TMP/board.out"
p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TMP/board.out")
f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TMP/board.out")
if [ -z "$p" ]; then
	fail "the browser test printed its tally" "$(tail -n 5 "$TMP/board.out")"
else
	passed=$((passed + p))
	failed=$((failed + f))
fi

finish
