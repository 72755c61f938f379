#!/bin/sh
# e2e_logfilter.sh BUILD: `fxbreakerctl log` filters: a value no row could
# match (a typo) is an error naming it, exit 3; a known value with no
# rows is an empty answer, exit 0 (docs/OPERATIONS.md).
. "$(dirname "$0")/lib_e2e.sh"

operator_key alice alice >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[pair EUR/KRW]
[product w]
pair = USD/KRW
[product quiet]
pair = EUR/KRW
[rule v]
product = w
kind = volume
window = 60s
trip = 1
suspend_for = 1h
[rule calm]
product = quiet
kind = volume
window = 60s
trip = 100
suspend_for = 1h
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
req '{"op":"check","product":"w","amount":"1"}' >/dev/null
req '{"op":"check","product":"w","amount":"1"}' >/dev/null
"$CTL" suspend --key alice.key --product quiet --reason t >/dev/null

# lg ARGS...: "rc=N rows=N err" (rows: JSON lines on stdout).
lg() {
	"$CTL" log --format json "$@" >lg.out 2>lg.err
	echo "rc=$? rows=$(wc -l <lg.out) $(cat lg.err)"
}
typo() { echo "rc=3 rows=0 fxbreakerctl: log: $1 \"$2\": no such $3 in the config or the log (a typo?)"; }

check "rule: known, rows" "$(lg --rule v)" "rc=0 rows=1 "
check "rule: typo" "$(lg --rule NOPE)" "$(typo --rule NOPE rule)"
check "rule: in the config, no rows" "$(lg --rule calm)" "rc=0 rows=0 "
check "product: known" "$(lg --product w --event trip)" "rc=0 rows=1 "
check "product: typo" "$(lg --product ww)" "$(typo --product ww product)"
check "pair: known, no rows" "$(lg --pair EUR/KRW)" "rc=0 rows=0 "
check "pair: typo" "$(lg --pair USD/KWR)" "$(typo --pair USD/KWR pair)"
check "event: known" "$(lg --event trip)" "rc=0 rows=1 "
check "event: known, no rows yet" "$(lg --event resume)" "rc=0 rows=0 "
check "event: typo" "$(lg --event trips)" "$(typo --event trips event)"
check "kind: known, no rows" "$(lg --kind band)" "rc=0 rows=0 "
check "kind: typo" "$(lg --kind volumes)" "$(typo --kind volumes kind)"
check "operator: by name (enrolment, suspend)" "$(lg --operator alice --event command)" "rc=0 rows=2 "
check "operator: typo" "$(lg --operator alcie)" \
	"$(typo --operator alcie operator)"
# A rule gone from the config is still known by its rows.
sed -i 's/^\[rule v\]/[rule v2]/' "$TMP/fx.conf"
check "rule: gone from the config, in the log" "$(lg --rule v)" "rc=0 rows=1 "
# With --db alone (no config) the log decides.
check "--db: the log knows it" \
	"$(lg --db "$TMP/data/fxbreaker.db" --rule v --config /nonexistent)" \
	"rc=0 rows=1 "
check "--db: a typo" \
	"$(lg --db "$TMP/data/fxbreaker.db" --rule calm --config /nonexistent)" \
	"$(typo --rule calm rule)"

finish
