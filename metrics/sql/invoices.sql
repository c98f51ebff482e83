-- Invoice KPIs for each period [starts[i], ends[i]) as of {as_of}, over the invoices
-- (supplier_id + invoice_number) first received in the period: invoice_first_pass_match_rate ({} and by
-- supplier_id: never an unmatched_invoice finding up to as_of) and invoice_exception_rate ({}
-- and by reason: an unmatched_invoice finding as of as_of).
-- The finding as of as_of: with {evaluated} = 1, the rules' own evaluation at as_of, stored
-- under {findings_run} in rules_scope as "supplier_id/invoice_number<TAB>reason" (tens of
-- thousands at a million transactions: through a table, not the query text); with 0 (a
-- dashboard), the exception history as recorded by as_of. "At any instant up to as_of": that finding, or
-- any exception the scheduler recorded for the invoice by as_of.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    invoices AS (
        SELECT supplier_id, invoice_number, concat(supplier_id, '/', invoice_number) AS entity,
            arrayFirstIndex((s, e) -> min(occurred_at) >= s AND min(occurred_at) < e, starts, ends)
                AS period
        FROM business_events
        WHERE event_type = 'invoice.received' AND invoice_number != '' AND occurred_at <= T
        GROUP BY supplier_id, invoice_number
        HAVING period > 0
    ),
    recorded AS (
        SELECT concat(supplier_id, '/', invoice_number) AS entity,
            tupleElement(max((version, change, reason)), 2) AS latest_change,
            tupleElement(max((version, change, reason)), 3) AS latest_reason
        FROM exception_history
        WHERE family = 'unmatched_invoice' AND at <= T
        GROUP BY supplier_id, invoice_number
    ),
    evaluated AS (
        SELECT splitByChar('\t', key) AS f, f[1] AS entity, f[2] AS reason
        FROM rules_scope
        WHERE run_id = {findings_run:String}
    ),
    judged AS (
        SELECT i.period AS period, i.supplier_id AS supplier_id,
            ifNull(rc.latest_change, '') AS recorded_change,
            toString(if({evaluated:UInt8} = 1, ifNull(ev.reason, ''),
                if(recorded_change IN ('', 'auto_resolved'), '', ifNull(rc.latest_reason, ''))))
                AS reason_now,
            toUInt8(reason_now != '' OR recorded_change != '') AS ever_flagged
        FROM invoices AS i
        LEFT JOIN recorded AS rc ON rc.entity = i.entity
        LEFT JOIN evaluated AS ev ON ev.entity = i.entity
        SETTINGS join_use_nulls = 1
    )
SELECT toUInt32(period) AS period, kpi, dim, key, numerator, denominator, nan AS value, n
FROM (
    SELECT period, tupleElement(g, 1) AS kpi, tupleElement(g, 2) AS dim, tupleElement(g, 3) AS key,
        toFloat64(sum(tupleElement(g, 4))) AS numerator, count() AS n
    FROM judged
    ARRAY JOIN arrayConcat([
        ('invoice_first_pass_match_rate', '', '', toUInt8(1 - ever_flagged)),
        ('invoice_first_pass_match_rate', 'supplier_id', supplier_id, toUInt8(1 - ever_flagged)),
        ('invoice_exception_rate', '', '', toUInt8(reason_now != ''))],
        -- By reason: each reason's invoices over all the period's invoices.
        if(reason_now != '', [('invoice_exception_rate', 'reason', reason_now, toUInt8(1))], []))
        AS g
    GROUP BY period, kpi, dim, key
) AS counted
-- Every row's denominator: the period's invoices (by supplier: the supplier's).
INNER JOIN (
    SELECT period, tupleElement(s, 1) AS scope, tupleElement(s, 2) AS scope_key,
        toFloat64(count()) AS denominator
    FROM judged
    ARRAY JOIN [('', ''), ('supplier_id', supplier_id)] AS s
    GROUP BY period, s
) AS totals ON totals.period = counted.period
    AND totals.scope = if(counted.dim = 'supplier_id', 'supplier_id', '')
    AND totals.scope_key = if(counted.dim = 'supplier_id', counted.key, '')
