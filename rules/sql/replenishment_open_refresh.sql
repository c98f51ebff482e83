-- rules_replenishments_open rows at {refreshed_at} from the kept rows just refreshed: those of
-- the requests in rules_scope under {keys}, open or not, or (if {all}) every open request's.
INSERT INTO rules_replenishments_open
SELECT correlation_id, {refreshed_at:DateTime64(3, 'UTC')}, open_at_end,
    ifNull(requested_at, toDateTime64(0, 3, 'UTC')), last_fact_at, reason,
    ifNull(since, toDateTime64(0, 3, 'UTC')), site, domain, details, priority, item_id
FROM rules_replenishments_kept FINAL
WHERE if({all:UInt8} = 1, open_at_end = 1,
    correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {keys:String}))
