#!/bin/sh
# e2e_sessionlevels.sh BUILD: a signed threshold command on a level by
# session (docs/PROTOCOL.md "threshold", RULES.md 9): `--param trip@all`
# changes the level the rule trips by in that session, which the plain
# key does not.  The calendar's one session, `all`, runs every day round
# the clock, so it is in force whenever the test runs.  Tightening takes
# one person, loosening a second one's approval; the change holds across
# a restart; the file's own value ends it; a session the calendar has not,
# or a rule without a calendar, is refused.
. "$(dirname "$0")/lib_e2e.sh"

{
	operator_key alice alice
	operator_key bob bob
	operator_key carol carol suspend # may tighten, not loosen or approve
} >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[calendar c]
utc_offset = +00:00
session.all = mon-sun 00:00-00:00
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[product y]
pair = USD/KRW
[rule v]
product = w
kind = volume
calendar = c
window = 60s
trip = 50
trip@all = 3
suspend_for = 0
[rule n]
product = y
kind = volume
calendar = c
window = 60s
trip = 5
suspend_for = 0
[rule plain]
product = x
kind = volume
window = 60s
trip = 50
suspend_for = 0
[rule vel]
pair = USD/KRW
kind = velocity
mode = shadow
calendar = c
window = 60s
max_move = 10
suspend_for = 0
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
result() { jq -r '"\(.result) \(.error.name // "")"'; }
cmd() { "$CTL" "$@" --json 2>/dev/null | result; }
th() { cmd threshold --key "$1.key" --rule "$2" --param "$3" --value "$4" --reason "${5:-test}"; }
chk() { req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1.00\"}"; }
last_change() { sql "select json_extract(detail, '\$.key') || ' ' || json_extract(detail, '\$.from') || '->' || json_extract(detail, '\$.to') from suspension_log where event='threshold_change' order by seq desc limit 1"; }
# changed: the changes in force by rule, keys sorted
changed() { "$CTL" status --json | jq -cS '[.rules[] | select(.changed) | {(.rule): .changed}]'; }

check "the calendar is in session all" \
	"$("$CTL" status --json | jq -r '.calendars[0].session')" all

# --- refused, nothing changed --------------------------------------------
check "a session the calendar has not" "$(th carol v trip@night 2)" "rejected range"
check_has "  says which keys a command may change" \
	"$("$CTL" threshold --key carol.key --rule v --param trip@night --value 2 --reason t --json | jq -r .error.message)" \
	'"trip@night" is not a level a command may change on volume rule v (trip, warn, pct, max_move, or KEY@SESSION of its calendar): change it in the file and reload'
check "a session level on a rule without a calendar" "$(th carol plain trip@all 2)" "rejected range"
check "a suffix on a key that takes none" "$(th carol v window@all 10s)" "rejected range"
check "trip@all's value in force already" "$(th carol v trip@all 3)" "rejected range"
check "a value the config would refuse (warn must stay below trip)" \
	"$(th carol v warn@all 3)" "rejected config"
check "nothing changed so far" \
	"$(sql "select count(*) from suspension_log where event='threshold_change'")" 0

# --- tighten the session's level: one signature --------------------------
check "check 1 of w: allowed (trip@all 3)" "$(chk w | json .decision)" allow
check "carol tightens trip@all 3 -> 2" "$(th carol v trip@all 2)" "applied "
check "the change row names the session's key" "$(last_change)" "trip@all 3->2"
check "status shows it under the rule" "$(changed)" '[{"v":{"trip@all":"2"}}]'
d2=$(chk w)
check "check 2, counted with check 1 under trip@all 2: denied by v, N 2 of 2" \
	"$(echo "$d2" | jq -r '"\(.decision) \(.rule)"') $(sql "select json_extract(detail, '\$.n') || '/' || json_extract(detail, '\$.threshold') from suspension_log where event='trip' and rule='v'")" \
	"deny v 2/2"
# The plain key is not the level in force in this session.
check "the plain trip 50 -> 40 is applied" "$(th carol v trip 40)" "applied "
check "  and both changes are listed" "$(changed)" '[{"v":{"trip":"40","trip@all":"2"}}]'

# --- a level the file resolves from the plain key -------------------------
check "vel's max_move@all (the file gives none: 10) tightens to 5" \
	"$(th carol vel max_move@all 5)" "applied "
