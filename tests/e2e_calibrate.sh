#!/bin/sh
# e2e_calibrate.sh BUILD: `fxbreakerctl calibrate`.  No daemon: the
# engine runs on the tape's time, as in replay.
#
#   1. A hand-made tape and config, every figure worked out below: trips,
#      first trip, checks denied and allowed, minutes suspended per
#      product, resets skipped, in the text table and the CSV.
#   2. The night of 2024-12-03 (examples/) under a 4 x 3 grid: exit 0,
#      12 rows, the CSV's header and row count, under 5 s; the config as
#      written agrees with replay's summary; the HTML names no URL and,
#      in chromium (tests/calibrate_test.py), has a point per setting, a
#      rate chart per pair with its limits, bars per setting, and raises
#      no JavaScript error.
#   3. Errors: each names the setting, with the exit codes of every ctl
#      command (1 tape, 2 config, 3 usage or I/O).
. "$(dirname "$0")/lib_e2e.sh"

# ---- 1. by hand ----
#
# Product w has volume rule vol (count, window 60 s, trip 3, suspend_for
# 60 s); product x none; product y opens only in calendar c's session
# `open`, 00:01-00:02 UTC (the tape's 60000 to 120000).  Line 6 is [rule
# vol], line 11 its trip.
cat >fx.conf <<'EOF'
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[rule vol]
product = w
kind = volume
measure = count
window = 60s
trip = 3
suspend_for = 60s
[calendar c]
utc_offset = +00:00
session.open = daily 00:01-00:02
[product y]
pair = USD/KRW
hours = c:open
EOF
cat >t.tape <<'EOF'
{"t":0,"check":{"product":"w","amount":"1"}}
{"t":1000,"check":{"product":"w","amount":"1"}}
{"t":2000,"check":{"product":"w","amount":"1"}}
{"t":3000,"check":{"product":"w","amount":"1"}}
{"t":4000,"check":{"product":"w","amount":"1"}}
{"t":30000,"force_suspend":{"product":"x","until":40000,"reason":"drill"}}
{"t":30000,"check":{"product":"y","amount":"1"}}
{"t":35000,"check":{"product":"x","amount":"1"}}
{"t":45000,"reset":{"rule":"vol"}}
{"t":50000,"check":{"product":"x","amount":"1"}}
{"t":70000,"check":{"product":"w","amount":"1"}}
{"t":90000,"check":{"product":"y","amount":"1"}}
{"t":100000,"check":{"product":"w","amount":"1"}}
{"t":120000,"end":true}
EOF
# The tape runs from 0 to 120000.  A check counts itself (N includes
# it); the check that trips is denied and not counted; resume and reset
# clear the window.  x, every setting: forced [30000, 40000) = 10 s =
# 0.17 min (0.167), its check at 35000 denied, at 50000 allowed.  y,
# every setting: its check at 30000 is denied `closed`, at 90000
# allowed; a closed product is not suspended: 0 minutes.  Each setting's
# denied and allowed below count w's and x's; add one each for y.
#
# trip 2: 0 N=1 allow; 1000 N=2 trip (first trip 1000), deny.
#   30s: until 31000; 2000-4000 denied (3); resume 31000; the reset at
#     45000 finds vol not tripped: skipped.  70000 N=1 allow; 100000
#     N=2 (70000 in the window) trip, deny; held to the tape's end.
#     w: [1000,31000) + [100000,120000) = 50 s = 0.83 (0.833).
#     trips 2; w denied 5, allowed 2; with x: denied 6, allowed 3;
#     total 60 s = 1.00.
#   60s: until 61000, but the reset at 45000 ends it: [1000,45000) =
#     44 s; 70000 allow, 100000 trip: + 20 s = 64 s = 1.07 (1.067).
#     trips 2, denied 6, allowed 3, total 74 s = 1.23 (1.233).
# trip 3: 0, 1000 allow; 2000 N=3 trip (first 2000); 3000, 4000 deny.
#   30s: [2000,32000) = 30 s = 0.50; reset skipped; 70000 N=1, 100000
#     N=2: allowed.  trips 1, denied 3+1 = 4, allowed 4+1 = 5, total
#     40 s = 0.67 (0.667).
#   60s: reset at 45000: [2000,45000) = 43 s = 0.72 (0.717); total
#     53 s = 0.88 (0.883).
# trip 4: 0, 1000, 2000 allow; 3000 N=4 trip (first 3000); 4000 deny.
#   30s: [3000,33000) = 0.50; denied 2+1 = 3, allowed 5+1 = 6, total
#     0.67.  60s: [3000,45000) = 42 s = 0.70; total 52 s = 0.87
#     (0.867).
# The config as written (trip 3, 60s) is setting 4.
"$CTL" calibrate --config fx.conf --sweep vol.trip=2,3,4 \
	--sweep vol.suspend_for=30s,60s --csv o.csv t.tape >o.txt 2>o.err
