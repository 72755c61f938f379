#!/bin/sh
# e2e_client.sh BUILD: the C client library (BUILD/libfxbclient.a) against
# the real daemon (tests/client_e2e.c): an allow, a deny with its
# suspension and notice, error replies under each fail policy; then the
# daemon stops, and a fail-allow product gets allow by policy (error 36,
# unreachable: no socket file), a default one deny by policy, each within
# the timeout + 300 ms, on the client that was connected and on a fresh
# one.  Then fxb_client_ping, and the two outage codes told apart: 36
# for no socket file, a tcp port nobody listens on, a refused socket, a
# socket another user may not open; 24 for a daemon stopped by SIGSTOP
# (connected before, or a fresh client whose connection it never
# answers).
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[product wallet]
pair = USD/KRW
[product fa]
pair = USD/KRW
[product fd]
pair = USD/KRW
[rule wallet-vol]
product = wallet
kind = volume
window = 1h
trip = 2
suspend_for = 1h
notice = busy
[notice busy]
ko = {product} 환전 일시 중단 ({reason})
en = {product}: exchange paused ({reason})
EOF2
} >"$TMP/fx.conf"

# Build the client with the compiler and sanitizers the library was built
# with (an ASan build's archive needs the ASan runtime).
LIB="$ROOT/$BUILD/libfxbclient.a"
SANFLAGS=
if nm "$LIB" 2>/dev/null | grep -q '__asan_'; then
	SANFLAGS="-fsanitize=address,undefined"
fi
# nng: the build's own (build/nng, the Makefile's NNG_LIBS) unless this
# is an NNG=system build.
NNGLIBS=-lnng
case $BUILD in
*system-nng*) ;;
*) NNGLIBS="$ROOT/build/nng/prefix/lib/libnng.a -lmbedtls -lmbedx509 -lmbedcrypto" ;;
esac
if ! ${CC:-cc} $SANFLAGS -I"$ROOT/ipc" "$ROOT/tests/client_e2e.c" "$LIB" \
	$NNGLIBS -ljansson -lpthread -o "$TMP/client_e2e" 2>cc.err; then
	fail "client_e2e builds" "$(cat cc.err)"
	finish
	exit 1
fi
ok "client_e2e builds against $BUILD/libfxbclient.a"

