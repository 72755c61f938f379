#!/bin/sh
# e2e_members.sh BUILD: changing a cluster's members by four-eyes command
# (docs/OPERATIONS.md, "Adding and replacing a node"), on real nodes from
# one shared config: peers 1-3 start the cluster, peer 4 (voter = no) is
# added by one admin's cluster_add and another's approval, catches up and
# votes; peer 3 is then removed the same way, and the cluster of 1, 2 and
# 4 elects a new leader when its leader is SIGKILLed.  Every refusal is
# checked by its code; fxbreakerctl reaches each node with --node.
. "$(dirname "$0")/lib_e2e.sh"
CPORT=${CPORT:-19760}
. "$ROOT/tests/lib_cluster.sh"

{
	operator_key rootA rootA admin
	operator_key rootB rootB admin
	operator_key alice alice # suspend,reset,approve: no admin
} >"$TMP/operators"
{
	cluster_conf | sed "s|^service_id = e2e|&\noperators_file = $TMP/operators|"
	for n in 4 5; do
		cat <<EOF2
[peer $n]
voter = no
raft_address = 127.0.0.1:$((CPORT + 10 + n))
check_url = tcp://127.0.0.1:$((CPORT + n))
data_dir = $TMP/n$n
tick_url = ipc://$TMP/run$n/tick.ipc
admin_url = ipc://$TMP/run$n/admin.ipc
events_url = ipc://$TMP/run$n/events.ipc
EOF2
	done
	printf '[pair USD/KRW]\n[product w]\npair = USD/KRW\n'
} >"$TMP/fx.conf"

