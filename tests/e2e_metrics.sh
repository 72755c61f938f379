#!/bin/sh
# e2e_metrics.sh BUILD: the daemon's read-only HTTP side ([service]
# http_url, docs/OPERATIONS.md "Watching it").  Known checks (allows,
# denies, errors, a batch), ticks, a trip and signed commands on a real
# daemon; then GET /metrics must show exactly those counts, pass
# `promtool check metrics`, and a real Prometheus must scrape it;
# GET /status.json is the status op's answer plus the counters; the alert
# rules in examples/ pass `promtool check rules`; with the log locked,
# ledger_up is 0 and a reply parked on it is timed with its wait; a reload
# keeps the counts and counts a new pair.  Ports 19410-19412.
. "$(dirname "$0")/lib_e2e.sh"

HTTP=127.0.0.1:19410
PROM=127.0.0.1:19411

# get PATH [HOST [METHOD]]: "STATUS" then the body, by Python's urllib.
get() {
	python3 - "$HTTP" "$1" "${2:-$HTTP}" "${3:-GET}" <<'EOF'
import sys, urllib.request, urllib.error
addr, path, host, method = sys.argv[1:5]
req = urllib.request.Request("http://%s%s" % (addr, path), method=method,
                             headers={"Host": host},
                             data=b"x" if method == "POST" else None)
try:
    r = urllib.request.urlopen(req, timeout=10)
    body, st, ct = r.read(), r.status, r.headers.get("Content-Type")
except urllib.error.HTTPError as e:
    body, st, ct = e.read(), e.code, e.headers.get("Content-Type")
try:
    sys.stdout.write("%d %s\n" % (st, ct))
    sys.stdout.write(body.decode())
    sys.stdout.flush()
except BrokenPipeError:  # `get ... | head -1`
    sys.stderr.close()
EOF
}
# metric 'NAME{LABELS}': its value in metrics.txt (the last scrape).
metric() {
	awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics.txt"
}
scrape() { get /metrics | tail -n +2 >"$TMP/metrics.txt"; }
wait_written() {
	wait_for sh -c "[ \"\$('$CTL' status --json | jq .ledger.queued)\" = 0 ]"
}

{
	operator_key alice alice
	operator_key carol carol suspend
} >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
http_url = http://$HTTP
watchdog_interval = 0
[pair USD/KRW]
[pair EUR/KRW]
[product a]
pair = USD/KRW
[product b]
pair = USD/KRW
[product c]
pair = EUR/KRW
[rule va]
product = a
kind = volume
window = 60s
trip = 2
suspend_for = 0
[rule vc]
product = c
kind = volume
window = 60s
trip = 5
suspend_for = 0
[rule band]
pair = USD/KRW
kind = band
window = 300s
band_pct = 1.5
ref_move_pct = 1
ref_min_life = 30s
limit_for = 15s
suspend_for = 300s
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
wait_for grep -q 'board and metrics on http' "$TMP/daemon.log"
check_has "the URL on stderr" "$(cat "$TMP/daemon.log")" \
	"fxbreakerd: info: board and metrics on http://$HTTP/ (read-only: /metrics, /status.json)"

# --- what the daemon is asked ---------------------------------------------
r() { req "$1" | jq -r "$2"; }
check "tick USD/KRW" "$(r '{"op":"tick","pair":"USD/KRW","px":"1400"}' .ok)" true
check "tick EUR/KRW" "$(r '{"op":"tick","pair":"EUR/KRW","bid":"1499.5","ask":"1500.5"}' .ok)" true
check "a crossed tick" "$(r '{"op":"tick","pair":"USD/KRW","bid":"2","ask":"1"}' .error.name)" crossed
check "an unknown pair" "$(r '{"op":"tick","pair":"GBP/KRW","px":"1"}' .error.name)" unknown_pair
out=""
for p in a a a a b b c; do
	out="$out $(r "{\"op\":\"check\",\"product\":\"$p\",\"amount\":\"1\"}" '.decision + "/" + (.reason // "")')"
done
check "7 checks" "$out" " allow/ deny/suspended deny/suspended deny/suspended allow/ allow/ allow/"
check "unknown product" "$(r '{"op":"check","product":"zz","amount":"1"}' .error.name)" unknown_product
check "unknown product again" "$(r '{"op":"check","product":"zy","amount":"1"}' .error.name)" unknown_product
check "a bad amount" "$(r '{"op":"check","product":"c","amount":"1.2.3"}' .error.name)" decimal
check "not JSON" "$(r '{' .error.name)" syntax
check "a batch: an allow and an unknown product" \
	"$(r '{"op":"check_batch","checks":[{"product":"c","amount":"1"},{"product":"zx","amount":"1"}]}' \
		'[.results[] | .decision // .error.name] | join(",")')" "allow,unknown_product"
