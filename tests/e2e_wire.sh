#!/bin/sh
# e2e_wire.sh BUILD: the four sockets and fxbreakerctl's wire commands,
# end to end (docs/PROTOCOL.md, docs/OPERATIONS.md).
#  (a) 8 concurrent clients x 50 checks: every reply well formed and
#      routed to its own request (ref), allow/deny counts exactly as the
#      volume rules' arithmetic says (count and notional).
#  (b) events: a trip, its notice, the resume and the closing notice, on
#      their topics, each after its commit and equal to its log row;
#      prefix subscriptions; service rows not published.
#  (c) ticks on the PULL socket drive a band rule (reference, limit, trip:
#      log, status, the pair's events; each step is waited for, so the
#      ticks' order is certain); bad ticks are logged to stderr, counted,
#      never applied.
#  (d) fxbreakerctl check/tick/status/log: exact output and exit codes.
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[pair EUR/KRW]
[product cnt]
pair = USD/KRW
[product notl]
pair = USD/KRW
[product ev]
pair = USD/KRW
[product wallet]
pair = USD/KRW
[product eur]
pair = EUR/KRW
[rule cnt-vol]
product = cnt
kind = volume
window = 1h
trip = 100
suspend_for = 1h
[rule notl-vol]
product = notl
kind = volume
measure = notional
window = 1h
trip = 250.00
suspend_for = 1h
[rule ev-vol]
product = ev
kind = volume
window = 1h
trip = 2
suspend_for = 500ms
notice = evn
[rule wallet-vol]
product = wallet
kind = volume
window = 1h
trip = 2
suspend_for = 0s
notice = busy
[rule eur-band]
pair = EUR/KRW
kind = band
window = 60s
band_pct = 1
ref_move_pct = 1
ref_min_life = 30s
limit_for = 200ms
suspend_for = 1h
notice = fast
[notice busy]
ko = {product} 환전 일시 중단
en = {product}: exchange paused ({reason})
[notice evn]
ko = {product} 일시 중단
en = {product} paused
[notice fast]
ko = {product} 환율 급변
en = {product}: the rate moved fast
EOF2
} >"$TMP/fx.conf"

SUBS=
sub_start() { # sub_start FILE PREFIX
	nngcat --sub --dial "ipc://$TMP/run/events.ipc" --subscribe "$2" \
		--ascii >"$1" 2>&1 &
	SUBS="$SUBS $!"
}
sub_stop() {
	for p in $SUBS; do kill "$p" 2>/dev/null; done
	for p in $SUBS; do wait "$p" 2>/dev/null; done
	SUBS=
}
# subs_connected N: N connections accepted on the events socket (PUB
# drops what it publishes before a subscriber is connected).
subs_connected() {
	[ "$(grep -c " 03 [0-9]* $TMP/run/events.ipc\$" /proc/net/unix)" -ge "$1" ]
}
# nngcat --ascii prints messages with no separator: split before each
# topic (no text in this config contains one).
events() { sed 's/}\(product\/\|pair\/\|notice\/\)/}\n\1/g' "$1"; }
payloads() { events "$1" | grep "^$2 " | sed "s|^$2 ||"; }
row() { sql "select detail from suspension_log where seq=$1" | ascii; }

