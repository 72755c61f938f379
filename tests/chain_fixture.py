#!/usr/bin/env python3
"""chain_fixture.py: builds a hash-chained suspension log for the tests of
ledger/fxb_verify_chain.py, from docs/LEDGER.md and with only the Python
standard library (it shares no code with the verifier).

  chain_fixture.py create DB [--rows N] [--checkpoints 1,5,...]
                             [--log-id HEX] [--notes DIR]
      A new database (WAL mode, like the daemon's): suspension_log as in
      migrations/0001_init.sql plus prev_hash and hash, ledger_meta with a
      log_id, checkpoints at the given sizes (default 1,5,10,15,20, those
      up to N) and the four append-only triggers.  --notes DIR exports each
      checkpoint as a note, DIR/checkpoint-SIZE.note.  Signatures and
      key ids are dummies (the Python verifier cannot check Ed25519).

  chain_fixture.py rehash DB [--seq N]
      Recomputes hashes from the rows' contents as an attacker with the
      file would: with --seq N only row N's hash (from its own prev_hash);
      without it every row's prev_hash and hash in seq order, and every
      checkpoint (head, body, dummy signature) at its size.  The triggers
      are dropped for the edit and put back as they were.
"""

import argparse
import base64
import hashlib
import os
import sqlite3
import sys

SCHEMA = """
CREATE TABLE suspension_log (
	seq         INTEGER PRIMARY KEY,
	t           INTEGER NOT NULL,
	event       TEXT    NOT NULL,
	rule        TEXT,
	kind        TEXT,
	scope       TEXT,
	scope_type  TEXT,
	suspension  INTEGER,
	mode        TEXT    NOT NULL DEFAULT 'enforce',
	detail      TEXT    NOT NULL,
	logged_at   INTEGER NOT NULL,
	prev_hash   BLOB,
	hash        BLOB
);
CREATE INDEX suspension_log_rule ON suspension_log (rule, seq);
CREATE INDEX suspension_log_scope ON suspension_log (scope, seq);
CREATE INDEX suspension_log_t ON suspension_log (t);
CREATE TABLE ledger_meta (
	key    TEXT PRIMARY KEY,
	value  TEXT NOT NULL
);
CREATE TABLE checkpoints (
	size       INTEGER PRIMARY KEY,
	t          INTEGER NOT NULL,
	head       BLOB    NOT NULL,
	body       TEXT    NOT NULL,
	key_id     TEXT    NOT NULL,
	signature  BLOB    NOT NULL
);
"""

TRIGGERS = """
CREATE TRIGGER suspension_log_append_only_update
BEFORE UPDATE ON suspension_log
BEGIN
	SELECT RAISE(ABORT, 'suspension_log is append-only');
END;
CREATE TRIGGER suspension_log_append_only_delete
BEFORE DELETE ON suspension_log
BEGIN
	SELECT RAISE(ABORT, 'suspension_log is append-only');
END;
CREATE TRIGGER checkpoints_append_only_update
BEFORE UPDATE ON checkpoints
BEGIN
	SELECT RAISE(ABORT, 'checkpoints are append-only');
END;
CREATE TRIGGER checkpoints_append_only_delete
BEFORE DELETE ON checkpoints
BEGIN
	SELECT RAISE(ABORT, 'checkpoints are append-only');
END;
"""

COLS = ("seq", "t", "event", "rule", "kind", "scope", "scope_type",
        "suspension", "mode", "detail", "logged_at")

