-- reconciliation as of {as_of}, per receipt (DESIGN 5.6); the first reason that applies:
-- quantity_mismatch (the ERP's latest posting with lines books, on some line number, another
-- quantity than the dock's goods.received lines of the receipt; since the later of that
-- posting and the latest goods.received, + its grace), not_journaled (posted, and no
-- journal.posted names the receipt, nor its PO without naming a receipt; since the first
-- posting + the journal limit), amount_mismatch (the journals naming the receipt, summed,
-- differ from the receipt's value, its goods.received quantities x the PO lines' unit
-- prices, by more than the tolerance percentage of the value and more than the minimum;
-- since the latest of those journals + its grace). A receipt never posted is delayed_receipt's
-- not_posted, not this family's. The value is unknown (no amount check) when a received line
-- has no PO line with a price. Sites, suppliers and items are compared canonical (crosswalk).
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    -- One row per event and line even if the event was delivered twice.
    lines AS (
        SELECT receipt_id, event_id, line_no, any(kind) AS l_kind, any(occurred_at) AS l_at,
            any(site) AS l_site, any(domain) AS l_domain, any(po_number) AS l_po,
            any(supplier_id) AS l_supplier, any(correlation_id) AS l_correlation,
            any(item_id) AS l_item, any(quantity) AS l_qty, any(has_lines) AS l_has_lines,
            any(amount) AS l_amount
        FROM rules_receipt_bookings_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
        WHERE occurred_at <= T AND receipt_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
        GROUP BY receipt_id, event_id, line_no
    ),
    events AS (
        SELECT receipt_id, event_id, any(l_kind) AS kind, any(l_at) AS at, any(l_site) AS site,
            any(l_domain) AS domain, any(l_po) AS po_number, any(l_supplier) AS supplier_id,
            any(l_correlation) AS correlation_id, any(l_has_lines) AS has_lines,
            any(l_amount) AS amount, groupArray(line_no) AS e_no, groupArray(l_item) AS e_item,
            groupArray(l_qty) AS e_qty
        FROM lines
        GROUP BY receipt_id, event_id
    ),
    receipts AS (
        SELECT receipt_id,
            countIf(kind = 'goods.received') AS n_received,
            countIf(kind = 'receipt.posted') AS n_posted,
            countIf(kind = 'receipt.posted' AND has_lines = 1) AS n_booked,
            minIf(at, kind = 'receipt.posted') AS posted_at,
            maxIf(at, kind = 'goods.received') AS last_received_at,
            -- Who and where: the first goods.received, else the first posting.
            min((kind != 'goods.received', at, event_id, site, domain, po_number, supplier_id,
                correlation_id)) AS first,
            anyIf(po_number, po_number != '') AS po,
            argMaxIf((at, e_no, e_qty, amount), (at, event_id),
                kind = 'receipt.posted' AND has_lines = 1) AS booking,
            tupleElement(argMaxIf((at, amount), (at, event_id),
                kind = 'receipt.posted' AND amount IS NOT NULL), 2) AS booked_amount,
            arrayFlatten(groupArrayIf(e_no, kind = 'goods.received')) AS g_no,
            arrayFlatten(groupArrayIf(e_item, kind = 'goods.received')) AS g_item,
            arrayFlatten(groupArrayIf(e_qty, kind = 'goods.received')) AS g_qty
        FROM events
        GROUP BY receipt_id
        HAVING n_posted > 0
    ),
    prices AS (
        SELECT po_number, groupArray(line_no) AS p_no, groupArray(item_id) AS p_item,
            groupArray(unit_price) AS p_price
        FROM (
            -- Each PO line's latest version.
            SELECT po_number, line_no, item_id, unit_price
            FROM rules_po_lines_canonical(as_of = {as_of:DateTime64(3, 'UTC')})
            WHERE occurred_at <= T AND po_number IN (SELECT po FROM receipts)
            ORDER BY po_number, line_no, occurred_at DESC, event_id DESC
            LIMIT 1 BY po_number, line_no
        )
        GROUP BY po_number
    ),
    journaled AS (
        SELECT receipt_id, sum(j_amount) AS journaled, count() AS n_journals,
            max(j_at) AS last_journal_at
        FROM (
            SELECT receipt_id, event_id, any(amount) AS j_amount, any(occurred_at) AS j_at
            FROM rules_journals
            WHERE occurred_at <= T AND receipt_id IN (SELECT key FROM rules_scope WHERE run_id = {run_id:String})
            GROUP BY receipt_id, event_id
        )
        GROUP BY receipt_id
    ),
    po_journals AS (
        SELECT po_number, count() AS n_po_journals
        FROM rules_journals
        WHERE receipt_id = '' AND occurred_at <= T AND po_number IN (SELECT po FROM receipts)
        GROUP BY po_number
    ),
    judged AS (
        SELECT r.receipt_id AS receipt_id,
            tupleElement(r.first, 4) AS site, tupleElement(r.first, 5) AS domain,
            r.po AS po_number, tupleElement(r.first, 7) AS supplier_id,
            tupleElement(r.first, 8) AS correlation_id,
            r.posted_at AS posted_at, r.booked_amount AS booked_amount,
            tupleElement(r.booking, 1) AS booked_at,
            tupleElement(r.booking, 2) AS b_no, tupleElement(r.booking, 3) AS b_qty,
            arrayExists(n -> arraySum(arrayFilter((q, m) -> m = n, r.g_qty, r.g_no))
                    != arraySum(arrayFilter((q, m) -> m = n, b_qty, b_no)),
                arrayDistinct(arrayConcat(r.g_no, b_no))) AS quantities_differ,
            -- Each received line's PO line: by line number, else by item.
            arrayMap((n, it) -> if(has(p.p_no, n), indexOf(p.p_no, n), indexOf(p.p_item, it)),
                r.g_no, r.g_item) AS g_at,
            if(empty(r.g_no) OR arrayExists(i -> i = 0 OR p.p_price[i] IS NULL, g_at), NULL,
                arraySum(arrayMap((q, i) -> q * assumeNotNull(p.p_price[i]), r.g_qty, g_at)))
                AS value,
            j.journaled AS journaled, j.n_journals AS n_journals,
            j.last_journal_at AS last_journal_at, pj.n_po_journals AS n_po_journals,
            abs(journaled - assumeNotNull(value)) AS difference,
            arrayMap(n -> {tv:Array(Int64)}[if(has({tk:Array(String)}, concat(n, '|', site)),
                    indexOf({tk:Array(String)}, concat(n, '|', site)),
                    indexOf({tk:Array(String)}, concat(n, '|*')))],
                ['reconciliation.quantity_ms', 'reconciliation.journal_ms',
                    'reconciliation.amount_ms', 'reconciliation.tolerance_ppm',
                    'reconciliation.tolerance_min_e4']) AS lim,
            multiIf(
                r.n_received > 0 AND r.n_booked > 0 AND quantities_differ, 'quantity_mismatch',
                n_journals = 0 AND n_po_journals = 0, 'not_journaled',
                n_journals > 0 AND value IS NOT NULL
                    AND difference * 1000000 > assumeNotNull(value) * lim[4]
                    AND difference * 10000 > lim[5], 'amount_mismatch',
                '') AS reason,
            multiIf(
                reason = 'quantity_mismatch',
                    greatest(booked_at, if(r.n_received > 0, r.last_received_at, booked_at))
                    + toIntervalMillisecond(lim[1]),
                reason = 'not_journaled', posted_at + toIntervalMillisecond(lim[2]),
                last_journal_at + toIntervalMillisecond(lim[3])) AS since
        FROM receipts AS r
        LEFT JOIN prices AS p ON p.po_number = r.po
        LEFT JOIN journaled AS j ON j.receipt_id = r.receipt_id
        LEFT JOIN po_journals AS pj ON pj.po_number = r.po
    )
-- Columns a finding takes (engine.FINDING_COLUMNS); the family comes from the rule.
SELECT
    reason,
    since,
    receipt_id AS entity,
    correlation_id,
    site,
    domain,
    po_number,
    supplier_id,
    receipt_id,
    toJSONString(map(
        'posted_at', toString(posted_at),
        'value', ifNull(toString(value), ''),
        'booked_amount', ifNull(toString(booked_amount), ''),
        'journaled', if(n_journals > 0, toString(journaled), ''),
        'journals', toString(n_journals))) AS details
FROM judged
WHERE reason != '' AND (since <= T OR {include_pending:UInt8} = 1)
