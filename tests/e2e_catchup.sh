#!/bin/sh
# e2e_catchup.sh BUILD: a node that was away catches up (issue 12).
# Three real nodes on loopback, snapshot_threshold = 1024 (the least the
# parser takes), so that the leader's Raft log is compacted within the
# test:
#
#  (a) by the log: node 3 stopped cleanly, 20 trips on the other two,
#      node 3 started: it holds the same rows (seq, hash) and its status
#      applied_seq is the leader's.
#  (b) by a snapshot: node 3 stopped, 1,400 more trips (one Raft entry
#      each), the leader takes a snapshot and drops the entries node 3
#      lacks; node 3 started: it installs the snapshot (status
#      cluster.snapshots.installed >= 1), converges, and an export of its
#      ledger passes `fxbreakerctl verify` with the shared key.
#  (c) a replaced node: node 3's data_dir wiped but for the log key (a
#      new disk), started: it catches up completely, every row.
#
# Each trip is its own product (tripping on its first check, suspended
# for an hour), so each sequential check is exactly one row and one
# entry, and the counts below are exact.
. "$(dirname "$0")/lib_e2e.sh"
CPORT=${CPORT:-19700}
SNAPSHOT_THRESHOLD=1024
. "$ROOT/tests/lib_cluster.sh"

NPROD=1500
{
	cluster_conf
	echo "[pair USD/KRW]"
	i=1
	while [ $i -le $NPROD ]; do
		printf '[product p%d]\npair = USD/KRW\n[rule r%d]\nproduct = p%d\nkind = volume\nwindow = 1h\ntrip = 1\nsuspend_for = 1h\n' \
			$i $i $i
		i=$((i + 1))
	done
} >"$TMP/fx.conf"

pids=
trap cluster_cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

# trips FROM TO: products pFROM..pTO checked once each on the leader, in
# turn (a not_leader or no_quorum answer is retried on the leader of the
# moment); prints how many answered deny with a suspension id.
NEXT=1
trips() {
	n=0
	i=$1
	while [ "$i" -le "$2" ]; do
		r=$(nngcat --req --dial "tcp://127.0.0.1:$((CPORT + L))" --ascii \
			--recv-timeout 2 --send-timeout 2 \
			--data "{\"op\":\"check\",\"product\":\"p$i\",\"amount\":\"1.00\"}" 2>/dev/null)
		case $r in
		*'"suspension"'*) n=$((n + 1)) ;;
		*'"ledger_unavailable"'*)
			# Failed closed: the leader could not commit the trip
			# (it lost the leadership for a moment).  Said, and
			# asked again, as a client would; at most 5 times.
			echo "catchup: p$i failed closed: $r" >&2
			retries=$((${retries:-0} + 1))
			[ "$retries" -le 5 ] && { L=$(wait_leader) || return 1; continue; }
			;;
		*'"decision"'*) ;;
		*)
			L=$(wait_leader) || return 1
			continue
			;;
		esac
		i=$((i + 1))
	done
	echo "$n"
}
count() { node_sql "$1" "select count(*) from suspension_log"; }
# tripcount N: node N's trip rows (a leadership change adds rows of its
# own; the trips are what the test made).
tripcount() { node_sql "$1" "select count(*) from suspension_log where event = 'trip'"; }
status() { node_admin "$1" '{"op":"status"}'; }
# wait_long CMD...: wait_for, for 30 s: a loaded machine replays a few
# hundred entries slowly, and a stall still fails.
wait_long() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -gt 600 ] && return 1
		sleep 0.05
	done
}
# stalled WHAT: the failure, with what a post-mortem needs.
stalled() {
	fail "$1" "node 3 at $(node_applied 3), leader (node $L) at $(node_applied "$L")"
	echo "node 3 status: $(status 3 | jq -c .cluster)"
	echo "leader status: $(status "$L" | jq -c .cluster)"
	grep -h 'cluster:\|error\|warn' n3.log | tail -n 5
}
# caught_up N: node N's ledger is the leader's, row for row, and its
# status says so.
caught_up() {
	[ "$(node_applied "$1")" = "$(node_applied "$L")" ] &&
		[ "$(rows "$1" | sha256sum)" = "$(rows "$L" | sha256sum)" ]
}

cluster_up
wait_for converged
# Node 3 is the one that goes away: the leader must be one of the others.
if [ "$L" = 3 ]; then
	node_stop 3
	L=$(wait_leader 3)
	node_start 3
	wait_for converged
fi
check "the leader is node 1 or 2" "$(echo "$L" | grep -c '^[12]$')" 1

# --- (a) by the log ----------------------------------------------------------
tbase=$(tripcount "$L")
node_stop 3
check "(a) node 3 stops cleanly: exit 0" "$NODE_RC" 0
check "(a) 20 trips while node 3 is down" "$(trips 1 20)" 20
# trips ran in a subshell: the leader of the moment, if it changed.
L=$(wait_leader)
check "(a) the leader's log grew by 20 trip rows" "$(tripcount "$L")" $((tbase + 20))
node_start 3 || fail "(a) node 3 restarts" "$(tail -n 3 n3.log)"
if wait_long caught_up 3; then
	ok "(a) node 3 caught up: $(count 3) rows (seq, hash) as the leader's"
else
	stalled "(a) node 3 caught up"
