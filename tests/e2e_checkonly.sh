#!/bin/sh
# e2e_checkonly.sh BUILD: `fxbreakerd -n` refuses what a start refuses:
# an operators file with a bad mode, owner or line fails -n with exit 2
# and the very warnings the start prints (docs/OPERATIONS.md).
. "$(dirname "$0")/lib_e2e.sh"

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

# The warnings without their timestamps.
untime() { sed 's/^[0-9TZ:.-]* fxbreakerd: /fxbreakerd: /'; }
n_check() {
	"$FXD" -n -f "$TMP/fx.conf" 2>n.err
	echo "rc=$? $(untime <n.err | tr '\n' '|')"
}
# What a real start says (it exits 2): its warnings before "not
# starting".
start_says() {
	"$FXD" -f "$TMP/fx.conf" 2>start.err
	echo "rc=$? $(untime <start.err | grep 'operators' | tr '\n' '|')"
}

check "-n: a good operators file" "$(n_check)" "rc=0 $TMP/fx.conf: ok|"
W="fxbreakerd: warning: $TMP/operators: must exist, belong to root and be writable by root alone|fxbreakerd: error: cannot load the operators ($TMP/operators)|"

chmod 664 "$TMP/operators"
check "-n: group-writable operators file" "$(n_check)" "rc=2 $W"
check "start: the same words (exit 2)" "$(start_says)" "rc=2 $W"
chmod 646 "$TMP/operators"
check "-n: world-writable operators file" "$(n_check)" "rc=2 $W"
chmod 644 "$TMP/operators"
chown nobody "$TMP/operators"
check "-n: operators file not root's" "$(n_check)" "rc=2 $W"
check "start: the same words" "$(start_says)" "rc=2 $W"
chown root "$TMP/operators"
echo "bob nosuchrole 00" >>"$TMP/operators"
L="fxbreakerd: warning: $TMP/operators:2: expected NAME ROLE[,ROLE...] PUBKEY_HEX (roles: suspend, reset, approve, admin)|fxbreakerd: error: cannot load the operators ($TMP/operators)|"
check "-n: a bad line" "$(n_check)" "rc=2 $L"
check "start: the same words" "$(start_says)" "rc=2 $L"
rm "$TMP/operators"
check "-n: no operators file" "$(n_check)" "rc=2 $W"

finish
