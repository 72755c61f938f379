#!/bin/sh
# e2e_pyverify.sh BUILD: ledger/fxb_verify_chain.py, the second verifier
# (Python standard library only), on a fixture that tests/chain_fixture.py
# builds from docs/LEDGER.md; no daemon.
#  (a) the fixture's hashes are LEDGER.md's: a third path (SQL lays out
#      the bytes of every row, b2sum hashes them) agrees with its chain;
#  (b) the fixture verifies (exit 0), the file is left as it was, and the
#      output says signatures are not checked;
#  (c) each tampering on its own copy: the exact exit code, the verdict,
#      and the first finding naming the right seq or checkpoint: every
#      column edited (1), a row deleted (1), two rows swapped (1), a row
#      inserted with its own hash (1), the tail truncated under a
#      checkpoint (2), tail and checkpoints deleted but an anchor given
#      (2), the whole chain rewritten against an old anchor (2), triggers
#      dropped (4), rows no checkpoint covers (4), a live -wal (3).
# Needs python3, sqlite3 and b2sum (coreutils).
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/tests/lib_e2e.sh"

PY=${PYTHON:-python3}
verifier() { "$PY" "$HERE/ledger/fxb_verify_chain.py" "$@" </dev/null; }
fixture() { "$PY" "$HERE/tests/chain_fixture.py" "$@" </dev/null; }

LOG_ID=5eedf00d5eedf00d5eedf00d5eedf00d5eedf00d5eedf00d5eedf00d5eedf00d
OTHER_ID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# run ARGS...: the verifier; sets OUT, ERR, RC, FIRST (the first finding
# line), NFIND (how many findings) and VERDICT (the last line).
run() {
	OUT=$(verifier "$@" 2>err.txt)
	RC=$?
	ERR=$(cat err.txt)
	FINDINGS=$(printf '%s\n' "$OUT" |
		grep -E '^(seq -?[0-9]+|checkpoint [0-9]+|policy): ')
	FIRST=$(printf '%s\n' "$FINDINGS" | head -n 1)
	NFIND=$(printf '%s\n' "$FINDINGS" | grep -c .)
	VERDICT=$(printf '%s\n' "$OUT" | tail -n 1)
}
# expect NAME RC PREFIX ARGS...: the exit code, its verdict word, and a
# first finding that starts with PREFIX ("" for none).
expect() {
	name=$1
	want=$2
	prefix=$3
	shift 3
	run "$@"
	check "$name: exit" "$RC" "$want"
	case $want in
	0) word=ok ;; 1) word=tampered ;; 2) word=truncated ;;
	3) word=usage ;; *) word=policy ;;
	esac
	check_has "$name: verdict" "$VERDICT" "verdict: $word ("
	if [ -z "$prefix" ]; then
		check "$name: no finding" "$FIRST" ""
	else
		case $FIRST in
		"$prefix"*) ok "$name: first finding $prefix" ;;
		*) fail "$name: first finding" "got [$FIRST], want [$prefix...]
