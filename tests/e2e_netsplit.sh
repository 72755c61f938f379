#!/bin/sh
# e2e_netsplit.sh BUILD: a real network partition (issue 12).  Each of
# three nodes runs in a network namespace of its own, joined to the
# others by a veth link to a bridge that this test builds and tears
# down; the leader L is cut off by taking its link down, while it runs:
#   - the other two elect a new leader, which allows and trips;
#   - L, probed from inside its namespace, answers no_quorum within one
#     election timeout (300 ms) plus 100 ms, and allows nothing sent
#     300 ms or more after the cut (the time is printed);
#   - the link up again, L's first answer is not an allow, it becomes a
#     follower naming the new leader, and its ledger converges.
# Building namespaces needs root (CAP_NET_ADMIN): without it the test
# says so and counts nothing; tests/e2e_partition.sh (SIGSTOP) is the
# variant that runs anywhere.
. "$(dirname "$0")/lib_e2e.sh"
CPORT=${CPORT:-19696}
. "$ROOT/tests/lib_cluster.sh"

NS=fxbs$$
NET=10.$((200 + $$ % 50)).$(($$ / 50 % 250)).
net_down() {
	for n in 1 2 3; do ip netns del "$NS$n" 2>/dev/null; done
	ip link del "$NS" 2>/dev/null
}
if ! ip netns add "${NS}x" 2>netns.err; then
	echo "netsplit: network namespaces are not available here" \
		"($(cat netns.err)): tests/e2e_partition.sh stands for this"
	finish
	exit $?
fi
ip netns del "${NS}x"
trap 'net_down; cluster_cleanup' EXIT
trap 'exit 1' HUP INT TERM PIPE
ip link add "$NS" type bridge && ip addr add "${NET}254/24" dev "$NS" &&
	ip link set "$NS" up || { fail "bridge" "cannot build it"; finish; exit 1; }
for n in 1 2 3; do
	ip netns add "$NS$n" &&
		ip link add "${NS}h$n" type veth peer name eth0 netns "$NS$n" &&
		ip link set "${NS}h$n" master "$NS" up &&
		ip netns exec "$NS$n" ip addr add "$NET$n/24" dev eth0 &&
		ip netns exec "$NS$n" ip link set eth0 up &&
		ip netns exec "$NS$n" ip link set lo up ||
		{ fail "namespace $n" "cannot build it"; finish; exit 1; }
done

# Node N: raft on $NET$N:CPORT, checks on $NET$N:CPORT+1, in namespace N
# (the daemon is exec'd: its pid is the node's).
cluster_conf | sed -e "s|raft_address = 127.0.0.1:$((CPORT + 11))|raft_address = ${NET}1:$CPORT|" \
	-e "s|raft_address = 127.0.0.1:$((CPORT + 12))|raft_address = ${NET}2:$CPORT|" \
	-e "s|raft_address = 127.0.0.1:$((CPORT + 13))|raft_address = ${NET}3:$CPORT|" \
	-e "s|check_url = tcp://127.0.0.1:$((CPORT + 1))|check_url = tcp://${NET}1:$((CPORT + 1))|" \
	-e "s|check_url = tcp://127.0.0.1:$((CPORT + 2))|check_url = tcp://${NET}2:$((CPORT + 1))|" \
	-e "s|check_url = tcp://127.0.0.1:$((CPORT + 3))|check_url = tcp://${NET}3:$((CPORT + 1))|" \
	>"$TMP/fx.conf"
cat >>"$TMP/fx.conf" <<'EOF2'
[pair USD/KRW]
[product free]
pair = USD/KRW
[rule vol-free]
product = free
kind = volume
window = 1s
trip = 1000000
suspend_for = 1s
[product t]
pair = USD/KRW
[rule vol-t]
product = t
kind = volume
window = 1h
trip = 2
suspend_for = 1h
EOF2
REAL_FXD=$FXD
FXD="$TMP/fxbreakerd-ns"
cat >"$FXD" <<EOF2
#!/bin/sh
n=\${FXBREAKER_NODE:-\$(echo "\$*" | sed 's/.*--node \([0-9]\).*/\1/')}
exec ip netns exec "$NS\$n" "$REAL_FXD" "\$@"
EOF2
chmod +x "$FXD"
node_url() { echo "tcp://$NET$1:$((CPORT + 1))"; }
node_check() {
	nngcat --req --dial "$(node_url "$1")" --data "$2" --ascii \
		--recv-timeout 2 2>/dev/null
}
CHK='{"op":"check","product":"free","amount":"1.00","ref":"r"}'

mkdir -p n1 n2 n3
"$CTL" logkey "$TMP/n1" >/dev/null
cp n1/log.key n1/log.pub n2/ && cp n1/log.key n1/log.pub n3/
for n in 1 2 3; do
	node_start $n || { fail "start node $n" "it did not start"; cluster_finish; exit 1; }
done
if ! L=$(wait_leader); then
	fail "three nodes in three namespaces elect a leader" "none after 10 s"
	cluster_finish
	exit 1
fi
ok "three nodes in three namespaces elect a leader (node $L)"
wait_for converged
# allows N: node N allows a check now (a leader just elected counts its
# lease from the election: a loaded machine can stall it).
allows() { [ "$(node_check "$1" "$CHK" | jq -r .decision)" = allow ]; }
wait_for allows "$L"
check "the leader allows over its namespace's link" \
	"$(node_check "$L" "$CHK")" '{"decision":"allow","ref":"r"}'