# One day's events, repeated as needed: (event, rule, kind, scope,
# scope_type, suspension, mode).  suspension is an offset from this row's
# seq to the row that opened the suspension (0: this row), or None.
P = "fx-wallet.USDKRW.buy"
DAY = (
    ("service_start", None, "service", None, None, None, "enforce"),
    ("ref_set", "usdkrw-band", "band", "USD/KRW", "pair", None, "enforce"),
    ("limit_enter", "usdkrw-band", "band", "USD/KRW", "pair", None,
     "enforce"),
    ("warn", "vol-buy", "volume", P, "product", None, "enforce"),
    ("trip", "usdkrw-band", "band", "USD/KRW", "pair", 0, "enforce"),
    ("throttle_start", "vol-buy", "volume", P, "product", 0, "shadow"),
    ("trip", "vol-buy", "volume", P, "product", 0, "enforce"),
    ("resume", "usdkrw-band", "band", "USD/KRW", "pair", -3, "enforce"),
    ("throttle_end", "vol-buy", "volume", P, "product", -3, "shadow"),
    ("force_suspend", None, "forced", "USD/KRW", "pair", 0, "enforce"),
    ("resume", "vol-buy", "volume", P, "product", -4, "enforce"),
    ("force_lift", None, "forced", "USD/KRW", "pair", -2, "enforce"),
    ("service_stop", None, "service", None, None, None, "enforce"),
    ("service_start", None, "service", None, None, None, "enforce"),
    ("stale", "usdkrw-stale", "stale", "USD/KRW", "pair", 0, "enforce"),
    ("fresh", "usdkrw-stale", "stale", "USD/KRW", "pair", -1, "enforce"),
    ("ref_update", "usdkrw-band", "band", "USD/KRW", "pair", None,
     "enforce"),
    ("trip", "usdkrw-band", "band", "USD/KRW", "pair", 0, "enforce"),
    ("reset", "usdkrw-band", "band", "USD/KRW", "pair", -1, "enforce"),
    ("service_reload", None, "service", None, None, None, "enforce"),
)
T0 = 1733184000000  # 2024-12-03T00:00:00Z


def enc(v):
    """LEDGER.md value(x), by the Python type of the value read back."""
    if v is None:
        return b"\x00"
    if isinstance(v, int):
        return b"\x01" + (v & (1 << 64) - 1).to_bytes(8, "big")
    if isinstance(v, str):
        b = v.encode("utf-8")
        return b"\x02" + len(b).to_bytes(4, "big") + b
    raise TypeError("cannot hash a %s" % type(v).__name__)


def hash_row(log_id, prev, row):
    data = b"fxbreaker/log/v1" + log_id + prev + b"".join(enc(v) for v in row)
    return hashlib.blake2b(data, digest_size=32).digest()


DUMMY_PUB = hashlib.blake2b(b"fxbreaker test key", digest_size=32).digest()
KEY_ID = hashlib.blake2b(DUMMY_PUB, digest_size=32).digest()[:8].hex()


def checkpoint(log_hex, size, head, t):
    body = ("fxbreaker checkpoint v1\nlog %s\nsize %d\nhead %s\ntime %d\n"
            % (log_hex, size, head.hex(), t))
    # Not Ed25519: 64 bytes that only look like a signature.
    sig = hashlib.blake2b(b"fxbreaker/checkpoint/v1\n" + body.encode(),
                          digest_size=64).digest()
    return body, sig


def make_rows(n):
    rows = []
    for seq in range(1, n + 1):
        ev, rule, kind, scope, stype, susp, mode = DAY[(seq - 1) % len(DAY)]
        t = T0 + seq * 37000 + (seq * seq) % 997
        detail = {"t": t, "event": ev}
        if rule:
            detail["rule"] = rule
        if scope:
            detail["scope"] = scope
        if ev == "trip" and kind == "band":
            detail.update(dir="up", px="1421.50", ref="1400.00", band="1.5%")
        if ev == "force_suspend":
            detail["reason"] = "원/달러 급등: 수동 중단 (manual halt)"
        if ev.startswith("service_"):
            detail["service"] = "e2e"
        js = "{" + ",".join('"%s":%s' % (k, v if isinstance(v, int) else
                                         '"%s"' % v)
                            for k, v in detail.items()) + "}"
        rows.append((seq, t, ev, rule, kind, scope, stype,
                     None if susp is None else seq + susp, mode, js,
                     t + 3 + seq % 5))
    return rows


