#!/bin/sh
# e2e_commands.sh BUILD: signed operator commands (docs/PROTOCOL.md) on the
# real daemon: keys from fxbreakerctl keygen, envelopes signed by
# fxbreakerctl, replayed and tampered with nngcat.  Each defence is a
# case that fails if the defence is removed.
. "$(dirname "$0")/lib_e2e.sh"

{
	operator_key alice alice
	operator_key bob bob
	operator_key alice alice2 # alice's second key
	operator_key carol carol suspend # may suspend, not approve
} >"$TMP/operators"
operator_key mallory mallory >/dev/null # a key nobody enrolled
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[rule v]
product = w
kind = volume
window = 60s
trip = 2
suspend_for = 0
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
ADMIN="ipc://$TMP/run/admin.ipc"
raw() { nngcat --req --dial "$ADMIN" --data "$1" --ascii --recv-timeout 10 2>&1; }
result() { jq -r '"\(.result) \(.error.name // "")"'; }
cmd() { "$CTL" "$@" --json 2>/dev/null | result; }
last_cmd() { sql "select detail from suspension_log where event='command' order by seq desc limit 1"; }

check "operators enrolled and logged" \
	"$(sql "select count(*) from suspension_log where detail like '%operator_enrolled%'")" 4
carol_pk=$(grep '^carol ' "$TMP/operators" | cut -d' ' -f3)
check "an enrolment row names the roles and the public key" \
	"$(sql "select json_extract(detail, '\$.roles') || ' ' || json_extract(detail, '\$.pubkey') from suspension_log where detail like '%operator_enrolled%' and detail like '%\"name\":\"carol\"%'")" \
	"suspend $carol_pk"
check "operators: the roster the log holds" \
	"$("$CTL" operators --json | jq -r '"\(.name) \(.roles)"' | sort | tr '\n' ' ')" \
	"alice suspend,reset,approve alice suspend,reset,approve bob suspend,reset,approve carol suspend "

# --- suspend: one signature ---------------------------------------------
check "suspend applied" "$(cmd suspend --key alice.key --product x --reason pause)" "applied "
fs=$(sql "select seq from suspension_log where event='force_suspend'")
check "the product is denied, quoting the force" \
	"$(req '{"op":"check","product":"x","amount":"1.00"}' | json .suspension)" "$fs"
check_has "the command row says who, what, from where" "$(last_cmd)" '"name":"alice"'
check_has "from: the peer's uid" "$(last_cmd)" '"from":"uid=0'
check "carol may suspend" "$(cmd suspend --key carol.key --product w --reason p)" "applied "

# --- replays and resends ------------------------------------------------
env=$("$CTL" suspend --key alice.key --product x --reason again --sign-only)
first=$(raw "$env")
n=$(sql "select count(*) from suspension_log where event='force_suspend'")
second=$(raw "$env")
check "a resent command gets the same answer" "$second" "$first"
check "a resent command does nothing again" \
	"$(sql "select count(*) from suspension_log where event='force_suspend'")" "$n"

# --- forged, edited, unknown, revoked -----------------------------------
forged=$(echo "$env" | jq -c '.signature = "'"$(head -c 64 /dev/zero | base64 -w0)"'"')
check "forged signature" "$(raw "$forged" | result)" "rejected bad_signature"
edited=$(echo "$env" | jq -c '.body |= sub("again"; "AGAIN")')
check "body edited after signing" "$(raw "$edited" | result)" "rejected bad_signature"
check "unknown key" "$(cmd suspend --key mallory.key --product x --reason p)" \
	"rejected unknown_operator"
check_has "a rejected command is a row too" "$(last_cmd)" '"error":"unknown_operator"'
check "wrong service_id" \
	"$(cmd suspend --key alice.key --product x --reason p --url "$ADMIN" --service-id prod)" \
	"rejected wrong_service"
# Time windows (docs/PROTOCOL.md): +-120 s of the service's clock or the
# wall clock; a lift (anything but a suspend) outside both is refused ...
now=$(($(date +%s) * 1000))
check "issued 5 minutes ago (clock skew back)" \
	"$(cmd lift --key alice.key --product x --suspension 1 --reason p --issued-at $((now - 300000)))" \
	"rejected expired"
check "issued 5 minutes ahead (clock skew forward)" \
	"$(cmd lift --key alice.key --product x --suspension 1 --reason p --issued-at $((now + 300000)))" \
	"rejected expired"
check_has "the refusal gives the service's clock to sign on" \
	"$(last_cmd | jq -r .why)" "repeat with --issued-at "
old_env=$("$CTL" lift --key alice.key --product x --suspension 1 --reason p --expires 1 --sign-only)
sleep 1.2
check "expired command" "$(raw "$old_env" | result)" "rejected expired"
# ... while a suspend outside both is taken (it only tightens), with its
# skew in its row.
check "a suspend issued 5 minutes ago is applied" \
	"$(cmd suspend --key alice.key --product x --reason p --issued-at $((now - 300000)))" \
	"applied "
