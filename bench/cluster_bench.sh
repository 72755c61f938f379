# bench/cluster_bench.sh: three nodes on Raft beside one (issue 12), in
# the same run, on loopback: what a check that trips a breaker waits for
# its committed reply, and a plain allowed check, on a single node and on
# a three-node cluster; then the failover a client sees when the leader
# is SIGKILLed, over CLUSTER_BENCH_ROUNDS rounds.  Prints what it
# measures, then, last, one KEY=VALUE line per figure for the JSON line
# of `make bench`.
#
#     sh bench/cluster_bench.sh [BUILD]
#
# Needs $BUILD/fxbreakerd, $BUILD/fxbreakerctl and $BUILD/bench/
# cluster_bench (which does the timing: see bench/cluster_bench.c).
# Every daemon's data is on the build directory's disk (a commit's fsync
# must be real: one node's SQLite synchronous=FULL, the cluster's Raft
# logs), all of them on the same disk; checks go over tcp:// on loopback
# for both, one config for all (the cluster's adds [cluster] and the
# [peer]s, each node started with --node N, as docs/OPERATIONS.md says).
#
# Knobs (environment): CLUSTER_BENCH_TRIPS (1200 rounds of an allowed
# check and a tripping one, on each), CLUSTER_BENCH_PASSES (4: the
# rounds are split into passes, one node and three alternated),
# CLUSTER_BENCH_GAP_MS (5: the pause after each round, bench/
# cluster_bench.c), CLUSTER_BENCH_ROUNDS (10 failovers),
# CLUSTER_BENCH_PORT (19720: the single node's check port; the nodes'
# are +1..+3, their Raft ports +11..+13), CLUSTER_BENCH_DATA (the
# directory the daemons' data goes under: $BUILD/bench; /dev/shm takes
# the disk out, to see what the flushes cost).

BUILD=${1:-build}
ROOT=$(pwd)
B="$ROOT/$BUILD"
FXD="$B/fxbreakerd"
CTL="$B/fxbreakerctl"
CB="$B/bench/cluster_bench"
TRIPS=${CLUSTER_BENCH_TRIPS:-1200}
PASSES=${CLUSTER_BENCH_PASSES:-4}
PER=$((TRIPS / PASSES))
ROUNDS=${CLUSTER_BENCH_ROUNDS:-10}
PORT=${CLUSTER_BENCH_PORT:-19720}

for f in "$FXD" "$CTL" "$CB"; do
	if [ ! -x "$f" ]; then
		echo "cluster_bench: $f is missing (make all first)" >&2
		exit 1
	fi
done
command -v jq >/dev/null || {
	echo "cluster_bench: jq is missing" >&2
	exit 1
}

DATA=${CLUSTER_BENCH_DATA:-$B/bench}
mkdir -p "$DATA" || exit 1
WORK=$(mktemp -d "$DATA/cluster-bench.XXXXXX") || exit 1
RUN=$(mktemp -d /tmp/fxcb.XXXXXX) || exit 1
SPID=
NPID1=''
NPID2=''
NPID3=''

cleanup() {
	for p in $SPID $NPID1 $NPID2 $NPID3; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$WORK" "$RUN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "cluster_bench: $*" >&2
	exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# value KEY FILE: the value of the last KEY=VALUE line of FILE.
value() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

# The rules: "calm" never trips (an allowed check writes no row); each
# of t0 .. t(N-1) trips on its first check and stays suspended for an
# hour, so every tripping check in the bench is a product's first.
NPROD=$((TRIPS + ROUNDS + 10))
rules() {
	cat <<EOF
[pair USD/KRW]

[product calm]
pair = USD/KRW
[rule calm-volume]
product = calm
kind = volume
window = 1s
trip = 1000000000
suspend_for = 1s
EOF
	awk -v n="$NPROD" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "\n[product t%d]\npair = USD/KRW\n[rule t%d-volume]\nproduct = t%d\nkind = volume\nwindow = 1h\ntrip = 1\nsuspend_for = 1h\n", i, i, i
}'
}

# [service] of the single node, or the defaults the cluster's [peer]s
# override.
service() {
	cat <<EOF
[service]
data_dir = $WORK/$1
check_url = tcp://127.0.0.1:$PORT
tick_url = ipc://$RUN/$1-tick.ipc
admin_url = ipc://$RUN/$1-admin.ipc
events_url = ipc://$RUN/$1-events.ipc
service_id = fxbreaker-bench
watchdog_interval = 0
EOF
}

