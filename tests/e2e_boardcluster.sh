#!/bin/sh
# e2e_boardcluster.sh BUILD: watching a cluster (docs/OPERATIONS.md,
# "Watching it" and "The board").  Three real nodes on loopback, each with
# its own board and /metrics (http_url in its [peer]), after a single
# node that must show nothing of a cluster:
#   - each node's /metrics passes `promtool check metrics` and shows its
#     own role, the leader, the term, the lease (held by the leader only),
#     the applied seq, one election (on the leader) and no snapshot;
#   - checks a follower refuses count as not_leader, and checks a leader
#     cut off from both followers (SIGSTOP) refuses count as no_quorum,
#     in fxbreaker_check_errors_total, exactly;
#   - the board in headless chromium (tests/boardcluster_test.py): the
#     header's cluster line on the leader and a follower, the follower's
#     amber note, the leader_elected rows in the latest events, and after
#     a SIGKILL of the leader the survivor's board names the new leader
#     within 3 s.
. "$(dirname "$0")/lib_e2e.sh"
CPORT=19820
. "$ROOT/tests/lib_cluster.sh"
HPORT=19850

if ! command -v chromium >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
	fail "chromium and promtool are installed" "not found (make deps installs them)"
	finish
	exit 1
fi
# metrics N: node N's /metrics, in $TMP/metrics.N.
metrics() {
	python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    sys.stdout.write(r.read().decode())' \
		"http://127.0.0.1:$((HPORT + $1))/metrics" >"$TMP/metrics.$1"
}
# value N SERIES: a series' value in $TMP/metrics.N ("" if absent).
value() {
	awk -v s="$2" '$1 == s { print $2 }' "$TMP/metrics.$1"
}

# A single node (no [cluster]) shows nothing of a cluster: no series,
# no "cluster" in status or in the board's document.
{
	service_conf
	echo "http_url = http://127.0.0.1:$((HPORT + 9))"
	printf '[pair USD/KRW]\n[product p1]\npair = USD/KRW\n'
} >"$TMP/fx.conf"
if start_daemon; then
	metrics 9
	check "a single node: no fxbreaker_cluster_ series" \
		"$(grep -c '^fxbreaker_cluster_' "$TMP/metrics.9") $(grep -c '^fxbreaker_build_info' "$TMP/metrics.9")" "0 1"
	check "a single node: no cluster in status or the board's document" \
		"$("$CTL" status --json | jq 'has("cluster")') $(python3 -c '
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    print("cluster" in json.loads(r.read()))' "http://127.0.0.1:$((HPORT + 9))/board.json")" "false False"
	stop_daemon
else
	fail "a single node starts" "$(tail -n 5 "$TMP/daemon.log")"
fi

{
	cluster_conf | awk -v h=$HPORT '{ print } /^\[peer [0-9]\]$/ {
		n = substr($2, 1, length($2) - 1); print "http_url = http://127.0.0.1:" h + n }'
	cat <<'EOF2'
[pair USD/KRW]
[product p1]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
trap cluster_cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

cluster_up
# Every node has applied the leader's leader_elected row, and each
# follower knows the leader (its metrics say so).
ready() { converged && [ "$(node_applied 1)" -gt 0 ]; }
wait_for ready || fail "the three nodes apply the leader's first row" \
	"applied $(node_applied 1) $(node_applied 2) $(node_applied 3)"
F1=$((L % 3 + 1))
F2=$((F1 % 3 + 1))
wait_knows "$F1" "$L"
wait_knows "$F2" "$L"

