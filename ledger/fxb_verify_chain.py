#!/usr/bin/env python3
"""fxb_verify_chain.py: a second verifier of the suspension log, written
from docs/LEDGER.md alone with only the Python standard library.

    python3 ledger/fxb_verify_chain.py [--anchor NOTE]... DB

It recomputes every row hash of `suspension_log` (BLAKE2b-256 over the
prefix, the log id, the previous hash and the eleven tagged values), checks
each stored prev_hash and hash, finds gaps, and compares every checkpoint
row and every anchor note (an exported checkpoint) with the chain: its body
fields, that `log` is this database's log_id, and that `size` and `head`
agree with the rows.  It also checks that the four append-only triggers are
there.

Ed25519 signatures are NOT checked: the standard library has no Ed25519.
A checkpoint or note is only checked for its structure (a 16-hex-digit
key_id, a 64-byte signature) and its agreement with the chain, so a
consistently rewritten log with rewritten checkpoints passes here unless an
anchor note kept elsewhere says otherwise.  `fxbreakerctl verify --pubkey`
checks the signatures; run both.

Output (stdout): a `note:` line saying signatures are not checked, then one
line per finding,

    seq N: <what>          a row (or a missing one)
    checkpoint N: <what>   a checkpoint row, or an anchor note of size N
    policy: <what>         missing triggers, rows no checkpoint covers

then `verdict: ok|tampered|truncated|usage|policy (N rows, last checkpoint
M)`: N rows read, M the largest size in table checkpoints (0 if none).
Usage and I/O errors go to stderr, before the verdict line.

Exit codes (LEDGER.md; the worst finding wins, 1 before 2 before 4):
    0 intact   1 tampered   2 truncated or forked   3 usage or I/O error
    4 policy only
"""

import argparse
import base64
import hashlib
import os
import re
import sqlite3
import sys

ROW_PREFIX = b"fxbreaker/log/v1"
ZERO_HASH = bytes(32)

EXIT_OK, EXIT_TAMPERED, EXIT_TRUNCATED, EXIT_USAGE, EXIT_POLICY = 0, 1, 2, 3, 4
VERDICT = {0: "ok", 1: "tampered", 2: "truncated", 3: "usage", 4: "policy"}
# Which exit code wins when findings of several kinds are present.
RANK = {EXIT_OK: 0, EXIT_POLICY: 1, EXIT_TRUNCATED: 2, EXIT_TAMPERED: 3}

# The hashed columns, in hash order, with the storage classes each may
# hold (LEDGER.md, "Column types as stored").
COLUMNS = (
    ("seq", ("integer",)),
    ("t", ("integer",)),
    ("event", ("text",)),
    ("rule", ("text", "null")),
    ("kind", ("text", "null")),
    ("scope", ("text", "null")),
    ("scope_type", ("text", "null")),
    ("suspension", ("integer", "null")),
    ("mode", ("text",)),
    ("detail", ("text",)),
    ("logged_at", ("integer",)),
)

# (trigger, table, event): LEDGER.md, "Append-only tripwire".
TRIGGERS = (
    ("suspension_log_append_only_update", "suspension_log", "UPDATE"),
    ("suspension_log_append_only_delete", "suspension_log", "DELETE"),
    ("checkpoints_append_only_update", "checkpoints", "UPDATE"),
    ("checkpoints_append_only_delete", "checkpoints", "DELETE"),
)

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX16 = re.compile(r"[0-9a-f]{16}")
DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
BODY_FIRST = "fxbreaker checkpoint v1"
NOTE_DASH = "\u2014"  # the em dash that opens a note's signature line

NOTE_LINE = ("note: Ed25519 signatures are NOT checked (the Python standard "
             "library has none): this checks the hash chain and the structure "
             "of checkpoints and anchors only; fxbreakerctl verify --pubkey "
             "checks the signatures")


class UsageError(Exception):
    """A usage or I/O error: exit 3."""


def usage_exit(msg):
    print("fxb_verify_chain: " + msg, file=sys.stderr)
    print("verdict: usage (0 rows, last checkpoint 0)")
    sys.stdout.flush()
    sys.exit(EXIT_USAGE)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        usage_exit(message)


# ---- encoding (LEDGER.md, "Row hashes") ----

def tagged(storage, v):
    """value(x): the tag byte and its payload, for a value of the given
    SQLite storage class (text arrives as the bytes stored)."""
    if storage == "null":
        return b"\x00"
    if storage == "integer":
        return b"\x01" + v.to_bytes(8, "big", signed=True)
    if storage == "text":
        return b"\x02" + len(v).to_bytes(4, "big") + v
    raise ValueError(storage)


