#!/bin/sh
# e2e_walgone.sh BUILD: the database and its -wal file cannot vanish
# unnoticed (issue 9 item 3; docs/OPERATIONS.md "When the database files
# are removed or replaced", docs/LEDGER.md "What verify can prove").
#
# (a) The -wal file is removed while the daemon runs: within two seconds
#     status says degraded, naming the file, and stays so; tripped
#     products stay denied; a new trip gets the fail-closed answer; the
#     rows committed before were copied into the database file, so a
#     SIGKILL then loses none and the restart is clean.
# (b) The -wal file is removed and the daemon killed before it can look
#     (SIGSTOP first): acknowledged rows are gone.  The restart compares
#     the newest exported checkpoint note with the log: a degraded start
#     (every product suspended) with the exact reason, the notes set
#     aside; verify without the notes says ok (it cannot know), with
#     --checkpoint-dir or the set-aside note as --anchor it exits 2.  The
#     next clean restart is not degraded again.
# (c) The database file is replaced (mv another over it) while the
#     daemon runs: degraded, naming the file and both inodes; the
#     restart on the replacement, which lacks rows the notes name, is a
#     degraded start.
# (d) A note in the directory that the log key did not sign (planted, or
#     damaged) is named on stderr and stops nothing.
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	echo "[pair USD/KRW]"
	for p in wallet other third; do
		cat <<EOF2
[product $p]
pair = USD/KRW
[rule vol-$p]
product = $p
kind = volume
window = 60s
trip = 3
suspend_for = 1h
EOF2
	done
} >"$TMP/fx.conf"
DATA="$TMP/data"
NOTES="$DATA/checkpoints"
# The rows in the database file itself, without its -wal file.
dbfile_max() { sqlite3 "file:$DATA/fxbreaker.db?immutable=1" "select max(seq) from suspension_log"; }
rows() { sql "select group_concat(seq || ':' || event, ' ') from (select seq, event from suspension_log order by seq)"; }
trip() { # trip PRODUCT: three checks; prints the third reply
	req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1.00\"}" >/dev/null
	req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1.00\"}" >/dev/null
	req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1.00\",\"ref\":\"$1\"}"
}
ledger() { "$CTL" status --json | jq -c "$1"; }
# (wait_for re-runs a command: these re-read what they test each time)
ledger_is() { [ "$(ledger "$1")" = "$2" ]; }
dbfile_max_is() { [ "$(dbfile_max)" = "$1" ]; }
# start: the daemon, and its start rows (queued before its sockets
# opened) written.
start() {
	start_daemon || exit 1
	wait_for ledger_is .ledger.queued 0
}
denied_by() { # denied_by PRODUCT: the suspension a check is denied by
	req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1.00\"}" |
		jq -c '[.decision, .suspension]'
}
verify_snap() { # verify_snap NAME ARGS...: export, verify; output in NAME.out
	name=$1
	shift
	rm -f "$name.db" "$name.db.checkpoint"
	"$CTL" export --db "$DATA/fxbreaker.db" "$name.db" >/dev/null
	"$CTL" verify --pubkey "$DATA/log.pub" "$@" "$name.db" >"$name.out" 2>&1
}

# --- (a) the -wal file removed while running ----------------------------
start
check "a: the trip's deny" "$(trip wallet | jq -c '[.decision, .suspension]')" '["deny",2]'
rm "$DATA/fxbreaker.db-wal"
t0=$(date +%s%N)
wait_for ledger_degraded
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
if [ "$ms" -le 2000 ]; then ok "a: degraded within 2 s (${ms} ms)"; else
	fail "a: degraded within 2 s" "took ${ms} ms"; fi
WALGONE="the database's -wal file $DATA/fxbreaker.db-wal was removed while in use; the rows committed so far were copied into the database file"
check "a: status: degraded, the reason names the file" "$(ledger .ledger)" \
	"{\"state\":\"degraded\",\"committed_seq\":2,\"queued\":0,\"last_error\":\"$WALGONE\"}"
wait_for grep -q 'event=ledger_degraded ' daemon.log
check "a: one stderr line says so, and what to do" \
	"$(grep -F "warning: event=ledger_degraded why=\"$WALGONE\" queued=" daemon.log | grep -Fc ' retrying=false action="stop, investigate, restore, restart (docs/OPERATIONS.md); breakers stay as they are, nothing is written, resets are refused"')" 1