mkdir -p "$WORK/single" || exit 1
{
	service single
	rules
} >"$WORK/single.conf"
{
	service unused
	cat <<EOF
[cluster]
election_timeout = 300ms
heartbeat_timeout = 30ms
EOF
	for n in 1 2 3; do
		cat <<EOF
[peer $n]
raft_address = 127.0.0.1:$((PORT + 10 + n))
check_url = tcp://127.0.0.1:$((PORT + n))
data_dir = $WORK/n$n
tick_url = ipc://$RUN/n$n-tick.ipc
admin_url = ipc://$RUN/n$n-admin.ipc
events_url = ipc://$RUN/n$n-events.ipc
EOF
	done
	rules
} >"$WORK/cluster.conf"
NODES="tcp://127.0.0.1:$((PORT + 1)),tcp://127.0.0.1:$((PORT + 2)),tcp://127.0.0.1:$((PORT + 3))"

admin() { # admin NAME JSON: one request on NAME's admin socket
	nngcat --req --dial "ipc://$RUN/$1-admin.ipc" --data "$2" --ascii \
		--recv-timeout 2 2>/dev/null
}
wait_ping() { # wait_ping NAME PID: until NAME answers on its admin socket
	i=0
	until admin "$1" '{"op":"ping"}' | grep -q '"ok":true'; do
		i=$((i + 1))
		if [ $i -gt 400 ] || ! kill -0 "$2" 2>/dev/null; then
			tail -n 20 "$WORK/$1.log" >&2
			die "$1 did not start"
		fi
		sleep 0.05
	done
}
node_pid() { eval echo "\$NPID$1"; }
node_start() {
	"$FXD" -f "$WORK/cluster.conf" --node "$1" 2>>"$WORK/n$1.log" &
	eval "NPID$1=$!"
	wait_ping "n$1" "$(node_pid "$1")"
}
role() { admin "n$1" '{"op":"status"}' | jq -r '.cluster.role // "down"' 2>/dev/null; }
applied() { admin "n$1" '{"op":"status"}' | jq -r '.cluster.applied_seq // -1' 2>/dev/null; }
leader() {
	for n in 1 2 3; do
		[ -n "$(node_pid $n)" ] && [ "$(role $n)" = leader ] && echo $n && return
	done
}
wait_leader() {
	i=0
	while [ $i -lt 400 ]; do
		l=$(leader)
		[ -n "$l" ] && echo "$l" && return 0
		i=$((i + 1))
		sleep 0.05
	done
	return 1
}
converged() {
	a=$(applied 1)
	[ "$a" -gt 0 ] 2>/dev/null && [ "$(applied 2)" = "$a" ] && [ "$(applied 3)" = "$a" ]
}

echo "== $(getconf _NPROCESSORS_ONLN) CPUs, load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg) at the start; data on" \
	"$(df -P "$WORK" | awk 'NR == 2 { print $1 }')"

# ---- 1. latency: one node and three, passes alternated ----
#
# Both run side by side (the idle one costs a few heartbeats), and the
# passes alternate, one node then three, so that the machine's moods
# (it is shared) fall on both alike; the percentiles are over every
# pass's samples pooled.

echo "== one node (tcp://127.0.0.1:$PORT) and three nodes ($NODES):" \
	"$PASSES passes of $PER rounds each, alternated"
"$FXD" -f "$WORK/single.conf" 2>>"$WORK/single.log" &
SPID=$!
wait_ping single "$SPID"
mkdir -p "$WORK/n1" || exit 1
"$CTL" logkey "$WORK/n1" >/dev/null || die "logkey failed"
for n in 2 3; do
	mkdir -p "$WORK/n$n" && cp "$WORK/n1/log.key" "$WORK/n1/log.pub" \
		"$WORK/n$n/" || exit 1
done
for n in 1 2 3; do node_start $n; done
L=$(wait_leader) || die "three nodes elected no leader in 20 s"
p=0
while [ "$p" -lt "$PASSES" ]; do
	for who in single cluster; do
		urls=$NODES
		[ $who = single ] && urls="tcp://127.0.0.1:$PORT"
		CLUSTER_BENCH_SAMPLES="$WORK/$who.samples" "$CB" latency \
			"$urls" t $((p * PER)) "$PER" calm >"$WORK/$who.$p" ||
			die "$who: pass $((p + 1)) failed"
		echo "   pass $((p + 1)), $who$([ $who = cluster ] &&
			echo " (leader node $L)"):"
		grep -v '=' "$WORK/$who.$p" | grep -v rounds | sed 's/^/   /'
	done
	p=$((p + 1))
done
kill -TERM "$SPID"
wait "$SPID"
SPID=

# pooled WHO KIND P: the nearest-rank percentile P of every pass's
# samples.
pooled() {
	sed -n "s/^$2 //p" "$WORK/$1.samples" | sort -n | awk -v p="$3" '
	{ v[NR] = $1 }
	END { r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1
		printf "%.1f", v[(r > NR) ? NR : r] }'
}

# ---- 3. failover: SIGKILL the leader, ROUNDS times ----
#
# Before each kill every node has applied the whole log (the killed
# node was restarted and caught up), so each round starts from the same
# state.  cluster_bench sends the SIGKILL itself, to time from it.

