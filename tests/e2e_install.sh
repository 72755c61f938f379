#!/bin/sh
# e2e_install.sh BUILD: `make install` into a DESTDIR, as a Debian daemon
# installs (docs/OPERATIONS.md, "Installing and running under systemd").
# Every file in its place with its mode, the .so's SONAME and links, the
# .pc naming the installed paths (nothing of this tree in any installed
# text), the man pages clean under mandoc -Tlint, the unit clean under
# systemd-analyze verify and its security score, the sysusers.d file
# making the user; then a client program built from the installed .pc
# alone (the .so, then the .a) asks the installed daemon, run as the
# dedicated user in the unit's sandbox (as far as it can be built without
# systemd) when the test runs as root, for exact answers; a second
# install keeps an operator's config; uninstall leaves only what it says
# it keeps.  The build is reused: install compiles nothing.
. "$(dirname "$0")/lib_e2e.sh"

D="$TMP/dest"
P=/usr/local
trap 'stop_daemon 2>/dev/null; cd "$ROOT" && rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM PIPE
VERSION=$(sed -n 's/^#define FXB_VERSION "\([^"]*\)".*/\1/p' \
	"$ROOT/breaker/fxb.h")

inst() { make --no-print-directory -C "$ROOT" BUILD="$BUILD" DESTDIR="$D" "$@"; }
if ! inst install >install.out 2>&1; then
	fail "make install" "$(cat install.out)"
	finish
	exit 1
fi
ok "make install DESTDIR=... PREFIX=$P"
check "install compiled nothing (the build is reused)" \
	"$(grep -cE '(^| )-c ' install.out)" 0

# Every file and link under DESTDIR, with its mode (a link: its target).
check "every installed file, its mode (links: their target)" \
	"$(cd "$D" && find . -mindepth 1 \( -type f -o -type l \) \
		-printf '%m %y %p %l\n' | sort -k3)" \
	"644 f ./etc/fxbreaker/fxbreaker.conf 
755 f ./usr/local/bin/fxbreakerctl 
644 f ./usr/local/include/fxb_client.h 
644 f ./usr/local/lib/libfxbclient.a 
777 l ./usr/local/lib/libfxbclient.so libfxbclient.so.1
777 l ./usr/local/lib/libfxbclient.so.1 libfxbclient.so.1.2.0
755 f ./usr/local/lib/libfxbclient.so.1.2.0 
644 f ./usr/local/lib/pkgconfig/fxbreaker-client.pc 
644 f ./usr/local/lib/systemd/system/fxbreakerd.service 
644 f ./usr/local/lib/sysusers.d/fxbreaker.conf 
755 f ./usr/local/sbin/fxbreakerd 
644 f ./usr/local/share/doc/fxbreaker/LEDGER.md 
644 f ./usr/local/share/doc/fxbreaker/OPERATIONS.md 
644 f ./usr/local/share/doc/fxbreaker/PROTOCOL.md 
644 f ./usr/local/share/doc/fxbreaker/RULES-NOTES.md 
644 f ./usr/local/share/doc/fxbreaker/RULES.md 
644 f ./usr/local/share/doc/fxbreaker/board.png 
644 f ./usr/local/share/doc/fxbreaker/fxbreaker-alerts.yml 
644 f ./usr/local/share/doc/fxbreaker/fxbreaker.conf.example 
644 f ./usr/local/share/man/man5/fxbreaker.conf.5 
644 f ./usr/local/share/man/man8/fxbreakerctl.8 
644 f ./usr/local/share/man/man8/fxbreakerd.8 "
L="$D$P/lib"
check "the .so's SONAME" \
	"$(readelf -d "$L/libfxbclient.so.1.2.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" \
	libfxbclient.so.1

check "the installed .pc" "$(grep -v '^#' "$L/pkgconfig/fxbreaker-client.pc")" \
	"prefix=/usr/local
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: fxbreaker-client
Description: ask fxbreakerd whether an FX conversion may go ahead
Version: $VERSION
Requires.private: jansson
Libs: -L\${libdir} -lfxbclient
Libs.private: -lnng -lmbedtls -lmbedx509 -lmbedcrypto -lpthread
Cflags: -I\${includedir}"
# pkg-config finds it in DESTDIR and moves its prefix there: libdir and
# includedir follow the prefix.
export PKG_CONFIG_PATH="$L/pkgconfig"
pc() { pkg-config --define-variable=prefix="$D$P" "$@" fxbreaker-client; }
check "pkg-config, its prefix moved into DESTDIR" "$(echo $(pc --cflags --libs))" \
	"-I$D/usr/local/include -L$D/usr/local/lib -lfxbclient"
