-- receipt_posting_latency_minutes_p95 for each period [starts[i], ends[i]) as of {as_of}:
-- first goods.received to first receipt.posted of each receipt_id first posted in the period,
-- whole system and by the goods receipt's site (a site in {site_names} on its own calendar's
-- bounds); nearest rank.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {site_names:Array(String)} AS zone_sites,
    {site_starts:Array(Array(DateTime64(3, 'UTC')))} AS zone_starts,
    {site_ends:Array(Array(DateTime64(3, 'UTC')))} AS zone_ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    receipts AS (
        SELECT receipt_id,
            minIf((occurred_at, event_id, site), kind = 'goods.received') AS first_received,
            minIf(occurred_at, kind = 'receipt.posted') AS posted_at,
            countIf(kind = 'goods.received') AS n_received,
            countIf(kind = 'receipt.posted') AS n_posted
        FROM rules_receipts
        WHERE occurred_at <= T
        GROUP BY receipt_id
        -- A day either side: every site's local bounds lie within.
        HAVING n_received > 0 AND n_posted > 0 AND posted_at >= arrayMin(starts) - INTERVAL 1 DAY
            AND posted_at < arrayMax(ends) + INTERVAL 1 DAY
    ),
    latencies AS (
        SELECT tupleElement(first_received, 3) AS site,
            dateDiff('millisecond', tupleElement(first_received, 1), posted_at) AS ms,
            arrayFirstIndex((s, e) -> posted_at >= s AND posted_at < e, starts, ends) AS utc_period,
            indexOf(zone_sites, site) AS zone,
            arrayFirstIndex((s, e) -> posted_at >= s AND posted_at < e,
                if(zone > 0, zone_starts[zone], starts), if(zone > 0, zone_ends[zone], ends))
                AS site_period
        FROM receipts
    )
SELECT toUInt32(tupleElement(g, 1)) AS period, 'receipt_posting_latency_minutes_p95' AS kpi,
    tupleElement(g, 2) AS dim, tupleElement(g, 3) AS key,
    toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.95))] / 60000 AS value, count() AS n
FROM latencies
ARRAY JOIN [(utc_period, '', ''), (site_period, 'site', site)] AS g
WHERE tupleElement(g, 1) > 0
GROUP BY g
