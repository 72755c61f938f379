#!/bin/sh
# e2e_clusterconf.sh BUILD: a cluster's configuration (issue 12), as the
# operator meets it, with no daemon started: examples/cluster.conf
# validates for each of its three nodes and names where each keeps its
# data and answers checks; its rules are examples/fxbreaker.conf's,
# byte for byte; `fxbreakerd -n --node ID` checks a node as a start
# would, and refuses a node the file does not name, a cluster's file
# with no node, and --node on a one-node file; an even number of voters
# is a warning, in both; a bad --node is a usage error.
. "$(dirname "$0")/lib_e2e.sh"

EX="$ROOT/examples/cluster.conf"
cp "$EX" cluster.conf
# The daemon's lines carry a time: keep what follows it.
untime() { sed 's/^[^ ]* fxbreakerd: /fxbreakerd: /'; }

for n in 1 2 3; do
	check "validate --node $n" \
		"$("$CTL" validate cluster.conf --node $n 2>&1; echo "rc=$?")" \
		"cluster.conf: node $n: check_url tcp://127.0.0.1:971$n, data_dir ./run-cluster/node$n
cluster.conf: ok: 3 pairs, 8 products, 29 rules, 5 notices
rc=0"
	check "fxbreakerd -n --node $n" \
		"$("$FXD" -n --node $n -f cluster.conf 2>&1 | untime; echo "rc=$?")" \
		"cluster.conf: ok
rc=0"
done
check "validate without --node: the whole file" \
	"$("$CTL" validate cluster.conf 2>&1; echo "rc=$?")" \
	"cluster.conf: ok: 3 pairs, 8 products, 29 rules, 5 notices
rc=0"
check "validate --node 4: no such peer (exit 2)" \
	"$("$CTL" validate cluster.conf --node 4 2>&1; echo "rc=$?")" \
	"cluster.conf: --node 4: no [peer 4] (the file's peers: 1 2 3)
rc=2"
check "validate --node 0: usage (exit 3)" \
	"$("$CTL" validate cluster.conf --node 0 2>&1; echo "rc=$?")" \
	"fxbreakerctl: --node 0: a peer's id, a number from 1 to 65535
rc=3"
check "validate --nod 1: usage (exit 3)" \
	"$("$CTL" validate cluster.conf --nod 1 2>&1; echo "rc=$?")" \
	"usage: fxbreakerctl validate FILE [--node ID]
rc=3"

# The rules: a copy of the one-node example's, from its notices on.
sed -n '/^; Customer notices\./,$p' "$ROOT/examples/fxbreaker.conf" >one.rules
sed -n '/^; Customer notices\./,$p' cluster.conf >cluster.rules
check "the rules are examples/fxbreaker.conf's" \
	"$(cmp one.rules cluster.rules 2>&1; echo "rc=$?"; wc -l <one.rules)" \
	"rc=0
$(wc -l <one.rules)"
check "  and there are rules to compare" \
	"$(grep -c '^\[rule ' cluster.rules)" 29

check "fxbreakerd -n, no node: exit 2" \
	"$("$FXD" -n -f cluster.conf 2>&1 | untime)" \
	"fxbreakerd: error: cluster.conf: no node: set [cluster] node_id or start with --node ID"
"$FXD" -n -f cluster.conf >/dev/null 2>&1
check "  exit code" "$?" 2
check "fxbreakerd --node 9: no such peer, not starting (exit 2)" \
	"$("$FXD" --node 9 -f cluster.conf 2>&1 | untime)" \
	"fxbreakerd: error: cluster.conf: --node 9: no [peer 9] (the file's peers: 1 2 3)
fxbreakerd: error: not starting (exit 2)"
check "fxbreakerd --node abc: usage (exit 100)" \
	"$("$FXD" --node abc -f cluster.conf 2>&1; echo "rc=$?")" \
	"fxbreakerd: --node abc: a peer's id, a number from 1 to 65535
rc=100"

# [cluster] node_id is the default node; --node overrides it.
sed 's/^;node_id = 1$/node_id = 3/' cluster.conf >node3.conf
check "node_id = 3 selects peer 3" \
	"$("$CTL" validate node3.conf --node 3 2>&1 | head -n 1)" \
	"node3.conf: node 3: check_url tcp://127.0.0.1:9713, data_dir ./run-cluster/node3"
check "fxbreakerd -n with node_id, no --node" \
	"$("$FXD" -n -f node3.conf 2>&1 | untime; echo "rc=$?")" \
	"node3.conf: ok
rc=0"

# A one-node file takes no --node.
service_conf >one.conf
check "fxbreakerd -n --node 1 on a one-node file: exit 2" \
	"$("$FXD" -n --node 1 -f one.conf 2>&1 | untime)" \
	"fxbreakerd: error: one.conf: --node 1: the file has no [cluster] (one node: start without --node)"

# Four voters: a warning, and still valid.
{
	cat cluster.conf
	printf '%s\n' '[peer 4]' 'raft_address = 127.0.0.1:9704' \
		'check_url = tcp://127.0.0.1:9714' 'data_dir = ./run-cluster/node4'
} >four.conf
check "four voters: validate warns, exit 0" \
	"$("$CTL" validate four.conf 2>&1; echo "rc=$?")" \
	"fxbreakerctl: warning: 4 voters: an even number tolerates no more failures than one fewer (3 or 5 is the usual)
four.conf: ok: 3 pairs, 8 products, 29 rules, 5 notices
rc=0"
check "four voters: fxbreakerd -n warns, exit 0" \
	"$("$FXD" -n --node 4 -f four.conf 2>&1 | untime; echo "rc=$?")" \
	"fxbreakerd: warning: four.conf: 4 voters: an even number tolerates no more failures than one fewer (3 or 5 is the usual)
four.conf: ok
rc=0"

# A mistake in a peer is named by file and line, by both tools.
sed 's/^raft_address = 127.0.0.1:9702$/raft_address = 127.0.0.1:9701/' \
	cluster.conf >dup.conf
line=$(grep -n '^raft_address = 127.0.0.1:9701$' dup.conf | sed -n 2p | cut -d: -f1)
first=$(grep -n '^\[peer 1\]$' dup.conf | cut -d: -f1)
want="dup.conf:$line: [peer 2] raft_address: also [peer 1]'s (line $first): each node needs its own (\"127.0.0.1:9701\")"
check "validate: a raft_address twice" \
	"$("$CTL" validate dup.conf 2>&1; echo "rc=$?")" "$want
rc=2"
check "fxbreakerd -n: the same words" \
	"$("$FXD" -n --node 1 -f dup.conf 2>&1 | untime | head -n 1)" \
	"fxbreakerd: error: $want"
finish
