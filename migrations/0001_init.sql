-- 0001_init.sql: the suspension log, breaker state and customer notices.
--
-- Applied once, in a transaction, when PRAGMA user_version is below 1.
-- Numbered files are applied in order and never edited once released: a
-- change is a new file.

-- Every engine event that changes a state (RULES.md section 6) and every
-- service event (start, stop, reload, degraded), in the order they
-- happened.  seq is assigned by the daemon before the row is written (it
-- is the suspension id a deny quotes) and is dense: 1, 2, 3, ...
CREATE TABLE suspension_log (
	seq         INTEGER PRIMARY KEY,
	t           INTEGER NOT NULL,        -- event time, UTC epoch ms
	event       TEXT    NOT NULL,        -- trip, resume, ..., service_start
	rule        TEXT,                    -- rule id; NULL for force_* and service_*
	kind        TEXT,                    -- rule kind, "forced", or "service"
	scope       TEXT,                    -- pair name or product id
	scope_type  TEXT,                    -- "pair", "product" or NULL
	suspension  INTEGER,                 -- the suspension this opens or ends
	mode        TEXT    NOT NULL DEFAULT 'enforce', -- or 'shadow'
	detail      TEXT    NOT NULL,        -- the whole event as JSON
	logged_at   INTEGER NOT NULL         -- wall clock when written, UTC ms
);
CREATE INDEX suspension_log_rule ON suspension_log (rule, seq);
CREATE INDEX suspension_log_scope ON suspension_log (scope, seq);
CREATE INDEX suspension_log_t ON suspension_log (t);

-- What is suspended now: one row per open suspension, written in the
-- same transaction as the log row that opens it and deleted by the one
-- that ends it.  The daemon restores its breakers from this table.
CREATE TABLE breaker_state (
	suspension  INTEGER PRIMARY KEY,     -- seq of the opening row
	rule        TEXT,                    -- NULL for a forced suspension
	kind        TEXT    NOT NULL,
	scope       TEXT    NOT NULL,
	scope_type  TEXT    NOT NULL,
	event       TEXT    NOT NULL,        -- trip, stale or force_suspend
	since       INTEGER NOT NULL,
	until       INTEGER,                 -- automatic end; NULL: operator
	dir         INTEGER NOT NULL DEFAULT 0,
	latched     INTEGER NOT NULL DEFAULT 0,
	mode        TEXT    NOT NULL DEFAULT 'enforce',
	reason      TEXT
);

-- Customer notices: opened with a suspension, closed with its end.
CREATE TABLE notices (
	suspension  INTEGER PRIMARY KEY,
	notice_id   TEXT    NOT NULL,        -- the [notice ID], or default-KIND
	scope       TEXT    NOT NULL,
	opened_at   INTEGER NOT NULL,
	closed_at   INTEGER,
	ko          TEXT    NOT NULL,
	en          TEXT    NOT NULL,
	closed_ko   TEXT,
	closed_en   TEXT
);
