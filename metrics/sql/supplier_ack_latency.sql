-- supplier_ack_latency_hours_p90 for each period [starts[i], ends[i]) as of {as_of}, by
-- supplier_id:
-- first po.transmitted to first po.acknowledged of each PO first acknowledged in the period;
-- nearest rank. The steps come from the rules' fact tables (the same events, by PO number);
-- the supplier from any po.created, po.transmitted or po.acknowledged naming one, looked up
-- only for the POs counted, and counted as the crosswalk's canonical supplier in force at
-- as_of (DESIGN 5.7), as the invoice KPIs count it.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')}))
        AS supplier_map,
    acknowledged AS (
        SELECT po_number, min(occurred_at) AS acknowledged_at
        FROM rules_po_acks
        WHERE occurred_at <= T
        GROUP BY po_number
        HAVING acknowledged_at >= arrayMin(starts) AND acknowledged_at < arrayMax(ends)
    ),
    transmitted AS (
        SELECT po_number, min(occurred_at) AS transmitted_at
        FROM rules_po_supplier_steps
        WHERE kind = 'po.transmitted' AND occurred_at <= T
            AND po_number IN (SELECT po_number FROM acknowledged)
        GROUP BY po_number
    ),
    suppliers AS (
        SELECT po_number, anyIf(supplier_id, supplier_id != '') AS supplier_id
        FROM business_events
        WHERE occurred_at <= T AND po_number IN (SELECT po_number FROM transmitted)
            AND event_type IN ('po.created', 'po.transmitted', 'po.acknowledged')
        GROUP BY po_number
    ),
    pos AS (
        SELECT a.po_number AS po_number,
            transform(s.supplier_id, supplier_map.1, supplier_map.2, s.supplier_id) AS supplier_id,
            t.transmitted_at AS transmitted_at, a.acknowledged_at AS acknowledged_at
        FROM acknowledged AS a
        INNER JOIN transmitted AS t ON t.po_number = a.po_number
        INNER JOIN suppliers AS s ON s.po_number = a.po_number
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