def write_note(dirname, body, sig):
    path = os.path.join(dirname, "checkpoint-%d.note"
                        % int(body.split("\n")[2].split(" ")[1]))
    with open(path, "w", encoding="utf-8") as f:
        f.write(body + "\n\u2014 " + KEY_ID + " " +
                base64.b64encode(sig).decode("ascii") + "\n")


def create(args):
    if os.path.exists(args.db):
        sys.exit("chain_fixture: %s exists" % args.db)
    log_id = bytes.fromhex(args.log_id) if args.log_id else os.urandom(32)
    if len(log_id) != 32:
        sys.exit("chain_fixture: --log-id is 64 hex digits")
    sizes = sorted({int(x) for x in args.checkpoints.split(",") if x} &
                   set(range(1, args.rows + 1)))
    con = sqlite3.connect(args.db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("BEGIN")
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            con.execute(stmt)
    con.execute("INSERT INTO ledger_meta VALUES ('log_id', ?)",
                (log_id.hex(),))
    prev = bytes(32)
    notes = []
    for row in make_rows(args.rows):
        h = hash_row(log_id, prev, row)
        con.execute("INSERT INTO suspension_log (%s, prev_hash, hash) "
                    "VALUES (%s)" % (", ".join(COLS), ", ".join("?" * 13)),
                    row + (prev, h))
        prev = h
        if row[0] in sizes:
            body, sig = checkpoint(log_id.hex(), row[0], h, row[10])
            con.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)",
                        (row[0], row[10], h, body, KEY_ID, sig))
            notes.append((body, sig))
    for stmt in TRIGGERS.split("END;"):
        if stmt.strip():
            con.execute(stmt + "END;")
    con.execute("COMMIT")
    con.close()
    if args.notes:
        os.makedirs(args.notes, exist_ok=True)
        for body, sig in notes:
            write_note(args.notes, body, sig)


def rehash(args):
    con = sqlite3.connect(args.db, isolation_level=None)
    con.execute("BEGIN")
    triggers = con.execute("SELECT name, sql FROM sqlite_master "
                           "WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        con.execute('DROP TRIGGER "%s"' % name)
    log_id = bytes.fromhex(con.execute(
        "SELECT value FROM ledger_meta WHERE key = 'log_id'").fetchone()[0])
    sel = "SELECT %s, prev_hash FROM suspension_log" % ", ".join(COLS)
    if args.seq is not None:
        r = con.execute(sel + " WHERE seq = ?", (args.seq,)).fetchone()
        con.execute("UPDATE suspension_log SET hash = ? WHERE seq = ?",
                    (hash_row(log_id, r[11], r[:11]), args.seq))
    else:
        prev = bytes(32)
        hashes = {}
        for r in con.execute(sel + " ORDER BY seq").fetchall():
            h = hash_row(log_id, prev, r[:11])
            con.execute("UPDATE suspension_log SET prev_hash = ?, hash = ? "
                        "WHERE seq = ?", (prev, h, r[0]))
            hashes[r[0]] = (h, r[10])
            prev = h
        for (size,) in con.execute("SELECT size FROM checkpoints").fetchall():
            con.execute("DELETE FROM checkpoints WHERE size = ?", (size,))
            if size in hashes:
                h, t = hashes[size]
                body, sig = checkpoint(log_id.hex(), size, h, t)
                con.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, "
                            "?)", (size, t, h, body, KEY_ID, sig))
    for _, sql in triggers:
        con.execute(sql)
    con.execute("COMMIT")
    con.close()


def main():
    ap = argparse.ArgumentParser(prog="chain_fixture.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("db")
    c.add_argument("--rows", type=int, default=20)
    c.add_argument("--checkpoints", default="1,5,10,15,20")
    c.add_argument("--log-id")
    c.add_argument("--notes")
    r = sub.add_parser("rehash")
    r.add_argument("db")
    r.add_argument("--seq", type=int)
    args = ap.parse_args()
    create(args) if args.cmd == "create" else rehash(args)


if __name__ == "__main__":
    main()
