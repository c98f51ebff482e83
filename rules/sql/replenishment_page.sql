-- The /replenishments page at {as_of}: requests open then (settled by their
-- rules_replenishment_requests row, or found open by the rule under {decided}), their due
-- instant as the open_replenishment rule computes it, filtered; one row with the totals, the
-- sites and priorities on offer, and the page's correlation IDs (late first, then oldest).
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    (SELECT (site_from, site_to) FROM masterdata_maps(as_of = T)) AS site_map,
    (SELECT (item_from, item_to) FROM masterdata_maps(as_of = T)) AS item_map,
    open_then AS (
        SELECT correlation_id, requested_at,
            transform(site, site_map.1, site_map.2, site) AS site_then,
            if(priority IN ('stat', 'urgent', 'routine'), priority, 'routine') AS priority_then,
            lower(transform(item_id, item_map.1, item_map.2, item_id)) AS item_key,
            first_po_at IS NOT NULL AND first_po_at <= T AS has_po,
            concat(if(has_po, 'replenishment.receipt_ms.', 'replenishment.po_ms.'), priority_then) AS k,
            {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(k, '|', site_then)),
                indexOf({tk:Array(String)}, concat(k, '|', site_then)),
                indexOf({tk:Array(String)}, concat(k, '|*')))] AS limit_ms,
            requested_at + toIntervalMillisecond(limit_ms) <= T AS late
        FROM rules_replenishment_requests FINAL
        WHERE requested_at <= T AND (cancelled_at IS NULL OR cancelled_at > T)
            AND ((last_fact_at <= T AND open_at_end = 1)
                OR correlation_id IN (SELECT key FROM rules_scope WHERE run_id = {decided:String}))
    ),
    judged AS (
        SELECT *,
            ({site:String} = '' OR site_then = {site:String})
            AND ({priority:String} = '' OR priority_then = {priority:String})
            AND startsWith(item_key, lower({item:String}))
            AND (NOT {late_only:UInt8} OR late) AS wanted
        FROM open_then
    )
SELECT
    arraySort(groupUniqArray(site_then)) AS sites,
    arraySort(groupUniqArray(priority_then)) AS priorities,
    countIf(wanted) AS total,
    countIf(wanted AND late) AS late_total,
    arrayMap(x -> x.3, arraySlice(
        arraySort(groupArrayIf((NOT late, requested_at, correlation_id), wanted)),
        {offset:UInt64} + 1, {limit:UInt64})) AS page
FROM judged
