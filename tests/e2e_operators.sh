#!/bin/sh
# e2e_operators.sh BUILD: enrolling and revoking operators by four-eyes
# command (docs/PROTOCOL.md, "enrol" and "revoke") on the real daemon: an
# admin asks, a different admin approves; the roster the log holds is the
# file's people plus those enrolled by command, across reloads and
# restarts.  Each defence is a case that fails if it is removed.
. "$(dirname "$0")/lib_e2e.sh"

{
	operator_key rootA rootA admin
	operator_key rootB rootB admin
	operator_key rootB rootB2 admin # rootB's second key
	operator_key alice alice        # suspend,reset,approve: no admin
	operator_key dave dave suspend
} >"$TMP/operators"
chmod 644 "$TMP/operators"
# pk NAME FILE: a new key in FILE.key; prints its public key (keygen's
# line), keeps the key id for kid FILE.
pk() {
	"$CTL" keygen --name "$1" --out "$TMP/$2.key" --no-passphrase >"$TMP/$2.line"
	grep -v '^#' "$TMP/$2.line" | cut -d' ' -f3
}
kid() { sed -n 's/^# key id //p' "$TMP/$1.line"; }
erin_pk=$(pk erin erin)
frank_pk=$(pk frank frank)
gina_pk=$(pk gina gina)
hank_pk=$(pk hank hank)
rootb3_pk=$(pk rootB rootB3)
xavier_pk=$(pk xavier xavier)
alice_pk=$(grep '^alice ' "$TMP/operators" | cut -d' ' -f3)
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[product w]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
result() { jq -r '"\(.result) \(.error.name // "")"'; }
cmd() { "$CTL" "$@" --json 2>/dev/null | result; }
request() { "$CTL" "$@" --json 2>/dev/null | jq -r .request; }
enrol() { # enrol KEY NAME ROLES PUBKEY
	"$CTL" enrol --key "$1.key" --name "$2" --roles "$3" --pubkey "$4" \
		--reason "new on the desk" --json 2>/dev/null
}
approve() { # approve KEY REQUEST [SUBJECT_KEY_ID]
	cmd approve --key "$1.key" --request "$2" ${3:+--operator "$3"} --reason ok
}
roster() { "$CTL" operators --json | jq -r .name | sort | tr '\n' ' '; }
key_id() { "$CTL" operators --json | jq -r "select(.name == \"$1\") | .operator" | head -n 1; }

# The start-up enrolments are written after status first answers.
five() { [ "$(sql "select count(*) from suspension_log where detail like '%operator_enrolled%'")" = 5 ]; }
wait_for five
check "the file's five keys" "$(roster)" "alice dave rootA rootB rootB "
check "an admin role is logged with the file's enrolment" \
	"$(sql "select json_extract(detail, '\$.roles') || ' ' || json_extract(detail, '\$.source') from suspension_log where detail like '%operator_enrolled%' and detail like '%\"name\":\"rootA\"%'")" \
	"admin file"

# --- bad requests: refused, nothing pending -----------------------------
check "not an admin" "$(enrol alice erin suspend "$erin_pk" | result)" "rejected forbidden"
check "a name with a space" "$(enrol rootA 'erin x' suspend "$erin_pk" | result)" "rejected syntax"
check "an unknown role" "$(enrol rootA erin suspend,root "$erin_pk" | result)" "rejected syntax"
check "a short public key" "$(enrol rootA erin suspend abcd | result)" "rejected syntax"
check "not hex" "$(enrol rootA erin suspend "$(echo "$erin_pk" | tr 0-9 g-p)" | result)" "rejected syntax"
check "a key already enrolled" "$(enrol rootA alice2 suspend "$alice_pk" | result)" "rejected operator_exists"
check_has "  says as whom" "$(enrol rootA alice2 suspend "$alice_pk" | jq -r .error.message)" "(as alice)"
check "no pubkey: the ctl refuses before signing" \
	"$("$CTL" enrol --key rootA.key --name erin --roles suspend --reason r >/dev/null 2>&1; echo $?)" 3
check "no pubkey on the wire" \
	"$(cmd enrol --key rootA.key --name erin --roles suspend --pubkey '' --reason r)" "rejected syntax"
