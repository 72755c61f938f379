#!/bin/sh
# e2e_plan.sh BUILD: planned suspensions from the operator's side
# (docs/RULES.md 9, docs/OPERATIONS.md "Planning a suspension"):
# `fxbreakerctl suspend --from T --until T2` plans one with one signature;
# the product stays open until T, is denied (forced) from T exactly and
# opens again at T2, each step a log row; a second plan of the same scope
# is refused; `fxbreakerctl cancel` is a request a second person approves,
# bound to the plan it named, across a restart too; and the report tells
# each plan's fate.  On the real clock: a plan starts 8 s after it is
# made (lead enough for the steps that must come before it, however slow
# the machine: AddressSanitizer on a loaded CI runner).
. "$(dirname "$0")/lib_e2e.sh"

{
	operator_key alice alice
	operator_key bob bob
	operator_key carol carol suspend # may plan, not cancel or approve
} >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
notice_utc_offset = +09:00
[pair USD/KRW]
[product remit]
pair = USD/KRW
[product wallet]
pair = USD/KRW
[notice maint]
ko = {product}: 점검으로 {until} 환전을 멈춥니다.
en = {product}: exchange is paused for maintenance {until}.
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
now() { date +%s%3N; }
chk() { "$CTL" check --json "$1" 1.00; }
cmd() { "$CTL" "$@" --json 2>/dev/null | jq -c '[.result, .error.code, .error.name, .error.message]'; }
# sleep_until MS: the wall clock is past MS (epoch ms) by 150 ms
sleep_until() {
	d=$(($1 + 150 - $(now)))
	[ "$d" -gt 0 ] && sleep "$(echo "$d" | awk '{printf "%.3f", $1 / 1000}')"
	return 0
}
row() { sql "select $2 from suspension_log where seq=$1"; }
# "2024-12-04 00:33 (UTC+09:00)" for epoch ms $1, as notices show it
kst() { echo "$(date -u -d "@$(($1 / 1000 + 9 * 3600))" '+%Y-%m-%d %H:%M') (UTC+09:00)"; }
WHY="overnight remittance stop"

# --- plan: from now+8s until now+10s --------------------------------------
T0=$(now)
F=$((T0 + 8000))
U=$((T0 + 10000))
out=$("$CTL" suspend --key alice.key --product remit --reason "$WHY" --from "$F" --until "$U" --notice maint 2>&1)
rc=$?
pre=$(chk remit)
pretext=$("$CTL" check remit 1.00)
again=$(cmd suspend --key bob.key --product remit --reason "twice" --from "$((F + 10))" --until "$U")
cancel_rq=$("$CTL" cancel --key alice.key --product remit --reason "stale test" --json 2>/dev/null)
t_before=$(now)
P=$(sql "select seq from suspension_log where event='force_scheduled' and scope='remit'")
check "suspend --from: applied, the plan's id (its force_scheduled row), exit 0" \
	"$out rc=$rc" "applied: plan $P rc=0"
check "the steps before from ran before it (else the test proves nothing)" \
	"$([ "$t_before" -lt "$F" ] && echo yes)" yes
check "a check before from: allowed" \
	"$(echo "$pre" | jq -c '[.decision, .reason, .suspension]')" \
	'["allow",null,null]'
check "... carrying upcoming: the plan, its from and until, its notice" \
	"$(echo "$pre" | jq -c '[.upcoming.plan, .upcoming.from, .upcoming.until, .upcoming.notice.id]')" \
	"[$P,$F,$U,\"maint\"]"
check "... the notice's text as its denies will read it" \
	"$(echo "$pre" | jq -r .upcoming.notice.en)" \
	"remit: exchange is paused for maintenance until $(kst "$U")."
# epoch ms as the daemon's messages print it: UTC to the millisecond.
utc_ms() { date -u -d "@$(($1 / 1000))" "+%Y-%m-%dT%H:%M:%S.$(printf %03d $(($1 % 1000)))Z"; }
check "fxbreakerctl check's text says the plan ahead and what customers read" \
	"$(echo "$pretext" | sed -n 1,3p)" \
	"allow
  upcoming: plan $P, suspended from $(utc_ms "$F") until $(utc_ms "$U")
  notice maint"