# Whatever ends the script (a failed step, a closed pipe), nothing it
# started outlives it.
CPID=
cleanup() {
	for p in $PID $CPID; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

if ! start_daemon; then
	fail "start" "the daemon did not start"
	finish
	exit 1
fi
mkfifo cin
"$TMP/client_e2e" "ipc://$TMP/run/check.ipc" 500 <cin >cout 2>cerr &
CPID=$!
exec 8>cin
stopped_at() { grep -q "^$1\$" cout; }
if ! wait_for stopped_at STOP; then
	fail "phase 1 ends" "$(cat cout cerr)"
fi
line() { grep "^$1 " cout | tr '\n' '|'; }
susp=$(sql "select seq from suspension_log where event='trip'")
check "phase 1: allow" "$(line allow)" \
	"allow decision=allow by_policy=0 error=0 reason= rule= kind= susp=0 retry=-1 in_time=1|"
trip=$(grep '^trip decision' cout)
retry=$(echo "$trip" | sed 's/.* retry=\([0-9-]*\) .*/\1/')
check "phase 1: the tripping deny, with the trip row's seq" \
	"$(echo "$trip" | sed 's/ retry=[0-9-]* / retry=R /')" \
	"trip decision=deny by_policy=0 error=0 reason=suspended rule=wallet-vol kind=volume susp=$susp retry=R in_time=1"
if [ "$retry" -gt 3590000 ] && [ "$retry" -le 3600000 ]; then
	ok "phase 1: retry_after_ms is the hour's rest ($retry)"
else
	fail "phase 1: retry_after_ms is the hour's rest" "$retry"
fi
check "phase 1: the notice, ko and en" "$(grep '^trip [ke][on]=' cout)" \
	"trip ko=wallet 환전 일시 중단 (이용량 급증)
trip en=wallet: exchange paused (very heavy use)"
check "phase 1: a settled deny quotes the same suspension" \
	"$(grep '^settled decision' cout | sed 's/ retry=[0-9-]* / retry=R /')" \
	"settled decision=deny by_policy=0 error=0 reason=suspended rule=wallet-vol kind=volume susp=$susp retry=R in_time=1"
check "phase 1: fail-allow product, service up: the service's allow" \
	"$(line fa-up)" \
	"fa-up decision=allow by_policy=0 error=0 reason= rule= kind= susp=0 retry=-1 in_time=1|"
check "phase 1: default product, service up: the service's allow" \
	"$(line fd-up)" \
	"fd-up decision=allow by_policy=0 error=0 reason= rule= kind= susp=0 retry=-1 in_time=1|"
check "phase 1: a request error is a deny, not the policy, code kept" \
	"$(line unknown)" \
	"unknown decision=deny by_policy=0 error=6 reason= rule= kind= susp=0 retry=-1 in_time=1|unknown message=unknown product \"nope\"|"
check "phase 1: bad input on a fail-allow product: still a deny" \
	"$(line fa-bad)" \
	"fa-bad decision=deny by_policy=0 error=4 reason= rule= kind= susp=0 retry=-1 in_time=1|fa-bad message=amount \"1.001\": at most 2 fractional digits for this product's currency|"
check "phase 1: bad input on a default product: deny" \
	"$(line fd-bad)" \
	"fd-bad decision=deny by_policy=0 error=4 reason= rule= kind= susp=0 retry=-1 in_time=1|fd-bad message=amount \"1.001\": at most 2 fractional digits for this product's currency|"

check "phase 1: a batch: one allowed" "$(grep '^mix allowed' cout)" "mix allowed=1"
check "  in order: the allow, the settled deny, each error kept" \
	"$(grep '^mix-[0-9]' cout | sed 's/ retry=[0-9-]* / retry=R /' | tr '\n' '|')" \
	"mix-0 decision=allow by_policy=0 error=0 reason= rule= kind= susp=0 retry=R in_time=1|mix-1 decision=deny by_policy=0 error=0 reason=suspended rule=wallet-vol kind=volume susp=$susp retry=R in_time=1|mix-1 ko=wallet 환전 일시 중단 (이용량 급증)|mix-1 en=wallet: exchange paused (very heavy use)|mix-2 decision=deny by_policy=0 error=6 reason= rule= kind= susp=0 retry=R in_time=1|mix-2 message=unknown product \"nope\"|mix-3 decision=deny by_policy=0 error=4 reason= rule= kind= susp=0 retry=R in_time=1|mix-3 message=amount \"1.001\": at most 2 fractional digits for this product's currency|"
check "phase 1: a batch of 65: refused in the client, deny, no policy" \
	"$(grep '^big' cout | head -n 3 | tr '\n' '|')" \
	"big allowed=0|big-0 decision=deny by_policy=0 error=15 reason= rule= kind= susp=0 retry=-1 in_time=1|big-0 message=a batch holds at most 64 checks|"

stop_daemon
check "daemon stopped: exit 0" "$STOP_RC" 0
echo go >&8
exec 8>&-
if ! wait_for stopped_at END; then
	fail "phase 2 ends" "$(cat cout cerr)"
fi
wait "$CPID"
check "client_e2e: exit 0" "$?" 0
down() { # down NAME DECISION: a fail-policy answer, error 36 (cannot connect), in time
	echo "$1 decision=$2 by_policy=1 error=36 reason= rule= kind= susp=0 retry=-1 in_time=1|$1 message=cannot connect to ipc://$TMP/run/check.ipc: no such socket file|"
}
check "phase 2: fail-allow product, service gone: allow by policy" \
	"$(line fa-down)" "$(down fa-down allow)"
check "phase 2: default product, service gone: deny by policy" \
	"$(line fd-down)" "$(down fd-down deny)"
check "phase 2: a product with no policy set: deny by policy" \
	"$(line other-down)" "$(down other-down deny)"
check "phase 2: a batch, service gone: each product's policy" \
	"$(grep '^bdown' cout | tr '\n' '|')" \
	"bdown allowed=1|$(down bdown-0 allow)$(down bdown-1 deny)"
check "phase 2: fresh client, fail-allow product: allow by policy" \
	"$(line fa-fresh)" "$(down fa-fresh allow)"
check "phase 2: fresh client, default product: deny by policy" \
	"$(line fd-fresh)" "$(down fd-fresh deny)"
check "nothing else printed" \
	"$(grep -v -e '^[a-z0-9-]* decision=' -e '^[a-z0-9-]* \(ko\|en\|message\)=' -e '^[a-z]* allowed=[0-9]*$' -e '^STOP$' -e '^END$' cout)" ""
echo "timings: $(tr '\n' ';' <cerr)"
check "the daemon logged one trip" \
	"$(sql "select count(*) from suspension_log where event='trip'")" 1

# --- ping, and cannot connect (36) against no answer in time (24) ---------
CK="ipc://$TMP/run/check.ipc"
ping1() { "$TMP/client_e2e" "$1" 500 ping 2>/dev/null | tr '\n' '|'; }
# unreach NAME MSG: what a fresh client prints when it cannot connect.
unreach() {
	echo "ping rc=36 in_time=1 msg=$2|check decision=deny by_policy=1 error=36 reason= rule= kind= susp=0 retry=-1 in_time=1|check message=$2|"
}
check "no daemon, no socket file: unreachable (36)" "$(ping1 "$CK")" \
	"$(unreach x "cannot connect to $CK: no such socket file")"
check "no daemon on a tcp port: unreachable (36)" "$(ping1 tcp://127.0.0.1:19551)" \
	"$(unreach x "cannot connect to tcp://127.0.0.1:19551 within 500 ms")"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TMP/dead.ipc"
check "a socket file nobody listens on: unreachable, refused" \
	"$(ping1 "ipc://$TMP/dead.ipc")" \
	"$(unreach x "cannot connect to ipc://$TMP/dead.ipc: connection refused")"
start_daemon || exit 1
check "ping, the daemon up: 0" "$(ping1 "$CK")" \
	"ping rc=0 in_time=1 msg=|check decision=allow by_policy=0 error=0 reason= rule= kind= susp=0 retry=-1 in_time=1|"
check "ping on the admin socket: 0" \
	"$(ping1 "ipc://$TMP/run/admin.ipc" | cut -d'|' -f1)" "ping rc=0 in_time=1 msg="
# Another user: the socket is root's, 0600 (and its directory 0750).
chmod 755 "$TMP"
check "as nobody: permission denied, unreachable (36)" \
	"$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$TMP/client_e2e" "$CK" 500 ping 2>/dev/null | tr '\n' '|')" \
	"$(unreach x "cannot connect to $CK: permission denied (the socket's owner, group and mode)")"
