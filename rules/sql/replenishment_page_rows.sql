-- The open_replenishment rule's rows of the requests in {keys} for the /replenishments page
-- at {as_of}: as judged then (rules_replenishment_verdicts under {verdicts}, for those in
-- rules_scope under {judged}, or every request if {all_judged}), else as their row in
-- rules_replenishments_open written since {open_since} has it.
SELECT reason, since, correlation_id, site, domain, details
FROM rules_replenishments_open FINAL
WHERE NOT {all_judged:UInt8} AND refreshed_at >= {open_since:DateTime64(3, 'UTC')}
    AND is_open = 1 AND correlation_id IN {keys:Array(String)}
    AND correlation_id NOT IN (SELECT key FROM rules_scope WHERE run_id = {judged:String})
UNION ALL
SELECT reason, since, correlation_id, site, domain, details
FROM rules_replenishment_verdicts
WHERE run_id = {verdicts:String} AND correlation_id IN {keys:Array(String)}
