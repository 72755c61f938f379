#!/bin/sh
# e2e_thresholds.sh BUILD: changing a rule's trip level by signed command
# (docs/PROTOCOL.md, "threshold") on the real daemon.  Tightening takes one
# person, loosening a second one's approval; a change holds across
# restarts and reloads of the same file, and the file wins once it changes.
. "$(dirname "$0")/lib_e2e.sh"

{
	operator_key alice alice
	operator_key bob bob
	operator_key carol carol suspend # may tighten, not loosen or approve
} >"$TMP/operators"
chmod 644 "$TMP/operators"
write_conf() {
	{
		service_conf
		cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[product w]
pair = USD/KRW
[rule v]
product = w
kind = volume
window = 60s
trip = 3
suspend_for = 0
[rule s]
pair = USD/KRW
kind = stale
mode = shadow
max_age = 10s
[rule vel]
pair = USD/KRW
kind = velocity
mode = shadow
window = 60s
max_move = 10
suspend_for = 0
EOF2
		echo "$1"
	} >"$TMP/fx.conf"
}
write_conf ""
start_daemon || exit 1
result() { jq -r '"\(.result) \(.error.name // "")"'; }
cmd() { "$CTL" "$@" --json 2>/dev/null | result; }
th() { cmd threshold --key "$1.key" --rule "$2" --param "$3" --value "$4" --reason "${5:-test}"; }
chk() { req '{"op":"check","product":"w","amount":"1.00"}' | json .decision; }
changes() { sql "select count(*) from suspension_log where event='threshold_change'"; }
drops() { sql "select count(*) from suspension_log where event='threshold_dropped'"; }
last_change() { sql "select json_extract(detail, '\$.key') || ' ' || json_extract(detail, '\$.from') || '->' || json_extract(detail, '\$.to') from suspension_log where event='threshold_change' order by seq desc limit 1"; }

# --- bad input: each refused, nothing changed --------------------------
check "an unknown rule" "$(th alice nope trip 2)" "rejected unknown_rule"
check "a key that is not a trip level" "$(th alice v window 10s)" "rejected range"
check "a level an armed timer depends on: file and reload only" \
	"$(th alice s max_age 5s)" "rejected range"
check_has "  and says why" "$("$CTL" threshold --key alice.key --rule v --param window --value 10s --reason t --json | jq -r .error.message)" \
	'"window" is not a level a command may change on volume rule v (trip, warn, pct, max_move, or KEY@SESSION of its calendar): change it in the file and reload'
check "a value the config would refuse" "$(th alice v trip abc)" "rejected config"
check_has "  names the key, as the change's fault" "$("$CTL" threshold --key alice.key --rule v --param trip --value 0 --reason t --json | jq -r .error.message)" \
	"with this change, $TMP/fx.conf:"
check_has "  and the key" "$("$CTL" threshold --key alice.key --rule v --param trip --value 0 --reason t --json | jq -r .error.message)" \
	"[rule v] trip"
check "the value in force already" "$(th alice v trip 3)" "rejected range"
check "no reason" "$("$CTL" threshold --key alice.key --rule v --param trip --value 2 --reason '' --json | result)" \
	"rejected missing"
check "nothing changed so far" "$(changes)" 0

# --- tightening: one signature, at once --------------------------------
check "check 1 under trip 3: allowed" "$(chk)" allow
check "carol tightens trip 3 -> 2" "$(th carol v trip 2)" "applied "
check "the change row: from and to" "$(last_change)" "trip 3->2"
check "the command row: values, tightening, and the caller's address" \
	"$(sql "select json_extract(detail, '\$.value_from') || '->' || json_extract(detail, '\$.value_to') || ' ' || json_extract(detail, '\$.loosens') || ' ' || substr(json_extract(detail, '\$.from'), 1, 4) from suspension_log where event='command' order by seq desc limit 1")" \
	"3->2 0 uid="
check "the change row says who" \
	"$(sql "select json_extract(detail, '\$.by') from suspension_log where event='threshold_change' order by seq desc limit 1")" carol