check "its row: window outside, skew about -300 s (-306 to -298: whole seconds, a loaded machine)" \
	"$(last_cmd | jq -r '"\(.window) \(.skew_ms > -306000 and .skew_ms < -298000)"')" \
	"outside true"
check "a suspend in the window: no window field in its row" \
	"$(cmd suspend --key alice.key --product x --reason p >/dev/null; last_cmd | jq -r '.window // "engine"')" \
	"engine"
check "a command on the check socket" \
	"$(req "$env" | jq -r .error.name)" unknown_op
check "carol may not approve" \
	"$(cmd approve --key carol.key --request 1 --suspension 1 --reason r)" \
	"rejected forbidden"

# --- four eyes: reset --------------------------------------------------
for i in 1 2; do req '{"op":"check","product":"w","amount":"1.00"}' >/dev/null; done
cmd lift --key alice.key --product w --suspension \
	"$(sql "select suspension from breaker_state where scope='w' and event='force_suspend'")" \
	--reason r >/dev/null
rq=$(sql "select max(seq) from suspension_log where event='command'")
cmd approve --key bob.key --request "$rq" --suspension \
	"$(sql "select suspension from breaker_state where scope='w' and event='force_suspend'")" \
	--reason ok >/dev/null
for i in 1 2 3; do r=$(req '{"op":"check","product":"w","amount":"1.00"}'); done
trip=$(echo "$r" | json .suspension)
check "w tripped (waits for an operator)" "$(echo "$r" | json .rule)" v
check "reset is a request" \
	"$(cmd reset --key alice.key --rule v --suspension "$trip" --reason r)" "pending "
rq=$(sql "select max(seq) from suspension_log where event='command'")
check "self-approval, same key" \
	"$(cmd approve --key alice.key --request "$rq" --suspension "$trip" --reason r)" \
	"rejected self_approval"
check "self-approval, the same person's second key" \
	"$(cmd approve --key alice2.key --request "$rq" --suspension "$trip" --reason r)" \
	"rejected self_approval"
check "approval naming another suspension" \
	"$(cmd approve --key bob.key --request "$rq" --suspension 1 --reason r)" \
	"rejected stale_approval"
check "still denied before the approval" \
	"$(req '{"op":"check","product":"w","amount":"1.00"}' | json .suspension)" "$trip"
check "approved by another person" \
	"$(cmd approve --key bob.key --request "$rq" --suspension "$trip" --reason ok)" "applied "
check "reset row names the trip" \
	"$(sql "select suspension from suspension_log where event='reset'")" "$trip"
check "reopened" "$(req '{"op":"check","product":"w","amount":"1.00"}')" '{"decision":"allow"}'
check "an approval used twice is stale" \
	"$(cmd approve --key carol.key --request "$rq" --suspension "$trip" --reason r 2>/dev/null; \
	   cmd approve --key bob.key --request "$rq" --suspension "$trip" --reason again)" \
	"rejected forbidden
rejected stale_approval"

# --- a stale approval after a re-trip ----------------------------------
r=$(req '{"op":"check","product":"w","amount":"1.00"}')
t2=$(echo "$r" | json .suspension)
cmd reset --key alice.key --rule v --suspension "$t2" --reason r >/dev/null
rq2=$(sql "select max(seq) from suspension_log where event='command'")
cmd reset --key bob.key --rule v --suspension "$t2" --reason r2 >/dev/null
rq3=$(sql "select max(seq) from suspension_log where event='command'")
cmd approve --key alice.key --request "$rq3" --suspension "$t2" --reason ok >/dev/null
for i in 1 2; do r=$(req '{"op":"check","product":"w","amount":"1.00"}'); done
t3=$(echo "$r" | json .suspension)
check "re-tripped with a new id" "$([ "$t3" -gt "$t2" ] && echo yes)" yes
check "an old approval cannot reopen the newer trip" \
	"$(cmd approve --key bob.key --request "$rq2" --suspension "$t2" --reason late)" \
	"rejected stale_approval"
check "still denied" \
	"$(req '{"op":"check","product":"w","amount":"1.00"}' | json .suspension)" "$t3"
check "an approval of a reset must name the suspension" \
	"$(cmd approve --key bob.key --request "$rq2" --reason late)" "rejected missing"

# --- revoked: taken out of the file, reloaded ---------------------------
grep -v '^carol ' "$TMP/operators" >ops && cat ops >"$TMP/operators"
kill -HUP "$PID"
revoked() { [ "$(sql "select count(*) from suspension_log where detail like '%operator_revoked%'")" = 1 ]; }
wait_for revoked
check "revocation logged" \
	"$(sql "select count(*) from suspension_log where detail like '%operator_revoked%'")" 1
