#!/bin/sh
# e2e_ctlfailover.sh BUILD: fxbreakerctl on a list of URLs, the nodes of
# a cluster (issue 12, item 4).  The real daemon is one node; the others
# are nngcat REP servers on loopback tcp (ports 19841-19849) that answer
# as a cluster's other nodes do: not_leader with the leader's URL or
# without, no_quorum, silence.  check, tick, status and a signed suspend
# go to the first node that answers other than "not the leader",
# following a hint only within the list; every node down or refusing
# fails as one would, naming each; a bad list is refused.
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
CHECK="ipc://$TMP/run/check.ipc"
ADMIN="ipc://$TMP/run/admin.ipc"
T=tcp://127.0.0.1

FAKES=
cleanup() {
	for p in $PID $FAKES; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

# fake PORT [REPLY]: a node on $T:PORT answering every request with REPLY
# (none: it never answers); what it got, one quoted line per request, in
# fake.PORT.
listening() { python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1).close()" 2>/dev/null; }
fake() {
	if [ $# -gt 1 ]; then
		nngcat --rep --listen "$T:$1" --data "$2" --quoted >"fake.$1" 2>&1 &
	else
		nngcat --rep --listen "$T:$1" --quoted >"fake.$1" 2>&1 &
	fi
	FAKES="$FAKES $!"
	wait_for listening "$1" || fail "fake on $1" "not listening"
}
asked() { wc -l <"fake.$1" | tr -d ' '; }
nl37() { echo "{\"error\":{\"code\":37,\"name\":\"not_leader\",\"message\":\"not the leader\"$1}}"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

start_daemon || exit 1
fake 19841 "$(nl37 ",\"leader\":\"$T:19847\"")" # names a node outside
fake 19842 "$(nl37 ",\"leader\":\"$CHECK\"")"   # names the daemon
fake 19843 '{"decision":"deny"}'
fake 19844 '{"error":{"code":38,"name":"no_quorum","message":"no quorum"}}'
fake 19845 "$(nl37 "")" # no hint: a follower's admin socket
fake 19846              # silent
fake 19847 '{"decision":"allow"}'
# Nothing listens on 19848 and 19849.

# --- check -----------------------------------------------------------------
out=$("$CTL" check --url "$T:19842,$T:19843,$CHECK" x 1.00 2>err)
check "check: the hint to the leader is followed" "$? $out" "0 allow"
check "check: the node between is not asked" "$(asked 19842) $(asked 19843)" "1 0"
check "check: the refusing node got the request" \
	"$(cat fake.19842)" '"{\"op\":\"check\",\"product\":\"x\",\"amount\":\"1.00\"}"'
check "check: nothing on stderr" "$(cat err)" ""

out=$("$CTL" check --url "$T:19841,$CHECK" x 1.00 2>err)
check "check: a hint outside the list is not followed" "$? $out" "0 allow"
check "check: the node outside is never asked" "$(asked 19841) $(asked 19847)" "1 0"

out=$("$CTL" check --url "$T:19844,$CHECK" x 1.00 2>err)
check "check: no_quorum sends it to the next node" "$? $out $(asked 19844)" "0 allow 1"

t0=$(ms_now)
out=$("$CTL" check --url "$T:19848,$T:19846,$CHECK" --timeout 1500 x 1.00 2>err)
rc=$?
ms=$(($(ms_now) - t0))
check "check: a dead and a silent node skipped" "$rc $out $(asked 19846)" "0 allow 1"
if [ "$ms" -ge 400 ] && [ "$ms" -lt 1500 ]; then
	ok "check: answered within the one deadline ($ms ms)"
else
	fail "check: answered within the one deadline" "$ms ms (want 400-1499: the silent node's share is 750)"
fi

out=$("$CTL" check --url "$T:19845,$T:19844" x 1.00 2>err)
check "check: every node refuses: the last refusal, exit 1" "$? $out" "1 "
check "check: ... printed" "$(cat err)" "fxbreakerctl: error 38 no_quorum: no quorum"

out=$("$CTL" check --url "$T:19848,$T:19849" --timeout 1000 x 1.00 2>err)
check "check: every node down: exit 3" "$? $out" "3 "
check "check: ... one line per node, then where the URLs came from" "$(cat err)" \
	"fxbreakerctl: $T:19848: cannot connect (is fxbreakerd running?): Connection refused
fxbreakerctl: $T:19849: cannot connect (is fxbreakerd running?): Connection refused
fxbreakerctl: $T:19848,$T:19849 was given with --url; without it, check_url in [service] of the config is used"

out=$("$CTL" check --url "$CHECK,,$T:19845" x 1.00 2>err)
check "check: an empty item is refused: exit 3" "$? $out" "3 "
check_has "check: ... saying what a list is" "$(cat err)" \
	"a list of at most 16 URLs, with commas between them and nothing else"

out=$("$CTL" check --url "$CHECK" x 1.00 2>err)
check "check: one URL as ever" "$? $out" "0 allow"

# --- tick, status --------------------------------------------------------
# A tick goes to every node of a list (followers keep their rates warm),
# each answer said on its own line; one that refuses makes the exit 1.
out=$("$CTL" tick --url "$T:19845,$CHECK" USD/KRW 1400.5 2>err)
check "tick: to every node of the list, each said" "$? $out" "1 $T:19845: error 37 not_leader: not the leader
$CHECK: ok"
out=$("$CTL" tick --url "$CHECK,$CHECK" USD/KRW 1400.5 2>err)
check "tick: every node took it: exit 0" "$? $out" "0 $CHECK: ok
$CHECK: ok"
out=$("$CTL" status --url "$T:19845,$ADMIN" --json 2>err | jq -r .service_id)
check "status: past a follower's admin socket" "$out" "e2e"
check "status: the follower was asked" "$(asked 19845)" "3"

# --- a signed command ------------------------------------------------------
out=$("$CTL" suspend --key alice.key --product x --reason cluster \
	--url "$T:19845,$ADMIN" 2>err)
rc=$?
fs=$(sql "select seq from suspension_log where event='force_suspend'")
check "suspend: past a follower (not_leader, no hint): applied" "$rc $out" \
	"0 applied: suspension $fs"
check "suspend: the follower got the envelope" \
	"$(tail -n 1 fake.19845 | grep -c '\\"op\\":\\"command\\"')" "1"
check "suspend: the same bytes went to both (one force row)" \
	"$(sql "select count(*) from suspension_log where event='force_suspend'")" "1"

t0=$(ms_now)
out=$("$CTL" suspend --key alice.key --product x --reason unsure \
	--url "$T:19846,$T:19848" --timeout 1000 2>err)
rc=$?
ms=$(($(ms_now) - t0))
check "suspend: no node answers, one took it: exit 3" "$rc $out" "3 "
check_has "suspend: ... the silent node's line" "$(cat err)" \
	"fxbreakerctl: $T:19846: no reply: Timed out"
check_has "suspend: ... the dead node's line" "$(cat err)" \
	"fxbreakerctl: $T:19848: cannot connect (is fxbreakerd running?): Connection refused"
check_has "suspend: ... it may have been applied" "$(cat err)" \
	"it may have been applied; to ask again without applying it twice"
if [ "$ms" -lt 1500 ]; then
	ok "suspend: within the one deadline ($ms ms)"
else
	fail "suspend: within the one deadline" "$ms ms"
fi

finish