check "suspend b" "$("$CTL" suspend --key alice.key --product b --reason e2e --json | jq -r .result)" applied
fs=$(sql "select seq from suspension_log where event='force_suspend'")
check "b denied, forced" "$(r '{"op":"check","product":"b","amount":"1"}' .reason)" forced
check "b denied again" "$(r '{"op":"check","product":"b","amount":"1"}' .reason)" forced
check "lift b: a request for a second person" \
	"$("$CTL" lift --key alice.key --product b --suspension "$fs" --reason e2e --json | jq -r .result)" pending
check "carol may not reset" \
	"$("$CTL" reset --key carol.key --rule va --suspension 3 --reason e2e --json | jq -r .error.name)" forbidden
wait_written

# --- GET /metrics -----------------------------------------------------------
check "content type" "$(get /metrics | head -1)" \
	"200 text/plain; version=0.0.4; charset=utf-8"
scrape
while read -r k v; do
	check "$k" "$(metric "$k")" "$v"
done <<'EOF'
fxbreaker_checks_total{decision="allow",reason="none"} 5
fxbreaker_checks_total{decision="deny",reason="suspended"} 3
fxbreaker_checks_total{decision="deny",reason="forced"} 2
fxbreaker_checks_total{decision="deny",reason="ledger_unavailable"} 0
fxbreaker_checks_total{decision="throttle",reason="throttled"} 0
fxbreaker_pair_checks_total{pair="USD/KRW",decision="allow"} 3
fxbreaker_pair_checks_total{pair="USD/KRW",decision="deny"} 5
fxbreaker_pair_checks_total{pair="EUR/KRW",decision="allow"} 2
fxbreaker_pair_checks_total{pair="EUR/KRW",decision="deny"} 0
fxbreaker_check_errors_total{error="unknown_product"} 3
fxbreaker_check_errors_total{error="decimal"} 1
fxbreaker_check_errors_total{error="syntax"} 1
fxbreaker_request_duration_seconds_count{op="check"} 12
fxbreaker_request_duration_seconds_bucket{op="check",le="+Inf"} 12
fxbreaker_request_duration_seconds_count{op="check_batch"} 1
fxbreaker_request_duration_seconds_count{op="invalid"} 1
fxbreaker_request_duration_seconds_count{op="tick"} 4
fxbreaker_ticks_total{pair="USD/KRW",outcome="applied"} 1
fxbreaker_ticks_total{pair="USD/KRW",outcome="rejected"} 1
fxbreaker_ticks_total{pair="EUR/KRW",outcome="applied"} 1
fxbreaker_ticks_total{pair="EUR/KRW",outcome="rejected"} 0
fxbreaker_ticks_refused_total{error="unknown_pair"} 1
fxbreaker_pair_rate{pair="USD/KRW"} 1400.000000000
fxbreaker_pair_rate{pair="EUR/KRW"} 1500.000000000
fxbreaker_pair_band_lower{pair="USD/KRW"} 1379.000000000
fxbreaker_pair_band_upper{pair="USD/KRW"} 1421.000000000
fxbreaker_rule_trips_total{kind="volume"} 1
fxbreaker_rule_trips_total{kind="band"} 0
fxbreaker_commands_total{cmd="suspend",result="applied"} 1
fxbreaker_commands_total{cmd="lift",result="pending"} 1
fxbreaker_commands_total{cmd="reset",result="rejected"} 1
fxbreaker_products{state="open"} 1
fxbreaker_products{state="suspended"} 2
fxbreaker_suspensions_open{kind="forced"} 1
fxbreaker_suspensions_open{kind="volume"} 1
fxbreaker_suspensions_open{kind="band"} 0
fxbreaker_approvals_pending 1
fxbreaker_ledger_up 1
fxbreaker_ledger_queued_rows 0
EOF
check "no band on EUR/KRW" "$(metric 'fxbreaker_pair_band_lower{pair="EUR/KRW"}')" ""
hash=$("$CTL" status --json >/dev/null; sql "select json_extract(detail, '\$.config_hash') from suspension_log where event='service_start'")
check "build_info" \
	"$(metric "fxbreaker_build_info{version=\"$(sed -n 's/^#define FXB_VERSION "\(.*\)"$/\1/p' "$ROOT/breaker/fxb.h")\",service_id=\"e2e\",config_hash=\"$hash\"}")" 1