check "hand: exit 0" "$?" 0
check "hand: nothing on stderr" "$(cat o.err)" ""
check "hand: the tape line" "$(sed -n 1p o.txt)" \
	"tape    t.tape: 14 records, t=0 to t=120000 (2.00 minutes)"
check "hand: the table" "$(sed -n '6,20p' o.txt)" \
	"#  vol.trip  vol.suspend_for  trips  first trip  denied  allowed  throttled  minutes suspended
1  2         30s                  2  t=1000           7        4          0               1.00
2  2         60s                  2  t=1000           7        4          0               1.23
3  3         30s                  1  t=2000           5        6          0               0.67
4  3         60s                  1  t=2000           5        6          0               0.88
5  4         30s                  1  t=3000           4        7          0               0.67
6  4         60s                  1  t=3000           4        7          0               0.87

the config as written, for reference:
-                                 1  t=2000           5        6          0               0.88
#1: 1 reset on the tape skipped, the rule not tripped (the first: vol at t=45000)
#3: 1 reset on the tape skipped, the rule not tripped (the first: vol at t=45000)
#5: 1 reset on the tape skipped, the rule not tripped (the first: vol at t=45000)

minutes suspended, by product"
check "hand: minutes by product" "$(sed -n '21,$p' o.txt)" \
	"product       #1       #2       #3       #4       #5       #6  as configured
w           0.83     1.07     0.50     0.72     0.50     0.70           0.72
x           0.17     0.17     0.17     0.17     0.17     0.17           0.17
y           0.00     0.00     0.00     0.00     0.00     0.00           0.00"
check "hand: the CSV" "$(cat o.csv)" \
	'"setting","vol.trip","vol.suspend_for","trips","first_trip_t","first_trip_utc","checks_denied","checks_allowed","checks_throttled","resets_skipped","minutes_suspended","minutes:w","minutes:x","minutes:y","denied:w","denied:x","denied:y"
"1","2","30s","2","1000","","7","4","0","1","1.000","0.833","0.167","0.000","5","1","1"
"2","2","60s","2","1000","","7","4","0","0","1.233","1.067","0.167","0.000","5","1","1"
"3","3","30s","1","2000","","5","6","0","1","0.667","0.500","0.167","0.000","3","1","1"
"4","3","60s","1","2000","","5","6","0","0","0.883","0.717","0.167","0.000","3","1","1"
"5","4","30s","1","3000","","4","7","0","1","0.667","0.500","0.167","0.000","2","1","1"
"6","4","60s","1","3000","","4","7","0","0","0.867","0.700","0.167","0.000","2","1","1"'
# The config as written agrees with replay (setting 4: w 4 allowed and 3
# denied, x and y 1 each).
check "hand: replay's summary agrees" \
	"$("$CTL" replay --config fx.conf t.tape | tail -n 1)" \
	'{"summary":{"w":{"allow":4,"deny":3,"throttle":0},"x":{"allow":1,"deny":1,"throttle":0},"y":{"allow":1,"deny":1,"throttle":0}}}'
# Any key the rule takes may be swept, mode too: in shadow, vol trips
# but denies nothing (its trip is not counted), so only x's check and
# y's closed one are denied and only x's 10 s are suspended.
"$CTL" calibrate --config fx.conf --sweep vol.mode=shadow,enforce \
	--csv m.csv t.tape >/dev/null
check "hand: mode swept" "$(cut -d, -f1-3,6-7,10 m.csv)" \
	'"setting","vol.mode","trips","checks_denied","checks_allowed","minutes_suspended"
"1","shadow","0","2","9","0.167"
"2","enforce","1","5","6","0.883"'
# No sweep: one setting, the config as written.
"$CTL" calibrate --config fx.conf --csv n.csv t.tape >/dev/null
check "hand: no sweep, one row" "$(sed -n 2p n.csv | cut -d, -f1-4)" \
	'"1","1","2000",""'

