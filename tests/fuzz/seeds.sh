#!/bin/sh
# tests/fuzz/seeds.sh BUILD: writes the fuzzers' seed corpora into
# tests/fuzz/corpus/ (committed; rerun when the protocol or the tape
# format grows).  Each seed is a real input: every op on every socket for
# fuzz_wire (first byte: 0 check, 1 admin, 2 tick socket), every signed
# command shape as fxbreakerctl signs it for fuzz_command (first byte 0:
# an envelope; 1: its body alone), the scenario and example tapes for
# fuzz_tape, the example and scenario configs (and a cluster's) for
# fuzz_config, calendars for fuzz_calendar (a 10-byte head: an instant,
# a mask, a horizon; see tests/fuzz/fuzz_calendar.c).
set -eu
B=${1:-build}
CTL="$(pwd)/$B/fxbreakerctl"
C=tests/fuzz/corpus
rm -rf "$C/fuzz_wire" "$C/fuzz_command" "$C/fuzz_tape" "$C/fuzz_config" \
	"$C/fuzz_calendar"
mkdir -p "$C/fuzz_wire" "$C/fuzz_command" "$C/fuzz_tape" "$C/fuzz_config" \
	"$C/fuzz_calendar"
# seed DIR NAME PREFIX_OCTAL TEXT
seed() { { printf "\\$3"; printf '%s' "$4"; } >"$C/$1/$2"; }

n=0
wire() { # wire SOCKET(0,1,2) JSON
	n=$((n + 1))
	seed fuzz_wire "$(printf '%02d' $n)" "00$1" "$2"
}
wire 0 '{"op":"check","product":"fx-wallet.USDKRW.buy","amount":"100.00","rate":"1421.05","ref":"TX-0001"}'
wire 0 '{"op":"check","product":"remittance.USDKRW","amount":"5000"}'
wire 0 '{"op":"check_batch","checks":[{"product":"w","amount":"1"},{"amount":"2","product":"x","rate":"3","ref":"r"}],"ref":"b"}'
wire 0 '{"op":"tick","pair":"USD/KRW","px":"1402.9"}'
wire 0 '{"op":"tick","pair":"USD/KRW","bid":"1420.9","ask":"1421.1","ref":"q"}'
wire 0 '{"op":"ping","ref":"가"}'
wire 0 ' {"amount":"1" , "op" : "check","product":"w\u0041"}'
wire 0 '{"op":"check","product":"w","amount":"1","x":"1"}'
wire 0 '{"op":"status"}'
wire 1 '{"op":"status","ref":"s"}'
wire 1 '{"op":"ping"}'
wire 1 '{"op":"check","product":"w","amount":"1"}'
wire 2 '{"pair":"USD/KRW","px":"1400"}'
wire 2 '{"op":"tick","pair":"JPY/KRW","bid":"9.3801","ask":"9.3811"}'

# Signed commands, one of each shape, on a throwaway key.
K=$(mktemp -d)
trap 'rm -rf "$K"' EXIT
"$CTL" keygen --name alice --out "$K/a.key" --no-passphrase >"$K/a.line"
pk=$(grep -v '^#' "$K/a.line" | cut -d' ' -f3)
kid=$(sed -n 's/^# key id //p' "$K/a.line")
sign() { # sign NAME ARGS...: an envelope and its body
	name=$1
	shift
	"$CTL" "$@" --key "$K/a.key" --url ipc:///nowhere \
		--service-id prod --sign-only >"$K/env"
	seed fuzz_command "env-$name" 000 "$(cat "$K/env")"
	seed fuzz_command "body-$name" 001 "$(jq -r .body "$K/env")"
}
sign suspend-product suspend --product fx-wallet.USDKRW.buy --reason pause
sign suspend-pair suspend --pair USD/KRW --reason "pause all" \
	--until 1733232793000
sign lift lift --product w --suspension 42 --reason over
sign reset reset --rule usdkrw-band --suspension 7 --reason checked
sign notice notice --notice fx-heavy-use --lang ko --text '잠시 중단' \
	--reason wording
sign threshold threshold --rule usdkrw-band --param trip --value 400 \
	--reason loosen
sign enrol enrol --name bob --roles suspend,approve --pubkey "$pk" \
	--reason "new hire"
sign revoke revoke --operator "$kid" --reason "left"
sign approve-susp approve --request 12 --suspension 7 --reason ok
sign approve-op approve --request 13 --operator "$kid" --reason ok
sign plan suspend --product remittance.USDKRW --from 1796403600000 \
	--until 1796432400000 --notice remittance-surge --reason maintenance
sign cancel cancel --product remittance.USDKRW --reason "not needed"
seed fuzz_wire 90-command 001 "$(cat "$K/env")"

# Tapes: each scenario's, and the start of the example night.
for d in tests/scenarios/*/; do
	[ -f "$d/tape.jsonl" ] || continue
	head -c 4000 "$d/tape.jsonl" >"$C/fuzz_tape/$(basename "$d")"
done
head -n 40 examples/night-2024-12-03.tape >"$C/fuzz_tape/night-start"
for d in tests/scenarios/*/; do
	[ -f "$d/fxbreaker.conf" ] &&
		cp "$d/fxbreaker.conf" "$C/fuzz_config/$(basename "$d")"
done
cp examples/fxbreaker.conf "$C/fuzz_config/example"
# A cluster: the example's three nodes, and a small one whose peers set
# only what they must.
cp examples/cluster.conf "$C/fuzz_config/example-cluster"
printf '%s\n' '[service]' 'data_dir = ./d' '[cluster]' 'node_id = 2' \
	'election_timeout = 1s' 'heartbeat_timeout = 100ms' \
	'snapshot_threshold = 1024' '[peer 1]' 'raft_address = 10.0.0.1:9701' \
	'check_url = tcp://10.0.0.1:9711' '[peer 2]' \
	'raft_address = fxb2.bank.internal:9701' \
	'check_url = ipc:///run/fxbreaker/check.ipc' 'data_dir = ./d2' \
	'[peer 3]' 'raft_address = 10.0.0.3:9701' \
	'check_url = tcp://10.0.0.3:9711' 'http_url = http://10.0.0.3:9464' \
	>"$C/fuzz_config/cluster-small"
# Calendars: KRX with holidays, whole days, a 24-hour session, an
# overlap; heads near 2026 (low bit 0) and anywhere (1).
cal() { # cal NAME HEAD_OCTAL LINES...
	name=$1
	head=$2
	shift 2
	{ printf "$head"; printf '%s\n' "$@"; } >"$C/fuzz_calendar/$name"
}
cal krx '\000\000\000\000\000\000\000\200\006\016' +09:00 \
	'2026-12-07, 2026-12-10' 'mon-fri 09:00-15:30' 'mon-fri 15:30-02:00'
cal whole '\000\100\000\000\000\000\000\200\001\377' -05:00 2026-12-25 \
	'daily 00:00-00:00'
cal h24 '\001\000\000\000\000\000\000\200\002\007' +00:00 '' \
	'sat,sun 09:00-09:00' 'mon,wed-fri 10:00-11:00' 'fri-mon 22:00-06:00'
cal overlap '\000\000\000\000\000\000\000\000\003\016' +05:45 \
	2027-01-01 'sun 22:00-02:00' 'mon 01:00-03:00'
echo "seeds: $(find "$C" -type f | wc -l) files in $C"
