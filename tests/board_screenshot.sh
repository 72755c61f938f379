#!/bin/sh
# tests/board_screenshot.sh BUILD OUT.png: the README's picture of the
# board (make board-screenshot writes docs/board.png).  fxbreakerd runs on
# examples/fxbreaker.conf (its [service] pointed into a scratch
# directory, the board on 127.0.0.1:19452), the night of 2024-12-03 is
# replayed into it from 22:24:30 to 22:28:40 KST at the tape's own pace
# (about four minutes: the dollar's jump, the velocity trips, the band's
# limit state and trip), and chromium takes the board as it stands.
set -eu
BUILD=${1:-build}
OUT=${2:-docs/board.png}
ROOT=$(pwd)
PORT=19452
TMP=$(mktemp -d /tmp/fxb-board-shot.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID"; rm -rf "$TMP"' EXIT
awk -v tmp="$TMP" -v port="$PORT" '
/^\[/ { sect = $0 }
$0 == "[service]" {
	print
	print "data_dir = " tmp "/data"
	print "check_url = ipc://" tmp "/run/check.ipc"
	print "tick_url = ipc://" tmp "/run/tick.ipc"
	print "admin_url = ipc://" tmp "/run/admin.ipc"
	print "events_url = ipc://" tmp "/run/events.ipc"
	print "http_url = http://127.0.0.1:" port
	next
}
sect == "[service]" && /^(data_dir|[a-z]+_url) *=/ { next }
{ print }' examples/fxbreaker.conf >"$TMP/fx.conf"
"$ROOT/$BUILD/fxbreakerd" -f "$TMP/fx.conf" 2>"$TMP/daemon.log" &
PID=$!
i=0
until "$ROOT/$BUILD/fxbreakerctl" --config "$TMP/fx.conf" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat "$TMP/daemon.log"; exit 1; }
	sleep 0.1
done
# 2024-12-03 22:24:30 and 22:28:40 KST, in the tape's milliseconds.
python3 tests/board_test.py replay "ipc://$TMP/run/check.ipc" \
	examples/night-2024-12-03.tape 1733232270000 1733232520000
BOARD_PROFILE="$TMP/chromium" python3 tests/board_test.py screenshot \
	"http://127.0.0.1:$PORT" "$OUT" \
	"document.body.dataset.conn === 'live' && document.querySelectorAll('tr[data-suspension]').length > 0"
