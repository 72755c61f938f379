#!/bin/sh
# e2e_oplog.sh BUILD: the operator's log (docs/OPERATIONS.md, "Logs") on
# the real daemon.  Every committed row gets exactly one stderr line,
# "TIME fxbreakerd: LEVEL: event=E seq=N t=T ...", with the row's own
# seq, event and time (read back with sqlite3); each class of row is
# caused here (a trip and its reset, a timed resume, stale and fresh, a
# force and its lift, approvals, a rejection, enrolments, threshold and
# notice changes, a reload that retires and drops, the watchdog, a clock
# step, a start behind the log, a degraded start, start and stop) and its
# line checked field by field; the ledger failing and recovering, and an
# admin request refused before it is a row, get lines too.  Then -V,
# --help, a bad option, and a start that fails with error:.
. "$(dirname "$0")/lib_e2e.sh"

faked_daemon

{
	operator_key alice alice
	operator_key bob bob
} >"$TMP/operators"
operator_key mallory mallory >/dev/null # a key nobody enrolled
chmod 644 "$TMP/operators"
write_conf() {
	{
		service_conf
		cat <<EOF2
operators_file = $TMP/operators
watchdog_interval = 300ms
[notice busy]
ko = 잠시 멈춤
en = Paused for now.
[pair USD/KRW]
[pair EUR/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[product y]
pair = USD/KRW
[rule v]
product = w
kind = volume
window = 60s
warn = 1
trip = 3
suspend_for = 0
notice = busy
[rule r]
product = y
kind = volume
window = 60s
trip = 1
suspend_for = 1s
[rule st]
pair = EUR/KRW
kind = stale
max_age = 1s
EOF2
		echo "$1"
	} >"$TMP/fx.conf"
}
GONE='[rule gone]
product = x
kind = volume
window = 60s
trip = 1
suspend_for = 0'
write_conf "$GONE"
start_daemon || exit 1

result() { jq -r '"\(.result) \(.error.name // "")"'; }
cmd() { "$CTL" "$@" --json 2>/dev/null | result; }
chk() { req "{\"op\":\"check\",\"product\":\"$1\",\"amount\":\"1.00\"}" | json .decision; }
seq_of() { sql "select max(seq) from suspension_log where event='$1'"; }
# line SEQ: the stderr line of row SEQ, without its timestamp.
line() { grep -E " event=[a-z_]+ seq=$1( |\$)" "$TMP/daemon.log" | sed 's/^[0-9TZ:.-]* //'; }
# iso MS: epoch ms as the line's t= (UTC, milliseconds).
iso() { printf '%s.%03dZ' "$(date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S)" $(($1 % 1000)); }
row_t() { iso "$(sql "select t from suspension_log where seq=$1")"; }
# has_line NAME SEQ: row SEQ has its line (waits: it is printed after
# the commit, by the writer).
has_line() { wait_for sh -c "grep -Eq ' event=[a-z_]+ seq=$2( |\$)' '$TMP/daemon.log'"; }
# head_is NAME SEQ WANT: the line's first fields are WANT (level and
# event, seq and t filled in here).
head_is() {
	has_line "$1" "$2"
	got=$(line "$2")
	want="fxbreakerd: $3"
	case "$got" in
	"$want"*) ok "$1" ;;
	*) fail "$1" "got [$got], want [$want...]" ;;
	esac
}

# --- start: service_start, enrolments from the file ---------------------
s=$(seq_of service_start)
head_is "service_start: info, pid, config hash" "$s" \
	"info: event=service_start seq=$s t=$(row_t "$s") kind=service config=$TMP/fx.conf config_hash=$(sql "select json_extract(detail,'\$.config_hash') from suspension_log where seq=$s") service_id=e2e pid=$PID what=start thresholds_changed=0"
e=$(sql "select min(seq) from suspension_log where detail like '%operator_enrolled%'")
ka=$(sql "select json_extract(detail,'\$.operator') from suspension_log where seq=$e")
head_is "enrolment: event=command change=operator_enrolled, who, roles" "$e" \
	"info: event=command seq=$e t=$(row_t "$e") kind=operator scope=alice change=operator_enrolled operator=$ka name=alice roles=suspend,reset,approve source=file"

