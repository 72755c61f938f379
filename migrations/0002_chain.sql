-- 0002_chain.sql: the hash chain, signed checkpoints and the append-only
-- tripwire (docs/LEDGER.md).  Rows written before this migration get
-- their hashes from the daemon when it first opens the database.

CREATE TABLE ledger_meta (
	key    TEXT PRIMARY KEY,
	value  TEXT NOT NULL
);

ALTER TABLE suspension_log ADD COLUMN prev_hash BLOB;
ALTER TABLE suspension_log ADD COLUMN hash BLOB;

-- "This log had `size` rows and the last one's hash was `head`", signed.
CREATE TABLE checkpoints (
	size       INTEGER PRIMARY KEY,
	t          INTEGER NOT NULL,
	head       BLOB    NOT NULL,
	body       TEXT    NOT NULL,      -- the signed text (LEDGER.md)
	key_id     TEXT    NOT NULL,
	signature  BLOB    NOT NULL
);

-- A tripwire, not a lock: whoever holds the file can drop these, and
-- verify then reports them missing while the chain catches the edit.
-- Hashes are filled once for rows older than the chain (NULL -> value).
CREATE TRIGGER suspension_log_append_only_update
BEFORE UPDATE ON suspension_log
WHEN OLD.hash IS NOT NULL
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