TERM_L=$(node_admin "$L" '{"op":"status"}' | jq -r .cluster.term)
for n in 1 2 3; do
	metrics $n
	if out=$(promtool check metrics <"$TMP/metrics.$n" 2>&1); then
		ok "node $n's /metrics passes promtool check metrics"
	else
		fail "node $n's /metrics passes promtool check metrics" "$out"
	fi
	if [ "$n" = "$L" ]; then role=leader; else role=follower; fi
	check "node $n: fxbreaker_cluster_role ($role)" \
		"$(value $n 'fxbreaker_cluster_role{role="follower"}') $(value $n 'fxbreaker_cluster_role{role="promoting"}') $(value $n 'fxbreaker_cluster_role{role="leader"}')" \
		"$([ $role = leader ] && echo '0 0 1' || echo '1 0 0')"
	check "node $n: fxbreaker_cluster_leader and _term" \
		"$(value $n fxbreaker_cluster_leader) $(value $n fxbreaker_cluster_term)" "$L $TERM_L"
	check "node $n: elections, snapshots taken and installed" \
		"$(value $n fxbreaker_cluster_elections_total) $(value $n 'fxbreaker_cluster_snapshots_total{what="taken"}') $(value $n 'fxbreaker_cluster_snapshots_total{what="installed"}')" \
		"$([ $role = leader ] && echo 1 || echo 0) 0 0"
	check "node $n: fxbreaker_cluster_applied_seq is status's" \
		"$(value $n fxbreaker_cluster_applied_seq)" "$(node_applied $n)"
	lease=$(value $n fxbreaker_cluster_lease_seconds)
	if [ $role = leader ]; then
		# Renewed by every heartbeat: about the election timeout.
		if awk -v v="$lease" 'BEGIN { exit !(v > 0 && v <= 0.3) }'; then
			ok "the leader's lease is held (${lease} s)"
		else
			fail "the leader's lease is held" "fxbreaker_cluster_lease_seconds $lease"
		fi
	else
		check "node $n: a follower holds no lease" "$lease" "0.000"
	fi
done
# Checks a follower refuses: not_leader, counted by code.
for i in 1 2 3; do
	r=$(node_check "$F1" '{"op":"check","product":"p1","amount":"1","ref":"f'$i'"}')
done
check_has "a follower refuses a check: not_leader" "$r" '"name":"not_leader"'
metrics "$F1"
check "the follower counts 3 not_leader" \
	"$(value "$F1" 'fxbreaker_check_errors_total{error="not_leader"}')" 3

# A leader cut off (both followers stopped): no_quorum once its lease
# ends, until libraft has it step down.  That window is tens of ms, or
# none when libraft's own quorum check comes first: the checks go every
# 5 ms on one connection, and the cut is made again (up to 10 times)
# until one is answered no_quorum.  Every one is counted, by the node
# that answered it.
cutoff() {
	F1=$((L % 3 + 1))
	F2=$((F1 % 3 + 1))
	node_pause "$F1"
	node_pause "$F2"
	r=$(python3 - "$((CPORT + L))" <<'EOF2'
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # SP v0, REQ0
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b
read(8)
nq, last, end, i = 0, "", time.monotonic() + 3, 0
while time.monotonic() < end:
    i += 1
    body = struct.pack(">I", 0x80000000 | i) + \
        b'{"op":"check","product":"p1","amount":"1","ref":"q"}'
    s.sendall(struct.pack(">Q", len(body)) + body)
    last = read(struct.unpack(">Q", read(8))[0])[4:].decode()
    if '"no_quorum"' in last:
        nq += 1
    elif '"not_leader"' in last:
        break
    time.sleep(0.005)
print(nq, last)
EOF2
)
	node_cont "$F1"
	node_cont "$F2"
	nq=$((nq + ${r%% *}))
	L=$(wait_leader)
}
nq=0
tries=0
while [ $tries -lt 10 ] && [ $nq -eq 0 ] && [ -n "$L" ]; do
	tries=$((tries + 1))
	cutoff
done
if [ "$nq" -gt 0 ]; then
	ok "a cut-off leader answers no_quorum ($nq times, cut $tries times)"
else
	fail "a cut-off leader answers no_quorum" "$tries cuts, the last answered [$r]"
fi
counted=0
for n in 1 2 3; do
	metrics $n
	v=$(value $n 'fxbreaker_check_errors_total{error="no_quorum"}')
	counted=$((counted + ${v:-0}))
done
check "the nodes count every no_quorum they answered" "$counted" "$nq"
# The cluster comes back (the same leader or another) before the board.
if L=$(wait_leader); then
	ok "a leader after the pause"
else
	fail "a leader after the pause" "none after 10 s"
	cluster_finish
	exit 1
fi
wait_for converged || fail "the nodes converge after the pause" \
	"applied $(node_applied 1) $(node_applied 2) $(node_applied 3)"
for n in 1 2 3; do
	[ "$n" != "$L" ] && wait_knows "$n" "$L"
done

BOARD_PROFILE="$TMP/chromium" python3 "$ROOT/tests/boardcluster_test.py" \
	"$CPORT" "$HPORT" "$TMP" "$L" "$NPID1" "$NPID2" "$NPID3" \
	>"$TMP/board.out" 2>&1
browser_tally "$TMP/board.out"
# The browser test killed node $L (unless it stopped short): reaped, or
# killed, here.
node_kill "$L"
cluster_finish
