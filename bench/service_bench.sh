#!/bin/sh
# bench/service_bench.sh: fxbreakerd against a bare nng echo server, over
# ipc://, on this machine (issue 5 item 1).  `make bench` runs it after
# building; it builds nothing.
#
#   sh bench/service_bench.sh [BUILD]      (ROUNDS=5 SECS=3 WARM=1)
#
# PERF_RECORD=FILE also profiles the daemon during one more K = 16 run.
#
# In a temporary directory it starts fxbreakerd on a copy of
# examples/fxbreaker.conf (sockets and ledger moved there, as
# tests/lib_e2e.sh does), a rate feed of 1,000 ticks a second on its
# tick_url, and bench/echo_server (the daemon's own ipc_server.c, no
# engine).  Then ROUNDS rounds, each running back to back echo then
# service at K = 1, 16 and 64 in flight, with the same request file; then
# a tick flood beside K = 16 checks, checks beside a Prometheus-like
# scrape of GET /metrics every second, and the raw Unix-socket floor.  It
# prints a table, and last the KEY=VALUE lines: medians over rounds, and
# for ratios the median of the per-round ratios (the two servers share
# each round's noise).
#
# Two changes to the example config, both demand thresholds that the
# config itself says to size from your own traffic: the throttles (4 a
# second) and count volumes (trip at 120 a minute) would turn nearly every
# check into a throttle or a deny at 100 k/s.  They are raised to this
# load (rate 1,000,000 a second; warn 10 M and trip 20 M a minute), so the
# rules still run on every check.  Everything else is the example's.
#
# The request mix (see write_requests): dollar wallet buy 44 %, sell 25 %,
# auto-exchange 10 %, remittance 5 %, yen wallet 8 %, euro wallet 8 %;
# half the wallet's dollar checks quote a rate.  Denies are real
# decisions: remittance keeps its example notional limit (USD 400,000 in
# 10 minutes), which this load trips in the first second, so remittance
# is denied (suspended, with the customer notice) from then on; and 4 %
# of all checks are wallet buys quoting a rate from a stale screen,
# outside the band (rate_outside_band).  About 9 % of checks are denied.
set -u

BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
WARM=${WARM:-1}
ROOT=$(pwd)
B="$ROOT/$BUILD"
# The daemon's http_url (GET /metrics for the scrape rounds).
BENCH_HTTP=${BENCH_HTTP:-127.0.0.1:19464}
CTL="$B/fxbreakerctl"
for f in fxbreakerd fxbreakerctl bench/loadgen bench/echo_server \
	bench/tickfeed bench/uds_pingpong; do
	[ -x "$B/$f" ] || {
		echo "service_bench: $B/$f is missing: run make first" >&2
		exit 1
	}
done

. "$ROOT/bench/bench_conf.sh"
bench_scratch bench

die() {
	echo "service_bench: $*" >&2
	[ -f "$TMP/daemon.log" ] && tail -n 20 "$TMP/daemon.log" >&2
	exit 1
}

# val KEY LINE: the value of KEY=... in a key=value line.
val() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

SVC="ipc://$TMP/run/check.ipc"
TICK="ipc://$TMP/run/tick.ipc"
ECHO="ipc://$TMP/echo/check.ipc"
REQ="$TMP/requests.jsonl"
RES="$TMP/results"
export FXBREAKER_CONFIG="$TMP/fx.conf"

# The example config with [service] pointed into $TMP and the demand
# thresholds sized for this load (bench/bench_conf.sh).
bench_conf "$ROOT" "$TMP" "http://$BENCH_HTTP" >"$TMP/fx.conf"
"$CTL" validate "$TMP/fx.conf" >/dev/null || die "derived config is invalid"

# 100 requests of the mix above, cycled by loadgen (bench/bench_conf.sh).
bench_requests >"$REQ"

"$B/fxbreakerd" -f "$TMP/fx.conf" 2>"$TMP/daemon.log" &
DAEMON=$!
PIDS="$PIDS $DAEMON"
i=0
until "$CTL" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 200 ] && die "fxbreakerd did not start"
	sleep 0.05
done
mkdir -p "$TMP/echo"
"$B/bench/echo_server" "$ECHO" &
PIDS="$PIDS $!"
EPOCH=$(date +%s%3N)
"$B/bench/tickfeed" -r 1000 -e "$EPOCH" "$TICK" >"$TMP/feed.log" 2>&1 &
FEED=$!
PIDS="$PIDS $FEED"
# Every pair must have a rate before the first check counts.
for p in auto-exchange.USDKRW fx-wallet.JPYKRW.sell fx-wallet.EURKRW.sell; do
	i=0
	until "$CTL" check "$p" 100 2>/dev/null | grep -q '^allow'; do
		i=$((i + 1))
		[ $i -gt 100 ] && die "no rate for $p after 5 s"
		sleep 0.05
	done
