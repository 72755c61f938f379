#!/bin/sh
# e2e_forcenotice.sh BUILD: an operator's reason is internal, customers
# read a notice (issue 9, item 6).  A suspend's --reason and the
# operator's name go to the log row, the command row, the report and
# status, and never into the customer notice, in either language: that
# comes from --notice ID (a configured [notice]) or the default forced
# notice.  The same for a pair-wide suspension, and across a restart.
. "$(dirname "$0")/lib_e2e.sh"

operator_key alice alice >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
notice_utc_offset = +09:00
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[notice maint]
ko = {product}: 점검으로 {until} 환전을 멈춥니다.
en = {product}: exchange is paused for maintenance {until}.
[notice why]
ko = {product}: 환전 중단 ({reason}).
en = {product}: exchange is paused ({reason}).
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
WHY="Ops test: pause USD selling"
# the check's reply, whole (fxbreakerctl keeps the Korean text as UTF-8)
chk() { "$CTL" check --json "$1" 1.00; }
# "2024-12-04 00:33 (UTC+09:00)" for epoch ms $1, as notices show it
kst() { echo "$(date -u -d "@$(($1 / 1000 + 9 * 3600))" '+%Y-%m-%d %H:%M') (UTC+09:00)"; }

# --- no --notice: the default forced notice, no reason, no name -----------
out=$("$CTL" suspend --key alice.key --product x --reason "$WHY" 2>&1)
s1=$(sql "select max(seq) from suspension_log where event='force_suspend'")
check "suspend without --notice: applied" "$out" "applied: suspension $s1"
r=$(chk x)
since=$(echo "$r" | json .notice.since)
start=$(kst "$since")
check "the deny quotes the default forced notice" \
	"$(echo "$r" | jq -c '[.decision, .reason, .suspension, .notice.id]')" \
	"[\"deny\",\"forced\",$s1,\"default-forced\"]"
check "its English text: operational reasons, no operator text" \
	"$(echo "$r" | json .notice.en)" \
	"x: exchange is temporarily unavailable until further notice (operational reasons), since $start."
check "its Korean text: the same" \
	"$(echo "$r" | json .notice.ko)" \
	"x: ${start}부터 추후 공지 시까지 환전이 일시 중단됩니다 (운영상의 사유)."
check "neither language carries the reason or the name" \
	"$(echo "$r" | jq -r '.notice.ko, .notice.en' | grep -c -e 'Ops test' -e alice)" 0
check "the chained row's notice texts are the customer's" \
	"$(sql "select json_extract(detail, '\$.notice.ko') || '|' || json_extract(detail, '\$.notice.en') from suspension_log where seq=$s1")" \
	"$(echo "$r" | jq -r '.notice.ko + "|" + .notice.en')"
check "the notices table holds the same" \
	"$(sql "select notice_id || '|' || en from notices where suspension=$s1")" \
	"default-forced|$(echo "$r" | json .notice.en)"
check "the log row carries the reason and the name" \
	"$(sql "select json_extract(detail, '\$.reason') from suspension_log where seq=$s1")" \
	"$WHY (by alice)"
check "the command row: the reason as signed, who signed it" \
	"$(sql "select json_extract(detail, '\$.args.reason') || '|' || json_extract(detail, '\$.name') from suspension_log where event='command' and suspension=$s1")" \
	"$WHY|alice"
check "report: the reason and the name" \
	"$("$CTL" report --format json | jq -r "select(.suspension == $s1) | .trigger.reason")" \
	"$WHY (by alice)"
check "status: the reason and the name, and the notice customers see" \
	"$("$CTL" status --json | jq -c '.products[] | select(.product == "x") | [.suspension, .operator_reason, .notice]')" \
	"[$s1,\"$WHY (by alice)\",\"default-forced\"]"
check "status (text): the same" \
	"$("$CTL" status | grep -A1 '^x ' | tail -n 1 | sed 's/^ *//')" \
	"forced: $WHY (by alice); customers see notice default-forced"

# --- --notice ID: that notice's text ----------------------------------------
out=$("$CTL" suspend --key alice.key --pair USD/KRW --reason "$WHY" --notice maint 2>&1)
s2=$(sql "select max(seq) from suspension_log where event='force_suspend'")
check "a pair-wide suspend with --notice maint: applied" "$out" \
	"applied: suspension $s2"
r=$(chk w)
check "the deny quotes [notice maint], in English" \
	"$(echo "$r" | jq -c '[.suspension, .notice.id, .notice.en]')" \
	"[$s2,\"maint\",\"w: exchange is paused for maintenance until further notice.\"]"
check "... and in Korean" "$(echo "$r" | json .notice.ko)" \
	"w: 점검으로 추후 공지 시까지 환전을 멈춥니다."
check "the pair's row: the reason and the name, its notice" \
	"$(sql "select json_extract(detail, '\$.reason') || '|' || (select notice_id from notices where suspension=$s2) from suspension_log where seq=$s2")" \
	"$WHY (by alice)|maint"
check "the command row names the notice" \
	"$(sql "select json_extract(detail, '\$.args.notice') from suspension_log where event='command' and suspension=$s2")" \
	maint
check "status: the pair held by the force, its reason and notice" \
	"$("$CTL" status --json | jq -c '.pairs[0].held_by[0] | [.kind, .suspension, .operator_reason, .notice]')" \
	"[\"forced\",$s2,\"$WHY (by alice)\",\"maint\"]"
"$CTL" suspend --key alice.key --product w --reason "$WHY" --notice why >/dev/null
s3=$(sql "select max(seq) from suspension_log where event='force_suspend'")
r=$(chk w)
check "a notice's {reason} is the customer's words, not the operator's" \
	"$(echo "$r" | jq -c '[.suspension, .notice.en, .notice.ko]')" \
	"[$s3,\"w: exchange is paused (operational reasons).\",\"w: 환전 중단 (운영상의 사유).\"]"

# --- an unknown notice: refused, nothing suspended ---------------------------
n=$(sql "select count(*) from suspension_log where event='force_suspend'")
out=$("$CTL" suspend --key alice.key --product x --reason "$WHY" --notice nope 2>&1)
check "--notice nope: rejected unknown_notice, exit 1" "$out rc=$?" \
	"rejected: unknown_notice: args: no such notice \"nope\" rc=1"
check "... as error code 34" \
	"$("$CTL" suspend --key alice.key --product x --reason "$WHY" --notice nope --json 2>/dev/null | jq -c '[.result, .error.code]')" \
	'["rejected",34]'
check "... and nothing was suspended" \
	"$(sql "select count(*) from suspension_log where event='force_suspend'")" "$n"

# --- across a restart: each suspension keeps its notice ------------------------
stop_daemon
start_daemon || exit 1
check "after a restart: x's own force still shows the default notice" \
	"$(chk x | jq -c '[.suspension, .notice.id]')" "[$s1,\"default-forced\"]"
check "after a restart: the product's shows [notice why], no reason" \
	"$(chk w | jq -c '[.suspension, .notice.id, .notice.en]')" \
	"[$s3,\"why\",\"w: exchange is paused (operational reasons).\"]"
check "after a restart: the pair's force keeps [notice maint]" \
	"$("$CTL" status --json | jq -c '.pairs[0].held_by[0] | [.suspension, .notice, .operator_reason]')" \
	"[$s2,\"maint\",\"$WHY (by alice)\"]"
finish
