#!/bin/sh
# e2e_notefail.sh BUILD: a checkpoint note that cannot be written (the
# disk full: its temporary file is /dev/full) leaves no file behind, is
# shown in status (checkpoint_note) and said once on stderr, and the next
# note is written again (docs/OPERATIONS.md).
. "$(dirname "$0")/lib_e2e.sh"

operator_key alice alice >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
checkpoint_dir = $TMP/cp
[pair USD/KRW]
[product x]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
CP="$TMP/cp"
note_status() { "$CTL" status --json | jq -c .checkpoint_note; }
committed() { "$CTL" status --json | jq -r .ledger.committed_seq; }
notes() { ls "$CP" | grep -c '\.note$'; }
tmps() { ls -A "$CP" | grep -c '\.tmp$'; }
# (wait_for re-runs a command: these re-read what they test each time)
has_notes() { [ "$(notes)" -ge 1 ]; }
note_field_is() { [ "$("$CTL" status --json | jq -r ".checkpoint_note.$1")" = "$2" ]; }

wait_for has_notes
last=$(ls "$CP" | grep '\.note$' | tail -n 1 | sed 's/checkpoint-0*\([0-9]*\)\.note/\1/')
check "start: a note, status ok" "$(note_status)" "{\"ok\":true,\"last_ok_seq\":$last}"

# Every note the next 40 rows could end at: its temporary file is a
# symlink to /dev/full (open works, the write fails: ENOSPC).
c=$(committed)
for s in $(seq $((c + 1)) $((c + 40))); do
	ln -s /dev/full "$CP/$(printf 'checkpoint-%012d.note.tmp' "$s")"
done
"$CTL" suspend --key alice.key --product x --reason one >/dev/null
"$CTL" suspend --key alice.key --pair USD/KRW --reason two >/dev/null
# Both rows are committed; the note of the last is tried just after.
c2=$(committed)
err="checkpoint $c2: No space left on device"
wait_for note_field_is error "$err"
# Each suspend's batch (one or two: the writer decides) failed.
F=$("$CTL" status --json | jq -r .checkpoint_note.failed)
check "failing: at least one note per suspend failed" "$([ "$F" -ge 2 ] && echo yes)" yes
check "failing: status" "$(note_status)" \
	"{\"ok\":false,\"last_ok_seq\":$last,\"error\":\"$err\",\"failed\":$F}"
check "failing: the ledger itself is fine" \
	"$("$CTL" status --json | jq -r .ledger.state)" ok
# Each note tried took its temporary file (here the symlink) with it:
# of the 40, those of the F tries are gone.
check "failing: no temporary file left of a note tried" "$(tmps)" $((40 - F))
check "failing: no new note" "$(notes)" 1
# untime LINE: the stderr line without its time and checkpoint number.
untime() { sed -e 's/^[^ ]* //' -e 's/checkpoint [0-9]* /checkpoint N /'; }
wait_for grep -q 'cannot export checkpoint' "$TMP/daemon.log"
check "failing: said once on stderr" \
	"$(grep -c 'cannot export checkpoint' "$TMP/daemon.log")" 1
check "failing: the words" \
	"$(grep 'cannot export checkpoint' "$TMP/daemon.log" | untime)" \
	"fxbreakerd: warning: cannot export checkpoint N to $CP: No space left on device (status: checkpoint_note; said once until one is written)"

# The disk has room again: the next note is written.
rm -f "$CP"/*.tmp
"$CTL" suspend --key alice.key --product x --reason three >/dev/null
c3=$(committed)
wait_for note_field_is last_ok_seq "$c3"
check "recovered: status" "$(note_status)" "{\"ok\":true,\"last_ok_seq\":$c3}"
check "recovered: the note is there" \
	"$(ls "$CP" | grep '\.note$' | tail -n 1)" "$(printf 'checkpoint-%012d.note' "$c3")"
wait_for grep -q 'exported to' "$TMP/daemon.log"
check "recovered: said once on stderr" \
	"$(grep 'exported to' "$TMP/daemon.log" | untime)" \
	"fxbreakerd: info: checkpoint N exported to $CP ($F failed before it)"
check "recovered: no temporary file" "$(tmps)" 0

finish
