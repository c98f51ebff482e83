-- receipt_posting_latency_minutes_p95 for each period [starts[i], ends[i]) as of {as_of}:
-- first goods.received to first receipt.posted of each receipt_id first posted in the period
-- (kept per receipt: kpi_receipt_facts_as_of),
-- whole system and by the goods receipt's site (a site in {site_names} on its own calendar's
-- bounds); nearest rank.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {site_names:Array(String)} AS zone_sites,
    {site_starts:Array(Array(DateTime64(3, 'UTC')))} AS zone_starts,
    {site_ends:Array(Array(DateTime64(3, 'UTC')))} AS zone_ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    -- A day either side: every site's local bounds lie within.
    receipts AS (
        SELECT site, received_at, posted_at
        FROM kpi_receipt_facts_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
            since = {since:DateTime64(3, 'UTC')}, with_kept = 1)
        WHERE posted_at >= arrayMin(starts) - INTERVAL 1 DAY
            AND posted_at < arrayMax(ends) + INTERVAL 1 DAY
    ),
    latencies AS (
        SELECT site, dateDiff('millisecond', received_at, posted_at) AS ms,
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
