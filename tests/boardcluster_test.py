#!/usr/bin/env python3
"""boardcluster_test.py: a cluster node's board in a real browser.

    boardcluster_test.py CPORT HPORT TMP LEADER PID1 PID2 PID3

tests/e2e_boardcluster.sh's browser part, on three running nodes (node N:
check socket tcp://127.0.0.1:CPORT+N, board http://127.0.0.1:HPORT+N,
admin socket ipc://TMP/runN/admin.ipc, ledger TMP/nN/fxbreaker.db), node
LEADER leading.  Headless chromium over the DevTools pipe (board_test.py's
Browser).  Asserts that:
  - the leader's board shows node LEADER as leader, its check URL and its
    term in the header, no follower note, and its leader_elected row
    (the ledger's seq) in the latest events;
  - a follower's board shows role follower and the amber note naming the
    leader and its check URL;
  - once the leader is SIGKILLed, that follower's open board names the
    new leader (the one the survivors' status names) within 3 s, and the
    new leader's board lists the leader_elected row of the new term;
  - no page threw or logged an error.
Prints "ok NAME" or "FAIL NAME: WHY" per check, then the tally.
"""
import json
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import board_test as bt  # noqa: E402


def status(tmp, n):
    r = bt.nng_req("ipc://%s/run%d/admin.ipc" % (tmp, n), '{"op":"status"}')
    try:
        return json.loads(r).get("cluster", {})
    except ValueError:
        return {}


def elected_rows(tmp, n):
    """(seq, node, term) of node n's leader_elected rows, oldest first."""
    db = sqlite3.connect("file:%s/n%d/fxbreaker.db?mode=ro" % (tmp, n),
                         uri=True)
    try:
        rows = db.execute("SELECT seq, detail FROM suspension_log WHERE "
                          "event = 'leader_elected' ORDER BY seq").fetchall()
    finally:
        db.close()
    out = []
    for seq, detail in rows:
        d = json.loads(detail)
        out.append((seq, d.get("node"), d.get("term")))
    return out


HEADER = ("JSON.stringify({role: document.body.dataset.role || null,"
          " node: document.getElementById('c-node').textContent,"
          " pill: document.getElementById('c-role').textContent,"
          " leader: document.getElementById('c-leader').textContent,"
          " term: document.getElementById('c-term').textContent,"
          " shown: !document.getElementById('cluster').hidden,"
          " note: getComputedStyle(document.getElementById('follower'))"
          ".display !== 'none' ?"
          " document.getElementById('follower').textContent : null,"
          " suspensions: getComputedStyle(document.getElementById("
          "'leading')).display !== 'none',"
          " elsewhere: getComputedStyle(document.getElementById("
          "'not-leading')).display !== 'none',"
          " seq: document.getElementById('committed-lbl').textContent +"
          " ' ' + document.getElementById('committed').textContent,"
          " conn: document.body.dataset.conn})")


def header(b):
    return json.loads(b.eval(HEADER))


# The seq of the newest leader_elected row the latest events list (0:
# none).
NEWEST_ELECTED = ("(function () { var r = document.querySelector("
                  "'#events tr[data-event=\"leader_elected\"]'); "
                  "return r ? Number(r.dataset.seq) : 0; })()")