# (stderr is written by a thread of its own, after the reply)
wait_for grep -q " event=force_scheduled seq=$P " "$TMP/daemon.log"
line=$(grep " event=force_scheduled seq=$P " "$TMP/daemon.log")
check "its stderr line says from and until in UTC" \
	"$(echo "$line" | grep -c " until=$(utc_ms "$U") .* from=$(utc_ms "$F") ")" 1
check "a second plan of the same scope: already_planned (40), naming the first" \
	"$again" \
	"[\"rejected\",40,\"already_planned\",\"product remit has plan $P pending already (from $(utc_ms "$F") until $(utc_ms "$U")): cancel it first\"]"
check "a cancel asked before from: pending, naming the plan" \
	"$(echo "$cancel_rq" | jq -c '[.result, .plan]')" "[\"pending\",$P]"
RQ=$(echo "$cancel_rq" | jq .request)

# --- from: denied, forced, stamped from exactly ----------------------------
sleep_until "$F"
mid=$(chk remit)
# (the row is the timer's: wait for it rather than trust the reply's timing)
has_row() { [ -n "$(sql "select seq from suspension_log where event='$1' and scope='remit'")" ]; }
wait_for has_row force_suspend
S=$(sql "select seq from suspension_log where event='force_suspend' and scope='remit'")
check "after from: denied forced, quoting the suspension the plan opened" \
	"$(echo "$mid" | jq -c '[.decision, .reason, .suspension]')" \
	"[\"deny\",\"forced\",$S]"
check "... with the plan's notice, as announced" \
	"$(echo "$mid" | jq -c '[.notice.id, .notice.en]')" \
	"$(echo "$pre" | jq -c '[.upcoming.notice.id, .upcoming.notice.en]')"
check "... and no upcoming: the plan has started" \
	"$(echo "$mid" | jq -c .upcoming)" null
check "an approval of the cancel once the plan started: stale_approval (32)" \
	"$(cmd approve --key bob.key --request "$RQ" --reason late)" \
	"[\"rejected\",32,\"stale_approval\",\"plan $P of remit is no longer pending (it started, or was cancelled): nothing is cancelled\"]"
check "... and the product stays suspended" "$(chk remit | jq -c '[.decision, .suspension]')" \
	"[\"deny\",$S]"
check "cancel of a started plan: not_planned (39)" \
	"$(cmd cancel --key alice.key --product remit --reason "too late")" \
	'["rejected",39,"not_planned","product remit has no planned suspension pending (one that started is lifted instead)"]'
# (pending to the end of the test: it lapses at the last restart)
out=$("$CTL" suspend --key alice.key --product remit --reason later --from "$((U + 3600000))" --until "$((U + 7200000))" 2>&1)
P3=$(sql "select seq from suspension_log where event='force_scheduled' and scope='remit' and seq > $P")
check "once started, a new plan of the scope is taken" "$out" "applied: plan $P3"

# --- until: open again -------------------------------------------------------
sleep_until "$U"
check "after until: allowed" "$(chk remit | jq -c '[.decision, .suspension]')" \
	'["allow",null]'
wait_for has_row force_lift
L=$(sql "select seq from suspension_log where event='force_lift' and scope='remit'")

# --- the log: each step a row, in order, exact ----------------------------
check "the rows from the plan to its end, in order (commands: cmd/result/error)" \
	"$(sql "select event || ifnull(':' || json_extract(detail, '\$.cmd') || '/' || json_extract(detail, '\$.result') || ifnull('/' || json_extract(detail, '\$.error'), ''), '') from suspension_log where seq between $P and $L order by seq" | tr '\n' ' ')" \
	"force_scheduled command:suspend/applied command:suspend/rejected/already_planned command:cancel/pending force_suspend command:approve/rejected/stale_approval command:cancel/rejected/not_planned force_scheduled command:suspend/applied force_lift "