fi
check "(a) node 3's status: applied_seq is the leader's" \
	"$(status 3 | jq -c '[.cluster.role, .cluster.applied_seq]')" \
	"[\"follower\",$(node_applied "$L")]"
check "(a) node 3 installed no snapshot (the log sufficed)" \
	"$(status 3 | jq -c '.cluster.snapshots.installed')" 0

# --- (b) by a snapshot -------------------------------------------------------
tbase=$(tripcount "$L")
node_stop 3
check "(b) node 3 stops cleanly: exit 0" "$NODE_RC" 0
t0=$(date +%s)
check "(b) 1400 trips while node 3 is down" "$(trips 21 1420)" 1400
echo "catchup: 1400 trips in $(($(date +%s) - t0)) s"
L=$(wait_leader)
check "(b) the leader's log grew by 1400 trip rows" "$(tripcount "$L")" $((tbase + 1400))
snapped() { [ "$(status "$L" | jq '.cluster.snapshots.taken')" -ge 1 ]; }
if wait_for snapped; then
	ok "(b) the leader took a snapshot ($(status "$L" | jq '.cluster.snapshots.taken'))"
else
	fail "(b) the leader took a snapshot" "$(status "$L" | jq -c .cluster)"
fi
node_start 3 || fail "(b) node 3 restarts" "$(tail -n 3 n3.log)"
if wait_long caught_up 3; then
	ok "(b) node 3 caught up: $(count 3) rows (seq, hash) as the leader's"
else
	stalled "(b) node 3 caught up"
fi
check "(b) node 3 installed a snapshot" \
	"$(status 3 | jq '.cluster.snapshots.installed >= 1')" true
check "(b) node 3's log says so" \
	"$(grep -c 'cluster: installed a snapshot of the ledger up to seq' n3.log)" 1
check "(b) node 3 holds every row: $(count "$L")" "$(count 3)" "$(count "$L")"
check "(b) node 3's seq is dense" \
	"$(node_sql 3 "select max(seq) = count(*) and min(seq) = 1 from suspension_log")" 1
rm -f snap3.db snap3.db.checkpoint
"$CTL" export --db "$TMP/n3/fxbreaker.db" snap3.db >/dev/null 2>&1
"$CTL" verify --pubkey "$TMP/n1/log.pub" snap3.db >verify.3 2>&1
check "(b) node 3: verify of an export with the shared key: ok (0)" "$?" 0
L=$(wait_leader)
check "(b) a product tripped while node 3 was down is denied by the leader with its id" \
	"$(node_check "$L" '{"op":"check","product":"p700","amount":"1.00"}' | jq -c '[.decision, .suspension]')" \
	"[\"deny\",$(node_sql 3 "select seq from suspension_log where event = 'trip' and rule = 'r700'")]"

# --- (c) a replaced node -----------------------------------------------------
node_stop 3
check "(c) node 3 stops cleanly: exit 0" "$NODE_RC" 0
# A new disk without the log key: a cluster node never makes its own.
mv n3 n3.old
mkdir n3
"$FXD" -f "$TMP/fx.conf" --node 3 2>nokey.log
check "(c) a node without the log key refuses to start: exit 111" "$?" 111
check "(c) and says why" \
	"$(grep -c "fxbreakerd: error: $TMP/n3/log.key: missing (no log key in $TMP/n3) (cluster nodes share one log key: make it once with \`fxbreakerctl logkey DIR\` and copy log.key and log.pub into every node's data_dir; docs/OPERATIONS.md, \"Three nodes\")" nokey.log)" 1
rm -rf n3 && mv n3.old n3
find n3 -mindepth 1 ! -name log.key ! -name log.pub -exec rm -rf {} + 2>/dev/null
check "(c) node 3's data_dir holds only the log key" "$(ls n3 | tr '\n' ' ')" "log.key log.pub "
check "(c) 5 trips while node 3 is away" "$(trips 1421 1425)" 5
# trips ran in a subshell: the leader of now (a change of leader since
# adds its own row, which node 3 must hold too).
L=$(wait_leader)
node_start 3 || fail "(c) the new node 3 starts" "$(tail -n 3 n3.log)"
if wait_long caught_up 3; then
	ok "(c) the new node 3 caught up: $(count 3) rows (seq, hash) as the leader's"
else
	stalled "(c) the new node 3 caught up"
fi
total=$(count "$L")
check "(c) node 3 holds every row: $total" "$(count 3)" "$total"
check "(c) node 3's status: applied_seq $total" \
	"$(status 3 | jq -c '[.cluster.role, .cluster.applied_seq]')" "[\"follower\",$total]"
rm -f snap3.db snap3.db.checkpoint
"$CTL" export --db "$TMP/n3/fxbreaker.db" snap3.db >/dev/null 2>&1
"$CTL" verify --pubkey "$TMP/n1/log.pub" snap3.db >verify.3 2>&1
check "(c) node 3: verify of an export with the shared key: ok (0)" "$?" 0
for n in 1 2 3; do
	rows $n >rows.$n
done
check "all three ledgers hold the same $(wc -l <rows.1) rows (seq, hash)" \
	"$(for n in 1 2 3; do sha256sum <rows.$n; done | sort -u | wc -l)" 1
for n in 1 2 3; do
	node_stop $n
	check "node $n stops cleanly: exit 0" "$NODE_RC" 0
done
cluster_finish
