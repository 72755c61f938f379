#!/bin/sh
# e2e_sockperm.sh BUILD: who may connect to the ipc:// sockets (issue 11
# item 4; docs/OPERATIONS.md "Who may connect").  Runs as root: it makes a
# throwaway group and two system users, removed on exit.
#  (a) socket_group = the group, socket_mode = 0660, the admin socket
#      left at its default: each socket file's exact mode and group; the
#      socket directory the daemon created has the group; a member gets
#      an exact allow from fxbreakerctl check and from nngcat, and its
#      tick on the tick socket is counted; the member cannot reach the
#      admin socket (status fails: permission denied); a non-member
#      fails at the directory.
#  (b) a socket directory the daemon did not create (0755, root's): left
#      exactly as it was; the non-member now reaches the socket file and
#      its 0660 refuses it (fxbreakerctl and nngcat: permission denied);
#      admin_socket_group + admin_socket_mode 0660 let the member run
#      status.
#  (c) bad values: exact validate errors for socket_mode 0777, abc, 0400,
#      0640, 0666 (admin: 0606), 4660, a malformed group; validate warns
#      of a group this machine lacks and passes; the daemon refuses to
#      start on it (exit 2, the exact line), and -n says so (exit 2);
#      a reload that changes socket_mode is refused and the files keep
#      their mode.
. "$(dirname "$0")/lib_e2e.sh"

if [ "$(id -u)" -ne 0 ]; then
	fail "root" "this test makes a group and users: run it as root"
	finish
	exit 1
fi

SFX=$$
GRP=fxbtest-sock$SFX
OGRP=fxbtest-other$SFX
MEMBER=fxbtest-core$SFX
OTHER=fxbtest-nobody$SFX
cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	userdel "$MEMBER" 2>/dev/null
	userdel "$OTHER" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
	groupdel "$OGRP" 2>/dev/null
	cd "$ROOT" && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

groupadd -r "$GRP" && groupadd -r "$OGRP" &&
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin -g "$GRP" "$MEMBER" &&
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin -g "$OGRP" "$OTHER" ||
	{
		fail "setup" "could not make the group and users"
		finish
		exit 1
	}

# The test's directory is root's 0700: let others through it (not list
# it), as /run is, and give them the tools in a directory they can read.
chmod 0711 "$TMP"
mkdir "$TMP/bin"
cp "$CTL" "$TMP/bin/fxbreakerctl"
chmod 0755 "$TMP/bin" "$TMP/bin/fxbreakerctl"
UCTL=$TMP/bin/fxbreakerctl

# as USER CMD...: CMD as USER, with USER's groups, and the same config.
as() {
	u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
		env FXBREAKER_CONFIG="$TMP/fx.conf" "$@" 2>&1
}

write_conf() { # write_conf RUNDIR [SERVICE LINES]
	{
		cat <<EOS
[service]
data_dir = $TMP/data
check_url = ipc://$1/check.ipc
tick_url = ipc://$1/tick.ipc
admin_url = ipc://$1/admin.ipc
events_url = ipc://$1/events.ipc
service_id = e2e
EOS
		shift
		for l in "$@"; do echo "$l"; done
		cat <<'EOF2'
[pair USD/KRW]
[product wallet]
pair = USD/KRW
[rule vol]
product = wallet
kind = volume
window = 60s
trip = 100
suspend_for = 1h
EOF2
	} >"$TMP/fx.conf"
}
ALLOW='{"decision":"allow","ref":"p1"}'
REQ='{"op":"check","product":"wallet","amount":"10.00","ref":"p1"}'

# --- (a) the daemon creates the directory --------------------------------
RUN=$TMP/run
write_conf "$RUN" "socket_group = $GRP" "socket_mode = 0660"
start_daemon || exit 1
for s in check tick events; do
	check "$s.ipc mode and group" "$(stat -c '%a %G' "$RUN/$s.ipc")" \
		"660 $GRP"
done
check "admin.ipc stays owner-only" "$(stat -c '%a %U %G' "$RUN/admin.ipc")" \
	"600 root root"