# --- volume: warn, trip (with its notice and until), then reset ---------
check "a first check: allow" "$(chk w)" allow
# An allow does not wait for the warn row (it opens nothing): wait here.
warned() { [ -n "$(seq_of warn)" ]; }
wait_for warned
wn=$(seq_of warn)
head_is "warn: info" "$wn" \
	"info: event=warn seq=$wn t=$(row_t "$wn") rule=v kind=volume scope=w scope_type=product"
chk w >/dev/null
check "the third check trips" "$(chk w)" deny
tr=$(seq_of trip)
head_is "trip: a warning, suspension = its seq, the notice id" "$tr" \
	"warning: event=trip seq=$tr t=$(row_t "$tr") rule=v kind=volume scope=w scope_type=product suspension=$tr notice=busy latched=false"
check "reset by alice: pending" "$(cmd reset --key alice.key --rule v --suspension "$tr" --reason calm)" "pending "
rq=$(seq_of command)
head_is "a pending request: cmd, result=pending, its args" "$rq" \
	"info: event=command seq=$rq t=$(row_t "$rq") kind=operator scope=v suspension=$tr cmd=reset operator="
check_has "  its name and peer (quoted: a space)" "$(line "$rq")" ' name=alice from="uid=0 pid='""
check_has "  args flattened one level" "$(line "$rq")" " args.rule=v args.suspension=$tr args.reason=calm "
check_has "  and result=pending" "$(line "$rq")" " result=pending"
check "approved by bob" "$(cmd approve --key bob.key --request "$rq" --suspension "$tr" --reason ok)" "applied "
rs=$(seq_of reset)
head_is "reset: info, the suspension it ends" "$rs" \
	"info: event=reset seq=$rs t=$(row_t "$rs") rule=v kind=volume scope=w scope_type=product suspension=$tr since=$(row_t "$tr") denied=1"
ap=$(seq_of command)
head_is "approval: cmd=approve result=applied" "$ap" \
	"info: event=command seq=$ap t=$(row_t "$ap") kind=operator scope=v suspension=$tr cmd=approve"
check_has "  result=applied, the request" "$(line "$ap")" " result=applied"
check_has "  the request it approves" "$(line "$ap")" " args.request=$rq "

# --- a timed resume ------------------------------------------------------
check "y trips at once" "$(chk y)" deny
ty=$(seq_of trip)
check_has "  the trip line has until = t + 1 s" "$(line "$ty")" \
	" suspension=$ty until=$(iso $(($(sql "select t from suspension_log where seq=$ty") + 1000))) "
resumed() { [ -n "$(sql "select seq from suspension_log where event='resume' and suspension=$ty")" ]; }
wait_for resumed
re=$(sql "select seq from suspension_log where event='resume' and suspension=$ty")
head_is "resume: info" "$re" \
	"info: event=resume seq=$re t=$(row_t "$re") rule=r kind=volume scope=y scope_type=product suspension=$ty"

# --- stale and fresh (EUR/KRW, max_age 1 s) -------------------------------
"$CTL" tick EUR/KRW 1500.00 >/dev/null
stale() { [ -n "$(seq_of stale)" ]; }
wait_for stale
sl=$(seq_of stale)
head_is "stale: a warning on the pair" "$sl" \
	"warning: event=stale seq=$sl t=$(row_t "$sl") rule=st kind=stale scope=EUR/KRW scope_type=pair suspension=$sl"
"$CTL" tick EUR/KRW 1500.10 >/dev/null
fresh() { [ -n "$(seq_of fresh)" ]; }
wait_for fresh
fr=$(seq_of fresh)
head_is "fresh: info, the suspension it ends" "$fr" \
	"info: event=fresh seq=$fr t=$(row_t "$fr") rule=st kind=stale scope=EUR/KRW scope_type=pair suspension=$sl"

# --- force, lift, a rejection -------------------------------------------
check "suspend x" "$(cmd suspend --key alice.key --product x --reason "$(printf 'drill "A"\tnow\nreally')")" "applied "
fs=$(seq_of force_suspend)
head_is "force_suspend: a warning, kind forced, the reason quoted and escaped" "$fs" \
	"warning: event=force_suspend seq=$fs t=$(row_t "$fs") kind=forced scope=x scope_type=product suspension=$fs notice=default-forced reason=\"drill \\\"A\\\"\\tnow\\nreally (by alice)\""
