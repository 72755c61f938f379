#!/bin/sh
# bench/engine_compare.sh BUILD [BASE]: the engine's check and tick cost
# (bench_engine) three ways in one run, alternated round by round so that
# a noisy machine weighs on all three alike:
#   base      the engine before calendars (RULES.md 9), built from git
#             commit BASE (default: the last one before them)
#   now       this tree's engine, on the same config (no calendar)
#   calendar  this tree's engine with every product on opening hours, its
#             volume rule on levels by session and a plan pending on one
#             pair (bench_engine --calendar)
# and prints the medians and the ratios now/base (no slowdown for configs
# without calendars) and calendar/now (what section 9 costs a check).
set -eu
B=${1:-build}
BASE=${2:-ed60c88}
ROUNDS=${ENGINE_COMPARE_ROUNDS:-3}
SIZES="10 100000"
WT=$(mktemp -d /tmp/fxb-engine-base.XXXXXX)
cleanup() {
	git worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The base engine's bench, built as the base tree builds it (nng is only
# headers here: the built one is borrowed).
git worktree add --detach "$WT" "$BASE" >/dev/null 2>&1
mkdir -p "$WT/build"
cp -a "$B/nng" "$WT/build/nng"
touch "$WT/build/nng/prefix/.stamp"
make -C "$WT" -s build/bench/bench_engine >/dev/null
OLD="$WT/build/bench/bench_engine"
NEW="$B/bench/bench_engine"

: >"$WT/keys"
r=1
while [ $r -le "$ROUNDS" ]; do
	"$OLD" $SIZES | sed -n 's/^engine_\(check\|tick\)_ns_\([0-9]*\)=/base_\1_\2 /p' >>"$WT/keys"
	"$NEW" $SIZES | sed -n 's/^engine_\(check\|tick\)_ns_\([0-9]*\)=/now_\1_\2 /p' >>"$WT/keys"
	"$NEW" --calendar $SIZES | sed -n 's/^engine_\(check\|tick\)_ns_\([0-9]*\)=/cal_\1_\2 /p' >>"$WT/keys"
	r=$((r + 1))
done
med() { # the median of key $1's values over the rounds
	awk -v k="$1" '$1 == k { print $2 }' "$WT/keys" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "engine ns (uniform), median of $ROUNDS alternated runs; base = $BASE"
printf '%-14s %10s %10s %10s %12s %12s\n' figure base now calendar now/base cal/now
for what in check tick; do
	for n in $SIZES; do
		b=$(med base_${what}_$n)
		w=$(med now_${what}_$n)
		c=$(med cal_${what}_$n)
		printf '%-14s %10s %10s %10s %12s %12s\n' "$what $n" "$b" "$w" "$c" \
			"$(ratio "$w" "$b")" "$(ratio "$c" "$w")"
		echo "engine_${what}_now_over_base_$n=$(ratio "$w" "$b")"
		echo "engine_${what}_calendar_over_now_$n=$(ratio "$c" "$w")"
	done
done
