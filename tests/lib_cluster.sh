# tests/lib_cluster.sh: three real fxbreakerd nodes on loopback, for the
# cluster's tests (sourced after lib_e2e.sh).  One config file for all
# three, each started with --node N, as docs/OPERATIONS.md says to run
# them.  Node N's check socket is tcp://127.0.0.1:$((CPORT + N)), its Raft
# address 127.0.0.1:$((CPORT + 10 + N)), its data in $TMP/nN, its other
# sockets in $TMP/runN.
#
#   cluster_conf           [service], [cluster] and the three [peer]s
#   node_start N / node_kill N / node_stop N / node_cont N / node_pause N
#   node_admin N JSON / node_check N JSON   one request, the reply
#   node_role N            follower, promoting, leader, or down
#   leader                 the node that says it leads, or nothing
#   wait_leader [NOT]      waits (10 s) for a leader other than NOT
#   wait_knows N L         waits (10 s) until node N names L as its leader
#   node_sql N SQL         a query on node N's ledger

CPORT=${CPORT:-19660}
NPID1= NPID2= NPID3=

cluster_conf() {
	cat <<EOF
[service]
data_dir = $TMP/unused
check_url = tcp://127.0.0.1:$((CPORT + 9))
tick_url = ipc://$TMP/unused/tick.ipc
admin_url = ipc://$TMP/unused/admin.ipc
events_url = ipc://$TMP/unused/events.ipc
service_id = e2e
watchdog_interval = 0
[cluster]
election_timeout = 300ms
heartbeat_timeout = 30ms
snapshot_threshold = ${SNAPSHOT_THRESHOLD:-65536}
EOF
	for n in 1 2 3; do
		cat <<EOF
[peer $n]
raft_address = 127.0.0.1:$((CPORT + 10 + n))
check_url = tcp://127.0.0.1:$((CPORT + n))
data_dir = $TMP/n$n
tick_url = ipc://$TMP/run$n/tick.ipc
admin_url = ipc://$TMP/run$n/admin.ipc
events_url = ipc://$TMP/run$n/events.ipc
EOF
	done
}

node_pid() { eval echo "\$NPID$1"; }
node_start() {
	mkdir -p "$TMP/run$1"
	# Node 3 is told which it is as a systemd drop-in tells a host
	# (FXBREAKER_NODE), the others with --node.
	if [ "$1" = 3 ]; then
		FXBREAKER_NODE=3 "$FXD" -f "$TMP/fx.conf" 2>>"$TMP/n$1.log" &
	else
		"$FXD" -f "$TMP/fx.conf" --node "$1" 2>>"$TMP/n$1.log" &
	fi
	eval "NPID$1=$!"
	i=0
	until node_admin "$1" '{"op":"ping"}' | grep -q '"ok":true'; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$(node_pid "$1")" 2>/dev/null; then
			echo "node $1 did not start:"
			tail -n 20 "$TMP/n$1.log"
			return 1
		fi
		sleep 0.05
	done
}
node_kill() {
	p=$(node_pid "$1")
	[ -n "$p" ] || return 0
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	eval "NPID$1="
}
node_stop() {
	p=$(node_pid "$1")
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	wait "$p"
	NODE_RC=$?
	eval "NPID$1="
	return $NODE_RC
}
node_pause() { kill -STOP "$(node_pid "$1")"; }
node_cont() { kill -CONT "$(node_pid "$1")"; }
node_admin() {
	nngcat --req --dial "ipc://$TMP/run$1/admin.ipc" --data "$2" --ascii \
		--recv-timeout 2 2>/dev/null
}
node_check() {
	nngcat --req --dial "tcp://127.0.0.1:$((CPORT + $1))" --data "$2" \
		--ascii --recv-timeout 2 2>/dev/null
}
node_role() {
	r=$(node_admin "$1" '{"op":"status"}' | jq -r '.cluster.role // empty' 2>/dev/null)
	echo "${r:-down}"
}
leader() {
	for n in 1 2 3; do
		[ -n "$(node_pid $n)" ] && [ "$(node_role $n)" = leader ] && echo $n && return
	done
}
wait_leader() {
	i=0
	while :; do
		l=$(leader)
		[ -n "$l" ] && [ "$l" != "$1" ] && echo "$l" && return 0
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
# A follower learns who leads from the leader's first heartbeat, which
# may come a moment after the election: a test that asserts what a
# follower says of its leader waits for it first.
wait_knows() {
	KNOWS_NODE=$1 KNOWS_LEADER=$2
	wait_for knows_leader
}
knows_leader() {
	[ "$(node_admin "$KNOWS_NODE" '{"op":"status"}' | jq -r .cluster.leader)" = "$KNOWS_LEADER" ]
}
node_sql() { sqlite3 "$TMP/n$1/fxbreaker.db" "$2"; }
# rows N: node N's rows as seq and hash, one a line (the same hashes are
# the same bytes: each hash covers its row and the one before).
rows() {
	node_sql "$1" "select seq || ' ' || hex(hash) from suspension_log order by seq"
}
same_rows() { [ "$(rows "$1" | sha256sum)" = "$(rows "$2" | sha256sum)" ]; }

# cluster_up: the shared log key made once and copied into each node's
# data_dir, the three nodes started, a leader elected, its id in $L; a
# failure ends the test.
cluster_up() {
	mkdir -p "$TMP/n1" "$TMP/n2" "$TMP/n3"
	"$CTL" logkey "$TMP/n1" >/dev/null
	cp "$TMP/n1/log.key" "$TMP/n1/log.pub" "$TMP/n2/"
	cp "$TMP/n1/log.key" "$TMP/n1/log.pub" "$TMP/n3/"
	for n in 1 2 3; do
		if ! node_start $n; then
			fail "start node $n" "it did not start"
			cluster_finish
			exit 1
		fi
	done
	if ! L=$(wait_leader); then
		fail "three nodes elect a leader" "none after 10 s"
		cluster_finish
		exit 1
	fi
	ok "three nodes elect a leader (node $L)"
}
# node_applied N: the last seq node N's ledger holds, as its status says.
node_applied() {
	node_admin "$1" '{"op":"status"}' | jq -r '.cluster.applied_seq // -1'
}
# converged: every running node's ledger ends at the same seq.
converged() {
	a=
	for n in 1 2 3; do
		[ -n "$(node_pid $n)" ] || continue
		s=$(node_applied $n)
		[ -n "$a" ] && [ "$s" != "$a" ] && return 1
		a=$s
	done
	[ -n "$a" ]
}

cluster_cleanup() {
	touch "$TMP/stop" 2>/dev/null
	for n in 1 2 3; do
		p=$(node_pid $n)
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
# cluster_finish: finish, after the nodes are gone (KEEP_TMP=DIR keeps a
# copy of the test's directory, logs and ledgers, for a post-mortem).
cluster_finish() {
	for n in 1 2 3; do
		p=$(node_pid $n)
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	[ -n "$KEEP_TMP" ] && cp -r "$TMP" "$KEEP_TMP" 2>/dev/null
	finish
}
