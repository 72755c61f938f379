#!/bin/sh
# e2e_http.sh BUILD: the read-only HTTP side (ipc/ipc_http.c) through
# tests/http_serve with real HTTP clients (tests/http_check.py): a route's
# body and headers, 405 for other methods, 404, the Host pinned (421), the
# event stream's hello, broadcasts, keepalives, a closed client noticed, a
# client that reads nothing dropped while the broadcaster never waits,
# routes one at a time with at most 64 waiting (503 beyond),
# the client cap, and refused addresses.  Port 19400-19401.
. tests/lib_e2e.sh

out=$(python3 "$ROOT/tests/http_check.py" "$ROOT/$BUILD/tests/http_serve" 19400 2>&1)
echo "$out"
passed=$((passed + $(echo "$out" | grep -c '^ok ')))
failed=$((failed + $(echo "$out" | grep -c '^FAIL ')))
# A check script that died part way has fewer lines than it should.
n=$(echo "$out" | grep -cE '^(ok|FAIL) ')
if [ "$n" -ne 56 ]; then fail "http_check complete" "$n checks ran, not 56"; fi

finish
