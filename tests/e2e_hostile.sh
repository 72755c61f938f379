#!/bin/sh
# e2e_hostile.sh BUILD: the red team's hostile JSON (issue 9), each on the
# check socket of the real daemon, each answered with its documented error
# (docs/PROTOCOL.md) or, past the 64 KiB receive cap, dropped with its
# connection; after each the daemon still answers, and nothing reached the
# log.  tests/fuzz/fuzz_wire.c covers the same parser with generated
# inputs; this keeps the red team's own cases.
. "$(dirname "$0")/lib_e2e.sh"
{
	service_conf
	cat <<'EOF2'
[pair USD/KRW]
[product w]
pair = USD/KRW
EOF2
} >"$TMP/fx.conf"
start_daemon || exit 1
# send FILE: the reply's error name ("" when no reply came).
send() {
	timeout 5 nngcat --req --dial "ipc://$TMP/run/check.ipc" --file "$1" \
		--ascii --recv-timeout 2 2>/dev/null | jq -r .error.name 2>/dev/null
}
alive() { check "$1: still serving" "$(req '{"op":"ping"}' | json .ok)" true; }
py() { python3 -c "import sys; sys.stdout.buffer.write($1)" >"$2"; }

py 'b"["*100000' deep.msg
check "100,000-deep nesting (over the cap): no reply" "$(send deep.msg)" ""
alive "100,000-deep nesting"
py 'b"{\"op\":\"check\",\"product\":" + b"["*30000 + b"]"*30000 + b"}"' \
	deep30k.msg
check "30,000-deep nesting (under the cap): syntax" "$(send deep30k.msg)" \
	syntax
alive "30,000-deep nesting"
py 'b"{\"op\":\"check\",\"product\":\"" + b"x"*10000000 + b"\",\"amount\":\"1\"}"' \
	big.msg
check "10 MB string: no reply" "$(send big.msg)" ""
alive "10 MB string"
py 'b"{\"op\":\"check\",\"product\":\"w\\x00\",\"amount\":\"1\"}"' nul.msg
check "raw NUL in a string: syntax" "$(send nul.msg)" syntax
py 'b"{\"op\":\"check\",\"product\":\"w\\u0000\",\"amount\":\"1\"}"' \
	unul.msg
check "escaped NUL (\\u0000): syntax" "$(send unul.msg)" syntax
py 'b"{\"op\":\"check\",\"product\":\"\\xc0\\xaf\",\"amount\":\"1\"}"' \
	utf8.msg
check "bad UTF-8 (overlong): syntax" "$(send utf8.msg)" syntax
py 'b"{\"op\":\"check\",\"product\":\"\\xed\\xa0\\x80\",\"amount\":\"1\"}"' \
	surr.msg
check "bad UTF-8 (a surrogate): syntax" "$(send surr.msg)" syntax
py 'b"{\"op\":\"check\",\"product\":\"w\",\"amount\":\"1\",\"amount\":\"2\"}"' \
	dup.msg
check "duplicate key: syntax" "$(send dup.msg)" syntax
py 'b"{\"op\":\"check_batch\",\"checks\":[" + b",".join([b"{\"product\":\"w\",\"amount\":\"1\"}"]*1000000) + b"]}"' \
	batch.msg
check "1,000,000-check batch (over the cap): no reply" "$(send batch.msg)" ""
py 'b"{\"op\":\"check_batch\",\"checks\":[" + b",".join([b"{}"]*20000) + b"]}"' \
	batch20k.msg
check "20,000-entry batch (under the cap): range" "$(send batch20k.msg)" \
	range
alive "after everything"
check "nothing hostile reached the log" \
	"$(sql "select count(*) from suspension_log where event not like 'service%'")" 0
stop_daemon
check "clean stop: exit 0" "$STOP_RC" 0
finish