check "force_scheduled: scope, plan (its own seq), from, until, reason (who signed), notice" \
	"$(row "$P" "json_extract(detail, '\$.event') || '|' || scope || '|' || scope_type || '|' || json_extract(detail, '\$.plan') || '|' || json_extract(detail, '\$.from') || '|' || json_extract(detail, '\$.until') || '|' || json_extract(detail, '\$.reason') || '|' || json_extract(detail, '\$.notice') || '|' || ifnull(suspension, 'null')")" \
	"force_scheduled|remit|product|$P|$F|$U|$WHY (by alice)|maint|null"
check "... logged when asked, before from" \
	"$(row "$P" "t >= $T0 and t < $F")" 1
check "the suspend's command row names the plan and its signer" \
	"$(sql "select json_extract(detail, '\$.name') || '|' || json_extract(detail, '\$.args.from') || '|' || json_extract(detail, '\$.args.until') || '|' || json_extract(detail, '\$.result') || '|' || json_extract(detail, '\$.reply') from suspension_log where event='command' and json_extract(detail, '\$.plan')=$P and json_extract(detail, '\$.cmd')='suspend'")" \
	"alice|$F|$U|applied|{\"result\":\"applied\",\"plan\":$P}"
check "force_suspend: stamped from, the plan, until, reason, the plan's notice" \
	"$(row "$S" "t || '|' || json_extract(detail, '\$.plan') || '|' || json_extract(detail, '\$.until') || '|' || json_extract(detail, '\$.reason') || '|' || suspension || '|' || kind || '|' || json_extract(detail, '\$.notice.en') || '|' || (select notice_id from notices where suspension=$S)")" \
	"$F|$P|$U|$WHY (by alice)|$S|forced|remit: exchange is paused for maintenance until $(kst "$U").|maint"
check "force_lift: stamped until, by schedule, ending that suspension" \
	"$(row "$L" "t || '|' || json_extract(detail, '\$.by') || '|' || suspension")" \
	"$U|schedule|$S"

# --- refusals: nothing planned ----------------------------------------------
n=$(sql "select count(*) from suspension_log where event='force_scheduled'")
T1=$(now)
check "from not after now: range (5)" \
	"$(cmd suspend --key alice.key --product wallet --reason r --from "$((T1 - 1000))" --until "$((T1 + 60000))")" \
	'["rejected",5,"range","args: from must be after now (without from, the suspension starts now)"]'
check "until not after from: range (5)" \
	"$(cmd suspend --key alice.key --product wallet --reason r --from "$((T1 + 60000))" --until "$((T1 + 60000))")" \
	'["rejected",5,"range","args: until must be after from"]'
check "from past the year 9999: range (5)" \
	"$(cmd suspend --key alice.key --product wallet --reason r --from 253402300800000 | jq -c '.[0:3]')" \
	'["rejected",5,"range"]'
check "an unknown product: unknown_product" \
	"$(cmd suspend --key alice.key --product nope --reason r --from "$((T1 + 60000))")" \
	'["rejected",6,"unknown_product","no such product \"nope\""]'
check "an unknown notice: unknown_notice (34)" \
	"$(cmd suspend --key alice.key --product wallet --reason r --notice nope --from "$((T1 + 60000))")" \
	'["rejected",34,"unknown_notice","args: no such notice \"nope\""]'
"$CTL" suspend --key alice.key --product wallet --reason r --from tomorrow >out 2>&1
rc=$?
check "--from that is no time: usage, exit 3, nothing sent" \
	"$(head -1 out) rc=$rc" \
	"fxbreakerctl: --from: epoch ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ rc=3"
check "... nothing was planned" \
	"$(sql "select count(*) from suspension_log where event='force_scheduled'")" "$n"
check "cancel with nothing planned: not_planned (39)" \
	"$(cmd cancel --key alice.key --product wallet --reason r)" \
	'["rejected",39,"not_planned","product wallet has no planned suspension pending (one that started is lifted instead)"]'