cmd lift --key alice.key --product x --suspension "$fs" --reason done >/dev/null
lq=$(seq_of command)
cmd approve --key bob.key --request "$lq" --suspension "$fs" --reason ok >/dev/null
fl=$(seq_of force_lift)
head_is "force_lift: info, by operator" "$fl" \
	"info: event=force_lift seq=$fl t=$(row_t "$fl") kind=forced scope=x scope_type=product suspension=$fs"
check_has "  by=operator" "$(line "$fl")" " by=operator"
check "mallory is refused" "$(cmd suspend --key mallory.key --product x --reason p)" "rejected unknown_operator"
rj=$(seq_of command)
head_is "rejection: a warning, error and why" "$rj" \
	"warning: event=command seq=$rj t=$(row_t "$rj") kind=operator cmd=suspend operator="
check_has "  result, error, why (quoted)" "$(line "$rj")" \
	' result=rejected error=unknown_operator why="no such operator (or revoked)"'

# --- refused before it is a row: no seq, a line still -------------------
before=$(sql "select max(seq) from suspension_log")
admin '{"op":"command","body":"not json","signature":"x"}' >/dev/null
wait_for grep -q ' event=admin_refused ' "$TMP/daemon.log"
check "admin_refused: a warning, no row" \
	"$(grep ' event=admin_refused ' "$TMP/daemon.log" | sed 's/^[0-9TZ:.-]* //; s/pid=[0-9]*/pid=P/') $(sql "select max(seq) from suspension_log")" \
	"fxbreakerd: warning: event=admin_refused from=\"uid=0 pid=P\" error=syntax why=\"body: not a command (v, service_id, operator, issued_at, expires_at, nonce, cmd, args)\" $before"

# --- threshold and notice changes ---------------------------------------
check "threshold: tighten v's trip to 2" \
	"$(cmd threshold --key alice.key --rule v --param trip --value 2 --reason tight)" "applied "
tc=$(seq_of threshold_change)
head_is "threshold_change: info, rule, from and to" "$tc" \
	"info: event=threshold_change seq=$tc t=$(row_t "$tc") rule=v kind=service key=trip value=2 from=3 to=2 loosens=false config_hash="
check "notice: busy in English" \
	"$(cmd notice --key alice.key --notice busy --lang en --text "Closed: back soon." --reason typo)" "applied "
nc=$(seq_of notice_change)
head_is "notice_change: info" "$nc" \
	"info: event=notice_change seq=$nc t=$(row_t "$nc") kind=service notice=busy key=en value=\"Closed: back soon.\" from=\"Paused for now.\" to="
check_has "  the new text quoted" "$(line "$nc")" ' to="Closed: back soon."'

long=$(python3 -c 'print("가" * 200)')
check "notice: a 600-byte Korean text" \
	"$(cmd notice --key alice.key --notice busy --lang ko --text "$long" --reason long)" "applied "