check "revoked key" "$(cmd suspend --key carol.key --product x --reason p)" \
	"rejected unknown_operator"
check "operators: carol is off the roster" \
	"$("$CTL" operators --json | jq -r .name | sort | tr '\n' ' ')" "alice alice bob "
check "operators --history: four enrolments, then carol's revocation" \
	"$("$CTL" operators --history --json | jq -r '"\(.change) \(.name)"' | tail -n 2 | tr '\n' ' ')" \
	"enrolled carol revoked carol "

# --- report: the episode, who reopened it, the customer impact ---------
rep=$("$CTL" report --format json | jq -c "select(.suspension == $trip)")
check "report: the reset episode's end and who" \
	"$(echo "$rep" | jq -r '"\(.ended) \(.ended_by)"')" \
	"reset requested by alice, approved by bob"
check "report: checks denied while it held" \
	"$(echo "$rep" | jq -r .denied)" \
	"$(sql "select json_extract(detail, '$.denied') from suspension_log where event='reset' and suspension=$trip")"
check "report: the trigger's figures" \
	"$(echo "$rep" | jq -c '[.trigger.n, .trigger.threshold]')" "[2,2]"
csv=$("$CTL" report --format csv)
check "report --format csv: the header" "$(echo "$csv" | head -n 1)" \
	"suspension,scope,rule,kind,mode,opened,start,end,duration_ms,ended,ended_by,denied,trigger,notice"
check "report --format csv: the reset episode, a comma inside quotes" \
	"$(echo "$csv" | grep "^\"$trip\"," | cut -d, -f1-5,10-12)" \
	"\"$trip\",\"w\",\"v\",\"volume\",\"enforce\",\"reset\",\"requested by alice, approved by bob\""

# --- log --operator: what one person did ---------------------------------
check "log --operator bob: bob's commands only" \
	"$("$CTL" log --operator bob --format json | jq -r '.name' | sort -u)" bob
check "log --operator bob: the approval of the reset is there" \
	"$("$CTL" log --operator bob --format json | jq -c "select(.cmd == \"approve\" and .result == \"applied\" and .request == $rq) | .requested_by")" \
	'"alice"'

# --- a non-operator's connection: the admin socket is root's alone -----
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
	out=$(runuser -u nobody -- nngcat --req --dial "$ADMIN" \
		--data '{"op":"ping"}' --ascii --recv-timeout 2 2>&1)
	check_has "another user cannot even connect" "$out" "ermission denied"
else
	fail "non-operator connection" "needs the nobody user and runuser"
fi

# --- kill -9 between commit and reply: the retry gets the stored answer --
env=$("$CTL" suspend --key alice.key --pair USD/KRW --reason crash --sign-only)
raw "$env" >/dev/null &
sleep 0.05
kill_daemon
start_daemon || exit 1
again=$(raw "$env")
check "a restart with the same file logs no roster change" \
	"$(sql "select count(*) from suspension_log where detail like '%operator_enrolled%' or detail like '%operator_revoked%'")" 5
check "after a crash, the retried command is answered" "$(echo "$again" | json .result)" applied
check "and carried out exactly once" \
	"$(sql "select count(*) from suspension_log where event='command' and detail like '%\"reason\":\"crash\"%' and detail like '%\"result\":\"applied\"%'")" 1
# --- a key dropped while the daemon was down: revoked at the next start --
grep -v '^bob ' "$TMP/operators" >ops && cat ops >"$TMP/operators"
stop_daemon
start_daemon || exit 1
# The start queues the row; status answers before the writer commits it.
last_revoked() { sql "select json_extract(detail, '\$.name') from suspension_log where detail like '%operator_revoked%' order by seq desc limit 1"; }
last_revoked_is() { [ "$(last_revoked)" = "$1" ]; }
wait_for last_revoked_is bob
check "bob's key, dropped while down, is logged revoked at start" \
	"$(last_revoked)" bob
check "bob cannot sign" "$(cmd suspend --key bob.key --product x --reason p)" \
	"rejected unknown_operator"
# The writer answers first and writes the note file after (docs/LEDGER.md):
# wait for it, then the newest note must name the newest row.
want_note="checkpoint-$(printf %012d "$(sql 'select max(seq) from suspension_log')").note"
wait_for [ -f "data/checkpoints/$want_note" ]
check "a rejected command is covered by a checkpoint at once" \
	"$(ls data/checkpoints | grep '\.note$' | tail -n 1)" "$want_note"
check "the log still verifies" "$("$CTL" export snap.db >/dev/null; "$CTL" verify --pubkey "$TMP/data/log.pub" snap.db | tail -n 1 | cut -d' ' -f2)" ok
finish
