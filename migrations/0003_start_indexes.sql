-- 0003: indexes for what the daemon reads at start, so that start-up
-- time does not grow with the log (issue 5: a 1,000,000-row log spent
-- most of its 1.7 s start scanning it).  Indexes are not part of the
-- hash chain (docs/LEDGER.md): adding them changes no row.

-- Service rows (reloads, changes by command and their drops).
CREATE INDEX suspension_log_kind ON suspension_log (kind, seq);
-- Command rows: the nonce memory, pending requests, the roster.
CREATE INDEX suspension_log_event ON suspension_log (event, seq);
-- Each rule's resumes within the last 24 hours (max_auto_resumes).
CREATE INDEX suspension_log_rule_event ON suspension_log (rule, event, t);