def row_hash(log_id, prev_hash, values):
    """values: (storage class, value) for each of COLUMNS, in order."""
    h = hashlib.blake2b(digest_size=32)
    h.update(ROW_PREFIX)
    h.update(log_id)
    h.update(prev_hash)
    for storage, v in values:
        h.update(tagged(storage, v))
    return h.digest()


# ---- checkpoint bodies and notes (LEDGER.md, "Checkpoints") ----

def parse_body(body):
    """The five body lines -> dict(log, size, head, time); ValueError says
    what is wrong."""
    if not body.endswith("\n"):
        raise ValueError("it does not end in a newline")
    lines = body[:-1].split("\n")
    if len(lines) != 5:
        raise ValueError("%d lines, not 5" % len(lines))
    if lines[0] != BODY_FIRST:
        raise ValueError("line 1 is not %r" % BODY_FIRST)
    fields = {}
    for i, (name, pattern) in enumerate((("log", HEX64), ("size", DECIMAL),
                                         ("head", HEX64), ("time", DECIMAL))):
        line = lines[1 + i]
        prefix = name + " "
        if not line.startswith(prefix) or \
                not pattern.fullmatch(line[len(prefix):]):
            raise ValueError("line %d is not `%s <%s>`" % (
                2 + i, name,
                "64 lower-case hex digits" if pattern is HEX64 else "decimal"))
        v = line[len(prefix):]
        fields[name] = int(v) if pattern is DECIMAL else v
    return fields