done

# run ROUND KIND K URL: one loadgen run, recorded as "ROUND KIND K
# key=value...".
run() {
	out=$("$B/bench/loadgen" -k "$3" -w "$WARM" -d "$SECS" -f "$REQ" "$4") ||
		die "loadgen $2 k=$3 failed: $out"
	echo "$1 $2 $3 $out" >>"$RES"
	echo "round $1 $2 k=$3: ${out#loadgen url=* k=* }"
}

: >"$RES"
r=1
while [ $r -le "$ROUNDS" ]; do
	for k in 1 16 64; do
		run $r echo $k "$ECHO"
		run $r service $k "$SVC"
	done
	r=$((r + 1))
done

# Scrapes (issue 11): bench/scrape.py GETs /metrics once a second, as a
# Prometheus with scrape_interval 1s would.  SCRAPE_ROUNDS rounds of
# three K = 16 runs back to back: echo, the service alone, the service
# with the scraper beside it.  Per round, service/echo without and with
# the scrapes (each over the same round's echo), and with / without;
# medians over rounds.
SCRAPE_ROUNDS=${SCRAPE_ROUNDS:-3}
: >"$TMP/scrape_res"
s=1
while [ $s -le "$SCRAPE_ROUNDS" ]; do
	E=$("$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQ" "$ECHO") ||
		die "loadgen echo (scrape round) failed: $E"
	N=$("$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQ" "$SVC") ||
		die "loadgen service (scrape round) failed: $N"
	python3 "$ROOT/bench/scrape.py" "http://$BENCH_HTTP/metrics" \
		>"$TMP/scrape.out" 2>&1 &
	SP=$!
	S=$("$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQ" "$SVC") ||
		die "loadgen service beside scrapes failed: $S"
	kill -TERM "$SP"
	wait "$SP" || die "the scraper failed: $(cat "$TMP/scrape.out")"
	echo "$s $(val rps "$E") $(val rps "$N") $(val rps "$S")" \
		"$(val p99_us "$E") $(val p99_us "$N") $(val p99_us "$S")" \
		>>"$TMP/scrape_res"
	echo "scrape round $s: k=16 echo $(val rps "$E")/s, service" \
		"$(val rps "$N")/s alone, $(val rps "$S")/s beside" \
		"$(cat "$TMP/scrape.out"); p99 $(val p99_us "$N") /" \
		"$(val p99_us "$S") us"
	s=$((s + 1))
done
# sratio A B: column A / column B of each scrape round, one per line.
sratio() {
	awk -v a="$1" -v b="$2" '$b > 0 { printf "%.3f\n", $a / $b }' \
		"$TMP/scrape_res"
}

# PERF_RECORD=FILE: also profile fxbreakerd (perf record -g) during one
# more K = 16 run, for docs/PERFORMANCE.md's costs per check.
if [ -n "${PERF_RECORD:-}" ]; then
	"$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQ" "$SVC" \
		>/dev/null 2>&1 &
	LG=$!
	sleep "$WARM"
	perf record -q -g -p "$DAEMON" -o "$PERF_RECORD" -- sleep "$SECS" \
		>/dev/null 2>&1
	wait $LG
fi

# Tick ingest: a flood (as fast as the daemon takes them) beside K = 16
# checks.  The rate is what the daemon applied (status .ticks.applied,
# the steady 1,000/s feed included) over the flood's wall time.  The
# same checks alone just before give flood_check_ratio: checks/s beside
# the flood over checks/s alone (issue 9: at least 0.5, checks keep
# priority over ticks).  FLOOD_ROUNDS pairs of (alone, beside), back to
# back so each pair shares its minute's noise; the median ratio counts.
FLOOD_ROUNDS=${FLOOD_ROUNDS:-3}
applied() { "$CTL" status --json | jq -r .ticks.applied; }
: >"$TMP/flood_ratios"
f=1
while [ $f -le "$FLOOD_ROUNDS" ]; do
	ALONE=$("$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQ" "$SVC") ||
		die "loadgen alone before the flood failed: $ALONE"
	"$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQ" "$SVC" \
		>"$TMP/ingest_checks" 2>&1 &
	LG=$!
	sleep "$WARM"
	T0=$(applied)
	NS0=$(date +%s%N)
	FLOOD=$("$B/bench/tickfeed" -r 0 -d "$SECS" -e "$EPOCH" "$TICK") ||
		die "tick flood failed: $FLOOD"
	T1=$(applied)
	NS1=$(date +%s%N)
	wait $LG || die "loadgen beside the flood failed: $(cat "$TMP/ingest_checks")"
	INGEST_CHECKS=$(cat "$TMP/ingest_checks")
	a=$(echo "$ALONE" | tr ' ' '\n' | sed -n 's/^rps=//p')
	b=$(echo "$INGEST_CHECKS" | tr ' ' '\n' | sed -n 's/^rps=//p')
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", (a > 0 ? b / a : 0) }' \
		>>"$TMP/flood_ratios"
	echo "flood round $f: checks alone $a/s, beside the flood $b/s," \
		"ticks applied $((T1 - T0))"
	f=$((f + 1))