check "cancel needs the reset role" \
	"$(cmd cancel --key carol.key --product wallet --reason r)" \
	'["rejected",28,"forbidden","carol may not cancel (roles held: suspend; docs/PROTOCOL.md lists the role each command takes)"]'

# --- cancel: four eyes; the product stays open past from -------------------
T2=$(now)
F2=$((T2 + 8000))
U2=$((T2 + 60000))
out=$("$CTL" suspend --key carol.key --pair USD/KRW --reason "pair plan" --from "$F2" --until "$U2" --notice maint 2>&1)
P2=$(sql "select seq from suspension_log where event='force_scheduled' and scope='USD/KRW'")
check "a pair's plan, by one signature (the suspend role)" "$out" "applied: plan $P2"
check "the pair's products carry it as upcoming" \
	"$(chk wallet | jq -c '[.decision, .upcoming.plan, .upcoming.from, .upcoming.until, .upcoming.notice.id]')" \
	"[\"allow\",$P2,$F2,$U2,\"maint\"]"
out=$("$CTL" cancel --key alice.key --pair USD/KRW --reason "customers were not told" 2>&1)
R2=$(sql "select max(seq) from suspension_log where event='command'")
check "cancel: a request, naming the plan" "$out" \
	"pending: request $R2, plan $P2 (needs an approval by another operator)"
check "its requester may not approve it: self_approval" \
	"$(cmd approve --key alice.key --request "$R2" --reason ok)" \
	"[\"rejected\",31,\"self_approval\",\"alice requested this: a different person must approve\"]"
check "nor may one without the approve role" \
	"$(cmd approve --key carol.key --request "$R2" --reason ok | jq -c '.[0:3]')" \
	'["rejected",28,"forbidden"]'
out=$("$CTL" approve --key bob.key --request "$R2" --reason "agreed" 2>&1)
C2=$(sql "select seq from suspension_log where event='force_cancel'")
A2=$(sql "select max(seq) from suspension_log where event='command'")
check "approved by a second person: applied, the request and the plan" "$out" \
	"applied: request $R2, plan $P2"
upc=$(chk wallet | jq -c .upcoming)
check "... before the plan's from" "$([ "$(now)" -lt "$F2" ] && echo yes)" yes
check "once cancelled, checks no longer carry upcoming" "$upc" null
check "force_cancel: the plan, its from and until" \
	"$(row "$C2" "scope || '|' || scope_type || '|' || json_extract(detail, '\$.plan') || '|' || json_extract(detail, '\$.from') || '|' || json_extract(detail, '\$.until')")" \
	"USD/KRW|pair|$P2|$F2|$U2"
check "the approval's row names both people and the plan" \
	"$(row "$A2" "json_extract(detail, '\$.cmd') || '|' || json_extract(detail, '\$.requested_by') || '|' || json_extract(detail, '\$.name') || '|' || json_extract(detail, '\$.request') || '|' || json_extract(detail, '\$.plan') || '|' || json_extract(detail, '\$.result')")" \
	"approve|alice|bob|$R2|$P2|applied"
check "approving it again: stale_approval" \
	"$(cmd approve --key bob.key --request "$R2" --reason again | jq -c '.[0:3]')" \
	'["rejected",32,"stale_approval"]'
sleep_until "$F2"
check "past from, the pair's products stay open" \
	"$(chk wallet | jq -c '[.decision, .suspension]')" '["allow",null]'
check "... and no suspension opened on the pair" \
	"$(sql "select count(*) from suspension_log where event='force_suspend' and scope='USD/KRW'")" 0

# --- an approval is bound to the plan its request named --------------------
T4=$(now)
"$CTL" suspend --key alice.key --product wallet --reason "open-ended" --from "$((T4 + 60000))" >/dev/null
PA=$(sql "select max(seq) from suspension_log where event='force_scheduled'")
check "a plan without until: its row has none" \
	"$(row "$PA" "scope || '|' || json_extract(detail, '\$.from') || '|' || ifnull(json_extract(detail, '\$.until'), 'none')")" \
	"wallet|$((T4 + 60000))|none"