NPID4= NPID5=
all_down() {
	for n in 1 2 3 4 5; do
		p=$(node_pid $n)
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
}
cleanup() {
	all_down
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE
end() {
	all_down
	[ -n "$KEEP_TMP" ] && cp -r "$TMP" "$KEEP_TMP" 2>/dev/null
	finish
	exit
}

# fxbreakerctl on node N of the shared file: --node picks [peer N].
ctl() { n=$1; shift; "$CTL" --config "$TMP/fx.conf" --node "$n" "$@"; }
# cmd N ARGS: a signed command to node N; "result code" of its answer.
cmd() { ctl "$@" --json 2>/dev/null | jq -r '"\(.result) \(.error.code // "")"'; }
request() { ctl "$@" --json 2>/dev/null | jq -r .request; }
approve() { # approve NODE KEY REQUEST
	cmd "$1" approve --key "$2.key" --request "$3" --reason ok --timeout 20000
}
members() { # members N: "id:role ..." as node N's status lists raft's
	ctl "$1" cluster status --json 2>/dev/null |
		jq -r '[.members[] | "\(.id):\(.role)"] | sort | join(" ")'
}
# members_are N WANT: node N lists WANT (its copy of raft's members is
# refreshed every few ms after a change commits).
members_are() { [ "$(members "$1")" = "$2" ]; }
lead() {
	for n in 1 2 3 4; do
		[ -n "$(node_pid $n)" ] && [ "$(node_role $n)" = leader ] && echo $n && return
	done
}
wait_lead() { # wait_lead [NOT]: a leader other than NOT, within 10 s
	i=0
	while :; do
		l=$(lead)
		[ -n "$l" ] && [ "$l" != "$1" ] && echo "$l" && return 0
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
member_row() { # member_row N EVENT: the detail of N's last EVENT row
	node_sql "$1" "select json_extract(detail, '\$.node') || ' ' ||
		json_extract(detail, '\$.raft_address') || ' ' ||
		json_extract(detail, '\$.requested_by') || ' ' ||
		json_extract(detail, '\$.approved_by')
		from suspension_log where event = '$2' order by seq desc limit 1"
}

mkdir -p n1 n2 n3 n4 n5
"$CTL" logkey "$TMP/n1" >/dev/null
for n in 2 3 4 5; do cp n1/log.key n1/log.pub "n$n/"; done
for n in 1 2 3; do
	node_start $n || { fail "start node $n" "it did not start"; end; }
done
L=$(wait_lead) || { fail "three nodes elect a leader" "none after 10 s"; end; }
ok "three nodes elect a leader"
F=$((L % 3 + 1))
wait_knows "$F" "$L"

# --- cluster status, through --node on the shared file ----------------
check "status: three voters; 4 and 5 (voter = no) are not members" \
	"$(members "$L")" "1:voter 2:voter 3:voter"
check "status --json: the node, its role, the leader" \
	"$(ctl "$F" cluster status --json | jq -c '[.node, .role, .leader, .leader_check_url]')" \
	"[$F,\"follower\",$L,\"tcp://127.0.0.1:$((CPORT + L))\"]"
out=$(ctl "$L" cluster status)
check "status (text): the first line" "$(echo "$out" | head -n 1 | sed 's/term [0-9]*, applied seq [0-9]*, lease [0-9]* ms/T/')" \
	"node $L: leader, T"
check "status (text): the leader line" "$(echo "$out" | sed -n 2p)" \
	"leader: node $L at tcp://127.0.0.1:$((CPORT + L))"
check "status (text): a member line" "$(echo "$out" | grep '^2 ' | tr -s ' ')" \
	"2 voter 127.0.0.1:$((CPORT + 12)) tcp://127.0.0.1:$((CPORT + 2))"
check "--node 9 (no [peer 9]) is a configuration error" \
	"$(ctl 9 cluster status >/dev/null 2>&1; echo $?)" 2
check_has "  and says which peers there are" "$(ctl 9 cluster status 2>&1)" \
	"--node 9: no [peer 9] (the file's peers: 1 2 3 4 5)"
check "cluster with no verb is a usage error" "$("$CTL" cluster >/dev/null 2>&1; echo $?)" 3
check "cluster add without --node: refused before signing" \
	"$(ctl "$L" cluster add --key rootA.key --reason x >/dev/null 2>&1; echo $?)" 3

# --- refusals ----------------------------------------------------------
check "a follower refuses the request: not_leader" \
	"$(cmd "$F" cluster add --key rootA.key --node 4 --reason grow)" "null 37"
check "not an admin: forbidden" \
	"$(cmd "$L" cluster add --key alice.key --node 4 --reason grow)" "rejected 28"
check "no [peer 9] in the config: config" \
	"$(cmd "$L" cluster add --key rootA.key --node 9 --reason grow)" "rejected 14"
check "removing the leader itself: range" \
	"$(cmd "$L" cluster remove --key rootA.key --node "$L" --reason shrink)" "rejected 5"
check_has "  says why, and what to do instead" \
	"$(ctl "$L" cluster remove --key rootA.key --node "$L" --reason shrink --json | jq -r .error.message)" \
	"handing over leadership is not supported"
rq=$(request "$L" cluster add --key rootA.key --node 2 --reason grow)
check "adding a member: the request is filed" "$(echo "$rq" | grep -c '^[0-9][0-9]*$')" 1
check "  its requester cannot approve it" "$(approve "$L" rootA "$rq")" "rejected 31"
check "  an approver who is not an admin: forbidden" "$(approve "$L" alice "$rq")" "rejected 28"
check "  raft refuses it: stale_approval" "$(approve "$L" rootB "$rq")" "rejected 32"
check "  the member rows: none" \
	"$(node_sql "$L" "select count(*) from suspension_log where event like 'cluster_member_%'")" 0

# --- add node 4 --------------------------------------------------------
node_start 4 || { fail "start node 4" "it did not start"; end; }
check "node 4 started (voter = no) is not a member yet" "$(members "$L")" \
	"1:voter 2:voter 3:voter"
check "node 4 answers signed commands not_leader" \
	"$(cmd 4 cluster add --key rootA.key --node 4 --reason grow)" "null 37"
rq=$(request "$L" cluster add --key rootA.key --node 4 --reason grow)
check "rootA asks for node 4: pending" \
	"$(node_sql "$L" "select json_extract(detail, '\$.result') || ' ' || json_extract(detail, '\$.raft_address') from suspension_log where seq = $rq")" \
	"pending 127.0.0.1:$((CPORT + 14))"
check "rootB approves: applied once raft has it" "$(approve "$L" rootB "$rq")" "applied "
wait_for members_are "$L" "1:voter 2:voter 3:voter 4:voter"
check "node 4 is a voter" "$(members "$L")" "1:voter 2:voter 3:voter 4:voter"
check "the cluster_member_added row: node, address, by whom" \
	"$(member_row "$L" cluster_member_added)" \
	"4 127.0.0.1:$((CPORT + 14)) rootA rootB"
check "the same approval again: nothing done twice" "$(approve "$L" rootB "$rq")" "rejected 32"
caught_up() { [ "$(node_applied 4)" = "$(node_applied "$L")" ]; }
if wait_for caught_up; then ok "node 4 caught up: its applied seq is the leader's"; else
	fail "node 4 caught up" "4 at $(node_applied 4), leader at $(node_applied "$L")"; fi
check "node 4's ledger holds its own member row" \
	"$(member_row 4 cluster_member_added)" "4 127.0.0.1:$((CPORT + 14)) rootA rootB"
wait_for members_are 4 "1:voter 2:voter 3:voter 4:voter"
check "node 4 sees itself a voter" "$(members 4)" "1:voter 2:voter 3:voter 4:voter"

# --- remove node 3 (or, if it leads, another follower) -----------------
R=3
[ "$L" = 3 ] && R=$F
rq=$(request "$L" cluster remove --key rootB.key --node "$R" --reason retire)
check "rootA approves the removal of node $R" "$(approve "$L" rootA "$rq")" "applied "
left=$(for n in 1 2 3 4; do [ $n != "$R" ] && printf '%s:voter ' $n; done | sed 's/ $//')
wait_for members_are "$L" "$left"
check "node $R is no member any more" "$(members "$L")" "$left"
check "the cluster_member_removed row" "$(member_row "$L" cluster_member_removed)" \
	"$R 127.0.0.1:$((CPORT + 10 + R)) rootB rootA"
node_stop "$R"
check "node $R stops cleanly" "$NODE_RC" 0
rq=$(request "$L" cluster remove --key rootA.key --node "$R" --reason again)
check "removing it again: raft refuses (stale_approval)" "$(approve "$L" rootB "$rq")" "rejected 32"
# Three voters: removing one more would leave two, which is allowed;
# from two, none may go (tested below).

# --- the cluster of three survives the loss of its leader --------------
# A request filed with this leader is approved by the next one: it comes
# back from the log.
rq5=$(request "$L" cluster add --key rootA.key --node 5 --reason grow)
node_kill "$L"
if L2=$(wait_lead "$L"); then ok "a new leader among the remaining nodes"; else
	fail "a new leader among the remaining nodes" "none after 10 s"; end; fi
check "  it is one of them" "$(echo " 1 2 3 4 " | sed "s/ $R / /;s/ $L / /" | grep -c " $L2 ")" 1
check "  it still lists the dead leader as a voter" "$(members "$L2" | grep -c "$L:voter")" 1
takes_checks() { [ "$(node_check "$L2" '{"op":"check","product":"w","amount":"1.00"}' | jq -r .decision)" = allow ]; }
wait_for takes_checks
check "  and takes checks" \
	"$(node_check "$L2" '{"op":"check","product":"w","amount":"1.00"}' | jq -r .decision)" allow

# --- down to two, and what a busy change looks like --------------------
rq=$(request "$L2" cluster remove --key rootA.key --node "$L" --reason dead)
check "removing the dead leader (three voters to two)" "$(approve "$L2" rootB "$rq")" "applied "
O=$(echo "1 2 4" | tr ' ' '\n' | grep -v "^$L$" | grep -v "^$R$" | grep -v "^$L2$")
check "two voters: removing one more is refused (range)" \
	"$(cmd "$L2" cluster remove --key rootA.key --node "$O" --reason shrink)" "rejected 5"
# Node 5 is not running: its catch-up never starts, so the approval
# waits (libraft gives up on an unresponsive node after its catch-up
# round's limit) and another approval meanwhile is refused busy.
rqx=$(request "$L2" cluster add --key rootA.key --node 2 --reason grow)
# The slow approval, signed once: sent again with its nonce below.
nonce=$(openssl rand -hex 16)
at=$(($(date +%s) * 1000))
again() {
	cmd "$L2" approve --key rootB.key --request "$rq5" --reason ok \
		--timeout 20000 --nonce "$nonce" --issued-at "$at"
}
again >slow.out &
sp=$!
# The change is in flight once raft lists node 5 as a spare catching up.
in_flight() { members "$L2" | grep -q '5:spare'; }
wait_for in_flight
check "another approval while one is carried out: busy" "$(approve "$L2" rootB "$rqx")" "rejected 22"
check "the same approval resent meanwhile: busy, without a row" "$(again)" "null 22"
wait $sp
check "node 5 never answered: raft gave up (stale_approval)" "$(cat slow.out)" "rejected 32"
check "  resent now: its stored answer" "$(again)" "rejected 32"
check "  the refusal is raft's (the request itself came back from the log)" \
	"$(node_sql "$L2" "select json_extract(detail, '\$.why') from suspension_log where event = 'command' and json_extract(detail, '\$.nonce') = '$nonce'" | grep -c 'no pending request')" 0
check "  one row for the approval and its resends" \
	"$(node_sql "$L2" "select count(*) from suspension_log where event = 'command' and json_extract(detail, '\$.nonce') = '$nonce'")" 1
check "  and no row says it was added" \
	"$(node_sql "$L2" "select count(*) from suspension_log where event = 'cluster_member_added' and json_extract(detail, '\$.node') = 5")" 0
check "  raft keeps it as a spare" "$(members "$L2" | grep -o '5:[a-z]*')" 5:spare
rq=$(request "$L2" cluster remove --key rootB.key --node 5 --reason cleanup)
check "  which a removal takes out" "$(approve "$L2" rootA "$rq")" "applied "
check "  leaving the two voters" "$(members "$L2" | wc -w)" 2
end