check "status shows the change" \
	"$("$CTL" status --json | jq -c '.rules[] | select(.rule == "v") | .changed')" '{"trip":"2"}'
d2=$(req '{"op":"check","product":"w","amount":"1.00"}')
check "check 2, counted with check 1 under the new trip 2: denied by v" \
	"$(echo "$d2" | jq -r '"\(.decision) \(.rule)"')" "deny v"
check "  the trip row: N 2 of threshold 2" \
	"$(sql "select json_extract(detail, '\$.n') || '/' || json_extract(detail, '\$.threshold') from suspension_log where event='trip' and rule='v'")" "2/2"
susp=$(echo "$d2" | json .suspension)

# --- loosening: a request and a different person's approval ------------
check "carol may not loosen" "$(th carol v trip 5)" "rejected forbidden"
out=$("$CTL" threshold --key alice.key --rule v --param trip --value 5 --reason "too tight" --json)
check "alice asks to loosen trip 2 -> 5" "$(echo "$out" | result)" "pending "
rq=$(echo "$out" | json .request)
check "nothing changes before the approval" "$(last_change)" "trip 3->2"
check "alice cannot approve her own" \
	"$(cmd approve --key alice.key --request "$rq" --reason ok)" "rejected self_approval"
check "carol cannot approve" \
	"$(cmd approve --key carol.key --request "$rq" --reason ok)" "rejected forbidden"
check "a suspension id on a threshold approval is stale" \
	"$(cmd approve --key bob.key --request "$rq" --suspension 1 --reason ok)" "rejected stale_approval"
out=$("$CTL" approve --key bob.key --request "$rq" --reason ok)
check "bob approves (text: the request and the change row)" "$out" \
	"applied: request $rq, change $(sql "select max(seq) from suspension_log where event='threshold_change'")"
check "the change row: 2 -> 5, loosening, who, naming the request" \
	"$(sql "select json_extract(detail, '\$.from') || '->' || json_extract(detail, '\$.to') || ' ' || json_extract(detail, '\$.loosens') || ' ' || json_extract(detail, '\$.by') || ' ' || json_extract(detail, '\$.request') from suspension_log where event='threshold_change' order by seq desc limit 1")" \
	"2->5 1 alice, approved by bob $rq"
check "a second approval is stale" \
	"$(cmd approve --key bob.key --request "$rq" --reason again)" "rejected stale_approval"
check "the tripped rule is still tripped (a trip level is not a reset)" \
	"$(req '{"op":"check","product":"w","amount":"1.00"}' | json .suspension)" "$susp"

# --- an approval after another change is stale --------------------------
rq2=$("$CTL" threshold --key alice.key --rule v --param trip --value 9 --reason later --json | json .request)
check "meanwhile carol tightens 5 -> 4" "$(th carol v trip 4)" "applied "
check "the old request cannot loosen over the new value" \
	"$(cmd approve --key bob.key --request "$rq2" --reason ok)" "rejected stale_approval"
check "trip is 4" "$(last_change)" "trip 5->4"

# --- other kinds: a duration trip level ---------------------------------
out=$("$CTL" threshold --key carol.key --rule vel --param max_move --value 5 --reason wild)
check "tighten velocity max_move 10 -> 5 (the text reply names the change row)" \
	"$out" "applied: change $(sql "select max(seq) from suspension_log where event='threshold_change'")"
check "  logged as prices" "$(last_change)" "max_move 10.00->5.00"

# --- restart: the changes hold ------------------------------------------
stop_daemon
start_daemon || exit 1
check "after a restart both changes are in force" \
	"$("$CTL" status --json | jq -c '[.rules[] | .changed // empty]')" '[{"trip":"4"},{"max_move":"5"}]'
