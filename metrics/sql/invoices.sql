-- Invoice KPIs for the period [start, end) as of {as_of}, over the invoices (supplier_id +
-- invoice_number) first received in the period: invoice_first_pass_match_rate ({} and by
-- supplier_id: never an unmatched_invoice finding up to as_of) and invoice_exception_rate ({}
-- and by reason: an unmatched_invoice finding as of as_of).
-- The finding as of as_of: with {evaluated} = 1, the rules' own evaluation at as_of, passed as
-- {finding_keys} ("supplier_id/invoice_number") and {finding_reasons}; with 0 (a dashboard),
-- the exception history as recorded by as_of. "At any instant up to as_of": that finding, or
-- any exception the scheduler recorded for the invoice by as_of.
WITH
    {start:DateTime64(3, 'UTC')} AS S,
    {end:DateTime64(3, 'UTC')} AS E,
    {as_of:DateTime64(3, 'UTC')} AS T,
    invoices AS (
        SELECT supplier_id, invoice_number, concat(supplier_id, '/', invoice_number) AS entity
        FROM business_events
        WHERE event_type = 'invoice.received' AND invoice_number != '' AND occurred_at <= T
        GROUP BY supplier_id, invoice_number
        HAVING min(occurred_at) >= S AND min(occurred_at) < E
    ),
    recorded AS (
        SELECT concat(supplier_id, '/', invoice_number) AS entity,
            tupleElement(max((version, change, reason)), 2) AS latest_change,
            tupleElement(max((version, change, reason)), 3) AS latest_reason
        FROM exception_history
        WHERE family = 'unmatched_invoice' AND at <= T
            AND (supplier_id, invoice_number) IN (SELECT supplier_id, invoice_number FROM invoices)
        GROUP BY supplier_id, invoice_number
    ),
    evaluated AS (
        SELECT tupleElement(f, 1) AS entity, tupleElement(f, 2) AS reason
        FROM (SELECT arrayJoin(arrayZip({finding_keys:Array(String)},
            {finding_reasons:Array(String)})) AS f)
    ),
    judged AS (
        SELECT i.supplier_id AS supplier_id,
            if({evaluated:UInt8} = 1, ifNull(ev.reason, ''),
                if(rc.latest_change IN ('', 'auto_resolved'), '', rc.latest_reason)) AS reason_now,
            reason_now != '' OR ifNull(rc.latest_change, '') != '' AS ever_flagged
        FROM invoices AS i
        LEFT JOIN recorded AS rc ON rc.entity = i.entity
        LEFT JOIN evaluated AS ev ON ev.entity = i.entity
        SETTINGS join_use_nulls = 1
    )
SELECT 'invoice_first_pass_match_rate' AS kpi, '' AS dim, '' AS key,
    toFloat64(countIf(NOT ever_flagged)) AS numerator, toFloat64(count()) AS denominator,
    nan AS value, count() AS n
FROM judged
UNION ALL
SELECT 'invoice_first_pass_match_rate', 'supplier_id', supplier_id,
    toFloat64(countIf(NOT ever_flagged)), toFloat64(count()), nan, count()
FROM judged
GROUP BY supplier_id
UNION ALL
SELECT 'invoice_exception_rate', '', '', toFloat64(countIf(reason_now != '')), toFloat64(count()),
    nan, count()
FROM judged
UNION ALL
-- By reason: each reason's invoices over all the period's invoices.
SELECT 'invoice_exception_rate', 'reason', reason_now, toFloat64(count()),
    toFloat64((SELECT count() FROM invoices)), nan, count()
FROM judged
WHERE reason_now != ''
GROUP BY reason_now
