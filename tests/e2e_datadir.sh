#!/bin/sh
# e2e_datadir.sh BUILD: one fxbreakerd per data_dir (docs/OPERATIONS.md
# "One daemon per data directory").  A second daemon on the same data_dir
# is refused before it opens the ledger or any socket: with other sockets
# (it would otherwise start and take the first's sequence numbers) and
# with the same sockets (it would otherwise probe the first's check
# socket).  The first keeps serving; once it stops a new one starts; a
# SIGKILLed daemon's lock file does not block a restart (the kernel drops
# the flock); `fxbreakerd -n` takes no lock; the log verifies, one
# service_start per start, no sequence number twice.
. "$(dirname "$0")/lib_e2e.sh"

write_conf() { # write_conf FILE RUNDIR
	{
		service_conf | sed "s|$TMP/run/|$TMP/$2/|"
		cat <<'EOF2'
[pair USD/KRW]
[product wallet]
pair = USD/KRW
[rule vol]
product = wallet
kind = volume
window = 60s
trip = 3
suspend_for = 1h
EOF2
	} >"$TMP/$1"
}
write_conf fx.conf run
write_conf fx2.conf run2
LOCK="$TMP/data/fxbreakerd.lock"

start_daemon || exit 1
FIRST=$PID
check "the lock file holds the first daemon's pid" "$(cat "$LOCK")" "$FIRST"
# Three checks trip the volume rule: the first daemon holds a suspension.
for r in a b c; do
	req "{\"op\":\"check\",\"product\":\"wallet\",\"amount\":\"1.00\",\"ref\":\"$r\"}" >/dev/null
done
SUSP=$(sql "select seq from suspension_log where event='trip'")
check "a trip row" "$SUSP" 2
SOCK_INODE=$(stat -c %i "$TMP/run/check.ipc")

# refused NAME CONF: a second daemon on CONF; its exit status and the
# line that says why.
refused() {
	"$FXD" -f "$TMP/$2" >"$1.out" 2>&1 &
	p=$!
	# It must exit on its own, at once; a daemon that serves is a
	# failure (killed after 10 s so the test ends).
	i=0
	while kill -0 $p 2>/dev/null && [ $i -lt 200 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	kill -KILL $p 2>/dev/null
	wait $p
	echo $?
}
WHY="fxbreakerd: error: $TMP/data is in use by another fxbreakerd (pid $FIRST \
holds $LOCK): one daemon per data directory"

# --- same data_dir, other sockets --------------------------------------
rc=$(refused other fx2.conf)
check "other sockets: exit 111" "$rc" 111
check "other sockets: the error names the holder's pid and the lock file" \
	"$(sed 's/^[0-9TZ:.-]* //' other.out)" "$WHY
fxbreakerd: error: not starting (exit 111)"
check "other sockets: no socket directory made" \
	"$(ls -d "$TMP/run2" 2>&1 | sed "s|$TMP/||")" \
	"ls: cannot access 'run2': No such file or directory"

# --- same data_dir, same sockets ----------------------------------------
rc=$(refused same fx.conf)
check "same sockets: exit 111" "$rc" 111
check "same sockets: the same error" "$(sed 's/^[0-9TZ:.-]* //' same.out)" "$WHY
fxbreakerd: error: not starting (exit 111)"
check "same sockets: the check socket is the first's, untouched" \
	"$(stat -c %i "$TMP/run/check.ipc")" "$SOCK_INODE"
check "the first still answers a check (its suspension)" \
	"$(req '{"op":"check","product":"wallet","amount":"1.00","ref":"d"}' |
		jq -c '{decision, suspension, ref}')" \
	"{\"decision\":\"deny\",\"suspension\":$SUSP,\"ref\":\"d\"}"
check "the first's ledger is ok" "$("$CTL" status --json | json .ledger.state)" ok
check "the lock file still names the first" "$(cat "$LOCK")" "$FIRST"

# --- fxbreakerd -n takes no lock ----------------------------------------
n_out=$("$FXD" -n -f "$TMP/fx.conf" 2>&1)
check "-n beside a running daemon: exit 0" "$?" 0
check "-n says ok" "$n_out" "$TMP/fx.conf: ok"

check "one service_start: the refused daemons wrote nothing" \
	"$(sql "select count(*) from suspension_log where event='service_start'")" 1

# --- after the first stops, a new one starts (the other sockets) ------
stop_daemon
check "the first stops cleanly" "$STOP_RC" 0
"$FXD" -f "$TMP/fx2.conf" 2>>"$TMP/daemon.log" &
PID=$!
wait_for "$CTL" status --config "$TMP/fx2.conf" >/dev/null 2>&1
check "a second daemon starts once the first stopped" \
	"$("$CTL" status --config "$TMP/fx2.conf" --json 2>&1 |
		jq -r .ledger.state)" ok
check "it holds the lock" "$(cat "$LOCK")" "$PID"
check "it restored the suspension" \
	"$(nngcat --req --dial "ipc://$TMP/run2/check.ipc" --ascii \
		--data '{"op":"check","product":"wallet","amount":"1.00"}' |
		jq -c '{decision, suspension}')" \
	"{\"decision\":\"deny\",\"suspension\":$SUSP}"
stop_daemon

# --- a SIGKILLed daemon leaves its pid in the file, not its lock ------
start_daemon || exit 1
DEAD=$PID
kill_daemon
check "after SIGKILL the file still names the dead daemon" \
	"$(cat "$LOCK")" "$DEAD"
if start_daemon; then
	ok "a restart after SIGKILL is not blocked by the stale file"
else
	fail "a restart after SIGKILL is not blocked by the stale file" \
		"$(tail -n 3 "$TMP/daemon.log")"
fi
check "the restarted daemon's pid is in the file" "$(cat "$LOCK")" "$PID"
check "and it serves (the suspension restored)" \
	"$(req '{"op":"check","product":"wallet","amount":"1.00"}' |
		jq -c '{decision, suspension}')" \
	"{\"decision\":\"deny\",\"suspension\":$SUSP}"
stop_daemon

# --- the log: one service_start per start, dense seqs, verifies ------
check "four starts logged" \
	"$(sql "select count(*) from suspension_log where event='service_start'")" 4
check "no seq twice, none missing" \
	"$(sql "select count(*) = count(distinct seq) and max(seq) = count(*) from suspension_log")" 1
"$CTL" export --db "$TMP/data/fxbreaker.db" snap.db >/dev/null
out=$("$CTL" verify --pubkey "$TMP/data/log.pub" snap.db)
check "verify: exit 0" "$?" 0
check "verify: ok" "$(echo "$out" | tail -n 1 | cut -d' ' -f1-2)" "verdict: ok"
finish
