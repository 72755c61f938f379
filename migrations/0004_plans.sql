-- 0004: planned suspensions (RULES.md 9).  A plan is its force_scheduled
-- row; it is pending until a force_cancel or the force_suspend that
-- starts it names it (detail's "plan").  The start finds the pending
-- ones through this index and suspension_log_event, never by scanning
-- the log.  Indexes are not part of the hash chain: adding it changes
-- no row.
CREATE INDEX suspension_log_plan ON suspension_log
	(json_extract(detail, '$.plan'))
	WHERE event IN ('force_cancel', 'force_suspend');
