#!/bin/sh
# tests/run_cluster.sh BUILD: `make run-cluster`, the three-node tour.
# Starts the three nodes of examples/cluster.conf in the foreground, from
# the repository root (the config's paths are relative to it: data in
# ./run-cluster/nodeN), each line of a node's log prefixed with its name.
# The log key is made once, in ./run-cluster, and copied to a node's
# data_dir that has none: every node signs checkpoints with the same key
# and never makes its own.  Ctrl-C (or SIGTERM) stops all three; one
# that dies before is said, and the others go on.
# CLUSTER_CONF=FILE runs another config laid out the same way.
BUILD=${1:-build}
CONF=${CLUSTER_CONF:-examples/cluster.conf}
D=./run-cluster
FXD=$BUILD/fxbreakerd
CTL=$BUILD/fxbreakerctl

mkdir -p "$D" || exit 1
if [ ! -f "$D/log.key" ]; then
	"$CTL" logkey "$D" || exit 1
fi
for n in 1 2 3; do
	"$CTL" validate "$CONF" --node $n >/dev/null || exit 1
	mkdir -p "$D/node$n"
	if [ ! -f "$D/node$n/log.key" ]; then
		cp "$D/log.key" "$D/log.pub" "$D/node$n/" || exit 1
	elif ! cmp -s "$D/log.pub" "$D/node$n/log.pub"; then
		echo "run-cluster: $D/node$n holds another log key than" \
			"$D/log.pub: remove $D to start over" >&2
		exit 1
	fi
done

PIDS=
stop() {
	trap - INT TERM EXIT
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -f "$D"/node?.out
	exit 0
}
trap stop INT TERM EXIT
for n in 1 2 3; do
	rm -f "$D/node$n.out"
	mkfifo "$D/node$n.out" || exit 1
	sed -u "s/^/node$n | /" <"$D/node$n.out" &
	"$FXD" -f "$CONF" --node $n >"$D/node$n.out" 2>&1 &
	PIDS="$PIDS $!"
done
echo "run-cluster: three nodes (pids$PIDS) on $CONF; a node's status:" \
	"$CTL status --url ipc://$D/node1/admin.ipc (or node2, node3);" \
	"Ctrl-C stops them" >&2
# Until Ctrl-C.  A node that dies (the tour kills the leader) is said
# once; the other two go on, and it may be started again by hand.
GONE=
while :; do
	n=0
	for p in $PIDS; do
		n=$((n + 1))
		case " $GONE " in *" $p "*) continue ;; esac
		kill -0 "$p" 2>/dev/null && continue
		GONE="$GONE $p"
		echo "run-cluster: node $n (pid $p) is gone; the others go on." \
			"Start it again in another terminal:" \
			"$FXD -f $CONF --node $n (Ctrl-C here stops the others)" >&2
	done
	sleep 1
done