chmod 700 "$TMP"
# Connected, then the daemon stopped (SIGSTOP): no answer in time (24).
rm -f cin cout
mkfifo cin
"$TMP/client_e2e" "$CK" 500 ping wait <cin >cout 2>cerr &
CPID=$!
exec 8>cin
wait_for stopped_at WAIT
kill -STOP "$PID"
# The signal is delivered asynchronously: wait until every thread stopped.
all_stopped() { ! awk '{print $3}' /proc/$PID/task/*/stat | grep -qv '^T$'; }
wait_for all_stopped
echo go >&8
exec 8>&-
wait "$CPID"
CPID=
check "connected, then SIGSTOP: ping 0, then unavailable (24)" \
	"$(grep -v '^check ' cout | tr '\n' '|')" \
	"ping rc=0 in_time=1 msg=|WAIT|ping2 rc=24 in_time=1 msg=no answer within 500 ms|check2 decision=deny by_policy=1 error=24 reason= rule= kind= susp=0 retry=-1 in_time=1|check2 message=no answer within 500 ms|"
check "a fresh client, SIGSTOPped daemon: unavailable (24), it takes connections" \
	"$(ping1 "$CK" | cut -d'|' -f1)" \
	"ping rc=24 in_time=1 msg=no answer within 500 ms ($CK takes connections but the service does not answer)"
kill -CONT "$PID"
check "SIGCONT: ping 0 again" "$(ping1 "$CK" | cut -d'|' -f1)" "ping rc=0 in_time=1 msg="
finish
