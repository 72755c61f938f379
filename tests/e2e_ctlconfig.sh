#!/bin/sh
# e2e_ctlconfig.sh BUILD: ops are never locked out by their own config
# (issue 9, item 5).  A running daemon, then a typo in a rule section of
# its file: the reload is refused and the daemon keeps its last good
# config, and every fxbreakerctl command that talks to it (status, check,
# a signed suspend, log, report) still works, with one warning line on
# stderr.  Only a bad [service] is fatal, and says how to do without it;
# --config goes before or after the command; --url needs no config at
# all; a failure to connect names the URL, where it came from, and --url.
. "$(dirname "$0")/lib_e2e.sh"

operator_key alice alice >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
operators_file = $TMP/operators
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[rule v]
product = w
kind = volume
window = 60s
trip = 100
suspend_for = 0
EOF2
} >"$TMP/fx.conf"
CONF="$TMP/fx.conf"
ADMIN="ipc://$TMP/run/admin.ipc"
CHECK="ipc://$TMP/run/check.ipc"
start_daemon || exit 1
cp "$CONF" good.conf

# --- a typo in a rule: the reload is refused ------------------------------
sed -i 's/^trip = 100$/trip = 1O0/' "$CONF"
line=$(grep -n '^trip = 1O0$' "$CONF" | cut -d: -f1)
err="$CONF:$line: [rule v] trip: not a whole number (digits[.digits], digits only) (\"1O0\")"
kill -HUP "$PID"
refused() { grep -q 'reload refused' "$TMP/daemon.log"; }
wait_for refused
check "reload refused: the exact error, the running config kept" \
	"$(grep 'reload refused' "$TMP/daemon.log" | sed 's/^.*warning: //')" \
	"reload refused, keeping the running config: $err"
check "validate still fails on it (exit 2)" \
	"$("$CTL" validate "$CONF" 2>&1; echo "rc=$?")" "$err
rc=2"
WARN="fxbreakerctl: warning: $err (only [service] is read here; a running daemon keeps its last good config)"

# --- every command that talks to the daemon still works -------------------
"$CTL" status >out 2>errs
rc=$?
check "status: exit 0" "$rc" 0
check "status: one warning line naming file:line" "$(cat errs)" "$WARN"
check "status: the service answered" "$(head -c 7 out)" "e2e at "
"$CTL" check w 1.00 >out 2>errs
check "check: allow, exit 0" "$(cat out) rc=$?" "allow rc=0"
check "check: the warning" "$(cat errs)" "$WARN"
"$CTL" suspend --key alice.key --product x --reason "typo night" >out 2>errs
rc=$?
fs=$(sql "select max(seq) from suspension_log where event='force_suspend'")
check "a signed suspend: applied, exit 0" "$(cat out) rc=$rc" \
	"applied: suspension $fs rc=0"
check "suspend: the warning" "$(cat errs)" "$WARN"
check "the suspension holds" \
	"$("$CTL" check x 1.00 2>/dev/null | head -n 1)" \
	"deny: forced, suspension $fs"
"$CTL" log --event force_suspend --format json >out 2>errs
check "log (the ledger through [service] data_dir): exit 0" \
	"$(jq -r .suspension out) rc=$?" "$fs rc=0"
check "log: the warning" "$(cat errs)" "$WARN"
"$CTL" report --format json >out 2>errs
check "report: exit 0, the episode" "$(jq -r .suspension out) rc=$?" \
	"$fs rc=0"
check "report: the warning" "$(cat errs)" "$WARN"
check "tick: ok, exit 0" "$("$CTL" tick USD/KRW 1400 2>/dev/null; echo "rc=$?")" \
	"ok
rc=0"

# --- --config before or after the command ---------------------------------
unset FXBREAKER_CONFIG
check "--config after the command" \
	"$("$CTL" check w 1.00 --config good.conf 2>&1; echo "rc=$?")" \
	"allow
rc=0"
check "--config before the command" \
	"$("$CTL" --config good.conf check w 1.00 2>&1; echo "rc=$?")" \
	"allow
rc=0"
"$CTL" --config "$CONF" suspend --key alice.key --product w --reason r >out 2>errs
rc=$?
fs2=$(sql "select max(seq) from suspension_log where event='force_suspend'")
check "--config before a signed command (the broken file): applied" \
	"$(cat out) rc=$rc" "applied: suspension $fs2 rc=0"
check "... with the warning" "$(cat errs)" "$WARN"

# --- no config at all: --url ----------------------------------------------
export FXBREAKER_CONFIG="$TMP/none.conf"
check "check --url, no config file" \
	"$("$CTL" check --url "$CHECK" w 1.00 2>&1 | head -n 1)" "deny: forced, suspension $fs2"
check "status --url (the admin socket), no config file: exit 0" \
	"$("$CTL" status --url "$ADMIN" >/dev/null 2>&1; echo "rc=$?")" "rc=0"
check "--url before the command" \
	"$("$CTL" --url "$ADMIN" status --json 2>&1 | jq -r .service_id)" e2e
out=$("$CTL" suspend --key alice.key --product x --reason r \
	--url "$ADMIN" --service-id e2e 2>&1)
check "a signed suspend with --url --service-id, no config file" \
	"$out rc=$?" \
	"applied: suspension $(sql "select max(seq) from suspension_log where event='force_suspend'") rc=0"