check "pkg-config --modversion: FXB_VERSION of breaker/fxb.h" \
	"$(pc --modversion)" "$VERSION"

# Nothing installed names this tree; only the documents (which show
# commands run from a checkout, build/fxbreakerctl ...) say build/.
check "no installed text names this tree" \
	"$(grep -rIl -e "$ROOT" "$D" | sed "s|^$D||")" ""
check "no installed text but the documents names build/" \
	"$(grep -rIl 'build/' "$D" | grep -v "^$D$P/share/doc/fxbreaker/[A-Z-]*\.md$" |
		sed "s|^$D||")" ""

# The unit and the config that name the installed files.
U="$L/systemd/system/fxbreakerd.service"
check "the unit runs the installed daemon on /etc's config" \
	"$(grep -E '^Exec|^User|^Group|^(State|Runtime)Directory' "$U")" \
	"ExecStart=/usr/local/sbin/fxbreakerd -f /etc/fxbreaker/fxbreaker.conf
ExecReload=/usr/local/sbin/fxbreakerd -n -f /etc/fxbreaker/fxbreaker.conf
ExecReload=/bin/kill -HUP \$MAINPID
User=fxbreaker
Group=fxbreaker
StateDirectory=fxbreaker
StateDirectoryMode=0750
RuntimeDirectory=fxbreaker
RuntimeDirectoryMode=0750"
# systemd-analyze verify wants ExecStart's binary on this machine: the
# unit is verified as installed, with DESTDIR before its two paths (the
# check above proves they are the installed binary's).  man: its
# Documentation= pages are looked up in DESTDIR (without man-db, not).
mkdir -p unit
sed "s|=$P/sbin/|=$D$P/sbin/|" "$U" >unit/fxbreakerd.service
if command -v man >/dev/null; then MANOPT=; else MANOPT=--man=no; fi
out=$(MANPATH="$D$P/share/man" systemd-analyze verify $MANOPT \
	unit/fxbreakerd.service 2>&1)
check "systemd-analyze verify: exit 0, not a word" "$?:$out" "0:"
check "systemd-analyze security --offline=true: the score in docs/OPERATIONS.md" \
	"$(systemd-analyze security --offline=true unit/fxbreakerd.service 2>&1 |
		sed -n 's/^→ Overall exposure level for fxbreakerd.service: //p')" \
	"1.5 OK 🙂"

# The sysusers.d file, applied to an empty root as systemd-sysusers
# applies it at install.
mkdir -p sysroot/etc
systemd-sysusers --root="$TMP/sysroot" "$L/sysusers.d/fxbreaker.conf" \
	>/dev/null 2>&1
check "sysusers.d: a system user and group fxbreaker, no login" \
	"$(sed -n 's/:[0-9]*:[0-9]*:/:N:N:/p' sysroot/etc/passwd) | $(sed -n 's/:[0-9]*:/:N:/p' sysroot/etc/group)" \
	"fxbreaker:x:N:N:fxbreaker FX circuit breaker:/var/lib/fxbreaker:/usr/sbin/nologin | fxbreaker:x:N:"
FXUID=$(cut -d: -f3 sysroot/etc/passwd)
FXGID=$(cut -d: -f4 sysroot/etc/passwd)

# The man pages as installed: clean (but for each other's
# cross-references, which mandoc looks up among this machine's installed
# pages), and each renders.
M="$D$P/share/man"
check "mandoc -Tlint: the installed pages are clean" \
	"$(mandoc -Tlint "$M/man8/fxbreakerd.8" "$M/man8/fxbreakerctl.8" \
		"$M/man5/fxbreaker.conf.5" 2>&1 |
		grep -Ev 'STYLE: referenced manual not found: Xr (fxbreakerd 8|fxbreakerctl 8|fxbreaker\.conf 5)( \([0-9]+ times\))?$')" ""