R1=$("$CTL" cancel --key alice.key --product wallet --reason "first ask" --json | jq .request)
RB=$("$CTL" cancel --key bob.key --product wallet --reason "second ask" --json | jq .request)
check "two requests to cancel it; one approved" \
	"$("$CTL" approve --key alice.key --request "$RB" --reason ok 2>&1)" \
	"applied: request $RB, plan $PA"
"$CTL" suspend --key alice.key --product wallet --reason "replanned" --from "$((T4 + 90000))" --until "$((T4 + 120000))" >/dev/null
PB=$(sql "select max(seq) from suspension_log where event='force_scheduled'")
check "the other, approved once the scope has a new plan: stale_approval, naming its own" \
	"$(cmd approve --key bob.key --request "$R1" --reason late)" \
	"[\"rejected\",32,\"stale_approval\",\"plan $PA of wallet is no longer pending (it started, or was cancelled): nothing is cancelled\"]"
check "... and the new plan is still pending (no second force_cancel)" \
	"$(sql "select count(*) || '|' || group_concat(json_extract(detail, '\$.plan')) from suspension_log where event='force_cancel' and scope='wallet'")" \
	"1|$PA"

# --- across a restart: the plan and the request to cancel it come back ----
RC=$("$CTL" cancel --key alice.key --product wallet --reason "before the restart" --json | jq .request)
stop_daemon
start_daemon || exit 1
check "after a restart the plan is still announced" \
	"$(chk wallet | jq -c '[.decision, .upcoming.plan]')" "[\"allow\",$PB]"
check "... and the request, bound to it, is approved" \
	"$("$CTL" approve --key bob.key --request "$RC" --reason "after the restart" 2>&1)" \
	"applied: request $RC, plan $PB"
check "... which cancels it" \
	"$(sql "select json_extract(detail, '\$.plan') from suspension_log where event='force_cancel' order by seq desc limit 1") $(chk wallet | jq -c .upcoming)" \
	"$PB null"

# --- the report: each plan, who planned it, its fate ------------------------
check "report --plans (JSON): started, with its suspension" \
	"$("$CTL" report --plans --format json | jq -c "select(.plan == $P) | [.scope, .scope_type, .from, .until, .reason, .planned_by, .fate, .suspension]")" \
	"[\"remit\",\"product\",$F,$U,\"$WHY (by alice)\",\"alice\",\"started\",$S]"
check "report --plans (JSON): cancelled, by whom, approved by whom, when" \
	"$("$CTL" report --plans --format json | jq -c "select(.plan == $P2) | [.scope, .planned_by, .fate, .cancelled, .cancel_requested_by, .cancel_approved_by]")" \
	"[\"USD/KRW\",\"carol\",\"cancelled\",$(row "$C2" t),\"alice\",\"bob\"]"
check "report --plans (JSON): the pending plans" \
	"$("$CTL" report --plans --format json | jq -c 'select(.fate == "pending") | .plan' | tr '\n' ' ')" \
	"$P3 "
check "report --plans (JSON): a plan without until has none" \
	"$("$CTL" report --plans --format json | jq -c "select(.plan == $PA) | [.until, .fate, .cancel_requested_by, .cancel_approved_by]")" \
	'[null,"cancelled","bob","alice"]'
check "report --plans --since: the plans whose from is at or after it" \
	"$("$CTL" report --plans --format json --since "$F2" | jq -c .plan | tr '\n' ' ')" \
	"$P3 $P2 $PA $PB "