# Whatever ends the script (a failed step, a closed pipe), nothing it
# started outlives it.
cleanup() {
	for p in $PID $SUBS $pids; do kill -KILL "$p" 2>/dev/null; done
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

if ! start_daemon; then
	fail "start" "the daemon did not start"
	finish
	exit 1
fi
sub_start ev_all.txt ''
sub_start ev_notice.txt 'notice/'
sub_start ev_eur.txt 'pair/EUR/KRW'
wait_for subs_connected 3

# ======================= (a) many concurrent clients ====================
client() { # client ID: 50 checks, alternating the two products
	i=0
	while [ $i -lt 50 ]; do
		i=$((i + 1))
		if [ $((i % 2)) -eq 0 ]; then p=cnt; else p=notl; fi
		r=$(nngcat --req --dial "ipc://$TMP/run/check.ipc" --ascii \
			--data "{\"op\":\"check\",\"product\":\"$p\",\"amount\":\"2.50\",\"ref\":\"$p-$1-$i\"}" 2>&1)
		echo "$r" >>"replies.$1"
	done
}
pids=
for c in 1 2 3 4 5 6 7 8; do
	client $c &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
cat replies.* >replies
check "(a) 400 replies" "$(wc -l <replies)" 400
check "(a) every reply is a JSON object with a decision" \
	"$(jq -r 'if type == "object" and (.decision == "allow" or .decision == "deny") then "ok" else "BAD" end' replies 2>&1 | sort | uniq -c | sed 's/^ *//')" \
	"400 ok"
check "(a) every request answered once, to its own ref" \
	"$(jq -r .ref replies | sort -u | wc -l)" 400
seq_cnt=$(sql "select seq from suspension_log where event='trip' and rule='cnt-vol'")
seq_notl=$(sql "select seq from suspension_log where event='trip' and rule='notl-vol'")
# count: N = allowed + 1 >= 100 trips: 99 allowed, the 100th and the rest
# (101 of 200) denied.  notional: 2.50 x (allowed + 1) >= 250.00 trips:
# 99 allowed, 101 denied.
tally() { # tally PRODUCT: decision counts, and what the denies quote
	jq -r "select(.ref | startswith(\"$1-\")) | \"\(.decision) \(.reason // \"-\") \(.suspension // \"-\")\"" replies |
		sort | uniq -c | sed 's/^ *//' | tr '\n' ';'
}
check "(a) count rule: 99 allowed, 101 denied quoting its trip" \
	"$(tally cnt)" "99 allow - -;101 deny suspended $seq_cnt;"
check "(a) notional rule: 99 allowed, 101 denied quoting its trip" \
	"$(tally notl)" "99 allow - -;101 deny suspended $seq_notl;"
check "(a) the count trip row: n and threshold" \
	"$(row "$seq_cnt" | jq -c '[.n, .threshold, .scope]')" '[100,100,"cnt"]'
check "(a) the notional trip row: n and threshold as amounts" \
	"$(row "$seq_notl" | jq -c '[.n, .threshold, .scope]')" \
	'["250.00","250.00","notl"]'
check "(a) two trips, in seq order 2 and 3" \
	"$(printf '%s\n' "$seq_cnt" "$seq_notl" | sort -n | tr '\n' ' ')" "2 3 "

# ============================ (b) events ================================
r1=$(req '{"op":"check","product":"ev","amount":"1.00"}')
r2=$(req '{"op":"check","product":"ev","amount":"1.00","ref":"ev2"}')
check "(b) first check allowed" "$r1" '{"decision":"allow"}'
s_ev=$(echo "$r2" | json .suspension)
check "(b) second check trips ev-vol (seq 4)" \
	"$(echo "$r2" | jq -c '[.decision, .rule, .suspension, .notice.id, .notice.en]')" \
	'["deny","ev-vol",4,"evn","ev paused"]'
resumed() { [ "$(sql "select count(*) from suspension_log where event='resume' and suspension=$s_ev")" = 1 ]; }
wait_for resumed
closed() { payloads ev_all.txt notice/ev | grep -q '"state":"closed"'; }
wait_for closed
# The notice/ subscriber is another connection: its copy comes in its
# own time.
closed_notice() { payloads ev_notice.txt notice/ev | grep -q '"state":"closed"'; }
wait_for closed_notice
check "(b) allowed again after the resume" \
	"$(req '{"op":"check","product":"ev","amount":"1.00"}')" '{"decision":"allow"}'
s_res=$(sql "select seq from suspension_log where event='resume' and suspension=$s_ev")
check "(b) product/ev: the trip then the resume, quoting the trip's seq" \
	"$(payloads ev_all.txt product/ev | jq -c '[.event, .suspension]' | tr '\n' ' ')" \
	"[\"trip\",$s_ev] [\"resume\",$s_ev] "
check "(b) the published trip is its log row, byte for byte" \
	"$(payloads ev_all.txt product/ev | grep '"event":"trip"')" "$(row "$s_ev")"
check "(b) the published resume is its log row, byte for byte" \
	"$(payloads ev_all.txt product/ev | grep '"event":"resume"')" "$(row "$s_res")"
check "(b) notice/ev: open then closed, with the suspension" \
	"$(payloads ev_all.txt notice/ev | jq -c '[.state, .suspension, .notice, .scope]' | tr '\n' ' ')" \
	"[\"open\",$s_ev,\"evn\",\"ev\"] [\"closed\",$s_ev,\"evn\",\"ev\"] "
check "(b) the open notice's en text" \
	"$(payloads ev_all.txt notice/ev | jq -r 'select(.state=="open") | .en')" \
	"ev paused"
check "(b) the notice times are the trip's and the resume's" \
	"$(payloads ev_all.txt notice/ev | jq -r .t | tr '\n' ' ')" \
	"$(sql "select t from suspension_log where seq in ($s_ev, $s_res) order by seq" | tr '\n' ' ')"
check "(b) the notices' texts are the stored ones" \
	"$(payloads ev_all.txt notice/ev | jq -r .en | tr '\n' '|')" \
	"$(sql "select en || '|' || closed_en || '|' from notices where suspension=$s_ev")"
check "(b) every trip published on product/ (cnt, notl, ev)" \
	"$(events ev_all.txt | grep '^product/' | sed 's/^[^ ]* //' | jq -r 'select(.event=="trip") | .suspension' | sort -n | tr '\n' ' ')" \
	"2 3 4 "
check "(b) a notice/ subscriber gets only notices" \
	"$(events ev_notice.txt | cut -d/ -f1 | sort -u)" notice
check "(b) the notice/ subscriber: every notice, in seq order" \
	"$(events ev_notice.txt | sed 's/^[^ ]* //' | jq -r '"\(.suspension)\(.state)"' | tr '\n' ' ')" \
	"2open 3open 4open 4closed "

# ========================= (c) ticks on PULL ============================
push() { nngcat --push --dial "ipc://$TMP/run/tick.ipc" --data "$1"; }
# Bad ticks that would set the band's reference if any part of them were
# applied.
push '{"pair":"EUR/KRW","px":"2000","x":1}'
bad1() { grep -q 'bad tick' "$TMP/daemon.log"; }
wait_for bad1
push '{"pair":"EUR/KRW","bid":"2001","ask":"2000"}'
push '{"pair":"EUR/KRW","px":"2000.123456789"}'
push '{"pair":"EUR/XXX","px":"2000"}'
push '{"op":"check","product":"eur","amount":"1.00"}'
push 'not json'
check "(c) first bad tick on stderr, with the running count" \
	"$(grep -m 1 'bad tick' "$TMP/daemon.log" | cut -d' ' -f2-)" \
	'fxbreakerd: warning: bad tick (1 so far): unknown field "x"'
# The log says the count at most once a second: one more bad tick once a
# second has passed shows that all of them were counted.
sleep 1.1
push '{"pair":"EUR/KRW","px":"-1"}'
seven() { grep -q 'bad tick (7 so far)' "$TMP/daemon.log"; }
if wait_for seven; then ok "(c) every bad tick counted (7 so far)"; else
	fail "(c) every bad tick counted (7 so far)" "$(grep 'bad tick' "$TMP/daemon.log")"
fi
check "(c) bad ticks changed nothing: no row" \
	"$(sql "select count(*) from suspension_log where scope='EUR/KRW'")" 0
check "(c) bad ticks changed nothing: the band has no reference" \
	"$("$CTL" status --json | jq -r '.rules[] | select(.rule=="eur-band") | .state')" \
	no_reference
ticks() { "$CTL" status --json | jq -r ".ticks.$1"; }
check "(c) status counts the 7 refused ticks" "$(ticks refused)" 7
applied=$(ticks applied)
has_event() { [ "$(sql "select count(*) from suspension_log where rule='eur-band' and event='$1'")" = 1 ]; }
push '{"pair":"EUR/KRW","px":"1400"}'
wait_for has_event ref_set
check "(c) the first good tick sets the reference (not a bad one)" \
	"$(sql "select detail from suspension_log where event='ref_set'" | jq -c '[.scope, .px, .ref, .lower, .upper]')" \
	'["EUR/KRW","1400.00","1400.00","1386.00","1414.00"]'
check "(c) status counts the applied tick" "$(ticks applied)" $((applied + 1))
check "(c) a quoted rate outside the band is denied" \
	"$(req '{"op":"check","product":"eur","amount":"1.00","rate":"1414.01"}')" \
	'{"decision":"deny","reason":"rate_outside_band","rule":"eur-band","kind":"band"}'
check "(c) a quoted rate on the band's edge is allowed" \
	"$(req '{"op":"check","product":"eur","amount":"1.00","rate":"1414"}')" \
	'{"decision":"allow"}'
push '{"pair":"EUR/KRW","bid":"1413.9","ask":"1414.1"}' # mid 1414: the edge
wait_for has_event limit_enter
wait_for has_event trip
s_eur=$(sql "select seq from suspension_log where rule='eur-band' and event='trip'")
s_lim=$(sql "select seq from suspension_log where rule='eur-band' and event='limit_enter'")
check "(c) the trip falls limit_for after the limit began" \
	"$(sql "select t.t - l.t from suspension_log t, suspension_log l where t.seq=$s_eur and l.seq=$s_lim")" 200
check "(c) band trip row: scope, direction, suspension" \
	"$(row "$s_eur" | jq -c '[.scope, .scope_type, .dir, .suspension, .ref]')" \
	"[\"EUR/KRW\",\"pair\",\"up\",$s_eur,\"1400.00\"]"
st=$("$CTL" status --json)
check "(c) status: the rule tripped with the seq" \
	"$(echo "$st" | jq -c '.rules[] | select(.rule=="eur-band") | [.state, .suspension]')" \
	"[\"tripped\",$s_eur]"
check "(c) status: the pair held by it" \
	"$(echo "$st" | jq -c '.pairs[] | select(.pair=="EUR/KRW") | [.state, .held_by[0].rule, .held_by[0].suspension]')" \
	"[\"suspended\",\"eur-band\",$s_eur]"
check "(c) status: its product suspended" \
	"$(echo "$st" | jq -c '.products[] | select(.product=="eur") | [.state, .reason, .rule, .suspension]')" \
	"[\"suspended\",\"suspended\",\"eur-band\",$s_eur]"
check "(c) status: the other pair unaffected" \
	"$(echo "$st" | jq -c '.pairs[] | select(.pair=="USD/KRW") | [.state, .held_by]')" '["open",[]]'
check "(c) a check on eur is denied with the trip" \
	"$(req '{"op":"check","product":"eur","amount":"1.00"}' | jq -c '[.decision, .rule, .kind, .suspension, .notice.id, .notice.en]')" \
	"[\"deny\",\"eur-band\",\"band\",$s_eur,\"fast\",\"eur: the rate moved fast\"]"
eurpub() { [ -n "$(payloads ev_all.txt notice/EUR/KRW)" ]; }
wait_for eurpub
# (and the pair subscriber, on its own connection, has every row too)
eur_rows() { sql "select count(*) from suspension_log where rule='eur-band'"; }
eursub() { [ "$(payloads ev_eur.txt pair/EUR/KRW | wc -l)" -ge "$(eur_rows)" ]; }
wait_for eursub
check "(c) pair/EUR/KRW: ref_set, limit_enter, trip, each equal to its row" \
	"$(payloads ev_all.txt pair/EUR/KRW)" \
	"$(sql "select detail from suspension_log where rule='eur-band' order by seq" | ascii)"
check "(c) the pair subscriber got exactly those" \
	"$(payloads ev_eur.txt pair/EUR/KRW)" \
	"$(sql "select detail from suspension_log where rule='eur-band' order by seq" | ascii)"
check "(c) its notice on notice/EUR/KRW" \
	"$(payloads ev_all.txt notice/EUR/KRW | jq -c '[.state, .suspension, .scope, .en]')" \
	"[\"open\",$s_eur,\"EUR/KRW\",\"EUR/KRW: the rate moved fast\"]"

# ====================== (d) fxbreakerctl on the wire ====================
out=$("$CTL" check wallet 1.00 2>&1)
check "(d) check: allow, exit 0" "$out rc=$?" "allow rc=0"
out=$("$CTL" check --ref R1 --json wallet 1.00 2>&1)
rc=$?
s_w=$(echo "$out" | json .suspension)
check "(d) check --json: the reply as sent, exit 0" "$out rc=$rc" \
	"{\"decision\":\"deny\",\"reason\":\"suspended\",\"rule\":\"wallet-vol\",\"kind\":\"volume\",\"suspension\":$s_w,\"notice\":{\"id\":\"busy\",\"ko\":\"wallet 환전 일시 중단\",\"en\":\"wallet: exchange paused (very heavy use)\",\"since\":$(sql "select t from suspension_log where seq=$s_w")},\"ref\":\"R1\"} rc=0"
out=$("$CTL" check wallet 1.00 2>&1)
check "(d) check: a deny as text, exit 0" "$out
rc=$?" "deny: suspended by wallet-vol (volume), suspension $s_w
  notice busy
  en: wallet: exchange paused (very heavy use)
  ko: wallet 환전 일시 중단
rc=0"
out=$("$CTL" check nope 1.00 2>&1)
check "(d) check: an error reply, exit 1" "$out rc=$?" \
	'fxbreakerctl: error 6 unknown_product: unknown product "nope" rc=1'
out=$("$CTL" check wallet 1.001 2>&1)
check "(d) check: a precision error, exit 1" "$out rc=$?" \
	'fxbreakerctl: error 4 precision: amount "1.001": at most 2 fractional digits for this product'"'"'s currency rc=1'
out=$("$CTL" tick USD/KRW 1400.5 2>&1)
check "(d) tick: ok, exit 0" "$out rc=$?" "ok rc=0"
out=$("$CTL" tick USD/KRW --bid 1401 --ask 1400 2>&1)
check "(d) tick: crossed, exit 1" "$out rc=$?" \
	'fxbreakerctl: error 10 crossed: bid is above ask rc=1'
out=$("$CTL" tick EUR/XXX 1 2>&1)
check "(d) tick: unknown pair, exit 1" "$out rc=$?" \
	'fxbreakerctl: error 7 unknown_pair: unknown pair "EUR/XXX" rc=1'

# status: the table's lines, computed from the JSON with the same layout.
st=$("$CTL" status --json)
fmt_t() { # epoch ms -> 2026-01-02T03:04:05.678Z
	printf '%s.%03dZ' "$(date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S)" $(($1 % 1000))
}
table=$("$CTL" status)
check "(d) status: exit 0" "$?" 0
check "(d) status: the first line (the time as T)" \
	"$(echo "$table" | head -n 1 | sed -E 's/^e2e at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z;/e2e at T;/')" \
	"e2e at T; ledger ok (committed $(echo "$st" | json .ledger.committed_seq), queued 0)"
w_since=$(echo "$st" | jq -r '.products[] | select(.product=="wallet") | .since')
check "(d) status: wallet's line (waits for an operator)" \
	"$(echo "$table" | grep '^wallet ')" \
	"$(printf '%-28s %-8s %-9s %-30s %6s  %-24s %s' wallet USD/KRW suspended 'wallet-vol (volume)' "$s_w" "$(fmt_t "$w_since")" '(operator or tick)')"
c_since=$(echo "$st" | jq -r '.products[] | select(.product=="cnt") | .since')
c_until=$(echo "$st" | jq -r '.products[] | select(.product=="cnt") | .until')
check "(d) status: cnt's line (ends on its own)" \
	"$(echo "$table" | grep '^cnt ')" \
	"$(printf '%-28s %-8s %-9s %-30s %6s  %-24s %s' cnt USD/KRW suspended 'cnt-vol (volume)' "$seq_cnt" "$(fmt_t "$c_since")" "$(fmt_t "$c_until")")"
check "(d) status: an open product's line" \
	"$(echo "$table" | grep '^ev ')" \
	"$(printf '%-28s %-8s %-9s %-30s %6s  %-24s %s' ev USD/KRW open '' '' '' '')"
check "(d) status: the pair lines" \
	"$(echo "$table" | grep -E '^(USD|EUR)/KRW ')" \
	"$(printf '%-8s %-9s\n' USD/KRW open)
$(printf '%-8s %-9s %s' EUR/KRW suspended 'eur-band (band, tripped)')"
check "(d) status: the tripped rule's line" \
	"$(echo "$table" | grep '^wallet-vol ')" \
	"$(printf '%-28s %-10s %-8s %-19s %6s  %s' wallet-vol volume enforce tripped "$s_w" '')"
check "(d) status: the wallet's since is its trip row's t" \
	"$w_since" "$(sql "select t from suspension_log where seq=$s_w")"

# log: csv header and a row, json fields, text header.
csv=$("$CTL" log --format csv --rule wallet-vol)
check "(d) log --format csv: exit 0" "$?" 0
check "(d) log --format csv: the header" "$(echo "$csv" | head -n 1)" \
	"seq,t,time,event,rule,kind,scope,scope_type,suspension,mode,logged_at,detail"
t_w=$(sql "select t from suspension_log where seq=$s_w")
la_w=$(sql "select logged_at from suspension_log where seq=$s_w")
det_csv=$(row "$s_w" | sed 's/"/""/g')
check "(d) log --format csv: the trip row" "$(echo "$csv" | sed -n 2p | ascii)" \
	"\"$s_w\",\"$t_w\",\"$(fmt_t "$t_w")\",\"trip\",\"wallet-vol\",\"volume\",\"wallet\",\"product\",\"$s_w\",\"enforce\",\"$la_w\",\"$det_csv\""
check "(d) log --format csv: one row for the rule" "$(echo "$csv" | wc -l)" 2
check "(d) log --format csv: a service row has empty rule and suspension" \
	"$("$CTL" log --format csv --event service_start | sed -n 2p | cut -d, -f4-6,8-10)" \
	'"service_start","","service","","","enforce"'
js=$("$CTL" log --format json --rule wallet-vol)
check "(d) log --format json: seq and logged_at, then the event" \
	"$(echo "$js" | jq -c 'keys_unsorted')" \
	'["seq","logged_at","t","event","rule","kind","scope","scope_type","suspension","latched","n","threshold","notice"]'
check "(d) log --format json: the values" \
	"$(echo "$js" | jq -c '[.seq, .logged_at, .t, .event, .rule, .scope, .suspension, .latched, .n, .threshold]')" \
	"[$s_w,$la_w,$t_w,\"trip\",\"wallet-vol\",\"wallet\",$s_w,false,2,2]"
check "(d) log --format json: the event is the stored detail" \
	"$(echo "$js" | jq -c 'del(.seq, .logged_at)' | ascii)" "$(row "$s_w")"
check "(d) log --format json --event trip: one line per trip, in seq order" \
	"$("$CTL" log --format json --event trip | jq -r .seq | tr '\n' ' ')" \
	"$(sql "select seq from suspension_log where event='trip' order by seq" | tr '\n' ' ')"
check "(d) log (text): the header" "$("$CTL" log --limit 1 | head -n 1)" \
	"$(printf '%6s  %-24s  %-14s %-28s %-9s %-24s %6s' SEQ 'TIME (UTC)' EVENT RULE KIND SCOPE SUSP)"
check "(d) log (text): the trip row" "$("$CTL" log --rule wallet-vol | sed -n 2p)" \
	"$(printf '%6s  %s  %-14s %-28s %-9s %-24s %6s' "$s_w" "$(fmt_t "$t_w")" trip wallet-vol volume wallet "$s_w")"
check "(d) log --product: the scope filter" \
	"$("$CTL" log --format json --product ev | jq -r .event | tr '\n' ' ')" \
	"trip resume "
check "(d) log: bad option, exit 3" \
	"$("$CTL" log --format xml >/dev/null 2>&1; echo $?)" 3

# The daemon not running: every wire command exits 3.
sub_stop
stop_daemon
check "(d) SIGTERM: exit 0" "$STOP_RC" 0
check "(b) service rows are never published" \
	"$(events ev_all.txt | grep -c 'service_')" 0
out=$("$CTL" check --timeout 500 wallet 1.00 2>/dev/null)
check "(d) check, daemon not running: exit 3, nothing on stdout" \
	"$out rc=$?" " rc=3"
"$CTL" status --timeout 500 >/dev/null 2>err.txt
check "(d) status, daemon not running: exit 3" "$?" 3
check "(d) status, daemon not running: says why on stderr" \
	"$(head -c 13 err.txt)" "fxbreakerctl:"
"$CTL" tick --timeout 500 USD/KRW 1 >/dev/null 2>&1
check "(d) tick, daemon not running: exit 3" "$?" 3
check "(d) log works with the daemon stopped" \
	"$("$CTL" log --format csv --event service_stop | sed -n 2p | cut -d, -f4)" \
	'"service_stop"'
# OPERATIONS.md: json is "the event plus seq and logged_at", for every row.
check "(d) log --format json: a service row says its event and time" \
	"$("$CTL" log --format json --event service_stop | jq -c '[.event, .t]')" \
	"[\"service_stop\",$(sql "select t from suspension_log where event='service_stop'")]"
finish