name_line() { # the NAME section's line, unwrapped
	mandoc -Tutf8 -O width=200 "$M/$1" | sed 's/.\x08//g' |
		sed -n '/^NAME$/{n;s/^ *//;p;}'
}
check "mandoc -Tutf8: fxbreakerd.8 renders" "$(name_line man8/fxbreakerd.8)" \
	"fxbreakerd – FX conversion circuit breaker service"
check "mandoc -Tutf8: fxbreakerctl.8 renders" \
	"$(name_line man8/fxbreakerctl.8)" \
	"fxbreakerctl – operate, audit and rehearse the fxbreaker FX circuit breaker"
check "mandoc -Tutf8: fxbreaker.conf.5 renders" \
	"$(name_line man5/fxbreaker.conf.5)" \
	"fxbreaker.conf – fxbreaker FX circuit breaker configuration file"

# The installed config, for a host: /var/lib and /run, and it loads.
C="$D/etc/fxbreaker/fxbreaker.conf"
check "/etc's config: data and sockets under /var/lib and /run" \
	"$(grep -E '^(data_dir|[a-z]+_url|service_id) =' "$C")" \
	"data_dir = /var/lib/fxbreaker
check_url = ipc:///run/fxbreaker/check.ipc
tick_url = ipc:///run/fxbreaker/tick.ipc
admin_url = ipc:///run/fxbreaker/admin.ipc
events_url = ipc:///run/fxbreaker/events.ipc
service_id = fxbreaker
http_url = http://127.0.0.1:9464"
check "installed fxbreakerctl validate: the example's rules" \
	"$("$D$P/bin/fxbreakerctl" validate "$C" 2>&1)" \
	"$C: ok: 3 pairs, 8 products, 29 rules, 5 notices"
check "installed fxbreakerd -n on it: exit 0" \
	"$("$D$P/sbin/fxbreakerd" -n -f "$C" 2>&1; echo "rc=$?")" \
	"$C: ok
rc=0"

# A client built from the .pc alone: no -I or -L into this tree (with
# the sanitizers the library was built with, as e2e_client.sh does).
cp "$ROOT/tests/install_client.c" .
SANFLAGS=
if nm "$L/libfxbclient.a" 2>/dev/null | grep -q '__asan_'; then
	SANFLAGS="-fsanitize=address,undefined"
fi
if ${CC:-cc} $SANFLAGS install_client.c $(pc --cflags --libs) \
	-o client_so 2>cc.err; then
	ok "a client builds against the installed .so through the .pc"
else
	fail "a client builds against the installed .so through the .pc" \
		"$(cat cc.err)"
fi
check "  it needs libfxbclient.so.1, found at run time" \
	"$(readelf -d client_so | sed -n 's/.*(NEEDED).*\[\(libfxb.*\)\]/\1/p') $(LD_LIBRARY_PATH="$L" ldd client_so | grep -c "=> $L/libfxbclient.so.1 ")" \
	"libfxbclient.so.1 1"
# The .a: the .pc's static libraries, with the archive named so that the
# .so beside it is not taken instead.
if ${CC:-cc} $SANFLAGS install_client.c $(pc --cflags) \
	$(pc --static --libs |
		sed 's/-lfxbclient/-l:libfxbclient.a/') -o client_a 2>cc.err; then
	ok "a client builds against the installed .a through the .pc"
else
	fail "a client builds against the installed .a through the .pc" \
		"$(cat cc.err)"
fi
check "  it needs no libfxbclient at run time" \
	"$(ldd client_a >ldd.out 2>&1; echo $?) $(grep -c libfxbclient ldd.out)" \
	"0 0"

# The installed daemon on the installed config's rules, its [service]
# moved here.  As root, where mount namespaces work, it runs as the unit
# runs it, as far as a machine without systemd as PID 1 can: the
# sysusers.d uid and gid, no capability, no new privileges, umask 0027,
# its own mount namespace with / read-only but for its data and socket
# directories (ProtectSystem=strict, StateDirectory=, RuntimeDirectory=,
# which belong to it) and a private /var/tmp.  The system call filter is
# not applied here (docs/OPERATIONS.md says how it was checked).
# Otherwise it runs as the test's user, with no new privileges.
sed -e "s|^data_dir = .*|data_dir = $TMP/data|" \
	-e "s|ipc:///run/fxbreaker/|ipc://$TMP/run/|" \
	-e "s|^http_url = .*|http_url = http://127.0.0.1:19610|" "$C" >fx.conf