# iso MS: a time as the report shows it
iso() { echo "$(date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $(($1 % 1000)))Z"; }
F3=$(row "$P3" "json_extract(detail, '\$.from')")
U3=$(row "$P3" "json_extract(detail, '\$.until')")
CT=$(row "$C2" t)
{
	echo "PLANNED SUSPENSIONS"
	printf "%6s  %-24s %-24s %-24s %-16s %s\n" PLAN SCOPE "FROM (UTC)" "UNTIL (UTC)" "PLANNED BY" FATE
	printf "%6s  %-24s %-24s %-24s %-16s %s\n" "$P" remit "$(iso "$F")" "$(iso "$U")" alice "started: suspension $S"
	printf "%6s  reason: %s\n" "" "$WHY (by alice)"
	printf "%6s  %-24s %-24s %-24s %-16s %s\n" "$P3" remit "$(iso "$F3")" "$(iso "$U3")" alice pending
	printf "%6s  reason: %s\n" "" "later (by alice)"
	printf "%6s  %-24s %-24s %-24s %-16s %s\n" "$P2" USD/KRW "$(iso "$F2")" "$(iso "$U2")" carol "cancelled $(iso "$CT"), requested by alice, approved by bob"
	printf "%6s  reason: %s\n" "" "pair plan (by carol)"
	printf "%6s  %-24s %-24s %-24s %-16s %s\n" "$PA" wallet "$(iso "$((T4 + 60000))")" "(until lifted)" alice "cancelled $(iso "$(sql "select t from suspension_log where event='force_cancel' and json_extract(detail, '\$.plan')=$PA")"), requested by bob, approved by alice"
	printf "%6s  reason: %s\n" "" "open-ended (by alice)"
	printf "%6s  %-24s %-24s %-24s %-16s %s\n" "$PB" wallet "$(iso "$((T4 + 90000))")" "$(iso "$((T4 + 120000))")" alice "cancelled $(iso "$(sql "select t from suspension_log where event='force_cancel' order by seq desc limit 1")"), requested by alice, approved by bob"
	printf "%6s  reason: %s\n" "" "replanned (by alice)"
} >want.txt
"$CTL" report | sed -n '/^PLANNED SUSPENSIONS$/,$p' >got.txt
check "report (text): the plans under their heading, after the episodes" \
	"$(diff want.txt got.txt && echo same)" same
check "report (text): a blank line between the episodes and the plans" \
	"$("$CTL" report | grep -B1 '^PLANNED SUSPENSIONS$' | head -1)" ""
check "report --plans --format csv: a header and one line per plan" \
	"$("$CTL" report --plans --format csv | python3 -c "import csv,sys
r = list(csv.reader(sys.stdin))
print(len(r), r[0][8], [x[0] for x in r[1:]], r[1][8], r[1][9], r[2][8], r[3][8], r[3][10] == '$CT', r[3][11], r[3][12], repr(r[4][5]))")" \
	"6 fate ['$P', '$P3', '$P2', '$PA', '$PB'] started $S pending cancelled True alice bob ''"
# --- a plan whose whole window passes while the daemon is down ------------
T5=$(now)
FL=$((T5 + 5000))
UL=$((T5 + 6000))
"$CTL" suspend --key alice.key --product wallet --reason "short window" --from "$FL" --until "$UL" >/dev/null
PL=$(sql "select max(seq) from suspension_log where event='force_scheduled'")
stop_daemon
check "the plan and the stop came before its from (else the test proves nothing)" \
	"$([ "$(now)" -lt "$FL" ] && echo yes)" yes
sleep_until "$UL"
start_daemon || exit 1
LAPSED="its window passed while the service was down"
wait_for grep -q "plan $PL of product wallet lapsed" "$TMP/daemon.log"
check "a plan whose window passed while down lapses, and stderr says so" \
	"$(grep -c "plan $PL of product wallet lapsed: $LAPSED" "$TMP/daemon.log")" 1
PLR=$(sql "select max(seq) from suspension_log where event='plan_lapsed'")
check "... a plan_lapsed row closes it in the log: its plan, window and why" \
	"$(row "$PLR" "kind || ' ' || scope || ' ' || scope_type || ' ' || detail")" \
	"service wallet product {\"t\":$(row "$PLR" t),\"event\":\"plan_lapsed\",\"scope\":\"wallet\",\"scope_type\":\"product\",\"plan\":$PL,\"from\":$FL,\"until\":$UL,\"reason\":\"$LAPSED\"}"
check "... written at the restart, before service_start" \
	"$(sql "select event from suspension_log where seq > $PLR order by seq limit 1")" service_start