$OUT
$ERR" ;;
		esac
	fi
}
# copy NAME: a fresh copy of the fixture, NAME.db.
copy() { cp base.db "$1.db"; }
# tamper DB SQL: SQL with the triggers dropped, then put back as they
# were, as someone holding the file would do it.
tamper() {
	trig=$(sqlite3 "$1" "SELECT sql || ';' FROM sqlite_master
		WHERE type = 'trigger'")
	sqlite3 "$1" "BEGIN;
DROP TRIGGER suspension_log_append_only_update;
DROP TRIGGER suspension_log_append_only_delete;
DROP TRIGGER checkpoints_append_only_update;
DROP TRIGGER checkpoints_append_only_delete;
$2;
$trig
COMMIT;" </dev/null || fail "tamper $1" "sqlite3 failed on [$2]"
}

# ---- (a) the fixture, and LEDGER.md's bytes by another path ----

fixture create base.db --log-id "$LOG_ID" --notes notes
check "fixture: 20 rows, 5 checkpoints" \
	"$(sqlite3 base.db "SELECT count(*), max(seq) FROM suspension_log;
		SELECT count(*), max(size) FROM checkpoints")" "20|20
5|20"

# value(x) in SQL: 00 NULL; 01 + 8 bytes big-endian; 02 + u32 length + UTF-8.
i() { echo "CASE WHEN $1 IS NULL THEN '00' ELSE '01' || printf('%016x', $1) END"; }
s() { echo "CASE WHEN $1 IS NULL THEN '00' ELSE '02' ||
	printf('%08x', length(CAST($1 AS BLOB))) || hex(CAST($1 AS BLOB)) END"; }
sqlite3 base.db "SELECT seq, lower(hex(hash)), lower(hex('fxbreaker/log/v1')
	|| (SELECT value FROM ledger_meta WHERE key = 'log_id')
	|| hex(prev_hash) || $(i seq) || $(i t) || $(s event) || $(s rule)
	|| $(s kind) || $(s scope) || $(s scope_type) || $(i suspension)
	|| $(s mode) || $(s detail) || $(i logged_at))
	FROM suspension_log ORDER BY seq" >preimages.txt
bad=
while IFS='|' read -r seq want pre; do
	sqlite3 :memory: "SELECT writefile('pre.bin', X'$pre')" >/dev/null
	got=$(b2sum -l 256 pre.bin | cut -d ' ' -f 1)
	[ "$got" = "$want" ] || bad="$bad $seq"
done <preimages.txt
check "fixture: b2sum of each row's bytes is its hash (20 rows)" \
	"$(grep -c . preimages.txt)$bad" "20"
check "fixture: seq 1 links to 32 zero bytes, each row to the one before" \
	"$(sqlite3 base.db "SELECT hex(prev_hash) = hex(zeroblob(32))
		FROM suspension_log WHERE seq = 1;
		SELECT count(*) FROM suspension_log a JOIN suspension_log b
		ON b.seq = a.seq - 1 WHERE a.prev_hash IS NOT b.hash")" "1
0"
check "fixture: rows with NULLs, non-ASCII text" \
	"$(sqlite3 base.db "SELECT count(*) FROM suspension_log
		WHERE rule IS NULL AND suspension IS NULL;
		SELECT length(detail) < length(CAST(detail AS BLOB))
		FROM suspension_log WHERE seq = 10")" "4
1"
check "fixture: a note is the body, an empty line, a dash line" \
	"$(wc -l <notes/checkpoint-20.note)|$(sed -n '1p;6p;7p' \
		notes/checkpoint-20.note | cut -c 1-4 | tr '\n' '|')" \
	"7|fxbr||— |"

# ---- (b) intact ----

cp base.db pristine.db
expect "intact" 0 "" base.db
check "intact: verdict line" "$VERDICT" "verdict: ok (20 rows, last checkpoint 20)"
check_has "intact: says signatures are not checked" "$OUT" \
	"signatures are NOT checked"
if cmp -s base.db pristine.db; then ok "intact: the database is unchanged"
else fail "intact: the database is unchanged" "base.db differs"; fi
expect "intact, every note as an anchor" 0 "" --anchor notes/checkpoint-1.note \
	--anchor notes/checkpoint-5.note --anchor notes/checkpoint-10.note \
	--anchor notes/checkpoint-15.note --anchor notes/checkpoint-20.note base.db
cp base.db 'odd ?name #1 %20.db'
expect "intact, a path with ? # %" 0 "" 'odd ?name #1 %20.db'
copy emptywal
: >emptywal.db-wal
expect "intact, an empty -wal" 0 "" emptywal.db

# ---- (c) tampering ----

# Each column of seq 7 (a trip with no NULL) edited in turn.
while IFS='|' read -r col set; do
	copy "col-$col"
	tamper "col-$col.db" "UPDATE suspension_log SET $set WHERE seq = 7"
	expect "edit $col" 1 "seq 7: " "col-$col.db"
done <<'EOF'
seq|seq = 1000
t|t = t + 1
event|event = 'warn'
rule|rule = NULL
kind|kind = 'band'
scope|scope = 'fx-wallet.USDKRW.sell'
scope_type|scope_type = 'pair'
suspension|suspension = 5
mode|mode = 'shadow'
detail|detail = replace(detail, '"trip"', '"warn"')
logged_at|logged_at = logged_at - 1
prev_hash|prev_hash = zeroblob(32)
hash|hash = zeroblob(32)
detail-blob|detail = CAST(detail AS BLOB)
t-real|t = t + 0.5
EOF
run col-t.db
check "edit t: one finding, the row" "$NFIND|$FIRST" \
	"1|seq 7: hash does not match the row (edited, moved, or not of this log)"
run col-hash.db
check "edit hash: one finding (seq 8 still links to the row's true hash)" \
	"$NFIND" 1
run col-detail-blob.db
check_has "edit detail into a blob of the same bytes" "$OUT" \
	"seq 7: detail holds a blob, not text"

copy delete
tamper delete.db "DELETE FROM suspension_log WHERE seq = 10"
expect "a middle row deleted" 1 "seq 10: missing" delete.db

copy swap
tamper swap.db "CREATE TEMP TABLE sw AS SELECT * FROM suspension_log
	WHERE seq IN (7, 8);
UPDATE suspension_log SET (t, event, rule, kind, scope, scope_type,
	suspension, mode, detail, logged_at) = (SELECT t, event, rule, kind,
	scope, scope_type, suspension, mode, detail, logged_at FROM sw
	WHERE sw.seq = 15 - suspension_log.seq) WHERE seq IN (7, 8)"
expect "rows 7 and 8: contents swapped" 1 "seq 7: " swap.db
check_has "rows 7 and 8: contents swapped: seq 8 too" "$OUT" "seq 8: hash"

copy move
tamper move.db "UPDATE suspension_log SET seq = -1 WHERE seq = 7;
UPDATE suspension_log SET seq = 7 WHERE seq = 8;
UPDATE suspension_log SET seq = 8 WHERE seq = -1"
expect "rows 7 and 8: whole rows swapped" 1 "seq 7: " move.db

# A forged resume at seq 10 whose own hash is right; the rows after it
# are renumbered but not rehashed: the break is at seq 11.
copy insert
tamper insert.db "UPDATE suspension_log SET seq = seq + 1000 WHERE seq >= 10;
UPDATE suspension_log SET seq = seq - 999 WHERE seq >= 1000;
INSERT INTO suspension_log (seq, t, event, rule, kind, scope, scope_type,
	suspension, mode, detail, logged_at, prev_hash, hash)
	SELECT 10, t + 1, 'resume', 'vol-buy', 'volume', 'fx-wallet.USDKRW.buy',
	'product', 7, 'enforce', '{\"event\":\"resume\"}', logged_at + 1, hash,
	zeroblob(32) FROM suspension_log WHERE seq = 9"
fixture rehash insert.db --seq 10
expect "a row inserted with its own hash" 1 "seq 11: prev_hash" insert.db
case $OUT in
*"seq 10:"*) fail "a row inserted: seq 10 itself checks" "$OUT" ;;
*) ok "a row inserted: seq 10 itself checks" ;;
esac