check "erin cannot sign yet" "$(cmd suspend --key erin.key --product w --reason p)" "rejected unknown_operator"

# --- enrol: one admin asks, another approves ----------------------------
out=$(enrol rootA erin suspend,reset "$erin_pk")
check "pending" "$(echo "$out" | result)" "pending "
rq=$(echo "$out" | jq -r .request)
check "the request is the command row" \
	"$(sql "select json_extract(detail, '\$.result') || ' ' || json_extract(detail, '\$.cmd') from suspension_log where seq = $rq")" \
	"pending enrol"
check "not on the roster before approval" "$(roster)" "alice dave rootA rootB rootB "
check "the requester cannot approve" "$(approve rootA "$rq" "$(kid erin)")" "rejected self_approval"
check "an approver who is not an admin" "$(approve alice "$rq" "$(kid erin)")" "rejected forbidden"
check_has "  says what it may not approve" \
	"$("$CTL" approve --key alice.key --request "$rq" --operator "$(kid erin)" --reason ok --json | jq -r .error.message)" \
	"alice may not approve an enrol"
check "an approval must name the key" "$(approve rootB "$rq")" "rejected missing"
check "  the key the request names" "$(approve rootB "$rq" "$(kid frank)")" "rejected stale_approval"
check_has "  says which it names" \
	"$("$CTL" approve --key rootB.key --request "$rq" --operator "$(kid frank)" --reason ok --json | jq -r .error.message)" \
	"enrols key $(kid erin) (erin)"
out=$("$CTL" approve --key rootB.key --request "$rq" --operator "$(kid erin)" --reason "checked her ID")
row=$(sql "select max(seq) from suspension_log where detail like '%operator_enrolled%'")
check "approved: the enrolment row" "$out" "applied: request $rq, change $row"
# Nothing else is sent until the checkpoint is there: it must end at the
# approval's own row, the one after the enrolment.
wait_for sh -c "[ \"\$(sqlite3 '$TMP/data/fxbreaker.db' 'select max(size) from checkpoints')\" -gt $row ]"
check "a checkpoint signs the approval's row" \
	"$(sql "select count(*) from checkpoints where size = $row + 1")" 1
check "erin on the roster" "$(roster)" "alice dave erin rootA rootB rootB "
check "the row says on whose word" \
	"$(sql "select json_extract(detail, '\$.source') || ' ' || json_extract(detail, '\$.request') || ' ' || json_extract(detail, '\$.requested_by') || ' ' || json_extract(detail, '\$.approved_by') || ' ' || json_extract(detail, '\$.roles') from suspension_log where seq = $row")" \
	"command $rq rootA rootB suspend,reset"
check "operators shows it" \
	"$("$CTL" operators | awk '$1 == "erin" {print $3, $NF}')" "suspend,reset rootA+rootB"
check "erin may suspend now" "$(cmd suspend --key erin.key --product w --reason p)" "applied "
check_has "a second approval: the request is done" \
	"$("$CTL" approve --key rootB2.key --request "$rq" --operator "$(kid erin)" --reason ok --json | jq -r .error.message)" \
	"no pending request $rq"

# --- nobody vouches for their own new key -------------------------------
rq=$(request enrol --key rootA.key --name rootB --roles admin --pubkey "$rootb3_pk" --reason "new laptop")
check "rootB approving rootB's own new key" "$(approve rootB "$rq" "$(kid rootB3)")" "rejected self_approval"
check "  nor with rootB's second key" "$(approve rootB2 "$rq" "$(kid rootB3)")" "rejected self_approval"

# --- two requests for one key: the second approval is stale -------------
rq1=$(request enrol --key rootA.key --name frank --roles suspend --pubkey "$frank_pk" --reason r)
rq2=$(request enrol --key rootB.key --name frank --roles reset --pubkey "$frank_pk" --reason r)
check "the first applies" "$(approve rootB "$rq1" "$(kid frank)")" "applied "
check "the second is stale" "$(approve rootA "$rq2" "$(kid frank)")" "rejected stale_approval"

