#!/bin/sh
# e2e_signed.sh BUILD: a signed command's body is exact (docs/PROTOCOL.md):
# bodies fxbreakerctl never writes, signed with its own code
# (tests/sign_body), are refused with exact codes and messages, and
# change nothing; what fxbreakerctl writes is still applied.
. "$(dirname "$0")/lib_e2e.sh"
SIGN="$ROOT/$BUILD/tests/sign_body"

operator_key alice alice >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[product x]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1

# body JQ: a body fxbreakerctl signs for a suspend of x, edited by JQ.
body() {
	"$CTL" suspend --key alice.key --product x --reason test --sign-only |
		jq -r .body | jq -c "$1"
}
# send JQ: that body signed by tests/sign_body, sent; prints code message.
send() {
	env=$(body "$1" | "$SIGN" alice.key) || return 1
	admin "$env" | jq -r '"\(.result // "") \(.error.code) \(.error.message)"'
}
forces() { sql "select count(*) from suspension_log where event='force_suspend'"; }
rows() { sql "select count(*) from suspension_log"; }

check "sign_body: an unedited body is applied" "$(send .)" "applied null null"
check "one force" "$(forces)" 1
n=$(rows)

# --- item 3: upper-case nonce, unknown fields ---------------------------
check "upper-case nonce refused" "$(send '.nonce |= ascii_upcase')" \
	" 2 body: nonce: 32 lower-case hex digits"
check "short nonce refused" "$(send '.nonce |= .[0:31]')" \
	" 2 body: nonce: 32 lower-case hex digits"
check "unknown body field refused" "$(send '. + {"note":"x"}')" \
	' 2 body: unknown field "note"'
check "refused bodies wrote no row" "$(rows)" "$n"
check "unknown args field refused" "$(send '.args += {"untill":1}')" \
	'rejected 2 args: unknown field "untill" for suspend'
check "approve's args are its own" \
	"$(send '.cmd = "approve" | .args = {"request":1,"reason":"r","product":"x"}')" \
	'rejected 2 args: unknown field "product" for approve'
check "a notice that is not a string: syntax" \
	"$(send '.args += {"notice":7}')" 'rejected 2 args: notice must be a string'
check "an until that is not an integer: syntax" \
	"$(send '.args += {"until":"1733232600000"}')" \
	'rejected 2 args: until must be an integer'
check "a product that is not a string: syntax" \
	"$(send '.args.product = ["x"]')" 'rejected 2 args: product must be a string'
check "no force from the refused ones" "$(forces)" 1
# --- item 4: product and pair both, or neither ---------------------------
check "product and pair both: syntax" \
	"$(send '.args += {"pair":"USD/KRW"}')" \
	'rejected 2 args: give product or pair, not both'
check "neither: missing" "$(send 'del(.args.product)')" \
	'rejected 17 args: give product or pair'
check "an unknown product is still unknown_product" \
	"$(send '.args.product = "nope"')" 'rejected 6 no such product "nope"'
check "an unknown pair is unknown_pair" \
	"$(send 'del(.args.product) | .args.pair = "XXX/YYY"')" \
	'rejected 7 no such pair "XXX/YYY"'
check "no force from these" "$(forces)" 1
check "fxbreakerctl's own body still applied" \
	"$("$CTL" suspend --key alice.key --pair USD/KRW --reason ok --json | jq -r .result)" \
	applied

finish
