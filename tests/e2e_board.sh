#!/bin/sh
# e2e_board.sh BUILD: the live board in a real browser (Debian's chromium,
# headless, over the DevTools pipe: tests/board_test.py).  A real daemon
# with http_url; checks trip volume rule v on product w; the board must
# show the suspension (product, rule, id, until: the deny's own values)
# within 2 s, drop it within 2 s of a signed reset, and raise its red
# banner when the daemon is killed; the page must throw nothing and log
# no error.  Screenshots: BUILD/board.png, BUILD/board-lost.png.  KEEP=1
# prints the daemon's stderr at the end.
. "$(dirname "$0")/lib_e2e.sh"

if ! command -v chromium >/dev/null 2>&1; then
	fail "chromium is installed" "not found (make deps installs it)"
	finish
	exit 1
fi
PORT=19451
{
	operator_key alice alice
	operator_key bob bob
} >"$TMP/operators"
chmod 644 "$TMP/operators"
{
	service_conf
	cat <<EOF2
http_url = http://127.0.0.1:$PORT
operators_file = $TMP/operators
notice_utc_offset = +09:00
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[rule b]
pair = USD/KRW
kind = band
window = 60s
band_pct = 1
ref_move_pct = 1
ref_min_life = 30s
limit_for = 5s
suspend_for = 10m
[rule vel]
pair = USD/KRW
kind = velocity
window = 30s
max_move = 20
suspend_for = 10m
[pair EUR/KRW]
[product e]
pair = EUR/KRW
[rule st]
pair = EUR/KRW
kind = stale
max_age = 1h
[rule v]
product = w
kind = volume
window = 60s
trip = 2
suspend_for = 10m
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1

BOARD_PROFILE="$TMP/chromium" python3 "$ROOT/tests/board_test.py" test \
	"http://127.0.0.1:$PORT" "$TMP" "$CTL" "$PID" "$ROOT/$BUILD" \
	>"$TMP/board.out" 2>&1
cat "$TMP/board.out" | grep -v '^[0-9]* passed, [0-9]* failed$'
p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TMP/board.out")
f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TMP/board.out")
if [ -z "$p" ]; then
	fail "the browser test printed its tally" "$(tail -n 5 "$TMP/board.out")"
else
	passed=$((passed + p))
	failed=$((failed + f))
fi
# The browser test killed the daemon: nothing to stop.
wait "$PID" 2>/dev/null
PID=
[ -n "${KEEP:-}" ] && { cat "$TMP/daemon.log"; }
finish
