-- receipt_posting_latency_minutes_p95 for the period [start, end) as of {as_of}: first
-- goods.received to first receipt.posted of each receipt_id first posted in the period, whole
-- system and by the goods receipt's site; nearest rank.
WITH
    {start:DateTime64(3, 'UTC')} AS S,
    {end:DateTime64(3, 'UTC')} AS E,
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
        HAVING n_received > 0 AND n_posted > 0 AND posted_at >= S AND posted_at < E
    ),
    latencies AS (
        SELECT tupleElement(first_received, 3) AS site,
            dateDiff('millisecond', tupleElement(first_received, 1), posted_at) AS ms
        FROM receipts
    )
SELECT 'receipt_posting_latency_minutes_p95' AS kpi, '' AS dim, '' AS key,
    toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.95))] / 60000 AS value, count() AS n
FROM latencies
HAVING n > 0
UNION ALL
SELECT 'receipt_posting_latency_minutes_p95', 'site', site, 0, 0,
    arraySort(groupArray(ms))[toUInt64(ceil(count() * 0.95))] / 60000, count()
FROM latencies
GROUP BY site