def run(cport, hport, tmp, leader, pids):
    url = lambda n: "http://127.0.0.1:%d/" % (hport + n)  # noqa: E731
    curl = lambda n: "tcp://127.0.0.1:%d" % (cport + n)  # noqa: E731
    followers = [n for n in (1, 2, 3) if n != leader]
    term = status(tmp, leader).get("term")

    # The leader's board.
    b = bt.Browser()
    try:
        b.navigate(url(leader))
        v, _ = b.wait("document.body.dataset.role === 'leader' && "
                      "document.body.dataset.conn === 'live'", 10)
        h = header(b)
        bt.check("the leader's board says leader", h["role"], "leader")
        bt.check("the leader's header: node, role, leader, term",
                 (h["shown"], h["node"], h["pill"], h["leader"], h["term"]),
                 (True, str(leader), "leader",
                  "node %d (%s)" % (leader, curl(leader)), str(term)))
        bt.check("the leader's board has no follower note", h["note"], None)
        bt.check("the leader's board shows its suspensions",
                 (h["suspensions"], h["elsewhere"]), (True, False))
        rows = elected_rows(tmp, leader)
        mine = [r for r in rows if r[1] == leader and r[2] == term]
        bt.check("the leader's ledger has its leader_elected row",
                 len(mine), 1)
        shown, _ = b.wait(NEWEST_ELECTED, 5)
        bt.check("its latest events list that leader_elected row",
                 shown, mine[0][0] if mine else -1)
        bt.check("the leader's page threw nothing, logged no error",
                 b.problems(), [])
    finally:
        b.close()

    # A follower's board, kept open across the kill.
    f = followers[0]
    b = bt.Browser()
    try:
        b.navigate(url(f))
        v, _ = b.wait("document.body.dataset.role === 'follower' && "
                      "document.body.dataset.conn === 'live'", 10)
        h = header(b)
        bt.check("a follower's header: node, role, leader, term",
                 (h["shown"], h["node"], h["pill"], h["leader"], h["term"]),
                 (True, str(f), "follower",
                  "node %d (%s)" % (leader, curl(leader)), str(term)))
        bt.check("a follower's ledger box: its applied seq",
                 h["seq"], "applied seq %s" % status(tmp, f).get("applied_seq"))
        bt.check("a follower's board shows the amber note", h["note"],
                 "this node is a follower: decisions are the leader's "
                 "(node %d, %s)" % (leader, curl(leader)))
        bt.check("a follower's board leaves the suspensions to the "
                 "leader's", (h["suspensions"], h["elsewhere"]),
                 (False, True))
        color = b.eval("getComputedStyle(document.getElementById("
                       "'follower')).backgroundColor")
        bt.check("the note is amber", color, "rgb(178, 106, 0)")
        # The leader's rows reach a follower's ledger through the
        # cluster's log, and its board from there.
        got, _ = b.wait(NEWEST_ELECTED, 3)
        bt.check("a follower's board lists the leader's leader_elected "
                 "row", got, mine[0][0] if mine else -1)

        os.kill(pids[leader - 1], signal.SIGKILL)
        killed = time.monotonic()
        v, took = b.wait("(function () { var l = Number(document.body."
                         "dataset.leader); return l !== 0 && l !== %d ? "
                         "l : 0; })()" % leader, 3)
        if v:
            bt.ok("the survivor's board names a new leader within 3 s "
                  "(%.2f s)" % (time.monotonic() - killed))
        else:
            bt.fail("the survivor's board names a new leader within 3 s",
                    "still %r after %.2f s" % (header(b), took))
            return
        new = int(v)
        # A follower names the new leader from its first heartbeat, while
        # it may still be promoting (it leads once its leader_elected row
        # commits): wait for that row, then for the board to show it.
        deadline = time.monotonic() + 10
        while True:
            st = status(tmp, new)
            rows = [r for r in elected_rows(tmp, new)
                    if r[1] == new and r[2] == st.get("term")]
            if (st.get("role") == "leader" and rows and
                    status(tmp, f).get("leader") == new) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        bt.check("the new leader is the one the nodes name",
                 (st.get("role"), status(tmp, f).get("leader")),
                 ("leader", new))
        want_role = "leader" if new == f else "follower"
        b.wait("document.getElementById('c-role').textContent === %r && "
               "document.getElementById('c-term').textContent === %r" %
               (want_role, str(st.get("term"))), 5)
        h = header(b)
        bt.check("the survivor's header after the failover",
                 (h["pill"], h["leader"], h["term"]),
                 (want_role, "node %d (%s)" % (new, curl(new)),
                  str(st.get("term"))))
        bt.check("the survivor's suspensions shown if it leads now",
                 (h["suspensions"], h["elsewhere"]),
                 (new == f, new != f))
        bt.check("the follower note after the failover", h["note"],
                 None if new == f else
                 "this node is a follower: decisions are the leader's "
                 "(node %d, %s)" % (new, curl(new)))
        got, _ = b.wait(NEWEST_ELECTED + " === %d" %
                        (rows[0][0] if rows else -1), 3)
        bt.check("the survivor's board lists the new leader's "
                 "leader_elected row", got, True)
        bt.check("the survivor's page threw nothing, logged no error",
                 b.problems(), [])
    finally:
        b.close()

    # The new leader's board lists its leader_elected row.
    b = bt.Browser()
    try:
        b.navigate(url(new))
        b.wait("document.body.dataset.role === 'leader'", 10)
        rows = [r for r in elected_rows(tmp, new)
                if r[1] == new and r[2] == st.get("term")]
        bt.check("the new leader logged leader_elected for its term",
                 len(rows), 1)
        got, _ = b.wait(NEWEST_ELECTED, 5)
        bt.check("the new leader's board lists it", got,
                 rows[0][0] if rows else -1)
        bt.check("the new leader's page threw nothing, logged no error",
                 b.problems(), [])
    finally:
        b.close()


def main(argv):
    if len(argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        run(int(argv[1]), int(argv[2]), argv[3], int(argv[4]),
            [int(p) for p in argv[5:8]])
    except Exception as e:  # a broken driver is a failure, not a pass
        bt.fail("the browser test ran to its end", repr(e))
    print("%d passed, %d failed" % (bt.passed, bt.failed))
    return 1 if bt.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