check "socket directory made with the group" \
	"$(stat -c '%a %U %G' "$RUN")" "750 root $GRP"
check "member: fxbreakerctl check allowed" \
	"$(as "$MEMBER" "$UCTL" check wallet 10.00)" "allow"
check "member: nngcat check, exact reply" \
	"$(as "$MEMBER" nngcat --req --dial "ipc://$RUN/check.ipc" \
		--data "$REQ" --ascii --recv-timeout 2)" "$ALLOW"
as "$MEMBER" nngcat --push --dial "ipc://$RUN/tick.ipc" \
	--data '{"pair":"USD/KRW","px":"1400.0"}' >/dev/null
ticks_one() { [ "$("$CTL" status --json | jq -c .ticks)" = \
	'{"applied":1,"refused":0,"waits":0}' ]; }
if wait_for ticks_one; then ok "member: tick on the tick socket counted"; else
	fail "member: tick on the tick socket counted" \
		"$("$CTL" status --json | jq -c .ticks)"
fi
out=$(as "$MEMBER" "$UCTL" status)
rc=$?
check "member: status on the admin socket refused (exit 3)" "$rc" 3
check_has "member: status says permission denied" "$out" \
	"ipc://$RUN/admin.ipc: cannot connect (is fxbreakerd running?): Permission denied"
out=$(as "$OTHER" "$UCTL" check wallet 10.00)
rc=$?
check "non-member: check refused (exit 3)" "$rc" 3
check_has "non-member: permission denied at the directory" "$out" \
	"ipc://$RUN/check.ipc: cannot connect (is fxbreakerd running?): Permission denied"
check "root (the daemon's user): check allowed" \
	"$(nngcat --req --dial "ipc://$RUN/check.ipc" --data "$REQ" --ascii \
		--recv-timeout 2)" "$ALLOW"
stop_daemon
check "clean stop" "$STOP_RC" 0

# --- (b) a directory the daemon did not create ------------------------
RUN2=$TMP/run2
mkdir -m 0755 "$RUN2"
write_conf "$RUN2" "socket_group = $GRP" "socket_mode = 0660" \
	"admin_socket_group = $GRP" "admin_socket_mode = 0660"
start_daemon || exit 1
check "existing directory left as it was" "$(stat -c '%a %U %G' "$RUN2")" \
	"755 root root"
check "admin.ipc with its own group and mode" \
	"$(stat -c '%a %G' "$RUN2/admin.ipc")" "660 $GRP"
check "check.ipc mode and group" "$(stat -c '%a %G' "$RUN2/check.ipc")" \
	"660 $GRP"
out=$(as "$OTHER" "$UCTL" check wallet 10.00)
rc=$?
check "non-member: check refused by the file's mode (exit 3)" "$rc" 3
check_has "non-member: permission denied on the file" "$out" \
	"ipc://$RUN2/check.ipc: cannot connect (is fxbreakerd running?): Permission denied"
check_has "non-member: nngcat refused too" \
	"$(as "$OTHER" nngcat --req --dial "ipc://$RUN2/check.ipc" \
		--data "$REQ" --ascii --recv-timeout 2)" "Permission denied"
check "member: status through admin_socket_group" \
	"$(as "$MEMBER" "$UCTL" status --json | jq -r .ledger.state)" ok
check "member: check allowed" \
	"$(as "$MEMBER" nngcat --req --dial "ipc://$RUN2/check.ipc" \
		--data "$REQ" --ascii --recv-timeout 2)" "$ALLOW"

# A reload cannot change who may connect: refused, the files unchanged.
write_conf "$RUN2" "socket_group = $GRP" "socket_mode = 0600" \
	"admin_socket_group = $GRP" "admin_socket_mode = 0660"
kill -HUP "$PID"
reload_refused() { grep -q 'reload refused' "$TMP/daemon.log"; }
wait_for reload_refused
check_has "reload changing socket_mode refused" \
	"$(grep 'reload refused' "$TMP/daemon.log")" \
	"reload refused, keeping the running config: [service] socket_mode changed (addresses, who may connect, TLS files, data, service id): restart to change it"
