-- The open_replenishment rule's rows of the requests in {keys} for the /replenishments page
-- at {as_of}: as judged then (rules_replenishment_verdicts under {verdicts}, for those in
-- rules_scope under {judged}, or every request if {all_judged}), else as their kept row has it.
SELECT reason, since, correlation_id, site, domain, details
FROM rules_replenishments_kept FINAL
WHERE NOT {all_judged:UInt8} AND correlation_id IN {keys:Array(String)}
    AND correlation_id NOT IN (SELECT key FROM rules_scope WHERE run_id = {judged:String})
UNION ALL
SELECT reason, since, correlation_id, site, domain, details
FROM rules_replenishment_verdicts
WHERE run_id = {verdicts:String} AND correlation_id IN {keys:Array(String)}
