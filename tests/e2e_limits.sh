#!/bin/sh
# e2e_limits.sh BUILD: the wire's documented limits at their exact edges
# (docs/PROTOCOL.md): the 65,536-byte request cap on the check, admin and
# tick sockets; the messages for an amount or a price out of range.
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[product wallet]
pair = USD/KRW
[pair JPY/KRW]
[product yen]
pair = JPY/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1

# pad N JSON: N bytes, JSON preceded by spaces (valid JSON all the same).
pad() { printf "%$(($1 - ${#2}))s%s" '' "$2"; }

# --- item 1: a body of exactly 65,536 bytes is served, 65,537 is not ----
pad 65536 '{"op":"ping"}' >at.msg
pad 65537 '{"op":"ping"}' >over.msg
check "cap: 65536-byte file" "$(wc -c <at.msg)" 65536
check "cap: 65537-byte file" "$(wc -c <over.msg)" 65537
for sock in check admin; do
	check "cap: $sock answers 65,536 bytes" \
		"$(nngcat --req --dial "ipc://$TMP/run/$sock.ipc" --file at.msg \
			--ascii --recv-timeout 2 | jq -r .ok)" true
	# nng drops the message and the connection: no reply at all.
	check "cap: $sock drops 65,537 bytes" \
		"$(nngcat --req --dial "ipc://$TMP/run/$sock.ipc" --file over.msg \
			--ascii --recv-timeout 1 2>/dev/null)" ""
	check "cap: $sock serves after the drop" \
		"$(nngcat --req --dial "ipc://$TMP/run/$sock.ipc" \
			--data '{"op":"ping"}' --ascii | jq -r .ok)" true
done
# The tick socket has no request id: its cap is the same 65,536 bytes.
applied() { "$CTL" status --json | jq -r .ticks.applied; }
applied_is() { [ "$(applied)" = "$1" ]; }
pad 65536 '{"op":"tick","pair":"USD/KRW","px":"1400"}' >tick_at.msg
pad 65537 '{"op":"tick","pair":"USD/KRW","px":"1401"}' >tick_over.msg
nngcat --push --dial "ipc://$TMP/run/tick.ipc" --file tick_at.msg
wait_for applied_is 1
check "cap: tick of 65,536 bytes applied" "$(applied)" 1
nngcat --push --dial "ipc://$TMP/run/tick.ipc" --file tick_over.msg
nngcat --push --dial "ipc://$TMP/run/tick.ipc" \
	--data '{"op":"tick","pair":"USD/KRW","px":"1402"}'
wait_for applied_is 2
check "cap: tick of 65,537 bytes dropped, the next applied" \
	"$(applied) $("$CTL" status --json | jq -r .ticks.refused)" "2 0"

# --- item 2: an amount or price out of range says its real bound --------
msg() { req "$1" | jq -r '"\(.error.code) \(.error.message)"'; }
check "range: amount too large (USD, 2 digits)" \
	"$(msg '{"op":"check","product":"wallet","amount":"92233720368547758.08"}')" \
	'5 amount "92233720368547758.08": out of range (at most 92233720368547758.07)'
check "range: amount at the bound is served" \
	"$(req '{"op":"check","product":"wallet","amount":"92233720368547758.07"}' | jq -r .decision)" \
	allow
check "range: amount too large (JPY, 0 digits)" \
	"$(msg '{"op":"check","product":"yen","amount":"9223372036854775808"}')" \
	'5 amount "9223372036854775808": out of range (at most 9223372036854775807)'
check "range: amount zero" \
	"$(msg '{"op":"check","product":"wallet","amount":"0.00"}')" \
	'5 amount "0.00": out of range (above 0)'
check "range: amount negative" \
	"$(msg '{"op":"check","product":"wallet","amount":"-1"}')" \
	'3 amount "-1": not a decimal (digits[.digits])'
check "range: rate too large" \
	"$(msg '{"op":"check","product":"wallet","amount":"1","rate":"9223372036.85477581"}')" \
	'5 rate "9223372036.85477581": out of range (at most 9223372036.8547758)'
check "range: tick price zero" \
	"$(msg '{"op":"tick","pair":"USD/KRW","px":"0"}')" \
	'5 px "0": out of range (above 0)'

finish