done
BAD_TICKS=$(grep -c 'bad tick' "$TMP/daemon.log")

# Batches of 32 (check_batch, docs/PROTOCOL.md), K = 16: the same checks,
# 32 to a request, each batch a different slice of the mix.
REQB="$TMP/requests-batch32"
awk '{ sub(/^\{"op":"check",/, "{"); c[NR - 1] = $0 }
END { for (b = 0; b < 100; b++) {
	line = "{\"op\":\"check_batch\",\"checks\":["
	for (j = 0; j < 32; j++)
		line = line (j ? "," : "") c[(b * 32 + j) % NR]
	print line "]}" } }' "$REQ" >"$REQB"
BATCH=$("$B/bench/loadgen" -k 16 -w "$WARM" -d "$SECS" -f "$REQB" "$SVC") ||
	die "loadgen on batches failed: $BATCH"

UDS=$("$B/bench/uds_pingpong" -w "$WARM" -d "$SECS") || die "uds_pingpong failed"

# What holds at the end: only remittance's notional rule should have
# tripped (a tripped market rule would mean the feed's walk jumped).
TRIPPED=$("$CTL" status --json 2>/dev/null |
	jq -r '[.rules[] | select(.state != "normal" and .state != "limit") | .rule + "=" + .state] | join(" ")' 2>/dev/null)

# col KIND K KEY: one value per round.
col() {
	awk -v kind="$1" -v k="$2" -v key="$3" '$2 == kind && $3 == k {
		for (i = 4; i <= NF; i++)
			if (index($i, key "=") == 1)
				print substr($i, length(key) + 2)
	}' "$RES"
}
# ratios K KEY: service / echo per round, one per line.
ratios() {
	awk -v k="$1" -v key="$2" '$3 == k {
		for (i = 4; i <= NF; i++)
			if (index($i, key "=") == 1)
				v[$1, $2] = substr($i, length(key) + 2)
		if ($1 > n) n = $1
	} END {
		for (r = 1; r <= n; r++)
			if (v[r, "echo"] > 0)
				printf "%.3f\n", v[r, "service"] / v[r, "echo"]
	}' "$RES"
}
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "nan"
		else if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { col "$1" "$2" "$3" | median; }
sum() { col service "$1" "$2" | awk '{ s += $1 } END { print s + 0 }'; }
join() { tr '\n' ' ' | sed 's/ $//'; }

echo
echo "fxbreakerd vs bare nng echo, ipc://, $ROUNDS rounds of ${SECS} s" \
	"after ${WARM} s warm-up; medians over rounds; latency in us"
printf '%4s %10s %10s %6s %8s %8s %8s %8s %9s %9s\n' K "echo rps" \
	"svc rps" ratio "echo p50" "svc p50" "echo p99" "svc p99" \
	"echo p999" "svc p999"
for k in 1 16 64; do
	printf '%4s %10.0f %10.0f %6.3f %8.1f %8.1f %8.1f %8.1f %9.1f %9.1f\n' \
		$k "$(med echo $k rps)" "$(med service $k rps)" \
		"$(ratios $k rps | median)" \
		"$(med echo $k p50_us)" "$(med service $k p50_us)" \
		"$(med echo $k p99_us)" "$(med service $k p99_us)" \
		"$(med echo $k p999_us)" "$(med service $k p999_us)"
done
echo "per-round service/echo: rps k16 [$(ratios 16 rps | join)]" \
	"rps k64 [$(ratios 64 rps | join)] p99 k16 [$(ratios 16 p99_us | join)]"
ALLOW=0 DENY=0 THROTTLE=0 ERRORS=0 TIMEOUTS=0 REPLIES=0
for k in 1 16 64; do
	ALLOW=$((ALLOW + $(sum $k allow)))
	DENY=$((DENY + $(sum $k deny)))
	THROTTLE=$((THROTTLE + $(sum $k throttle)))
	ERRORS=$((ERRORS + $(sum $k errors)))
	TIMEOUTS=$((TIMEOUTS + $(sum $k timeouts)))
	REPLIES=$((REPLIES + $(sum $k replies)))