SS=$(sql "select min(seq) from suspension_log where seq > $PLR and event = 'service_start'")
check "... and signed by a checkpoint by the start's (a service row)" \
	"$(sql "select count(*) > 0 from checkpoints where size between $PLR and $SS")" 1
check "... nothing started it, and nothing is announced" \
	"$(sql "select count(*) from suspension_log where event='force_suspend' and json_extract(detail, '\$.plan') = $PL") $(chk wallet | jq -c '[.decision, .upcoming]')" \
	'0 ["allow",null]'
check "report --plans (JSON): lapsed, when, and why" \
	"$("$CTL" report --plans --format json | jq -c "select(.plan == $PL) | [.fate, .suspension, .lapsed, .lapsed_reason]")" \
	"[\"lapsed\",null,$(row "$PLR" t),\"$LAPSED\"]"
check "report (text): its fate in words" \
	"$("$CTL" report | grep -c "^ *$PL  wallet .*lapsed $(iso "$(row "$PLR" t)"): $LAPSED\$")" 1
check "report --plans (CSV): lapsed and lapsed_reason, the last columns" \
	"$("$CTL" report --plans --format csv | python3 -c "import csv,sys
r = list(csv.reader(sys.stdin))
print(r[0][13:], [x[8:] for x in r if x[0] == '$PL'])")" \
	"['lapsed', 'lapsed_reason'] [['lapsed', '', '', '', '', '$(row "$PLR" t)', '$LAPSED']]"
stop_daemon
start_daemon || exit 1
check "a second restart: the lapsed plan is not pending, no second row" \
	"$(sql "select count(*) from suspension_log where event='plan_lapsed'") $(grep -c "plan $PL of" "$TMP/daemon.log")" \
	"1 1"

# --- a plan whose product leaves the config -------------------------------
# By reload: the plan can never start; it lapses at once.
T6=$(now)
"$CTL" suspend --key alice.key --product wallet --reason "wallet stop" --from "$((T6 + 600000))" >/dev/null
PW=$(sql "select max(seq) from suspension_log where event='force_scheduled'")
PR=$P3 # remit's, pending
cp "$TMP/fx.conf" "$TMP/fx.full"
sed '/^\[product wallet\]$/,/^pair/d' "$TMP/fx.full" >"$TMP/fx.conf"
kill -HUP "$PID"
reloaded() { [ "$(sql "select count(*) from suspension_log where event='config_reload'")" -ge 1 ]; }
wait_for reloaded
check "a reload without wallet: its plan lapses, before the reload's row" \
	"$(sql "select event || ' ' || ifnull(json_extract(detail, '\$.plan') || ' ' || json_extract(detail, '\$.reason'), '-') from suspension_log where seq > $PW and kind = 'service' order by seq")" \
	"plan_lapsed $PW its product left the config
config_reload -"
wait_for grep -q "event=plan_lapsed .*plan=$PW " "$TMP/daemon.log"
check "... the operator's line: a warning" \
	"$(grep "event=plan_lapsed" "$TMP/daemon.log" | grep -c "plan=$PW .*reason=\"its product left the config\"")" 1
check "... remit's plan stays" \
	"$(chk remit | jq -c '.upcoming.plan')" "$PR"
# At a restart: a config that lost remit closes remit's plan the same way.
stop_daemon
sed '/^\[product remit\]$/,/^pair/d' "$TMP/fx.conf" >"$TMP/fx.none"
cp "$TMP/fx.none" "$TMP/fx.conf"
start_daemon || exit 1
check "a restart without remit: its plan lapses, its row says why" \
	"$(sql "select json_extract(detail, '\$.plan') || ' ' || json_extract(detail, '\$.reason') from suspension_log where event='plan_lapsed' order by seq desc limit 1")" \
	"$PR its product is not in the config"
check "... and nothing is pending" \
	"$("$CTL" report --plans --format json | jq -c 'select(.fate == "pending") | .plan' | tr '\n' ' ')" \
	""

finish
