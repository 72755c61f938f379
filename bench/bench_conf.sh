# bench/bench_conf.sh: sourced by bench/service_bench.sh,
# bench/nng_taskq_bench.sh and tests/soak.sh (not run).
#
# bench_scratch NAME makes TMP (/tmp/fxb-NAME.XXXXXX) and, on exit or
# interrupt, stops every pid in PIDS and removes TMP.
bench_scratch() {
	TMP=$(mktemp -d "/tmp/fxb-$1.XXXXXX") || exit 1
	PIDS=
	trap 'for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
		for p in $PIDS; do wait "$p" 2>/dev/null; done
		rm -rf "$TMP"' EXIT
	trap 'exit 130' INT TERM
}
#
# bench_conf ROOT TMP [HTTP_URL] prints ROOT's
# examples/fxbreaker.conf with [service] pointed into TMP (sockets, data),
# http_url set to HTTP_URL (none if not given), and the demand
# thresholds sized for a benchmark's load: the throttles (rate, burst)
# raised to 1,000,000 a second and count volumes to warn 10 M and trip
# 20 M a minute, in every session too (warn@night, trip@off: else the
# bench measures trips on a weekend and not on a Tuesday), so the rules
# still run on every check but a load of 100 k checks a second is not
# throttled or denied for its count.
# Notional limits and every market rule are the example's.
bench_conf() {
	awk -v tmp="$2" -v http="${3:-}" '
	/^\[/ { sect = $0; notional = 0 }
	$0 == "[service]" {
		print
		print "data_dir = " tmp "/data"
		print "check_url = ipc://" tmp "/run/check.ipc"
		print "tick_url = ipc://" tmp "/run/tick.ipc"
		print "admin_url = ipc://" tmp "/run/admin.ipc"
		print "events_url = ipc://" tmp "/run/events.ipc"
		print "service_id = bench"
		if (http != "")
			print "http_url = " http
		next
	}
	sect == "[service]" && /^(data_dir|[a-z]+_url|service_id) *=/ { next }
	sect ~ /^\[rule / && /^measure *= *notional/ { notional = 1 }
	sect ~ /^\[rule / && /^(rate|burst) *=/ { sub(/=.*/, "= 1000000") }
	sect ~ /^\[rule / && !notional && /^warn(@[^ =]+)? *=/ { sub(/=.*/, "= 10000000") }
	sect ~ /^\[rule / && !notional && /^trip(@[^ =]+)? *=/ { sub(/=.*/, "= 20000000") }
	{ print }' "$1/examples/fxbreaker.conf"
}

# bench_requests prints 100 check requests, the mix at the top of
# bench/service_bench.sh, cycled by loadgen.  Slot (i * 37) % 100 spreads each
# product through the file, so every context sees the whole mix.
bench_requests() {
	awk 'BEGIN {
	for (i = 0; i < 100; i++) {
		s = (i * 37) % 100
		ref = sprintf("\"ref\":\"TX-%04d\"", i)
		usd = sprintf("%d.%02d", 20 + (i * 53) % 980, i % 100)
		if (s < 4)       # a stale screen: outside the band, denied
			r = "\"product\":\"fx-wallet.USDKRW.buy\",\"amount\":\"" usd "\",\"rate\":\"1360.0\""
		else if (s < 24)
			r = "\"product\":\"fx-wallet.USDKRW.buy\",\"amount\":\"" usd "\",\"rate\":\"1403.1\""
		else if (s < 44)
			r = "\"product\":\"fx-wallet.USDKRW.buy\",\"amount\":\"" usd "\""
		else if (s < 54)
			r = "\"product\":\"fx-wallet.USDKRW.sell\",\"amount\":\"" usd "\",\"rate\":\"1402.7\""
		else if (s < 69)
			r = "\"product\":\"fx-wallet.USDKRW.sell\",\"amount\":\"" usd "\""
		else if (s < 79)
			r = "\"product\":\"auto-exchange.USDKRW\",\"amount\":\"" usd "\""
		else if (s < 84)  # remittance: tripped by its notional limit
			r = "\"product\":\"remittance.USDKRW\",\"amount\":\"" (5000 + i * 100) ".00\""
		else if (s < 89)
			r = "\"product\":\"fx-wallet.JPYKRW.buy\",\"amount\":\"" (10000 + i * 1000) "\""
		else if (s < 92)
			r = "\"product\":\"fx-wallet.JPYKRW.sell\",\"amount\":\"" (5000 + i * 500) "\""
		else if (s < 96)
			r = "\"product\":\"fx-wallet.EURKRW.buy\",\"amount\":\"" usd "\""
		else
			r = "\"product\":\"fx-wallet.EURKRW.sell\",\"amount\":\"" usd "\""
		print "{\"op\":\"check\"," r "," ref "}"
	}}'
}