now=$(date +%s)
last=$(metric 'fxbreaker_pair_last_tick_timestamp_seconds{pair="USD/KRW"}')
check "last tick within a minute" "$(echo "$last $now" | awk '{ d = $2 - $1; print (d >= -1 && d < 60) }')" 1
check "the commit histogram counted" \
	"$(metric fxbreaker_ledger_commit_duration_seconds_count | awk '{ print ($1 > 0) }')" 1
check "no product label anywhere" "$(grep -c 'product=' "$TMP/metrics.txt")" 0
pt=$(promtool check metrics <"$TMP/metrics.txt" 2>&1)
check "promtool check metrics" "$?:$pt" "0:"

# --- HTTP: read-only, Host pinned -------------------------------------------
check "POST is 405" "$(get /metrics "$HTTP" POST | head -1 | cut -d' ' -f1)" 405
check "unknown path 404" "$(get /nothing | head -1 | cut -d' ' -f1)" 404
check "no command path" "$(get /command | head -1 | cut -d' ' -f1)" 404
check "wrong Host 421" "$(get /metrics evil.example:19410)" \
	"421 text/plain; charset=utf-8
fxbreakerd answers only to Host: $HTTP (its http_url): open http://$HTTP/"

# --- GET /status.json ---------------------------------------------------------
get /status.json >status.out
check "status.json type" "$(head -1 status.out)" "200 application/json"
tail -n +2 status.out >status.json
"$CTL" status --json >admin.json
check "status.json: the status op's fields, then counters" \
	"$(python3 -c '
import json, sys
h = json.load(open("status.json"))
a = json.load(open("admin.json"))
print(list(h) == list(a) + ["counters"],
      all(h[k] == a[k] for k in ("service_id", "pairs", "products", "rules", "ticks", "state")))')" \
	"True True"
check "status.json counters" "$(python3 -c '
import json
c = json.load(open("status.json"))["counters"]
print(sorted(c), c["checks"]["deny"], c["check_errors"], c["pairs"]["EUR/KRW"],
      c["ticks_refused"], c["rule_trips"]["volume"], c["commands"],
      c["requests"]["check"]["count"], c["ledger_commits"]["count"] > 0)')" \
	"['check_errors', 'checks', 'commands', 'ledger_commits', 'pairs', 'requests', 'rule_trips', 'ticks_refused'] {'suspended': 3, 'forced': 2} {'syntax': 1, 'decimal': 1, 'unknown_product': 3} {'allow': 2, 'deny': 0, 'throttle': 0, 'ticks_applied': 1, 'ticks_rejected': 0} {'unknown_pair': 1} 1 {'suspend': {'applied': 1}, 'lift': {'pending': 1}, 'reset': {'rejected': 1}} 12 True"

# --- a real Prometheus scrapes it ---------------------------------------------
cat >prom.yml <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs: [{job_name: fxbreaker, static_configs: [{targets: ["$HTTP"]}]}]
EOF
prometheus --config.file=prom.yml --storage.tsdb.path="$TMP/prom" \
	--web.listen-address=$PROM >prom.log 2>&1 &
PROMPID=$!
promq() {
	python3 - "$PROM" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
try:
    u = "http://%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
    r = json.load(urllib.request.urlopen(u, timeout=2))["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")
EOF
}
i=0
got=""
while [ $i -lt 60 ] && [ "$got" != 2 ]; do
	got=$(promq 'fxbreaker_checks_total{decision="deny",reason="forced"}')
	i=$((i + 1))
	sleep 0.5
done
check "Prometheus scraped the deny count" "$got" 2
check "Prometheus: the target is up" "$(promq 'up{job="fxbreaker"}')" 1
kill "$PROMPID"
wait "$PROMPID" 2>/dev/null
PROMPID=

# --- the example alert rules ---------------------------------------------------
pr=$(promtool check rules "$ROOT/examples/fxbreaker-alerts.yml" 2>&1)
check "promtool check rules" "$?" 0
# What the alerts say and when they stay quiet (tests/alerts_test.yml).
pt=$(cd "$ROOT/tests" && promtool test rules alerts_test.yml 2>&1)
check "promtool test rules: the alerts' texts and timing" "$?:$(echo "$pt" | tail -n 1 | tr -d ' ')" "0:SUCCESS"
check_has "rules found" "$pr" "SUCCESS: "

# --- the log cannot be written: ledger_up 0, a parked reply's wait timed -----
lock_db || exit 1
check "c: the 3rd check" "$(r '{"op":"check","product":"c","amount":"1"}' .decision)" allow
check "c: the 4th check" "$(r '{"op":"check","product":"c","amount":"1"}' .decision)" allow
check "c: the 5th trips; its row cannot be written: closed" \
	"$(r '{"op":"check","product":"c","amount":"1"}' .reason)" ledger_unavailable