# --- an old request never undoes a later change to its key --------------
rq1=$(request enrol --key rootA.key --name xavier --roles suspend --pubkey "$xavier_pk" --reason r)
rq2=$(request enrol --key rootB.key --name xavier --roles suspend,admin --pubkey "$xavier_pk" --reason r)
check "xavier enrolled" "$(approve rootB "$rq1" "$(kid xavier)")" "applied "
rq3=$(request revoke --key rootA.key --operator "$(kid xavier)" --reason "laptop lost")
check "xavier revoked" "$(approve rootB "$rq3" "$(kid xavier)")" "applied "
check "the older enrol request cannot bring the lost key back" \
	"$(approve rootA "$rq2" "$(kid xavier)")" "rejected stale_approval"
check "  xavier is off the roster" "$(roster)" "alice dave erin frank rootA rootB rootB "

# --- the file does not speak for those enrolled by command --------------
reloads() { sql "select count(*) from suspension_log where event='config_reload'"; }
reloaded() { [ "$(reloads)" -ge "$1" ]; }
kill -HUP "$PID"
wait_for reloaded 1
check "a reload of the same file keeps erin and frank" "$(roster)" \
	"alice dave erin frank rootA rootB rootB "
grep -v '^dave ' "$TMP/operators" >ops && cat ops >"$TMP/operators"
kill -HUP "$PID"
wait_for reloaded 2
check "a changed file revokes dave only" "$(roster)" "alice erin frank rootA rootB rootB "
check "dave's revocation row names the file" \
	"$(sql "select json_extract(detail, '\$.source') from suspension_log where detail like '%operator_revoked%' and detail like '%\"name\":\"dave\"%'")" \
	"file"

# --- a pending request survives a restart -------------------------------
rq=$(request enrol --key rootA.key --name gina --roles admin --pubkey "$gina_pk" --reason "second officer")
stop_daemon
start_daemon || exit 1
check "after a restart: the roster from the log" "$(roster)" "alice erin frank rootA rootB rootB "
check "the pending enrolment is approved after the restart" "$(approve rootB "$rq" "$(kid gina)")" "applied "

# --- revoke: four eyes too; the file's people leave by the file ---------
erin=$(key_id erin)
check "revoke a file operator" "$(cmd revoke --key rootA.key --operator "$(key_id alice)" --reason r)" \
	"rejected forbidden"
check "revoke an unknown key" "$(cmd revoke --key rootA.key --operator 0123456789abcdef --reason r)" \
	"rejected unknown_operator"
check "revoke by a non-admin" "$(cmd revoke --key alice.key --operator "$erin" --reason r)" \
	"rejected forbidden"
rq=$(request revoke --key rootA.key --operator "$erin" --reason "left the bank")
check "revoke needs a second admin" "$(approve rootA "$rq" "$erin")" "rejected self_approval"
check "erin can still sign while it is pending" "$(cmd suspend --key erin.key --product w --reason p2)" "applied "
stop_daemon
start_daemon || exit 1
check "the pending revoke is approved after a restart" "$(approve gina "$rq" "$erin")" "applied "
check "erin is off the roster" "$(roster)" "alice frank gina rootA rootB rootB "
check "erin's key is refused" "$(cmd suspend --key erin.key --product w --reason p3)" "rejected unknown_operator"
check "the revocation row" \
	"$(sql "select json_extract(detail, '\$.source') || ' ' || json_extract(detail, '\$.requested_by') || ' ' || json_extract(detail, '\$.approved_by') from suspension_log where detail like '%operator_revoked%' and detail like '%\"name\":\"erin\"%'")" \
	"command rootA gina"
check "history: erin's enrolment and revocation" \
	"$("$CTL" operators --history --json | jq -r 'select(.name == "erin") | "\(.change) \(.source) \(.requested_by)+\(.approved_by)"' | tr '\n' ';')" \
	"enrolled command rootA+rootB;revoked command rootA+gina;"

# --- a revoked requester's requests die with the key --------------------
rq=$(request enrol --key gina.key --name hank --roles suspend --pubkey "$hank_pk" --reason r)
rq2=$(request revoke --key rootA.key --operator "$(key_id gina)" --reason "rotating")
check "gina cannot approve her own revocation" "$(approve gina "$rq2" "$(key_id gina)")" \
	"rejected self_approval"
