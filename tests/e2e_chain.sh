#!/bin/sh
# e2e_chain.sh BUILD: the log that proves itself (docs/LEDGER.md): the real
# daemon writes a chained, checkpointed log; fxbreakerctl verify and the
# independent Python verifier agree on it and on every tampering below;
# the daemon refuses to open a broken chain normally (degraded start).
. "$(dirname "$0")/lib_e2e.sh"

PY="python3 $ROOT/ledger/fxb_verify_chain.py"
{
	service_conf
	cat <<EOF2
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[rule v]
product = w
kind = volume
window = 60s
trip = 2
suspend_for = 200ms
EOF2
} >"$TMP/fx.conf"

start_daemon || exit 1
for i in 1 2 3 4 5 6; do
	req '{"op":"check","product":"w","amount":"1.00"}' >/dev/null
	sleep 0.1
done
check "log.key is mode 0400" "$(stat -c %a "$TMP/data/log.key")" 400
check "log.pub is 64 hex digits" "$(tr -d '\n' <"$TMP/data/log.pub" | wc -c)" 64
"$CTL" verify "$TMP/data/fxbreaker.db" >out 2>&1
check "verify refuses a live database (WAL)" "$?" 3
"$CTL" export snap.db >/dev/null
check "export: snapshot and its checkpoint note" \
	"$(ls snap.db snap.db.checkpoint | tr '\n' ' ')" "snap.db snap.db.checkpoint "
stop_daemon
DB="$TMP/data/fxbreaker.db"
PUB="--pubkey $TMP/data/log.pub"
rows=$(sql "select count(*) from suspension_log")
check "every row hashed" "$(sql "select count(*) from suspension_log where length(hash) = 32 and length(prev_hash) = 32")" "$rows"
check "the last row is covered by a checkpoint" \
	"$(sql "select max(size) from checkpoints")" "$rows"
check "each checkpoint exported as a note" \
	"$(ls "$TMP/data/checkpoints" | wc -l)" "$(sql "select count(*) from checkpoints")"
"$CTL" verify $PUB "$DB" >out
check "verify: intact (0)" "$?" 0
check "verify: verdict line" "$(tail -n 1 out)" "verdict: ok ($rows rows, covered to $rows)"
$PY "$DB" >pyout 2>&1
check "python verifier agrees (0)" "$?" 0
"$CTL" verify $PUB snap.db >/dev/null
check "the exported snapshot verifies" "$?" 0
sqlite3 "$DB" "update suspension_log set event='x' where seq=2" 2>err
check_has "triggers refuse an edit" "$(cat err)" "append-only"
sqlite3 "$DB" "delete from suspension_log where seq=2" 2>err
check_has "triggers refuse a delete" "$(cat err)" "append-only"

# tamper CASE SQL: a copy with the triggers dropped and SQL applied.
tamper() {
	cp "$DB" "$1.db"
	sqlite3 "$1.db" "drop trigger suspension_log_append_only_update;
		drop trigger suspension_log_append_only_delete;
		drop trigger checkpoints_append_only_update;
		drop trigger checkpoints_append_only_delete; $2"
}
# expect NAME DB CODE NEEDLE [ANCHOR] [nosig]: both verifiers exit CODE
# (the Python one checks the chain, not signatures: nosig skips it).
expect() {
	name=$1 db=$2 code=$3 needle=$4 anchor=${5:-} nosig=${6:-}
	if [ -n "$anchor" ]; then
		"$CTL" verify $PUB --anchor "$anchor" "$db" >out 2>&1
	else
		"$CTL" verify $PUB "$db" >out 2>&1
	fi
	check "$name: verify exits $code" "$?" "$code"
	[ -n "$needle" ] && check_has "$name: verify says so" "$(cat out)" "$needle"
	[ -n "$nosig" ] && return
	if [ -n "$anchor" ]; then
		$PY --anchor "$anchor" "$db" >pyout 2>&1
	else
		$PY "$db" >pyout 2>&1
	fi
	check "$name: python verifier exits $code too" "$?" "$code"
}
for col in t event rule kind scope scope_type suspension mode detail logged_at; do
	case $col in
	t | suspension | logged_at) v=12345 ;;
	*) v="'tampered'" ;;
	esac
	tamper "edit-$col" "update suspension_log set $col = $v where seq = 3"
	expect "edited $col" "edit-$col.db" 1 "seq 3: edited"
done
tamper null0 "update suspension_log set suspension = 0 where seq = 1"
expect "a NULL suspension made 0" null0.db 1 "seq 1: edited"
tamper ckt "update checkpoints set t = t + 1 where size = (select min(size) from checkpoints)"
expect "a checkpoint's time column edited" ckt.db 1 "differ from its signed body" "" nosig
tamper del "delete from suspension_log where seq = 3"
expect "deleted middle row" del.db 1 "seq 3: missing"
tamper swap "update suspension_log set detail = (select detail from suspension_log where seq = 5) where seq = 4;
	update suspension_log set detail = (select detail from suspension_log s where s.seq = 4) where seq = 5"