# ---- 2. the night ----
NIGHT_CONF="$ROOT/examples/fxbreaker.conf"
NIGHT="$ROOT/examples/night-2024-12-03.tape"
start=$(date +%s%N)
"$CTL" calibrate --config "$NIGHT_CONF" \
	--sweep usdkrw-velocity.pct@night=0.5,0.75,1,1.5 \
	--sweep usdkrw-wallet-buy-volume.trip@night=70,90,120 \
	--csv night.csv --html night.html "$NIGHT" >night.txt 2>night.err
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "night: exit 0" "$rc" 0
check "night: nothing on stderr" "$(cat night.err)" ""
if [ "$ms" -lt 5000 ]; then ok "night: 4 x 3 in ${ms} ms (< 5 s)"; else
	fail "night: 4 x 3 in under 5 s" "took ${ms} ms"; fi
check "night: 12 rows" "$(grep -cE '^ ?[0-9]+  ' night.txt)" 12
check "night: CSV rows" "$(wc -l <night.csv)" 13
check "night: CSV header" "$(head -n 1 night.csv)" \
	'"setting","usdkrw-velocity.pct@night","usdkrw-wallet-buy-volume.trip@night","trips","first_trip_t","first_trip_utc","checks_denied","checks_allowed","checks_throttled","resets_skipped","minutes_suspended","minutes:fx-wallet.USDKRW.buy","minutes:fx-wallet.USDKRW.sell","minutes:remittance.USDKRW","minutes:auto-exchange.USDKRW","minutes:fx-wallet.JPYKRW.buy","minutes:fx-wallet.JPYKRW.sell","minutes:fx-wallet.EURKRW.buy","minutes:fx-wallet.EURKRW.sell","denied:fx-wallet.USDKRW.buy","denied:fx-wallet.USDKRW.sell","denied:remittance.USDKRW","denied:auto-exchange.USDKRW","denied:fx-wallet.JPYKRW.buy","denied:fx-wallet.JPYKRW.sell","denied:fx-wallet.EURKRW.buy","denied:fx-wallet.EURKRW.sell"'
