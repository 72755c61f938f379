#!/bin/sh
# e2e_denied.sh BUILD: the report's DENIED count per suspension across
# restarts (docs/OPERATIONS.md, "Reports"): a clean stop carries each
# open suspension's count to the next start (exact); after a crash the
# count is a lower bound, shown "N+" (denied_partial), never a definite
# wrong number.
. "$(dirname "$0")/lib_e2e.sh"

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
[product a]
pair = USD/KRW
[product b]
pair = USD/KRW
[product c]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1

# deny PRODUCT N: N checks, each denied quoting the product's suspension.
deny() {
	i=0
	while [ $i -lt "$2" ]; do
		r=$(req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1\"}" | jq -r .decision)
		[ "$r" = deny ] || echo "check on $1: $r"
		i=$((i + 1))
	done
}
suspend() {
	"$CTL" suspend --key alice.key --product "$1" --reason t --json | jq -r .suspension
}
lift() { # lift PRODUCT SUSPENSION: alice asks, bob approves
	rq=$("$CTL" lift --key alice.key --product "$1" --suspension "$2" \
		--reason r --json | jq -r .request)
	"$CTL" approve --key bob.key --request "$rq" --suspension "$2" \
		--reason ok --json | jq -r .result
}
# report SUSPENSION: "denied denied_partial" (JSON) and the text column
# (the 8th word: SUSP SCOPE "operator (forced)" START END SECONDS DENIED).
report() {
	echo "$("$CTL" report --format json | jq -r "select(.suspension == $1) | \"\(.denied) \(.denied_partial)\"")" \
		"$("$CTL" report | awk -v s="$1" '$1 == s {print $8}')"
}
end_row() {
	sql "select json_extract(detail,'\$.denied') || ' ' || ifnull(json_extract(detail,'\$.denied_partial'),'-') from suspension_log where event='force_lift' and suspension=$1"
}

# --- a: 3 denied, clean restart, 2 more: exactly 5 ----------------------
sa=$(suspend a)
deny a 3
stop_daemon
check "clean stop: the row carries the open count" \
	"$(sql "select json_extract(detail,'\$.denied') from suspension_log where event='service_stop'")" \
	"[{\"suspension\":$sa,\"denied\":3}]"
start_daemon || exit 1
deny a 2
check "a lifted" "$(lift a "$sa")" applied
check "a: the end row" "$(end_row "$sa")" "5 -"
check "a: report (json, text)" "$(report "$sa")" "5 null 5"

# --- b: 3, clean restart, 1, SIGKILL, 2: at least 5 (6 in truth) -------
# --- c: 2, SIGKILL, 1: at least 1 --------------------------------------
sb=$(suspend b)
deny b 3
stop_daemon
start_daemon || exit 1
deny b 1
sc=$(suspend c)
deny c 2
kill_daemon
start_daemon || exit 1
deny b 2
deny c 1
check "b lifted" "$(lift b "$sb")" applied
check "c lifted" "$(lift c "$sc")" applied
check "b: the end row" "$(end_row "$sb")" "5 1"
check "b: report (json, text)" "$(report "$sb")" "5 true 5+"
check "c: the end row" "$(end_row "$sc")" "1 1"
check "c: report (json, text)" "$(report "$sc")" "1 true 1+"
check "csv: the partial count" \
	"$("$CTL" report --format csv | python3 -c "import csv,sys
print([r['denied'] for r in csv.DictReader(sys.stdin) if r['suspension'] == '$sb'][0])")" 5+

# --- a crash then a clean stop: still partial, carried -----------------
sd=$(suspend c)
deny c 1
kill_daemon
start_daemon || exit 1
deny c 2
stop_daemon
check "the stop row carries partial" \
	"$(sql "select json_extract(detail,'\$.denied') from suspension_log where event='service_stop' order by seq desc limit 1")" \
	"[{\"suspension\":$sd,\"denied\":2,\"denied_partial\":true}]"
start_daemon || exit 1
deny c 4
check "d lifted" "$(lift c "$sd")" applied
check "d: report (json, text)" "$(report "$sd")" "6 true 6+"

finish
