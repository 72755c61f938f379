#!/bin/sh
# e2e_nightcal.sh BUILD: the night tape through examples/fxbreaker.conf's
# [calendar krx] and its night levels, pinned to the figures
# docs/night-2024-12-03.md quotes, so that a change to the example's
# calendar or levels shows here before it silently changes that page.
# Then the same tape with the calendar removed (every level the day's),
# and a minute across Wednesday 02:00, to show what the calendar does.
. "$(dirname "$0")/lib_e2e.sh"

CONF="$ROOT/examples/fxbreaker.conf"
TAPE="$ROOT/examples/night-2024-12-03.tape"

"$CTL" replay --decisions --config "$CONF" "$TAPE" >night.jsonl 2>night.err
check "replay of the night: exit 0, nothing on stderr" \
	"$? $(cat night.err)" "0 "

# The tape is Tuesday 15:30 to Wednesday 02:00 KST: it starts in the
# night session silently, and crosses one boundary, at its end.
check "one session event" \
	"$(jq -c 'select(.event=="session")' night.jsonl | wc -l)" "1"
check "the session event: 02:00 KST, night to off" \
	"$(jq -c 'select(.event=="session")' night.jsonl)" \
	'{"t":1733245200000,"event":"session","calendar":"krx","from":"night","to":"off"}'
check "it is the last event, before the summary" \
	"$(jq -c 'select(.event) | .event' night.jsonl | tail -n 1)" '"session"'

vel='select(.event=="trip" and .rule=="usdkrw-velocity")
	| [.t, .dir, .px, .window_min, .window_max, .limit] | @tsv'
check "usdkrw-velocity: the first trip at night's 10.5 won (22:27:38 KST)" \
	"$(jq -r "$vel" night.jsonl | head -n 1)" \
	"$(printf '1733232458078\tup\t1417.50\t1406.80\t1417.15\t1417.30')"
check "usdkrw-velocity: the trip down (01:01:52 KST)" \
	"$(jq -r "$vel" night.jsonl | sed -n 2p)" \
	"$(printf '1733241712089\tdown\t1429.00\t1429.90\t1440.20\t1429.70')"
check "usdkrw-velocity: two trips" "$(jq -r "$vel" night.jsonl | wc -l)" "2"

vol='select(.rule=="usdkrw-wallet-buy-volume" and
	(.event=="trip" or .event=="warn"))
	| [.t, .event, .n, .threshold, .latched] | map(tostring) | join(" ")'
check "wallet buying: warn at 60 and trip at 90, three times, the third latched" \
	"$(jq -r "$vol" night.jsonl | tr '\n' '|')" \
	"1733232807411 warn 60 60 null|1733232814892 trip 90 90 false|1733233131338 warn 60 60 null|1733233139078 trip 90 90 false|1733233452260 warn 60 60 null|1733233461228 trip 90 90 true|"
check "wallet buying: the reset at 01:35 ends the latched suspension" \
	"$(jq -c 'select(.event=="reset") | [.t, .rule, .suspension]' night.jsonl)" \
	'[1733243700000,"usdkrw-wallet-buy-volume",38]'
check "summary: fx-wallet.USDKRW.buy" \
	"$(tail -n 1 night.jsonl | jq -c '.summary["fx-wallet.USDKRW.buy"]')" \
	'{"allow":7694,"deny":18158,"throttle":17}'
check "summary: fx-wallet.USDKRW.sell" \
	"$(tail -n 1 night.jsonl | jq -c '.summary["fx-wallet.USDKRW.sell"]')" \
	'{"allow":15392,"deny":329,"throttle":0}'
check "events: 60 in all" \
	"$(jq -c 'select(.event)' night.jsonl | wc -l)" "60"

# The same night with every level the day's: the calendar section and
# the rules' calendar and KEY@SESSION lines removed, as
# docs/night-2024-12-03.md does it ("What the night levels changed").
awk '/^\[/ { skip = /^\[calendar / } !skip' "$CONF" |
	grep -v -E '^calendar *=|^[a-z_]+@[a-z]+ *=' >day.conf
check "without the calendar the config is still valid" \
	"$("$CTL" validate day.conf 2>&1)" \
	"day.conf: ok: 3 pairs, 8 products, 29 rules, 5 notices"
"$CTL" replay --decisions --config day.conf "$TAPE" >day.jsonl 2>day.err
check "day levels: replay exit 0" "$? $(cat day.err)" "0 "
check "day levels: no session event" \
	"$(jq -c 'select(.event=="session")' day.jsonl | wc -l)" "0"
check "day levels: the first velocity trip is 10 s later, at 14.0 won" \
	"$(jq -r "$vel" day.jsonl | head -n 1)" \
	"$(printf '1733232468229\tup\t1421.40\t1407.20\t1420.40\t1421.20')"
check "day levels: wallet buying trips at 120" \
	"$(jq -r "$vol" day.jsonl | grep trip | tr '\n' '|')" \
	"1733232823500 trip 120 120 false|1733233152063 trip 120 120 false|1733233485225 trip 120 120 true|"
check "day levels: summary for fx-wallet.USDKRW.buy" \
	"$(tail -n 1 day.jsonl | jq -c '.summary["fx-wallet.USDKRW.buy"]')" \
	'{"allow":7797,"deny":18050,"throttle":22}'

# Across Wednesday 02:00 KST: 70 dollar purchases in the minute before
# (night: above the warn 60, below the trip 90).  Nothing happens at
# 02:00 itself but the session event; the window carries over, and the
# first check after it meets the off trip level 60 and is denied.
python3 - >edge.tape <<'EOF'
import json
t0 = 1733245140000  # Wednesday 2024-12-04 01:59:00 KST
recs = []
for i in range(0, 64000, 2000):
    for pair, px in (("USD/KRW", "1425.0"), ("JPY/KRW", "9.50"),
                     ("EUR/KRW", "1500.0")):
        recs.append((t0 + i, {"tick": {"pair": pair, "px": px}}))
for k in range(70):
    recs.append((t0 + 1000 + k * 800,
                 {"check": {"product": "fx-wallet.USDKRW.buy",
                            "amount": "100"}}))
recs.append((t0 + 61000, {"check": {"product": "fx-wallet.USDKRW.buy",
                                    "amount": "100"}}))
recs.sort(key=lambda r: r[0])
for t, r in recs:
    d = {"t": t}
    d.update(r)
    print(json.dumps(d))
print(json.dumps({"t": t0 + 62000, "end": True}))
EOF
"$CTL" replay --decisions --config "$CONF" edge.tape >edge.jsonl 2>edge.err
check "02:00: replay exit 0" "$? $(cat edge.err)" "0 "
check "02:00: warn at night's 60, the boundary, then the trip at off's 60 on the next check" \
	"$(jq -r 'select(.event=="warn" or .event=="trip" or .event=="session")
		| [.t, .event, .from // .n, .to // .threshold] | map(tostring)
		| join(" ")' edge.jsonl | tr '\n' '|')" \
	"1733245188200 warn 60 60|1733245200000 session night off|1733245201000 trip 70 60|"
check "02:00: that check is denied by the volume rule" \
	"$(jq -c 'select(.t==1733245201000 and .decision)
		| [.decision, .reason, .rule]' edge.jsonl)" \
	'["deny","suspended","usdkrw-wallet-buy-volume"]'
check "02:00: the 70 before it were allowed" \
	"$(tail -n 1 edge.jsonl | jq -c '.summary["fx-wallet.USDKRW.buy"]')" \
	'{"allow":70,"deny":1,"throttle":0}'

finish
