#!/bin/sh
# tests/run.sh BUILD: runs every test and ends with one line
# "N passed, N failed"; exits 1 if anything failed.
#
#   - the C unit tests (build/tests/*_test), each printing its own tally;
#   - the replay scenarios (tests/scenarios/*/): config, tape and the exact
#     expected output, computed by hand from RULES.md;
#   - the end-to-end scripts (tests/e2e_*.sh), each printing a tally.
#
# A single test: build/tests/breaker_test NAME, or
#   sh tests/scenario.sh build tests/scenarios/NAME
set -u
build=${1:-build}
# A test that hangs fails instead of hanging the run: each runs under
# timeout(1), which kills its whole process group (the test and the
# daemons it started) after this many seconds.  The slowest test takes
# about a minute under AddressSanitizer on two cores.
limit=${TEST_TIMEOUT:-900}
# run OUT CMD...: CMD's output into OUT; its status, said if it timed out.
run() {
	o=$1
	shift
	timeout -k 10 "$limit" "$@" </dev/null >"$o" 2>&1
	r=$?
	[ $r -eq 124 ] || [ $r -eq 137 ] &&
		echo "timed out after $limit s (TEST_TIMEOUT)" >>"$o"
	return $r
}
passed=0
failed=0
failed_names=""

tally() { # tally NAME OUTPUTFILE STATUS
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		failed_names="$failed_names $1(no-tally)"
		return
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ] || [ "$3" -ne 0 ]; then
		[ "$f" -eq 0 ] && failed=$((failed + 1))
		failed_names="$failed_names $1"
	fi
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$build"/tests/*_test; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	echo "== $name"
	run "$out" "$t"
	st=$?
	grep -v '^ok ' "$out"
	tally "$name" "$out" "$st"
done

echo "== scenarios"
run "$out" sh tests/scenario.sh "$build" tests/scenarios/*/
st=$?
grep -v '^ok ' "$out"
tally scenarios "$out" "$st"

for t in tests/e2e_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	echo "== $name"
	run "$out" sh "$t" "$build"
	st=$?
	grep -v '^ok ' "$out"
	tally "$name" "$out" "$st"
done

[ -n "$failed_names" ] && echo "failed in:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