check "gina revoked" "$(approve rootB "$rq2" "$(kid gina)")" "applied "
check "the revocation row names its approver" \
	"$(sql "select json_extract(detail, '\$.approved_by') from suspension_log where detail like '%operator_revoked%' and detail like '%\"name\":\"gina\"%'")" \
	rootB
check "gina's pending request cannot be approved" "$(approve rootB "$rq" "$(kid hank)")" "rejected stale_approval"
check_has "  says why" \
	"$("$CTL" approve --key rootB.key --request "$rq" --operator "$(kid hank)" --reason ok --json | jq -r .error.message)" \
	"gina, who requested this, is no longer an operator"
check "hank is not enrolled" "$(roster)" "alice frank rootA rootB rootB "

# --- a requester stripped of the role since: the request dies -----------
rq=$(request enrol --key rootA.key --name hank --roles suspend --pubkey "$hank_pk" --reason r)
sed 's/^rootA admin /rootA suspend /' "$TMP/operators" >ops && cat ops >"$TMP/operators"
kill -HUP "$PID"
wait_for reloaded 3
check "rootA is no longer an admin" "$(approve rootB "$rq" "$(kid hank)")" "rejected stale_approval"
check_has "  says why" \
	"$("$CTL" approve --key rootB.key --request "$rq" --operator "$(kid hank)" --reason ok --json | jq -r .error.message)" \
	"rootA, who requested this, is no longer an admin"
fs=$("$CTL" status --json | jq -r '.products[] | select(.product == "w") | .suspension')
rq=$(request lift --key alice.key --product w --suspension "$fs" --reason "all clear")
check "an admin without the approve role may not approve a lift" \
	"$(cmd approve --key rootB.key --request "$rq" --suspension "$fs" --reason ok)" "rejected forbidden"

# --- a key enrolled by command, later listed in the file ----------------
echo "frank suspend $frank_pk" >>"$TMP/operators"
kill -HUP "$PID"
wait_for reloaded 4
check "the file's line is now frank's enrolment" \
	"$("$CTL" operators --json | jq -r 'select(.name == "frank") | .source')" file
check "  so a command cannot revoke him" \
	"$(cmd revoke --key rootB.key --operator "$(kid frank)" --reason r)" "rejected forbidden"
grep -v '^frank ' "$TMP/operators" >ops && cat ops >"$TMP/operators"
kill -HUP "$PID"
wait_for reloaded 5
check "  and removing the line revokes him" "$(roster)" "alice rootA rootB rootB "

# --- a name the enrol command would refuse is refused in the file too --
cp "$TMP/operators" ops.good
echo "ivan<script> suspend $frank_pk" >>"$TMP/operators"
kill -HUP "$PID"
wait_for reloaded 6
check "a bad name in the file: the reload keeps the operators" "$(roster)" "alice rootA rootB rootB "
bad_name="operators:$(wc -l <"$TMP/operators"): the name: 1 to 64 of A-Z a-z 0-9 . _ -"
wait_for grep -q "$bad_name" "$TMP/daemon.log"
check "  and says which line and why" \
	"$(grep -c "$bad_name" "$TMP/daemon.log")" 1
cat ops.good >"$TMP/operators"

# --- status shows a product's own force behind its pair's ---------------
fs=$("$CTL" status --json | jq -r '.products[] | select(.product == "w") | .suspension')
check "force the pair too" "$(cmd suspend --key alice.key --pair USD/KRW --reason "pair closed")" "applied "
ps=$(sql "select max(seq) from suspension_log where event='force_suspend'")
check "status: w quotes one force and shows the other" \
	"$("$CTL" status --json | jq -r '.products[] | select(.product == "w") | [.suspension, .also_forced[0].suspension] | sort | map(tostring) | join(" ")')" \
	"$(printf '%s\n%s\n' "$fs" "$ps" | sort -n | tr '\n' ' ' | sed 's/ $//')"
check_has "  and the table says so" "$("$CTL" status)" "also forced (pair): suspension $ps"

# --- the log still proves itself ----------------------------------------
stop_daemon
"$CTL" verify --pubkey "$TMP/data/log.pub" "$TMP/data/fxbreaker.db" >out 2>&1
check "verify: the log with its operator changes is intact" "$?" 0
finish
