#!/bin/sh
# e2e_python.sh BUILD: the Python example of docs/PROTOCOL.md ("Calling
# from Python and Java"), taken from the document itself (the block
# between its python-example markers) and run against the real daemon
# over ipc:// and over tcp://, through Debian's libnng.so.1 with ctypes:
# an allow, the tripping deny and a settled one quoting the trip row's
# seq, error replies, no daemon (cannot connect), and a daemon stopped by
# SIGSTOP after the connection (no answer in time).  What it prints is
# compared exactly.
. "$(dirname "$0")/lib_e2e.sh"

PORT=19553
if [ ! -e /usr/lib/x86_64-linux-gnu/libnng.so.1 ] &&
	! ldconfig -p 2>/dev/null | grep -q 'libnng\.so\.1 '; then
	fail "libnng.so.1" "not installed (Debian's libnng1; make deps)"
	finish
	exit 1
fi
sed -n '/^<!-- python-example: begin/,/^<!-- python-example: end/p' \
	"$ROOT/docs/PROTOCOL.md" | sed '1,2d;$d' | sed '$d' >fxb_check.py
check "the block is the whole example (fences and markers left out)" \
	"$(head -n 1 fxb_check.py) | $(tail -n 1 fxb_check.py | sed 's/^ *//')" \
	'#!/usr/bin/env python3 | ("reason", "rule", "suspension") if k in r))'
check "it compiles" "$(python3 -m py_compile fxb_check.py 2>&1; echo $?)" 0

write_conf() {
	{
		service_conf | sed "s|^check_url = .*|check_url = $1|"
		cat <<'EOF2'
[pair USD/KRW]
[product p]
pair = USD/KRW
[product w]
pair = USD/KRW
[rule v]
product = w
kind = volume
window = 1h
trip = 2
suspend_for = 0
EOF2
	} >"$TMP/fx.conf"
}

# run_on NAME URL: the same calls on a fresh daemon and ledger at URL.
run_on() {
	rm -rf "$TMP/data"
	write_conf "$2"
	start_daemon || return 1
	got=$(python3 fxb_check.py "$2" p 100.00 1.001 2>&1)
	check "$1: allow, and a bad amount is an error reply" "$got" \
		"allow
deny (error 4 precision)"
	got=$(python3 fxb_check.py "$2" w 1.00 1.00 1.00 2>&1)
	n=$(sql "select seq from suspension_log where event='trip'")
	check "$1: the trip, then a settled deny, quoting the trip row ($n)" "$got" \
		"allow
deny reason=suspended rule=v suspension=$n
deny reason=suspended rule=v suspension=$n"
	check "$1: an unknown product" "$(python3 fxb_check.py "$2" nope 1.00 2>&1)" \
		"deny (error 6 unknown_product)"
	# Connected, then the daemon stopped: the next check times out.
	got=$(python3 -c '
import os, signal, sys
sys.path.insert(0, ".")
import fxb_check
c = fxb_check.Client(sys.argv[1], 500)
print(c.check("p", "1.00")["decision"])
pid = int(sys.argv[2])
os.kill(pid, signal.SIGSTOP)
# Delivered asynchronously: wait until every thread has stopped.
while any(open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()[0] != "T"
          for t in os.listdir(f"/proc/{pid}/task")):
    pass
try:
    print("answered:", c.check("p", "1.00"))
except TimeoutError as e:
    print("TimeoutError:", e)
os.kill(int(sys.argv[2]), signal.SIGCONT)
' "$2" "$PID" 2>&1)
	check "$1: SIGSTOP after connecting: TimeoutError, no answer in time" "$got" \
		"allow
TimeoutError: no answer in time (receive)"
	stop_daemon
	check "$1: the daemon stops cleanly" "$STOP_RC" 0
	python3 fxb_check.py "$2" p 1.00 >out.txt 2>err.txt
	check "$1: no daemon: cannot connect, exit 1, a deny" \
		"$? $(cat out.txt)$(cat err.txt)" \
		"1 deny (fail closed): cannot connect: Connection refused"
}

run_on "ipc://" "ipc://$TMP/run/check.ipc"
run_on "tcp://" "tcp://127.0.0.1:$PORT"
finish