mkdir -m 0750 data run probe
SANDBOX=0
if [ "$(id -u)" = 0 ] && unshare -m --propagation private \
	mount -t tmpfs tmpfs "$TMP/probe" 2>/dev/null; then
	SANDBOX=1
fi
if [ $SANDBOX = 1 ]; then
	chmod 0755 "$TMP"
	chown "$FXUID:$FXGID" data run
	RUNAS="$FXUID:$FXGID"
	cat >fxd <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
mount --bind $TMP/data $TMP/data && mount --bind $TMP/run $TMP/run &&
mount -t tmpfs -o mode=1777 tmpfs /var/tmp && mount -o remount,bind,ro / &&
umask 0027 && exec setpriv --reuid=$FXUID --regid=$FXGID --clear-groups \
	--no-new-privs --bounding-set=-all --inh-caps=-all \
	$D$P/sbin/fxbreakerd "\$@"' sh "\$@"
EOF
else
	RUNAS="$(id -u):$(id -g)"
	printf '#!/bin/sh\numask 022\nexec setpriv --no-new-privs %s "$@"\n' \
		"$D$P/sbin/fxbreakerd" >fxd
fi
chmod 0755 fxd
FXD="$TMP/fxd"
CTL="$D$P/bin/fxbreakerctl"
if ! start_daemon; then
	fail "the installed daemon starts" "$(cat daemon.log)"
	finish
	exit 1
fi
check "the installed daemon runs as $RUNAS; its ledger belongs to it" \
	"$(stat -c %u:%g "/proc/$PID") $(stat -c %u:%g data/fxbreaker.db)" \
	"$RUNAS $RUNAS"
procst() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$PID/status"; }
rootro() {
	awk '$5 == "/" { print ($6 ~ /^ro/) ? "ro" : "rw" }' \
		"/proc/$PID/mountinfo"
}
if [ $SANDBOX = 1 ]; then
	want="NoNewPrivs=1 CapEff=0000000000000000 CapBnd=0000000000000000 /=ro ledger=640"
else
	want="NoNewPrivs=1 CapEff=0000000000000000 CapBnd=$(procst CapBnd) /=$(rootro) ledger=644"
fi
check "  its sandbox (sandboxed: $SANDBOX)" \
	"NoNewPrivs=$(procst NoNewPrivs) CapEff=$(procst CapEff) CapBnd=$(procst CapBnd) /=$(rootro) ledger=$(stat -c %a data/fxbreaker.db)" \
	"$want"
check "installed fxbreakerctl: a tick" "$("$CTL" tick USD/KRW 1402.9)" ok
URL="ipc://$TMP/run/check.ipc"
check "the .so client: allow" \
	"$(LD_LIBRARY_PATH="$L" ./client_so "$URL" fx-wallet.USDKRW.buy 100.00)" \
	"decision=allow by_policy=0 error=0 reason= rule= kind= susp=0"
check "the .so client: a pair with no rate yet is denied by its stale rule" \
	"$(LD_LIBRARY_PATH="$L" ./client_so "$URL" fx-wallet.JPYKRW.buy 1000)" \
	"decision=deny by_policy=0 error=0 reason=no_rate rule=jpykrw-stale kind=stale susp=0"
check "the .a client: allow" \
	"$(./client_a "$URL" fx-wallet.USDKRW.sell 100.00)" \
	"decision=allow by_policy=0 error=0 reason= rule= kind= susp=0"
stop_daemon
check "the installed daemon stops: exit 0" "$STOP_RC" 0

# A second install leaves the operator's config alone.
echo "; the operator's own line" >>"$C"
sum=$(cksum <"$C")
inst install >install2.out 2>&1
check "a second install keeps /etc's config, and says so" \
	"$?:$(cksum <"$C"):$(grep -c "^kept $C " install2.out)" "0:$sum:1"

inst uninstall >uninstall.out 2>&1
check "make uninstall: exit 0, says what it keeps" \
	"$?:$(grep -c '^uninstall: kept .*/etc/fxbreaker .*/var/lib/fxbreaker .*fxbreaker user and group' uninstall.out)" \
	"0:1"
check "uninstall leaves only the operator's config" \
	"$(cd "$D" && find . \( -type f -o -type l \) | sort)" \
	"./etc/fxbreaker/fxbreaker.conf"
finish