check "a: the rows are in the database file itself" "$(dbfile_max)" 2
check "a: the tripped product stays denied" "$(denied_by wallet)" '["deny",2]'
check "a: a new trip gets the fail-closed answer" "$(trip other)" \
	'{"decision":"deny","reason":"ledger_unavailable","ref":"other"}'
sleep 1.2
check "a: still degraded, the trip's row not written" "$(ledger .ledger)" \
	"{\"state\":\"degraded\",\"committed_seq\":2,\"queued\":1,\"last_error\":\"$WALGONE\"}"
check "a: no new -wal file" "$(ls "$DATA" | grep -c wal)" 0
# The writer keeps retrying the queued row, with a backoff that grows to
# 1 s: it must sleep between tries, not spin.  (A 1,600 ms backoff once
# made nanosleep fail at once with EINVAL, and the writer took a whole
# core for as long as the log stayed lost.)  By now it has failed for
# over 1.5 s; over 2 s a spin is some 200 ticks of CPU, sleeping a few.
sleep 1
cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
c0=$(cpu)
sleep 2
c1=$(cpu)
check "a: the writer sleeps between retries (CPU ticks in 2 s < 40)" \
	"$((c1 - c0 < 40))" 1
kill_daemon
start
check "a: the restart after SIGKILL is clean" "$(ledger .ledger)" \
	'{"state":"ok","committed_seq":3,"queued":0}'
check "a: no row lost, none reused" "$(rows)" "1:service_start 2:trip 3:service_start"
check "a: the suspension survived" "$(denied_by wallet)" '["deny",2]'
check "a: no degraded start" "$(sql "select count(*) from suspension_log where event = 'degraded_start'")" 0

# --- (b) removed, and killed before the daemon could look --------------
# A clean stop puts every row in the database file; the next start's row
# reaches it at the writer's idle checkpoint, a second later.  Then a
# reader (the sqlite3 shell) holds a read transaction: no checkpoint can
# copy the rows committed after it began, so rows 6 and 7 stay in the
# -wal file alone, however slow the machine.
stop_daemon
start
wait_for dbfile_max_is 5
check "b: rows 1..5 in the database file" "$(dbfile_max)" 5
rm -f rd.fifo
mkfifo rd.fifo
sqlite3 "$DATA/fxbreaker.db" <rd.fifo >rd.out 2>&1 &
RDPID=$!
exec 8>rd.fifo
echo "BEGIN; SELECT 'reading', max(seq) FROM suspension_log;" >&8
wait_for grep -q '^reading|5$' rd.out
check "b: a reader holds the log at seq 5" "$(cat rd.out)" "reading|5"
check "b: trip other" "$(trip other | jq -c '[.decision, .suspension]')" '["deny",6]'
check "b: trip third" "$(trip third | jq -c '[.decision, .suspension]')" '["deny",7]'
wait_for [ -f "$NOTES/checkpoint-000000000007.note" ]
kill -STOP "$PID"
exec 8>&-
wait "$RDPID"
check "b: rows 6 and 7 only in the -wal file" "$(dbfile_max)" 5
rm "$DATA/fxbreaker.db-wal"
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
start
# status answers before the writer has committed the start's rows.
degraded_starts() { sql "select count(*) from suspension_log where event = 'degraded_start'"; }
degraded_starts_are() { [ "$(degraded_starts)" = "$1" ]; }
wait_for degraded_starts_are 1
LOST="$NOTES/checkpoint-000000000007.note names seq 7, the log ends at seq 5: rows 6..7 were acknowledged and are missing (2 notes renamed lost-*)"
check "b: a degraded start row with the reason" \
	"$(sql "select seq || ' ' || detail from suspension_log where event = 'degraded_start'")" \
	"7 {\"reason\":\"$LOST\"}"
wait_for grep -q 'acknowledged rows are missing from the log' daemon.log
check "b: the stderr line" \
	"$(grep -Fc "warning: acknowledged rows are missing from the log: $LOST; the next rows take their sequence numbers" daemon.log)" 1
check "b: every product suspended, forced" \
	"$(ledger '[.products[] | [.product, .state, .reason]]')" \
	'[["wallet","suspended","forced"],["other","suspended","forced"],["third","suspended","forced"]]'
check "b: the ledger itself is ok" "$(ledger .ledger.state)" '"ok"'
check "b: the rows: the lost seqs are taken again, after saying so" \
	"$(rows)" "1:service_start 2:trip 3:service_start 4:service_stop 5:service_start 6:service_start 7:degraded_start 8:force_suspend 9:force_suspend 10:force_suspend"