def read_note(path):
    """An exported checkpoint: body, empty line, `— KEY_ID BASE64`.
    Returns the body's fields; UsageError if unreadable or malformed."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UsageError("--anchor %s: %s" % (path, e.strerror or e))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("--anchor %s: not UTF-8 text" % path)
    cut = text.find("\n\n")
    if cut < 0:
        raise UsageError("--anchor %s: not a checkpoint note (no empty line "
                         "after the body)" % path)
    body, sig_line = text[:cut + 1], text[cut + 2:]
    if sig_line.endswith("\n"):
        sig_line = sig_line[:-1]
    try:
        fields = parse_body(body)
    except ValueError as e:
        raise UsageError("--anchor %s: not a checkpoint note: body: %s"
                         % (path, e))
    parts = sig_line.split(" ")
    if len(parts) != 3 or parts[0] != NOTE_DASH:
        raise UsageError("--anchor %s: not a checkpoint note: the last line "
                         "is not `\u2014 <key_id> <signature>`" % path)
    if not HEX16.fullmatch(parts[1]):
        raise UsageError("--anchor %s: key_id %r is not 16 lower-case hex "
                         "digits" % (path, parts[1]))
    try:
        sig = base64.b64decode(parts[2], validate=True)
    except ValueError:
        sig = None
    if sig is None or len(sig) != 64 or \
            base64.b64encode(sig).decode("ascii") != parts[2]:
        raise UsageError("--anchor %s: the signature is not 64 bytes of "
                         "standard base64 with padding" % path)
    return fields


# ---- the verifier ----

class Findings:
    def __init__(self):
        self.lines = []
        self.code = EXIT_OK

    def add(self, code, line):
        self.lines.append(line)
        if RANK[code] > RANK[self.code]:
            self.code = code


def article(storage):
    """A storage class as a phrase: "an integer", "text", "NULL"."""
    return {"integer": "an integer", "real": "a real", "blob": "a blob",
            "text": "text", "null": "NULL"}.get(storage, storage)


def describe(v, storage):
    """A stored value where a hash belongs: "a blob of 31 bytes"."""
    if storage in ("blob", "text"):
        return "%s of %d bytes" % (article(storage), len(v))
    return article(storage)


def sqlite_uri(path):
    """file: URI for a path, read-only; characters that mean something in
    a URI are escaped, and an absolute path keeps `//` from being read as
    an authority."""
    p = os.path.abspath(path)
    p = p.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return "file://" + p + "?mode=ro"


def wal_size(db):
    try:
        return os.path.getsize(db + "-wal")
    except FileNotFoundError:
        return 0
    except OSError as e:
        raise UsageError("%s-wal: %s" % (db, e.strerror or e))


def connect(uri):
    con = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        con.text_factory = bytes  # text as the bytes stored
        con.execute("BEGIN")      # one read transaction: one snapshot
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        con.close()
        raise
    return con


def open_db(db):
    if not os.path.exists(db):
        raise UsageError("%s: no such file" % db)
    if not os.path.isfile(db):
        raise UsageError("%s: not a regular file" % db)
    n = wal_size(db)
    if n > 0:
        raise UsageError(
            "%s-wal holds %d bytes: the database has committed frames a "
            "reader could miss; verify a snapshot (fxbreakerctl export) or "
            "stop the daemon first" % (db, n))
    try:
        return connect(sqlite_uri(db))
    except sqlite3.Error as e:
        first = e
    # A WAL-mode file in a directory we cannot write (so no -shm can be
    # made): with no -wal file there are no frames to miss, and SQLite
    # may read the file as immutable.
    if os.path.exists(db + "-wal"):
        raise UsageError("%s: %s" % (db, first))
    try:
        return connect(sqlite_uri(db) + "&immutable=1")
    except sqlite3.Error:
        raise UsageError("%s: %s" % (db, first))


def columns_of(con, table):
    return [r[1].decode() if isinstance(r[1], bytes) else r[1]
            for r in con.execute("PRAGMA table_info(%s)" % table)]


def check_schema(con):
    need = {
        "ledger_meta": ("key", "value"),
        "suspension_log": tuple(c for c, _ in COLUMNS) + ("prev_hash", "hash"),
        "checkpoints": ("size", "t", "head", "body", "key_id", "signature"),
    }
    for table, cols in need.items():
        have = columns_of(con, table)
        if not have:
            raise UsageError("not an fxbreaker ledger with a hash chain: no "
                             "table %s" % table)
        missing = [c for c in cols if c not in have]
        if missing:
            raise UsageError("not an fxbreaker ledger with a hash chain: "
                             "table %s has no column %s"
                             % (table, ", ".join(missing)))


def read_log_id(con):
    row = con.execute("SELECT value, typeof(value) FROM ledger_meta "
                      "WHERE key = 'log_id'").fetchone()
    if row is None:
        raise UsageError("ledger_meta has no log_id: the chain cannot be "
                         "checked")
    value, storage = row
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) \
        else str(value)
    if storage != b"text" and storage != "text" or not HEX64.fullmatch(text):
        raise UsageError("ledger_meta.log_id is not 64 lower-case hex "
                         "digits: the chain cannot be checked")
    return bytes.fromhex(text), text


def s(v):
    """A storage-class name or text column as str."""
    return v.decode() if isinstance(v, bytes) else v


def walk(con, log_id, want, out):
    """Checks every row in seq order.  Returns (rows read, last seq,
    {size: stored hash of seq size} for each size in want)."""
    select = ", ".join("%s, typeof(%s)" % (c, c) for c, _ in COLUMNS)
    cur = con.execute("SELECT %s, prev_hash, typeof(prev_hash), hash, "
                      "typeof(hash) FROM suspension_log ORDER BY seq" % select)
    heads = {}
    n = 0
    last = None          # seq of the previous row
    prev_stored = None   # its hash as stored
    prev_computed = None  # its hash as recomputed
    for r in cur:
        n += 1
        values = [(s(r[2 * i + 1]), r[2 * i]) for i in range(len(COLUMNS))]
        seq_storage, seq = values[0]
        if seq_storage != "integer":
            out.add(EXIT_TAMPERED, "seq %r: seq holds %s, not an integer"
                    % (seq, article(seq_storage)))
            continue
        base = 2 * len(COLUMNS)
        prev, prev_storage = r[base], s(r[base + 1])
        stored, stored_storage = r[base + 2], s(r[base + 3])

        expected = 1 if last is None else last + 1
        linked = True
        if seq < expected:
            out.add(EXIT_TAMPERED, "seq %d: sequence numbers start at 1" % seq)
            linked = False
        elif seq > expected:
            if expected == 1:
                what = "the log starts at seq %d" % seq
            else:
                what = "seq %d is followed by seq %d" % (last, seq)
            span = "" if seq - 1 == expected \
                else "seq %d..%d; " % (expected, seq - 1)
            out.add(EXIT_TAMPERED, "seq %d: missing (%s%s)"
                    % (expected, span, what))
            linked = False

        typed = True
        for (name, allowed), (storage, _) in zip(COLUMNS[1:], values[1:]):
            if storage not in allowed:
                out.add(EXIT_TAMPERED, "seq %d: %s holds %s, not %s" % (
                    seq, name, article(storage),
                    " or ".join(article(a) for a in allowed)))
                typed = False

        prev_ok = prev_storage == "blob" and len(prev) == 32
        if not prev_ok:
            out.add(EXIT_TAMPERED, "seq %d: prev_hash holds %s, not a "
                    "32-byte blob" % (seq, describe(prev, prev_storage)))
        stored_ok = stored_storage == "blob" and len(stored) == 32
        if not stored_ok:
            out.add(EXIT_TAMPERED, "seq %d: hash holds %s, not a 32-byte "
                    "blob" % (seq, describe(stored, stored_storage)))

        # The link: prev_hash is the previous row's hash.  A previous row
        # whose hash column alone was edited still links by its recomputed
        # hash; that edit is reported on that row, not again here.
        if linked and prev_ok:
            if seq == 1:
                if prev != ZERO_HASH:
                    out.add(EXIT_TAMPERED,
                            "seq 1: prev_hash is not 32 zero bytes")
            elif prev != prev_stored and prev != prev_computed:
                out.add(EXIT_TAMPERED, "seq %d: prev_hash is not the hash "
                        "of seq %d" % (seq, seq - 1))

        computed = None
        if prev_ok and typed:
            computed = row_hash(log_id, prev, values)
            if stored_ok and computed != stored:
                out.add(EXIT_TAMPERED, "seq %d: hash does not match the row "
                        "(edited, moved, or not of this log)" % seq)

        if seq in want:
            heads[seq] = stored
        last, prev_stored, prev_computed = seq, stored, computed
    return n, (last if last is not None and last > 0 else 0), heads


def check_against_chain(out, label, size, head, last, heads):
    """A checkpoint or anchor saying the log had `size` rows ending in
    `head`."""
    if size == 0:
        if head != ZERO_HASH:
            out.add(EXIT_TAMPERED, "%s: size 0 but head is not 32 zero bytes"
                    % label)
    elif size > last:
        span = "seq %d is" % size if size == last + 1 \
            else "seq %d..%d are" % (last + 1, size)
        out.add(EXIT_TRUNCATED, "%s: the log ends at seq %d: %s missing "
                "(truncated)" % (label, last, span))
    elif size not in heads:
        out.add(EXIT_TAMPERED, "%s: seq %d is missing" % (label, size))
    elif heads[size] != head:
        out.add(EXIT_TRUNCATED, "%s: head is not the hash of seq %d "
                "(rewritten or forked)" % (label, size))


def check_checkpoints(con, log_hex, last, heads, out):
    cur = con.execute(
        "SELECT size, typeof(size), t, typeof(t), head, typeof(head), body, "
        "typeof(body), key_id, typeof(key_id), signature, typeof(signature) "
        "FROM checkpoints ORDER BY size")
    for (size, size_st, t, t_st, head, head_st, body, body_st, key_id,
         key_st, sig, sig_st) in cur:
        size_st, t_st, head_st = s(size_st), s(t_st), s(head_st)
        body_st, key_st, sig_st = s(body_st), s(key_st), s(sig_st)
        if size_st != "integer":
            out.add(EXIT_TAMPERED, "checkpoint %r: size holds %s, not an "
                    "integer" % (size, article(size_st)))
            continue
        label = "checkpoint %d" % size
        if size < 0:
            out.add(EXIT_TAMPERED, "%s: size is negative" % label)
            continue
        if t_st != "integer":
            out.add(EXIT_TAMPERED, "%s: t holds %s, not an integer"
                    % (label, article(t_st)))
        head_ok = head_st == "blob" and len(head) == 32
        if not head_ok:
            out.add(EXIT_TAMPERED, "%s: head is not a 32-byte blob" % label)
        if key_st != "text" or \
                not HEX16.fullmatch(key_id.decode("utf-8", "replace")):
            out.add(EXIT_TAMPERED, "%s: key_id is not 16 lower-case hex "
                    "digits" % label)
        if sig_st != "blob" or len(sig) != 64:
            out.add(EXIT_TAMPERED, "%s: signature is not a 64-byte blob"
                    % label)
        fields = None
        if body_st != "text":
            out.add(EXIT_TAMPERED, "%s: body holds %s, not text"
                    % (label, article(body_st)))
        else:
            try:
                fields = parse_body(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                out.add(EXIT_TAMPERED, "%s: body is not a v1 checkpoint body "
                        "(%s)" % (label, e))
        if fields is not None:
            if fields["log"] != log_hex:
                out.add(EXIT_TAMPERED, "%s: not of this log (body says log "
                        "%s)" % (label, fields["log"]))
            if fields["size"] != size:
                out.add(EXIT_TAMPERED, "%s: body says size %d"
                        % (label, fields["size"]))
            if head_ok and fields["head"] != head.hex():
                out.add(EXIT_TAMPERED, "%s: body says head %s, the head "
                        "column holds %s" % (label, fields["head"],
                                             head.hex()))
            if t_st == "integer" and fields["time"] != t:
                out.add(EXIT_TAMPERED, "%s: body says time %d, column t "
                        "holds %d" % (label, fields["time"], t))
        if head_ok:
            check_against_chain(out, label, size, head, last, heads)
        elif fields is not None:
            check_against_chain(out, label, size,
                                bytes.fromhex(fields["head"]), last, heads)


def check_triggers(con, out):
    have = {s(name): (s(table), s(sql) or "") for name, table, sql in
            con.execute("SELECT name, tbl_name, sql FROM sqlite_master "
                        "WHERE type = 'trigger'")}
    for name, table, event in TRIGGERS:
        if name not in have:
            out.add(EXIT_POLICY, "policy: trigger %s is missing" % name)
            continue
        tbl, sql = have[name]
        m = re.match(r"\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\s+"
                     r"(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+"
                     r"(?:(?:BEFORE|AFTER|INSTEAD\s+OF)\s+)?"
                     r"(DELETE|INSERT|UPDATE)(\s+OF\b)?", sql, re.I)
        if tbl.lower() != table:
            out.add(EXIT_POLICY, "policy: trigger %s is on %s, not %s"
                    % (name, tbl, table))
        elif m is None or m.group(1).upper() != event or m.group(2) or \
                not re.search(r"RAISE\s*\(\s*(ABORT|ROLLBACK|FAIL)\b", sql,
                              re.I):
            out.add(EXIT_POLICY, "policy: trigger %s does not abort every "
                    "%s on %s" % (name, event, table))


def verify(db, anchor_paths):
    anchors = [(p, read_note(p)) for p in anchor_paths]
    con = open_db(db)
    try:
        check_schema(con)
        log_id, log_hex = read_log_id(con)
        sizes = set()
        for (size,) in con.execute("SELECT size FROM checkpoints"):
            if isinstance(size, int):
                sizes.add(size)
        want = sizes | {f["size"] for _, f in anchors}
        last_ckpt = max(sizes) if sizes else 0

        print(NOTE_LINE)
        out = Findings()
        n, last, heads = walk(con, log_id, want, out)
        check_checkpoints(con, log_hex, last, heads, out)
        for path, f in anchors:
            label = "checkpoint %d: anchor %s" % (f["size"], path)
            if f["log"] != log_hex:
                out.add(EXIT_TAMPERED, "%s: not of this log (it says log %s)"
                        % (label, f["log"]))
                continue
            check_against_chain(out, label, f["size"],
                                bytes.fromhex(f["head"]), last, heads)
        check_triggers(con, out)
        cover = max([last_ckpt] + [f["size"] for _, f in anchors
                                   if f["log"] == log_hex])
        if last > cover:
            span = "seq %d is" % last if last == cover + 1 \
                else "seq %d..%d are" % (cover + 1, last)
            out.add(EXIT_POLICY, "policy: %s after the last checkpoint (%d) "
                    "and covered by no anchor" % (span, cover))
        con.execute("COMMIT")
    except sqlite3.Error as e:
        raise UsageError("%s: %s" % (db, e))
    finally:
        con.close()
    # Frames written while we read mean we read a database in motion.
    if wal_size(db) > 0:
        raise UsageError("%s-wal gained frames while it was read: verify a "
                         "snapshot (fxbreakerctl export)" % db)
    return out, n, last_ckpt


def main(argv=None):
    ap = Parser(prog="fxb_verify_chain.py",
                description="Checks the suspension log's hash chain, "
                "checkpoints and anchor notes (docs/LEDGER.md). Ed25519 "
                "signatures are NOT checked.")
    ap.add_argument("--anchor", action="append", default=[], metavar="NOTE",
                    help="an exported checkpoint note to hold the log to "
                    "(repeatable)")
    ap.add_argument("db", metavar="DB", help="the database (a snapshot)")
    args = ap.parse_args(argv)
    try:
        out, n, last_ckpt = verify(args.db, args.anchor)
    except UsageError as e:
        sys.stdout.flush()
        usage_exit(str(e))
    for line in out.lines:
        print(line)
    print("verdict: %s (%d rows, last checkpoint %d)"
          % (VERDICT[out.code], n, last_ckpt))
    return out.code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(EXIT_USAGE)
