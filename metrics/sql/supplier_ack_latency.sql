-- supplier_ack_latency_hours_p90 for each period [starts[i], ends[i]) as of {as_of}, by
-- supplier_id:
-- first po.transmitted to first po.acknowledged of each PO first acknowledged in the period;
-- nearest rank.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    pos AS (
        SELECT po_number, anyIf(supplier_id, supplier_id != '') AS supplier_id,
            minIf(occurred_at, event_type = 'po.transmitted') AS transmitted_at,
            minIf(occurred_at, event_type = 'po.acknowledged') AS acknowledged_at,
            countIf(event_type = 'po.transmitted') AS n_transmitted,
            countIf(event_type = 'po.acknowledged') AS n_acknowledged
        FROM business_events
        WHERE occurred_at <= T AND po_number != ''
            AND event_type IN ('po.created', 'po.transmitted', 'po.acknowledged')
        GROUP BY po_number
        HAVING n_transmitted > 0 AND n_acknowledged > 0
            AND acknowledged_at >= arrayMin(starts) AND acknowledged_at < arrayMax(ends)
    )
SELECT toUInt32(arrayFirstIndex((s, e) -> acknowledged_at >= s AND acknowledged_at < e,
        starts, ends)) AS period,
    'supplier_ack_latency_hours_p90' AS kpi, 'supplier_id' AS dim, supplier_id AS key,
    toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(dateDiff('millisecond', transmitted_at, acknowledged_at)))[
        toUInt64(ceil(count() * 0.9))] / 3600000 AS value,
    count() AS n
FROM pos
WHERE period > 0
GROUP BY period, supplier_id