copy trunc
tamper trunc.db "DELETE FROM suspension_log WHERE seq > 17"
expect "tail truncated under a checkpoint" 2 "checkpoint 20: " trunc.db
check_has "tail truncated: names the missing rows" "$FIRST" "seq 18..20"
check "tail truncated: verdict line" "$VERDICT" \
	"verdict: truncated (17 rows, last checkpoint 20)"

copy trunc2
tamper trunc2.db "DELETE FROM suspension_log WHERE seq > 12;
DELETE FROM checkpoints WHERE size > 12"
expect "tail and checkpoints deleted, anchor 20" 2 \
	"checkpoint 20: anchor notes/checkpoint-20.note: the log ends at seq 12" \
	--anchor notes/checkpoint-20.note trunc2.db
expect "tail and checkpoints deleted, no anchor: policy only" 4 \
	"policy: seq 11..12 are after the last checkpoint (10)" trunc2.db

# Different contents, every hash and checkpoint recomputed: only an
# anchor kept elsewhere (or the signatures) can tell.
copy rewrite
tamper rewrite.db "UPDATE suspension_log SET detail = replace(detail,
	'\"t\":', '\"t\": '), mode = 'shadow'"
fixture rehash rewrite.db
expect "chain rewritten, no anchor: passes (signatures not checked)" 0 "" \
	rewrite.db
