#!/bin/sh
# bench/nng_taskq_bench.sh [BUILD]: nng's task thread count, measured
# (third_party/nng/README.md).  The bare echo server (bench/echo_server,
# the daemon's own ipc_server.c) linked against our nng (build/nng,
# NNG_NUM_TASKQ_THREADS=2) and against the same source built with nng's
# default (twice the CPUs; build/nng-taskq-default), side by side in
# ROUNDS rounds at K = 1 and K = 16 in flight over ipc://.  The client
# (loadgen, no REQ resend) is the same binary for both.  Prints a table,
# then KEY=VALUE lines: medians of the per-round ratios taskq2/default
# (the two servers share each round's noise).
#
#   sh bench/nng_taskq_bench.sh [BUILD]      (ROUNDS=5 SECS=2 WARM=1)
set -u

BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-2}
WARM=${WARM:-1}
B="$(pwd)/$BUILD"
for f in bench/loadgen bench/echo_server bench/echo_server-taskq-default; do
	[ -x "$B/$f" ] || {
		echo "nng_taskq_bench: $B/$f is missing: run make first" >&2
		exit 1
	}
done

. "$(pwd)/bench/bench_conf.sh"
bench_scratch taskq

# The echo answers whatever it gets: one ping-sized request will do.
echo '{"op":"check","product":"fx-wallet.USDKRW.buy","amount":"100.00"}' \
	>"$TMP/req"
"$B/bench/echo_server" "ipc://$TMP/two.ipc" &
PIDS="$PIDS $!"
"$B/bench/echo_server-taskq-default" "ipc://$TMP/default.ipc" &
PIDS="$PIDS $!"
sleep 0.3

: >"$TMP/res"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for k in 1 16; do
		for v in two default; do
			out=$("$B/bench/loadgen" -k $k -w "$WARM" -d "$SECS" \
				-f "$TMP/req" "ipc://$TMP/$v.ipc") || {
				echo "nng_taskq_bench: loadgen failed: $out" >&2
				exit 1
			}
			echo "$r $v $k $out" >>"$TMP/res"
		done
	done
	r=$((r + 1))
done

col() { # col VARIANT K KEY: one value per round
	awk -v v="$1" -v k="$2" -v key="$3" '$2 == v && $3 == k {
		for (i = 4; i <= NF; i++)
			if (index($i, key "=") == 1)
				print substr($i, length(key) + 2) }' "$TMP/res"
}
ratios() { # ratios K KEY: two / default per round
	awk -v k="$1" -v key="$2" '$3 == k {
		for (i = 4; i <= NF; i++)
			if (index($i, key "=") == 1)
				v[$1, $2] = substr($i, length(key) + 2)
		if ($1 > n) n = $1
	} END {
		for (r = 1; r <= n; r++)
			if (v[r, "default"] > 0)
				printf "%.3f\n", v[r, "two"] / v[r, "default"] }' "$TMP/res"
}
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "nan"
		else if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { col "$1" "$2" "$3" | median; }

echo "nng task threads: 2 vs nng's default ($(($(nproc) * 2)) here), bare" \
	"echo over ipc://, $ROUNDS rounds of ${SECS} s; medians; latency in us"
printf '%4s %10s %10s %6s %9s %9s %6s\n' K "2 rps" "dflt rps" ratio \
	"2 p50" "dflt p50" ratio
for k in 1 16; do
	printf '%4s %10.0f %10.0f %6.3f %9.1f %9.1f %6.3f\n' $k \
		"$(med two $k rps)" "$(med default $k rps)" \
		"$(ratios $k rps | median)" "$(med two $k p50_us)" \
		"$(med default $k p50_us)" "$(ratios $k p50_us | median)"
done
echo "per-round 2/default: rps k16 [$(ratios 16 rps | tr '\n' ' ' | sed 's/ $//')]" \
	"p50 k1 [$(ratios 1 p50_us | tr '\n' ' ' | sed 's/ $//')]"
printf 'nng_taskq2_vs_default_rps_k1=%.3f\n' "$(ratios 1 rps | median)"
printf 'nng_taskq2_vs_default_rps_k16=%.3f\n' "$(ratios 16 rps | median)"
printf 'nng_taskq2_vs_default_p50_k1=%.3f\n' "$(ratios 1 p50_us | median)"
printf 'nng_taskq2_vs_default_p50_k16=%.3f\n' "$(ratios 16 p50_us | median)"
