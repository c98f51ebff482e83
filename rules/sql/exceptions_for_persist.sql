-- The exceptions an evaluation may change: every one not resolved, those resolved by a
-- person (their condition may clear), and any with these ids.
SELECT *
FROM (
    SELECT *
    FROM exception_history
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE status != 'resolved' OR change = 'resolved' OR exception_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