done
echo "config: examples/fxbreaker.conf, throttles and count volumes sized" \
	"to this load; 1,000 ticks/s on tick_url throughout; denies: remittance" \
	"(its notional limit trips), wallet buys quoting a rate outside the band"
echo "service replies measured: $REPLIES: allow $ALLOW, deny $DENY," \
	"throttle $THROTTLE, errors $ERRORS, timeouts $TIMEOUTS"
echo "holding at the end: ${TRIPPED:-nothing}"
INGEST=$(awk -v a="$T0" -v b="$T1" -v s="$NS0" -v e="$NS1" \
	'BEGIN { printf "%.0f", (b - a) / ((e - s) / 1e9) }')
echo "tick flood beside k=16 checks: $(val sent "$FLOOD") sent in" \
	"$(val secs "$FLOOD") s; the daemon applied $((T1 - T0)) = $INGEST/s," \
	"$BAD_TICKS bad; checks meanwhile" \
	"$(val rps "$INGEST_CHECKS")/s, p99 $(val p99_us "$INGEST_CHECKS") us"
FLOOD_RATIO=$(median <"$TMP/flood_ratios")
echo "checks k=16 beside the flood / alone, per round:" \
	"[$(join <"$TMP/flood_ratios")], median flood_check_ratio $FLOOD_RATIO"
echo "check_batch of 32, k=16: $(val rps "$BATCH") batches/s =" \
	"$(echo "$(val rps "$BATCH")" | awk '{ print $1 * 32 }') checks/s," \
	"p99 $(val p99_us "$BATCH") us, errors $(val errors "$BATCH")"
echo "scrapes of GET /metrics once a second beside k=16 checks, per round:" \
	"service/echo rps alone [$(sratio 3 2 | join)], beside" \
	"[$(sratio 4 2 | join)]; beside / alone rps [$(sratio 4 3 | join)]," \
	"p99 [$(sratio 7 6 | join)]"
echo "kernel floor (AF_UNIX ping-pong, 100 B, k=1): $(val rps "$UDS")/s," \
	"p50 $(val p50_us "$UDS") us, p99 $(val p99_us "$UDS") us"

# A run that measured no real decisions proves nothing: fail it.
if [ "$ERRORS" -ne 0 ] || [ "$TIMEOUTS" -ne 0 ] || [ "$ALLOW" -eq 0 ] ||
	[ "$(val errors "$BATCH")" -ne 0 ]; then
	die "the service answered errors or timed out, or allowed nothing"
fi
kill -0 "$FEED" 2>/dev/null || die "the rate feed stopped: $(cat "$TMP/feed.log")"
[ "$DENY" -gt 0 ] || echo "service_bench: warning: no check was denied" >&2

printf 'echo_rps_k1=%.0f\n' "$(med echo 1 rps)"
printf 'echo_rps_k16=%.0f\n' "$(med echo 16 rps)"
printf 'echo_rps_k64=%.0f\n' "$(med echo 64 rps)"
printf 'service_rps_k1=%.0f\n' "$(med service 1 rps)"
printf 'service_rps_k16=%.0f\n' "$(med service 16 rps)"
printf 'service_rps_k64=%.0f\n' "$(med service 64 rps)"
printf 'ratio_rps_k16=%.3f\n' "$(ratios 16 rps | median)"
printf 'ratio_rps_k64=%.3f\n' "$(ratios 64 rps | median)"
printf 'echo_p99_us_k16=%.1f\n' "$(med echo 16 p99_us)"
printf 'service_p99_us_k16=%.1f\n' "$(med service 16 p99_us)"
printf 'ratio_p99_k16=%.3f\n' "$(ratios 16 p99_us | median)"
printf 'uds_rps_k1=%.0f\n' "$(val rps "$UDS")"
printf 'uds_p50_us=%.1f\n' "$(val p50_us "$UDS")"
printf 'tick_ingest_per_s=%.0f\n' "$INGEST"
printf 'flood_check_ratio=%.3f\n' "$FLOOD_RATIO"
printf 'batch32_rps_k16=%.0f\n' "$(val rps "$BATCH")"
printf 'batch32_checks_per_s=%.0f\n' "$(echo "$(val rps "$BATCH")" | awk '{ print $1 * 32 }')"
printf 'ratio_rps_k16_noscrape=%.3f\n' "$(sratio 3 2 | median)"
printf 'ratio_rps_k16_scrape=%.3f\n' "$(sratio 4 2 | median)"
printf 'scrape_vs_none_rps_k16=%.3f\n' "$(sratio 4 3 | median)"
printf 'ratio_p99_k16_noscrape=%.3f\n' "$(sratio 6 5 | median)"
printf 'ratio_p99_k16_scrape=%.3f\n' "$(sratio 7 5 | median)"