expect "reordered rows" swap.db 1 "edited"
# An inserted row whose own hash is right (computed here with the spec),
# moving the rest along: the next row no longer follows it.
tamper ins "update suspension_log set seq = seq + 1000 where seq >= 4;
	update suspension_log set seq = seq - 999 where seq >= 1000"
python3 - ins.db <<'EOF2'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
log_id = bytes.fromhex(db.execute("select value from ledger_meta where key='log_id'").fetchone()[0])
prev = db.execute("select hash from suspension_log where seq=3").fetchone()[0]
row = (4, 1, "trip", "v", "volume", "w", "product", None, "enforce", "{}", 1)
def val(x):
    if x is None: return b"\0"
    if isinstance(x, int): return b"\1" + struct.pack(">q", x)
    b = x.encode(); return b"\2" + struct.pack(">I", len(b)) + b
h = hashlib.blake2b(b"fxbreaker/log/v1" + log_id + prev + b"".join(map(val, row)), digest_size=32).digest()
db.execute("insert into suspension_log (seq,t,event,rule,kind,scope,scope_type,suspension,mode,detail,logged_at,prev_hash,hash) values (?,?,?,?,?,?,?,?,?,?,?,?,?)", row + (prev, h))
db.commit()
EOF2
expect "inserted row with its own hash" ins.db 1 "seq 5: does not follow"
last=$(sql "select max(seq) from suspension_log")
tamper trunc "delete from suspension_log where seq > $((last - 2))"
expect "truncated tail, checkpoint stored" trunc.db 2 "truncated"
note=$(ls "$TMP/data/checkpoints" | tail -n 1)
tamper trunc2 "delete from suspension_log where seq > $((last - 2)); delete from checkpoints"
expect "truncated tail, only an anchor" trunc2.db 2 "truncated" "$TMP/data/checkpoints/$note"
tamper trunc3 "delete from suspension_log where seq > $((last - 2)); delete from checkpoints"
"$CTL" verify $PUB trunc3.db >out
check "truncated tail, nothing to anchor it: policy (4)" "$?" 4
# A full rewrite: every row's detail changed and every hash recomputed
# with the spec, the checkpoints deleted.  Only the anchor kept outside
# shows it: its head is not the rewritten chain's.
tamper rewrite "delete from checkpoints; update suspension_log set detail = '{\"rewritten\":true}'"
python3 - rewrite.db <<'EOF2'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
log_id = bytes.fromhex(db.execute("select value from ledger_meta where key='log_id'").fetchone()[0])
def val(x):
    if x is None: return b"\0"
    if isinstance(x, int): return b"\1" + struct.pack(">q", x)
    b = x.encode(); return b"\2" + struct.pack(">I", len(b)) + b
prev = bytes(32)
rows = db.execute("select seq,t,event,rule,kind,scope,scope_type,suspension,mode,detail,logged_at from suspension_log order by seq").fetchall()
for r in rows:
    h = hashlib.blake2b(b"fxbreaker/log/v1" + log_id + prev + b"".join(map(val, r)), digest_size=32).digest()
    db.execute("update suspension_log set prev_hash=?, hash=? where seq=?", (prev, h, r[0]))
    prev = h
db.commit()
EOF2
"$CTL" verify $PUB rewrite.db >out
check "a full rewrite with no anchor passes the chain: policy only (4)" "$?" 4
expect "a full rewrite against an anchor" rewrite.db 2 "forked" "$TMP/data/checkpoints/$note"
tamper forged "update checkpoints set signature = zeroblob(64) where size = (select max(size) from checkpoints)"
expect "forged checkpoint" forged.db 1 "bad signature" "" nosig
"$CTL" verify --pubkey "$ROOT/tests/scenarios/smoke-band/fxbreaker.conf" "$DB" >out 2>&1
check "wrong public key file: usage (3)" "$?" 3
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >other.pub
"$CTL" verify --pubkey other.pub "$DB" >out
check "another key: tampered (1)" "$?" 1
check_has "another key: bad signatures" "$(cat out)" "bad signature"
tamper notrig ""
expect "dropped triggers only" notrig.db 4 "policy: trigger"

# A broken chain at start: every product suspended, the start logged.
cp edit-detail.db "$DB"
rm -f "$DB-wal" "$DB-shm"
start_daemon || exit 1
r=$(req '{"op":"check","product":"x","amount":"1.00"}')
check "degraded start: products are suspended" "$(echo "$r" | json .reason)" forced
check "degraded start: logged" \
	"$(sql "select count(*) from suspension_log where event='degraded_start'")" 1
finish
