# bench/ledger_bench.sh: the service's costs that are not per request
# (issue 5 item 3): trip-to-committed-row latency, start-up with a
# 1,000,000-row ledger, verify's rows per second, resident memory per
# 1,000 products.  Prints what it measures, then, last, one KEY=VALUE line
# per figure for the JSON line of `make bench`.
#
#     sh bench/ledger_bench.sh [BUILD]
#
# Needs $BUILD/fxbreakerd, $BUILD/fxbreakerctl and $BUILD/bench/{make_ledger,
# trip_bench,restart_bench,touch_products}.  Everything runs on the real
# daemon with the real example config (its [service] rewritten): data on
# the build directory's disk (never /tmp, which may be a tmpfs: a commit's
# fsync must be real), sockets in a short temporary directory.
#
# The 1,000,000-row ledger is made once by make_ledger (the real engine on
# the example config through a simulated market: trips, resumes, warns,
# stale feeds, operator resets, restarts, one signed checkpoint per commit
# that opens or ends a suspension, as the daemon writes them) and kept,
# exported, in $BUILD/bench/ledger-ROWS/.  It is made again only when its
# ingredients change (the migrations, the generator, the example config,
# the notice texts).  Making it takes a minute or two; a tmpfs is used for
# that when there is one, since the bytes are the same.
#
# Knobs (environment): LEDGER_BENCH_ROWS (1000000), LEDGER_BENCH_TRIPS
# (500), LEDGER_BENCH_STARTS (5), LEDGER_BENCH_PRODUCTS ("1000 100000").

BUILD=${1:-build}
ROOT=$(pwd)
B="$ROOT/$BUILD"
FXD="$B/fxbreakerd"
CTL="$B/fxbreakerctl"
ROWS=${LEDGER_BENCH_ROWS:-1000000}
TRIPS=${LEDGER_BENCH_TRIPS:-500}
STARTS=${LEDGER_BENCH_STARTS:-5}
PRODUCTS=${LEDGER_BENCH_PRODUCTS:-1000 100000}
EXAMPLE="$ROOT/examples/fxbreaker.conf"
CACHE="$B/bench/ledger-$ROWS"
SUSPEND_MS=20

for f in "$FXD" "$CTL" "$B/bench/make_ledger" "$B/bench/trip_bench" \
	"$B/bench/restart_bench" "$B/bench/touch_products"; do
	if [ ! -x "$f" ]; then
		echo "ledger_bench: $f is missing (make all first)" >&2
		exit 1
	fi
done

mkdir -p "$B/bench" || exit 1
WORK=$(mktemp -d "$B/bench/ledger-bench.XXXXXX") || exit 1
RUN=$(mktemp -d /tmp/fxlb.XXXXXX) || exit 1
GEN=
PID=

