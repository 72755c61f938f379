-- 0005: a plan that never ran (its whole window passed while the service
-- was down, RULES-NOTES.md 9) is closed by a plan_lapsed row naming it,
-- as a cancel or a start closes one: suspension_log_plan covers those
-- rows too, so the pending plans are still found without a log scan.
-- Indexes are not part of the hash chain: rebuilding it changes no row.
DROP INDEX suspension_log_plan;
CREATE INDEX suspension_log_plan ON suspension_log
	(json_extract(detail, '$.plan'))
	WHERE event IN ('force_cancel', 'force_suspend', 'plan_lapsed');