check "  logged as prices, from the resolved level" "$(last_change)" "max_move@all 10.00->5.00"

# --- loosening: a request and another person's approval -------------------
check "carol may not loosen trip@all" "$(th carol v trip@all 9)" "rejected forbidden"
rq=$("$CTL" threshold --key alice.key --rule v --param trip@all --value 9 --reason "calm" --json | json .request)
check "alice asks to loosen trip@all 2 -> 9: a request" \
	"$(echo "$rq" | grep -c '^[0-9][0-9]*$')" 1
check "bob approves it" "$(cmd approve --key bob.key --request "$rq" --reason ok)" "applied "
check "the change row: 2 -> 9, loosening, by both" \
	"$(sql "select json_extract(detail, '\$.key') || ' ' || json_extract(detail, '\$.from') || '->' || json_extract(detail, '\$.to') || ' ' || json_extract(detail, '\$.loosens') || ' ' || json_extract(detail, '\$.by') from suspension_log where event='threshold_change' order by seq desc limit 1")" \
	"trip@all 2->9 1 alice, approved by bob"

# --- a session level the file leaves to the plain key ----------------------
# Rule n gives no trip@all: the session runs at the plain trip.  Loosen
# the plain trip 5 -> 8 (two people), then tighten the night back to 5:
# that is the file's figure, but not what the session would be without
# the change (8), so the change stands, and still does after another.
rq=$("$CTL" threshold --key alice.key --rule n --param trip --value 8 --reason "busy" --json | json .request)
check "n's plain trip 5 -> 8, approved" "$(cmd approve --key bob.key --request "$rq" --reason ok)" "applied "
check "n's trip@all follows it: 8" \
	"$(cmd threshold --key carol.key --rule n --param trip@all --value 8 --reason t)" "rejected range"
check "carol tightens n's trip@all 8 -> 5" "$(th carol n trip@all 5)" "applied "
check "  a change that stands (not back to the file's value)" \
	"$(sql "select ifnull(json_extract(detail, '\$.ends'), 0) from suspension_log where event='threshold_change' order by seq desc limit 1")" 0
check "  both of n's changes are listed" \
	"$("$CTL" status --json | jq -cS '.rules[] | select(.rule == "n") | .changed')" '{"trip":"8","trip@all":"5"}'
check "another change (vel) rebuilds the config" "$(th carol vel max_move@all 4)" "applied "
for i in 1 2 3 4; do chk y >/dev/null; done
check "n trips at its 5th check: trip@all 5 is in force" \
	"$(chk y | jq -r '"\(.decision) \(.rule)"') $(sql "select json_extract(detail, '\$.n') || '/' || json_extract(detail, '\$.threshold') from suspension_log where event='trip' and rule='n'")" \
	"deny n 5/5"
kill -HUP "$PID"
reloaded() { [ "$(sql "select count(*) from suspension_log where event='config_reload'")" -ge 1 ]; }
wait_for reloaded
check "a reload of the same file keeps every change" "$(changed)" \
	'[{"v":{"trip":"40","trip@all":"9"}},{"n":{"trip":"8","trip@all":"5"}},{"vel":{"max_move@all":"4"}}]'

# --- a restart keeps them --------------------------------------------------
stop_daemon
start_daemon || exit 1
check "after a restart the changes are in force" "$(changed)" \
	'[{"v":{"trip":"40","trip@all":"9"}},{"n":{"trip":"8","trip@all":"5"}},{"vel":{"max_move@all":"4"}}]'

# --- the file's own value ends the change ----------------------------------
check "trip@all back to the file's 3 (tightening: one signature)" \
	"$(th carol v trip@all 3)" "applied "
check "  ends the change" \
	"$(sql "select json_extract(detail, '\$.ends') from suspension_log where event='threshold_change' order by seq desc limit 1") $(changed)" \
	'1 [{"v":{"trip":"40"}},{"n":{"trip":"8","trip@all":"5"}},{"vel":{"max_move@all":"4"}}]'
check "the log verifies" "$("$CTL" export snap.db >/dev/null; "$CTL" verify --pubkey "$TMP/data/log.pub" snap.db | tail -n 1 | cut -d' ' -f2)" ok
finish
