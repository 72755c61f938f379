#!/bin/sh
# e2e_board.sh BUILD: the live board in a real browser (Debian's chromium,
# headless, over the DevTools pipe: tests/board_test.py).  A real daemon
# with http_url; checks trip volume rule v on product w; the board must
# show the suspension (product, rule, id, until: the deny's own values)
# within 2 s, drop it within 2 s of a signed reset, list two suspensions
# on one pair (a velocity trip and a forced pair) each with its products,
# show the amber note (not the red banner) when the stream's 32 places
# are taken, and raise its red banner when the daemon is killed; the page
# must throw nothing and log no error.  Then a second daemon: a velocity
# trip and a stale trip on one pair, both listed.  Screenshots:
# BUILD/board.png, BUILD/board-refused.png, BUILD/board-lost.png.  KEEP=1
# prints the daemons' stderr at the end.
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
max_move = 10
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
browser_tally "$TMP/board.out"
# The browser test killed the daemon (unless it stopped short).
kill_daemon

# The second daemon: a velocity trip, then the same pair goes stale.
PORT2=19452
{
	service_conf | sed "s|^data_dir = .*|data_dir = $TMP/data2|"
	cat <<EOF2
http_url = http://127.0.0.1:$PORT2
[pair USD/KRW]
[product w]
pair = USD/KRW
[product x]
pair = USD/KRW
[rule vel]
pair = USD/KRW
kind = velocity
window = 30s
max_move = 10
suspend_for = 10m
[rule st]
pair = USD/KRW
kind = stale
max_age = 2s
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
BOARD_PROFILE="$TMP/chromium2" python3 "$ROOT/tests/board_test.py" stale \
	"http://127.0.0.1:$PORT2" "$TMP" >"$TMP/board2.out" 2>&1
browser_tally "$TMP/board2.out"
[ -n "${KEEP:-}" ] && { cat "$TMP/daemon.log"; }
finish
