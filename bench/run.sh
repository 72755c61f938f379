#!/bin/sh
# bench/run.sh BUILD: everything `make bench` measures (issue 5), in one
# run on this machine: the engine alone (bench_engine; engine_compare.sh:
# the engine before calendars, now, and with calendars), the service
# against a bare nng echo server (service_bench.sh), nng's task threads
# (nng_taskq_bench.sh), the ledger's
# costs (ledger_bench.sh), and three nodes on Raft beside one
# (cluster_bench.sh: trip and allow latency, failover).  Each part prints its own report and then
# KEY=VALUE lines; this script prints them as they come, then a summary
# table, and last one JSON object of every KEY (docs/PERFORMANCE.md).
#
# Figures move +-20 % between runs on a shared machine: compare the
# ratios measured within one run, not figures across runs.
set -eu
B=${1:-build}
OUT="$B/bench/last"
mkdir -p "$OUT"

part() { # part NAME COMMAND...: run it, show and keep its output
	name=$1
	shift
	echo "== $name"
	{
		rc=0
		"$@" || rc=$?
		echo "$rc" >"$OUT/$name.status"
	} 2>&1 | tee "$OUT/$name.txt"
	if [ "$(cat "$OUT/$name.status")" != 0 ]; then
		echo "bench: $name failed" >&2
		exit 1
	fi
}
START=$(date +%s)
part engine "$B/bench/bench_engine"
part engine_compare sh bench/engine_compare.sh "$B"
part service sh bench/service_bench.sh "$B"
part nng sh bench/nng_taskq_bench.sh "$B"
part ledger sh bench/ledger_bench.sh "$B"
part cluster sh bench/cluster_bench.sh "$B"

# Every KEY=VALUE line, in order; later parts do not repeat keys.
cat "$OUT/engine.txt" "$OUT/engine_compare.txt" "$OUT/service.txt" "$OUT/nng.txt" "$OUT/ledger.txt" \
	"$OUT/cluster.txt" |
	grep -E '^[a-z0-9_]+=[-0-9.]+$' >"$OUT/keys.txt"
v() { sed -n "s/^$1=//p" "$OUT/keys.txt" | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo
echo "== summary ($(uname -m), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - START)) s)"
printf '%-44s %14s  %s\n' figure value target
row() { printf '%-44s %14s  %s\n' "$1" "$2" "$3"; }
row "service/echo rps, K=16" "$(v ratio_rps_k16)" ">= 0.90"
row "service/echo rps, K=64" "$(v ratio_rps_k64)" ">= 0.90"
row "service/echo p99, K=16" "$(v ratio_p99_k16)" "<= 1.25"
row "echo rps K=1 / 16 / 64" "$(v echo_rps_k1) / $(v echo_rps_k16) / $(v echo_rps_k64)" ""
row "service rps K=1 / 16 / 64" "$(v service_rps_k1) / $(v service_rps_k16) / $(v service_rps_k64)" ""
row "batch32 checks/s (x echo K=16)" "$(v batch32_checks_per_s) ($(ratio "$(v batch32_checks_per_s)" "$(v echo_rps_k16)")x)" ">= 5x"
row "engine check ns 10 / 100k (ratio)" "$(v engine_check_ns_10) / $(v engine_check_ns_100000) ($(ratio "$(v engine_check_ns_100000)" "$(v engine_check_ns_10)"))" "<= 1.5x, < 200"
row "engine tick ns 10 / 100k (ratio)" "$(v engine_tick_ns_10) / $(v engine_tick_ns_100000) ($(ratio "$(v engine_tick_ns_100000)" "$(v engine_tick_ns_10)"))" "<= 1.5x, < 200"
row "engine check now/base, 10 / 100k" "$(v engine_check_now_over_base_10) / $(v engine_check_now_over_base_100000)" "~1.00 (no slowdown)"
row "engine check calendar/now, 10 / 100k" "$(v engine_check_calendar_over_now_10) / $(v engine_check_calendar_over_now_100000)" ""
row "trip to committed row p50 / p99 (us)" "$(v trip_commit_p50_us) / $(v trip_commit_p99_us)" ""
row "start-up, 1M-row log (ms)" "$(v restart_ms_1m_rows)" "< 2000"
row "verify rows/s" "$(v verify_rows_per_s)" "> 300000"
row "RSS KiB per 1,000 products" "$(v rss_kib_per_1k_products)" ""
row "tick ingest /s beside K=16 checks" "$(v tick_ingest_per_s)" ""
row "checks beside a tick flood / alone, K=16" "$(v flood_check_ratio)" ">= 0.50"
row "service/echo rps K=16, scrape 1/s / none" "$(v ratio_rps_k16_scrape) / $(v ratio_rps_k16_noscrape)" "same"
row "service/echo p99 K=16, scrape 1/s / none" "$(v ratio_p99_k16_scrape) / $(v ratio_p99_k16_noscrape)" "same"
row "kernel floor, UDS ping-pong rps" "$(v uds_rps_k1)" ""
row "nng 2 task threads / default: rps K=16" "$(v nng_taskq2_vs_default_rps_k16)" "> 1"
row "nng 2 task threads / default: p50 K=1" "$(v nng_taskq2_vs_default_p50_k1)" "< 1"
row "trip p50 / p99 (us), one node" "$(v single_trip_p50_us) / $(v single_trip_p99_us)" ""
row "trip p50 / p99 (us), three nodes" "$(v cluster_trip_p50_us) / $(v cluster_trip_p99_us)" ""
row "trip p99, three nodes / one" "$(v cluster_single_trip_p99_ratio)" "<= 3"
row "allow p99 (us), one node / three" "$(v single_allow_p99_us) / $(v cluster_allow_p99_us)" ""
row "failover ms, min / median / max" "$(v failover_ms_min) / $(v failover_ms_median) / $(v failover_ms_max)" "median <= 1000"

# The JSON line: every key, numbers as printed.
awk -F= 'BEGIN { printf "{" }
{ printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $1, $2 }
END { print "}" }' "$OUT/keys.txt"
