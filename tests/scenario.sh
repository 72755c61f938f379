#!/bin/sh
# tests/scenario.sh BUILD DIR...: runs replay scenarios.  Each DIR holds
#   fxbreaker.conf   the config
#   tape.jsonl       the tape
#   expected.jsonl   the exact stdout of `replay --decisions`
#   expected.stderr  (optional) the exact stderr
#   expected.rc      (optional) the exit code, default 0
#   args             (optional) replay flags instead of --decisions
# The expected files are worked out by hand from RULES.md (each README.md
# says how); a scenario passes only on a byte-for-byte match.
set -u
build=$1
shift
ctl="$build/fxbreakerctl"
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "$@"; do
	dir=${dir%/}
	name=$(basename "$dir")
	args="--decisions"
	[ -f "$dir/args" ] && args=$(cat "$dir/args")
	want_rc=0
	[ -f "$dir/expected.rc" ] && want_rc=$(cat "$dir/expected.rc")
	# shellcheck disable=SC2086
	(cd "$dir" && "$OLDPWD/$ctl" replay --config fxbreaker.conf $args \
		tape.jsonl) >"$tmp/out" 2>"$tmp/err"
	rc=$?
	ok=1
	if [ "$rc" -ne "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc"
		ok=0
	fi
	if ! cmp -s "$tmp/out" "$dir/expected.jsonl"; then
		echo "FAIL $name: stdout differs (want, got):"
		diff "$dir/expected.jsonl" "$tmp/out" | head -n 20
		ok=0
	fi
	if [ -f "$dir/expected.stderr" ] && ! cmp -s "$tmp/err" "$dir/expected.stderr"; then
		echo "FAIL $name: stderr differs (want, got):"
		diff "$dir/expected.stderr" "$tmp/err" | head -n 5
		ok=0
	fi
	if [ "$ok" -eq 1 ]; then
		echo "ok $name"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