scrape
check "degraded: ledger_up 0" "$(metric fxbreaker_ledger_up)" 0
check "degraded: the trip's row waits" "$(metric fxbreaker_ledger_queued_rows | awk '{ print ($1 >= 1) }')" 1
check "degraded: not a trip until written" "$(metric 'fxbreaker_rule_trips_total{kind="volume"}')" 1
check "the deny counted under the engine's reason" \
	"$(metric 'fxbreaker_checks_total{decision="deny",reason="suspended"}')" 4
n=$(metric 'fxbreaker_request_duration_seconds_count{op="check"}')
fast=$(metric 'fxbreaker_request_duration_seconds_bucket{op="check",le="0.1"}')
check "15 check requests" "$n" 15
check "the parked one waited for the log (over 100 ms)" \
	"$(echo "$n $fast" | awk '{ print ($1 - $2 >= 1) }')" 1
unlock_db
wait_for ledger_ok
wait_written
scrape
check "recovered: ledger_up 1" "$(metric fxbreaker_ledger_up)" 1
check "recovered: the trip written" "$(metric 'fxbreaker_rule_trips_total{kind="volume"}')" 2
check "recovered: two volume suspensions" "$(metric 'fxbreaker_suspensions_open{kind="volume"}')" 2
check "recovered: c suspended" "$(metric 'fxbreaker_products{state="suspended"}')" 3

# --- a reload: a new pair counted, the old counts kept, the new hash ---------
echo "[pair GBP/KRW]" >>fx.conf
kill -HUP "$PID"
# (the daemon says a reload by its config_reload row: no "reloaded" line)
reloaded() { [ "$(sql "select count(*) from suspension_log where event='config_reload'")" = 1 ]; }
wait_for reloaded
scrape
check "reload: the new pair" "$(metric 'fxbreaker_ticks_total{pair="GBP/KRW",outcome="applied"}')" 0
check "reload: old counts kept" "$(metric 'fxbreaker_ticks_total{pair="USD/KRW",outcome="applied"}')" 1
hash2=$(sql "select json_extract(detail, '\$.config_hash') from suspension_log where event='config_reload'")
check_has "reload: build_info names the new hash" "$(grep '^fxbreaker_build_info' "$TMP/metrics.txt")" "config_hash=\"$hash2\""
check "reload: products recounted" "$(metric 'fxbreaker_products{state="open"}')" 0

# --- http_url cannot change at a reload; a port taken stops a start --------
sed -i "s|^http_url = .*|http_url = http://127.0.0.1:19412|" fx.conf
kill -HUP "$PID"
wait_for grep -q "reload refused" "$TMP/daemon.log"
check_has "reload refused" "$(cat "$TMP/daemon.log")" \
	"reload refused, keeping the running config: [service] http_url changed"
check "still served" "$(get /metrics | head -1 | cut -d' ' -f1)" 200
stop_daemon
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 19412)); s.listen(1); time.sleep(5)' &
HOLD=$!
# The holder must have bound before the daemon tries (a loaded machine
# starts python slowly); a daemon that did start anyway is stopped by
# timeout instead of hanging the suite.
bound() { python3 -c 'import socket; socket.create_connection(("127.0.0.1", 19412), 0.2)' 2>/dev/null; }
wait_for bound
timeout 20 "$FXD" -f fx.conf 2>taken.log
check "port taken: exit 111" "$?" 111
check_has "port taken: why" "$(cat taken.log)" \
	"http_url http://127.0.0.1:19412: cannot listen: Address in use"
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null
sed -i "s|^http_url = .*|http_url = http://0.0.0.0:19412|" fx.conf
timeout 20 "$FXD" -f fx.conf 2>wild.log
check_has "a wildcard address refused" "$(cat wild.log)" \
	'fx.conf:9: [service] http_url: a wildcard address cannot pin the Host header: name the address to listen on (http://127.0.0.1:PORT, or this host'"'"'s own address) ("http://0.0.0.0:19412")'
"$CTL" validate fx.conf >wild.out 2>&1
check "  and validate says so first (exit 2)" "$?:$(head -n 1 wild.out | sed 's/ (http:.*//')" \
	"2:fx.conf:9: [service] http_url: a wildcard address cannot pin the Host header: name the address to listen on"
sed -i "/^http_url = /d" fx.conf
start_daemon || exit 1
check_has "no http_url: nothing served" "$(get /metrics 2>&1)" "Connection refused"

finish