check "--url alone, no config file: the service id is needed" \
	"$("$CTL" suspend --key alice.key --product x --reason r --url "$ADMIN" 2>&1; echo "rc=$?")" \
	"fxbreakerctl: $TMP/none.conf: No such file or directory
fxbreakerctl: the config names the service: name it with --config FILE (or \$FXBREAKER_CONFIG), or give --service-id ID
rc=3"
check "no config file and no --url: says how" \
	"$("$CTL" status 2>&1; echo "rc=$?")" \
	"fxbreakerctl: $TMP/none.conf: No such file or directory
fxbreakerctl: the config names the service: name it with --config FILE (or \$FXBREAKER_CONFIG), or give --url URL
rc=3"
check "log without a config: says --db" \
	"$("$CTL" log 2>&1 | tail -n 1)" \
	"fxbreakerctl: the config names the service: name it with --config FILE (or \$FXBREAKER_CONFIG), or give --db PATH"
check "log --db, no config file" \
	"$("$CTL" log --db "$TMP/data/fxbreaker.db" --event force_suspend --format json 2>&1 | jq -r .suspension | head -n 1)" \
	"$fs"
export FXBREAKER_CONFIG="$CONF"

# --- a failure to connect says what it tried and how to override ----------
check "connect failure with --url: the URL, and that it came from --url" \
	"$("$CTL" status --url "ipc://$TMP/run/nope.ipc" 2>&1; echo "rc=$?")" \
	"fxbreakerctl: ipc://$TMP/run/nope.ipc: cannot connect (is fxbreakerd running?): Connection refused
fxbreakerctl: ipc://$TMP/run/nope.ipc was given with --url; without it, admin_url in [service] of the config is used
rc=3"
sed "s|^check_url = .*|check_url = ipc://$TMP/run/moved.ipc|" "$CONF" >moved.conf
check "connect failure from the config: the key, the file, and --url" \
	"$("$CTL" check --config moved.conf w 1.00 2>&1; echo "rc=$?")" \
	"fxbreakerctl: warning: moved.conf:$line: [rule v] trip: not a whole number (digits[.digits], digits only) (\"1O0\") (only [service] is read here; a running daemon keeps its last good config)
fxbreakerctl: ipc://$TMP/run/moved.ipc: cannot connect (is fxbreakerd running?): Connection refused
fxbreakerctl: ipc://$TMP/run/moved.ipc is check_url in [service] of moved.conf; give --url URL to try another
rc=3"
sed "s|^admin_url = .*|admin_url = ipc://$TMP/run/moved.ipc|" good.conf >moved2.conf
check "a signed command's connect failure names admin_url and --url" \
	"$("$CTL" suspend --config moved2.conf --key alice.key --product x --reason r 2>&1 | head -n 2)" \
	"fxbreakerctl: ipc://$TMP/run/moved.ipc: cannot connect (is fxbreakerd running?): Connection refused
fxbreakerctl: ipc://$TMP/run/moved.ipc is admin_url in [service] of moved2.conf; give --url URL to try another"

# --- a broken [service] is fatal, and says how to do without it -----------
sed 's|^admin_url = ipc|admin_url = ipx|' "$CONF" >badsvc.conf
check "a bad [service] key: fatal (exit 2), the error and --url" \
	"$("$CTL" status --config badsvc.conf 2>&1; echo "rc=$?")" \
	"badsvc.conf:5: [service] admin_url: an nng address: ipc://PATH, tcp://HOST:PORT or tls+tcp://HOST:PORT (\"ipx://$TMP/run/admin.ipc\")
fxbreakerctl: [service] of badsvc.conf is needed to find the service: fix it, or give --url URL
rc=2"
check "... and --url overrides it" \
	"$("$CTL" status --config badsvc.conf --url "$ADMIN" >/dev/null 2>&1; echo "rc=$?")" "rc=0"
sed 's|^\[service\]$|[servce]|' good.conf >nosvc.conf
check "a misspelt [service]: fatal, no guessing the default sockets" \
	"$("$CTL" check --config nosvc.conf w 1.00 2>&1; echo "rc=$?")" \
	"nosvc.conf: no [service] section
fxbreakerctl: [service] of nosvc.conf is needed to find the service: fix it, or give --url URL
rc=2"
sed 's|^\[rule v\]$|[rul v]|' good.conf >badhdr.conf
check "a misspelt rule header is only a warning" \
	"$("$CTL" tick --config badhdr.conf USD/KRW 1400 2>&1; echo "rc=$?")" \
	"fxbreakerctl: warning: badhdr.conf:14: unknown section [rul v] (expected service, pair, product, rule, notice, calendar, cluster or peer) (only [service] is read here; a running daemon keeps its last good config)
ok
rc=0"

# --- fixed: reloaded, no warning --------------------------------------------
cp good.conf "$CONF"
kill -HUP "$PID"
reloaded() { [ "$(sql "select count(*) from suspension_log where event='config_reload'")" = 1 ]; }
wait_for reloaded
check "the fixed file reloads" \
	"$(sql "select count(*) from suspension_log where event='config_reload'")" 1
check "no warning once the file parses" "$("$CTL" status 2>&1 >/dev/null)" ""
finish