expect "chain rewritten, old anchor 20" 2 \
	"checkpoint 20: anchor notes/checkpoint-20.note: head is not the hash of seq 20" \
	--anchor notes/checkpoint-20.note rewrite.db
expect "chain rewritten, old anchor 5" 2 "checkpoint 5: anchor" \
	--anchor notes/checkpoint-5.note rewrite.db

copy ckhead
tamper ckhead.db "UPDATE checkpoints SET head = zeroblob(32), body =
	replace(body, lower(hex(head)), lower(hex(zeroblob(32)))) WHERE size = 10"
expect "checkpoint head and body rewritten alike" 2 \
	"checkpoint 10: head is not the hash of seq 10" ckhead.db
copy cklog
tamper cklog.db "UPDATE checkpoints SET body = replace(body, '$LOG_ID',
	'$OTHER_ID') WHERE size = 10"
expect "checkpoint of another log" 1 "checkpoint 10: not of this log" cklog.db
copy ckbody
tamper ckbody.db "UPDATE checkpoints SET t = t + 1 WHERE size = 15"
expect "checkpoint t and body disagree" 1 "checkpoint 15: body says time" \
	ckbody.db
fixture create other.db --log-id "$OTHER_ID"
expect "anchor of another log" 1 \
	"checkpoint 20: anchor notes/checkpoint-20.note: not of this log" \
	--anchor notes/checkpoint-20.note other.db

copy notrig
sqlite3 notrig.db "DROP TRIGGER suspension_log_append_only_update;
DROP TRIGGER suspension_log_append_only_delete;
DROP TRIGGER checkpoints_append_only_update;
DROP TRIGGER checkpoints_append_only_delete"
expect "triggers dropped" 4 \
	"policy: trigger suspension_log_append_only_update is missing" notrig.db
check "triggers dropped: four findings" "$NFIND" 4
copy weaktrig
sqlite3 weaktrig.db "DROP TRIGGER suspension_log_append_only_update;
CREATE TRIGGER suspension_log_append_only_update
BEFORE UPDATE OF mode ON suspension_log
BEGIN SELECT RAISE(ABORT, 'no'); END"
expect "a trigger narrowed to one column" 4 \
	"policy: trigger suspension_log_append_only_update does not abort every UPDATE" \
	weaktrig.db

fixture create uncovered.db --log-id "$LOG_ID" --checkpoints 1,5,10,15
expect "rows after the last checkpoint, no anchor" 4 \
	"policy: seq 16..20 are after the last checkpoint (15)" uncovered.db
check "rows after the last checkpoint: verdict line" "$VERDICT" \
	"verdict: policy (20 rows, last checkpoint 15)"
expect "rows after the last checkpoint, an anchor covers them" 0 "" \
	--anchor notes/checkpoint-20.note uncovered.db

copy wal
"$PY" -c "
import os, sqlite3
c = sqlite3.connect('wal.db', isolation_level=None)
c.execute('PRAGMA wal_autocheckpoint = 0')
c.execute(\"INSERT INTO ledger_meta VALUES ('writer', 'live')\")
os._exit(0)  # no close: the frames stay in wal.db-wal
"
if [ -s wal.db-wal ]; then ok "wal: the -wal holds frames"
else fail "wal: the -wal holds frames" "wal.db-wal is empty"; fi
expect "a live -wal" 3 "" wal.db
check_has "a live -wal: says why" "$ERR" "wal.db-wal holds"
check "a live -wal: verdict line" "$VERDICT" \
	"verdict: usage (0 rows, last checkpoint 0)"

# ---- usage ----
expect "no arguments" 3 ""
expect "no such database" 3 "" nosuch.db
printf 'not a note\n' >bad.note
expect "an anchor that is not a note" 3 "" --anchor bad.note base.db
expect "an anchor that cannot be read" 3 "" --anchor nosuch.note base.db
sqlite3 plain.db "CREATE TABLE t (x)"
expect "a database without the chain" 3 "" plain.db
check_has "a database without the chain: says why" "$ERR" "no table"

finish
