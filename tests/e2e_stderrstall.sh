#!/bin/sh
# e2e_stderrstall.sh BUILD: a stderr that nobody reads cannot silence the
# service (daemon/daemon_log.c).  The daemon's stderr is a FIFO whose
# reader never reads; 12,000 refused admin requests (one stderr line each,
# no row) fill the pipe and the log's buffer.  Checks must still be
# answered, a trip must still be written to the log and quoted in its
# deny, and once the reader reads, the lines dropped meanwhile are counted
# on stderr.  Without the buffer the log writer blocks on its first line
# and the trip's deny never comes.
. "$(dirname "$0")/lib_e2e.sh"

{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[product w]
pair = USD/KRW
[rule w-vol]
product = w
kind = volume
window = 1h
trip = 3
suspend_for = 1h
EOF2
} >"$TMP/fx.conf"

# The reader holds the FIFO open and reads nothing until told (a file
# appearing), then copies everything to err.txt.
mkfifo err.fifo
python3 - "$TMP" <<'EOF' &
import os, sys, time
tmp = sys.argv[1]
fd = os.open(tmp + "/err.fifo", os.O_RDONLY)
while not os.path.exists(tmp + "/read.now"):
    time.sleep(0.05)
with open(tmp + "/err.txt", "wb") as out:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out.write(b)
        out.flush()
EOF
READER=$!
"$FXD" -f "$TMP/fx.conf" 2>err.fifo &
PID=$!
serving() { "$CTL" status >/dev/null 2>&1; }
wait_for serving
check "the daemon serves with its stderr unread" "$("$CTL" status >/dev/null 2>&1; echo $?)" 0

# 12,000 lines of about 170 bytes: 2 MB, more than a pipe (64 KiB) and
# the log's buffer (1 MiB) together.
# One REQ socket over Debian's libnng (ctypes, as docs/PROTOCOL.md's
# example): nngcat sends at most one request a second.
python3 - "ipc://$TMP/run/admin.ipc" >refused.out <<'EOF'
import ctypes, sys
nng = ctypes.CDLL("libnng.so.1")
sock = ctypes.c_uint32()
assert nng.nng_req0_open(ctypes.byref(sock)) == 0
assert nng.nng_dial(sock, sys.argv[1].encode(), None, 0) == 0
# A daemon stalled on its stderr answers nothing: give up after 5 s.
assert nng.nng_socket_set_ms(sock, b"recv-timeout", 5000) == 0
req = b'{"op":"nope"}'
answered = 0
for _ in range(12000):
    assert nng.nng_send(sock, req, len(req), 0) == 0
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    if nng.nng_recv(sock, ctypes.byref(buf), ctypes.byref(size), 1) != 0:
        break
    if b'"name":"unknown_op"' in ctypes.string_at(buf, size.value):
        answered += 1
    nng.nng_free(buf, size)
print(answered)
EOF
check "every refused request was answered" "$(cat refused.out)" 12000

# Checks with the pipe full: the third trips and its deny quotes the row.
for i in 1 2; do
	check "check $i with stderr full: allow" \
		"$(timeout 10 "$CTL" check w 1.00 2>&1)" allow
done
trip=$(timeout 10 "$CTL" check --json w 1.00 | jq -r .suspension)
check "the trip's deny quotes its row" "$(sql "select event from suspension_log where seq = $trip")" trip
check "status: the ledger is fine, nothing queued" \
	"$(timeout 10 "$CTL" status --json | jq -r '"\(.ledger.state) \(.ledger.queued)"')" "ok 0"

# The reader reads again: the backlog, then the count of what was lost.
touch read.now
dropped() { grep -q 'log lines dropped: stderr was not being read' err.txt 2>/dev/null; }
wait_for dropped
n=$(sed -n 's/.*warning: \([0-9]*\) log lines dropped.*/\1/p' err.txt | head -n 1)
# Every line was written or counted: the 12,000 refusals and the trip's
# row (whose line came while the buffer was full).
kept=$(grep -c -e 'event=admin_refused' -e "event=trip seq=$trip " err.txt)
check "the lines dropped are counted" "$([ "${n:-0}" -gt 0 ] && echo yes)" yes
check "  written and dropped make every line" "$((n + kept))" 12001
check "the service's own lines after the stall are written" \
	"$("$CTL" check w 1.00 >/dev/null; kill -HUP "$PID"; wait_for grep -q 'event=config_reload' err.txt; echo $?)" 0
stop_daemon
check "a clean stop" "$STOP_RC" 0
wait "$READER"
finish