cleanup() {
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$WORK" "$RUN"
	[ -n "$GEN" ] && rm -rf "$GEN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "ledger_bench: $*" >&2
	exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# cpu_s FILE: CPU seconds (user + system) of this shell's finished
# children, from what `times` (run in this shell, not a subshell) wrote.
cpu_s() {
	awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}

# service_conf NAME: a [service] section with its own data and sockets.
service_conf() {
	cat <<EOS
[service]
data_dir = $WORK/$1/data
check_url = ipc://$RUN/$1-check.ipc
tick_url = ipc://$RUN/$1-tick.ipc
admin_url = ipc://$RUN/$1-admin.ipc
events_url = ipc://$RUN/$1-events.ipc
service_id = fxbreaker-dev
EOS
}

# The example config without its [service] section (it starts at the
# first [notice]).
example_body() { sed -n '/^\[notice /,$p' "$EXAMPLE"; }

# start_daemon NAME: fxbreakerd on $WORK/NAME/fx.conf; waits until it
# serves (it opens its sockets last).  Not by asking `status`: on many
# products its reply is large, and it would be in the memory measured.
start_daemon() {
	rm -f "$RUN/$1-check.ipc"
	"$FXD" -f "$WORK/$1/fx.conf" 2>>"$WORK/$1/daemon.log" &
	PID=$!
	i=0
	until [ -S "$RUN/$1-check.ipc" ]; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$PID" 2>/dev/null; then
			cat "$WORK/$1/daemon.log" >&2
			die "fxbreakerd did not start on $WORK/$1/fx.conf"
		fi
		sleep 0.05
	done
}

stop_daemon() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

# value KEY FILE: the value of the last KEY=VALUE line of FILE.
value() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

echo "== $(getconf _NPROCESSORS_ONLN) CPUs, load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg) at the start"

# ---- 1. trip-to-committed-row latency ----
#
# A product on a pair of its own with one count volume rule, trip = 2,
# suspend_for = 20 ms: every second check trips it, and the deny quoting
# the new suspension is held until the trip's row has committed
# (synchronous=FULL).  trip_bench times that check from send to answer
# (see bench/trip_bench.c).

mkdir -p "$WORK/trip" || exit 1
{
	service_conf trip
	example_body
	cat <<EOF

[pair USD/HKD]

[product bench.trip.USDHKD]
pair = USD/HKD
side = buy
channel = app

[rule bench-trip-volume]
product = bench.trip.USDHKD
kind = volume
measure = count
window = 60s
trip = 2
suspend_for = ${SUSPEND_MS}ms
notice = fx-heavy-use
EOF
} >"$WORK/trip/fx.conf"
echo "== trip-to-committed-row latency (synchronous=FULL, data on $(df -P "$WORK" | awk 'NR == 2 { print $1 }'))"
start_daemon trip
"$B/bench/trip_bench" "ipc://$RUN/trip-check.ipc" bench.trip.USDHKD \
	"$SUSPEND_MS" "$TRIPS" >"$WORK/trip.out" || die "trip_bench failed"
stop_daemon
grep -v '=' "$WORK/trip.out"
TRIP_P50=$(value trip_commit_p50_us "$WORK/trip.out")
TRIP_P99=$(value trip_commit_p99_us "$WORK/trip.out")

# ---- 2. the 1,000,000-row ledger (made once, kept) ----

stamp=$(
	cat "$ROOT"/migrations/*.sql "$ROOT/bench/make_ledger.c" \
		"$EXAMPLE" "$ROOT/daemon/notice.c" | sha256sum | cut -c1-16
)
stamp="$stamp rows=$ROWS"
if [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$stamp" ] &&
	[ -f "$CACHE/export.db" ]; then
	echo "== ledger: $CACHE (kept from an earlier run)"
else
	echo "== ledger: making $ROWS rows in $CACHE (once; a minute or two)"
	rm -rf "$CACHE"
	mkdir -p "$CACHE" || exit 1
	# A tmpfs when there is room (the file is about 1.3 KB a row).
	need_kb=$((ROWS * 2))
	if [ -d /dev/shm ] && [ -w /dev/shm ] &&
		[ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt "$need_kb" ]; then
		GEN=$(mktemp -d /dev/shm/fxlb-gen.XXXXXX) || exit 1
	else
		GEN="$WORK/gen"
		mkdir -p "$GEN" || exit 1
	fi
	t0=$(now_ms)
	"$B/bench/make_ledger" "$EXAMPLE" "$GEN" "$ROWS" >"$CACHE/made.txt" ||
		die "make_ledger failed"
	"$CTL" export --db "$GEN/fxbreaker.db" "$CACHE/export.db" >/dev/null ||
		die "export failed"
	cp "$GEN/log.key" "$GEN/log.pub" "$CACHE/" || exit 1
	rm -rf "$GEN"
	GEN=
	echo "$stamp" >"$CACHE/stamp"
	echo "   made in $(($(now_ms) - t0)) ms"
fi
sed 's/^/   /' "$CACHE/made.txt"
echo "   $(du -m "$CACHE/export.db" | cut -f1) MB, exported with fxbreakerctl export"

# ---- 3. verify ----

echo "== fxbreakerctl verify on the export"
times >"$WORK/times0"
t0=$(now_ms)
"$CTL" verify --pubkey "$CACHE/log.pub" \
	--anchor "$CACHE/export.db.checkpoint" "$CACHE/export.db" \
	>"$WORK/verify.out" 2>&1
rc=$?
t1=$(now_ms)
times >"$WORK/times1"
sed 's/^/   /' "$WORK/verify.out"
[ $rc -eq 0 ] || die "verify exited $rc"
vrows=$(sed -n 's/^verdict: ok (\([0-9]*\) rows.*/\1/p' "$WORK/verify.out")
[ -n "$vrows" ] || die "no verdict"
VERIFY_MS=$((t1 - t0))
VERIFY_RPS=$((vrows * 1000 / (VERIFY_MS > 0 ? VERIFY_MS : 1)))
echo "   $vrows rows in $VERIFY_MS ms: $VERIFY_RPS rows/s ($(awk \
	-v a="$(cpu_s "$WORK/times0")" -v b="$(cpu_s "$WORK/times1")" \
	'BEGIN { printf "%.1f", b - a }') s of CPU; the machine's load" \
	"average: $(cut -d' ' -f1 /proc/loadavg))"

# ---- 4. start-up with the ledger ----
#
# On a copy (each start adds its service_start and service_stop rows).
# The copy was just written, so the file is in the page cache: this is a
# warm start (a restart), not the first start after a reboot.

echo "== start-up with the ledger (exec to the first answer on check_url)"
mkdir -p "$WORK/start/data" || exit 1
cp "$CACHE/export.db" "$WORK/start/data/fxbreaker.db" &&
	cp "$CACHE/log.key" "$CACHE/log.pub" "$WORK/start/data/" || exit 1
{
	service_conf start
	example_body
} >"$WORK/start/fx.conf"
"$B/bench/restart_bench" "$FXD" "$WORK/start/fx.conf" "$RUN/start-check.ipc" \
	fx-wallet.USDKRW.buy "$STARTS" "$WORK/start/daemon.log" \
	>"$WORK/start.out" || {
	cat "$WORK/start/daemon.log" >&2
	die "restart_bench failed"
}
grep -v '=' "$WORK/start.out"
RESTART_MS=$(value restart_ms "$WORK/start.out")
echo "   median $RESTART_MS ms"

# ---- 5. resident memory per 1,000 products ----
#
# The example config plus N products, each like the example's wallets:
# its own count volume rule and throttle, with notices.  VmRSS after
# start, then after a tick on every pair and one check on every product
# (the figure used), and, for information, after one admin `status`.

gen_products() {
	awk -v n="$1" 'BEGIN {
	split("USD/KRW JPY/KRW EUR/KRW", pair, " ")
	for (i = 0; i < n; i++) {
		side = int(i / 3) % 2 ? "sell" : "buy"
		printf "[product bench.p%d]\npair = %s\nside = %s\n", i, pair[i % 3 + 1], side
		printf "channel = app\n\n"
		printf "[rule bench-p%d-volume]\nproduct = bench.p%d\n", i, i
		printf "kind = volume\nmeasure = count\nwindow = 60s\nwarn = 80\n"
		printf "trip = 120\nsuspend_for = 300s\nmax_auto_resumes = 2\n"
		printf "notice = fx-heavy-use\n\n"
		printf "[rule bench-p%d-throttle]\nproduct = bench.p%d\n", i, i
		printf "kind = throttle\nrate = 4\nburst = 12\nnotice = fx-busy\n\n"
	}
}'
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

echo "== resident memory"
first_n=
first_rss=
last_n=
last_rss=
for n in $PRODUCTS; do
	name="rss$n"
	mkdir -p "$WORK/$name" || exit 1
	{
		service_conf "$name"
		example_body
		gen_products "$n"
	} >"$WORK/$name/fx.conf"
	start_daemon "$name"
	rss0=$(rss_kib "$PID")
	for tick in "USD/KRW 1402.9" "JPY/KRW 9.3808" "EUR/KRW 1474.45"; do
		# shellcheck disable=SC2086 # pair and price, two words
		FXBREAKER_CONFIG="$WORK/$name/fx.conf" "$CTL" tick $tick \
			>/dev/null || die "tick refused"
	done
	"$B/bench/touch_products" "ipc://$RUN/$name-check.ipc" bench.p "$n" \
		>"$WORK/$name.out" || die "touch_products failed"
	rss1=$(rss_kib "$PID")
	# A status of 100,000 products is about 40 MB of JSON: give it
	# time, and do not let it hold the benchmark (it is information,
	# not a key).
	if FXBREAKER_CONFIG="$WORK/$name/fx.conf" timeout 60 "$CTL" status \
		--timeout 30000 >/dev/null 2>&1; then
		rss2=$(rss_kib "$PID")
	else
		rss2=0
		echo "   (status on $n products: no answer within 30 s)"
	fi
	stop_daemon
	printf '   %6d products: %7d KiB after start, %7d KiB after a check on each, %7d KiB after a status\n' \
		"$n" "$rss0" "$rss1" "$rss2"
	sed 's/^/      /' "$WORK/$name.out"
	if [ -z "$first_n" ]; then
		first_n=$n
		first_rss=$rss1
	fi
	last_n=$n
	last_rss=$rss1
done
RSS_PER_1K=$(awk -v a="$first_rss" -v b="$last_rss" -v na="$first_n" \
	-v nb="$last_n" 'BEGIN {
	if (nb == na) { print "0.0"; exit }
	printf "%.1f", (b - a) / ((nb - na) / 1000) }')
echo "   ($last_n - $first_n products): $RSS_PER_1K KiB per 1,000 products"

echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "trip_commit_p50_us=$TRIP_P50"
echo "trip_commit_p99_us=$TRIP_P99"
echo "restart_ms_1m_rows=$RESTART_MS"
echo "verify_rows_per_s=$VERIFY_RPS"
echo "rss_kib_per_1k_products=$RSS_PER_1K"