nk=$(seq_of notice_change)
has_line "  its line" "$nk"
check "  the value cut at 512 bytes, at a character's start, quoted" \
	"$(line "$nk" | sed 's/.* to="\([^"]*\)".*/\1/')" \
	"$(python3 -c 'print("가" * 170 + "...")')"

# --- a reload that retires a suspension and drops the changes -----------
check "x trips on rule gone" "$(chk x)" deny
tg=$(seq_of trip)
write_conf ""
kill -HUP "$PID"
reloaded() { [ -n "$(seq_of config_reload)" ]; }
wait_for reloaded
rt=$(seq_of retired)
head_is "retired: a warning naming rule and scope" "$rt" \
	"warning: event=retired seq=$rt t=$(row_t "$rt") rule=gone kind=service scope=x scope_type=product suspension=$tg reason="
td=$(seq_of threshold_dropped)
head_is "threshold_dropped: info" "$td" \
	"info: event=threshold_dropped seq=$td t=$(row_t "$td") rule=v kind=service key=trip value=2 config_hash="
nd=$(seq_of notice_dropped)
head_is "notice_dropped: info" "$nd" "info: event=notice_dropped seq=$nd"
cr=$(seq_of config_reload)
head_is "config_reload: info, what=reload" "$cr" \
	"info: event=config_reload seq=$cr t=$(row_t "$cr") kind=service config=$TMP/fx.conf"
check "no prose reload line beside it" "$(grep -c 'reloaded ' "$TMP/daemon.log")" 0

# --- the watchdog: silent, answering -------------------------------------
CK=$TMP/run/check.ipc
mv "$CK" "$TMP/run/check.moved"
silent() { [ -n "$(seq_of watchdog)" ]; }
wait_for silent
w1=$(seq_of watchdog)
head_is "watchdog silent: a warning" "$w1" \
	"warning: event=watchdog seq=$w1 t=$(row_t "$w1") kind=service check_socket=silent url=ipc://$CK last_answer="
check_has "  the error quoted" "$(line "$w1")" " error=\"ipc://$CK: connect: No such file or directory\""
mv "$TMP/run/check.moved" "$CK"
answering() { [ "$(sql "select count(*) from suspension_log where event='watchdog'")" = 2 ]; }
wait_for answering
w2=$(seq_of watchdog)
head_is "watchdog answering: info" "$w2" \
	"info: event=watchdog seq=$w2 t=$(row_t "$w2") kind=service check_socket=answering url=ipc://$CK silent_since="

# --- the ledger fails and recovers: lines, no row -----------------------
lock_db
kill -HUP "$PID"
degr() { grep -q ' event=ledger_degraded ' "$TMP/daemon.log"; }
wait_for degr
# The reload's row at least; on a loaded machine another row (a timer's,
# the watchdog's) may join it: the counts are whatever was queued.
dl=$(grep ' event=ledger_degraded ' "$TMP/daemon.log" | sed 's/^[0-9TZ:.-]* //')
q=$(echo "$dl" | sed -n 's/.* queued=\([0-9]*\) .*/\1/p')
check "ledger_degraded: a warning, why, queued, retrying" "$dl" \
	"fxbreakerd: warning: event=ledger_degraded why=\"database is locked\" queued=${q:-none} retrying=true"
check "  at least the reload's row queued" "$([ "${q:-0}" -ge 1 ] && echo yes)" yes
unlock_db
recov() { grep -q ' event=ledger_recovered ' "$TMP/daemon.log"; }
wait_for recov
rl=$(grep ' event=ledger_recovered ' "$TMP/daemon.log" | sed 's/^[0-9TZ:.-]* //')
w=$(echo "$rl" | sed -n 's/.* written=\([0-9]*\)$/\1/p')
check "ledger_recovered: info, the rows written" "$rl" \
	"fxbreakerd: info: event=ledger_recovered written=${w:-none}"
check "  every row queued is in that commit" "$([ "${w:-0}" -ge "${q:-1}" ] && echo yes)" yes

# --- a clock step back ---------------------------------------------------
set_faketime "-3h"
stepped() { [ -n "$(seq_of clock_step)" ]; }
wait_for stepped
cs=$(seq_of clock_step)
head_is "clock_step: a warning, direction and size" "$cs" \
	"warning: event=clock_step seq=$cs t=$(row_t "$cs") kind=service from="
check_has "  direction=back" "$(line "$cs")" " direction=back "

# --- stop, then a start behind the log ----------------------------------
stop_daemon
check "stopped cleanly" "$STOP_RC" 0
sp=$(seq_of service_stop)
head_is "service_stop: info" "$sp" \
	"info: event=service_stop seq=$sp t=$(row_t "$sp") kind=service config=$TMP/fx.conf"
start_daemon || exit 1
cb=$(seq_of clock_behind)
head_is "clock_behind: a warning" "$cb" \
	"warning: event=clock_behind seq=$cb t=$(row_t "$cb") kind=service wall="
set_faketime "+0"
stop_daemon

# --- a degraded start: a row edited ---------------------------------------
sql "drop trigger suspension_log_append_only_update; update suspension_log set detail='{}' where seq=$wn" >/dev/null
start_daemon || exit 1
ds=$(seq_of degraded_start)
head_is "degraded_start: a warning with the reason" "$ds" \
	"warning: event=degraded_start seq=$ds t=$(row_t "$ds") kind=service reason="
stop_daemon

# --- every row has exactly one line, and every line parses ----------------
# The grammar (docs/OPERATIONS.md): key=bare or key="quoted with \" \\".
sql "select seq || ' ' || event from suspension_log order by seq" >rows.txt
python3 - "$TMP/daemon.log" >lines.txt <<'EOF'
import re, sys
pre = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z fxbreakerd: (info|warning|error): ')
kv = re.compile(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|[^ "\\=]+)(?: |$)')
bad = 0
for ln in open(sys.argv[1], encoding='utf-8'):
    ln = ln.rstrip('\n')
    m = pre.match(ln)
    if not m:
        print('NOPREFIX', ln); bad += 1; continue
    rest = ln[m.end():]
    if not rest.startswith('event='):
        continue
    pos, f = 0, {}
    while pos < len(rest):
        k = kv.match(rest, pos)
        if not k:
            print('UNPARSED', rest[pos:]); bad += 1; break
        f[k.group(1)] = k.group(2)
        pos = k.end()
    if 'seq' in f:
        print(f['seq'], f['event'])
EOF
check "every line has the prefix and parses as key=value" \
	"$(grep -c '^NOPREFIX\|^UNPARSED' lines.txt)" 0
check "one line per row, same seq and event, in order ($(wc -l <rows.txt) rows)" \
	"$(grep -v '^NOPREFIX\|^UNPARSED' lines.txt | sort -n | uniq)" "$(cat rows.txt)"
check "the classes covered" \
	"$(cut -d' ' -f2 rows.txt | sort -u | tr '\n' ' ')" \
	"clock_behind clock_step command config_reload degraded_start force_lift force_suspend fresh notice_change notice_dropped reset resume retired service_start service_stop stale threshold_change threshold_dropped trip warn watchdog "

# --- -V, --help, a bad option, a start that fails --------------------------
check "-V" "$("$REAL_FXD" -V; echo "rc=$?")" "fxbreakerd $(sed -n 's/^#define FXB_VERSION "\(.*\)"/\1/p' "$ROOT/breaker/fxb.h")
rc=0"
check "--version" "$("$REAL_FXD" --version 2>&1)" "fxbreakerd 0.11.0"
check "--help: usage on stdout, every option, exit 0" \
	"$("$REAL_FXD" --help 2>/dev/null | grep -c '^  -f, --config FILE\|^  -n, --check\|^  -V, --version\|^  -h, --help'; echo "rc=$?")" "4
rc=0"
"$REAL_FXD" -h >h.out 2>h.err
check "-h: stdout only" "$(head -n 1 h.out) $(wc -c <h.err)" "usage: fxbreakerd [-n] [--node ID] -f FILE 0"
"$REAL_FXD" --bogus >bad.out 2>bad.err
check "a bad option: exit 100 (usage), nothing on stdout" "$? $(wc -c <bad.out)" "100 0"
check "  the usage on stderr" "$(grep -c '^usage: fxbreakerd' bad.err)" 1
check "fxbreakerctl -V" "$("$CTL" -V)" "fxbreakerctl 0.11.0"
check "fxbreakerctl --version" "$("$CTL" --version)" "fxbreakerctl 0.11.0"
check "fxbreakerctl --help: exit 0" "$("$CTL" --help >/dev/null; echo $?)" 0
start_daemon || exit 1
"$REAL_FXD" -f "$TMP/fx.conf" 2>second.err
check "a second daemon on the data directory: exit 111" "$?" 111
check "  its lines say error:" "$(sed 's/^[0-9TZ:.-]* //' second.err | cut -c1-30)" \
	"fxbreakerd: error: $(echo "$TMP" | cut -c1-11)
fxbreakerd: error: not startin"
echo "[service" >bad.conf
"$REAL_FXD" -f bad.conf 2>badconf.err
check "a config that does not load: exit 2, error:" \
	"$? $(grep -c 'fxbreakerd: error: ' badconf.err) $(grep -c 'warning' badconf.err)" "2 2 0"
"$REAL_FXD" -n -f bad.conf 2>badn.err
check "-n on it: exit 2, error:" "$? $(grep -c 'fxbreakerd: error: ' badn.err)" "2 1"

finish