# The probe runs inside L's namespace (L's own address stays reachable
# there), takes L's link down from the test's namespace, and checks
# every 5 ms: "SENT_MS ANSWERED_MS ANSWER" after the cut.
ip netns exec "$NS$L" python3 "$ROOT/tests/cluster_probe.py" "$(node_url "$L")" run \
	nsenter --net=/proc/$$/ns/net ip link set "${NS}h$L" down >answers 2>&1
check "node $L allows before the cut" "$(sed -n 's/^before //p' answers)" allow
took=$(awk '$3 == "38" { print $1; exit }' answers)
echo "netsplit: node $L cut off, no_quorum after ${took:-(never)} ms;" \
	"$(grep -c ' allow$' answers) checks allowed before"
# The probe sends its next check once the last is answered: a check the
# loaded machine held up moves the first no_quorum later by as much.  The
# bound allows for the slowest answer; the check below (no allow sent at
# 300 ms or later) is the safety property, exact.
lag=$(awk '$1 ~ /^[0-9]/ { d = $2 - $1; if (d > m) m = d } END { print m + 0 }' answers)
if [ -n "$took" ] && [ "$took" -le $((400 + lag)) ]; then
	ok "the cut-off leader answers no_quorum within 300 ms + 100 ms, plus the slowest answer ($took ms, $lag ms)"
else
	fail "no_quorum within 400 ms (+ $lag ms) of the cut" "answers:"
	sed 's/^/  /' answers
fi
check "no check sent 300 ms or more after the cut was allowed" \
	"$(awk '$1 ~ /^[0-9]/ && $1 >= 300 && $3 == "allow"' answers | wc -l)" 0
check "the no_quorum reply: exact fields" \
	"$(sed -n 's/^reply //p' answers | jq -c '[.decision, .error.code, .error.name, .ref]')" \
	'[null,38,"no_quorum","r"]'

new_leader() {
	for n in $((L % 3 + 1)) $(((L + 1) % 3 + 1)); do
		[ "$(node_role $n)" = leader ] && N=$n && return 0
	done
	return 1
}
N=
if wait_for new_leader; then
	ok "the majority elects node $N"
else
	fail "the majority elects a new leader" "none within 10 s"
	cluster_finish
	exit 1
fi
wait_for allows "$N"
check "the new leader allows: exact reply" \
	"$(node_check "$N" "$CHK")" '{"decision":"allow","ref":"r"}'
sid=
i=0
while [ -z "$sid" ] && [ $i -lt 10 ]; do
	sid=$(node_check "$N" '{"op":"check","product":"t","amount":"1.00"}' | jq -r '.suspension // empty')
	i=$((i + 1))
done
check "the new leader trips product t: a trip row of its log" \
	"$(node_sql "$N" "select event || ' ' || rule from suspension_log where seq = ${sid:-0}")" \
	"trip vol-t"
# By now libraft has stepped L down as well (no_quorum turns into
# not_leader with no leader known): either way, no allow.
cut=$(ip netns exec "$NS$L" nngcat --req --dial "$(node_url "$L")" --data "$CHK" --ascii --recv-timeout 2 2>/dev/null)
case $(echo "$cut" | jq -c '[.error.code, .error.leader]') in
'[38,null]' | '[37,null]') ok "node $L, still cut off, refuses ($(echo "$cut" | jq -c .error.name))" ;;
*) fail "node $L, still cut off, refuses with no leader named" "got [$cut]" ;;
esac

ip link set "${NS}h$L" up
first=$(ip netns exec "$NS$L" nngcat --req --dial "$(node_url "$L")" --data "$CHK" --ascii --recv-timeout 2 2>/dev/null)
case $(echo "$first" | jq -c '.error.code') in
37 | 38) ok "the first check on node $L after the heal: refused ($(echo "$first" | jq -c .error.name))" ;;
*) fail "the first check on node $L after the heal is refused" "got [$first]" ;;
esac
l_follows() {
	[ "$(node_admin "$L" '{"op":"status"}' | jq -c '[.cluster.role, .cluster.leader]')" = "[\"follower\",$N]" ]
}
if wait_for l_follows; then
	ok "node $L follows node $N after the heal"
else
	fail "node $L follows node $N after the heal" "$(node_admin "$L" '{"op":"status"}' | jq -c .cluster)"
fi
check "node $L answers not_leader with node $N's check_url" \
	"$(ip netns exec "$NS$L" nngcat --req --dial "$(node_url "$L")" --data "$CHK" --ascii --recv-timeout 2 2>/dev/null | jq -c '[.error.code, .error.leader]')" \
	"[37,\"$(node_url "$N")\"]"
l_caught_up() { converged && [ "$(rows "$L" | sha256sum)" = "$(rows "$N" | sha256sum)" ]; }
if wait_for l_caught_up; then
	ok "node $L's ledger converges: $(rows "$N" | wc -l) rows (seq, hash) as node $N's"
else
	fail "node $L's ledger converges" "node $L at $(node_applied "$L"), node $N at $(node_applied "$N")"
fi
for n in 1 2 3; do
	node_stop $n
	check "node $n stops cleanly: exit 0" "$NODE_RC" 0
done
cluster_finish