check "b: the notes for the lost rows are set aside" \
	"$(ls "$NOTES" | grep '^lost-' | sed 's/^lost-[0-9]*-//')" \
	"checkpoint-000000000006.note
checkpoint-000000000007.note"
LOST7=$(ls "$NOTES"/lost-*-checkpoint-000000000007.note)
verify_snap plain
check "b: verify without the notes: exit 0 (it cannot know)" "$?" 0
verify_snap dir --checkpoint-dir "$NOTES"
check "b: verify --checkpoint-dir: exit 2" "$?" 2
check "b: verify --checkpoint-dir: the findings" "$(cat dir.out)" \
	"anchor ${LOST7%7.note}6.note: head at size 6 is $(sed -n 's/^head \(.\{16\}\).*/\1/p' "${LOST7%7.note}6.note")..., the rows give $(sql "select lower(hex(substr(hash, 1, 8))) from suspension_log where seq = 6")...: forked (rows rewritten)
anchor $LOST7: head at size 7 is $(sed -n 's/^head \(.\{16\}\).*/\1/p' "$LOST7")..., the rows give $(sql "select lower(hex(substr(hash, 1, 8))) from suspension_log where seq = 7")...: forked (rows rewritten)
verdict: truncated (10 rows, covered to 10)"
verify_snap anchor --anchor "$LOST7"
check "b: verify --anchor the set-aside note: exit 2" "$?" 2
stop_daemon
start
check "b: the next clean restart is not degraded again" \
	"$(sql "select count(*) from suspension_log where event = 'degraded_start'")" 1
check "b: and keeps every product suspended" \
	"$(ledger '[.products[] | .state] | unique')" '["suspended"]'
verify_snap again --checkpoint-dir "$NOTES"
check "b: verify --checkpoint-dir still exits 2" "$?" 2

# --- (c) the database file replaced while running ----------------------
cp plain.db other.db
OLD_INODE=$(stat -c %i "$DATA/fxbreaker.db")
NEW_INODE=$(stat -c %i other.db)
mv other.db "$DATA/fxbreaker.db"
wait_for ledger_degraded
check "c: status: degraded, naming the file and both inodes" \
	"$(ledger .ledger.last_error)" \
	"\"the database file $DATA/fxbreaker.db was replaced while in use (inode $NEW_INODE, was $OLD_INODE)\""
stop_daemon
check "c: the stop still exits 0" "$STOP_RC" 0
start
wait_for degraded_starts_are 2
check "c: the restart on the replacement is a degraded start" \
	"$(sql "select detail from suspension_log where event = 'degraded_start' order by seq desc limit 1" |
		jq -r .reason | sed "s|$NOTES/||")" \
	"checkpoint-000000000012.note names seq 12, the log ends at seq 10: rows 11..12 were acknowledged and are missing (2 notes renamed lost-*)"
check "c: the old -wal file was moved aside, not laid over the replacement" \
	"$(ls "$DATA" | grep wal)" "fxbreaker.db-wal
fxbreaker.db-wal.orphaned"
verify_snap replaced --checkpoint-dir "$NOTES"
check "c: verify --checkpoint-dir: exit 2" "$?" 2
n=$(sql "select count(*) from suspension_log")
check "c: the notes for rows 11 and 12 of the old log: forked" \
	"$(grep -c "^anchor $NOTES/lost-[0-9]*-checkpoint-00000000001[12].note: head at size 1[12] is [0-9a-f]\{16\}\.\.\., the rows give [0-9a-f]\{16\}\.\.\.: forked (rows rewritten)$" replaced.out)" 2
check "c: verdict" "$(tail -n 1 replaced.out)" "verdict: truncated ($n rows, covered to $n)"

# --- (d) a note the log key did not sign stops nothing -----------------
stop_daemon
newest=$(ls "$NOTES"/checkpoint-*.note | tail -n 1)
sed 's/^size .*/size 999999/' "$newest" >"$NOTES/checkpoint-000000999999.note"
start
check "d: a forged note past the end: no degraded start" "$(degraded_starts)" 2
wait_for grep -qF "checkpoint note ignored: $NOTES/checkpoint-000000999999.note" daemon.log
check "d: it is named on stderr" \
	"$(grep -Fc "warning: checkpoint note ignored: $NOTES/checkpoint-000000999999.note: not signed with this log's key" daemon.log)" 1
check "d: nothing more set aside (b's two, c's two)" "$(ls "$NOTES" | grep -c '^lost-')" 4
finish