# The tape is all in the KRX calendar's night session.  Setting 5
# (pct@night 0.75, trip@night 90) is the config as written: replay's
# summary, added up, and its enforcing trips.
"$CTL" replay --config "$NIGHT_CONF" "$NIGHT" >night.jsonl
want=$(tail -n 1 night.jsonl | jq -r '[.summary[]] |
	"\(map(.deny) | add) \(map(.allow) | add) \(map(.throttle) | add)"')
check "night: setting 5 is replay's summary" \
	"$(sed -n 6p night.csv | cut -d, -f7-9 | tr -d '"' | tr , ' ')" "$want"
check "night: setting 5's trips" \
	"$(sed -n 6p night.csv | cut -d, -f4)" \
	"\"$(jq -r 'select(.event == "trip" and .mode != "shadow") | .t' \
		night.jsonl | wc -l)\""
check "night: the first trip, in UTC" "$(sed -n 6p night.csv | cut -d, -f6)" \
	'"2024-12-03T13:27:30.368Z"'
# figures: the last six fields of a row of the table.
figures() { awk '{ print $(NF-5), $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF }'; }
check "night: row 5 is 0.75 and 90" "$(grep -c '^ 5  0.75  *90  ' night.txt)" 1
check "night: the config row is setting 5's" \
	"$(grep '^ -  ' night.txt | figures)" \
	"$(grep '^ 5  0.75  *90  ' night.txt | figures)"
# The plain keys are not the night's levels: calibrate says so (its
# figures would be flat).
"$CTL" calibrate --config "$NIGHT_CONF" --sweep usdkrw-velocity.pct=1,1.5 \
	--sweep usdkrw-wallet-buy-volume.trip=120,160 "$NIGHT" >plain.txt
check "night: a plain key under a session's own level is noted" \
	"$(grep '^note: ' plain.txt)" \
	"note: usdkrw-velocity.pct is not in force where [rule usdkrw-velocity] sets pct@night, pct@off (calendar krx): sweep those keys for those hours.
note: usdkrw-wallet-buy-volume.trip is not in force where [rule usdkrw-wallet-buy-volume] sets trip@night, trip@off (calendar krx): sweep those keys for those hours."
check "night: and its four settings are all the config's" \
	"$(grep -E '^[0-9-]  ' plain.txt | figures | sort -u | wc -l)" 1
check "night: no note for the session keys" "$(grep -c '^note: ' night.txt)" 0
# The report stands alone: no URL, nothing fetched.
check "night: the HTML names no http:// or https://" \
	"$(grep -cE 'https?://' night.html)" 0
check "night: the HTML loads nothing (no src=, no href=)" \
	"$(grep -cE '(src|href)=' night.html)" 0
if ! command -v chromium >/dev/null 2>&1; then
	fail "chromium is installed" "not found (make deps installs it)"
else
	BOARD_PROFILE="$TMP/chromium" python3 "$ROOT/tests/calibrate_test.py" \
		test night.html 12 USD/KRW,JPY/KRW,EUR/KRW \
		"$TMP/calibrate.png" >browser.out 2>&1
	browser_tally browser.out
	check "night: a screenshot was taken" \
		"$(head -c 8 "$TMP/calibrate.png" | od -An -c | tr -d ' ')" \
		'211PNG\r\n032\n'
fi

# ---- 3. errors ----
# err NAME WANT_RC WANT_STDERR ARGS...: calibrate's exit code and the
# first line of what it said.
err() {
	name=$1 rc=$2 want=$3
	shift 3
	"$CTL" calibrate "$@" >e.out 2>e.err
	check "$name: exit $rc" "$?" "$rc"
	check "$name: says why" "$(head -n 1 e.err)" "$want"
	check "$name: prints no table" "$(cat e.out)" ""
}
err "unknown rule" 2 \
	"fxbreakerctl calibrate: --sweep nosuch.trip: no [rule nosuch] in fx.conf" \
	--config fx.conf --sweep nosuch.trip=1 t.tape
err "a key the rule refuses" 2 \
	'fxbreakerctl calibrate: --sweep vol.band_pct=1: fx.conf:6: [rule vol] band_pct: unknown key for a volume rule ("1")' \
	--config fx.conf --sweep vol.band_pct=1 t.tape
err "a bad value" 2 \
	'fxbreakerctl calibrate: --sweep vol.trip=abc: fx.conf:11: [rule vol] trip: not a whole number (digits[.digits], digits only) ("abc")' \
	--config fx.conf --sweep vol.trip=2,abc t.tape
err "two values refused together" 2 \
	'fxbreakerctl calibrate: --sweep vol.warn=2 --sweep vol.trip=2: fx.conf:6: [rule vol] warn: warn must be below trip ("2")' \
	--config fx.conf --sweep vol.warn=2 --sweep vol.trip=2,4 t.tape
err "a missing tape" 3 \
	"fxbreakerctl: nope.tape: No such file or directory" \
	--config fx.conf --sweep vol.trip=2 nope.tape
printf '{"t":0,"check":{"product":"w","amount":"1"}}\n{"t":1,"check":{"product":"zz","amount":"1"}}\n' >bad.tape
err "a bad tape line" 1 'bad.tape:2: check: unknown product "zz"' \
	--config fx.conf --sweep vol.trip=2 bad.tape
err "no key" 3 \
	"fxbreakerctl calibrate: --sweep vol.trip: give RULE.KEY=V1,V2,..." \
	--config fx.conf --sweep vol.trip t.tape
err "an empty value" 3 \
	"fxbreakerctl calibrate: --sweep vol.trip=2,,3: an empty value" \
	--config fx.conf --sweep vol.trip=2,,3 t.tape
err "three sweeps" 3 \
	"fxbreakerctl calibrate: --sweep vol.warn=1: at most two sweeps" \
	--config fx.conf --sweep vol.trip=2 --sweep vol.window=1m \
	--sweep vol.warn=1 t.tape
err "one key twice" 3 \
	"fxbreakerctl calibrate: --sweep vol.trip given twice (one sweep per key)" \
	--config fx.conf --sweep vol.trip=2 --sweep vol.trip=4 t.tape
err "no tape" 3 \
	"usage: fxbreakerctl calibrate --config FILE [--sweep RULE.KEY=V1,V2,...]" \
	--config fx.conf --sweep vol.trip=2
err "an unwritable CSV" 3 \
	"fxbreakerctl: $TMP/no/such/dir.csv: No such file or directory" \
	--config fx.conf --csv "$TMP/no/such/dir.csv" t.tape
check "fxbreakerctl's usage lists calibrate" \
	"$("$CTL" --help | grep -c '^  calibrate --config FILE')" 1
finish