echo "== failover: SIGKILL the leader, $ROUNDS rounds (client deadline" \
	"${CLUSTER_BENCH_TIMEOUT_MS:-1000} ms, election_timeout 300ms," \
	"heartbeat_timeout 30ms)"
: >"$WORK/failover.txt"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	i=0
	until converged; do
		i=$((i + 1))
		[ $i -gt 200 ] && die "round $r: the nodes did not converge"
		sleep 0.05
	done
	L=$(wait_leader) || die "round $r: no leader"
	lp=$(node_pid "$L")
	surv=
	for n in 1 2 3; do
		[ "$n" = "$L" ] && continue
		surv="$surv${surv:+,}tcp://127.0.0.1:$((PORT + n))"
	done
	"$CB" failover "$NODES" t $((TRIPS + r)) calm "$lp" "$surv" \
		>"$WORK/round.$r" || die "round $r: failover failed"
	wait "$lp" 2>/dev/null
	eval "NPID$L="
	nl=$(wait_leader) || die "round $r: no new leader"
	printf '   round %2d: node %s killed, node %s leads: first answer %7s ms, first committed trip %7s ms (a survivor asked directly: %s ms; %s calls)\n' \
		"$r" "$L" "$nl" "$(value failover_ms "$WORK/round.$r")" \
		"$(value failover_write_ms "$WORK/round.$r")" \
		"$(value failover_node_ms "$WORK/round.$r")" \
		"$(value calls "$WORK/round.$r")"
	echo "$(value failover_ms "$WORK/round.$r") $(value failover_write_ms "$WORK/round.$r") $(value failover_node_ms "$WORK/round.$r")" \
		>>"$WORK/failover.txt"
	node_start "$L"
	r=$((r + 1))
done

# stats COLUMN: min, median (the lower middle for an even count) and max.
stats() {
	cut -d' ' -f"$1" "$WORK/failover.txt" | sort -n | awk '
	{ v[NR] = $1 }
	END { printf "%s %s %s", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
# shellcheck disable=SC2046 # three numbers, three words
set -- $(stats 1)
FO_MIN=$1 FO_MED=$2 FO_MAX=$3
# shellcheck disable=SC2046 # three numbers, three words
set -- $(stats 2)
FW_MIN=$1 FW_MED=$2 FW_MAX=$3
# shellcheck disable=SC2046 # three numbers, three words
set -- $(stats 3)
FN_MIN=$1 FN_MED=$2 FN_MAX=$3
echo "   kill to first answer (ms): min $FO_MIN, median $FO_MED, max $FO_MAX"
echo "   kill to first committed trip (ms): min $FW_MIN, median $FW_MED, max $FW_MAX"
echo "   kill to a survivor's first answer, asked directly (ms): min $FN_MIN, median $FN_MED, max $FN_MAX"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
S_AP50=$(pooled single allow 50)
S_AP99=$(pooled single allow 99)
S_TP50=$(pooled single trip 50)
S_TP99=$(pooled single trip 99)
C_AP50=$(pooled cluster allow 50)
C_AP99=$(pooled cluster allow 99)
C_TP50=$(pooled cluster trip 50)
C_TP99=$(pooled cluster trip 99)
echo "== pooled, $((PER * PASSES)) rounds each (us):" \
	"one node: trip p50 $S_TP50 p99 $S_TP99, allow p50 $S_AP50 p99 $S_AP99;" \
	"three nodes: trip p50 $C_TP50 p99 $C_TP99, allow p50 $C_AP50 p99 $C_AP99"
echo "== cluster / single: trip p50 $(ratio "$C_TP50" "$S_TP50")," \
	"p99 $(ratio "$C_TP99" "$S_TP99") (goal <= 3); allow p50" \
	"$(ratio "$C_AP50" "$S_AP50"), p99 $(ratio "$C_AP99" "$S_AP99")"
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "single_allow_p50_us=$S_AP50"
echo "single_allow_p99_us=$S_AP99"
echo "single_trip_p50_us=$S_TP50"
echo "single_trip_p99_us=$S_TP99"
echo "cluster_allow_p50_us=$C_AP50"
echo "cluster_allow_p99_us=$C_AP99"
echo "cluster_trip_p50_us=$C_TP50"
echo "cluster_trip_p99_us=$C_TP99"
echo "cluster_single_trip_p50_ratio=$(ratio "$C_TP50" "$S_TP50")"
echo "cluster_single_trip_p99_ratio=$(ratio "$C_TP99" "$S_TP99")"
echo "cluster_single_allow_p99_ratio=$(ratio "$C_AP99" "$S_AP99")"
echo "failover_ms_min=$FO_MIN"
echo "failover_ms_median=$FO_MED"
echo "failover_ms_max=$FO_MAX"
echo "failover_write_ms_median=$FW_MED"
echo "failover_node_ms_median=$FN_MED"
