#!/bin/sh
# e2e_batch.sh BUILD: check_batch on the real daemon (docs/PROTOCOL.md,
# "check_batch"): checks decided in order as if each came alone, one
# answer each (a decision or that check's own error), a deny quoting the
# suspension a check earlier in the same batch opened; a malformed batch
# refused whole, nothing decided.
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[product b]
pair = USD/KRW
[product c]
pair = USD/KRW
[rule b-vol]
product = b
kind = volume
window = 1h
trip = 3
suspend_for = 1h
notice = busy
[product d]
pair = USD/KRW
[rule d-vol]
product = d
kind = volume
window = 1h
trip = 3
suspend_for = 1h
[rule c-vol]
product = c
kind = volume
window = 1h
trip = 1000
suspend_for = 1h
[notice busy]
ko = {product} 일시 중단
en = {product} paused
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
batch() { req "{\"op\":\"check_batch\",\"checks\":[$1]$2}"; }
shape() { jq -c '[.results[] | [.decision // .error.name, .suspension // .error.code, .ref]]'; }

# --- decided in order, as if each came alone ----------------------------
out=$(batch '{"product":"b","amount":"1.00","ref":"r1"},{"product":"b","amount":"1.00","ref":"r2"},{"product":"b","amount":"1.00","ref":"r3"},{"product":"b","amount":"1.00"},{"product":"c","amount":"5.00","ref":"r5"}' ',"ref":"B-1"')
trip=$(sql "select seq from suspension_log where event='trip'")
check "the third check trips; later ones quote it; c is untouched" \
	"$(echo "$out" | shape)" \
	"[[\"allow\",null,\"r1\"],[\"allow\",null,\"r2\"],[\"deny\",$trip,\"r3\"],[\"deny\",$trip,null],[\"allow\",null,\"r5\"]]"
check "the batch's own ref" "$(echo "$out" | json .ref)" B-1
check "a deny carries its notice, as alone" \
	"$(echo "$out" | jq -c '.results[2] | [.reason, .rule, .notice.id, .notice.en]')" \
	'["suspended","b-vol","busy","b paused"]'
check "the reply came after the trip row was written" \
	"$(sql "select count(*) from suspension_log where event='trip' and suspension=$trip")" 1
check "counted as single checks: c has 1 of 1000" \
	"$(req '{"op":"check","product":"c","amount":"1.00"}' | json .decision)" allow
check "the same checks alone now: b denied with the same suspension" \
	"$(req '{"op":"check","product":"b","amount":"1.00"}' | json .suspension)" "$trip"

# --- each check's own error; the others still decided -------------------
out=$(batch '{"product":"nope","amount":"1.00","ref":"e1"},{"product":"c","amount":"1.001","ref":"e2"},{"product":"c","amount":"1.00","rate":"x"},{"product":"c","amount":"0"},{"product":"c","amount":"2.00","ref":"ok"}')
check "unknown product, precision, a bad rate, zero; then an allow" \
	"$(echo "$out" | shape)" \
	'[["unknown_product",6,"e1"],["precision",4,"e2"],["decimal",3,null],["range",5,null],["allow",null,"ok"]]'
check "  each error says why" \
	"$(echo "$out" | jq -r '.results[1].error.message')" \
	"amount \"1.001\": at most 2 fractional digits for this product's currency"

# --- a malformed batch is refused whole; nothing is decided -------------
before=$(sql "select count(*) from suspension_log")
err() { jq -c '[.error.name, .error.code, .error.message]'; }
check "checks not an array" "$(req '{"op":"check_batch","checks":{}}' | err)" \
	'["type",20,"\"checks\" must be an array"]'
check "no checks" "$(batch '' | err)" \
	'["range",5,"\"checks\" holds 1 to 64 checks, not 0"]'
many=$(i=0; while [ $i -lt 65 ]; do printf '{"product":"d","amount":"1.00"},'; i=$((i + 1)); done)
check "65 checks" "$(batch "${many%,}" | err)" \
	'["range",5,"\"checks\" holds 1 to 64 checks, not 65"]'
check "a check that is not an object" "$(batch '"c"' | err)" \
	'["type",20,"checks[0]: not an object"]'
check "an unknown field" "$(batch '{"product":"d","amount":"1.00"},{"product":"d","amount":"1.00","op":"check"}' | err)" \
	'["syntax",2,"checks[1]: unknown field \"op\""]'
check "a missing amount" "$(batch '{"product":"d"}' | err)" \
	'["missing",17,"checks[0]: \"amount\" is missing"]'
check "a number for a decimal" "$(batch '{"product":"d","amount":1}' | err)" \
	'["type",20,"checks[0]: \"amount\" must be a string"]'
long=$(printf '%0129d' 0)
check "a ref too long" "$(batch "{\"product\":\"c\",\"amount\":\"1.00\",\"ref\":\"$long\"}" | err)" \
	'["range",5,"checks[0]: \"ref\" is longer than 128 bytes"]'
check "no checks field" "$(req '{"op":"check_batch"}' | err)" \
	'["missing",17,"\"checks\" is missing"]'
check "an unknown top-level field" "$(req '{"op":"check_batch","checks":[{"product":"d","amount":"1.00"}],"x":"1"}' | err)" \
	'["syntax",2,"unknown field \"x\""]'
check "not on the admin socket" \
	"$(admin '{"op":"check_batch","checks":[{"product":"d","amount":"1.00"}]}' | json .error.name)" unknown_op
check "nothing logged" "$(sql "select count(*) from suspension_log")" "$before"
# d trips on its third check: had any refused batch counted, this would.
check "nothing counted: d allows two, trips on the third" \
	"$(batch '{"product":"d","amount":"1.00"},{"product":"d","amount":"1.00"},{"product":"d","amount":"1.00"}' | jq -c '[.results[].decision]')" \
	'["allow","allow","deny"]'
full=$(i=0; while [ $i -lt 64 ]; do printf '{"product":"c","amount":"1.00"},'; i=$((i + 1)); done)
check "a full batch of 64: 64 allows" \
	"$(batch "${full%,}" | jq '[.results[] | select(.decision == "allow")] | length')" 64
check "the daemon is still up" "$(req '{"op":"ping"}' | json .ok)" true
finish