# The start queues its row; status may answer before the writer commits it.
started() { [ "$(sql "select max(seq) > (select max(seq) from suspension_log where event='service_stop') from suspension_log where event='service_start'")" = 1 ]; }
wait_for started
check "  and the start row counts them" \
	"$(sql "select json_extract(detail, '\$.thresholds_changed') from suspension_log where event='service_start' order by seq desc limit 1")" 2

# --- back to the file's value: the change ends ---------------------------
rq3=$("$CTL" threshold --key alice.key --rule vel --param max_move --value 10.0 --reason calm --json | json .request)
check "loosening max_move back to the file's 10" \
	"$(cmd approve --key bob.key --request "$rq3" --reason ok)" "applied "
check "  ends the change (status lists only trip)" \
	"$("$CTL" status --json | jq -c '[.rules[] | .changed // empty]')" '[{"trip":"4"}]'
check "  the row says so" \
	"$(sql "select json_extract(detail, '\$.ends') from suspension_log where event='threshold_change' order by seq desc limit 1")" 1
stop_daemon
start_daemon || exit 1
check "  and it stays ended after a restart" \
	"$("$CTL" status --json | jq -c '[.rules[] | .changed // empty]')" '[{"trip":"4"}]'

# --- reload of the same file: they hold; of a changed file: the file wins
kill -HUP "$PID"
reloaded() { [ "$(sql "select count(*) from suspension_log where event='config_reload'")" -ge "$1" ]; }
wait_for reloaded 1
check "a reload of the same file keeps them" "$(drops)" 0
check "  (the reload row counts them)" \
	"$(sql "select json_extract(detail, '\$.thresholds_changed') from suspension_log where event='config_reload' order by seq desc limit 1")" 1
write_conf "# reviewed 2026-11-26"
check "a change over an edited, unreloaded file is refused" "$(th carol v trip 3)" "rejected config"
kill -HUP "$PID"
wait_for reloaded 2
check "a changed file drops it, logged" "$(drops)" 1
check "  and status shows none" \
	"$("$CTL" status --json | jq -c '[.rules[] | .changed // empty]')" '[]'

# --- the file changes while the service is down --------------------------
check "tighten again" "$(th carol v trip 2)" "applied "
stop_daemon
write_conf "# reviewed again"
start_daemon || exit 1
check "the change made over the old file is dropped at start" "$(drops)" 2
check "  with why" \
	"$(sql "select json_extract(detail, '\$.why') from suspension_log where event='threshold_dropped' order by seq desc limit 1")" \
	"the config file changed while the service was down"
# --- while the log cannot be written, no change by command ---------------
DEGRADE_KEY=alice.key DEGRADE_PRODUCT=w
while_degraded th "$CTL" threshold --key carol.key --rule v --param trip --value 1 --reason r --json
check "a tightening while the log fails: refused at once (it did nothing)" \
	"$(result <th.out)" "rejected ledger"
check "the suspend that met the failing log: unconfirmed" \
	"$(grep '^unconfirmed: ' degrade.out | cut -c1-40)" "unconfirmed: this command's row is not w"
again=$(sed -n 's/.*repeat the command with \(--issued-at [0-9]* --nonce [0-9a-f]*\)$/\1/p' degrade.out)
# shellcheck disable=SC2086 # $again is two options and their values
check "  asked again once the log is ok: its logged answer, applied" \
	"$(cmd suspend --key alice.key --product w --reason "make the log fail" $again)" "applied "
check "  and applied once only" \
	"$(sql "select count(*) from suspension_log where event='force_suspend' and detail like '%make the log fail%'")" 1
check "  its refusal is logged" \
	"$(sql "select json_extract(detail, '\$.error') from suspension_log where event='command' and json_extract(detail, '\$.cmd')='threshold' order by seq desc limit 1")" \
	ledger
check "  nothing changed" \
	"$("$CTL" status --json | jq -c '[.rules[] | .changed // empty]')" '[]'
check "the log verifies" "$("$CTL" export snap.db >/dev/null; "$CTL" verify --pubkey "$TMP/data/log.pub" snap.db | tail -n 1 | cut -d' ' -f2)" ok
finish
