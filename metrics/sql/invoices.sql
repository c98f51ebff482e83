-- Invoice KPIs for each period [starts[i], ends[i]) as of {as_of}, over the invoices
-- (supplier_id + invoice_number) first received in the period: invoice_first_pass_match_rate ({} and by
-- supplier_id: never an unmatched_invoice finding up to as_of) and invoice_exception_rate ({}
-- and by reason: an unmatched_invoice finding as of as_of).
-- The finding as of as_of: with {evaluated} = 1, the rules' own outcome at as_of, from the
-- invoice's kept row where it holds (kpi_invoices_as_of), else from the rules' evaluation
-- stored under {findings_run} in rules_scope as "supplier_id/invoice_number<TAB>reason"
-- (through a table, not the query text); with 0 (a dashboard), the exception history as
-- recorded by as_of. "At any instant up to as_of": that finding, or any exception the
-- scheduler recorded for the invoice by as_of.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T,
    invoices AS (
        SELECT supplier_id, invoice_number, kept_reason,
            arrayFirstIndex((s, e) -> first_at >= s AND first_at < e, starts, ends) AS period
        FROM kpi_invoices_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
            since = {since:DateTime64(3, 'UTC')}, thresholds = {thresholds:String})
        WHERE first_at >= arrayMin(starts) AND first_at < arrayMax(ends) AND period > 0
    ),
    recorded AS (
        SELECT supplier_id, invoice_number,
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
            toString(if({evaluated:UInt8} = 1, ifNull(i.kept_reason, ifNull(ev.reason, '')),
                if(recorded_change IN ('', 'auto_resolved'), '', ifNull(rc.latest_reason, ''))))
                AS reason_now,
            toUInt8(reason_now != '' OR recorded_change != '') AS ever_flagged
        FROM invoices AS i
        LEFT JOIN recorded AS rc
            ON rc.supplier_id = i.supplier_id AND rc.invoice_number = i.invoice_number
        -- Only an invoice without a kept outcome looks for an evaluated one ('' matches none).
        LEFT JOIN evaluated AS ev ON ev.entity = if(i.kept_reason IS NULL,
            concat(i.supplier_id, '/', i.invoice_number), '')
        SETTINGS join_use_nulls = 1
    ),
    -- One pass over the invoices: counted per period, supplier and outcome first.
    outcomes AS (
        SELECT period, supplier_id, reason_now, ever_flagged, count() AS invoices,
            sum(count()) OVER (PARTITION BY period) AS period_invoices
        FROM judged
        GROUP BY period, supplier_id, reason_now, ever_flagged
    )
SELECT toUInt32(period) AS period, tupleElement(g, 1) AS kpi, tupleElement(g, 2) AS dim,
    tupleElement(g, 3) AS key, toFloat64(sum(tupleElement(g, 4) * invoices)) AS numerator,
    -- By reason: each reason's invoices over all the period's invoices; otherwise over the
    -- invoices of the row's group (the period's, or the supplier's).
    toFloat64(if(dim = 'reason', any(period_invoices), sum(invoices))) AS denominator,
    nan AS value, toUInt64(denominator) AS n
FROM outcomes
ARRAY JOIN arrayConcat([
    ('invoice_first_pass_match_rate', '', '', toUInt8(1 - ever_flagged)),
    ('invoice_first_pass_match_rate', 'supplier_id', supplier_id, toUInt8(1 - ever_flagged)),
    ('invoice_exception_rate', '', '', toUInt8(reason_now != ''))],
    if(reason_now != '', [('invoice_exception_rate', 'reason', reason_now, toUInt8(1))], []))
    AS g
GROUP BY period, kpi, dim, key