check "check.ipc keeps 0660 after the refused reload" \
	"$(stat -c '%a %G' "$RUN2/check.ipc")" "660 $GRP"
stop_daemon

# --- (c) bad values -------------------------------------------------------
# bad KEY VALUE WANT: validate refuses the value with exactly WANT.
bad() {
	write_conf "$RUN2" "$1 = $2"
	line=$(grep -n "^$1 = " "$TMP/fx.conf" | cut -d: -f1)
	out=$("$CTL" validate "$TMP/fx.conf" 2>&1)
	rc=$?
	check "validate $1=$2: exit 2" "$rc" 2
	check "validate $1=$2: message" "$out" \
		"$TMP/fx.conf:$line: [service] $1: $3 (\"$2\")"
}
bad socket_mode 0777 "no execute bits: a socket is connected to, not run (0600 or 0660)"
bad socket_mode abc "an octal mode such as 0660 or 0600"
bad socket_mode 0400 "at least 0600: the daemon's own user must reach its socket"
bad socket_mode 0640 "group bits without w: connecting needs write (0660 lets the group connect, 0600 does not)"
bad socket_mode 0666 "no bits for others: name who may connect with socket_group (0660 or 0600)"
bad admin_socket_mode 0606 "no bits for others: name who may connect with admin_socket_group (0660 or 0600)"
bad socket_mode 4660 "no setuid, setgid or sticky bits (a mode such as 0660)"
bad socket_group 'core banking' "a group name (letters, digits, '.', '_', '-'; at most 32 bytes)"

write_conf "$RUN2" "socket_group = no-such-group$SFX" "socket_mode = 0660"
out=$("$CTL" validate "$TMP/fx.conf" 2>&1)
rc=$?
check "validate, group missing here: exit 0" "$rc" 0
check_has "validate warns of the missing group" "$out" \
	"fxbreakerctl: warning: socket_group no-such-group$SFX: no such group on this machine (fxbreakerd will not start where it does not exist)"
: >"$TMP/daemon.log"
"$FXD" -f "$TMP/fx.conf" 2>>"$TMP/daemon.log"
check "daemon with a missing group: exit 2" "$?" 2
check_has "daemon says which group" "$(cat "$TMP/daemon.log")" \
	"socket_group no-such-group$SFX: no such group on this machine (groupadd it, or fix the name)"
check "nothing listened" "$(ls "$RUN2")" ""
out=$("$FXD" -n -f "$TMP/fx.conf" 2>&1)
check "fxbreakerd -n with a missing group: exit 2" "$?" 2
check_has "fxbreakerd -n says which group" "$out" \
	"socket_group no-such-group$SFX: no such group on this machine (groupadd it, or fix the name)"
write_conf "$RUN2" "socket_group = $GRP" "socket_mode = 0660"
check "fxbreakerd -n with the group: ok" \
	"$("$FXD" -n -f "$TMP/fx.conf" 2>&1)" "$TMP/fx.conf: ok"
# A daemon that is neither root nor in the group could not give its
# socket files to it: -n finds it as a start would, before anything opens.
cp "$FXD" "$TMP/bin/fxbreakerd"
chmod 0755 "$TMP/bin/fxbreakerd"
chmod 0644 "$TMP/fx.conf"
out=$(as "$OTHER" "$TMP/bin/fxbreakerd" -n -f "$TMP/fx.conf")
check "fxbreakerd -n, not root and not in the group: exit 2" "$?" 2
check_has "  and says why" "$out" \
	"socket_group $GRP: fxbreakerd runs as uid $(id -u "$OTHER"), neither root nor a member of the group, so it cannot give socket files to it (usermod -aG $GRP USER, or SupplementaryGroups= in the unit)"
check "  a member may: ok" \
	"$(as "$MEMBER" "$TMP/bin/fxbreakerd" -n -f "$TMP/fx.conf")" "$TMP/fx.conf: ok"

finish
