-- Supplier KPIs for each period [starts[i], ends[i]) as of {as_of}, by supplier_id, over the POs (not
-- rejected by their latest acknowledgement) whose due date (the latest acknowledgement's
-- promised_at, else the latest expected_at) falls in the period: supplier_on_time_rate (fully
-- received by due, lines capped at their ordered quantity) and supplier_fill_rate (received
-- quantity as of as_of, each line capped, over the ordered quantity).
-- Each PO's facts from kpi_po_facts_as_of: its kept row where that holds as of as_of, else
-- judged from its facts ({since}: the watermark of the latest refresh). The supplier is the
-- crosswalk's canonical one in force at as_of (DESIGN 5.7), as the invoice KPIs count it.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    (SELECT (supplier_from, supplier_to) FROM masterdata_maps(as_of = {as_of:DateTime64(3, 'UTC')}))
        AS supplier_map,
    facts AS (
        SELECT supplier_id, counted, due, on_time, ordered, capped_received
        FROM kpi_po_facts_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
            since = {since:DateTime64(3, 'UTC')}, with_kept = 1)
    ),
    judged AS (
        SELECT arrayFirstIndex((s, e) -> due >= s AND due < e, starts, ends) AS period,
            transform(supplier_id, supplier_map.1, supplier_map.2, supplier_id) AS supplier_id,
            on_time, ordered, capped_received
        FROM facts
        WHERE counted = 1 AND period > 0
    )
SELECT toUInt32(period) AS period, kpi, 'supplier_id' AS dim, supplier_id AS key,
    if(kpi = 'supplier_on_time_rate', toFloat64(countIf(on_time = 1)), toFloat64(sum(capped_received)))
        AS numerator,
    if(kpi = 'supplier_on_time_rate', toFloat64(count()), toFloat64(sum(ordered))) AS denominator,
    nan AS value, count() AS n
FROM judged
ARRAY JOIN ['supplier_on_time_rate', 'supplier_fill_rate'] AS kpi
GROUP BY period, kpi, supplier_id
